"""PPO in the PureJaxRL manner for the macro placement environment.

Every episode places the same M macros (a masked policy never takes an
illegal action), so one update collects B whole episodes: a ``lax.scan`` of
``env.place`` over the M steps, then ``env.terminal`` once (the
force-directed pass and the cost), vmapped over the B environments. The
reward (minus the proxy cost, or -penalty for an infeasible episode) arrives
at the episode's last real step; the steps after it (padding of the order,
or the rest of an infeasible episode) are no-ops and are masked out of every
loss. Advantages come from GAE; then ``num_epochs`` x ``num_minibatches``
clipped-surrogate steps (value loss, entropy bonus, global-norm clipping,
Adam) run inside the same jitted ``update``.

The netlist (``Problem``: env params + graph) is an argument of ``update``,
not a constant, so one compiled update serves every netlist padded alike.

Dimensions: B environments, T = M steps, R x C grid, Vp padded nodes.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from placer.config import IMITATION_SEARCHES, IMITATION_STATES, REWARD_NORMS, PPOConfig
from placer.cost.incremental import MoveArrays
from placer.env.env import EnvParams, EnvSpec, Observation, PlacementEnv
from placer.errors import PlacerInputError
from placer.models.graph import NetlistGraph
from placer.rl import imitation, shaping
from placer.rl.networks import (
    PolicyValue,
    encode_netlist,
    head_maps,
    head_tables,
    masked_entropy,
    stored_policy,
    stores_maps,
    wire_features,
)


@struct.dataclass
class Problem:
    """One netlist as PPO sees it: environment params and the static graph
    (and, for the imitation loss's local search, the move arrays of its
    placement order: placer.cost.incremental.move_arrays; None without it)."""

    env_params: EnvParams
    graph: NetlistGraph
    moves: MoveArrays | None = None


@struct.dataclass
class Transition:
    """One step of B episodes (leaves (B, T, ...) after a rollout)."""

    obs: Observation
    action: jax.Array     # () int32 cell
    log_prob: jax.Array   # () log pi_old(action)
    value: jax.Array      # () V_old(obs)
    valid: jax.Array      # () bool: a real step (the episode was not done)
    last: jax.Array       # () bool: the episode's last real step
    # (R * C, 2) the wire-mask channels the policy saw (None without them),
    # kept so that the loss does not compute them again in every epoch
    wire: jax.Array | None = None
    # () the shaping reward gamma Phi(s') - Phi(s) of the step (None without)
    shaping: jax.Array | None = None
    # (R * C, STORED_MAPS) the conv head's parameter-free maps of the step
    # (networks.head_maps; None when the network runs per observation)
    maps: jax.Array | None = None
    # () int32 the cell the improved best episode gives this step's macro, and
    # () its weight (1 on a real step where that cell is legal), for the
    # imitation loss on the sampled states (ppo.imitation_states; else None)
    target: jax.Array | None = None
    target_weight: jax.Array | None = None


@struct.dataclass
class RewardStats:
    """Running mean / variance of the episode rewards (parallel Welford)."""

    mean: jax.Array    # ()
    var: jax.Array     # ()
    count: jax.Array   # ()

    @classmethod
    def create(cls) -> RewardStats:
        f32 = jnp.float32
        return cls(mean=jnp.zeros((), f32), var=jnp.ones((), f32),
                   count=jnp.full((), 1e-4, f32))


@struct.dataclass
class TrainState:
    """Everything an update changes (and a checkpoint stores)."""

    params: Any
    opt_state: Any
    key: jax.Array          # raw uint32 PRNG key (2,)
    step: jax.Array         # () int32 updates done
    reward_stats: RewardStats
    # the incumbent episodes of expert iteration (ppo.imitation_elite; one
    # netlist's, see imitation.Elite), else None. Not in checkpoints: a
    # resumed run starts with an empty one.
    elite: imitation.Elite | None = None


def compute_gae(rewards: jax.Array, values: jax.Array, last: jax.Array,
                gamma: float, lam: float) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates over time-major trajectories.

    delta_t = r_t + gamma (1 - last_t) V_{t+1} - V_t, with V_T = 0;
    A_t = delta_t + gamma lam (1 - last_t) A_{t+1}.

    Args:
        rewards, values: (T, ...) per step.
        last: (T, ...) bool, true where an episode ends after step t.
        gamma, lam: discount and GAE lambda.

    Returns:
        advantages (T, ...) and returns (T, ...) = advantages + values.
    """
    cont = 1.0 - last.astype(values.dtype)
    next_values = jnp.concatenate([values[1:], jnp.zeros_like(values[:1])])

    def body(adv_next, x):
        r, v, v_next, c = x
        delta = r + gamma * c * v_next - v
        adv = delta + gamma * lam * c * adv_next
        return adv, adv

    _, adv = jax.lax.scan(body, jnp.zeros_like(values[0]),
                          (rewards, values, next_values, cont), reverse=True)
    return adv, adv + values


