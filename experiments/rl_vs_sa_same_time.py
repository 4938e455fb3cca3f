"""The shipped policy zero-shot against SA given the policy's own wall time,
on one design, seeds 0-2; one JSON line per seed.

    python experiments/rl_vs_sa_same_time.py design_1|design_2|ariane133

Both placers run once first (seed 99) so that compilation stays out of the
timings; then, per seed, ``place(method="rl")`` (greedy + 16 samples, no
fine-tuning) is timed, and ``place(method="sa", budget_s=<that time>)``
runs with the same seed. The question (results_rl.md, session 14): does the
policy earn its place where it should, at budgets too short for search?
"""

import argparse
import json
import time

from sa_soft import DESIGNS, load

import placer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("design", choices=[*DESIGNS, "ariane136"])
    d = ap.parse_args().design
    nl = load(d)
    placer.place(nl, method="rl", seed=99)  # warm-up: compile outside the timings
    placer.place(nl, method="sa", seed=99, budget_s=5)
    for s in range(3):
        t = time.perf_counter()
        r = placer.place(nl, method="rl", seed=s)
        w = time.perf_counter() - t
        a = float(placer.proxy_cost(r).proxy)
        t = time.perf_counter()
        q = placer.place(nl, method="sa", seed=s, budget_s=w)
        ws = time.perf_counter() - t
        b = float(placer.proxy_cost(q).proxy)
        print(json.dumps({"design": d, "seed": s, "rl_zero_shot": a, "rl_s": w,
                          "sa_same_time": b, "sa_s": ws}), flush=True)


if __name__ == "__main__":
    main()
