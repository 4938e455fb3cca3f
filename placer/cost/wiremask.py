"""The wire mask: the weighted half-perimeter wirelength each grid cell would
add if the current macro were placed there (the idea of MaskPlace /
WireMask-BBO).

Only pins of placed nodes count; a net with no placed pin adds nothing. The
increase is separable in x and y, so the (R, C) mask is a column term plus a
row term, each a sum over the macro's net entries. The greedy placer
(placer.search.greedy) and the policy network's wire-mask channel
(placer.rl.networks) both read it.

Dimensions: V nodes, P pins, E net entries, R x C grid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from placer.cost.arrays import CostArrays, pin_positions
from placer.cost.grid import cell_centres


def node_entries(a: CostArrays, nodes: np.ndarray, rows: int) -> np.ndarray:
    """(rows, K) int32 net-entry indices of each of ``nodes`` (host-side,
    numpy), padded with E (no entry): the entries wire_increase reads for a
    node. Rows past len(nodes) are all padding; K is the largest count
    rounded up to 8."""
    entry_pin = np.asarray(a.entry_pin)
    e_node = np.asarray(a.pin_node)[entry_pin]
    # padding entries (net n) go to node -1, which no row asks for
    e_node = np.where(np.asarray(a.entry_net) < a.num_nets, e_node, -1)
    by_node = np.argsort(e_node, kind="stable")               # entries grouped by node
    nodes = np.asarray(nodes)
    lo = np.searchsorted(e_node[by_node], nodes, "left")
    hi = np.searchsorted(e_node[by_node], nodes, "right")
    k = int(max((hi - lo).max(initial=0), 1))
    out = np.full((rows, -(-k // 8) * 8), len(entry_pin), np.int32)
    for i, (s, e) in enumerate(zip(lo, hi, strict=True)):
        out[i, : e - s] = by_node[s:e]
    return out


def wire_increase(a: CostArrays, xy: jnp.ndarray, placed: jnp.ndarray,
                  orient: jnp.ndarray, node: jnp.ndarray, rows: int,
                  cols: int, entries: jnp.ndarray | None = None) -> jnp.ndarray:
    """(R * C,) weighted HPWL increase of placing `node` at each cell centre.

    Args:
        a: the design's cost arrays.
        xy: (V, 2) node centres; only those of `placed` nodes are read.
        placed: (V,) bool, nodes whose pins count.
        orient: (V,) orientation codes (pin offsets).
        node: the macro being placed (its own pins never count as placed).
        rows, cols: the grid (Python ints).
        entries: None, or (K,) the net entries of `node` (node_entries, padded
            with E): the per-cell sums then run over these K entries instead
            of all E (the same value up to float summation order; on
            Ariane133 at most 42 of 44,514).
    """
    n = a.num_nets
    pos = pin_positions(a, xy, orient)                        # (P, 2)
    e_node = a.pin_node[a.entry_pin]                          # (E,)
    e_pos = pos[a.entry_pin]
    e_placed = placed[e_node] & (e_node != node) & (a.entry_net < n)
    big = jnp.asarray(jnp.finfo(e_pos.dtype).max, e_pos.dtype)
    hi = jax.ops.segment_max(jnp.where(e_placed[:, None], e_pos, -big), a.entry_net,
                             num_segments=n + 1)
    lo = jax.ops.segment_min(jnp.where(e_placed[:, None], e_pos, big), a.entry_net,
                             num_segments=n + 1)
    has = hi[:, 0] > -big                                     # net has a placed pin
    hi = jnp.where(has[:, None], hi, 0.0)
    lo = jnp.where(has[:, None], lo, 0.0)
    e_net = a.entry_net
    if entries is not None:
        # only the node's own entries can be "mine"; padding reads net n
        e_net = jnp.take(a.entry_net, entries, mode="fill", fill_value=n)
        e_pin = jnp.take(a.entry_pin, entries, mode="fill", fill_value=0)
        e_node, e_pos = a.pin_node[e_pin], pos[e_pin]
    mine = (e_node == node) & (e_net < n) & has[e_net]
    w = jnp.where(mine, jnp.concatenate([a.net_weight, jnp.zeros((1,), pos.dtype)])
                  [e_net], 0.0)
    # pin offset from the macro centre (oriented)
    off = e_pos - xy[node]
    cx, cy = cell_centres(a.canvas, rows, cols)
    ehi, elo = hi[e_net], lo[e_net]
    px = cx[None, :] + off[:, 0:1]                            # (E, C)
    py = cy[None, :] + off[:, 1:2]                            # (E, R)
    dx = jnp.maximum(px - ehi[:, 0:1], 0) + jnp.maximum(elo[:, 0:1] - px, 0)
    dy = jnp.maximum(py - ehi[:, 1:2], 0) + jnp.maximum(elo[:, 1:2] - py, 0)
    col_cost = w @ dx                                         # (C,)
    row_cost = w @ dy                                         # (R,)
    return (row_cost[:, None] + col_cost[None, :]).reshape(-1)


__all__ = ["node_entries", "wire_increase"]
