"""Analytical (global) placement of soft macros in JAX: the ePlace / DREAMPlace way.

Circuit Training places its soft macros (standard-cell clusters) with a
force-directed pass (placer.stdcell.force_directed). This module is the
alternative a physical-design flow would use: a smooth objective minimised by
gradient descent (optax Adam), over the soft-macro centres only,

    f(c) = WL_wa(c; gamma) + lambda_d(t) * D(c) + lambda_c(t) * C(c)

* WL_wa: the weighted-average (WA) wirelength of every net over its real pin
  positions (hard-macro pins with their oriented offsets, soft-macro pins at
  the centre, as the cost puts them), normalised like the proxy's wirelength
  term (sum w WL / ((W + H) sum w)). Per net and axis,

      WA_max = sum x exp(x / g) / sum exp(x / g),
      WA_min = sum x exp(-x / g) / sum exp(-x / g),

  and WA_max - WA_min -> max - min (HPWL) as g -> 0. The smoothing g follows
  the density overflow (large while cells overlap, small once spread: the
  DREAMPlace rule).
* D: the electrostatic density energy of ePlace. Every macro (hard and soft)
  is a charge spread over a bin grid (a refinement of the proxy's grid) by its
  exact overlap area; soft macros thinner than sqrt(2) bins are stretched to
  that size with their density scaled down so their area is unchanged. The
  potential psi solves Poisson's equation with Neumann boundaries, done
  exactly in the cosine basis with two small dense DCT-II matrices per axis;
  D = 1/2 sum rho psi, so dD/d(rho) = psi and the gradient of a cell is the
  field integrated over its box. Hard macros are fixed charges (a bin holds
  at most 1) that push soft macros away. Filler cells (ePlace) take the
  whitespace beyond ``target_density`` x the free area, so the soft macros
  are packed to about that density instead of being spread evenly over the
  whole canvas; fillers feel only this term.
* C: a routing-demand term that sees the congestion cost's own maps: each
  net's demand is spread RUDY-style over its pin bounding box (horizontal
  demand w / max(h, cell height) per unit area, vertical w / max(w, cell
  width)), normalised by routes per cell, smoothed like the proxy, plus the
  hard macros' routing allocation (a constant map, from
  placer.cost.congestion.macro_routing), and C = the mean of the top 5% of
  the H and V maps together: the proxy's congestion formula on a smooth
  estimate of its maps.

The weight lambda_d starts at ``density_weight`` x |grad WL|_1 / |grad D|_1
(measured at the start) and grows geometrically by ``density_growth`` per
iteration while the overflow (soft area above the target density, measured on
the stretched boxes' map at the gradient's positions, over the total soft
area) is above ``target_overflow``; the congestion term, weighted
``congestion_weight``, joins for the iterations from ``congestion_from`` on,
once the cells have spread (before that RUDY only sees a clump). The step is
Adam with a cosine-decayed learning rate in units of the bin size; after
every step soft macros are projected back inside the canvas. Everything is
fixed-shape: two ``lax.fori_loop`` phases of static lengths, so the pass is
pure, jit-compiled once per design (shapes) and config, and vmap-able over
placements (different hard-macro positions / orientations).

Dimensions: V nodes, E net entries, N nets, S soft macros, M macros (hard and
soft), Rb x Cb density bins, R x C proxy grid; all padded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from placer.cost.arrays import CostArrays, cost_arrays, oriented_sizes, pad_placement
from placer.cost.congestion import macro_routing, smooth
from placer.cost.grid import axis_overlap_lean_grad, cell_size, top_fraction_mean
from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, ORIENT_MATRICES, SOFT_MACRO, Netlist


def _round_up(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


@dataclass(frozen=True)
class AnalyticalConfig:
    """Settings of the analytical pass; hashable, so static under jit.

    Attributes:
        iterations: gradient steps (fixed: the loop has a static length).
        bins_per_cell: density bins per proxy grid cell along each axis
            (0: enough for about 64 bins along the longer side).
        target_density: the density the soft macros are packed to: fillers
            take the rest of target_density x the free area, and the
            overflow is measured against it (0.7 was best on Ariane133; see
            experiments/results_soft.md).
        target_overflow: lambda_d stops growing once the overflow (soft area
            above target_density / total soft area) is below this.
        density_weight: initial lambda_d relative to the gradient-norm ratio.
        density_growth: lambda_d's growth per iteration while overflowing.
        congestion_weight: weight of the RUDY top-5% term (the proxy's own
            congestion weight is 0.5).
        congestion_from: the congestion term is on from this fraction of the
            iterations on (it only means something once cells have spread).
        lr: Adam's first step size, in bins.
        lr_end: the last step size (cosine decay), in bins.
        gamma: WA smoothing at overflow 0.1, in bins (scaled by 10^(20/9
            (overflow - 0.1)), DREAMPlace's rule).
        jitter: start spread around the canvas centre, as a fraction of the
            canvas (a fixed low-discrepancy pattern: no random key; breaks
            the symmetry of the all-centre start).
        fillers: fill the whitespace with filler cells (ePlace), sized by
            analytical_arrays, so that cells are not over-spread.
        use_current_loc: start from the given soft-macro positions instead of
            the canvas centre.
    """

    iterations: int = 400
    bins_per_cell: int = 0
    target_density: float = 0.7
    target_overflow: float = 0.08
    density_weight: float = 0.1
    density_growth: float = 1.03
    congestion_weight: float = 0.5
    congestion_from: float = 0.8
    lr: float = 1.0
    lr_end: float = 0.05
    gamma: float = 0.4
    jitter: float = 0.01
    fillers: bool = True
    use_current_loc: bool = False

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            kind = type(f.default)
            try:
                v = kind(v)
            except (TypeError, ValueError):
                raise PlacerInputError(
                    f"AnalyticalConfig.{f.name} must be {kind.__name__}, got {v!r}"
                ) from None
            if kind is float and not math.isfinite(v):
                raise PlacerInputError(f"AnalyticalConfig.{f.name} must be finite")
            object.__setattr__(self, f.name, v)
        if self.iterations < 0 or self.bins_per_cell < 0:
            raise PlacerInputError("iterations and bins_per_cell must be >= 0")
        if self.target_density <= 0 or self.lr <= 0 or self.gamma <= 0:
            raise PlacerInputError("target_density, lr and gamma must be > 0")


@struct.dataclass
class AnalyticalArrays:
    """What the analytical pass needs besides CostArrays (built on the host).

    Positions are read from a table ``concat([soft centres (S, 2), xy (V, 2)])``:
    a movable-soft candidate is its row r < S, any node v is row S + v.
    """

    entry_row: jnp.ndarray      # (E,) int32 table row of each net entry's node
    soft_node: jnp.ndarray      # (S,) int32 node of each soft macro (0 padding)
    soft_mask: jnp.ndarray      # (S,) bool
    filler_size: jnp.ndarray    # (F, 2) filler cell sizes (0 for padding)
    filler_mask: jnp.ndarray    # (F,) bool
    macro_node: jnp.ndarray     # (M,) int32 hard or soft macro nodes (0 padding)
    macro_mask: jnp.ndarray     # (M,) bool
    dct_r: jnp.ndarray          # (Rb, Rb) orthonormal DCT-II matrix (rows)
    dct_c: jnp.ndarray          # (Cb, Cb) orthonormal DCT-II matrix (columns)
    inv_eig: jnp.ndarray        # (Rb, Cb) 1 / Laplacian eigenvalue, 0 at (0, 0)
    bin_rows: int = struct.field(pytree_node=False, default=1)
    bin_cols: int = struct.field(pytree_node=False, default=1)


def _dct_matrix(n: int) -> np.ndarray:
    """Orthonormal DCT-II: D[k, i] = sqrt(2/n) c_k cos(pi (i + 1/2) k / n),
    c_0 = 1/sqrt(2), else 1. Its rows are the eigenvectors of the 1-D
    Neumann Laplacian (second differences with mirrored ends)."""
    i = np.arange(n)
    d = np.sqrt(2.0 / n) * np.cos(np.pi * (i[None, :] + 0.5) * i[:, None] / n)
    d[0] /= np.sqrt(2.0)
    return d


def analytical_arrays(nl: Netlist, arrays: CostArrays, bins_per_cell: int = 0,
                      pad_to: int = 64, target_density: float | None = None,
                      fillers: bool = True) -> AnalyticalArrays:
    """Builds the AnalyticalArrays of a netlist (host side, once per netlist).

    Filler cells (ePlace): square cells of side max(sqrt(mean soft-macro
    area), sqrt(2) bins), as many as fill target_density x (canvas area -
    hard-macro area) - soft-macro area. They feel only the density term, so
    the whitespace is taken and the real cells are not spread further than
    the target density asks.

    Args:
        nl: the design.
        arrays: its CostArrays (float dtype and grid are taken from them).
        bins_per_cell: density bins per grid cell per axis; 0 picks
            ceil(64 / max(R, C)).
        pad_to: capacities are rounded up to a multiple of this.
        target_density: the fillers' target (default AnalyticalConfig's).
        fillers: add filler cells (AnalyticalConfig.fillers).
    """
    if arrays.node_size.shape[0] < nl.num_nodes:
        raise PlacerInputError("arrays were built for a smaller netlist")
    rows, cols = arrays.grid_rows, arrays.grid_cols
    k = int(bins_per_cell) or max(1, -(-64 // max(rows, cols)))
    rb, cb = rows * k, cols * k
    soft = np.flatnonzero(nl.node_kind == SOFT_MACRO).astype(np.int32)
    macros = np.flatnonzero((nl.node_kind == SOFT_MACRO)
                            | (nl.node_kind == HARD_MACRO)).astype(np.int32)
    sc, mc = _round_up(len(soft), pad_to), _round_up(len(macros), pad_to)
    row_of = sc + np.arange(arrays.node_size.shape[0])
    row_of[soft] = np.arange(len(soft))
    pin_node = np.asarray(arrays.pin_node)
    entry_row = row_of[pin_node[np.asarray(arrays.entry_pin)]].astype(np.int32)

    def pad(a, n, dt):
        out = np.zeros(n, dt)
        out[: len(a)] = a
        return jnp.asarray(out)

    dtype = arrays.node_size.dtype
    canvas = np.asarray(arrays.canvas, np.float64)
    bw, bh = canvas[0] / cb, canvas[1] / rb
    eig = ((2 - 2 * np.cos(np.pi * np.arange(rb) / rb))[:, None] / bh ** 2
           + (2 - 2 * np.cos(np.pi * np.arange(cb) / cb))[None, :] / bw ** 2)
    inv = np.where(eig > 0, 1.0 / np.where(eig > 0, eig, 1.0), 0.0)
    # fillers
    if target_density is None:
        target_density = AnalyticalConfig.target_density
    sizes = np.asarray(nl.node_size, np.float64)
    soft_area = float(np.sum(sizes[soft, 0] * sizes[soft, 1]))
    hard = nl.node_kind == HARD_MACRO
    hard_area = float(np.sum(sizes[hard, 0] * sizes[hard, 1]))
    side = max(math.sqrt(soft_area / max(len(soft), 1)),
               math.sqrt(2.0) * max(bw, bh))
    fill_area = target_density * (canvas[0] * canvas[1] - hard_area) - soft_area
    f_n = int(fill_area // (side * side)) if (fillers and len(soft)) else 0
    f_n = max(f_n, 0)
    fc = _round_up(f_n, pad_to)
    f_size = np.zeros((fc, 2))
    f_size[:f_n] = side
    return AnalyticalArrays(
        entry_row=jnp.asarray(entry_row),
        soft_node=pad(soft, sc, np.int32), soft_mask=pad(np.ones(len(soft)), sc, bool),
        filler_size=jnp.asarray(f_size, dtype),
        filler_mask=pad(np.ones(f_n), fc, bool),
        macro_node=pad(macros, mc, np.int32),
        macro_mask=pad(np.ones(len(macros)), mc, bool),
        dct_r=jnp.asarray(_dct_matrix(rb), dtype),
        dct_c=jnp.asarray(_dct_matrix(cb), dtype),
        inv_eig=jnp.asarray(inv, dtype), bin_rows=rb, bin_cols=cb)


# ---------------------------------------------------------------- the terms
def wa_extents(pos: jnp.ndarray, net: jnp.ndarray, n: int, gamma):
    """(WA_min (n, 2), WA_max (n, 2), has_pins (n,)) smooth pin extents of nets.

    Per net and axis: WA_max = sum x e^{x/g} / sum e^{x/g} and WA_min the same
    with -x; WA_max - WA_min -> max - min as g -> 0. Exponents are taken
    relative to the net's exact max (min), so they never overflow; that shift
    cancels in each ratio and carries no gradient.

    Args:
        pos: (E, 2) pin position of each net entry.
        net: (E,) net of each entry (sorted), n for padding (dropped).
        n: number of nets.
        gamma: the smoothing length (> 0).
    """
    seg = dict(num_segments=n + 1, indices_are_sorted=True)
    hi = jax.lax.stop_gradient(jax.ops.segment_max(pos, net, **seg))
    lo = jax.lax.stop_gradient(jax.ops.segment_min(pos, net, **seg))
    valid = (net < n)[:, None]
    e_hi = jnp.where(valid, jnp.exp((pos - hi[net]) / gamma), 0.0)   # (E, 2)
    e_lo = jnp.where(valid, jnp.exp((lo[net] - pos) / gamma), 0.0)
    sums = jax.ops.segment_sum(
        jnp.concatenate([e_hi, e_lo, pos * e_hi, pos * e_lo], axis=1), net,
        **seg)[:n]                                                    # (n, 8)
    s_hi, s_lo = sums[:, 0:2], sums[:, 2:4]
    has = s_hi[:, 0] > 0
    wa_max = sums[:, 4:6] / jnp.where(s_hi > 0, s_hi, 1.0)
    wa_min = sums[:, 6:8] / jnp.where(s_lo > 0, s_lo, 1.0)
    return wa_min, wa_max, has


def wa_wirelength(pos: jnp.ndarray, net: jnp.ndarray, weight: jnp.ndarray,
                  gamma) -> jnp.ndarray:
    """Weighted-average wirelength sum_n w_n (WA_x + WA_y) of nets (see
    wa_extents; weight (n,) is 0 for padding nets)."""
    lo, hi, has = wa_extents(pos, net, weight.shape[0], gamma)
    span = jnp.where(has[:, None], hi - lo, 0.0)
    return jnp.sum(weight * span.sum(axis=1))


def bin_density(xy, size, on, canvas, rows: int, cols: int) -> jnp.ndarray:
    """(rows, cols) area of the rectangles (centres xy (K, 2), sizes (K, 2),
    counted where on (K,)) in each bin, divided by the bin area."""
    bw, bh = canvas[0] / cols, canvas[1] / rows
    half = 0.5 * size
    ox = axis_overlap_lean_grad(xy[:, 0] - half[:, 0], xy[:, 0] + half[:, 0], bw, cols)
    oy = axis_overlap_lean_grad(xy[:, 1] - half[:, 1], xy[:, 1] + half[:, 1], bh, rows)
    oy = jnp.where(on[:, None], oy, 0.0)
    return jnp.einsum("kr,kc->rc", oy, ox) / (bw * bh)


def potential(rho: jnp.ndarray, aa: AnalyticalArrays) -> jnp.ndarray:
    """(Rb, Cb) electrostatic potential psi of a density map: the solution of
    -Laplacian(psi) = rho - mean(rho) with Neumann boundaries (second
    differences over bins of the canvas' bin size)."""
    hat = aa.dct_r @ rho @ aa.dct_c.T
    return aa.dct_r.T @ (hat * aa.inv_eig) @ aa.dct_c


def electrostatic_energy(rho: jnp.ndarray, aa: AnalyticalArrays) -> jnp.ndarray:
    """1/2 sum rho psi(rho): the ePlace density energy (its rho-gradient is psi)."""
    return 0.5 * jnp.sum(rho * potential(rho, aa))


def stretched(size, bw, bh):
    """(sizes, density scale): each box at least sqrt(2) bins on each side,
    the scale keeping its area (ePlace's treatment of small cells)."""
    lo = jnp.asarray([bw, bh], size.dtype) * math.sqrt(2.0)
    big = jnp.maximum(size, lo)
    area = size[:, 0] * size[:, 1]
    big_area = big[:, 0] * big[:, 1]
    return big, jnp.where(big_area > 0, area / jnp.where(big_area > 0, big_area, 1.0),
                          0.0)


def rudy_maps(lo: jnp.ndarray, hi: jnp.ndarray, weight: jnp.ndarray, canvas,
              rows: int, cols: int):
    """(H, V) un-normalised RUDY routing demand on the (R, C) grid.

    A net of weight w with pin bounding box [x0, x1] x [y0, y1] (lo, hi: (n, 2))
    adds, to cell (r, c), H: w ox_c oy_r / (gw max(y1 - y0, gh)) and V:
    w ox_c oy_r / (gh max(x1 - x0, gw)), where ox, oy are the box's overlaps
    with the cell's column and row; the box is first grown about its centre
    to at least one cell on each side. Summed over cells, H is w x (box width
    / cell width): the number of cells an L route's horizontal leg crosses.
    Nets of weight 0 add nothing.
    """
    gw, gh = cell_size(canvas, rows, cols)
    ok = weight > 0
    hi = jnp.where(ok[:, None], hi, 0.0)
    lo = jnp.where(ok[:, None], lo, 0.0)
    cell = jnp.stack([gw, gh])
    mid, span = 0.5 * (hi + lo), hi - lo
    ext = jnp.maximum(span, cell)
    x0, x1 = mid[:, 0] - 0.5 * ext[:, 0], mid[:, 0] + 0.5 * ext[:, 0]
    y0, y1 = mid[:, 1] - 0.5 * ext[:, 1], mid[:, 1] + 0.5 * ext[:, 1]
    ox = axis_overlap_lean_grad(x0, x1, gw, cols)                     # (n, C)
    oy = axis_overlap_lean_grad(y0, y1, gh, rows)                     # (n, R)
    wh = jnp.where(ok, weight / (gw * ext[:, 1]), 0.0)
    wv = jnp.where(ok, weight / (gh * ext[:, 0]), 0.0)
    # One (R, n) x (n, 2C) product: its gradient is two plain products too
    # (an einsum over a stacked (n, 2, C) operand added transposes).
    hv = oy.T @ jnp.concatenate([ox * wh[:, None], ox * wv[:, None]], axis=1)
    return hv[:, :cols], hv[:, cols:]


# ------------------------------------------------------------------ the pass
def analytical(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
               movable: jnp.ndarray, config: AnalyticalConfig = AnalyticalConfig(),
               *, aa: AnalyticalArrays, return_trace: bool = False):
    """Places the movable soft macros by analytical global placement.

    Pure: jit it with ``config`` static (see ``analytical_jit``) and vmap it
    over ``(xy, orient[, movable])`` for placements of one netlist. All
    arithmetic is in ``xy.dtype``.

    Args:
        arrays: the netlist's CostArrays (sizes, pins, nets, canvas, routing).
        xy: (V, 2) node centres.
        orient: (V,) int orientation codes (constant during the pass).
        movable: (V,) bool, the nodes that move. Only soft macros can move:
            True on any other node is ignored.
        config: the settings (static).
        aa: the netlist's AnalyticalArrays (see analytical_arrays).
        return_trace: also return per-iteration (overflow, lambda_d, objective
            terms) for diagnostics.

    Returns:
        (V, 2) centres: the movable soft macros re-placed, the rest as given
        (and the trace dict with return_trace).
    """
    dtype = xy.dtype
    cfg = config
    s_n = aa.soft_node.shape[0]
    rows, cols = arrays.grid_rows, arrays.grid_cols
    rb, cb = aa.bin_rows, aa.bin_cols
    canvas = arrays.canvas.astype(dtype)
    bw, bh = canvas[0] / cb, canvas[1] / rb
    size = oriented_sizes(arrays, orient).astype(dtype)
    half_s = size[aa.soft_node] * 0.5
    move_s = movable[aa.soft_node] & aa.soft_mask
    c0 = xy[aa.soft_node]

    # Pin offsets (rotated once: orientations are constant), net entries.
    mats = jnp.asarray(ORIENT_MATRICES, dtype=dtype)[orient[arrays.pin_node]]
    pin_off = jnp.einsum("pij,pj->pi", mats, arrays.pin_offset.astype(dtype))
    entry_off = pin_off[arrays.entry_pin]
    net = arrays.entry_net
    w_net = arrays.net_weight.astype(dtype)
    wl_norm = canvas.sum() * jnp.maximum(jnp.sum(w_net), 1e-30)

    # Fixed charges: every macro that does not move (hard macros, fixed soft).
    m_size = size[aa.macro_node]
    m_fixed = aa.macro_mask & (~movable[aa.macro_node]
                               | arrays.node_is_hard[aa.macro_node])
    # A bin cannot be more than full: overlapping fixed macros (an illegal
    # hard-macro placement) would otherwise push soft macros away twice over.
    rho_fixed = jnp.minimum(
        bin_density(xy[aa.macro_node], m_size, m_fixed, canvas, rb, cb), 1.0)
    s_big, s_scale = stretched(size[aa.soft_node], bw, bh)
    s_scale = jnp.where(move_s, s_scale, 0.0)
    soft_area = jnp.sum(jnp.where(move_s, size[aa.soft_node].prod(axis=1), 0.0))
    soft_area = jnp.maximum(soft_area, 1e-30)

    # Congestion: routes per cell and the hard macros' constant allocation.
    gw, gh = cell_size(canvas, rows, cols)
    h_routes = gh * arrays.routes_per_micron[0].astype(dtype)
    v_routes = gw * arrays.routes_per_micron[1].astype(dtype)
    h_mac, v_mac = macro_routing(arrays, xy, orient)
    h_mac, v_mac = h_mac / h_routes, v_mac / v_routes
    w_cong = arrays.net_cong_weight.astype(dtype)
    n_nets = arrays.num_nets

    def pins(c):
        table = jnp.concatenate([c, xy])
        return table[aa.entry_row] + entry_off

    def wire_terms(c, gamma, with_cong: bool):
        """(normalised WA wirelength, RUDY top-5% congestion or 0)."""
        lo, hi, has = wa_extents(pins(c), net, n_nets, gamma)
        span = jnp.where(has[:, None], hi - lo, 0.0)
        wl = jnp.sum(w_net * span.sum(axis=1)) / wl_norm
        if not with_cong:
            return wl, jnp.zeros((), dtype)
        h, v = rudy_maps(lo, hi, w_cong, canvas, rows, cols)
        h, v = smooth(h / h_routes, v / v_routes, arrays.smoothing_range)
        cg = top_fraction_mean(jnp.concatenate([(v + v_mac).reshape(-1),
                                                (h + h_mac).reshape(-1)]), 0.05)
        return wl, cg

    def spread(c, big, scale):
        lo, hi = c - 0.5 * big, c + 0.5 * big
        ox = axis_overlap_lean_grad(lo[:, 0], hi[:, 0], bw, cb)
        oy = axis_overlap_lean_grad(lo[:, 1], hi[:, 1], bh, rb)
        return jnp.einsum("kr,kc->rc", oy * scale[:, None], ox) / (bw * bh)

    f_scale = aa.filler_mask.astype(dtype)

    def density_term(p):
        """(energy, soft density map (Rb, Cb) of the stretched boxes)."""
        rho = spread(p["soft"], s_big, s_scale)
        rho_f = spread(p["fill"], aa.filler_size, f_scale)
        energy = electrostatic_energy(rho + rho_f + rho_fixed, aa) / (
            canvas[0] * canvas[1])
        return energy, rho

    def overflow(rho):
        """Soft area above the target density (or above the fixed macros'
        density where that is higher) / total soft area."""
        over = jnp.maximum(rho + rho_fixed - jnp.maximum(rho_fixed,
                                                         cfg.target_density), 0.0)
        return jnp.sum(over) * bw * bh / soft_area

    # Start: the canvas centre plus a small fixed spiral (symmetry breaking).
    k = jnp.arange(s_n, dtype=dtype)
    ang = k * (math.pi * (3.0 - math.sqrt(5.0)))
    rad = jnp.sqrt((k + 0.5) / s_n)
    spiral = jnp.stack([jnp.cos(ang), jnp.sin(ang)], axis=1) * rad[:, None]
    start = canvas * 0.5 + spiral * (cfg.jitter * canvas)
    c = c0 if cfg.use_current_loc else jnp.where(move_s[:, None], start, c0)
    lo_c, hi_c = half_s, canvas - half_s

    def project(c):
        c = jnp.clip(c, lo_c, jnp.maximum(hi_c, lo_c))
        return jnp.where(move_s[:, None], c, c0)

    c = project(c)
    # Fillers start spread over the whole canvas (a Halton pattern).
    half_f = 0.5 * aa.filler_size
    f_n = aa.filler_size.shape[0]

    def halton(n, base):
        out = np.zeros(n)
        for i in range(n):
            f, r, k = 1.0, 0.0, i + 1
            while k > 0:
                f /= base
                r += f * (k % base)
                k //= base
            out[i] = r
        return out

    unit = jnp.asarray(np.stack([halton(f_n, 2), halton(f_n, 3)], axis=1), dtype)
    fmask2 = aa.filler_mask[:, None]

    def project_f(f):
        return jnp.clip(f, half_f, jnp.maximum(canvas - half_f, half_f))

    p = {"soft": c, "fill": project_f(unit * canvas)}
    bin_len = 0.5 * (bw + bh)
    gamma0 = cfg.gamma * bin_len

    def gamma_of(ovf):
        return gamma0 * 10.0 ** (20.0 / 9.0 * (jnp.clip(ovf, 0.0, 1.0) - 0.1))

    mask2 = move_s[:, None]
    g_d, rho = jax.grad(density_term, has_aux=True)(p)
    ovf0 = overflow(rho)
    g_wl = jax.grad(lambda c: wire_terms(c, gamma_of(ovf0), False)[0])(c)
    n_wl = jnp.sum(jnp.abs(jnp.where(mask2, g_wl, 0.0)))
    n_d = jnp.sum(jnp.abs(jnp.where(mask2, g_d["soft"], 0.0)))
    lam0 = cfg.density_weight * n_wl / jnp.maximum(n_d, 1e-30)
    lam0 = jnp.where(lam0 > 0, lam0, cfg.density_weight)

    t_n = max(cfg.iterations, 1)
    sched = optax.cosine_decay_schedule(cfg.lr * bin_len, t_n,
                                        alpha=cfg.lr_end / cfg.lr)
    opt = optax.adam(sched)
    state = opt.init(p)

    def objective(p, lam, gamma, cw, with_cong):
        wl, cg = wire_terms(p["soft"], gamma, with_cong)
        d, rho = density_term(p)
        return wl + lam * d + cw * cg, (wl, d, cg, rho)

    names = ("overflow", "lambda", "wl", "density", "congestion")

    def body(t, carry, with_cong):
        p, state, lam, ovf, trace = carry
        gamma = gamma_of(ovf)
        g, (wl, d, cg, rho) = jax.grad(objective, has_aux=True)(
            p, lam, gamma, cfg.congestion_weight, with_cong)
        # the overflow of the positions the gradient was taken at
        ovf = overflow(rho)
        lam = jnp.where(ovf > cfg.target_overflow, lam * cfg.density_growth, lam)
        g = {"soft": jnp.where(mask2, g["soft"], 0.0),
             "fill": jnp.where(fmask2, g["fill"], 0.0)}
        upd, state = opt.update(g, state, p)
        p = optax.apply_updates(p, upd)
        p = {"soft": project(p["soft"]), "fill": project_f(p["fill"])}
        if trace is not None:
            trace = jax.tree.map(lambda a, v: a.at[t].set(v), trace,
                                 dict(zip(names, (ovf, lam, wl, d, cg), strict=True)))
        return p, state, lam, ovf, trace

    trace = None
    if return_trace:
        trace = {k: jnp.zeros(t_n, dtype) for k in names}
    # Congestion joins for the last part, once the cells have spread.
    t_c = min(cfg.iterations, int(round(cfg.congestion_from * cfg.iterations)))
    carry = (p, state, lam0.astype(dtype), ovf0, trace)
    carry = jax.lax.fori_loop(0, t_c, lambda t, x: body(t, x, False), carry)
    if cfg.congestion_weight != 0.0:
        carry = jax.lax.fori_loop(t_c, cfg.iterations,
                                  lambda t, x: body(t, x, True), carry)
    else:
        carry = jax.lax.fori_loop(t_c, cfg.iterations,
                                  lambda t, x: body(t, x, False), carry)
    c, trace = carry[0]["soft"], carry[4]
    delta = jnp.where(move_s[:, None], c - c0, 0.0)
    out = xy + jnp.zeros_like(xy).at[aa.soft_node].add(delta)
    if return_trace:
        return out, trace
    return out


analytical_jit = jax.jit(analytical, static_argnames=("config", "return_trace"))


def place_soft_macros_analytical(netlist: Netlist,
                                 config: AnalyticalConfig = AnalyticalConfig(),
                                 dtype=jnp.float32, **overrides) -> Netlist:
    """A copy of the netlist with its soft macros re-placed by ``analytical``.

    Every soft macro moves; hard macros, ports and standard cells keep their
    positions.

    Args:
        netlist: the design with hard macros placed.
        config: the settings.
        dtype: jnp.float32 (default) or jnp.float64 (needs no global x64 flag).
        **overrides: AnalyticalConfig fields replacing the config's.
    """
    config = _with_overrides(config, overrides)
    with jax.enable_x64(dtype == jnp.float64):
        arrays = cost_arrays(netlist, dtype=dtype)
        aa = analytical_arrays(netlist, arrays, config.bins_per_cell,
                               target_density=config.target_density,
                               fillers=config.fillers)
        xy, orient = pad_placement(netlist, arrays, dtype=dtype)
        movable = np.zeros(xy.shape[0], bool)
        movable[: netlist.num_nodes] = netlist.node_kind == SOFT_MACRO
        out = analytical_jit(arrays, xy, orient, jnp.asarray(movable), config, aa=aa)
        out = np.asarray(jax.device_get(out), np.float64)[: netlist.num_nodes]
    new_xy = netlist.node_xy.copy()
    soft = netlist.node_kind == SOFT_MACRO
    new_xy[soft] = out[soft]
    return netlist.with_placement(new_xy)


def _with_overrides(config: AnalyticalConfig, overrides: dict) -> AnalyticalConfig:
    if not overrides:
        return config
    names = {f.name for f in dataclasses.fields(AnalyticalConfig)}
    bad = sorted(set(overrides) - names)
    if bad:
        raise PlacerInputError(f"unknown AnalyticalConfig field(s) {bad}; known: "
                               f"{sorted(names)}")
    return dataclasses.replace(config, **overrides)
