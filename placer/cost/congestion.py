"""Routing congestion, as Circuit Training's proxy cost estimates it.

Each net is routed over the grid cells its pins fall in (distinct cells only):
  * 2 cells: an L route, horizontal along the source's row, then vertical
    along the sink's column;
  * 3 cells: Circuit Training's three-pin rules (L, two special cases, T);
  * more: a star from the source cell, each sink cell an L route as above.
A horizontal segment from column a to b (a < b) on row r adds the net weight
to cells (r, a) ... (r, b - 1); vertical segments likewise. Net routing is
normalised by routes per cell (cell height x horizontal routes per micron, cell
width x vertical routes per micron) and smoothed over +-k cells (vertical
along the row, horizontal along the column). Hard macros add their routing
allocation over the cells they cover, with Circuit Training's corrections for
partly covered edge cells. Cost = mean of the top 5% of the H and V maps
together.

Everything is vectorised: segments become +w / -w marks in difference arrays
that a cumulative sum turns into per-cell counts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placer.cost.arrays import CostArrays, oriented_sizes, pin_positions
from placer.cost.grid import axis_overlap, cell_index, cell_size, top_fraction_mean


def _segments_to_maps(rows: int, cols: int, h_row, h_lo, h_hi, h_w, v_col, v_lo,
                      v_hi, v_w, dtype):
    """Sums horizontal segments (row, [lo, hi)) and vertical segments
    (col, [lo, hi)) of weights w into (R, C) maps."""
    h_hi = jnp.maximum(h_hi, h_lo)
    v_hi = jnp.maximum(v_hi, v_lo)
    # one scatter into [H diff (R, C+1) | V diff transposed (C, R+1)]
    h_size = rows * (cols + 1)
    idx = jnp.concatenate([h_row * (cols + 1) + h_lo, h_row * (cols + 1) + h_hi,
                           h_size + v_col * (rows + 1) + v_lo,
                           h_size + v_col * (rows + 1) + v_hi])
    val = jnp.concatenate([h_w, -h_w, v_w, -v_w])
    d = jnp.zeros(h_size + cols * (rows + 1), dtype).at[idx].add(val)
    hd = d[:h_size].reshape(rows, cols + 1)
    vd = d[h_size:].reshape(cols, rows + 1)
    return jnp.cumsum(hd, axis=1)[:, :cols], jnp.cumsum(vd, axis=1)[:, :rows].T


def net_routing(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(H, V) un-normalised net routing demand, each (R, C)."""
    pos = pin_positions(arrays, xy, orient)[arrays.entry_pin]
    return route_entries(pos, arrays.entry_net, arrays.entry_is_driver,
                         arrays.net_start, arrays.net_end, arrays.net_cong_weight,
                         arrays.canvas, arrays.grid_rows, arrays.grid_cols)


