"""Builds tiny netlists by hand for known-answer tests."""

from __future__ import annotations

import numpy as np

from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_INDEX,
    PIN_HARD,
    PIN_PORT,
    PIN_SOFT,
    PORT,
    SOFT_MACRO,
    Netlist,
    Settings,
    build_nets,
)


def tiny_netlist(nodes, nets, **settings) -> Netlist:
    """nodes: list of (kind, x, y, w, h[, orient]) with kind "port" / "hard" /
    "soft"; nets: list of (weight, [endpoint, ...]) where an endpoint is a node
    number (the node's own pin / centre) or (node, dx, dy) for a macro pin with
    that offset. The first endpoint drives."""
    kinds = {"port": PORT, "hard": HARD_MACRO, "soft": SOFT_MACRO}
    names, kind, xy, size, orient = [], [], [], [], []
    for i, nd in enumerate(nodes):
        k, x, y, w, h = nd[:5]
        names.append(f"{k}{i}")
        kind.append(kinds[k])
        xy.append((x, y))
        size.append((w, h))
        orient.append(-1 if k == "port"
                      else ORIENT_INDEX[nd[5] if len(nd) > 5 else "N"])
    pin_names, pin_node, pin_off, pin_kind = [], [], [], []
    own = {}

    def pin(ep):
        if isinstance(ep, tuple):
            v, dx, dy = ep
        else:
            v, dx, dy = ep, 0.0, 0.0
            if v in own:
                return own[v]
        p = len(pin_names)
        pin_names.append(f"{names[v]}/p{p}")
        pin_node.append(v)
        pin_off.append((dx, dy))
        pin_kind.append({PORT: PIN_PORT, HARD_MACRO: PIN_HARD,
                         SOFT_MACRO: PIN_SOFT}[kind[v]])
        if not isinstance(ep, tuple):
            own[v] = p
        return p

    drivers, sinks, weights = [], [], []
    for w, eps in nets:
        ps = [pin(e) for e in eps]
        drivers.append(ps[0])
        sinks.append(ps[1:])
        weights.append(w)
    ptr, flat, wts = build_nets(drivers, sinks, weights)
    kind = np.array(kind, np.int8)
    st = Settings(**settings)
    return Netlist(
        name="tiny", node_names=names, node_kind=kind,
        node_xy=np.array(xy, float).reshape(-1, 2),
        node_size=np.array(size, float).reshape(-1, 2),
        node_orient=np.array(orient, np.int8), node_fixed=kind == PORT,
        node_index=np.arange(len(names)),
        pin_names=pin_names, pin_node=np.array(pin_node, np.int32),
        pin_offset=np.array(pin_off, float).reshape(-1, 2),
        pin_kind=np.array(pin_kind, np.int8),
        pin_weight=np.ones(len(pin_names)), pin_index=np.arange(len(pin_names)),
        net_ptr=ptr, net_pins=flat, net_weight=wts, settings=st)


# A 10 x 10 canvas of 1 x 1 cells with one route per micron each way and no
# smoothing: one net crossing a cell adds exactly 1 to that cell's map.
UNIT_GRID = dict(canvas_width=10.0, canvas_height=10.0, grid_cols=10, grid_rows=10,
                 routes_per_micron_hor=1.0, routes_per_micron_ver=1.0,
                 macro_routes_hor=1.0, macro_routes_ver=1.0, smoothing_range=0)
