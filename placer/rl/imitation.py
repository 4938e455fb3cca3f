"""Learning from search (expert iteration) for PPO: the policy's best sampled
episodes are improved by an exact local search, and an imitation loss pulls
the policy towards the improved placements' actions.

Inside the jitted update (placer.rl.ppo.make_update, with
``ppo.imitation_coef > 0``):

1. the ``imitation_episodes`` best of the update's sampled episodes (least
   proxy; infeasible ones never count) are taken with the positions of their
   soft macros from the episode's force-directed pass;
2. ``improve_cells`` refines each by coordinate descent: every movable macro
   in placement order tries each legal cell within ``imitation_radius``
   cells of its own and moves to the one of least proxy cost if that is
   lower, ``imitation_sweeps`` times over the macros. Candidates are scored
   with the exact incremental proxy cost that simulated annealing and the
   refinement placer use (placer.cost.incremental.move; wirelength, density
   and congestion, soft macros fixed), legality with the environment's own
   feasibility test. Orientations are kept (the environment's actions are
   cells), so this is the refinement placer without its orientation moves;
3. ``replay`` steps the environment through the improved cells in placement
   order (every prefix of a legal placement is legal), recording the
   observations the policy would have seen;
4. the loss gains ``imitation_coef`` times ``imitation_loss``: the mean
   cross-entropy of the policy's distribution over the legal cells towards
   the improved action at each real step.

Dimensions: M steps (padded placement order), V nodes, R x C grid, A = R C
actions, K improved episodes.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from placer.cost.arrays import oriented_sizes
from placer.cost.incremental import MoveArrays, init_state, move
from placer.env.canvas import cell_centres, feasible_cells
from placer.env.env import EnvParams, Observation, PlacementEnv
from placer.rl.networks import masked_logits, wire_features
from placer.search.sa import sa_step_fn


@struct.dataclass
class Elite:
    """The incumbent episodes of expert iteration with ``ppo.imitation_elite``:
    the best placements found so far (sampled, then improved by the local
    search in every update since), carried from update to update in
    placer.rl.ppo.TrainState.elite. Leaves (K, ...)."""

    cells: jax.Array   # (K, M) int32 the cell of each step's macro
    xy: jax.Array      # (K, V, 2) its positions (soft macros from its episode)
    proxy: jax.Array   # (K,) its proxy cost (soft macros fixed); inf: an empty slot

    @classmethod
    def empty(cls, env_params: EnvParams, k: int) -> Elite:
        """K empty slots for a netlist's EnvParams."""
        m = env_params.order.shape[0]
        v = env_params.init_xy.shape[0]
        return cls(cells=jnp.zeros((k, m), jnp.int32),
                   xy=jnp.zeros((k, v, 2), env_params.init_xy.dtype),
                   proxy=jnp.full((k,), jnp.inf, jnp.float32))


