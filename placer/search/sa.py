"""Simulated annealing over hard-macro cells and orientations, many chains in
parallel (vmap), soft macros by force-directed placement.

A chain's state is one grid cell and one orientation per movable hard macro.
Moves: shift (to a neighbouring cell), swap (two macros exchange cells), flip
(an orientation of the same shape: N, FN, S, FS or E, FE, W, FW), jump (to a
random cell). Illegal proposals (outside the canvas, overlapping a macro or a
blockage) are rejected. A proposal is scored by the full proxy cost with the
soft macros where the last force-directed pass put them; every stage ends with
a fresh force-directed pass per chain (from the canvas centre) and rescoring,
and the best placement seen at a stage end is kept.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp
import numpy as np

from placer.config import SAConfig
from placer.cost.arrays import oriented_sizes
from placer.cost.grid import cell_centres
from placer.cost.incremental import MoveArrays, init_state, move, move_arrays
from placer.env.env import EnvParams, EnvSpec, PlacementEnv

# orientation families: same footprint, mirrored / rotated by 180 degrees
_FAMILY = np.array([[0, 4, 1, 5],    # N, FN, S, FS
                    [2, 6, 3, 7]],   # E, FE, W, FW
                   dtype=np.int32)
_FAMILY_OF = np.array([0, 0, 1, 1, 0, 0, 1, 1], dtype=np.int32)


def legal_one(sizes, xy, movable_on, hard, hard_on, block_xy, block_size, block_on,
               canvas, node, others_xy, tol):
    """Is `node` at its position legal against every other hard macro and
    blockage (and inside the canvas)?"""
    p = others_xy[node]
    s = sizes[node]
    ex, ey = tol * canvas[0], tol * canvas[1]
    inside = (p[0] - s[0] / 2 >= -ex) & (p[0] + s[0] / 2 <= canvas[0] + ex) & \
        (p[1] - s[1] / 2 >= -ey) & (p[1] + s[1] / 2 <= canvas[1] + ey)
    hx = others_xy[hard]
    hs = sizes[hard]
    ov = (jnp.abs(hx[:, 0] - p[0]) < (hs[:, 0] + s[0]) / 2 - ex) & \
        (jnp.abs(hx[:, 1] - p[1]) < (hs[:, 1] + s[1]) / 2 - ey) & hard_on & \
        (hard != node)
    bv = (jnp.abs(block_xy[:, 0] - p[0]) < (block_size[:, 0] + s[0]) / 2 - ex) & \
        (jnp.abs(block_xy[:, 1] - p[1]) < (block_size[:, 1] + s[1]) / 2 - ey) & \
        block_on
    return inside & ~ov.any() & ~bv.any()


def _moves_key(cfg: SAConfig) -> tuple:
    """The SAConfig fields the traced stage reads (its static key)."""
    return (cfg.shift_radius, cfg.p_shift, cfg.p_swap, cfg.p_flip)


def _placed_nodes(params: EnvParams, num_nodes: int) -> jax.Array:
    """(M,) the node of each step, its padding (node 0 in ``order``) turned
    into ``num_nodes``, an index that a scatter with ``mode="drop"`` skips:
    a padded step must not write over node 0, which may be a placed macro
    (Circuit Training's macro_tiles_10x10 lists its macros first)."""
    order = params.order
    return jnp.where(jnp.arange(order.shape[0]) < params.num_to_place, order,
                     num_nodes)


def _xy_of(params: EnvParams, rows: int, cols: int, cells, base_xy):
    cx, cy = cell_centres(params.cost.canvas, rows, cols)
    pos = jnp.stack([cx[cells % cols], cy[cells // cols]], axis=1)
    return base_xy.at[_placed_nodes(params, base_xy.shape[0])].set(pos, mode="drop")


def _orient_of(params: EnvParams, orients):
    nodes = _placed_nodes(params, params.orient.shape[0])
    return params.orient.at[nodes].set(orients, mode="drop")


def propose_move(key: jax.Array, cells, orients, m_real, rows: int, cols: int,
                 moves: tuple):
    """One random SA proposal over the first ``m_real`` of (M,) ``cells`` /
    ``orients``: for a random macro i, with ``moves = (shift_radius, p_shift,
    p_swap, p_flip)``, a shift to a cell within ``shift_radius`` rows and
    columns (probability p_shift), a swap of cells with a random macro j
    (p_swap, orientations stay with their macros), a flip to an orientation of
    the same footprint (p_flip), else a jump to any cell.

    Returns (i, cell_i, orient_i, j, cell_j, orient_j); j == i and cell_j ==
    cell_i unless the move is a swap."""
    shift_radius, p_shift, p_swap, p_flip = moves
    k_type, k_i, k_j, k_d, k_c, k_o = jax.random.split(key, 6)
    u = jax.random.uniform(k_type)
    i = jax.random.randint(k_i, (), 0, m_real)
    j = jax.random.randint(k_j, (), 0, m_real)
    r, c = cells[i] // cols, cells[i] % cols
    d = jax.random.randint(k_d, (2,), -shift_radius, shift_radius + 1)
    shifted = jnp.clip(r + d[0], 0, rows - 1) * cols + jnp.clip(
        c + d[1], 0, cols - 1)
    jump = jax.random.randint(k_c, (), 0, rows * cols)
    new_or = jnp.asarray(_FAMILY)[jnp.asarray(_FAMILY_OF)[orients[i]],
                                  jax.random.randint(k_o, (), 0, 4)]
    is_shift = u < p_shift
    is_swap = (u >= p_shift) & (u < p_shift + p_swap)
    is_flip = (u >= p_shift + p_swap) & (u < p_shift + p_swap + p_flip)
    is_jump = ~(is_shift | is_swap | is_flip)
    ci = jnp.where(is_shift, shifted, jnp.where(is_jump, jump, jnp.where(
        is_swap, cells[j], cells[i])))
    oi = jnp.where(is_flip, new_or, orients[i])
    j = jnp.where(is_swap, j, i)
    cj = jnp.where(is_swap, cells[i], ci)
    oj = jnp.where(is_swap, orients[j], oi)
    return i, ci, oi, j, cj, oj


def sa_step_fn(params: EnvParams, mv: MoveArrays, rows: int, cols: int,
               weights, moves: tuple):
    """The Metropolis step of one SA chain, ``step((cells, orients, st),
    (key, temp)) -> ((cells, orients, st), accepted)`` for ``lax.scan``: a
    ``propose_move`` proposal scored by the exact incremental proxy
    (placer.cost.incremental.move, soft macros fixed), rejected if a moved
    macro leaves the canvas or overlaps a hard macro or a blockage, else
    accepted when ``log u < (proxy - proxy') / temp``. Shared by SA's stages
    and expert iteration's short chains (placer.rl.imitation.anneal_cells)."""
    a = params.cost
    cx, cy = cell_centres(a.canvas, rows, cols)
    m_real = jnp.maximum(params.num_to_place, 1)
    order = params.order
    tol = 1e-6

    def centre(cell):
        return jnp.stack([cx[cell % cols], cy[cell // cols]])

    def legal(st, k):
        sizes = oriented_sizes(a, st.orient)
        return legal_one(sizes, st.xy, None, params.hard, params.hard_on,
                         params.block_xy, params.block_size, params.block_on,
                         a.canvas, order[k], st.xy, tol)

    def step(carry, inp):
        cells, orients, st = carry
        key, temp = inp
        k_p, k_a = jax.random.split(key)
        i, ci, oi, j, cj, oj = propose_move(k_p, cells, orients, m_real, rows, cols,
                                            moves)
        st1 = move(a, mv, st, i, centre(ci), oi, weights)
        st1 = move(a, mv, st1, j, centre(cj), oj, weights)
        ok = legal(st1, i) & legal(st1, j)
        accept = ok & (jnp.log(jax.random.uniform(k_a) + 1e-30) <
                       (st.proxy - st1.proxy) / temp)
        nc = cells.at[i].set(ci).at[j].set(cj)
        no = orients.at[i].set(oi).at[j].set(oj)
        pick = lambda x, y: jnp.where(accept, x, y)  # noqa: E731
        return (pick(nc, cells), pick(no, orients),
                jax.tree.map(pick, st1, st)), accept

    return step


@functools.lru_cache(maxsize=32)
def stage_fn(spec: EnvSpec, moves: tuple):
    """Jitted ``stage(params, mv, keys, cells, orients, states, temps)``, one
    per (env spec, move settings ``_moves_key(cfg)``): steps_per_stage moves
    for every chain at temperatures ``temps`` (S,); keys (B, S, ...). The
    design's arrays are arguments, so designs of one padded shape share one
    compiled program."""
    rows, cols = spec.grid_rows, spec.grid_cols

    def stage(params, mv, keys, cells, orients, states, temps):
        step = sa_step_fn(params, mv, rows, cols, spec.weights, moves)

        def run(keys, cells, orients, st):
            (cells, orients, st), acc = jax.lax.scan(
                step, (cells, orients, st), (keys, temps))
            return cells, orients, st, acc.mean()
        return jax.vmap(run)(keys, cells, orients, states)

    return jax.jit(stage)


@functools.lru_cache(maxsize=32)
def refresh_fn(spec: EnvSpec):
    """Jitted ``refresh(params, cells, orients)``, one per env spec: the soft
    macros placed for each chain (B, M) from the canvas centre, then exact
    cost states."""
    env = PlacementEnv(spec)
    rows, cols = spec.grid_rows, spec.grid_cols

    def refresh(params, cells, orients):
        def one(cells, orients):
            orient = _orient_of(params, orients)
            xy = _xy_of(params, rows, cols, cells, params.init_xy)
            st = env.reset(params)[0].replace(xy=xy)
            xy = env.final_placement(st, params.replace(orient=orient))
            return init_state(params.cost, xy, orient, spec.weights)
        return jax.vmap(one)(cells, orients)

    return jax.jit(refresh)


def make_sa(env: PlacementEnv, params: EnvParams, cfg: SAConfig):
    """Returns (stage, refresh, xy_of, orient_of) for chains of this netlist:
    ``stage(keys, cells, orients, states, temps)`` and ``refresh(cells,
    orients)`` are the jitted stage_fn / refresh_fn (shared by every design
    of the same padded shapes and settings) bound to this design's arrays;
    xy_of / orient_of are not jitted. A chain's cost is tracked
    incrementally (placer.cost.incremental) with the soft macros fixed;
    `refresh` re-places them and recomputes it."""
    rows, cols = env.spec.grid_rows, env.spec.grid_cols
    mv = move_arrays(params.cost, np.asarray(params.order))
    stage = functools.partial(stage_fn(env.spec, _moves_key(cfg)), params, mv)
    refresh = functools.partial(refresh_fn(env.spec), params)

    def xy_of(cells, base_xy):
        return _xy_of(params, rows, cols, cells, base_xy)

    def orient_of(orients):
        return _orient_of(params, orients)

    return stage, refresh, xy_of, orient_of


def anneal(env: PlacementEnv, params: EnvParams, init_cells: np.ndarray,
           init_orients: np.ndarray, key: jax.Array, budget_s: float | None,
           cfg: SAConfig | None = None, stages: int | None = None, progress=None,
           t_started: float | None = None):
    """Runs SA chains from (B, M) initial cells / orientations.

    With a budget (seconds, counted from t_started), temperatures fall
    geometrically with elapsed time and stages run until the budget would be
    exceeded; without one, exactly `stages` stages run (deterministic for a
    given key).

    Returns (best cells (M,), best orients (M,), best xy (V, 2), best cost,
    history list of (seconds, best cost)).
    """
    t0 = time.perf_counter() if t_started is None else t_started
    cfg = SAConfig() if cfg is None else cfg
    stages = cfg.stages if stages is None else stages
    stage, refresh, _, _ = make_sa(env, params, cfg)
    cells = jnp.asarray(init_cells)
    orients = jnp.asarray(init_orients)
    states = refresh(cells, orients)
    cost = states.proxy
    b = int(np.argmin(np.asarray(cost)))
    best = (np.asarray(cells[b]), np.asarray(orients[b]), np.asarray(states.xy[b]),
            float(cost[b]))
    history = [(time.perf_counter() - t0, best[3])]
    n_chains = cells.shape[0]
    s = cfg.steps_per_stage
    ratio = cfg.t_end / cfg.t_start
    stage_idx = 0
    stage_time = 0.0
    while True:
        if budget_s is None:
            if stage_idx >= stages:
                break
            f0, f1 = stage_idx / stages, (stage_idx + 1) / stages
        else:
            elapsed = time.perf_counter() - t0
            if stage_idx >= cfg.max_stages or (
                    stage_idx > 0 and elapsed + stage_time > budget_s):
                break
            f0 = min(elapsed / budget_s, 1.0)
            f1 = min((elapsed + stage_time) / budget_s, 1.0) if stage_idx else f0
        temps = jnp.asarray(cfg.t_start * ratio ** np.linspace(f0, f1, s),
                            states.xy.dtype)
        key, k = jax.random.split(key)
        keys = jax.random.split(k, n_chains * s).reshape((n_chains, s) + k.shape)
        ts = time.perf_counter()
        cells, orients, states, acc = stage(keys, cells, orients, states, temps)
        states = refresh(cells, orients)
        cost = states.proxy
        cost.block_until_ready()
        stage_time = time.perf_counter() - ts
        b = int(np.argmin(np.asarray(cost)))
        if float(cost[b]) < best[3]:
            best = (np.asarray(cells[b]), np.asarray(orients[b]),
                    np.asarray(states.xy[b]), float(cost[b]))
        history.append((time.perf_counter() - t0, best[3]))
        if progress is not None:
            progress(stage_idx, best[3], float(np.mean(np.asarray(acc))),
                     time.perf_counter() - t0)
        stage_idx += 1
    return best[0], best[1], best[2], best[3], history
