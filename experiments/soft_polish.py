"""Soft-macro polish after each soft-macro placer, on fixed hard macros.

    python experiments/soft_polish.py                      # legalized.plc's hard macros
    python experiments/soft_polish.py --placement run.plc  # another placement's

For each soft placer (fd, analytical): the soft macros are placed from the
canvas centre on the placement's hard macros (placer.place_soft_macros), then
polished (placer.polish_soft_macros, float64, the default steps and stopping
rule). Prints the float64 proxy (and its terms) after the pass and after each
polish sweep, with the seconds (the first sweep includes the compilation).
experiments/results_soft.md, section 2d, quotes it.
"""

from __future__ import annotations

import argparse
import os
import time

import jax.numpy as jnp
from _paths import ARIANE

import placer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--netlist", default=str(ARIANE / "netlist.pb.txt.gz"))
    ap.add_argument("--placement", default=str(ARIANE / "legalized.plc"))
    ap.add_argument("--sweeps", type=int, default=20)
    ap.add_argument("--soft", nargs="+", default=["fd", "analytical"])
    args = ap.parse_args()
    nl = placer.load_netlist(args.netlist, args.placement)
    print(f"{nl.name}, hard macros of {args.placement}; load {os.getloadavg()}")
    print("| soft placer | after the pass | after polish | sweeps | polish s | "
          "WL / density / congestion after polish |")
    print("|---|---|---|---|---|---|")
    for soft in args.soft:
        placed = placer.place_soft_macros(nl, method=soft, dtype=jnp.float64)
        before = placer.proxy_cost(placed)
        t = time.perf_counter()
        out = placer.polish_soft_macros(placed, sweeps=args.sweeps)
        seconds = time.perf_counter() - t
        after = placer.proxy_cost(out)
        print(f"| {soft} | {before.proxy:.4f} | {after.proxy:.4f} | "
              f"{out.metadata['polish']['sweeps']} | {seconds:.1f} | "
              f"{after.wirelength:.4f} / {after.density:.4f} / "
              f"{after.congestion:.4f} |", flush=True)

if __name__ == "__main__":
    main()