def route_entries(pos, net, is_driver, start, end, weight, canvas, rows: int,
                  cols: int):
    """(H, V) routing demand of a set of nets given as contiguous entry blocks.

    Args:
        pos: (E, 2) pin position of each net entry.
        net: (E,) net of each entry, n (the number of nets) for padding; nets
            are contiguous blocks, each starting with its driver.
        is_driver: (E,) bool, True at each block's first entry.
        start, end: (n,) each net's block [start, end) (start == end: empty).
        weight: (n,) congestion weight of each net.
        canvas: (2,) width, height.
    """
    n = weight.shape[0]
    dtype = pos.dtype
    gw, gh = cell_size(canvas, rows, cols)
    row = cell_index(pos[:, 1], gh, rows)
    col = cell_index(pos[:, 0], gw, cols)
    cell = col * rows + row          # sorts by (column, row), as the 3-pin rules do

    # Distinct cells of each net: sort entries by (net, cell) and keep first
    # occurrences. Nets are contiguous blocks [start, end) in entry order and
    # stay in place under this sort, so per-net values are plain gathers.
    nonempty = end > start
    src = cell[start]                                    # (N,) driver's cell
    if (n + 1) * rows * cols < 2**31:
        # one int32 key sorts ~7x faster than a two-key sort on CPU
        cell_s = jax.lax.sort(net * (rows * cols) + cell) - net * (rows * cols)
    else:
        _, cell_s = jax.lax.sort((net, cell), num_keys=2)
    valid = net < n
    first = is_driver | jnp.concatenate(
        [jnp.ones((1,), bool), cell_s[1:] != cell_s[:-1]])
    first = first & valid
    csum = jnp.cumsum(first.astype(jnp.int32))
    last = jnp.maximum(end - 1, 0)
    n_cells = jnp.where(nonempty, csum[last] - csum[start] + 1, 0)      # (N,)
    net_c = jnp.minimum(net, n - 1)
    n_cells_e = jnp.where(valid, n_cells[net_c], 0)                     # (E,)

    # --- star / two-pin routing: nets with 2 or >= 4 distinct cells
    src_e = src[net_c]
    star = first & (n_cells_e != 3) & (cell_s != src_e)
    w = jnp.where(star, weight[net_c], 0.0)
    rs, cs = src_e % rows, src_e // rows
    rk, ck = cell_s % rows, cell_s // rows
    h_row, h_lo, h_hi = rs, jnp.minimum(cs, ck), jnp.maximum(cs, ck)
    v_col, v_lo, v_hi = ck, jnp.minimum(rs, rk), jnp.maximum(rs, rk)

    # --- three-pin nets: gather their 3 distinct cells, sorted by (col, row)
    k = csum - csum[start][net_c]                       # rank of a first entry
    take = first & (n_cells_e == 3)
    slot_net = jnp.where(take, net, n)
    tri = jnp.zeros((n + 1, 3), jnp.int32).at[slot_net, jnp.clip(k, 0, 2)].set(cell_s)
    tri = tri[:n]
    three = n_cells[:n] == 3
    x = tri // rows
    y = tri % rows
    x1, x2, x3 = x[:, 0], x[:, 1], x[:, 2]
    y1, y2, y3 = y[:, 0], y[:, 1], y[:, 2]
    l_shape = (x1 < x2) & (x2 < x3) & (jnp.minimum(y1, y3) < y2) & \
        (jnp.maximum(y1, y3) > y2)
    corner = ~l_shape & (x2 == x3) & (x1 < x2) & (y1 < jnp.minimum(y2, y3))
    flat = ~l_shape & ~corner & (y2 == y3)
    tee = ~l_shape & ~corner & ~flat
    # T routing orders the cells by (row, col): a 3-element sorting network
    yy, xx = y, x
    for a, b in ((0, 1), (1, 2), (0, 1)):
        swap = (yy[:, a] > yy[:, b]) | ((yy[:, a] == yy[:, b]) & (xx[:, a] > xx[:, b]))
        ya = jnp.where(swap, yy[:, b], yy[:, a])
        yb = jnp.where(swap, yy[:, a], yy[:, b])
        xa = jnp.where(swap, xx[:, b], xx[:, a])
        xb = jnp.where(swap, xx[:, a], xx[:, b])
        yy = yy.at[:, a].set(ya).at[:, b].set(yb)
        xx = xx.at[:, a].set(xa).at[:, b].set(xb)
    ty1, ty2, ty3 = yy[:, 0], yy[:, 1], yy[:, 2]
    tx1, tx3 = xx[:, 0], xx[:, 2]
    xmin, xmax = jnp.min(x, axis=1), jnp.max(x, axis=1)
    wt = jnp.where(three, weight, 0.0)
    sel = jnp.where
    # first horizontal segment
    a_row = sel(tee, ty2, y1)
    a_lo = sel(tee, xmin, x1)
    a_hi = sel(tee, xmax, x2)
    # second horizontal segment (L and flat only)
    b_on = l_shape | flat
    b_row, b_lo, b_hi = y2, x2, x3
    # first vertical segment
    c_col = sel(tee, tx1, x2)
    c_lo = sel(tee, jnp.minimum(ty1, ty2), sel(corner, y1, jnp.minimum(y1, y2)))
    c_hi = sel(tee, jnp.maximum(ty1, ty2),
               sel(corner, jnp.maximum(y2, y3), jnp.maximum(y1, y2)))
    # second vertical segment (L and T only)
    d_on = l_shape | tee
    d_col = sel(tee, tx3, x3)
    d_lo = sel(tee, jnp.minimum(ty2, ty3), jnp.minimum(y2, y3))
    d_hi = sel(tee, jnp.maximum(ty2, ty3), jnp.maximum(y2, y3))

    cat = jnp.concatenate
    zero = jnp.zeros_like(wt)
    return _segments_to_maps(
        rows, cols,
        cat([h_row, a_row, b_row]), cat([h_lo, a_lo, b_lo]), cat([h_hi, a_hi, b_hi]),
        cat([w, wt, sel(b_on, wt, zero)]),
        cat([v_col, c_col, d_col]), cat([v_lo, c_lo, d_lo]), cat([v_hi, c_hi, d_hi]),
        cat([w, wt, sel(d_on, wt, zero)]),
        dtype)


