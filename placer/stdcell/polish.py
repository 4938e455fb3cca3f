"""Soft-macro polish: coordinate descent on the exact proxy cost.

A global placer (force-directed or analytical) minimises smooth stand-ins for
the proxy cost: a smooth wirelength, a density penalty, a routing-demand term.
The proxy itself is not smooth: its density term is the mean of the densest
tenth of the grid cells and its congestion term the mean of the most
congested few per cent, so a global placement leaves cost that only a move
judged by the exact cost finds. This is the detailed-placement step for soft
macros: each soft macro in turn tries a fixed set of shifts (fractions of a
grid cell in the eight compass directions), all scored at once (vmap) by the
incremental proxy cost (placer.cost.incremental, exact up to float rounding),
and takes the best one when it lowers the cost. Soft macros may overlap (they
are clusters of standard cells), so the only constraint is the canvas: a
soft macro's footprint stays inside it.

One sweep (all soft macros once) is one jitted ``lax.fori_loop``; the host
loop repeats sweeps, re-evaluating the state exactly between them, until a
sweep gains less than ``tol`` or the budget runs out. Hard macros, ports and
standard cells never move.
"""

from __future__ import annotations

import functools
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from placer.config import _positive
from placer.cost.arrays import CostArrays, cost_arrays, oriented_sizes, pad_placement
from placer.cost.grid import cell_size
from placer.cost.incremental import (
    CostState,
    MoveArrays,
    init_state,
    move,
    move_arrays,
)
from placer.cost.proxy import _check_weights
from placer.cost.terms import DEFAULT_WEIGHTS
from placer.errors import PlacerInputError
from placer.netlist.model import SOFT_MACRO, Netlist

