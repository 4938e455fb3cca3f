"""One ``place(method="rl", budget_s=B)`` run on Ariane133 (or another design)
from the all-centre start, with PPO settings overridden; writes a JSON line
and the placement.

    python experiments/rl_budget.py --budget 1800 [--refine] [--soft analytical] \\
        --out /tmp/rl/ariane133 [--ppo imitation_elite=true imitation_states=both] \\
        [--policy CHECKPOINT | --scratch] [--design design_1]

``--design`` takes the names of experiments/sa_soft.py (ariane133, the
default; design_1, design_2; ariane136, clustered first), so the two
scripts run the agent and SA on the same designs.

``--ppo key=value ...`` gives the fine-tuning's PPO settings over
PPOConfig's defaults (``place(..., ppo={...})``), replacing the fine-tuning
defaults (placer.config.FINE_TUNE_PPO: the elite with the anneal search),
which run without ``--ppo``. ``--ppo imitation_elite=false`` runs
PPOConfig's defaults alone (the "defaults" rows of results_rl.md).
The JSON line holds the float64 proxy of the placement (after
refinement with --refine; ``agent_proxy``: the agent's own, before it), its
terms, the legality violations, the
fine-tuning's updates and seconds, the policy's best proxy before and
after fine-tuning and which the rl method returned, and the settings. The progress lines
("fine-tune update N: ...") go to stderr; experiments/plot_fine_tune_log.py
draws them.

``--scratch`` trains from a random initialisation instead (the shipped
policy's network, its parameters drawn afresh from ``--seed``, no
pretrained encoder): the same fine-tuning loop and settings, so the two
arms of issue 18's item 5 differ only in where the parameters start.
Without ``--budget`` the policy places zero-shot (no fine-tuning).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
import time

import jax
from sa_soft import DESIGNS, load

import placer
from placer.config import PPOConfig, TrainRLConfig
from placer.rl.policy import Policy, load_policy, model_config
from placer.rl.train import build_session, initial_params


def parse_ppo(items: list[str]) -> dict:
    """{field: value} of "key=value" strings, typed as PPOConfig's fields."""
    fields = {f.name: f for f in dataclasses.fields(PPOConfig)}
    out = {}
    for item in items:
        key, _, raw = item.partition("=")
        if key not in fields or not raw:
            raise SystemExit(f"--ppo {item!r}: expected key=value, key one of "
                             f"{', '.join(fields)}")
        kind = type(getattr(PPOConfig(), key))
        if kind is bool:
            if raw.lower() not in ("true", "false"):
                raise SystemExit(f"--ppo {key} needs true or false, got {raw!r}")
            out[key] = raw.lower() == "true"
        else:
            out[key] = kind(raw)
    return out


def scratch_policy(path, nl, seed: int, soft: str) -> Policy:
    """The network of the policy at ``path`` (None: the shipped one) with
    freshly initialised parameters (key ``seed``), for ``nl``'s grid; its
    metadata lists no training design."""
    base = load_policy(path)
    cfg = TrainRLConfig(model=model_config(base.meta), soft=soft, seed=seed)
    session = build_session(cfg, nl)
    params = initial_params(cfg, session, jax.random.PRNGKey(seed))
    meta = {**base.meta, "training_designs": [], "netlists": [],
            "scratch_seed": seed}
    return Policy(net=session.net, params=params, meta=meta)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--budget", type=float, default=None,
                    help="seconds of fine-tuning (left out: the policy zero-shot)")
    ap.add_argument("--refine", action="store_true")
    ap.add_argument("--temperature", type=float, default=None,
                    help="the final samples' temperature (default: place()'s, 0.5)")
    ap.add_argument("--soft", default="analytical", choices=("analytical", "fd"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", required=True, help="path prefix of .json and .plc")
    ap.add_argument("--ppo", nargs="*", default=[], metavar="KEY=VALUE")
    ap.add_argument("--policy", default=None,
                    help="a policy checkpoint (default: the shipped policy)")
    ap.add_argument("--scratch", action="store_true",
                    help="the policy's network with random parameters (from --seed)")
    ap.add_argument("--design", default="ariane133", choices=[*DESIGNS, "ariane136"])
    a = ap.parse_args()
    over = parse_ppo(a.ppo)
    nl = load(a.design)
    t = time.perf_counter()
    policy = scratch_policy(a.policy, nl, a.seed, a.soft) if a.scratch else a.policy
    temperature = {} if a.temperature is None else {"temperature": a.temperature}
    res = placer.place(nl, method="rl", budget_s=a.budget, refine=a.refine,
                       soft=a.soft, seed=a.seed, progress=True, ppo=over or None,
                       policy=policy, **temperature)
    wall = time.perf_counter() - t
    c = placer.proxy_cost(res)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    placer.save_placement(res, a.out + ".plc")
    meta = res.metadata["placer"]
    record = {"design": a.design, "budget_s": a.budget, "refine": a.refine,
              "soft": a.soft, "temperature": a.temperature,
              "seed": a.seed, "ppo": over, "policy": a.policy,
              "scratch": a.scratch, "proxy": c.proxy,
              # the agent's own placement (--refine: before refinement)
              "agent_proxy": meta.get("proxy_before_refine", c.proxy),
              "wirelength": c.wirelength, "density": c.density,
              "congestion": c.congestion, "wall_s": wall,
              "legality_violations": len(placer.check_legality(res)),
              "fine_tune": {k: v for k, v in meta.get("fine_tune", {}).items()
                            if k != "replaced_settings"},
              # with a budget: the policy's best before and after fine-tuning,
              # and which one the rl method returned
              **{k: meta[k] for k in ("episode_from", "proxy_zero_shot",
                                      "proxy_fine_tuned") if k in meta},
              "load": os.getloadavg()}
    line = json.dumps(record, default=float)
    with open(a.out + ".json", "w", encoding="utf-8") as f:
        f.write(line + "\n")
    print(line, file=sys.stdout, flush=True)


if __name__ == "__main__":
    main()
