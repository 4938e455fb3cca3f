"""Incremental proxy cost for moving one hard macro at a time.

Search methods (annealing, refinement) move one macro per proposal. Moving
macro m changes only: the nets touching m (their HPWL and routing), m's
density footprint and m's routing allocation. `CostState` keeps the raw
per-cell maps and per-net HPWL so a move costs O(L + R C), with L the entries
of m's nets (a few hundred on Ariane133), instead of a full evaluation.

The maps accumulate floating-point updates; call `init_state` again now and
then (the search methods do at every stage) to start from exact values.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from placer.cost.arrays import CostArrays, oriented_sizes, pin_positions
from placer.cost.congestion import (
    congestion_cost_from_maps,
    macro_routing,
    macro_routing_rects,
    net_routing,
    route_entries,
    smooth,
)
from placer.cost.density import density_cost_from_map, occupied_area
from placer.cost.grid import cell_size
from placer.cost.terms import weighted_sum
from placer.cost.wirelength import net_hpwl


@struct.dataclass
class MoveArrays:
    """For each movable macro k (in placement order), the net entries of every
    net touching it, as contiguous blocks (driver first)."""

    node: jnp.ndarray        # (M,) int32 node of each movable macro
    entry: jnp.ndarray       # (M, L) int32 entry index into CostArrays entries
    entry_net: jnp.ndarray   # (M, L) int32 local net 0..K-1, K for padding
    is_driver: jnp.ndarray   # (M, L) bool
    net: jnp.ndarray         # (M, K) int32 global net, N for padding
    start: jnp.ndarray       # (M, K) int32 local block start
    end: jnp.ndarray         # (M, K) int32 local block end


def move_arrays(arrays: CostArrays, nodes: np.ndarray) -> MoveArrays:
    """Builds MoveArrays for the macros `nodes` (host side)."""
    n = arrays.num_nets
    entry_pin = np.asarray(arrays.entry_pin)
    entry_net = np.asarray(arrays.entry_net)
    pin_node = np.asarray(arrays.pin_node)
    start = np.asarray(arrays.net_start)
    end = np.asarray(arrays.net_end)
    owner = np.where(entry_net < n, pin_node[entry_pin], -1)
    per = []
    for v in nodes:
        nets = np.unique(entry_net[owner == v])
        nets = nets[nets < n]
        per.append(nets)
    k_max = max(1, max((len(x) for x in per), default=1))
    l_max = max(1, max((int((end[x] - start[x]).sum()) for x in per), default=1))
    m = len(nodes)
    e_arr = np.zeros((m, l_max), np.int32)
    e_net = np.full((m, l_max), k_max, np.int32)
    e_drv = np.zeros((m, l_max), bool)
    g_net = np.full((m, k_max), n, np.int32)
    l_start = np.zeros((m, k_max), np.int32)
    l_end = np.zeros((m, k_max), np.int32)
    for i, nets in enumerate(per):
        pos = 0
        for j, g in enumerate(nets):
            a, b = int(start[g]), int(end[g])
            e_arr[i, pos:pos + b - a] = np.arange(a, b)
            e_net[i, pos:pos + b - a] = j
            e_drv[i, pos] = True
            g_net[i, j] = g
            l_start[i, j], l_end[i, j] = pos, pos + b - a
            pos += b - a
        l_start[i, len(nets):] = pos
        l_end[i, len(nets):] = pos
    return MoveArrays(node=jnp.asarray(np.asarray(nodes, np.int32)),
                      entry=jnp.asarray(e_arr), entry_net=jnp.asarray(e_net),
                      is_driver=jnp.asarray(e_drv), net=jnp.asarray(g_net),
                      start=jnp.asarray(l_start), end=jnp.asarray(l_end))


@struct.dataclass
class CostState:
    xy: jnp.ndarray        # (V, 2)
    orient: jnp.ndarray    # (V,) int32
    net_hpwl: jnp.ndarray  # (N,) unweighted HPWL
    area: jnp.ndarray      # (R, C) macro area inside each cell
    h_net: jnp.ndarray     # (R, C) raw (unsmoothed, un-normalised) routing
    v_net: jnp.ndarray
    h_mac: jnp.ndarray     # (R, C) raw macro routing allocation
    v_mac: jnp.ndarray
    proxy: jnp.ndarray     # ()


def _proxy(arrays: CostArrays, st: CostState, weights) -> jnp.ndarray:
    rows, cols = arrays.grid_rows, arrays.grid_cols
    gw, gh = cell_size(arrays.canvas, rows, cols)
    count = jnp.sum(arrays.net_weight)
    count = jnp.where(count > 0, count, 1.0)
    wl = jnp.sum(arrays.net_weight * st.net_hpwl) / (arrays.canvas.sum() * count)
    den = density_cost_from_map(st.area / (gw * gh))
    h_routes = gh * arrays.routes_per_micron[0]
    v_routes = gw * arrays.routes_per_micron[1]
    h, v = smooth(st.h_net / h_routes, st.v_net / v_routes, arrays.smoothing_range)
    cong = congestion_cost_from_maps(h + st.h_mac / h_routes, v + st.v_mac / v_routes)
    w = jnp.asarray(weights, st.xy.dtype)
    return weighted_sum({"wirelength": wl, "density": den, "congestion": cong}, w)


def init_state(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
               weights) -> CostState:
    """Exact state of a placement (a full evaluation)."""
    h_net, v_net = net_routing(arrays, xy, orient)
    h_mac, v_mac = macro_routing(arrays, xy, orient)
    area = occupied_area(xy, oriented_sizes(arrays, orient), arrays.node_is_macro,
                         arrays.canvas, arrays.grid_rows, arrays.grid_cols)
    st = CostState(xy=xy, orient=orient, net_hpwl=net_hpwl(arrays, xy, orient),
                   area=area, h_net=h_net, v_net=v_net, h_mac=h_mac, v_mac=v_mac,
                   proxy=jnp.zeros((), xy.dtype))
    return st.replace(proxy=_proxy(arrays, st, weights))


def _local(arrays: CostArrays, mv: MoveArrays, k, xy, orient):
    """(HPWL (K,), H, V routing) of macro k's nets at a placement."""
    ent = mv.entry[k]
    pos = pin_positions(arrays, xy, orient)[arrays.entry_pin[ent]]
    kk = mv.net.shape[1]
    net = mv.entry_net[k]
    hi = jax.ops.segment_max(pos, net, num_segments=kk + 1)[:kk]
    lo = jax.ops.segment_min(pos, net, num_segments=kk + 1)[:kk]
    has = mv.net[k] < arrays.num_nets
    hpwl = jnp.where(has, (hi - lo).sum(axis=1), 0.0)
    w = jnp.where(has, arrays.net_cong_weight[jnp.minimum(mv.net[k],
                                                          arrays.num_nets - 1)], 0.0)
    h, v = route_entries(pos, net, mv.is_driver[k], mv.start[k], mv.end[k], w,
                         arrays.canvas, arrays.grid_rows, arrays.grid_cols)
    return hpwl, h, v


