"""Refinement by coordinate descent (Circuit Training's post-processing idea).

Each movable hard macro in turn tries every cell within `radius` cells of its
own and every orientation of its family (same footprint); all candidates are
scored at once (vmap) with the soft macros where the last soft-macro pass
put them, and the best legal one replaces the current position when it lowers
the proxy cost. A sweep over all macros ends with a new soft-macro pass;
sweeps repeat until one brings no improvement or the budget runs out.

Then the soft macros are polished where that last pass put them
(placer.stdcell.polish: coordinate descent on the exact proxy, soft macros
shifted by fractions of a grid cell) until a sweep gains too little, and
rounds follow, each a hard-macro sweep with the soft macros kept where the
polish left them and then the polish again, until a round gains too little
or the budget runs out.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from placer.cost.arrays import oriented_sizes
from placer.cost.grid import cell_centres
from placer.cost.incremental import init_state, move, move_arrays
from placer.env.env import EnvParams, EnvSpec, PlacementEnv
from placer.search.sa import _FAMILY, _FAMILY_OF, legal_one, refresh_fn
from placer.stdcell.polish import DEFAULT_STEPS, DEFAULT_TOL, make_polish, polish


@functools.lru_cache(maxsize=32)
def improve_fn(spec: EnvSpec, radius: int):
    """Jitted ``improve(params, mv, cells, orients, st, k)``, one per (env
    spec, radius): the best candidate for macro k, (cells, orients, state).
    The design's arrays are arguments, so designs of one padded shape share
    one compiled program."""
    rows, cols = spec.grid_rows, spec.grid_cols
    weights = spec.weights
    d = np.arange(-radius, radius + 1)
    dr, dc = [x.reshape(-1) for x in np.meshgrid(d, d, indexing="ij")]

    def improve(params, mv, cells, orients, st, k):
        a = params.cost
        order = params.order
        cx, cy = cell_centres(a.canvas, rows, cols)
        fam = jnp.asarray(_FAMILY)
        fam_of = jnp.asarray(_FAMILY_OF)
        r, c = cells[k] // cols, cells[k] % cols
        rr, cc = r + jnp.asarray(dr), c + jnp.asarray(dc)
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        cand_cell = jnp.clip(rr, 0, rows - 1) * cols + jnp.clip(cc, 0, cols - 1)
        cand_or = fam[fam_of[orients[k]]]
        cell_g = jnp.repeat(cand_cell, cand_or.shape[0])
        or_g = jnp.tile(cand_or, cand_cell.shape[0])
        ok_g = jnp.repeat(inside, cand_or.shape[0])

        def one(cell, o):
            pos = jnp.stack([cx[cell % cols], cy[cell // cols]])
            st1 = move(a, mv, st, k, pos, o, weights)
            sizes = oriented_sizes(a, st1.orient)
            ok = legal_one(sizes, st1.xy, None, params.hard, params.hard_on,
                            params.block_xy, params.block_size, params.block_on,
                            a.canvas, order[k], st1.xy, 1e-6)
            return jnp.where(ok, st1.proxy, jnp.inf)

        vals = jax.vmap(one)(cell_g, or_g)
        vals = jnp.where(ok_g, vals, jnp.inf)
        b = jnp.argmin(vals)
        better = vals[b] < st.proxy - 1e-9
        pos = jnp.stack([cx[cell_g[b] % cols], cy[cell_g[b] // cols]])
        st_b = move(a, mv, st, k, pos, or_g[b], weights)
        return (jnp.where(better, cells.at[k].set(cell_g[b]), cells),
                jnp.where(better, orients.at[k].set(or_g[b]), orients),
                jax.tree.map(lambda x, y: jnp.where(better, x, y), st_b, st))

    return jax.jit(improve)


def make_refine(env: PlacementEnv, params: EnvParams, radius: int):
    """(improve(cells, orients, st, k), refresh(cells, orients)): the jitted
    improve_fn and placer.search.sa.refresh_fn (shared by every design of
    the same padded shapes and settings) bound to this design's arrays."""
    mv = move_arrays(params.cost, np.asarray(params.order))
    improve = functools.partial(improve_fn(env.spec, radius), params, mv)
    refresh = functools.partial(refresh_fn(env.spec), params)
    return improve, refresh


