"""PPO training of the placement policy: a thin Python loop around one jitted
update.

The loop logs every update's metrics (TensorBoard event files via
tensorboardX, and metrics.jsonl at each evaluation), evaluates the greedy
policy every ``eval_every`` updates, saves orbax checkpoints (parameters,
optimizer state, PRNG key, update count, reward statistics) and resumes from
the newest one: a killed run continues the same run, bit for bit.

The policy can start from scratch, from the encoder of a reward-model
checkpoint (``encoder_checkpoint``), or from a policy checkpoint
(``init_checkpoint``: fine-tuning on a new netlist; any grid for the conv
head, the same grid for the deconv head).

Several netlists train one policy (Circuit Training's multi-netlist
pretraining): the updates take them in turn, one netlist per update (its
own compiled update when its padded shapes or grid differ; netlists padded
alike share one), with running reward statistics kept per netlist, since the
cost levels of two designs have nothing to do with each other. The
parameters and the optimizer state are shared; this needs the conv head
unless every netlist has the same grid.

Several devices (``devices``, default all) split each update's episodes
and minibatches between them, with the parameters replicated
(placer.rl.parallel); several processes (hosts) do the same over all their
devices once jax.distributed is initialised (``distributed``). Every process
runs this loop on the same replicated state; process 0 writes the logs,
metrics.jsonl and summary.json, and all of them take part in the (orbax)
checkpoints, whose folder they must share.

Output folder:
    checkpoints/   training checkpoints
    policy/        the final policy (params + metadata): placer.rl.policy.load_policy
    logs/          TensorBoard event files
    metrics.jsonl  one JSON line per evaluation
    summary.json   the final summary
"""

from __future__ import annotations

import dataclasses
import json
import os
import time

import jax
import numpy as np

from placer.checkpoint import CheckpointStore, save_checkpoint
from placer.config import FINE_TUNE_PPO, PPOConfig, TrainRLConfig, ppo_overrides
from placer.cost.incremental import move_arrays
from placer.env.env import make_env
from placer.errors import PlacerInputError
from placer.gridding import grid_for
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.reward_model.model import load_reward_model
from placer.rl import imitation, ppo
from placer.rl.networks import PolicyValue, uncommitted, with_encoder, with_value_prior
from placer.rl.parallel import compiled, replicate, training_mesh
from placer.rl.policy import (
    POLICY_FORMAT,
    Policy,
    check_grid,
    load_policy,
    model_config,
    training_designs,
)
from placer.run_log import RunLogger, progress
from placer.stdcell.force_directed import FDSchedule


@dataclasses.dataclass
class Session:
    """What a training run builds once: env, problem, network, jitted fns."""

    env: object
    problem: ppo.Problem
    net: PolicyValue
    optimizer: object
    update: object      # jitted (TrainState, Problem) -> (TrainState, metrics)
    evaluate: object    # jitted (params, Problem) -> terminal dict


def policy_meta(cfg: TrainRLConfig, netlist: Netlist | list[Netlist],
                prior: list[str] | tuple = (), **extra) -> dict:
    """The JSON metadata a policy checkpoint carries (the grid is the first
    netlist's; ``netlists`` names this run's designs, and
    ``training_designs`` every design the parameters have seen: ``prior``,
    the designs of the checkpoint it started from, then this run's)."""
    netlists = netlist if isinstance(netlist, list) else [netlist]
    s = netlists[0].settings
    names = [n.name for n in netlists]
    return {"format": POLICY_FORMAT, "model": dataclasses.asdict(cfg.model),
            "grid_rows": int(s.grid_rows), "grid_cols": int(s.grid_cols),
            "netlist": netlists[0].name, "netlists": names,
            "training_designs": list(dict.fromkeys([*prior, *names])),
            "ppo": dataclasses.asdict(cfg.ppo), "fd_steps": list(cfg.fd_steps),
            "soft": cfg.soft, **extra}


