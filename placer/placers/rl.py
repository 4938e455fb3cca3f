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
          "`temperature`); with budget_s, fine-tuned on the design first (the "
          "better of its episodes before and after)")
def place_policy(problem: Problem, opts: RLOptions) -> Placed:
    pol = opts.policy if isinstance(opts.policy, Policy) else load_policy(opts.policy)

    def episodes(policy):
        return best_episode(problem.env, problem.params, problem.netlist, policy,
                            samples=opts.samples, greedy=opts.greedy,
                            seed=problem.seed, temperature=float(opts.temperature))

    if problem.budget_s is None:
        xy, cost, episode = episodes(pol)
        return Placed(xy, np.asarray(problem.params.orient), cost,
                      {"episode": episode})
    # With a budget the policy's own episodes before fine-tuning compete too
    # (the same compiled program, run once more): a budget too short for the
    # updates to help never returns worse than the zero-shot placement.
    before = episodes(pol)
    pol, tuned = fine_tune(pol, problem.netlist, problem.budget_s, seed=problem.seed,
                           num_envs=opts.envs, t_started=problem.t0,
                           log=problem.report, soft=problem.env.spec.soft,
                           ppo_settings=opts.ppo)
    after = episodes(pol)
    better = after[1] <= before[1]
    xy, cost, episode = after if better else before
    info = {"fine_tune": tuned, "episode": episode,
            "episode_from": "fine-tuned" if better else "zero-shot",
            "proxy_zero_shot": before[1], "proxy_fine_tuned": after[1]}
    return Placed(xy, np.asarray(problem.params.orient), cost, info)


__all__ = ["place_policy"]
