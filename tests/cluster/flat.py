"""Small flat netlists (ports, hard macros with pins, standard cells) for tests."""

from __future__ import annotations

import numpy as np

from placer.netlist.model import (
    HARD_MACRO,
    NO_ORIENT,
    PIN_HARD,
    PIN_PORT,
    PIN_STDCELL,
    PORT,
    STDCELL,
    Netlist,
    Settings,
    build_nets,
)


def flat_netlist(seed: int = 0, num_cells: int = 60, num_macros: int = 2,
                 pins_per_macro: int = 3, num_ports: int = 4, num_nets: int = 90,
                 positions: bool = True) -> Netlist:
    """A random flat design on a 100 x 80 canvas, deterministic per seed.

    Nodes in file order: ports P<i>, hard macros M<i> (each followed by its
    pins M<i>/p<j>), cells c<i>. Each net has a random driver pin and 1-5
    sinks near it in pin order, weight 1, 2 or 3.
    """
    rng = np.random.default_rng(seed)
    names, kind, size = [], [], []
    for i in range(num_ports):
        names.append(f"P{i}")
        kind.append(PORT)
        size.append((0.0, 0.0))
    for i in range(num_macros):
        names.append(f"M{i}")
        kind.append(HARD_MACRO)
        size.append((10.0, 8.0))
    for i in range(num_cells):
        names.append(f"c{i}")
        kind.append(STDCELL)
        size.append((float(rng.uniform(0.5, 2.0)), 1.4))
    kind = np.asarray(kind, dtype=np.int8)
    nv = len(names)
    # file rows: each macro is followed by its pins
    node_index = np.zeros(nv, dtype=np.int64)
    pin_names, pin_node, pin_kind, pin_index, pin_offset = [], [], [], [], []
    row = 0
    for v in range(nv):
        node_index[v] = row
        row += 1
        if kind[v] == HARD_MACRO:
            for j in range(pins_per_macro):
                pin_names.append(f"{names[v]}/p{j}")
                pin_node.append(v)
                pin_kind.append(PIN_HARD)
                pin_index.append(row)
                pin_offset.append((rng.uniform(-4, 4), rng.uniform(-3, 3)))
                row += 1
    for v in range(nv):
        if kind[v] in (PORT, STDCELL):
            pin_names.append(names[v])
            pin_node.append(v)
            pin_kind.append(PIN_PORT if kind[v] == PORT else PIN_STDCELL)
            pin_index.append(-1)
            pin_offset.append((0.0, 0.0))
    n_pins = len(pin_names)
    drivers, sinks, weights = [], [], []
    for _ in range(num_nets):
        d = int(rng.integers(0, n_pins))
        k = int(rng.integers(1, 6))
        s = np.clip(d + rng.integers(-8, 9, size=k), 0, n_pins - 1)
        s = [int(p) for p in s if p != d]
        if not s:
            continue
        drivers.append(d)
        sinks.append(s)
        weights.append(float(rng.integers(1, 4)))
    # one net per driver pin, in the order a reader meets the drivers
    seen, keep = set(), []
    for i, d in enumerate(drivers):
        if d not in seen:
            seen.add(d)
            keep.append(i)
    pin_index_a = np.asarray(pin_index, dtype=np.int64)
    pin_node_a = np.asarray(pin_node, dtype=np.int32)
    drv_row = [pin_index_a[drivers[i]] if pin_index_a[drivers[i]] >= 0
               else node_index[pin_node_a[drivers[i]]] for i in keep]
    keep = [keep[j] for j in np.argsort(drv_row, kind="stable")]
    ptr, flat, w = build_nets([drivers[i] for i in keep], [sinks[i] for i in keep],
                              [weights[i] for i in keep])
    pin_weight = np.ones(n_pins)
    pin_weight[[drivers[i] for i in keep]] = w
    xy = (np.column_stack([rng.uniform(0, 100, nv), rng.uniform(0, 80, nv)])
          if positions else np.zeros((nv, 2)))
    return Netlist(
        name="flat_test", node_names=names, node_kind=kind, node_xy=xy,
        node_size=np.asarray(size), node_orient=np.where(
            kind == PORT, NO_ORIENT, 0).astype(np.int8),
        node_fixed=kind == PORT, node_index=node_index, pin_names=pin_names,
        pin_node=pin_node_a, pin_offset=np.asarray(pin_offset, dtype=np.float64),
        pin_kind=np.asarray(pin_kind, dtype=np.int8), pin_weight=pin_weight,
        pin_index=pin_index_a, net_ptr=ptr, net_pins=flat, net_weight=w,
        settings=Settings(canvas_width=100.0, canvas_height=80.0),
        node_extra=[{} for _ in names], pin_extra=[{} for _ in pin_names])


def entity_nets(nl: Netlist, cell_cluster=None) -> dict:
    """{(driver, frozenset(sinks)): summed weight} of a netlist, by name.

    A pin of a soft macro counts as its macro's name; with cell_cluster (a
    flat netlist), a standard cell's pin counts as ``Grp_<its cluster>``.
    Nets left without sinks (all one entity) are left out.
    """
    names = {}
    cells = np.flatnonzero(nl.node_kind == STDCELL)
    cluster_of = {}
    if cell_cluster is not None:
        cluster_of = {int(v): f"Grp_{int(c)}" for v, c in zip(cells, cell_cluster,
                                                              strict=True)}
    for p in range(nl.num_pins):
        v = int(nl.pin_node[p])
        if v in cluster_of:
            names[p] = cluster_of[v]
        elif nl.pin_kind[p] == 2:          # PIN_SOFT
            names[p] = nl.node_names[v]
        else:
            names[p] = nl.pin_names[p]
    out: dict = {}
    for i in range(nl.num_nets):
        pins = nl.net_pins[nl.net_ptr[i]:nl.net_ptr[i + 1]].tolist()
        d = names[pins[0]]
        s = frozenset(names[p] for p in pins[1:]) - {d}
        if s:
            out[(d, s)] = out.get((d, s), 0.0) + float(nl.net_weight[i])
    return out
