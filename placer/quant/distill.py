"""Quantization-aware fine-tuning by distillation of the float policy.

States: the observations of the float policy's own episodes on one or more
netlists (``record_states``: its greedy episode and ``samples`` sampled ones,
every real step of each). The float policy's action distribution over the
legal cells of each state is the target; the fake-quantized policy (same
network, kernels quantized, biases float) is fitted to it by minimising

    KL(p_float || p_quant) = sum over legal cells of p_f (log p_f - log p_q)

averaged over a minibatch of states, with respect to the latent float
weights (and biases) and, for the gradient method, the log2 thresholds.
Weights use Adam; thresholds the normalised, oscillation-freezing step of
placer.quant.threshold. For the "msqe" method each forward recomputes the
MSQE exponents from the current weights (MSQE-based QAT).

Dimensions: N recorded states, R x C grid, B minibatch.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

import placer.quant.params as qparams
import placer.quant.threshold as qthreshold
from placer.env.env import Observation, PlacementEnv, make_env
from placer.errors import PlacerInputError
from placer.gridding import grid_for
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.quant.fake import exponent_of_threshold
from placer.rl import ppo
from placer.rl.networks import PolicyValue
from placer.stdcell.force_directed import FDSchedule

# Recording needs the states, not the end-of-episode cost: a short FD pass.
_RECORD_FD = FDSchedule(num_steps=(1, 1, 1))
# States evaluated per call when a whole set is run through the network.
CHUNK = 64


@dataclasses.dataclass
class StateSet:
    """Recorded states of one netlist.

    Attributes:
        problem: its env params and graph.
        obs: Observation with leaves (N, ...).
        name: the netlist's name.
    """

    problem: ppo.Problem
    obs: Observation
    name: str = ""

    @property
    def size(self) -> int:
        return int(self.obs.current.shape[0])


@functools.lru_cache(maxsize=16)
def _record_fn(spec, net: PolicyValue, samples: int):
    env = PlacementEnv(spec)

    def run(params, problem, key):
        def one(k, greedy):
            traj, _ = ppo.rollout(env, net, params, problem, k, greedy=greedy)
            return traj.obs, traj.valid

        outs = [jax.tree.map(lambda x: x[None], one(key, True))]
        if samples:
            keys = jax.random.split(jax.random.fold_in(key, 1), samples)
            outs.append(jax.vmap(lambda k: one(k, False))(keys))
        return jax.tree.map(lambda *x: jnp.concatenate(x), *outs)

    return jax.jit(run)


def record_states(policy, netlist: Netlist, samples: int = 8,
                  seed: int = 0) -> StateSet:
    """The states of the policy's greedy episode and ``samples`` sampled
    episodes on ``netlist`` (its grid must be the policy's own grid, the
    one in its metadata, even for a conv-head policy that places any grid).

    Raises:
        PlacerInputError: a netlist on another grid.
    """
    if not netlist.metadata.get("grid_given", True):
        netlist = grid_for(netlist)
    env, env_params = make_env(netlist, fd_schedule=_RECORD_FD)
    own = (policy.net.grid_rows, policy.net.grid_cols)
    if (env.spec.grid_rows, env.spec.grid_cols) != own:
        raise PlacerInputError(
            f"states for quantization are recorded on the policy's own "
            f"{own[0]} x {own[1]} grid; the netlist's grid is "
            f"{env.spec.grid_rows} x {env.spec.grid_cols} (set grid_rows / "
            "grid_cols when loading it)")
    problem = ppo.Problem(env_params, netlist_graph(netlist))
    run = _record_fn(env.spec, policy.net, int(samples))
    obs, valid = jax.device_get(run(policy.params, problem, jax.random.PRNGKey(seed)))
    keep = np.asarray(valid).reshape(-1)
    flat = jax.tree.map(lambda x: np.asarray(x).reshape((-1,) + x.shape[2:])[keep], obs)
    return StateSet(problem=problem, obs=jax.tree.map(jnp.asarray, flat),
                    name=netlist.name)


def _apply_fn(net: PolicyValue):
    def apply(params, problem, obs):
        return jax.vmap(lambda o: ppo.apply_policy(net, params, problem, o)[0])(obs)
    return apply


@functools.lru_cache(maxsize=16)
def _logits_fn(net: PolicyValue):
    return jax.jit(_apply_fn(net))


def policy_logits(net: PolicyValue, params, states: StateSet) -> np.ndarray:
    """(N, R * C) masked logits of every recorded state, CHUNK at a time."""
    fn = _logits_fn(net)
    out = []
    for i in range(0, states.size, CHUNK):
        obs = jax.tree.map(lambda x, i=i: x[i:i + CHUNK], states.obs)
        out.append(np.asarray(fn(params, states.problem, obs)))
    return np.concatenate(out) if out else np.zeros((0, net.grid_rows * net.grid_cols))


def action_agreement(net: PolicyValue, params_a, params_b, states: StateSet) -> float:
    """Fraction of the states where the two parameter sets' greedy (argmax)
    actions agree."""
    a = policy_logits(net, params_a, states).argmax(-1)
    b = policy_logits(net, params_b, states).argmax(-1)
    return float(np.mean(a == b)) if len(a) else float("nan")


def masked_kl(target_logits: jax.Array, logits: jax.Array,
              mask: jax.Array) -> jax.Array:
    """(...) KL(p_target || p) over the legal cells of masked logits (..., A)."""
    lt = jax.nn.log_softmax(target_logits, axis=-1)
    lq = jax.nn.log_softmax(logits, axis=-1)
    return jnp.sum(jnp.where(mask, jnp.exp(lt) * (lt - lq), 0.0), axis=-1)


@dataclasses.dataclass(frozen=True)
class DistillConfig:
    """Settings of the fine-tuning.

    Attributes:
        method: "gradient" (learned thresholds) or "msqe" (MSQE exponents
            recomputed every step).
        bits: bit width.
        per_channel: one exponent per output channel.
        steps: optimisation steps.
        batch_size: B states per step.
        learning_rate: Adam's step size for the weights.
        threshold_lr: step size of the normalised threshold updates (log2 units).
        freeze_after: flips of a threshold's exponent that freeze it (0: never).
        normalise: normalise the threshold gradients.
        init: "msqe" | "max": initial thresholds (gradient method).
        seed: minibatch sampling seed.
    """

    method: str = "gradient"
    bits: int = 8
    per_channel: bool = False
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 1e-4
    threshold_lr: float = 0.01
    freeze_after: int = 4
    normalise: bool = True
    init: str = "msqe"
    seed: int = 0


def _fake_params(cfg: DistillConfig, weights, thresholds):
    if cfg.method == "gradient":
        return qparams.fake_quant_learned(weights, thresholds, cfg.bits)
    return qparams.fake_quant_msqe(weights, cfg.bits, cfg.per_channel)


@functools.lru_cache(maxsize=16)
def _step_fn(net: PolicyValue, cfg: DistillConfig):
    apply = _apply_fn(net)
    opt = optax.adam(cfg.learning_rate)

    def loss_fn(weights, thresholds, problem, obs, target):
        logits = apply(_fake_params(cfg, weights, thresholds), problem, obs)
        return jnp.mean(masked_kl(target, logits, obs.action_mask))

    def step(weights, thresholds, opt_state, th_state, problem, obs, target):
        loss, (gw, gt) = jax.value_and_grad(loss_fn, argnums=(0, 1))(
            weights, thresholds, problem, obs, target)
        updates, opt_state = opt.update(gw, opt_state, weights)
        weights = optax.apply_updates(weights, updates)
        if cfg.method == "gradient":
            thresholds, th_state = qthreshold.step_all(
                thresholds, gt, th_state, cfg.bits, cfg.threshold_lr,
                freeze_after=cfg.freeze_after, normalise=cfg.normalise)
        return weights, thresholds, opt_state, th_state, loss

    return jax.jit(step), opt


def distill(net: PolicyValue, float_params: Any, state_sets: Sequence[StateSet],
            cfg: DistillConfig, log: Callable[[str], None] | None = None
            ) -> tuple[Any, dict[str, jax.Array], dict]:
    """Fine-tunes the fake-quantized policy towards the float one.

    Args:
        net: the network.
        float_params: the float policy's parameters (the target and the start).
        state_sets: recorded states (one set per netlist; steps cycle over them).
        cfg: settings.
        log: called with a progress line every 50 steps.

    Returns:
        (fine-tuned latent weights, final exponents {path: int32}, a summary
        dict: losses, frozen thresholds, seconds).
    """
    import time

    t0 = time.perf_counter()
    step, opt = _step_fn(net, cfg)
    weights = float_params
    thresholds = (qparams.initial_thresholds(float_params, cfg.bits, cfg.per_channel,
                                             cfg.init)
                  if cfg.method == "gradient" else {})
    th_state = qthreshold.init_states(thresholds, cfg.bits)
    opt_state = opt.init(weights)
    targets = [jnp.asarray(policy_logits(net, float_params, s)) for s in state_sets]
    rng = np.random.default_rng(cfg.seed)
    losses = []
    sets = [(s, t) for s, t in zip(state_sets, targets, strict=True) if s.size]
    for i in range(cfg.steps if sets else 0):
        s, target = sets[i % len(sets)]
        idx = jnp.asarray(rng.integers(0, s.size, min(cfg.batch_size, s.size)))
        obs = jax.tree.map(lambda x, idx=idx: x[idx], s.obs)
        weights, thresholds, opt_state, th_state, loss = step(
            weights, thresholds, opt_state, th_state, s.problem, obs, target[idx])
        losses.append(float(loss))
        if log is not None and ((i + 1) % 50 == 0 or i + 1 == cfg.steps):
            log(f"distill step {i + 1}/{cfg.steps}: KL {np.mean(losses[-50:]):.5f}")
    if cfg.method == "gradient":
        exps = {p: exponent_of_threshold(t, cfg.bits) for p, t in thresholds.items()}
        frozen = int(sum(int(np.sum(st.frozen)) for st in th_state.values()))
        flips = int(sum(int(np.sum(st.flips)) for st in th_state.values()))
    else:
        exps = qparams.exponents(weights, cfg.bits, "msqe", cfg.per_channel)
        frozen = flips = 0
    summary = {"steps": len(losses),
               "kl_first": losses[0] if losses else None,
               "kl_last": float(np.mean(losses[-20:])) if losses else None,
               "frozen_thresholds": frozen, "exponent_flips": flips,
               "seconds": time.perf_counter() - t0}
    return weights, exps, summary


__all__ = ["CHUNK", "DistillConfig", "StateSet", "action_agreement", "distill",
           "masked_kl", "policy_logits", "record_states"]