def select_episodes(proxy: jax.Array, infeasible: jax.Array, cells: jax.Array,
                    xy: jax.Array, elite: Elite
                    ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The K best of a batch's B episodes and the elite's K, by proxy cost.

    Args:
        proxy, infeasible: (B,) the sampled episodes' proxy and flag.
        cells, xy: (B, M) and (B, V, 2) their cells and final positions.
        elite: the current Elite (K slots).

    Returns:
        (cells (K, M), xy (K, V, 2), proxy (K,)): the K of least proxy among
        the B + K (infeasible episodes and empty slots have proxy inf and come
        last; ties go to the sampled episodes, in batch order).
    """
    k = elite.proxy.shape[0]
    score = jnp.concatenate([jnp.where(infeasible, jnp.inf, proxy).astype(jnp.float32),
                             elite.proxy])
    idx = jnp.argsort(score, stable=True)[:k]
    all_cells = jnp.concatenate([cells.astype(jnp.int32), elite.cells])
    all_xy = jnp.concatenate([xy.astype(elite.xy.dtype), elite.xy])
    return all_cells[idx], all_xy[idx], score[idx]


@struct.dataclass
class ExpertBatch:
    """Improved episodes' steps to imitate (leaves (n, ...))."""

    obs: Observation
    wire: jax.Array | None   # (n, A, 2) wire-mask channels, or None
    action: jax.Array        # (n,) int32 the improved cell
    weight: jax.Array        # (n,) 1.0 for a real, legal step, else 0.0
    # (n, A, STORED_MAPS) the conv head's parameter-free maps (networks.head_maps)
    # when the network runs from stored maps, else None
    maps: jax.Array | None = None


def imitation_loss(logits: jax.Array, mask: jax.Array, actions: jax.Array,
                   weight: jax.Array) -> jax.Array:
    """Weighted mean cross-entropy -log pi(a*_i | s_i) over the legal cells.

    Args:
        logits: (n, A) the policy's logits (illegal cells are masked here).
        mask: (n, A) bool legal cells.
        actions: (n,) int the target cells a*_i.
        weight: (n,) weights (0 for padding steps); the mean divides by their
            sum (at least 1).

    Returns:
        () sum_i w_i (-log softmax(masked logits_i)[a*_i]) / max(sum_i w_i, 1).
    """
    logp = jax.nn.log_softmax(masked_logits(logits, mask), axis=-1)
    ce = -jnp.take_along_axis(logp, actions[:, None], axis=1)[:, 0]
    w = weight.astype(logp.dtype)
    return jnp.sum(w * ce) / jnp.maximum(jnp.sum(w), 1.0)


def candidate_offsets(radius: int) -> tuple[np.ndarray, np.ndarray]:
    """(row offsets, col offsets), each ((2 radius + 1)^2,), of the cells
    within ``radius`` of a cell (the cell itself included)."""
    d = np.arange(-radius, radius + 1)
    dr, dc = np.meshgrid(d, d, indexing="ij")
    return dr.reshape(-1), dc.reshape(-1)


def improve_cells(spec, env_params: EnvParams, moves: MoveArrays, cells: jax.Array,
                  xy: jax.Array, radius: int, sweeps: int) -> tuple[jax.Array, dict]:
    """Coordinate descent on one whole episode's cells (see the module doc).

    Args:
        spec: the environment's EnvSpec (grid, proxy weights; static).
        env_params: the netlist's EnvParams.
        moves: placer.cost.incremental.move_arrays of env_params.cost and
            env_params.order.
        cells: (M,) int32 the episode's cell of each step's macro.
        xy: (V, 2) the episode's final positions (soft macros placed).
        radius, sweeps: static search settings.

    Returns:
        (improved cells (M,), {"before", "after": the proxy cost with the
        soft macros where they were, before and after; "xy": (V, 2) the
        improved placement's positions}).
    """
    rows, cols = spec.grid_rows, spec.grid_cols
    weights = spec.weights
    p = env_params
    a = p.cost
    m = p.order.shape[0]
    st = init_state(a, xy, p.orient, weights)
    before = st.proxy
    cx, cy = cell_centres(a.canvas, rows, cols)
    dr, dc = (jnp.asarray(x) for x in candidate_offsets(radius))
    sizes = oriented_sizes(a, p.orient)
    obst_size = jnp.concatenate([sizes[p.hard], p.block_size])

    def centre(cell):
        return jnp.stack([cx[cell % cols], cy[cell // cols]])

    def body(i, carry):
        cells, st = carry
        k = i % m
        node = p.order[k]
        active = k < p.num_to_place
        obst_on = jnp.concatenate([p.hard_on & (p.hard != node), p.block_on])
        obst_xy = jnp.concatenate([st.xy[p.hard], p.block_xy])
        legal = feasible_cells(a.canvas, rows, cols, sizes[node], obst_xy, obst_size,
                               obst_on).reshape(-1)
        r, c = cells[k] // cols, cells[k] % cols
        rr, cc = r + dr, c + dc
        inside = (rr >= 0) & (rr < rows) & (cc >= 0) & (cc < cols)
        cand = jnp.clip(rr, 0, rows - 1) * cols + jnp.clip(cc, 0, cols - 1)
        ok = inside & legal[cand]
        vals = jax.vmap(lambda cell: move(a, moves, st, k, centre(cell), p.orient[node],
                                          weights).proxy)(cand)
        vals = jnp.where(ok, vals, jnp.inf)
        b = jnp.argmin(vals)
        better = active & (vals[b] < st.proxy - 1e-7)
        st_b = move(a, moves, st, k, centre(cand[b]), p.orient[node], weights)
        cells = jnp.where(better, cells.at[k].set(cand[b]), cells)
        st = jax.tree.map(lambda x, y: jnp.where(better, x, y), st_b, st)
        return cells, st

    cells, st = jax.lax.fori_loop(0, sweeps * m, body, (cells.astype(jnp.int32), st))
    return cells, {"before": before, "after": st.proxy, "xy": st.xy}


def anneal_cells(spec, env_params: EnvParams, moves: MoveArrays, cells: jax.Array,
                 xy: jax.Array, key: jax.Array, steps: int, radius: int,
                 temperature: float) -> tuple[jax.Array, dict]:
    """A short simulated-annealing chain on one whole episode's cells, the
    search of ``ppo.imitation_search="anneal"`` (``improve_cells``' signature
    and results, plus a key).

    Each of ``steps`` proposals, for a random movable macro i: a shift to a
    cell within ``radius`` of its own (probability 1/2), a swap of cells with
    another random macro j (1/4), or a jump to any cell (1/4). A proposal
    that leaves a moved macro outside the canvas or overlapping a hard macro
    or a blockage is rejected (simulated annealing's test,
    placer.search.sa); a legal one is accepted with the Metropolis rule,
    ``log u < (proxy - proxy') / T``, the temperature falling geometrically
    from ``temperature`` to a hundredth of it. Costs are the exact
    incremental proxy (placer.cost.incremental.move, soft macros fixed).
    Orientations are kept. Returns the best placement the chain visited
    (never worse than the start)."""
    p = env_params
    st = init_state(p.cost, xy, p.orient, spec.weights)
    before = st.proxy
    # SA's step with p_shift 1/2, p_swap 1/4, no flips (jumps 1/4)
    step = sa_step_fn(p, moves, spec.grid_rows, spec.grid_cols, spec.weights,
                      (radius, 0.5, 0.25, 0.0))

    def body(carry, inp):
        cells, orients, st, best_cells, best_st = carry
        (cells, orients, st), _ = step((cells, orients, st), inp)
        better = st.proxy < best_st.proxy
        best_cells = jnp.where(better, cells, best_cells)
        best_st = jax.tree.map(lambda x, y: jnp.where(better, x, y), st, best_st)
        return (cells, orients, st, best_cells, best_st), None

    temps = temperature * (0.01 ** (np.arange(steps) / max(steps - 1, 1)))
    cells = cells.astype(jnp.int32)
    orients = p.orient[p.order]
    (_, _, _, cells, st), _ = jax.lax.scan(
        body, (cells, orients, st, cells, st),
        (jax.random.split(key, steps), jnp.asarray(temps, st.proxy.dtype)))
    return cells, {"before": before, "after": st.proxy, "xy": st.xy}


def replay(env: PlacementEnv, env_params: EnvParams, actions: jax.Array,
           wire_grid: tuple[int, int] | None = None, maps_of=None):
    """The observations of an episode that takes ``actions`` (M,).

    Args:
        env: the environment.
        env_params: the netlist's EnvParams.
        actions: (M,) int32 the cell of each step.
        wire_grid: (R, C) to record the wire-mask channels each observation
            has (placer.rl.networks.wire_features), or None.
        maps_of: None, or a function of an observation whose result is
            recorded too (the conv head's stored maps).

    Returns:
        (obs: Observation with leaves (M, ...), wire (M, A, 2) or None,
        valid (M,) bool: a real step whose action was legal), and the
        recorded maps_of results (M, ...) when maps_of is given.
    """
    state, ts = env.reset(env_params)

    def body(carry, a):
        state, obs = carry
        wire = (wire_features(env_params, obs, *wire_grid)
                if wire_grid is not None else None)
        maps = maps_of(obs) if maps_of is not None else None
        valid = ~state.done & obs.action_mask[a]
        state, nxt = env.place(state, a, env_params)
        return (state, nxt), (obs, wire, valid, maps)

    _, (obs, wire, valid, maps) = jax.lax.scan(body, (state, ts.observation),
                                               actions.astype(jnp.int32))
    if maps_of is not None:
        return obs, wire, valid, maps
    return obs, wire, valid


def best_episodes(reward: jax.Array, infeasible: jax.Array, k: int) -> jax.Array:
    """(k,) indices of the k episodes of highest reward (infeasible last)."""
    score = jnp.where(infeasible, -jnp.inf, reward)
    return jnp.argsort(-score)[:k]


__all__ = ["Elite", "ExpertBatch", "best_episodes", "candidate_offsets",
           "imitation_loss", "improve_cells", "replay", "select_episodes"]
