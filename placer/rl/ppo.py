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

from placer.config import REWARD_NORMS, PPOConfig
from placer.env.env import EnvParams, EnvSpec, Observation, PlacementEnv
from placer.errors import PlacerInputError
from placer.models.graph import NetlistGraph
from placer.rl.networks import (
    PolicyValue,
    head_maps,
    head_tables,
    masked_entropy,
    stored_policy,
    stores_maps,
    wire_features,
)


@struct.dataclass
class Problem:
    """One netlist as PPO sees it: environment params and the static graph."""

    env_params: EnvParams
    graph: NetlistGraph


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
    # (R * C, STORED_MAPS) the conv head's parameter-free maps of the step
    # (networks.head_maps; None when the network runs per observation)
    maps: jax.Array | None = None


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


def _policy_step(net: PolicyValue, params, problem: Problem, obs: Observation,
                 key: jax.Array, greedy: bool, tables=None):
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
    action = (jnp.argmax(logits) if greedy
              else jax.random.categorical(key, logits)).astype(jnp.int32)
    log_prob = jax.nn.log_softmax(logits)[action]
    return action, log_prob, value, wire, maps


def rollout(env: PlacementEnv, net: PolicyValue, params, problem: Problem,
            key: jax.Array, greedy: bool = False,
            stored: bool = True) -> tuple[Transition, dict]:
    """One episode with the policy (vmap over keys for B episodes).

    With ``stored`` (and a network that can: networks.stores_maps) the
    design's HeadTables are computed once, before the steps, and each step
    keeps its parameter-free head maps in the transitions (``maps``) for the
    loss; without, the network runs per observation.

    Returns:
        Transitions with leaves (T, ...), and the terminal dict of
        env.terminal (reward, proxy terms, xy) plus ``infeasible``.
    """
    env_params = problem.env_params
    state, ts = env.reset(env_params)
    tables = (head_tables(net, params, problem.graph, env_params)
              if stored and stores_maps(net) else None)

    def body(carry, k):
        state, obs = carry
        action, log_prob, value, wire, maps = _policy_step(net, params, problem, obs,
                                                           k, greedy, tables)
        valid = ~state.done
        state, next_obs = env.place(state, action, env_params)
        tr = Transition(obs=obs, action=action, log_prob=log_prob, value=value,
                        valid=valid, last=valid & state.done, wire=wire, maps=maps)
        return (state, next_obs), tr

    keys = jax.random.split(key, env_params.order.shape[0])
    (state, _), traj = jax.lax.scan(body, (state, ts.observation), keys)
    out = env.terminal(state, env_params)
    out["infeasible"] = state.infeasible | state.invalid
    return traj, out


def ppo_loss(net: PolicyValue, params, problem: Problem, batch: Transition,
             advantages: jax.Array, returns: jax.Array,
             cfg: PPOConfig) -> tuple[jax.Array, dict]:
    """Mean PPO loss over the valid transitions of a minibatch (leaves (n, ...)).

    Transitions with stored head maps (``batch.maps``) run the network from
    them (one encoder pass per minibatch); others per observation."""
    if batch.maps is not None:
        wire = batch.wire
        if net.wire_mask and wire is None:
            wire = jax.vmap(lambda o: wire_inputs(net, problem, o))(batch.obs)
        tables = head_tables(net, params, problem.graph, problem.env_params)
        logits, value = stored_policy(net, params, tables, batch.obs, batch.maps,
                                      wire)
    else:
        apply = jax.vmap(lambda o, w: apply_policy(net, params, problem, o, w))
        logits, value = apply(batch.obs, batch.wire)                   # (n, A), (n,)
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
    return loss, {"loss": loss, "policy_loss": pg, "value_loss": v_loss,
                  "entropy": entropy,
                  "approx_kl": jnp.sum(w * ((ratio - 1.0) - log_ratio)),
                  "clip_fraction": jnp.sum(
                      w * (jnp.abs(ratio - 1.0) > cfg.clip_eps))}


