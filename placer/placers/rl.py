"""The learned placer: a trained PPO policy, optionally fine-tuned on the
design first (``place(method="rl", budget_s=...)``)."""

from __future__ import annotations

import numpy as np

# Imported for its registration: load_policy then reads quantized policies.
import placer.quant.api  # noqa: F401
from placer.config import RLOptions
from placer.placers.registry import Placed, Problem, register
from placer.rl.policy import Policy, best_episode, load_policy
from placer.rl.train import fine_tune


@register("rl", RLOptions,
          "the trained PPO policy (policy= a checkpoint; default: the shipped "
          "one): the best of its greedy and `samples` sampled episodes (at "
          "`temperature`); with budget_s, fine-tuned on the design first")
def place_policy(problem: Problem, opts: RLOptions) -> Placed:
    pol = opts.policy if isinstance(opts.policy, Policy) else load_policy(opts.policy)
    info = {}
    if problem.budget_s is not None:
        pol, info["fine_tune"] = fine_tune(
            pol, problem.netlist, problem.budget_s, seed=problem.seed,
            num_envs=opts.envs, t_started=problem.t0, log=problem.report,
            soft=problem.env.spec.soft, ppo_settings=opts.ppo)
    xy, cost, episode = best_episode(problem.env, problem.params, problem.netlist,
                                     pol, samples=opts.samples, greedy=opts.greedy,
                                     seed=problem.seed,
                                     temperature=float(opts.temperature))
    info["episode"] = episode
    return Placed(xy, np.asarray(problem.params.orient), cost, info)


__all__ = ["place_policy"]
