"""Where the force-directed pass's repulsion step spends its time, and
whether another kernel would make it fast enough for issue 18's item 6.
Measured prototypes, not used by the library.

    taskset -c 0 python experiments/fd_repulsion_kernels.py [--repeats 20]

Table 1, the dense kernel's variants on one state (after 100 + 100 steps),
each jitted, timed in turn (medians): the library's kernel; the same terms
laid out (macro, soft macro) and summed over the major axis; that layout in
column chunks of 64 (lax.scan, a cache-sized working set); the row sums as
a fused reduction instead of the product with a ones vector; an approximate
reciprocal square root (bit trick and three Newton steps); for timing
only (wrong results), the kernel without the square root; and (session 15)
each soft-soft pair evaluated once instead of twice (``symmetric``). The largest
difference from the library's kernel is over valid soft macros.

Table 2, a binned (cell-list) repulsion:

The dense repulsion (placer.stdcell.force_directed.repulsion) compares every
soft macro with every macro at each of the pass's 200 repulsion steps. Two
boxes can only overlap when their centres are closer than the sum of their
half sizes on both axes, so with bins as large as the largest soft macro
(on each axis) a soft macro's soft neighbours lie in the 3 x 3 bins around
its own. The prototype here:

* sorts the soft macros by bin at every step (argsort of S ints), keeps up
  to ``cap`` per bin (more: the step "overflows" and would need the dense
  pass) and gathers the 9 x cap candidates of every soft macro;
* takes the fixed columns (hard macros, which do not move during the pass)
  from a per-bin table built once per pass (bins whose soft macros could
  reach the macro; up to 8 per bin);
* evaluates the same pair terms as the dense kernel on the candidates.

Without an overflow the sum holds every overlapping pair, so it equals the
dense result up to summation order. The states are those the pass itself
reaches on Ariane133 after a random masked episode (hard macros on grid
cells), cut after the given steps of each stage. Columns:
the fullest bin, whether ``cap`` overflowed, the largest difference from the
dense sum (over valid soft macros), and the medians of both kernels (ms per
step, jitted, one call per repeat).
"""

from __future__ import annotations

import argparse
import functools
import importlib
import math
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from _paths import SHARED
from _timing import median_seconds

import placer
from placer.cost.arrays import oriented_sizes
from placer.env.env import make_env, random_policy

F = importlib.import_module("placer.stdcell.force_directed")
A = SHARED / "netlists" / "ariane133_ng45"


def pair_sum(c_u, half_u, node_u, c_v, half_v, node_v):
    """(S, 2) sum over K candidates of the dense kernel's pair terms.

    c_u, half_u: (S, 1, 2); node_u (S, 1); c_v, half_v: (S, K, 2); node_v (S, K).
    """
    ov = jnp.all((c_u - half_u < c_v + half_v) & (c_v - half_v < c_u + half_u),
                 axis=-1)
    d = c_u - c_v
    d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]
    w = jnp.where(ov & (d2 > 0), jax.lax.rsqrt(d2), 0.0)
    q = jnp.where(d2 == 0, jnp.where(node_v < node_u, F._INV_SQRT2,
                                     -F._INV_SQRT2), 0.0)
    return jnp.sum(d * w[..., None] + q[..., None], axis=1)


def fixed_table(c_h, half_h, nb, bsize, reach, cap):
    """(NB + 1, cap) fixed columns a soft macro centred in each bin could
    overlap (H = none), and the largest count of a bin. Edge bins reach to
    infinity (soft centres are clipped into the grid)."""
    nbx, nby = nb
    h_n = c_h.shape[0]

    def edges(n, size):
        i = jnp.arange(n)
        lo = jnp.where(i == 0, -jnp.inf, i * size)
        hi = jnp.where(i == n - 1, jnp.inf, (i + 1) * size)
        return lo, hi

    (lx, hx), (ly, hy) = edges(nbx, bsize[0]), edges(nby, bsize[1])
    ex, ey = half_h[:, 0] + reach[0], half_h[:, 1] + reach[1]
    okx = (c_h[None, :, 0] - ex < hx[:, None]) & (lx[:, None] < c_h[None, :, 0] + ex)
    oky = (c_h[None, :, 1] - ey < hy[:, None]) & (ly[:, None] < c_h[None, :, 1] + ey)
    ok = (okx[:, None, :] & oky[None, :, :]).reshape(nbx * nby, h_n)
    cnt = ok.sum(1)
    idx = jnp.argsort(~ok, axis=1, stable=True)[:, :cap]
    idx = jnp.where(jnp.arange(cap)[None] < cnt[:, None], idx, h_n)
    idx = jnp.concatenate([idx, jnp.full((1, cap), h_n, idx.dtype)])
    return idx.astype(jnp.int32), jnp.max(cnt)


