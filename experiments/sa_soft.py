"""One SA (+ refinement) run with a chosen soft-macro placer; writes a JSON line.

    python experiments/sa_soft.py --design ariane133 --soft analytical --budget 1800 \\
        --out /tmp/sa_soft/ariane133_analytical

Runs ``placer.place(nl, method="sa", budget_s=B, refine=True, soft=SOFT, seed=SEED)``
from the all-centre start (place() ignores the input's movable positions), then
measures the float64 proxy cost and the legality of the written placement. The
JSON (``<out>.json``) and the placement (``<out>.plc``) go next to each other;
experiments/results_soft.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from _paths import ROOT, SHARED

import placer

DESIGNS = {
    "ariane133": (SHARED / "netlists/ariane133_ng45/netlist.pb.txt.gz",
                  SHARED / "netlists/ariane133_ng45/legalized.plc"),
    "design_1": (ROOT / "netlists/design_1/netlist.pb.txt",
                 ROOT / "netlists/design_1/initial.plc"),
    "design_2": (ROOT / "netlists/design_2/netlist.pb.txt",
                 ROOT / "netlists/design_2/initial.plc"),
}


def load(design: str):
    """A design by name; "ariane136" is the flat Ariane136 clustered by
    placer.cluster (800 soft macros, settings from CT's initial.plc header)."""
    if design == "ariane136":
        flat = SHARED / "netlists/ariane136_ng45_flat"
        nl = placer.load_netlist(flat / "netlist_flat.pb.txt.gz")
        t = time.perf_counter()
        out = placer.cluster(nl, plc=flat / "initial.plc")
        out.metadata["cluster_seconds"] = time.perf_counter() - t
        return out
    net, plc = DESIGNS[design]
    return placer.load_netlist(net, placement=plc)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--design", default="ariane133",
                   choices=[*DESIGNS, "ariane136"])
    p.add_argument("--soft", default="analytical", choices=["fd", "analytical"])
    p.add_argument("--budget", type=float, default=1800.0)
    p.add_argument("--no-refine", action="store_true")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                   help="an SA option (placer.config.SAConfig), value in JSON, "
                        "e.g. steps_per_stage=6000")
    a = p.parse_args()
    options = {k: json.loads(v) for k, v in (o.split("=", 1) for o in a.option)}
    nl = load(a.design)
    t = time.perf_counter()
    out = placer.place(nl, method="sa", seed=a.seed, budget_s=a.budget,
                       refine=not a.no_refine, soft=a.soft, progress=True, **options)
    wall = time.perf_counter() - t
    c = placer.proxy_cost(out)
    bad = placer.check_legality(out)
    os.makedirs(os.path.dirname(a.out) or ".", exist_ok=True)
    placer.save_placement(out, a.out + ".plc")
    rec = {"design": a.design, "soft": a.soft, "budget_s": a.budget,
           "seed": a.seed, "refine": not a.no_refine, "options": options,
           "wall_s": wall, **c.as_dict(),
           # SA's own placement (before refinement; without it, the same)
           "sa_proxy": out.metadata["placer"].get("proxy_before_refine", c.proxy),
           "legality_violations": len(bad), "load": os.getloadavg()}
    with open(a.out + ".json", "w") as f:
        json.dump(rec, f)
    print(json.dumps(rec), flush=True)


if __name__ == "__main__":
    main()
