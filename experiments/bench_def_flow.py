"""The DEF flow on Circuit Training's Ariane (ct_ariane): read, cluster, place, write.

    PYTHONPATH=$PWD python experiments/bench_def_flow.py [--clusters 800] \
        [--out /tmp/def_flow]

Prints one table row per stage (seconds, peak RSS) and the placed design's
proxy cost and legality. Results: experiments/results_lefdef.md.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

from _paths import SHARED

import placer
from placer.netlist.def_io import apply_def

CT_ARIANE = SHARED / "netlists" / "lefdef" / "ct_ariane"


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clusters", type=int, default=800)
    ap.add_argument("--method", default="greedy")
    ap.add_argument("--out", default="/tmp/def_flow")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows = []
    t = time.perf_counter()
    flat = placer.load_netlist(f"{CT_ARIANE}/ariane.def.gz",
                               lef=[f"{CT_ARIANE}/ariane.lef"])
    rows.append(("read DEF+LEF", time.perf_counter() - t, rss_mb()))
    print(flat, flush=True)
    t = time.perf_counter()
    cl = placer.cluster(flat, a.clusters)
    rows.append((f"cluster ({a.clusters})", time.perf_counter() - t, rss_mb()))
    print(cl, flush=True)
    kept = sorted(cl.node_names[v] for v in cl.hard_macros) == sorted(
        flat.node_names[v] for v in flat.hard_macros)
    t = time.perf_counter()
    out = placer.place(cl, method=a.method, seed=0)
    rows.append((f"place ({a.method})", time.perf_counter() - t, rss_mb()))
    cost = placer.proxy_cost(out)
    viol = placer.check_legality(out)
    t = time.perf_counter()
    summary = placer.save_placement(out, f"{a.out}/ariane_{a.method}.def",
                                    template=f"{CT_ARIANE}/ariane.def.gz")
    placer.save_placement(out, f"{a.out}/ariane_{a.method}.plc")
    rows.append(("write DEF + Tcl + plc", time.perf_counter() - t, rss_mb()))
    back = apply_def(out, f"{a.out}/ariane_{a.method}.def")
    moved = abs(back.node_xy[out.hard_macros] - out.node_xy[out.hard_macros]).max()
    print(f"load average: {os.getloadavg()}")
    print("| stage | seconds | peak RSS (MB) |\n|---|---|---|")
    for name, s, m in rows:
        print(f"| {name} | {s:.1f} | {m:.0f} |")
    print(f"hard macros kept by name: {kept}; proxy {cost.proxy:.4f} (WL "
          f"{cost.wirelength:.4f}, density {cost.density:.4f}, congestion "
          f"{cost.congestion:.4f}); legality violations {len(viol)}; "
          f"macros outside core {len(summary['outside_core'])}; largest snap "
          f"{summary['max_snap_shift_um']:.3f} um; DEF read back: largest macro "
          f"move {moved:.4f} um; grid {out.settings.grid_cols} x "
          f"{out.settings.grid_rows}")


if __name__ == "__main__":
    main()