def clipped_surrogate(ratio: jax.Array, adv: jax.Array, eps: float) -> jax.Array:
    """PPO's per-sample policy loss -min(ratio A, clip(ratio, 1 - eps, 1 + eps) A)."""
    return -jnp.minimum(ratio * adv, jnp.clip(ratio, 1.0 - eps, 1.0 + eps) * adv)


def update_reward_stats(stats: RewardStats, x: jax.Array) -> RewardStats:
    """Stats merged with the batch x (B,) (Chan et al.'s parallel update)."""
    n = jnp.asarray(x.shape[0], stats.mean.dtype)
    b_mean, b_var = jnp.mean(x), jnp.var(x)
    delta = b_mean - stats.mean
    total = stats.count + n
    mean = stats.mean + delta * n / total
    m2 = stats.var * stats.count + b_var * n + delta ** 2 * stats.count * n / total
    return RewardStats(mean=mean, var=m2 / total, count=total)


def normalise_rewards(stats: RewardStats, x: jax.Array,
                      mode: str) -> tuple[RewardStats, jax.Array]:
    """(new stats, normalised episode rewards (B,)) for ``mode`` in
    REWARD_NORMS (a Python string: static)."""
    if mode == "none":
        return stats, x
    if mode == "batch":
        return stats, (x - jnp.mean(x)) / (jnp.std(x) + 1e-8)
    stats = update_reward_stats(stats, x)
    return stats, (x - stats.mean) / jnp.sqrt(stats.var + 1e-8)