def checkpoint_model(cfg: TrainRLConfig, log=None) -> TrainRLConfig:
    """``cfg`` with the network of its init_checkpoint (fine-tuning continues
    that network, whatever the config's model says; only freeze_encoder is
    taken from the config). ``log`` is told which fields differed."""
    if cfg.init_checkpoint is None:
        return cfg
    model = dataclasses.replace(model_config(load_policy(cfg.init_checkpoint).meta),
                                freeze_encoder=cfg.model.freeze_encoder)
    changed = [f.name for f in dataclasses.fields(model)
               if getattr(model, f.name) != getattr(cfg.model, f.name)]
    if changed and log is not None:
        log("fine-tuning keeps the checkpoint's network: "
            + ", ".join(f"model.{k}={getattr(model, k)!r}" for k in changed))
    return dataclasses.replace(cfg, model=model)


def build_session(cfg: TrainRLConfig, netlist: Netlist, mesh=None) -> Session:
    """Env, problem, network and jitted functions for ``netlist``; with a
    data-parallel ``mesh`` (placer.rl.parallel) the update splits the batch
    over its devices and the problem is replicated on them."""
    if not netlist.metadata.get("grid_given", True):
        netlist = grid_for(netlist)
    env, params = make_env(netlist, soft=cfg.soft,
                           fd_schedule=FDSchedule(num_steps=cfg.fd_steps))
    moves = (move_arrays(params.cost, np.asarray(params.order))
             if cfg.ppo.imitation_coef > 0 else None)
    problem = ppo.Problem(params, netlist_graph(netlist), moves)
    if mesh is not None:
        problem = replicate(problem, mesh)
    s = netlist.settings
    net = PolicyValue.from_config(cfg.model, int(s.grid_rows), int(s.grid_cols))
    env, optimizer, update, evaluate = compiled(env.spec, net, cfg.ppo, mesh)
    return Session(env, problem, net, optimizer, update, evaluate)


def initial_params(cfg: TrainRLConfig, session: Session, key: jax.Array):
    """The policy's starting parameters: a policy checkpoint's
    (init_checkpoint: fine-tuning), or a random initialisation from ``key``
    with a reward model's encoder dropped in (encoder_checkpoint) or not.

    Raises:
        PlacerInputError: a checkpoint for another grid or other sizes.
    """
    init = ppo.init_fn(session.env.spec, session.net)
    if cfg.init_checkpoint is not None:
        pol = load_policy(cfg.init_checkpoint)
        check_grid(pol, session.net.grid_rows, session.net.grid_cols)
        expect = jax.tree.map(lambda s: tuple(s.shape),
                              jax.eval_shape(init, key, session.problem))
        if jax.tree.map(np.shape, pol.params) != expect:
            raise PlacerInputError("the policy checkpoint's sizes differ from "
                                   "the configured model", cfg.init_checkpoint)
        return pol.params
    params = init(key, session.problem)
    if cfg.encoder_checkpoint is not None:
        rm = load_reward_model(cfg.encoder_checkpoint)
        params = with_encoder(params, rm.params["params"]["encoder"])
    if cfg.value_checkpoint is not None:
        if not session.net.value_prior:
            raise PlacerInputError("value_checkpoint needs model.value_prior=true")
        rm = load_reward_model(cfg.value_checkpoint)
        if rm.module.cfg.spatial or rm.module.cfg.wirelength_estimate:
            raise PlacerInputError("the value prior reads the graph readout only: "
                                   "use a reward model without spatial or "
                                   "wirelength_estimate", cfg.value_checkpoint)
        params = with_value_prior(params, rm.params, rm.mean, rm.std)
    return params


def _train_target(ts: ppo.TrainState, stats: list[ppo.RewardStats]) -> dict:
    """What a checkpoint stores besides the parameters; ``stats`` are the
    reward statistics of each netlist, stacked to (K,) arrays."""
    stacked = jax.tree.map(lambda *x: np.stack([np.asarray(a) for a in x]), *stats)
    return {"opt_state": ts.opt_state, "key": ts.key, "step": ts.step,
            "reward_stats": {"mean": stacked.mean, "var": stacked.var,
                             "count": stacked.count}}


def _from_train(params, train: dict) -> tuple[ppo.TrainState, list[ppo.RewardStats]]:
    params, train = uncommitted((params, train))
    rs = train["reward_stats"]
    stats = [ppo.RewardStats(mean=rs["mean"][i], var=rs["var"][i],
                             count=rs["count"][i])
             for i in range(rs["mean"].shape[0])]
    ts = ppo.TrainState(params=params, opt_state=train["opt_state"],
                        key=train["key"], step=train["step"], reward_stats=stats[0])
    return ts, stats