def make_optimizer(cfg: PPOConfig) -> optax.GradientTransformation:
    """Global-norm clipping, then Adam."""
    return optax.chain(optax.clip_by_global_norm(cfg.max_grad_norm),
                       optax.adam(cfg.learning_rate, eps=1e-5))


def init_train_state(env: PlacementEnv, net: PolicyValue, problem: Problem,
                     key: jax.Array, optimizer: optax.GradientTransformation,
                     params: Any = None) -> TrainState:
    """A fresh TrainState (``params``: start from these instead of a random
    initialisation, e.g. with a pretrained encoder)."""
    k_init, k_run = jax.random.split(key)
    if params is None:
        params = init_fn(env.spec, net)(k_init, problem)
    return TrainState(params=params, opt_state=optimizer.init(params), key=k_run,
                      step=jnp.zeros((), jnp.int32),
                      reward_stats=RewardStats.create())


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
                optimizer: optax.GradientTransformation, shard=None):
    """The update ``(TrainState, Problem) -> (TrainState, metrics)``, not yet
    jitted (jit it, or see placer.rl.parallel).

    Args:
        env, net, cfg, optimizer: the environment, network, PPO settings and
            optimizer (all static).
        shard: None, or a function applied to every array whose leading axis
            is the batch (environments, transitions, minibatch rows): a
            sharding constraint for data parallelism (placer.rl.parallel).
    """
    if shard is None:
        def shard(tree):
            return tree
    if cfg.reward_norm not in REWARD_NORMS:
        raise PlacerInputError(f"unknown reward_norm {cfg.reward_norm!r}; known: "
                               f"{', '.join(REWARD_NORMS)}")
    b = cfg.num_envs

    def update(ts: TrainState, problem: Problem) -> tuple[TrainState, dict]:
        key, k_roll, k_sgd = jax.random.split(ts.key, 3)
        keys = shard(jax.random.split(k_roll, b))                 # (B, 2)
        traj, out = shard(jax.vmap(
            lambda k: rollout(env, net, ts.params, problem, k,
                              stored=cfg.stored_maps))(keys))      # (B, T, ...)
        t = traj.action.shape[1]
        n = b * t
        if n % cfg.num_minibatches:
            raise PlacerInputError(f"num_minibatches ({cfg.num_minibatches}) must "
                                   f"divide num_envs x steps ({b} x {t})")
        stats, r = normalise_rewards(ts.reward_stats, out["reward"], cfg.reward_norm)
        rewards = r[:, None] * traj.last                          # (B, T)
        adv, ret = compute_gae(rewards.T, traj.value.T, traj.last.T, cfg.gamma,
                               cfg.gae_lambda)
        adv, ret = adv.T, ret.T                                   # (B, T)
        flat = jax.tree.map(lambda x: x.reshape(n, *x.shape[2:]),
                            (traj, adv, ret))

        def minibatch(carry, mb):
            params, opt_state = carry
            batch, a, rt = shard(mb)
            grads, m = jax.grad(
                lambda p: ppo_loss(net, p, problem, batch, a, rt, cfg),
                has_aux=True)(params)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            params = optax.apply_updates(params, updates)
            m["grad_norm"] = optax.tree.norm(grads)
            return (params, opt_state), m

        def epoch(carry, k):
            perm = jax.random.permutation(k, n)
            mbs = jax.tree.map(
                lambda x: x[perm].reshape(cfg.num_minibatches, -1, *x.shape[1:]),
                flat)
            return jax.lax.scan(minibatch, carry, mbs)

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
            reward_mean=stats.mean, reward_std=jnp.sqrt(stats.var))
        new = TrainState(params=params, opt_state=opt_state, key=key,
                         step=ts.step + 1, reward_stats=stats)
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
           "apply_policy", "clipped_surrogate", "compute_gae", "init_fn",
           "init_train_state", "make_evaluate", "make_optimizer", "make_update",
           "normalise_rewards", "ppo_loss", "rollout", "update_reward_stats",
           "wire_inputs"]