def binned_repulsion(c_s, half_s, node_s, col_s, c_h, half_h, node_h, htab, *,
                     nb, bsize, cap):
    """(S, 2) repulsion sums as the dense kernel's, the fullest bin, and
    whether ``cap`` overflowed."""
    s_n = c_s.shape[0]
    nbx, nby = nb
    n_bins = nbx * nby
    ij = jnp.clip(jnp.floor(c_s / bsize).astype(jnp.int32), 0,
                  jnp.array([nbx - 1, nby - 1]))
    own = ij[:, 0] * nby + ij[:, 1]
    b = jnp.where(col_s, own, n_bins)
    order = jnp.argsort(b)
    bs = b[order]
    start = jnp.searchsorted(bs, jnp.arange(n_bins + 1), side="left")
    rank = jnp.arange(s_n) - start[bs]
    inside = bs < n_bins
    fullest = jnp.max(jnp.where(inside, rank + 1, 0))
    tab = (jnp.full((n_bins + 1, cap), s_n, jnp.int32)
           .at[bs, rank].set(order.astype(jnp.int32), mode="drop")
           .at[n_bins].set(s_n))
    di = jnp.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])
    dj = jnp.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])
    ni, nj = ij[:, 0:1] + di, ij[:, 1:2] + dj
    ok = (ni >= 0) & (ni < nbx) & (nj >= 0) & (nj < nby)
    cand = tab[jnp.where(ok, ni * nby + nj, n_bins)].reshape(s_n, 9 * cap)

    def ext(a, fill):
        return jnp.concatenate([a, jnp.full((1,) + a.shape[1:], fill, a.dtype)])

    cs = ext(jnp.where(col_s[:, None], c_s, F.FAR), F.FAR)
    hs, ns = ext(half_s, 0.0), ext(node_s, 0)
    cu, hu, nu = c_s[:, None], half_s[:, None], node_s[:, None]
    r = pair_sum(cu, hu, nu, cs[cand], hs[cand], ns[cand])
    hc = htab[own]
    ch, hh, nh = ext(c_h, F.FAR), ext(half_h, 0.0), ext(node_h, 0)
    r = r + pair_sum(cu, hu, nu, ch[hc], hh[hc], nh[hc])
    return r + F._INV_SQRT2, fullest, fullest > cap


def dense_terms(c_s, half_s, node_s, c_m, half_m, node_m, rsqrt="exact"):
    """The dense kernel's (M, S) terms, macros along the major axis."""
    lo_s, hi_s = c_s - half_s, c_s + half_s
    lo_m, hi_m = c_m - half_m, c_m + half_m
    ov = ((lo_s[None, :, 0] < hi_m[:, None, 0])
          & (lo_m[:, None, 0] < hi_s[None, :, 0])
          & (lo_s[None, :, 1] < hi_m[:, None, 1])
          & (lo_m[:, None, 1] < hi_s[None, :, 1]))
    dx = c_s[None, :, 0] - c_m[:, 0:1]
    dy = c_s[None, :, 1] - c_m[:, 1:2]
    d2 = dx * dx + dy * dy
    if rsqrt == "exact":
        inv = jax.lax.rsqrt(d2)
    elif rsqrt == "newton":
        i = jax.lax.bitcast_convert_type(d2, jnp.int32)
        inv = jax.lax.bitcast_convert_type(0x5F3759DF - (i >> 1), d2.dtype)
        for _ in range(3):
            inv = inv * (1.5 - 0.5 * d2 * inv * inv)
    else:                                               # timing only
        inv = d2
    w = jnp.where(ov & (d2 > 0), inv, 0.0)
    q = jnp.where(d2 == 0, jnp.where(node_m[:, None] < node_s[None, :],
                                     F._INV_SQRT2, -F._INV_SQRT2), 0.0)
    return dx * w + q, dy * w + q


def transposed(*args, rsqrt="exact"):
    x, y = dense_terms(*args, rsqrt=rsqrt)
    return jnp.stack([x.sum(0), y.sum(0)], 1) + F._INV_SQRT2


def chunked(c_s, half_s, node_s, c_m, half_m, node_m, chunk=64):
    n = c_m.shape[0] // chunk
    blocks = (c_m.reshape(n, chunk, 2), half_m.reshape(n, chunk, 2),
              node_m.reshape(n, chunk))

    def body(acc, blk):
        x, y = dense_terms(c_s, half_s, node_s, *blk)
        return acc + jnp.stack([x.sum(0), y.sum(0)], 1), None

    acc, _ = jax.lax.scan(body, jnp.zeros_like(c_s), blocks)
    return acc + F._INV_SQRT2


