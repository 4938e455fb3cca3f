"""One analytical soft-macro pass on fixed hard macros, under varied settings.

    python experiments/soft_pass_sweep.py [--plc PLC]   # default: the 30-min SA
    #                                                 + refine placement in placements/
    python experiments/soft_pass_sweep.py --warm

Default: each AnalyticalConfig variant below, one pass from the canvas
centre, float64 proxy of the result. ``--warm``: the warm-start question of
SA's between-stage re-placement: a short pass started from soft positions
found for the same hard macros, or for other ones (legalized.plc's),
instead of from the centre. experiments/results_soft.md (section 2c) quotes
both.
"""

from __future__ import annotations

import argparse
import json
import time

from _paths import ARIANE, ROOT

import placer
from placer.netlist.model import SOFT_MACRO

A = ARIANE
VARIANTS = [{}, {"jitter": 0.005}, {"jitter": 0.02}, {"jitter": 0.04},
            {"iterations": 800}, {"congestion_weight": 1.0},
            {"congestion_weight": 0.25}, {"congestion_from": 0.6},
            {"target_density": 0.65}, {"target_density": 0.75}, {"lr_end": 0.01},
            {"gamma": 0.2}]


def _row(label: dict, nl, t: float) -> None:
    c = placer.proxy_cost(nl)
    print(json.dumps({**label, "proxy": round(c.proxy, 5),
                      "wl": round(c.wirelength, 5), "density": round(c.density, 4),
                      "congestion": round(c.congestion, 4),
                      "s": round(time.time() - t, 1)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plc", default=str(ROOT / "experiments/placements/"
                                         "ariane133_sa_refine_30min.plc"))
    ap.add_argument("--warm", action="store_true")
    a = ap.parse_args()
    nl = placer.load_netlist(A / "netlist.pb.txt.gz", a.plc)
    if not a.warm:
        for v in VARIANTS:
            t = time.time()
            out = placer.place_soft_macros(nl, method="analytical", **v)
            _row({"variant": v}, out, t)
        return
    other = placer.load_netlist(A / "netlist.pb.txt.gz", A / "legalized.plc")
    soft = nl.node_kind == SOFT_MACRO
    same = placer.place_soft_macros(nl, method="analytical")
    xy = nl.node_xy.copy()
    xy[soft] = placer.place_soft_macros(other, method="analytical").node_xy[soft]
    for name, start in (("same", same), ("other", nl.with_placement(xy))):
        _row({"start": name, "iterations": 0}, start, time.time())
        for it in (50, 100, 200):
            for lr in (1.0, 0.3):
                t = time.time()
                out = placer.place_soft_macros(
                    start, method="analytical", use_current_loc=True,
                    iterations=it, lr=lr)
                _row({"start": name, "iterations": it, "lr": lr}, out, t)


if __name__ == "__main__":
    main()