def move(arrays: CostArrays, mv: MoveArrays, st: CostState, k, new_xy: jnp.ndarray,
         new_orient: jnp.ndarray, weights) -> CostState:
    """The state after moving movable macro k (index into mv) to centre new_xy
    (2,) with orientation new_orient ()."""
    node = mv.node[k]
    xy1 = st.xy.at[node].set(new_xy)
    or1 = st.orient.at[node].set(new_orient)
    hp0, h0, v0 = _local(arrays, mv, k, st.xy, st.orient)
    hp1, h1, v1 = _local(arrays, mv, k, xy1, or1)
    net_hpwl = st.net_hpwl.at[mv.net[k]].add(hp1 - hp0, mode="drop")
    size0 = oriented_sizes(arrays, st.orient)[node][None]
    size1 = oriented_sizes(arrays, or1)[node][None]
    rows, cols = arrays.grid_rows, arrays.grid_cols
    yes = jnp.ones((1,), bool)
    hard = arrays.node_is_hard[node][None]
    a0 = occupied_area(st.xy[node][None], size0, yes, arrays.canvas, rows, cols)
    a1 = occupied_area(xy1[node][None], size1, yes, arrays.canvas, rows, cols)
    hm0, vm0 = macro_routing_rects(st.xy[node][None], size0, hard, arrays.canvas,
                                   arrays.macro_routes, rows, cols)
    hm1, vm1 = macro_routing_rects(xy1[node][None], size1, hard, arrays.canvas,
                                   arrays.macro_routes, rows, cols)
    new = CostState(xy=xy1, orient=or1, net_hpwl=net_hpwl, area=st.area + a1 - a0,
                    h_net=st.h_net + h1 - h0, v_net=st.v_net + v1 - v0,
                    h_mac=st.h_mac + hm1 - hm0, v_mac=st.v_mac + vm1 - vm0,
                    proxy=st.proxy)
    return new.replace(proxy=_proxy(arrays, new, weights))