def _evaluate(session: Session, params) -> dict:
    out = jax.device_get(session.evaluate(params, session.problem))
    return {"reward": float(out["reward"]), "proxy": float(out["proxy"]),
            "wirelength": float(out["wirelength"]), "density": float(out["density"]),
            "congestion": float(out["congestion"]),
            "infeasible": bool(out["infeasible"])}


def _mean_eval(evals: list[dict]) -> dict:
    """One netlist's evaluation as it is; several: their means (and the
    count of infeasible episodes)."""
    if len(evals) == 1:
        return evals[0]
    out = {k: float(np.mean([e[k] for e in evals])) for k in evals[0]
           if k != "infeasible"}
    out["infeasible"] = int(sum(e["infeasible"] for e in evals))
    return out


def _log_eval(logger: RunLogger, step: int, last: dict, ev: dict,
              netlists: list[Netlist], evals: list[dict], seconds: float) -> None:
    """TensorBoard scalars and the metrics.jsonl record of one evaluation."""
    logger.scalars(step, ev, "greedy")
    record = {"train": last, "greedy": ev, "seconds": seconds}
    if len(netlists) > 1:
        record["netlists"] = {nl.name: e for nl, e in zip(netlists, evals, strict=True)}
        for nl, e in zip(netlists, evals, strict=True):
            logger.scalars(step, e, f"greedy/{nl.name}")
    logger.record(step, record)


def train(cfg: TrainRLConfig, netlist: Netlist | list[Netlist],
          log=progress) -> tuple[dict, ppo.TrainState]:
    """Trains a policy on ``netlist`` (or on several, in turn) as ``cfg`` says.

    Returns:
        The JSON summary (also written to summary.json) and the final
        TrainState.

    Raises:
        PlacerInputError: options that do not fit together, or a bad
            checkpoint to start from.
    """
    if cfg.updates < 1 or cfg.eval_every < 1 or cfg.checkpoint_every < 1:
        raise PlacerInputError("updates, eval_every and checkpoint_every must be >= 1")
    netlists = netlist if isinstance(netlist, list) else [netlist]
    if not netlists:
        raise PlacerInputError("no netlist to train on")
    t_start = time.perf_counter()
    out_dir = os.path.abspath(cfg.output_dir)
    os.makedirs(out_dir, exist_ok=True)
    cfg = checkpoint_model(cfg, log)
    mesh = training_mesh(cfg.devices)
    # with several processes, process 0 writes the logs and the summary
    primary = jax.process_index() == 0
    sessions = [build_session(cfg, nl, mesh) for nl in netlists]
    grids = {(se.net.grid_rows, se.net.grid_cols) for se in sessions}
    if len(grids) > 1 and not sessions[0].net.grid_free:
        raise PlacerInputError(
            "netlists with different grids train one policy only with the conv "
            "head (model.head=conv)")
    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_state = jax.random.split(key)
    params = initial_params(cfg, sessions[0], k_init)
    ts = ppo.init_train_state(sessions[0].env, sessions[0].net, sessions[0].problem,
                              k_state, sessions[0].optimizer, params=params)
    stats = [ts.reward_stats] * len(sessions)
    # one elite per netlist (ppo.imitation_elite), swapped in like the stats
    slots = ppo.elite_slots(cfg.ppo)
    elites = [imitation.Elite.empty(se.problem.env_params, slots) if slots else None
              for se in sessions]
    prior = (training_designs(load_policy(cfg.init_checkpoint).meta)
             if cfg.init_checkpoint is not None else ())
    meta = policy_meta(cfg, netlists, prior)
    if mesh is not None:
        meta["devices"] = int(mesh.devices.size)
    store = CheckpointStore(os.path.join(out_dir, "checkpoints"), cfg.keep_checkpoints)
    if cfg.resume and store.latest_step() is not None:
        ck = store.restore(train_target=jax.device_get(_train_target(ts, stats)),
                           params_target=jax.device_get(ts.params))
        ts, stats = _from_train(ck.params, ck.train)
        log(f"resumed from update {int(ts.step)}")
    if mesh is not None:
        ts, stats, elites = replicate((ts, stats, elites), mesh)
    step = int(ts.step)
    logger = RunLogger(out_dir) if primary else None
    bar = None
    if cfg.progress and primary:
        from tqdm import tqdm
        bar = tqdm(total=cfg.updates, initial=step, desc="ppo", unit="update",
                   dynamic_ncols=True)
    best = {"reward": -np.inf}
    last: dict = {}
    try:
        while step < cfg.updates:
            i = step % len(sessions)
            ts = ts.replace(reward_stats=stats[i], elite=elites[i])
            ts, m = sessions[i].update(ts, sessions[i].problem)
            stats[i], elites[i] = ts.reward_stats, ts.elite
            step += 1
            last = {k: float(v) for k, v in jax.device_get(m).items()}
            if logger is not None:
                logger.scalars(step, last, "train" if len(sessions) == 1
                               else f"train/{netlists[i].name}")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{last['episode_reward']:.4f}")
            if step % cfg.eval_every == 0 or step == cfg.updates:
                evals = [_evaluate(se, ts.params) for se in sessions]
                ev = _mean_eval(evals)
                if logger is not None:
                    _log_eval(logger, step, last, ev, netlists, evals,
                              time.perf_counter() - t_start)
                if ev["reward"] > best["reward"]:
                    best = {**ev, "update": step}
            if step % cfg.checkpoint_every == 0 or step == cfg.updates:
                store.save(step, ts.params, meta, _train_target(ts, stats))
    finally:
        if bar is not None:
            bar.close()
        if logger is not None:
            logger.close()
        store.close()
    policy_dir = os.path.join(out_dir, "policy")
    save_checkpoint(policy_dir, step, ts.params, {**meta, "update": step},
                    max_to_keep=1)
    summary = {"updates": step, "seconds": time.perf_counter() - t_start,
               "train": last, "best_greedy": best if np.isfinite(best["reward"])
               else None, "policy": policy_dir}
    if primary:
        with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1, default=float)
    return summary, ts