# Shift lengths tried in every direction, in grid cells. Measured on Ariane133
# after SA (experiments/results_soft.md, section 2d): from 0.6443, (0.1 ... 2)
# reaches 0.6383 in 12 sweeps, these eight 0.6378 in 13, ten (0.02 ... 6)
# 0.6377 in 20.
DEFAULT_STEPS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0)
# A sweep that gains less than this ends the polish.
DEFAULT_TOL = 1e-5
_DIRECTIONS = np.array([(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
                        if dx or dy], np.float64)


def shift_offsets(arrays: CostArrays, steps=DEFAULT_STEPS) -> jnp.ndarray:
    """(8 len(steps), 2) candidate shifts in microns: each step (in grid
    cells) in the eight compass directions."""
    steps = np.asarray(steps, np.float64)
    if steps.ndim != 1 or steps.size == 0 or not np.all(steps > 0):
        raise PlacerInputError(f"polish steps must be positive grid-cell "
                               f"fractions, got {steps.tolist()}")
    gw, gh = cell_size(np.asarray(arrays.canvas, np.float64), arrays.grid_rows,
                       arrays.grid_cols)
    off = (steps[:, None, None] * _DIRECTIONS[None]).reshape(-1, 2)
    return jnp.asarray(off * np.array([gw, gh]), arrays.canvas.dtype)


@functools.partial(jax.jit, static_argnames=("weights",))
def polish_sweep(arrays: CostArrays, mv: MoveArrays, offsets: jnp.ndarray,
                 st: CostState, weights: tuple) -> CostState:
    """One pass of coordinate descent over the nodes of ``mv`` (in order):
    each tries ``offsets`` (S, 2) from its centre, clipped so its footprint
    stays inside the canvas, and takes the best when it lowers st.proxy."""
    canvas = arrays.canvas

    def body(k, st: CostState) -> CostState:
        node = mv.node[k]
        half = 0.5 * oriented_sizes(arrays, st.orient)[node]
        lo, hi = half, jnp.maximum(canvas - half, half)
        cand = jnp.clip(st.xy[node][None] + offsets, lo, hi)
        vals = jax.vmap(lambda q: move(arrays, mv, st, k, q, st.orient[node],
                                       weights).proxy)(cand)
        b = jnp.argmin(vals)
        st_b = move(arrays, mv, st, k, cand[b], st.orient[node], weights)
        better = vals[b] < st.proxy
        return jax.tree.map(lambda x, y: jnp.where(better, x, y), st_b, st)

    return jax.lax.fori_loop(0, mv.node.shape[0], body, st)


def make_polish(arrays: CostArrays, soft_nodes: np.ndarray, weights=DEFAULT_WEIGHTS,
                steps=DEFAULT_STEPS):
    """``sweep(state) -> state``: polish_sweep over ``soft_nodes`` (in that
    order) from a CostState of ``arrays``. Designs of one padded shape share
    one compilation."""
    mv = move_arrays(arrays, np.asarray(soft_nodes))
    off = shift_offsets(arrays, steps)
    weights = tuple(float(w) for w in weights)
    return functools.partial(polish_sweep, arrays, mv, off, weights=weights)


def polish(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
           soft_nodes: np.ndarray, weights=DEFAULT_WEIGHTS, steps=DEFAULT_STEPS,
           sweeps: int = 20, tol: float = DEFAULT_TOL, budget_s: float | None = None,
           t_started: float | None = None, progress=None, sweep_fn=None):
    """Sweeps of ``make_polish`` from (xy (V, 2), orient (V,)).

    Stops after ``sweeps`` sweeps, when a sweep lowers the exact proxy by
    less than ``tol``, or when ``budget_s`` seconds have passed since
    ``t_started`` (checked between sweeps). ``progress(sweep, proxy,
    seconds)`` is called after each sweep.

    Returns (xy, proxy before, proxy after, sweeps run); the proxies are
    exact evaluations (init_state) in the arrays' dtype."""
    t0 = time.perf_counter() if t_started is None else t_started
    if len(soft_nodes) == 0 or sweeps <= 0:
        st = init_state(arrays, xy, orient, weights)
        return xy, float(st.proxy), float(st.proxy), 0
    sweep = sweep_fn if sweep_fn is not None else make_polish(
        arrays, soft_nodes, weights, steps)
    st = init_state(arrays, xy, orient, weights)
    first = float(st.proxy)
    done = 0
    for i in range(sweeps):
        if budget_s is not None and time.perf_counter() - t0 > budget_s:
            break
        before = float(st.proxy)
        st = init_state(arrays, sweep(st).xy, orient, weights)  # exact again
        done += 1
        if progress is not None:
            progress(i, float(st.proxy), time.perf_counter() - t0)
        if before - float(st.proxy) < tol:
            break
    return st.xy, first, float(st.proxy), done


def polish_soft_macros(netlist: Netlist, sweeps: int = 20, steps=DEFAULT_STEPS,
                       tol: float = DEFAULT_TOL, weights=DEFAULT_WEIGHTS,
                       budget_s: float | None = None, dtype=jnp.float64,
                       progress: bool = False) -> Netlist:
    """A copy of the netlist with its soft macros polished: coordinate descent
    from their current positions on the exact proxy cost (see the module
    docstring). Run it after a soft-macro placer
    (``placer.place_soft_macros``); it never raises the proxy cost. The
    copy's metadata["polish"] records the sweeps run and the proxy (in
    ``dtype``, with ``weights``) before and after.

    Args:
        netlist: the placed design.
        sweeps: at most this many passes over the soft macros.
        steps: shift lengths tried in the eight directions, in grid cells.
        tol: stop when a sweep lowers the proxy by less than this.
        weights: (wirelength, density, congestion) weights of the proxy.
        budget_s: stop starting sweeps after this many seconds.
        dtype: jnp.float64 (default) or jnp.float32.
        progress: print one line per sweep to stderr.

    Raises:
        PlacerInputError: sweeps not an integer >= 0, tol or budget_s
            negative or not a number, steps not positive, or bad weights.
    """
    _positive("sweeps", sweeps, minimum=0)
    for name, value in (("tol", tol), ("budget_s", budget_s)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, int | float) or not value >= 0):
            raise PlacerInputError(f"{name} must be a number >= 0, got {value!r}")
    weights = _check_weights(weights)
    report = None
    if progress:
        def report(i, c, t):
            print(f"polish sweep {i}: proxy {c:.6f}, {t:.1f} s", file=sys.stderr,
                  flush=True)
    soft = np.flatnonzero(netlist.node_kind == SOFT_MACRO)
    with jax.enable_x64(dtype == jnp.float64):
        arrays = cost_arrays(netlist, dtype=dtype)
        xy, orient = pad_placement(netlist, arrays, dtype=dtype)
        out, before, after, done = polish(arrays, xy, orient, soft, weights, steps,
                                          sweeps, tol, budget_s, progress=report)
        out = np.asarray(jax.device_get(out), np.float64)[: netlist.num_nodes]
    new_xy = netlist.node_xy.copy()
    new_xy[soft] = out[soft]
    result = netlist.with_placement(new_xy)
    result.metadata["polish"] = {"sweeps": done, "proxy_before": before,
                                 "proxy_after": after}
    return result


__all__ = ["DEFAULT_STEPS", "DEFAULT_TOL", "make_polish", "polish",
           "polish_soft_macros", "polish_sweep", "shift_offsets"]
