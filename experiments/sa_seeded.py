"""Does the agent's placement make a better start for simulated annealing?
SA on Ariane133 from the shipped policy's zero-shot placement (one of the
four chains; the others from the greedy and random placements, as
``place(method="sa")`` starts them) against SA's own starts, at the same
budget with the clock started before the policy runs.

    python experiments/sa_seeded.py --arm seeded|sa [--seed 0] [--budget 300]

Prints one JSON line: the float32 and float64 proxies of the best
placement, SA's stages, the best start's proxy and, for ``seeded``, the
agent's proxy and the seconds its episodes took.
"""

from __future__ import annotations

import argparse
import json
import time

import jax
import numpy as np
from _paths import ARIANE

import placer
from placer.config import RLOptions, SAConfig
from placer.env.env import make_env, random_policy
from placer.placers.classic import legal_episodes
from placer.placers.registry import Problem
from placer.placers.rl import place_policy
from placer.placers.state import rollout, rollouts, to_state, with_orients
from placer.search.greedy import greedy_policy
from placer.search.sa import anneal


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--arm", choices=("sa", "seeded"), required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--budget", type=float, default=300.0)
    a = ap.parse_args()
    nl = placer.load_netlist(str(ARIANE / "netlist.pb.txt.gz"),
                             str(ARIANE / "legalized.plc"))
    t0 = time.perf_counter()
    env, params = make_env(nl, order="area", soft="analytical")
    problem = Problem(nl, env, params, jax.random.PRNGKey(a.seed), seed=a.seed,
                      t0=t0)
    cfg = SAConfig()
    base = np.asarray(params.orient)
    starts, info = [], {}
    if a.arm == "seeded":
        agent = place_policy(problem, RLOptions())
        starts.append(to_state(problem, agent.xy, base))
        info = {"agent_proxy": float(agent.cost),
                "agent_seconds": time.perf_counter() - t0}
    rand = rollouts(problem, random_policy, problem.key,
                    max(1, cfg.chains - 1 - len(starts)))
    g = rollout(problem, greedy_policy(env, params), problem.key)
    starts.append(to_state(problem, g["xy"], base))
    starts += [to_state(problem, rand["xy"][i], base)
               for i in np.flatnonzero(legal_episodes(rand))]
    starts = starts[: cfg.chains]
    _, k_sa = jax.random.split(problem.key)
    _, orients, xy, cost, history = anneal(
        env, params, np.stack([c for c, _ in starts]),
        np.stack([o for _, o in starts]), k_sa, a.budget, cfg, t_started=t0)
    n = nl.num_nodes
    out = nl.with_placement(np.asarray(xy)[:n], with_orients(problem, orients)[:n])
    print(json.dumps({"arm": a.arm, "seed": a.seed, "budget_s": a.budget,
                      "proxy_float32": float(cost),
                      "proxy": placer.proxy_cost(out).proxy,
                      "stages": len(history) - 1, "best_start": history[0][1],
                      "wall_s": time.perf_counter() - t0, **info}), flush=True)


if __name__ == "__main__":
    main()