def keep_updating(elapsed: float, durations: list[float], budget_s: float) -> bool:
    """Whether fine-tuning runs another update: always a first one; then
    while ``elapsed`` plus the last update's duration stays within
    ``budget_s``. The first update's duration is mostly compilation, so it
    is no estimate of the next: after it, a second update runs if any of the
    budget is left (in a fresh process on Ariane133 the first update takes
    tens of seconds and the next about ten, so a two-minute budget got one
    update where several fit; experiments/results_rl.md, session 15)."""
    if not durations:
        return True
    expected = durations[-1] if len(durations) > 1 else 0.0
    return elapsed + expected <= budget_s


def fine_tune(policy, netlist: Netlist, budget_s: float, seed: int = 0,
              num_envs: int | None = None, t_started: float | None = None,
              log=None, soft: str | None = None, ppo_settings=None):
    """``policy`` fine-tuned on ``netlist`` by PPO for about ``budget_s``
    seconds (placer.place(method="rl", budget_s=...)).

    Updates run while the time since ``t_started`` (default: now) plus the
    expected duration of the next stays within the budget (see
    keep_updating), and at least one runs, so a budget shorter than the
    compilation is exceeded. The PPO settings
    are today's defaults (placer.config.PPOConfig: the best settings
    measured, e.g. gae_lambda 1 and the imitation loss) with the fine-tuning
    defaults over them (placer.config.FINE_TUNE_PPO: the elite, improved by a
    short annealing chain), or ``ppo_settings`` instead of those; not the
    settings saved with the policy, except the episodes per update; the
    network and the
    force-directed steps are the policy's. Optimizer state and reward
    statistics start fresh. The returned facts list the saved settings that
    were replaced (``replaced_settings``).

    Args:
        policy: a float placer.rl.policy.Policy (a conv-head policy places
            any grid; a deconv one only its own).
        netlist: the design.
        budget_s: seconds.
        seed: seed of the updates' sampling.
        num_envs: episodes per update (default: the policy's training value).
        t_started: perf_counter time the budget counts from.
        log: None, or a function called with a line per update.
        soft: the episodes' soft-macro placer, whose proxy is the reward
            ("fd" or "analytical"); None: the policy's training one.
        ppo_settings: PPO settings over PPOConfig's defaults, replacing
            FINE_TUNE_PPO (a PPOConfig or a dict of its fields;
            placer.config.ppo_overrides); ``num_envs`` wins over them.

    Returns:
        (the fine-tuned Policy, {"updates", "seconds", "proxy" (the last
        update's mean episode proxy), "soft", "replaced_settings"}).

    Raises:
        PlacerInputError: a quantized policy, a non-positive budget, or a
            deconv policy on another grid.
    """
    t0 = time.perf_counter() if t_started is None else t_started
    if not budget_s > 0:
        raise PlacerInputError(f"budget_s must be positive, got {budget_s!r}")
    if policy.meta.get("format") != POLICY_FORMAT or hasattr(policy, "codes"):
        raise PlacerInputError("only a float policy can be fine-tuned; fine-tune "
                               "the float policy, then quantize it")
    meta = policy.meta
    saved = dict(meta.get("ppo", {}))
    over = (ppo_overrides(ppo_settings) if ppo_settings is not None
            else dict(FINE_TUNE_PPO))
    current = {**dataclasses.asdict(PPOConfig()), **over}
    ppo_fields = {**over, "num_envs": over.get("num_envs", saved.get(
        "num_envs", current["num_envs"]))}
    replaced = {k: {"saved": v, "used": current[k]} for k, v in saved.items()
                if k in current and k != "num_envs" and current[k] != v}
    if num_envs is not None:
        if isinstance(num_envs, bool) or not isinstance(num_envs, int) or num_envs < 1:
            raise PlacerInputError(f"envs must be a positive integer, got {num_envs!r}")
        ppo_fields["num_envs"] = num_envs
    # the policy's own network, its prior's parametrisation included: on
    # Ariane133 the shipped policy rewritten for wire_prior_log
    # (networks.with_log_prior) fine-tuned worse in 30 minutes
    # (experiments/results_rl.md, "The prior's parametrisation")
    cfg = TrainRLConfig(
        model=model_config(meta),
        ppo=PPOConfig(**ppo_fields),
        fd_steps=tuple(meta.get("fd_steps", (100, 100, 100))),
        soft=meta.get("soft", "fd") if soft is None else soft, seed=seed)
    s = netlist.settings
    check_grid(policy, int(s.grid_rows), int(s.grid_cols))
    se = build_session(cfg, netlist)
    ts = ppo.init_train_state(se.env, se.net, se.problem, jax.random.PRNGKey(seed),
                              se.optimizer, params=policy.params,
                              elite=ppo.elite_slots(cfg.ppo))
    proxy, durations = float("nan"), []     # one duration per update
    while keep_updating(time.perf_counter() - t0, durations, budget_s):
        t = time.perf_counter()
        ts, m = se.update(ts, se.problem)
        proxy = float(jax.device_get(m["proxy"]))
        durations.append(time.perf_counter() - t)
        updates = len(durations)
        if log is not None:
            extra = ""
            if "elite_proxy" in m:
                elite = float(jax.device_get(m["elite_proxy"]))
                extra = f", elite (search) {elite:.4f}"
            log(f"fine-tune update {updates}: mean episode proxy {proxy:.4f}{extra}, "
                f"{time.perf_counter() - t0:.0f} s")
    info = {"updates": updates, "seconds": time.perf_counter() - t0, "proxy": proxy,
            "soft": cfg.soft, "replaced_settings": replaced}
    new_meta = {**meta, "model": dataclasses.asdict(cfg.model),
                "ppo": dataclasses.asdict(cfg.ppo), "soft": cfg.soft,
                "fine_tuned_on": netlist.name,
                "training_designs": list(dict.fromkeys([*training_designs(meta),
                                                        netlist.name])),
                "fine_tune_updates": updates,
                "grid_rows": int(s.grid_rows), "grid_cols": int(s.grid_cols)}
    return Policy(net=se.net, params=ts.params, meta=new_meta), info


__all__ = ["POLICY_FORMAT", "Session", "build_session", "checkpoint_model", "fine_tune",
           "initial_params", "policy_meta", "train"]