def fused_rows(*args):
    x, y = dense_terms(*args)
    return jnp.stack([x.T.sum(1), y.T.sum(1)], 1) + F._INV_SQRT2


def _pair_terms(c_u, h_u, n_u, c_v, h_v, n_v):
    """The dense kernel's (..., U, V) x and y terms, rows (..., U) against
    columns (..., V)."""
    u, v = (slice(None), None), (None, slice(None))
    ov = jnp.all((c_u[..., u[0], u[1], :] - h_u[..., u[0], u[1], :]
                  < c_v[..., v[0], v[1], :] + h_v[..., v[0], v[1], :])
                 & (c_v[..., v[0], v[1], :] - h_v[..., v[0], v[1], :]
                    < c_u[..., u[0], u[1], :] + h_u[..., u[0], u[1], :]), axis=-1)
    d = c_u[..., :, None, :] - c_v[..., None, :, :]
    d2 = d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]
    w = jnp.where(ov & (d2 > 0), jax.lax.rsqrt(d2), 0.0)
    q = jnp.where(d2 == 0, jnp.where(n_v[..., None, :] < n_u[..., :, None],
                                     F._INV_SQRT2, -F._INV_SQRT2), 0.0)
    return d[..., 0] * w + q, d[..., 1] * w + q


def symmetric(c_s, half_s, node_s, c_m, half_m, node_m, *, soft_cols, hard_cols,
              blocks):
    """Each soft-soft pair evaluated once: a pair's term for v is minus its
    term for u (both the unit vector and the coincident-centre rule are
    antisymmetric), so the soft macros are cut into ``blocks`` blocks and only
    the blocks on and above the diagonal are evaluated, an off-diagonal block
    giving its rows' sums to one block and minus its columns' sums to the
    other (about 56% of the soft-soft pairs at 8 blocks); soft-hard pairs
    stay dense."""
    s_n = c_s.shape[0]
    b = s_n // blocks
    ones_h = jnp.ones((hard_cols.shape[0],), c_s.dtype)
    hx, hy = _pair_terms(c_s, half_s, node_s, c_m[hard_cols], half_m[hard_cols],
                         node_m[hard_cols])
    r = jnp.stack([hx @ ones_h, hy @ ones_h], 1)
    cs = c_m[soft_cols]               # the soft macros as columns: FAR if invalid
    cb, hb = cs.reshape(blocks, b, 2), half_s.reshape(blocks, b, 2)
    nb = node_s.reshape(blocks, b)
    i, j = np.triu_indices(blocks, 1)
    ones = jnp.ones((b,), c_s.dtype)
    tx, ty = _pair_terms(cb[i], hb[i], nb[i], cb[j], hb[j], nb[j])    # (P, b, b)
    dx, dy = _pair_terms(cb, hb, nb, cb, hb, nb)                      # diagonal
    out = (jnp.stack([dx @ ones, dy @ ones], -1)
           .at[i].add(jnp.stack([tx @ ones, ty @ ones], -1))
           .at[j].add(-jnp.stack([ones @ tx, ones @ ty], -1)))
    return r + out.reshape(s_n, 2) + F._INV_SQRT2


