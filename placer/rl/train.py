"""PPO training of the placement policy: a thin Python loop around one jitted
update.

The loop logs every update's metrics (TensorBoard event files via
tensorboardX, and metrics.jsonl at each evaluation), evaluates the greedy
policy every ``eval_every`` updates, saves orbax checkpoints (parameters,
optimizer state, PRNG key, update count, reward statistics) and resumes from
the newest one: a killed run continues the same run, bit for bit.

The policy can start from scratch, from the encoder of a reward-model
checkpoint (``encoder_checkpoint``), or from a policy checkpoint
(``init_checkpoint``: fine-tuning on a new netlist with the same grid).

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
from placer.config import TrainRLConfig
from placer.env.env import make_env
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.rl import ppo
from placer.rl.networks import PolicyValue, uncommitted, with_encoder
from placer.rl.policy import POLICY_FORMAT
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


def policy_meta(cfg: TrainRLConfig, netlist: Netlist, **extra) -> dict:
    """The JSON metadata a policy checkpoint carries."""
    s = netlist.settings
    return {"format": POLICY_FORMAT, "model": dataclasses.asdict(cfg.model),
            "grid_rows": int(s.grid_rows), "grid_cols": int(s.grid_cols),
            "netlist": netlist.name, "ppo": dataclasses.asdict(cfg.ppo),
            "fd_steps": list(cfg.fd_steps), **extra}


def build_session(cfg: TrainRLConfig, netlist: Netlist) -> Session:
    """Env, problem, network and jitted functions for ``netlist``."""
    if not netlist.metadata.get("grid_given", True):
        from placer.gridding import grid_for
        netlist = grid_for(netlist)
    env, params = make_env(netlist, fd_schedule=FDSchedule(num_steps=cfg.fd_steps))
    problem = ppo.Problem(params, netlist_graph(netlist))
    s = netlist.settings
    net = PolicyValue.from_config(cfg.model, int(s.grid_rows), int(s.grid_cols))
    env, optimizer, update, evaluate = ppo.compiled(env.spec, net, cfg.ppo)
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
        from placer.rl.policy import check_grid, load_policy

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
        from placer.reward_model.model import load_reward_model

        rm = load_reward_model(cfg.encoder_checkpoint)
        params = with_encoder(params, rm.params["params"]["encoder"])
    return params


def _train_target(ts: ppo.TrainState) -> dict:
    return {"opt_state": ts.opt_state, "key": ts.key, "step": ts.step,
            "reward_stats": {"mean": ts.reward_stats.mean, "var": ts.reward_stats.var,
                             "count": ts.reward_stats.count}}


def _from_train(params, train: dict) -> ppo.TrainState:
    params, train = uncommitted((params, train))
    rs = train["reward_stats"]
    return ppo.TrainState(params=params, opt_state=train["opt_state"],
                          key=train["key"], step=train["step"],
                          reward_stats=ppo.RewardStats(mean=rs["mean"], var=rs["var"],
                                                       count=rs["count"]))


def train(cfg: TrainRLConfig, netlist: Netlist,
          log=print) -> tuple[dict, ppo.TrainState]:
    """Trains a policy on ``netlist`` as ``cfg`` says.

    Returns:
        The JSON summary (also written to summary.json) and the final
        TrainState.

    Raises:
        PlacerInputError: options that do not fit together, or a bad
            checkpoint to start from.
    """
    from placer.reward_model.train import _Logger

    if cfg.updates < 1 or cfg.eval_every < 1 or cfg.checkpoint_every < 1:
        raise PlacerInputError("updates, eval_every and checkpoint_every must be >= 1")
    t_start = time.perf_counter()
    out_dir = os.path.abspath(cfg.output_dir)
    os.makedirs(out_dir, exist_ok=True)
    session = build_session(cfg, netlist)
    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_state = jax.random.split(key)
    params = initial_params(cfg, session, k_init)
    ts = ppo.init_train_state(session.env, session.net, session.problem, k_state,
                              session.optimizer, params=params)
    meta = policy_meta(cfg, netlist)
    store = CheckpointStore(os.path.join(out_dir, "checkpoints"), cfg.keep_checkpoints)
    if cfg.resume and store.latest_step() is not None:
        ck = store.restore(train_target=_train_target(ts), params_target=ts.params)
        ts = _from_train(ck.params, ck.train)
        log(f"resumed from update {int(ts.step)}")
    step = int(ts.step)
    logger = _Logger(out_dir)
    bar = None
    if cfg.progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.updates, initial=step, desc="ppo", unit="update",
                   dynamic_ncols=True)
    best = {"reward": -np.inf}
    last: dict = {}
    try:
        while step < cfg.updates:
            ts, m = session.update(ts, session.problem)
            step += 1
            last = {k: float(v) for k, v in jax.device_get(m).items()}
            logger.scalars(step, last, "train")
            if bar is not None:
                bar.update(1)
                bar.set_postfix(reward=f"{last['episode_reward']:.4f}")
            if step % cfg.eval_every == 0 or step == cfg.updates:
                out = jax.device_get(session.evaluate(ts.params, session.problem))
                ev = {"reward": float(out["reward"]), "proxy": float(out["proxy"]),
                      "wirelength": float(out["wirelength"]),
                      "density": float(out["density"]),
                      "congestion": float(out["congestion"]),
                      "infeasible": bool(out["infeasible"])}
                logger.scalars(step, ev, "greedy")
                logger.record(step, {"train": last, "greedy": ev,
                                     "seconds": time.perf_counter() - t_start})
                if ev["reward"] > best["reward"]:
                    best = {**ev, "update": step}
            if step % cfg.checkpoint_every == 0 or step == cfg.updates:
                store.save(step, ts.params, meta, _train_target(ts))
    finally:
        if bar is not None:
            bar.close()
        logger.close()
        store.close()
    policy_dir = os.path.join(out_dir, "policy")
    save_checkpoint(policy_dir, step, ts.params, {**meta, "update": step},
                    max_to_keep=1)
    summary = {"updates": step, "seconds": time.perf_counter() - t_start,
               "train": last, "best_greedy": best if np.isfinite(best["reward"])
               else None, "policy": policy_dir}
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, default=float)
    return summary, ts


__all__ = ["POLICY_FORMAT", "Session", "build_session", "initial_params",
           "policy_meta", "train"]
