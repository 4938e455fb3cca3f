"""Environment throughput and classical placers on Ariane133.

    python experiments/bench_placers.py [--sa-budgets 300 1800] [--envs 64]

Prints markdown tables:
  1. environment macro placements per second (random masked policy, whole
     episodes including the final force-directed pass and proxy cost), 1 and
     N environments (vmap);
  2. proxy cost (float64, placer.proxy_cost) and wall time of random, greedy,
     SA with each budget, and SA + refinement, beside the published numbers.
Every placer starts fair: all movable macros are placed by the method and the
soft macros re-placed by force-directed placement from the canvas centre.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import jax
import numpy as np
from _paths import ARIANE

import placer
from placer.env.env import make_env, random_policy

PUBLISHED = [
    ("Circuit Training, from scratch (TILOS, 8 V100, 36.3 h)", 0.848,
     "0.102 / 0.518 / 0.973"),
    ("Circuit Training, AlphaChip checkpoint fine-tuned (36.2 h)", 0.820,
     "0.101 / 0.508 / 0.931"),
    ("Simulated annealing, 320 jobs x 12 h (TILOS)", 0.801, "0.090 / 0.515 / 0.907"),
    ("Simulated annealing, another logged run (12.5 h)", 0.7552,
     "0.0881 / 0.5084 / 0.8257"),
]


def env_throughput(nl, n_envs, repeats):
    env, params = make_env(nl)
    m = int(params.num_to_place)
    rows = []
    for n in (1, n_envs):
        # steps vmapped, terminal steps in turn (PlacementEnv.rollouts)
        run = jax.jit(lambda keys: env.rollouts(params, keys, random_policy))
        keys = jax.random.split(jax.random.PRNGKey(0), n)
        t = time.perf_counter()
        jax.block_until_ready(run(keys))
        compile_s = time.perf_counter() - t
        ts = []
        for r in range(repeats):
            keys = jax.random.split(jax.random.PRNGKey(r + 1), n)
            t = time.perf_counter()
            jax.block_until_ready(run(keys))
            ts.append(time.perf_counter() - t)
        med = statistics.median(ts)
        rows.append((n, med, n * m / med, n / med, compile_s))
    return rows, m


def run_placer(nl, method, **kw):
    t = time.perf_counter()
    out = placer.place(nl, method=method, seed=0, **kw)
    wall = time.perf_counter() - t
    c = placer.proxy_cost(out)
    bad = placer.check_legality(out)
    return c, wall, len(bad), out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sa-budgets", type=float, nargs="*", default=[300.0, 1800.0])
    p.add_argument("--refine-budget", type=float, default=1800.0,
                   help="total budget of the SA + refinement run (s)")
    p.add_argument("--envs", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--skip-env", action="store_true")
    p.add_argument("--out", type=str, default=None, help="write placements here")
    args = p.parse_args()
    if not ARIANE.exists():
        sys.exit(f"{ARIANE} not found")
    nl = placer.load_netlist(ARIANE / "netlist.pb.txt.gz",
                             placement=ARIANE / "legalized.plc")
    print(f"# placers on Ariane133 ({time.strftime('%Y-%m-%d %H:%M')}, "
          f"{platform.machine()}, jax {jax.__version__}, "
          f"{jax.devices()[0].platform} x{len(jax.devices())})\n")
    if not args.skip_env:
        rows, m = env_throughput(nl, args.envs, args.repeats)
        print(f"Environment: whole random masked episodes ({m} macros each), "
              "incl. force-directed soft macros (300 steps) and proxy cost.\n")
        print("| environments | episode batch (median, s) | macro placements/s | "
              "episodes/s | compile (s) |")
        print("|---|---|---|---|---|")
        for n, med, rate, eps, comp in rows:
            print(f"| {n} | {med:.3f} | {rate:.0f} | {eps:.2f} | {comp:.1f} |")
        print(flush=True)

    runs = [("random", "random", {}), ("greedy (wire mask)", "greedy", {})]
    for b in args.sa_budgets:
        runs.append((f"SA, {b / 60:.0f} min budget", "sa", {"budget_s": b}))
    if args.refine_budget:
        runs.append((f"SA + refinement, {args.refine_budget / 60:.0f} min budget",
                     "sa", {"budget_s": args.refine_budget, "refine": True}))
    print("| placer | proxy | WL / density / congestion | wall (s) | legality "
          "violations |")
    print("|---|---|---|---|---|")
    results = {}
    for label, method, kw in runs:
        c, wall, nbad, out = run_placer(nl, method, **kw)
        results[label] = {"proxy": c.proxy, "wirelength": c.wirelength,
                          "density": c.density, "congestion": c.congestion,
                          "seconds": wall, "violations": nbad}
        print(f"| {label} | {c.proxy:.4f} | {c.wirelength:.4f} / {c.density:.4f} / "
              f"{c.congestion:.4f} | {wall:.0f} | {nbad} |", flush=True)
        if args.out:
            d = Path(args.out)
            d.mkdir(parents=True, exist_ok=True)
            name = label.split(",")[0].replace(" ", "_").replace("+", "plus")
            tag = f"{name}_{int(kw.get('budget_s', 0))}"
            placer.save_placement(out, d / f"{tag}.plc", costs=c.as_dict())
    print("\nPublished (../shared/reference/PUBLISHED.md):\n")
    print("| placer | proxy | WL / density / congestion |")
    print("|---|---|---|")
    for label, proxy, parts in PUBLISHED:
        print(f"| {label} | {proxy} | {parts} |")
    if args.out:
        (Path(args.out) / "results.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    np.set_printoptions(precision=4)
    main()