def refine(env: PlacementEnv, params: EnvParams, cells: np.ndarray,
           orients: np.ndarray, radius: int = 1, max_sweeps: int = 3,
           budget_s: float | None = None, t_started: float | None = None,
           progress=None, soft_sweeps: int = 0, soft_steps=DEFAULT_STEPS,
           soft_progress=None):
    """Coordinate descent from (cells (M,), orients (M,)): at most
    ``max_sweeps`` hard-macro sweeps, each followed by a soft-macro pass;
    then (``soft_sweeps`` > 0) the soft-macro polish of at most soft_sweeps
    sweeps, and at most max_sweeps rounds of one hard sweep plus the polish.

    Returns (cells, orients, xy (V, 2), cost, history, counts): counts is
    {"sweeps": hard sweeps with a soft pass, "polish_sweeps", "rounds"};
    history holds (seconds, best cost) at the start and after each hard
    sweep, polish sweep and round. ``progress(i, cost, seconds)`` hears of
    the hard sweeps (i < max_sweeps) and the rounds (i >= max_sweeps),
    ``soft_progress`` of the first polish's sweeps."""
    t0 = time.perf_counter() if t_started is None else t_started
    improve, refresh = make_refine(env, params, radius)
    cells = jnp.asarray(cells)
    orients = jnp.asarray(orients)
    st = jax.tree.map(lambda x: x[0], refresh(cells[None], orients[None]))
    best = (np.asarray(cells), np.asarray(orients), np.asarray(st.xy), float(st.proxy))
    best_orient = st.orient
    history = [(time.perf_counter() - t0, best[3])]
    m = int(params.num_to_place)
    counts = {"sweeps": 0, "polish_sweeps": 0, "rounds": 0}

    def out_of_time():
        return budget_s is not None and time.perf_counter() - t0 > budget_s

    def hard_sweep(cells, orients, st):
        for k in range(m):
            if out_of_time():
                break
            cells, orients, st = improve(cells, orients, st, k)
        return cells, orients, st

    for sweep in range(max_sweeps):
        counts["sweeps"] += 1
        start_cost = best[3]
        cells, orients, st = hard_sweep(cells, orients, st)
        st = jax.tree.map(lambda x: x[0], refresh(cells[None], orients[None]))
        if float(st.proxy) < best[3]:
            best = (np.asarray(cells), np.asarray(orients), np.asarray(st.xy),
                    float(st.proxy))
            best_orient = st.orient
        history.append((time.perf_counter() - t0, best[3]))
        if progress is not None:
            progress(sweep, best[3], time.perf_counter() - t0)
        if best[3] >= start_cost - 1e-6 or out_of_time():
            break
        cells, orients = jnp.asarray(best[0]), jnp.asarray(best[1])
        st = jax.tree.map(lambda x: x[0], refresh(cells[None], orients[None]))
    if soft_sweeps <= 0:
        return best[0], best[1], best[2], best[3], history, counts
    soft = np.flatnonzero(np.asarray(params.soft))
    weights = env.spec.weights
    sweep_fn = make_polish(params.cost, soft, weights, soft_steps)

    def report(i, c, t):
        history.append((t, min(c, best[3])))
        if soft_progress is not None:
            soft_progress(i, c, t)

    xy, _, after, counts["polish_sweeps"] = polish(
        params.cost, jnp.asarray(best[2]), best_orient, soft, weights, soft_steps,
        soft_sweeps, budget_s=budget_s, t_started=t0, progress=report,
        sweep_fn=sweep_fn)
    if after < best[3]:
        best = (best[0], best[1], np.asarray(xy), after)
    # Rounds: a hard-macro sweep with the soft macros where the polish left
    # them (no re-placement: the polished soft macros are better than a fresh
    # pass), then polish again, while a round gains and time is left.
    for rnd in range(max_sweeps):
        if out_of_time():
            break
        cells, orients = jnp.asarray(best[0]), jnp.asarray(best[1])
        st = init_state(params.cost, jnp.asarray(best[2]), best_orient, weights)
        cells, orients, st = hard_sweep(cells, orients, st)
        xy, _, after, n = polish(params.cost, st.xy, st.orient, soft, weights,
                                 soft_steps, soft_sweeps, budget_s=budget_s,
                                 t_started=t0, sweep_fn=sweep_fn)
        counts["polish_sweeps"] += n
        counts["rounds"] += 1
        gained = best[3] - after
        if gained > 0:
            best = (np.asarray(cells), np.asarray(orients), np.asarray(xy), after)
            best_orient = st.orient
        history.append((time.perf_counter() - t0, best[3]))
        if progress is not None:
            progress(max_sweeps + rnd, best[3], time.perf_counter() - t0)
        if gained < DEFAULT_TOL:
            break
    return best[0], best[1], best[2], best[3], history, counts