def smooth(h: jnp.ndarray, v: jnp.ndarray, k: jnp.ndarray):
    """Spreads each cell's value evenly over the cells within k of it: V along
    its row, H along its column (windows clipped at the edges)."""

    def spread(n):
        i = jnp.arange(n)
        lo = jnp.maximum(i - k, 0)
        hi = jnp.minimum(i + k, n - 1)
        count = (hi - lo + 1).astype(h.dtype)
        near = (jnp.abs(i[:, None] - i[None, :]) <= k).astype(h.dtype)
        return near / count[:, None]        # [from, to]

    rows, cols = h.shape
    return spread(rows).T @ h, v @ spread(cols)


def macro_routing(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(H, V) routing allocation of hard macros, un-normalised, each (R, C).

    A macro adds (vertical alloc) x (its width inside the cell) to V and
    (horizontal alloc) x (its height inside the cell) to H of every cell it
    overlaps. When it spans several rows and its bottom or top row is only
    partly covered, its V contribution to the top row is removed; likewise
    H in its rightmost column when it spans several columns partly.
    """
    size = oriented_sizes(arrays, orient)
    return macro_routing_rects(xy, size, arrays.node_is_hard, arrays.canvas,
                               arrays.macro_routes, arrays.grid_rows,
                               arrays.grid_cols)


def macro_routing_rects(xy, size, is_hard, canvas, macro_routes, rows: int,
                        cols: int):
    """(H, V) macro routing allocation of rectangles (centres xy (K, 2), sizes
    (K, 2)); only rows with is_hard (K,) count. See macro_routing."""
    gw, gh = cell_size(canvas, rows, cols)
    x0 = xy[:, 0] - 0.5 * size[:, 0]
    x1 = xy[:, 0] + 0.5 * size[:, 0]
    y0 = xy[:, 1] - 0.5 * size[:, 1]
    y1 = xy[:, 1] + 0.5 * size[:, 1]
    ox = axis_overlap(x0, x1, gw, cols)                     # (K, C)
    oy = axis_overlap(y0, y1, gh, rows)                     # (K, R)
    ox = jnp.where(is_hard[:, None], ox, 0.0)
    inx, iny = ox > 0, oy > 0
    # cell range of the macro's corners, clamped as the reference does
    bl_c = jnp.maximum(jnp.floor(x0 / gw), 0).astype(jnp.int32)
    bl_r = jnp.maximum(jnp.floor(y0 / gh), 0).astype(jnp.int32)
    ur_c_raw = jnp.floor(x1 / gw).astype(jnp.int32)
    ur_r_raw = jnp.floor(y1 / gh).astype(jnp.int32)
    ur_c = jnp.minimum(ur_c_raw, cols - 1)
    ur_r = jnp.minimum(ur_r_raw, rows - 1)
    valid = is_hard & (ur_c_raw >= 0) & (ur_r_raw >= 0) & \
        (bl_c <= ur_c) & (bl_r <= ur_r)
    take = lambda a, i: jnp.take_along_axis(a, i[:, None], axis=1)[:, 0]  # noqa: E731
    col_in = (jnp.arange(cols) >= bl_c[:, None]) & (jnp.arange(cols) <= ur_c[:, None])
    row_in = (jnp.arange(rows) >= bl_r[:, None]) & (jnp.arange(rows) <= ur_r[:, None])
    # y extent seen in cells of the bottom / top row (0 where x doesn't overlap)
    yd_bl = jnp.where(inx & take(iny, bl_r)[:, None], take(oy, bl_r)[:, None], 0.0)
    yd_ur = jnp.where(inx & take(iny, ur_r)[:, None], take(oy, ur_r)[:, None], 0.0)
    part_v = jnp.any(col_in & ((jnp.abs(yd_bl - gh) > 1e-5) |
                               (jnp.abs(yd_ur - gh) > 1e-5)), axis=1)
    flag_v = valid & (ur_r != bl_r) & part_v
    xd_bl = jnp.where(iny & take(inx, bl_c)[:, None], take(ox, bl_c)[:, None], 0.0)
    xd_ur = jnp.where(iny & take(inx, ur_c)[:, None], take(ox, ur_c)[:, None], 0.0)
    part_h = jnp.any(row_in & ((jnp.abs(xd_bl - gw) > 1e-5) |
                               (jnp.abs(xd_ur - gw) > 1e-5)), axis=1)
    flag_h = valid & (ur_c != bl_c) & part_h

    okx = jnp.where(valid[:, None], ox, 0.0)
    oky = jnp.where(valid[:, None], oy, 0.0)
    # V[r, c] = sum_v ox[v, c] [oy[v, r] > 0];  H[r, c] = sum_v oy[v, r] [ox[v, c] > 0]
    v_map = jnp.einsum("vr,vc->rc", (oky > 0).astype(ox.dtype), okx)
    h_map = jnp.einsum("vr,vc->rc", oky, (okx > 0).astype(ox.dtype))
    top = jax.nn.one_hot(ur_r, rows, dtype=ox.dtype) * \
        (flag_v & take(iny, ur_r))[:, None]
    right = jax.nn.one_hot(ur_c, cols, dtype=ox.dtype) * \
        (flag_h & take(inx, ur_c))[:, None]
    v_map = v_map - jnp.einsum("vr,vc->rc", top, okx)
    h_map = h_map - jnp.einsum("vr,vc->rc", oky, right)
    return macro_routes[0] * h_map, macro_routes[1] * v_map


def congestion_maps(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(H, V, H_macro, V_macro) normalised maps, each (R, C); H and V include
    the (smoothed) net part and the macro part."""
    rows, cols = arrays.grid_rows, arrays.grid_cols
    gw, gh = cell_size(arrays.canvas, rows, cols)
    h_routes = gh * arrays.routes_per_micron[0]
    v_routes = gw * arrays.routes_per_micron[1]
    h_net, v_net = net_routing(arrays, xy, orient)
    h_net, v_net = smooth(h_net / h_routes, v_net / v_routes, arrays.smoothing_range)
    h_mac, v_mac = macro_routing(arrays, xy, orient)
    h_mac, v_mac = h_mac / h_routes, v_mac / v_routes
    return h_net + h_mac, v_net + v_mac, h_mac, v_mac


def congestion_cost_from_maps(h: jnp.ndarray, v: jnp.ndarray) -> jnp.ndarray:
    """Mean of the top 5% of the V and H maps taken together."""
    return top_fraction_mean(jnp.concatenate([v.reshape(-1), h.reshape(-1)]), 0.05)


def congestion(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(cost, H map, V map)."""
    h, v, _, _ = congestion_maps(arrays, xy, orient)
    return congestion_cost_from_maps(h, v), h, v
