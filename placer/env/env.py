"""The macro placement environment: pure JAX, jit-compiled, vmap-able.

One movable hard macro is placed per step, on the centre of a grid cell (the
action is the cell index row * C + col). Fixed macros stay where they are. The
episode ends when every movable hard macro is placed; the reward is 0 until
then and, at the end, minus the proxy cost computed after a force-directed
placement of the soft macros. If no legal cell remains for the next macro the
episode ends early with reward -penalty and `infeasible` set; an illegal action
ends it with -penalty and `invalid_action` set (a masked policy never does).

Dimensions: V nodes, H hard macros, K blockages, M macros to place, R x C grid.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from placer.cost.arrays import CostArrays, cost_arrays, oriented_sizes
from placer.cost.proxy import DEFAULT_WEIGHTS, cost_terms
from placer.cost.wiremask import node_entries
from placer.env.canvas import cell_centres, feasible_cells
from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, SOFT_MACRO, Netlist
from placer.stdcell.analytical import AnalyticalConfig, analytical, analytical_arrays
from placer.stdcell.force_directed import FDSchedule, fd_arrays, force_directed

# Soft-macro placers the terminal step can run (EnvSpec.soft).
SOFT_PLACERS = ("fd", "analytical")
# The padded (soft macro, macro) pairs one vmapped chunk of terminal steps may
# hold (PlacementEnv.terminals): Ariane133's 798,720 pairs run one episode at
# a time, 1.76x (force-directed) and 1.29x (analytical) faster than 8
# vmapped, and 2 or 4 at a time were slower than 1 (bench_terminal.py).
TERMINAL_CHUNK_PAIRS = 1 << 19


@struct.dataclass
class EnvParams:
    """Per-netlist constants (Gymnax's EnvParams): padded arrays only."""

    cost: CostArrays
    fd: object                  # FD arrays of the soft-macro placer
    init_xy: jnp.ndarray        # (V, 2) input positions (fixed nodes keep them)
    orient: jnp.ndarray         # (V,) int32 orientation codes
    fixed_placed: jnp.ndarray   # (V,) bool: nodes placed from the start
    soft: jnp.ndarray           # (V,) bool: soft macros (re-placed at the end)
    order: jnp.ndarray          # (M,) int32 node of each step (padding: 0)
    num_to_place: jnp.ndarray   # () int32 real steps (<= M)
    hard: jnp.ndarray           # (H,) int32 hard-macro nodes (padding: 0)
    hard_on: jnp.ndarray        # (H,) bool real hard macros
    block_xy: jnp.ndarray       # (K, 2) blockage centres
    block_size: jnp.ndarray     # (K, 2) blockage sizes
    block_on: jnp.ndarray       # (K,) bool
    analytical: object = None   # AnalyticalArrays when EnvSpec.soft == "analytical"
    order_entries: jnp.ndarray | None = None  # (M, K) int32 net entries of each
    #                             step's macro (placer.cost.wiremask.node_entries)


@struct.dataclass
class EnvState:
    xy: jnp.ndarray        # (V, 2) node centres
    placed: jnp.ndarray    # (V,) bool
    t: jnp.ndarray         # () int32 index into params.order
    done: jnp.ndarray      # () bool
    infeasible: jnp.ndarray  # () bool: no legal cell was left
    invalid: jnp.ndarray   # () bool: an illegal action was taken


@struct.dataclass
class Observation:
    action_mask: jnp.ndarray  # (R * C,) bool legal cells for the current macro
    current: jnp.ndarray      # () int32 node to place now
    xy: jnp.ndarray           # (V, 2) node centres (unplaced movable: canvas centre)
    placed: jnp.ndarray       # (V,) bool
    t: jnp.ndarray            # () int32 step


@struct.dataclass
class TimeStep:
    observation: Observation
    reward: jnp.ndarray      # ()
    done: jnp.ndarray        # () bool
    discount: jnp.ndarray    # () 0 at the end, else 1
    extras: dict             # invalid_action, infeasible, proxy, wirelength, ...


@dataclass(frozen=True)
class EnvSpec:
    """Static (hashable) description: everything that fixes array shapes or
    is a Python constant under jit."""

    grid_rows: int
    grid_cols: int
    fd_schedule: FDSchedule = FDSchedule()
    weights: tuple = DEFAULT_WEIGHTS
    penalty: float = 5.0
    soft: str = "fd"            # soft-macro placer: "fd" or "analytical"
    analytical_config: AnalyticalConfig = AnalyticalConfig()

    @property
    def num_actions(self) -> int:
        return self.grid_rows * self.grid_cols


def _round_up(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


def placement_order(nl: Netlist, order="area") -> np.ndarray:
    """Node indices of the movable hard macros in placement order.

    order: "area" (descending area, ties by index: Circuit Training's order),
    "index" (file order), or a sequence of node indices.
    """
    movable = nl.movable_hard_macros
    if isinstance(order, str):
        if order == "area":
            area = nl.node_size[movable, 0] * nl.node_size[movable, 1]
            return movable[np.lexsort((movable, -area))]
        if order == "index":
            return movable
        raise PlacerInputError(f"unknown placement order {order!r} "
                               "(use 'area', 'index' or a list of node indices)")
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != sorted(movable.tolist()):
        raise PlacerInputError("a placement order must list every movable hard macro "
                               "exactly once")
    return order


def make_params(nl: Netlist, order="area", dtype=jnp.float32,
                pad_to: int = 64, soft: str = "fd",
                analytical_config: AnalyticalConfig | None = None,
                ) -> tuple[EnvSpec, EnvParams]:
    """Builds (EnvSpec, EnvParams) for a netlist (host side, once).

    soft: the terminal soft-macro placer, "fd" (Circuit Training's
    force-directed pass) or "analytical" (placer.stdcell.analytical, whose
    arrays are then built with analytical_config's bins).
    """
    if soft not in SOFT_PLACERS:
        raise PlacerInputError(f"unknown soft-macro placer {soft!r}; known: "
                               f"{', '.join(SOFT_PLACERS)}")
    soft_placer = soft
    if analytical_config is None:
        analytical_config = AnalyticalConfig()
    s = nl.settings
    arrays = cost_arrays(nl, dtype=dtype, pad_to=pad_to)
    vc = arrays.node_size.shape[0]
    v = nl.num_nodes
    seq = placement_order(nl, order)
    m = _round_up(len(seq), 8)
    order_arr = np.zeros(m, np.int32)
    order_arr[: len(seq)] = seq
    hard = nl.hard_macros
    hc = _round_up(len(hard), 8)
    hard_arr = np.zeros(hc, np.int32)
    hard_arr[: len(hard)] = hard
    hard_on = np.zeros(hc, bool)
    hard_on[: len(hard)] = True
    movable = np.zeros(vc, bool)
    movable[seq] = True
    soft = np.zeros(vc, bool)
    soft[:v] = nl.node_kind == SOFT_MACRO
    fixed_placed = np.zeros(vc, bool)
    fixed_placed[:v] = ~movable[:v] & ~soft[:v]
    init_xy = np.zeros((vc, 2))
    init_xy[:v] = nl.node_xy
    centre = np.array([s.canvas_width / 2, s.canvas_height / 2])
    init_xy[movable | soft] = centre
    orient = np.zeros(vc, np.int32)
    orient[:v] = np.maximum(nl.node_orient, 0)
    b = nl.blockages[nl.blockages[:, 4] > 0] if len(nl.blockages) else np.zeros((0, 5))
    kc = _round_up(len(b), 8)
    bxy = np.zeros((kc, 2))
    bsz = np.zeros((kc, 2))
    bon = np.zeros(kc, bool)
    if len(b):
        bxy[: len(b)] = (b[:, 0:2] + b[:, 2:4]) / 2
        bsz[: len(b)] = b[:, 2:4] - b[:, 0:2]
        bon[: len(b)] = True
    f = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    params = EnvParams(
        cost=arrays, fd=fd_arrays(nl, arrays), init_xy=f(init_xy),
        orient=jnp.asarray(orient), fixed_placed=jnp.asarray(fixed_placed),
        soft=jnp.asarray(soft), order=jnp.asarray(order_arr),
        num_to_place=jnp.asarray(len(seq), jnp.int32), hard=jnp.asarray(hard_arr),
        hard_on=jnp.asarray(hard_on), block_xy=f(bxy), block_size=f(bsz),
        block_on=jnp.asarray(bon),
        order_entries=jnp.asarray(node_entries(arrays, seq, len(order_arr))),
        analytical=(analytical_arrays(
            nl, arrays, analytical_config.bins_per_cell, pad_to=pad_to,
            target_density=analytical_config.target_density,
            fillers=analytical_config.fillers)
            if soft_placer == "analytical" else None))
    spec = EnvSpec(grid_rows=int(s.grid_rows), grid_cols=int(s.grid_cols),
                   soft=soft_placer,
                   analytical_config=analytical_config)
    return spec, params


def current_entries(params: EnvParams, obs: Observation) -> jnp.ndarray | None:
    """The net entries of ``obs``'s current macro (params.order_entries' row of
    its step; the wire mask's shortcut), or None where params has none."""
    if params.order_entries is None:
        return None
    return params.order_entries[jnp.minimum(obs.t, params.order.shape[0] - 1)]


class PlacementEnv:
    """reset / step in the Gymnax signature; holds only the static EnvSpec."""

    def __init__(self, spec: EnvSpec):
        self.spec = spec

    # ----------------------------------------------------------- internals
    def _size(self, params: EnvParams, node) -> jnp.ndarray:
        return oriented_sizes(params.cost, params.orient)[node]

    def mask_for(self, state: EnvState, params: EnvParams, node) -> jnp.ndarray:
        """(R * C,) legal cells for `node` given the placed hard macros."""
        sizes = oriented_sizes(params.cost, params.orient)
        hard = params.hard
        on = params.hard_on & state.placed[hard]
        obst_xy = jnp.concatenate([state.xy[hard], params.block_xy])
        obst_size = jnp.concatenate([sizes[hard], params.block_size])
        obst_on = jnp.concatenate([on, params.block_on])
        m = feasible_cells(params.cost.canvas, self.spec.grid_rows, self.spec.grid_cols,
                           sizes[node], obst_xy, obst_size, obst_on)
        return m.reshape(-1)

    def _observe(self, state: EnvState, params: EnvParams) -> Observation:
        t = jnp.minimum(state.t, params.order.shape[0] - 1)
        node = params.order[t]
        mask = self.mask_for(state, params, node) & ~state.done
        return Observation(action_mask=mask, current=node, xy=state.xy,
                           placed=state.placed, t=state.t)

    # ------------------------------------------------------------- public
    def reset(self, params: EnvParams) -> tuple[EnvState, TimeStep]:
        """Initial state: fixed nodes in place, movable macros unplaced."""
        state = EnvState(xy=params.init_xy, placed=params.fixed_placed,
                         t=jnp.zeros((), jnp.int32), done=params.num_to_place == 0,
                         infeasible=jnp.zeros((), bool), invalid=jnp.zeros((), bool))
        obs = self._observe(state, params)
        stuck = ~state.done & ~obs.action_mask.any()
        state = state.replace(done=state.done | stuck, infeasible=stuck)
        obs = obs.replace(action_mask=obs.action_mask & ~stuck)
        return state, self._timestep(state, obs, jnp.zeros((), params.init_xy.dtype))

    def place(self, state: EnvState, action: jnp.ndarray,
              params: EnvParams) -> tuple[EnvState, Observation]:
        """Places the current macro at cell `action` (no end-of-episode work).

        A no-op once the episode is done."""
        rows, cols = self.spec.grid_rows, self.spec.grid_cols
        t = jnp.minimum(state.t, params.order.shape[0] - 1)
        node = params.order[t]
        legal = self.mask_for(state, params, node)[action]
        cx, cy = cell_centres(params.cost.canvas, rows, cols)
        pos = jnp.stack([cx[action % cols], cy[action // cols]])
        active = ~state.done
        do = active & legal
        xy = jnp.where(do, state.xy.at[node].set(pos), state.xy)
        placed = state.placed.at[node].set(state.placed[node] | do)
        new_t = state.t + do.astype(jnp.int32)
        finished = new_t >= params.num_to_place
        invalid = state.invalid | (active & ~legal)
        state = EnvState(xy=xy, placed=placed, t=new_t, done=state.done,
                         infeasible=state.infeasible, invalid=invalid)
        obs = self._observe(state, params)
        stuck = active & legal & ~finished & ~obs.action_mask.any()
        state = state.replace(done=state.done | invalid | finished | stuck,
                              infeasible=state.infeasible | stuck)
        obs = obs.replace(action_mask=obs.action_mask & ~state.done)
        return state, obs

    def final_placement(self, state: EnvState, params: EnvParams) -> jnp.ndarray:
        """(V, 2) positions with the soft macros placed from a neutral start
        (the canvas centre): by the force-directed pass, or by the analytical
        placer when spec.soft == "analytical"."""
        if self.spec.soft == "analytical":
            return analytical(params.cost, state.xy, params.orient, params.soft,
                              self.spec.analytical_config, aa=params.analytical)
        return force_directed(params.cost, state.xy, params.orient, params.soft,
                              self.spec.fd_schedule, fd=params.fd)

    def terminal(self, state: EnvState, params: EnvParams) -> dict:
        """End-of-episode reward and cost terms (runs the soft-macro placer)."""
        xy = self.final_placement(state, params)
        terms = cost_terms(params.cost, xy, params.orient, self.spec.weights)
        failed = state.infeasible | state.invalid
        reward = jnp.where(failed, -self.spec.penalty, -terms["proxy"])
        return {"reward": reward.astype(xy.dtype), "xy": xy, **terms}

    def terminals(self, states: EnvState, params: EnvParams,
                  groups: int = 1, chunk: int | None = None) -> dict:
        """``terminal`` of a batch of final states (leading axis B): vmapped
        in chunks of ``chunk`` episodes, the chunks one after another
        (``lax.map``).

        The soft-macro placers are long loops over small arrays; vmapped on
        a CPU, B copies of a large design's working set compete for the
        cache: on Ariane133 (one core, 8 episodes;
        experiments/bench_terminal.py) the force-directed pass took 4.45 s
        vmapped and 2.53 s one episode at a time, the analytical placer 12.7
        s and 9.8 s. A small design's loops are too short to fill the machine
        alone, so it keeps the vmap. ``chunk`` (default
        ``terminal_chunk(params)``) sets the episodes vmapped together.
        ``groups`` (a divisor of B, e.g. the device count of a data-parallel
        mesh) splits the batch into that many vmapped groups first, so every
        device keeps its own share. The results are those of
        ``vmap(terminal)`` up to float summation order.
        """
        b = jax.tree.leaves(states)[0].shape[0]
        if b % groups:
            raise PlacerInputError(f"the batch ({b}) is not a multiple of groups "
                                   f"({groups})")
        if chunk is not None and (isinstance(chunk, bool) or not isinstance(chunk, int)
                                  or chunk < 1):
            raise PlacerInputError(f"chunk must be a positive integer, got {chunk!r}")
        size = b // groups
        chunk = min(size, self.terminal_chunk(params) if chunk is None else chunk)

        def one(s):
            return self.terminal(s, params)

        def run(g):
            if chunk >= size:
                return jax.vmap(one)(g)
            return jax.lax.map(one, g, batch_size=None if chunk == 1 else chunk)

        if groups == 1:
            return run(states)
        split = jax.tree.map(lambda x: x.reshape(groups, size, *x.shape[1:]), states)
        out = jax.vmap(run)(split)
        return jax.tree.map(lambda x: x.reshape(b, *x.shape[2:]), out)

    def terminal_chunk(self, params: EnvParams) -> int:
        """Episodes whose terminal steps ``terminals`` vmaps together: as
        many as keep the padded (soft macro, macro) pairs of the chunk within
        TERMINAL_CHUNK_PAIRS (Ariane133, 832 x 960 pairs: 1; a design of 64 x
        64: 128)."""
        arr = params.analytical if self.spec.soft == "analytical" else params.fd
        pairs = int(arr.soft_node.shape[0]) * int(arr.macro_node.shape[0])
        return max(1, TERMINAL_CHUNK_PAIRS // max(pairs, 1))

    def step(self, state: EnvState, action: jnp.ndarray,
             params: EnvParams) -> tuple[EnvState, TimeStep]:
        """One macro; on the last one, soft macros are placed and the cost paid.

        The end-of-episode work sits in a lax.cond: free when stepping one
        environment, but vmap turns it into a select that runs it every step.
        Batched rollouts should use `place` in a scan and `terminal` once (see
        `rollout`).
        """
        was_done = state.done
        state, obs = self.place(state, action, params)
        ended = state.done & ~was_done
        zero = jnp.zeros((), params.init_xy.dtype)

        def end(s):
            out = self.terminal(s, params)
            return out["reward"], s.replace(xy=out["xy"], placed=s.placed | params.soft)

        reward, state = jax.lax.cond(ended, end, lambda s: (zero, s), state)
        obs = obs.replace(xy=state.xy, placed=state.placed)
        return state, self._timestep(state, obs, reward)

    def _timestep(self, state, obs, reward) -> TimeStep:
        return TimeStep(observation=obs, reward=reward, done=state.done,
                        discount=jnp.where(state.done, 0.0, 1.0).astype(reward.dtype),
                        extras={"invalid_action": state.invalid,
                                "infeasible": state.infeasible})

    def rollout(self, params: EnvParams, key: jax.Array, policy,
                finish: bool = True) -> dict:
        """A whole episode: `policy(key, obs) -> action` for every step (a scan
        of `place`), then the soft-macro placement and cost once.

        Returns dict: reward, proxy terms, xy (V, 2) final positions, actions
        (M,), and the infeasible / invalid flags. vmap over keys (or params).
        With ``finish=False`` the terminal step is left out and the dict holds
        the final EnvState under "state" instead of the reward and terms (see
        ``rollouts``, which runs the terminal steps of a batch in turn).
        """
        state, ts = self.reset(params)

        def body(carry, k):
            state, obs = carry
            action = policy(k, obs)
            state, obs = self.place(state, action, params)
            return (state, obs), action

        keys = jax.random.split(key, params.order.shape[0])
        (state, _), actions = jax.lax.scan(body, (state, ts.observation), keys)
        out = self.terminal(state, params) if finish else {"state": state}
        out.update(actions=actions, infeasible=state.infeasible, invalid=state.invalid,
                   placed=state.t)
        return out

    def rollouts(self, params: EnvParams, keys: jax.Array, policy,
                 groups: int = 1, chunk: int | None = None) -> dict:
        """``rollout`` for each of the (B, 2) keys: the steps vmapped, the
        terminal steps (soft macros and cost) by ``terminals`` (a large
        design's one episode after another). Returns the dicts of
        ``rollout`` stacked along a leading B axis."""
        out = jax.vmap(lambda k: self.rollout(params, k, policy, finish=False))(keys)
        out.update(self.terminals(out.pop("state"), params, groups, chunk))
        return out


@functools.lru_cache(maxsize=32)
def rollouts_fn(spec: EnvSpec):
    """Jitted ``run(params, keys, policy)`` -> env.rollouts, one per env spec;
    ``policy`` a jax.tree_util.Partial (its function static, its arguments
    traced)."""
    env = PlacementEnv(spec)
    return jax.jit(lambda params, keys, policy: env.rollouts(params, keys, policy))


@functools.lru_cache(maxsize=32)
def rollout_fn(spec: EnvSpec):
    """Jitted ``run(params, key, policy)`` -> env.rollout, one per env spec."""
    env = PlacementEnv(spec)
    return jax.jit(lambda params, key, policy: env.rollout(params, key, policy))


def random_policy(key: jax.Array, obs: Observation) -> jnp.ndarray:
    """Uniform over legal cells (cell 0 when none is legal)."""
    logits = jnp.where(obs.action_mask, 0.0, -jnp.inf)
    any_legal = obs.action_mask.any()
    return jnp.where(any_legal, jax.random.categorical(key, jnp.where(
        any_legal, logits, 0.0)), 0).astype(jnp.int32)


def make_env(nl: Netlist, order="area", dtype=jnp.float32, soft: str = "fd",
             **spec_overrides):
    """(PlacementEnv, EnvParams) for a netlist.

    soft: the terminal soft-macro placer, "fd" (default, Circuit Training's)
    or "analytical"; spec_overrides may set analytical_config (an
    AnalyticalConfig) and any other EnvSpec field.
    """
    if not np.any(nl.node_kind == HARD_MACRO):
        raise PlacerInputError("the netlist has no hard macros to place")
    acfg = spec_overrides.pop("analytical_config", None)
    spec, params = make_params(nl, order=order, dtype=dtype, soft=soft,
                               analytical_config=acfg)
    if spec_overrides:
        spec = EnvSpec(**{**spec.__dict__, **spec_overrides})
    return PlacementEnv(spec), params