def kernel_table(args, valid_s, repeats, extra=None) -> None:
    kernels = {
        "library (S x M terms, row sums as a product with ones)": F.repulsion,
        "(M x S) terms, summed over the major axis": transposed,
        "(M x S) in column chunks of 64 (lax.scan)": chunked,
        "row sums as a fused reduction": fused_rows,
        "approximate rsqrt (bit trick + 3 Newton steps)":
            functools.partial(transposed, rsqrt="newton"),
        "no square root at all (timing only, wrong values)":
            functools.partial(transposed, rsqrt="none"),
        **(extra or {}),
    }
    jitted = {k: jax.jit(f) for k, f in kernels.items()}
    ref = jitted[next(iter(jitted))](*args)
    times = {k: [] for k in jitted}
    for f in jitted.values():
        jax.block_until_ready(f(*args))
    for _ in range(repeats):
        for k, f in jitted.items():
            t = time.perf_counter()
            jax.block_until_ready(f(*args))
            times[k].append(time.perf_counter() - t)
    print("| kernel | ms per step (median) | max abs diff |")
    print("|---|---|---|")
    for k, f in jitted.items():
        diff = float(jnp.max(jnp.abs(jnp.where(valid_s[:, None], f(*args) - ref, 0.0))))
        print(f"| {k} | {1e3 * statistics.median(times[k]):.3f} | {diff:.3g} |")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--caps", type=int, nargs="*", default=[4, 8, 16, 32])
    args = ap.parse_args()
    nl = placer.load_netlist(str(A / "netlist.pb.txt.gz"), str(A / "legalized.plc"))
    env, params = make_env(nl)
    fd, arrays = params.fd, params.cost
    episode = jax.jit(lambda k: env.rollout(params, k, random_policy, finish=False))
    xy0 = episode(jax.random.PRNGKey(1))["state"].xy
    size = oriented_sizes(arrays, params.orient)
    half_s, half_m = size[fd.soft_node] * 0.5, size[fd.macro_node] * 0.5
    valid_m = fd.macro_mask & jnp.all(half_m > 0, axis=1)
    valid_s = fd.soft_mask & jnp.all(half_s > 0, axis=1)
    s_n = fd.soft_node.shape[0]
    fixed = np.flatnonzero((np.asarray(fd.macro_row) >= s_n) & np.asarray(valid_m))
    reach = np.asarray(half_s)[np.asarray(valid_s)].max(0)
    bsize = jnp.asarray(2 * reach * (1 + 1e-4))
    canvas = np.asarray(arrays.canvas)
    nb = tuple(int(math.ceil(canvas[k] / float(bsize[k]))) for k in (0, 1))
    print(f"Ariane133: {int(valid_s.sum())} soft macros, {len(fixed)} fixed columns, "
          f"bins {nb[0]} x {nb[1]} of {float(bsize[0]):.1f} x {float(bsize[1]):.1f}; "
          f"dense pairs {s_n} x {fd.macro_node.shape[0]}\n")
    xy = jax.jit(lambda xy: F.force_directed(
        arrays, xy, params.orient, params.soft, F.FDSchedule(num_steps=(100, 100, 0)),
        fd=fd))(xy0)
    c_s = xy[fd.soft_node]
    c_m = jnp.where(valid_m[:, None], jnp.concatenate([c_s, xy])[fd.macro_row], F.FAR)
    mrow = np.asarray(fd.macro_row)
    soft_cols = np.flatnonzero(mrow < s_n)
    # the soft columns are the soft rows, in the same order
    assert np.array_equal(mrow[soft_cols], np.arange(s_n)[:len(soft_cols)])
    soft_cols = np.concatenate([soft_cols, np.full(s_n - len(soft_cols),
                                                   np.flatnonzero(~np.asarray(fd.macro_mask))[0])])
    hard_cols = np.flatnonzero(mrow >= s_n)
    extra = {f"soft-soft pairs once ({k} blocks), soft-hard dense": functools.partial(
        symmetric, soft_cols=soft_cols, hard_cols=hard_cols, blocks=k)
        for k in (4, 8, 13) if s_n % k == 0}
    kernel_table((c_s, half_s, fd.soft_node, c_m, half_m, fd.macro_node), valid_s,
                 args.repeats, extra)
    print("| steps run (stage 1, 2, 3) | cap | fullest bin | overflow | "
          "max abs diff | dense ms | binned ms |")
    print("|---|---|---|---|---|---|---|")
    dense = jax.jit(F.repulsion)
    c_h = xy0[fd.macro_node[fixed]]
    h_h, n_h = half_m[fixed], fd.macro_node[fixed]
    htab, _ = fixed_table(c_h, h_h, nb, bsize, jnp.asarray(reach), 8)
    for steps in [(100, 1, 0), (100, 20, 0), (100, 100, 0), (100, 100, 50),
                  (100, 100, 100)]:
        sched = F.FDSchedule(num_steps=steps)
        xy = jax.jit(lambda xy, sched=sched: F.force_directed(
            arrays, xy, params.orient, params.soft, sched, fd=fd))(xy0)
        c_s = xy[fd.soft_node]
        table = jnp.concatenate([c_s, xy])
        c_m = jnp.where(valid_m[:, None], table[fd.macro_row], F.FAR)
        dargs = (c_s, half_s, fd.soft_node, c_m, half_m, fd.macro_node)
        rd = dense(*dargs)
        t_dense = 1e3 * median_seconds(dense, *dargs, repeats=args.repeats,
                                       warmup=True)
        for cap in args.caps:
            f = jax.jit(functools.partial(binned_repulsion, nb=nb, bsize=bsize,
                                          cap=cap))
            bargs = (c_s, half_s, fd.soft_node, valid_s, c_h, h_h, n_h, htab)
            rb, fullest, over = f(*bargs)
            diff = float(jnp.max(jnp.abs(jnp.where(valid_s[:, None], rb - rd, 0.0))))
            t_binned = 1e3 * median_seconds(f, *bargs, repeats=args.repeats,
                                            warmup=True)
            print(f"| {steps} | {cap} | {int(fullest)} | {'yes' if over else 'no'} | "
                  f"{diff:.3g} | {t_dense:.3f} | {t_binned:.3f} |", flush=True)


if __name__ == "__main__":
    main()