def apply_policy(net: PolicyValue, params, problem: Problem, obs: Observation,
                 wire: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
    """``net``'s (masked logits, value) for one observation of ``problem``.

    ``wire``: the observation's wire-mask channels (wire_inputs), when they
    are already known; None computes them from the environment if the
    network reads them."""
    if wire is None:
        wire = wire_inputs(net, problem, obs)
    return net.apply(params, problem.graph, problem.env_params.orient, obs, wire)


def wire_inputs(net: PolicyValue, problem: Problem,
                obs: Observation) -> jax.Array | None:
    """The wire-mask channels of ``obs`` if ``net`` reads them, else None."""
    return (wire_features(problem.env_params, obs, net.grid_rows, net.grid_cols)
            if net.wire_mask else None)


def tempered(logits: jax.Array, temperature) -> jax.Array:
    """``logits / temperature``; a Python 1 returns ``logits`` itself, so a
    program at temperature 1 stays the one without it."""
    if isinstance(temperature, (int, float)) and temperature == 1.0:
        return logits
    return logits / temperature


def _policy_step(net: PolicyValue, params, problem: Problem, obs: Observation,
                 key: jax.Array, greedy: bool, tables=None, temperature=1.0):
    wire = wire_inputs(net, problem, obs)
    maps = None
    if tables is None:
        logits, value = apply_policy(net, params, problem, obs, wire)
    else:
        maps = head_maps(problem.graph, problem.env_params.orient, obs,
                         net.grid_rows, net.grid_cols)
        one = lambda x: None if x is None else x[None]  # noqa: E731
        logits, value = stored_policy(net, params, tables, jax.tree.map(one, obs),
                                      maps[None], one(wire))
        logits, value = logits[0], value[0]
    # the samples' temperature: a Python 1 (PPO's rollouts) leaves the
    # program as it was; a traced one divides the logits; greedy ignores it
    if not greedy:
        logits = tempered(logits, temperature)
    action = (jnp.argmax(logits) if greedy
              else jax.random.categorical(key, logits)).astype(jnp.int32)
    log_prob = jax.nn.log_softmax(logits)[action]
    return action, log_prob, value, wire, maps


def rollout(env: PlacementEnv, net: PolicyValue, params, problem: Problem,
            key: jax.Array, greedy: bool = False,
            shaping_cfg: PPOConfig | None = None,
            stored: bool = True, finish: bool = True,
            temperature=1.0) -> tuple[Transition, dict]:
    """One episode with the policy (vmap over keys for B episodes).

    ``temperature`` (a float or a traced scalar) divides the logits before
    sampling (and the recorded log-probabilities are the tempered
    distribution's): below 1 the samples stay nearer the policy's mode.
    Greedy steps ignore it. PPO's rollouts use ``PPOConfig.temperature``.

    ``shaping_cfg``: a PPOConfig with ``shaping`` on records each step's
    shaping reward (placer.rl.shaping) in ``Transition.shaping``.
    With ``stored`` (and a network that can: networks.stores_maps) the
    design's HeadTables are computed once, before the steps, and each step
    keeps its parameter-free head maps in the transitions (``maps``) for the
    loss; without, the network runs per observation.

    Returns:
        Transitions with leaves (T, ...), and the terminal dict of
        env.terminal (reward, proxy terms, xy) plus ``infeasible``. With
        ``finish=False`` the dict holds the final EnvState under "state"
        instead of the terminal's entries: batched callers vmap the steps and
        finish the episodes with ``finish_episodes`` (a large design's one
        after another, which is faster on a CPU).
    """
    env_params = problem.env_params
    state, ts = env.reset(env_params)
    shaped = shaping_cfg is not None and shaping_cfg.shaping
    if shaped:
        def phi_of(s):
            return shaping.potential(env_params, s, env.spec.weights,
                                     shaping_cfg.shaping_scale)
    else:
        def phi_of(s):
            return None
    tables = (head_tables(net, params, problem.graph, env_params)
              if stored and stores_maps(net) else None)

    def body(carry, k):
        state, obs, phi = carry
        action, log_prob, value, wire, maps = _policy_step(net, params, problem, obs,
                                                           k, greedy, tables,
                                                           temperature)
        valid = ~state.done
        state, next_obs = env.place(state, action, env_params)
        phi_next = phi_of(state)
        f = (shaping.shaping_term(phi, phi_next, state.done, valid, shaping_cfg.gamma)
             if shaped else None)
        tr = Transition(obs=obs, action=action, log_prob=log_prob, value=value,
                        valid=valid, last=valid & state.done, wire=wire, maps=maps,
                        shaping=f)
        return (state, next_obs, phi_next), tr

    keys = jax.random.split(key, env_params.order.shape[0])
    (state, _, _), traj = jax.lax.scan(body, (state, ts.observation, phi_of(state)),
                                       keys)
    out = env.terminal(state, env_params) if finish else {"state": state}
    out["infeasible"] = state.infeasible | state.invalid
    return traj, out


def finish_episodes(env: PlacementEnv, env_params, out: dict,
                    groups: int = 1) -> dict:
    """The terminal dicts of a batch of episodes rolled out with
    ``finish=False``: env.terminals (chunks of episodes one after another,
    within ``groups`` vmapped groups) replaces the "state" entry."""
    out = dict(out)
    out.update(env.terminals(out.pop("state"), env_params, groups))
    return out


def ppo_loss(net: PolicyValue, params, problem: Problem, batch: Transition,
             advantages: jax.Array, returns: jax.Array,
             cfg: PPOConfig, value_norm=None, tables=None) -> tuple[jax.Array, dict]:
    """Mean PPO loss over the valid transitions of a minibatch (leaves (n, ...)).

    Transitions with stored head maps (``batch.maps``) run the network from
    them (one encoder pass per minibatch: ``tables``, the HeadTables of
    ``params``, or None to compute them); others per observation.
    ``value_norm``: None, or (offset, scale) turning the network's value (raw
    reward units: a value prior) into the normalised rewards' units."""
    if batch.maps is not None:
        wire = batch.wire
        if net.wire_mask and wire is None:
            wire = jax.vmap(lambda o: wire_inputs(net, problem, o))(batch.obs)
        if tables is None:
            tables = head_tables(net, params, problem.graph, problem.env_params)
        logits, value = stored_policy(net, params, tables, batch.obs, batch.maps,
                                      wire)
    else:
        apply = jax.vmap(lambda o, w: apply_policy(net, params, problem, o, w))
        logits, value = apply(batch.obs, batch.wire)                   # (n, A), (n,)
    logits = tempered(logits, cfg.temperature)
    if value_norm is not None:
        value = (value - value_norm[0]) * value_norm[1]
    w = batch.valid.astype(value.dtype)
    w = w / jnp.maximum(jnp.sum(w), 1.0)
    logp_all = jax.nn.log_softmax(logits)
    logp = jnp.take_along_axis(logp_all, batch.action[:, None], axis=1)[:, 0]
    if cfg.normalize_advantages:
        mean = jnp.sum(w * advantages)
        std = jnp.sqrt(jnp.sum(w * (advantages - mean) ** 2))
        advantages = (advantages - mean) / (std + 1e-8)
    log_ratio = logp - batch.log_prob
    ratio = jnp.exp(log_ratio)
    pg = jnp.sum(w * clipped_surrogate(ratio, advantages, cfg.clip_eps))
    v_loss = (value - returns) ** 2
    if cfg.clip_value:
        v_clip = batch.value + jnp.clip(value - batch.value, -cfg.clip_eps,
                                        cfg.clip_eps)
        v_loss = jnp.maximum(v_loss, (v_clip - returns) ** 2)
    v_loss = 0.5 * jnp.sum(w * v_loss)
    entropy = jnp.sum(w * masked_entropy(logits, batch.obs.action_mask))
    loss = pg + cfg.vf_coef * v_loss - cfg.ent_coef * entropy
    extra = {}
    if batch.target is not None:
        # imitation on the sampled states: towards the improved episode's cell
        # of the same macro (DAgger-style labels; ppo.imitation_states)
        il = imitation.imitation_loss(logits, batch.obs.action_mask, batch.target,
                                      batch.target_weight)
        loss = loss + cfg.imitation_coef * il
        extra["state_imitation_loss"] = il
    return loss, {"loss": loss, "policy_loss": pg, "value_loss": v_loss,
                  "entropy": entropy, **extra,
                  "approx_kl": jnp.sum(w * ((ratio - 1.0) - log_ratio)),
                  "clip_fraction": jnp.sum(
                      w * (jnp.abs(ratio - 1.0) > cfg.clip_eps))}


def expert_batch(env: PlacementEnv, net: PolicyValue, problem: Problem,
                 traj: Transition, out: dict, cfg: PPOConfig,
                 elite: imitation.Elite | None = None, replay: bool = True,
                 key: jax.Array | None = None
                 ) -> tuple[imitation.ExpertBatch | None, dict,
                            imitation.Elite | None, tuple[jax.Array, jax.Array]]:
    """The imitation targets of one update (placer.rl.imitation): the
    ``cfg.imitation_episodes`` best of the sampled episodes (traj, out: the
    rollout's, leaves (B, T, ...) and (B, ...)), improved by local search and
    replayed; leaves (K T, ...). Also the metrics expert_before /
    expert_after (mean proxy of the K episodes before / after the search,
    soft macros fixed) and expert_steps (imitated steps per update).

    With an ``elite`` (ppo.imitation_elite) the K are the best by proxy of
    the sampled episodes and the elite's, so the search keeps improving the
    best placements found so far across updates; the improved K are returned
    as the new elite (None without one). ``replay=False`` skips the replay
    (the batch is then None). Last: (cells (M,), ok ()) of the best improved
    episode (ok: it is feasible), the labels of the sampled states.
    ``key``: the search's randomness (``imitation_search="anneal"`` needs it).

    Raises:
        PlacerInputError: no move arrays in ``problem`` (see build_session),
            or K T not divisible by num_minibatches.
    """
    k = cfg.imitation_episodes
    t = traj.action.shape[1]
    if problem.moves is None:
        raise PlacerInputError("the imitation loss needs Problem.moves "
                               "(placer.cost.incremental.move_arrays)")
    if (k * t) % cfg.num_minibatches:
        raise PlacerInputError(f"num_minibatches ({cfg.num_minibatches}) must divide "
                               f"imitation_episodes x steps ({k} x {t})")
    if elite is None:
        idx = imitation.best_episodes(out["reward"], out["infeasible"], k)
        start_cells, start_xy = traj.action[idx], out["xy"][idx]
        ok = ~out["infeasible"][idx]
    else:
        if elite.proxy.shape[0] != k:
            raise PlacerInputError(f"the elite has {elite.proxy.shape[0]} slots, "
                                   f"imitation_episodes is {k}")
        start_cells, start_xy, score = imitation.select_episodes(
            out["proxy"], out["infeasible"], traj.action, out["xy"], elite)
        ok = jnp.isfinite(score)
    ep = problem.env_params
    if cfg.imitation_search == "anneal":
        if key is None:
            raise PlacerInputError('imitation_search="anneal" needs a key')
        cells, info = jax.vmap(lambda c, xy, kk: imitation.anneal_cells(
            env.spec, ep, problem.moves, c, xy, kk, cfg.imitation_anneal_steps,
            cfg.imitation_radius, cfg.imitation_anneal_temp))(
                start_cells, start_xy, jax.random.split(key, k))
    else:
        cells, info = jax.vmap(lambda c, xy: imitation.improve_cells(
            env.spec, ep, problem.moves, c, xy, cfg.imitation_radius,
            cfg.imitation_sweeps))(start_cells, start_xy)
    okf = ok.astype(jnp.float32)
    after_or_inf = jnp.where(ok, info["after"], jnp.inf)
    b = jnp.argmin(after_or_inf)
    best = (cells[b], ok[b])
    n_ok = jnp.maximum(jnp.sum(okf), 1.0)
    metrics = {"expert_before": jnp.sum(okf * jnp.where(ok, info["before"], 0.0))
               / n_ok,
               "expert_after": jnp.sum(okf * jnp.where(ok, info["after"], 0.0)) / n_ok}
    if elite is not None:
        elite = imitation.Elite(cells=cells, xy=info["xy"].astype(elite.xy.dtype),
                                proxy=after_or_inf.astype(jnp.float32))
        metrics["elite_proxy"] = jnp.min(elite.proxy)
    if not replay:
        return None, metrics, elite, best
    grid = (net.grid_rows, net.grid_cols) if net.wire_mask else None
    maps = None
    if traj.maps is not None:
        def maps_of(o):
            return head_maps(problem.graph, ep.orient, o, net.grid_rows,
                             net.grid_cols)

        obs, wire, valid, maps = jax.vmap(
            lambda c: imitation.replay(env, ep, c, grid, maps_of))(cells)
    else:
        obs, wire, valid = jax.vmap(lambda c: imitation.replay(env, ep, c, grid))(
            cells)
    weight = valid & ok[:, None]
    batch = imitation.ExpertBatch(obs=obs, wire=wire, action=cells,
                                  weight=weight.astype(jnp.float32), maps=maps)
    batch = jax.tree.map(lambda x: x.reshape(k * t, *x.shape[2:]), batch)
    metrics["expert_steps"] = jnp.sum(batch.weight)
    return batch, metrics, elite, best


def expert_loss(net: PolicyValue, params, problem: Problem,
                batch: imitation.ExpertBatch, tables=None,
                temperature: float = 1.0) -> jax.Array:
    """The imitation loss of a minibatch of expert steps (leaves (n, ...)),
    from their stored head maps when they have them (as ppo_loss, ``tables``
    too), for the policy softmax(logits / ``temperature``)."""
    if batch.maps is not None:
        if tables is None:
            tables = head_tables(net, params, problem.graph, problem.env_params)
        logits, _ = stored_policy(net, params, tables, batch.obs, batch.maps,
                                  batch.wire)
    else:
        apply = jax.vmap(lambda o, w: apply_policy(net, params, problem, o, w))
        logits, _ = apply(batch.obs, batch.wire)
    logits = tempered(logits, temperature)
    return imitation.imitation_loss(logits, batch.obs.action_mask, batch.action,
                                    batch.weight)


def make_optimizer(cfg: PPOConfig) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam."""
    return optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm),
                       optax.adam(cfg.learning_rate, eps=1e-5))


def init_train_state(env: PlacementEnv, net: PolicyValue, problem: Problem,
                     key: jax.Array, optimizer: optax.GradientTransformation,
                     params: Any = None, elite: int = 0) -> TrainState:
    """A fresh TrainState (``params``: start from these instead of a random
    initialisation, e.g. with a pretrained encoder; ``elite``: the number of
    empty elite slots, ppo.imitation_episodes when ppo.imitation_elite is
    on, else 0 for none)."""
    k_init, k_run = jax.random.split(key)
    if params is None:
        params = init_fn(env.spec, net)(k_init, problem)
    return TrainState(params=params, opt_state=optimizer.init(params), key=k_run,
                      step=jnp.zeros((), jnp.int32),
                      reward_stats=RewardStats.create(),
                      elite=(imitation.Elite.empty(problem.env_params, elite)
                             if elite else None))


def elite_slots(cfg: PPOConfig) -> int:
    """The elite slots a TrainState needs for ``cfg`` (0: no elite)."""
    on = cfg.imitation_elite and cfg.imitation_coef > 0
    return cfg.imitation_episodes if on else 0


@functools.lru_cache(maxsize=16)
def init_fn(spec: EnvSpec, net: PolicyValue):
    """Jitted (key, Problem) -> params, one per (env spec, network)."""
    env = PlacementEnv(spec)

    def init(k, pr):
        obs = env.reset(pr.env_params)[1].observation
        return net.init(k, pr.graph, pr.env_params.orient, obs,
                        wire_inputs(net, pr, obs))

    return jax.jit(init)


def make_update(env: PlacementEnv, net: PolicyValue, cfg: PPOConfig,
                optimizer: optax.GradientTransformation, shard=None,
                groups: int = 1, terminals_in_turn: bool = True):
    """The update ``(TrainState, Problem) -> (TrainState, metrics)``, not yet
    jitted (jit it, or see placer.rl.parallel).

    Args:
        env, net, cfg, optimizer: the environment, network, PPO settings and
            optimizer (all static).
        shard: None, or a function applied to every array whose leading axis
            is the batch (environments, transitions, minibatch rows): a
            sharding constraint for data parallelism (placer.rl.parallel).
        groups: the episodes' terminal steps run by PlacementEnv.terminals
            within this many vmapped groups: the device count of a
            data-parallel mesh, 1 on one device.
        terminals_in_turn: False vmaps the terminal steps with the rest of
            the rollout (the code before session 7; for benchmarks).
    """
    if shard is None:
        def shard(tree):
            return tree
    if cfg.reward_norm not in REWARD_NORMS:
        raise PlacerInputError(f"unknown reward_norm {cfg.reward_norm!r}; known: "
                               f"{', '.join(REWARD_NORMS)}")
    if cfg.imitation_states not in IMITATION_STATES:
        raise PlacerInputError(f"unknown imitation_states {cfg.imitation_states!r}; "
                               f"known: {', '.join(IMITATION_STATES)}")
    if cfg.imitation_search not in IMITATION_SEARCHES:
        raise PlacerInputError(f"unknown imitation_search {cfg.imitation_search!r}; "
                               f"known: {', '.join(IMITATION_SEARCHES)}")
    if cfg.imitation_search == "anneal" and not (
            cfg.imitation_anneal_steps >= 1 and cfg.imitation_anneal_temp > 0):
        raise PlacerInputError("ppo.imitation_anneal_steps must be >= 1 and "
                               "ppo.imitation_anneal_temp > 0")
    if ((cfg.imitation_elite or cfg.imitation_states != "expert")
            and not cfg.imitation_coef > 0):
        raise PlacerInputError("ppo.imitation_elite and ppo.imitation_states need "
                               "ppo.imitation_coef > 0 (the imitation loss is off)")
    if net.value_prior and cfg.reward_norm == "batch":
        raise PlacerInputError("model.value_prior needs reward_norm running or none")
    if not cfg.temperature > 0:
        raise PlacerInputError(f"ppo.temperature must be > 0, not {cfg.temperature!r}")
    b = cfg.num_envs
    hoist_encoder = net.freeze_encoder and cfg.stored_maps and stores_maps(net)

    def update(ts: TrainState, problem: Problem) -> tuple[TrainState, dict]:
        key, k_roll, k_sgd = jax.random.split(ts.key, 3)
        keys = shard(jax.random.split(k_roll, b))                 # (B, 2)
        traj, out = shard(jax.vmap(
            lambda k: rollout(env, net, ts.params, problem, k,
                              shaping_cfg=cfg, stored=cfg.stored_maps,
                              finish=not terminals_in_turn,
                              temperature=cfg.temperature))(keys))  # (B, T, ...)
        if terminals_in_turn:
            out = shard(finish_episodes(env, problem.env_params, out, groups))
        t = traj.action.shape[1]
        n = b * t
        if n % cfg.num_minibatches:
            raise PlacerInputError(f"num_minibatches ({cfg.num_minibatches}) must "
                                   f"divide num_envs x steps ({b} x {t})")
        stats, r = normalise_rewards(ts.reward_stats, out["reward"], cfg.reward_norm)
        value_norm = None
        if net.value_prior:
            # the value prior predicts raw rewards: normalise them alike
            value_norm = ((stats.mean, shaping.reward_scale(
                stats.mean, stats.var, out["reward"], cfg.reward_norm))
                if cfg.reward_norm == "running" else (0.0, 1.0))
            traj = traj.replace(value=(traj.value - value_norm[0]) * value_norm[1])
        rewards = r[:, None] * traj.last                          # (B, T)
        if cfg.shaping:
            # the shaping terms in the units of the normalised final reward
            rewards = rewards + traj.shaping * shaping.reward_scale(
                stats.mean, stats.var, out["reward"], cfg.reward_norm)
        expert, expert_metrics, elite = None, {}, ts.elite
        if cfg.imitation_coef > 0:
            if elite_slots(cfg) and ts.elite is None:
                raise PlacerInputError(
                    "ppo.imitation_elite needs a TrainState with an elite: "
                    "init_train_state(..., elite=elite_slots(cfg))")
            expert, expert_metrics, elite, (best, best_ok) = expert_batch(
                env, net, problem, traj, out, cfg,
                ts.elite if elite_slots(cfg) else None,
                replay=cfg.imitation_states != "sampled",
                # a stream of its own: the other draws stay as without it
                key=jax.random.fold_in(k_sgd, 1))
            if not elite_slots(cfg):
                elite = ts.elite
            if expert is not None:
                expert = shard(expert)
            if cfg.imitation_states != "expert":
                target = jnp.broadcast_to(best[None, :], traj.action.shape)
                legal = jnp.take_along_axis(traj.obs.action_mask,
                                            target[..., None], axis=2)[..., 0]
                tw = (traj.valid & legal & best_ok).astype(jnp.float32)
                traj = traj.replace(target=target, target_weight=tw)
                expert_metrics["state_steps"] = jnp.sum(tw) / b
        # a frozen encoder's output does not depend on the parameters being
        # trained: one pass per update instead of one per minibatch
        enc = (encode_netlist(net, ts.params, problem.graph)
               if hoist_encoder else None)
        adv, ret = compute_gae(rewards.T, traj.value.T, traj.last.T, cfg.gamma,
                               cfg.gae_lambda)
        adv, ret = adv.T, ret.T                                   # (B, T)
        flat = jax.tree.map(lambda x: x.reshape(n, *x.shape[2:]),
                            (traj, adv, ret))

        def minibatch(carry, mb):
            params, opt_state = carry
            batch, a, rt, emb = shard(mb)

            def loss_fn(p):
                # one encoder pass for the PPO and the imitation losses (none
                # with a frozen encoder: enc, once per update)
                tables = (head_tables(net, p, problem.graph, problem.env_params,
                                      enc)
                          if batch.maps is not None else None)
                loss, m = ppo_loss(net, p, problem, batch, a, rt, cfg, value_norm,
                                   tables)
                if emb is not None:
                    il = expert_loss(net, p, problem, emb, tables,
                                     cfg.temperature)
                    loss = loss + cfg.imitation_coef * il
                    m = {**m, "loss": loss, "imitation_loss": il}
                return loss, m

            grads, m = jax.grad(loss_fn, has_aux=True)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            m["grad_norm"] = optax.tree.norm(grads)
            return (params, opt_state), m

        def epoch(carry, k):
            perm = jax.random.permutation(k, n)
            mbs = jax.tree.map(
                lambda x: x[perm].reshape(cfg.num_minibatches, -1, *x.shape[1:]),
                flat)
            embs = None
            if expert is not None:
                perm_e = jax.random.permutation(jax.random.fold_in(k, 1),
                                                expert.action.shape[0])
                embs = jax.tree.map(
                    lambda x: x[perm_e].reshape(cfg.num_minibatches, -1,
                                                *x.shape[1:]), expert)
            return jax.lax.scan(minibatch, carry, (*mbs, embs))

        (params, opt_state), m = jax.lax.scan(
            epoch, (ts.params, ts.opt_state),
            jax.random.split(k_sgd, cfg.num_epochs))
        metrics = jax.tree.map(jnp.mean, m)
        ok = ~out["infeasible"]
        metrics.update(
            episode_reward=jnp.mean(out["reward"]),
            best_reward=jnp.max(out["reward"]),
            proxy=jnp.sum(jnp.where(ok, out["proxy"], 0.0))
            / jnp.maximum(jnp.sum(ok), 1),
            infeasible_fraction=jnp.mean(out["infeasible"].astype(jnp.float32)),
            reward_mean=stats.mean, reward_std=jnp.sqrt(stats.var),
            **expert_metrics)
        new = TrainState(params=params, opt_state=opt_state, key=key,
                         step=ts.step + 1, reward_stats=stats, elite=elite)
        return new, metrics

    return update


def make_evaluate(env: PlacementEnv, net: PolicyValue):
    """``(params, problem) -> terminal dict`` of the greedy episode (jit it)."""

    def evaluate(params, problem: Problem) -> dict:
        _, out = rollout(env, net, params, problem, jax.random.PRNGKey(0),
                         greedy=True)
        return out

    return evaluate


__all__ = ["REWARD_NORMS", "Problem", "RewardStats", "TrainState", "Transition",
           "apply_policy", "clipped_surrogate", "compute_gae", "finish_episodes",
           "elite_slots", "expert_batch", "expert_loss", "init_fn",
           "init_train_state", "make_evaluate", "make_optimizer", "make_update",
           "normalise_rewards", "ppo_loss", "rollout", "tempered",
           "update_reward_stats", "wire_inputs"]
