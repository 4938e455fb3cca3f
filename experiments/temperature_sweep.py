"""The best of the rl method's sampled episodes at several temperatures.

For each design and temperature T: ``--groups`` groups of ``--samples``
sampled episodes of a policy (keys 0, 1, ...), no greedy episode, no search;
prints each group's best float32 proxy (the environment's, analytical soft
placer) and their median, as a markdown table. The greedy episode is
printed once per design.

    python experiments/temperature_sweep.py --policy shipped|untrained|CHECKPOINT \\
        --designs ariane133 design_2 macro_tiles_10x10 ibm01 --temps 1 0.7 0.5 0.35

(experiments/results_rl.md, session 12: the default ``temperature=0.5``.)
"""

from __future__ import annotations

import argparse
import statistics

from pretrain_bc import EVAL_DESIGNS, eval_design, policy_of

from placer.env.env import make_env
from placer.rl.policy import best_episode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--policy", default="shipped",
                    help="shipped, untrained (fresh parameters, key 0) or a checkpoint")
    ap.add_argument("--designs", nargs="+", default=list(EVAL_DESIGNS),
                    choices=EVAL_DESIGNS)
    ap.add_argument("--temps", nargs="+", type=float, default=[1.0, 0.7, 0.5, 0.35])
    ap.add_argument("--samples", type=int, default=16, help="samples per group")
    ap.add_argument("--groups", type=int, default=4)
    a = ap.parse_args()
    if a.samples < 1 or a.groups < 1 or min(a.temps) <= 0:
        ap.error("--samples and --groups must be >= 1 and every temperature > 0")
    pol = policy_of(a.policy)
    print(f"policy: {a.policy}; best of {a.samples} samples, {a.groups} groups\n")
    print("| design | T | best per group | median |")
    print("|---|---|---|---|")
    for label in a.designs:
        nl = eval_design(label)
        env, params = make_env(nl, soft="analytical")
        greedy = best_episode(env, params, nl, pol, samples=0)[1]
        print(f"| {label} | greedy | {greedy:.4f} | |", flush=True)
        for t in a.temps:
            best = [best_episode(env, params, nl, pol, samples=a.samples, greedy=False,
                                 seed=g, temperature=t)[1] for g in range(a.groups)]
            print(f"| {label} | {t:g} | {' '.join(f'{b:.4f}' for b in best)} | "
                  f"{statistics.median(best):.4f} |", flush=True)


if __name__ == "__main__":
    main()
