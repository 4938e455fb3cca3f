"""Rewiring a flat netlist to cluster level, for a grouping of its std cells.

``clustered_netlist`` makes the design Circuit Training's clustered netlists
(Ariane133's ``Grp_*``) are:

* ports, hard macros and their pins are kept as they are (fixed nodes keep
  their positions);
* each cluster becomes a soft macro (type ``macro``) named ``Grp_<k>``: a
  square of the cluster's total cell area, centred on the area-weighted
  centroid of its cells (the canvas centre when the flat netlist has no
  positions), with one input pin ``Grp_<k>/Pinput`` that every net entering it
  uses and one output pin ``Grp_<k>/Poutput_multi_<j>`` per net it drives,
  all at its centre;
* a net becomes the net between the distinct nodes it touches (its driver's
  cluster or pin, then the other clusters and pins once each); a net left
  with no sink, one inside one cluster, is dropped; nets with the same driver
  and the same sinks are merged into one whose weight is the sum of theirs
  (the weight is written on the driver pin, as Circuit Training does).

Dimension names: V nodes, P pins, N nets, E net entries, n standard cells,
k clusters.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from placer.cluster.coarsen import dedupe_nets
from placer.errors import PlacerInputError
from placer.netlist.model import (
    PIN_HARD,
    PIN_IMPLICIT,
    PIN_SOFT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
)

__all__ = ["cell_hypergraph", "check_assignment", "clustered_netlist"]

_HASH_SEED = 0x5EED   # entity hashes for merging nets: fixed, not the user's seed


def cell_hypergraph(netlist: Netlist) -> tuple[np.ndarray, np.ndarray, np.ndarray,
                                               np.ndarray]:
    """The nets restricted to standard cells.

    Returns:
        (ptr, ids, weight, cells): (N + 1,) CSR offsets, (E',) the index into
        ``cells`` of each cell entry, (N,) net weights, and (n,) the node
        indices of the standard cells. Nets keep their order (some may hold
        fewer than two cells).
    """
    cells = np.flatnonzero(netlist.node_kind == STDCELL)
    cell_of = np.full(netlist.num_nodes, -1, dtype=np.int64)
    cell_of[cells] = np.arange(len(cells))
    ent = cell_of[netlist.pin_node[netlist.net_pins]]
    net = np.repeat(np.arange(netlist.num_nets), netlist.net_degree)
    m = ent >= 0
    ptr = np.zeros(netlist.num_nets + 1, dtype=np.int64)
    np.cumsum(np.bincount(net[m], minlength=netlist.num_nets), out=ptr[1:])
    return ptr, ent[m], netlist.net_weight.astype(np.float64), cells


def check_assignment(assignment: np.ndarray, n: int) -> np.ndarray:
    """The assignment renumbered 0..k-1 in order of first appearance.

    Raises:
        PlacerInputError: for the wrong shape or type, or a negative id.
    """
    a = np.asarray(assignment)
    if a.shape != (n,) or (n and not np.issubdtype(a.dtype, np.integer)):
        raise PlacerInputError(f"assignment must be ({n},) integers, one per standard "
                               f"cell, got shape {a.shape} dtype {a.dtype}")
    if n and a.min() < 0:
        raise PlacerInputError("assignment holds a negative cluster id")
    # clusters numbered 0..k-1 in order of first appearance of their id
    _, first, inv = np.unique(a, return_index=True, return_inverse=True)
    rank = np.empty(len(first), dtype=np.int64)
    rank[np.argsort(first, kind="stable")] = np.arange(len(first))
    return rank[inv.ravel()]


def _hashes(count: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_HASH_SEED)
    hi = np.iinfo(np.uint64).max
    return (rng.integers(0, hi, size=count, dtype=np.uint64, endpoint=True),
            rng.integers(0, hi, size=count, dtype=np.uint64, endpoint=True))


def _merge_nets(drv: np.ndarray, ptr: np.ndarray, sinks: np.ndarray,
                weight: np.ndarray, num_entities: int
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nets with the same driver and the same sink set merged, weights summed.

    Args:
        drv: (N,) driver entity; ptr, sinks: CSR of the distinct sink entities,
            each net's in increasing order; weight: (N,).

    Returns:
        (drv, ptr, sinks, weight) of the merged nets, in order of first
        occurrence.
    """
    n_nets = len(drv)
    h1, h2 = _hashes(num_entities)
    net = np.repeat(np.arange(n_nets), np.diff(ptr))
    size = np.diff(ptr).astype(np.uint64)
    s1 = np.zeros(n_nets, dtype=np.uint64)    # sums wrap around: set hashes
    s2 = np.zeros(n_nets, dtype=np.uint64)
    np.add.at(s1, net, h1[sinks])
    np.add.at(s2, net, h2[sinks])
    keys = np.stack([drv.astype(np.uint64), size, s1, s2], axis=1)
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    # exact check: every net equals the first net of its group
    rep = first[inv]
    deg = np.diff(ptr)
    same = (drv[rep] == drv) & (deg[rep] == deg)
    pos = np.arange(len(sinks)) - ptr[net]
    same &= np.bincount(net, weights=sinks[ptr[rep[net]] + np.minimum(
        pos, deg[rep[net]] - 1)] != sinks, minlength=n_nets) == 0
    if not same.all():   # a 192-bit hash collision: keep those nets apart
        inv = np.where(same, inv, len(first) + np.arange(n_nets))
        _, first, inv = np.unique(inv, return_index=True, return_inverse=True)
        inv = inv.ravel()
    rank = np.empty(len(first), dtype=np.int64)
    order = np.argsort(first, kind="stable")
    rank[order] = np.arange(len(first))
    group = rank[inv]
    w = np.bincount(group, weights=weight, minlength=len(first))
    keep = first[order]
    new_deg = deg[keep]
    new_ptr = np.zeros(len(keep) + 1, dtype=np.int64)
    np.cumsum(new_deg, out=new_ptr[1:])
    take = np.repeat(ptr[keep], new_deg) + (np.arange(int(new_ptr[-1]))
                                            - np.repeat(new_ptr[:-1], new_deg))
    return drv[keep], new_ptr, sinks[take], w


def clustered_netlist(netlist: Netlist, assignment: np.ndarray,
                      prefix: str = "Grp_", area_scale: float = 1.0) -> Netlist:
    """The netlist at cluster level, for a given grouping of its standard cells.

    Args:
        netlist: a flat design (its std cells are grouped; everything else is
            kept).
        assignment: (n,) cluster id of each standard cell, in node order; ids
            are renumbered 0..k-1 in order of first appearance.
        prefix: soft macro names are ``<prefix><k>``.
        area_scale: a soft macro's area is this times its cells' area (1:
            the area is kept).

    Returns:
        The clustered netlist, with the input's settings (see the module
        docstring for what it holds).

    Raises:
        PlacerInputError: for an assignment of the wrong shape.
    """
    nl = netlist
    cells = np.flatnonzero(nl.node_kind == STDCELL)
    n = len(cells)
    a = check_assignment(assignment, n)
    k = int(a.max()) + 1 if n else 0
    keep_nodes = np.flatnonzero(nl.node_kind != STDCELL)
    nk = len(keep_nodes)
    new_node = np.full(nl.num_nodes, -1, dtype=np.int64)
    new_node[keep_nodes] = np.arange(nk)
    new_node[cells] = nk + a

    # Entities: the kept pins (0..Pk-1), then the clusters (Pk..Pk+k-1).
    keep_pins = np.flatnonzero(nl.node_kind[nl.pin_node] != STDCELL)
    pk = len(keep_pins)
    ent_of_pin = np.full(nl.num_pins, -1, dtype=np.int64)
    ent_of_pin[keep_pins] = np.arange(pk)
    cell_pins = np.flatnonzero(nl.node_kind[nl.pin_node] == STDCELL)
    ent_of_pin[cell_pins] = pk + new_node[nl.pin_node[cell_pins]] - nk
    ent = ent_of_pin[nl.net_pins]
    deg = nl.net_degree
    net = np.repeat(np.arange(nl.num_nets), deg)
    drv = ent[nl.net_ptr[:-1]]
    # sinks: distinct entities other than the driver's
    other = ent != drv[net]
    # dedupe_nets drops nets with < 2 entries; a one-sink net must survive,
    # so each sink set is deduplicated with the driver prepended, then removed.
    lead = np.concatenate([drv, ent[other]])
    lead_net = np.concatenate([np.arange(nl.num_nets), net[other]])
    order = np.argsort(lead_net, kind="stable")
    l_ptr = np.zeros(nl.num_nets + 1, dtype=np.int64)
    np.cumsum(np.bincount(lead_net, minlength=nl.num_nets), out=l_ptr[1:])
    w_ids = np.arange(nl.num_nets, dtype=np.float64)   # carries the net id
    d_ptr, d_ids, d_net = dedupe_nets(l_ptr, lead[order], w_ids)
    d_net = d_net.astype(np.int64)
    d_deg = np.diff(d_ptr)
    d_each = np.repeat(np.arange(len(d_net)), d_deg)
    is_drv = d_ids == drv[d_net][d_each]
    sinks = d_ids[~is_drv]
    sk_ptr = np.zeros(len(d_net) + 1, dtype=np.int64)
    np.cumsum(d_deg - 1, out=sk_ptr[1:])
    m_drv, m_ptr, m_sinks, m_w = _merge_nets(drv[d_net], sk_ptr, sinks,
                                             nl.net_weight[d_net], pk + k)
    n_new = len(m_drv)

    # Soft pins: Pinput of each cluster that is a sink, an output per net it drives.
    sink_cluster = np.zeros(k, dtype=bool)
    sink_cluster[m_sinks[m_sinks >= pk] - pk] = True
    in_clusters = np.flatnonzero(sink_cluster)
    out_nets = np.flatnonzero(m_drv >= pk)
    out_cluster = m_drv[out_nets] - pk
    o_order = np.argsort(out_cluster, kind="stable")
    # rank of each output among its cluster's outputs
    oc_sorted = out_cluster[o_order]
    starts = np.searchsorted(oc_sorted, oc_sorted, side="left")
    out_rank = np.empty(len(out_nets), dtype=np.int64)
    out_rank[o_order] = np.arange(len(out_nets)) - starts
    # soft pins grouped by cluster: Pinput first, then the outputs
    sp_cluster = np.concatenate([in_clusters, out_cluster])
    sp_key = np.concatenate([np.full(len(in_clusters), -1), out_rank])
    sp_order = np.lexsort((sp_key, sp_cluster))
    sp_cluster, sp_key = sp_cluster[sp_order], sp_key[sp_order]
    n_sp = len(sp_cluster)
    new_pin_of_sp = pk + np.arange(n_sp)
    input_pin = np.full(k, -1, dtype=np.int64)
    is_in = sp_key < 0
    input_pin[sp_cluster[is_in]] = new_pin_of_sp[is_in]
    # map (cluster, rank) back to the net: output pins in sp order
    out_pos = np.flatnonzero(~is_in)
    net_of_out = out_nets[np.lexsort((out_rank, out_cluster))]
    out_pin_of_net = np.full(n_new, -1, dtype=np.int64)
    out_pin_of_net[net_of_out] = new_pin_of_sp[out_pos]

    def pin_of_entity(e: np.ndarray, driver: bool) -> np.ndarray:
        if driver:
            return np.where(e < pk, e, out_pin_of_net)
        return np.where(e < pk, e, input_pin[np.maximum(e - pk, 0)])

    net_drv_pin = pin_of_entity(m_drv, True)
    net_sink_pins = pin_of_entity(m_sinks, False)

    # Node arrays: kept nodes, then soft macros.
    area = nl.node_size[cells, 0] * nl.node_size[cells, 1]
    c_area = np.bincount(a, weights=area, minlength=k)
    if not (isinstance(area_scale, (int, float)) and area_scale > 0):
        raise PlacerInputError(f"area_scale must be positive, got {area_scale!r}")
    side = np.sqrt(c_area * area_scale)
    has_xy = n > 0 and bool(np.any(nl.node_xy[cells] != 0.0))
    if has_xy:
        cnt = np.bincount(a, minlength=k)
        wsum = np.where(c_area > 0, c_area, cnt)
        wts = np.where(c_area[a] > 0, area, 1.0)
        cx = np.bincount(a, weights=wts * nl.node_xy[cells, 0], minlength=k) / wsum
        cy = np.bincount(a, weights=wts * nl.node_xy[cells, 1], minlength=k) / wsum
        soft_xy = np.stack([cx, cy], axis=1)
    else:
        soft_xy = np.tile([nl.settings.canvas_width / 2, nl.settings.canvas_height / 2],
                          (k, 1)).astype(np.float64)
    node_kind = np.concatenate([nl.node_kind[keep_nodes],
                                np.full(k, SOFT_MACRO, dtype=np.int8)])
    soft_names = [f"{prefix}{c}" for c in range(k)]

    # Pin arrays: kept pins, then soft pins.
    pin_node = np.concatenate([new_node[nl.pin_node[keep_pins]], nk + sp_cluster])
    pin_kind = np.concatenate([nl.pin_kind[keep_pins],
                               np.full(n_sp, PIN_SOFT, dtype=np.int8)])
    pin_weight = np.concatenate([nl.pin_weight[keep_pins], np.ones(n_sp)])
    pin_weight[net_drv_pin] = m_w      # a net's weight lives on its driver pin
    pin_names = [nl.pin_names[p] for p in keep_pins.tolist()]
    pin_names += [f"{soft_names[c]}/Pinput" if r < 0
                  else f"{soft_names[c]}/Poutput_multi_{r}"
                  for c, r in zip(sp_cluster.tolist(), sp_key.tolist(),
                                  strict=True)]
    pin_offset = np.concatenate([nl.pin_offset[keep_pins], np.zeros((n_sp, 2))])

    # File rows: each node, followed by its macro pins (file order kept).
    node_count = nk + k
    file_pin = np.flatnonzero((pin_kind == PIN_HARD) | (pin_kind == PIN_SOFT))
    old_rank = np.concatenate([nl.pin_index[keep_pins], np.arange(n_sp)])
    fp = file_pin[np.lexsort((old_rank[file_pin], pin_node[file_pin]))]
    per_node = np.bincount(pin_node[fp], minlength=node_count)
    node_row = np.concatenate([[0], np.cumsum(1 + per_node)[:-1]]).astype(np.int64)
    owner = pin_node[fp]
    first_of_owner = np.searchsorted(owner, owner, side="left")
    pin_index = np.full(len(pin_kind), -1, dtype=np.int64)
    pin_index[fp] = node_row[owner] + 1 + (np.arange(len(fp)) - first_of_owner)
    pin_index[pin_kind == PIN_IMPLICIT] = -1

    # Nets in the order a reader meets their drivers.
    drv_row = np.where(pin_index[net_drv_pin] >= 0, pin_index[net_drv_pin],
                       node_row[pin_node[net_drv_pin]])
    n_order = np.argsort(drv_row, kind="stable")
    s_deg = np.diff(m_ptr)[n_order]
    net_ptr = np.zeros(n_new + 1, dtype=np.int64)
    np.cumsum(1 + s_deg, out=net_ptr[1:])
    net_pins = np.empty(int(net_ptr[-1]), dtype=np.int32)
    net_pins[net_ptr[:-1]] = net_drv_pin[n_order]
    src = np.repeat(m_ptr[n_order], s_deg) + (
        np.arange(int(s_deg.sum())) - np.repeat(np.cumsum(s_deg) - s_deg, s_deg))
    dst_mask = np.ones(len(net_pins), dtype=bool)
    dst_mask[net_ptr[:-1]] = False
    net_pins[dst_mask] = net_sink_pins[src]

    extra_n = nl.node_extra
    extra_p = nl.pin_extra
    meta = {key: v for key, v in nl.metadata.items() if key != "plc_header"}
    return Netlist(
        name=f"{nl.name}_clustered",
        node_names=[nl.node_names[v] for v in keep_nodes.tolist()] + soft_names,
        node_kind=node_kind,
        node_xy=np.concatenate([nl.node_xy[keep_nodes], soft_xy]),
        node_size=np.concatenate([nl.node_size[keep_nodes],
                                  np.stack([side, side], axis=1)]),
        node_orient=np.concatenate([nl.node_orient[keep_nodes],
                                    np.zeros(k, dtype=np.int8)]),
        node_fixed=np.concatenate([nl.node_fixed[keep_nodes], np.zeros(k, bool)]),
        node_index=node_row,
        pin_names=pin_names,
        pin_node=pin_node.astype(np.int32),
        pin_offset=pin_offset,
        pin_kind=pin_kind,
        pin_weight=pin_weight,
        pin_index=pin_index,
        net_ptr=net_ptr,
        net_pins=net_pins,
        net_weight=m_w[n_order],
        settings=dataclasses.replace(nl.settings),
        blockages=nl.blockages.copy(),
        metadata=meta,
        node_extra=None if extra_n is None else
        [extra_n[v] for v in keep_nodes.tolist()] + [{} for _ in range(k)],
        pin_extra=None if extra_p is None else
        [extra_p[p] for p in keep_pins.tolist()] + [{} for _ in range(n_sp)],
        source=None,
    )

