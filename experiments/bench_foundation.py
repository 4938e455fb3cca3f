"""Benchmark of the foundation: netlist parsing and proxy-cost evaluation.

Prints a markdown table. Run from the repository root with ../shared present:

    python experiments/bench_foundation.py [--repeats 7] [--batch 64]

Parse times are medians over repeats of a full `load_netlist` (gunzip
included). Cost times are medians of the jitted evaluation after compilation,
on Ariane133 (the clustered NanGate45 design) with its legalized.plc; the
reference evaluator's time (TILOS plc_client_os, cost only, on this machine
kind) is read from ../shared/reference/proxy_cost.json.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
from _paths import ROOT, SHARED
from _timing import median_seconds

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.cost.proxy import cost_terms

NL = SHARED / "netlists"


def parse_peak_rss_mb(args_code: str) -> tuple[float, float]:
    """(seconds, peak RSS MB) of one load in a fresh process."""
    code = ("import resource, time, placer\n"
            f"t = time.perf_counter(); nl = {args_code}; t = time.perf_counter() - t\n"
            "print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    t, rss = out.stdout.split()
    return float(t), float(rss)


def bench_parse(repeats):
    cases = [
        ("Ariane133 clustered (.pb.txt.gz, 11 MB unpacked)",
         f"placer.load_netlist({str(NL / 'ariane133_ng45/netlist.pb.txt.gz')!r})"),
        ("Ariane133 + legalized.plc",
         f"placer.load_netlist({str(NL / 'ariane133_ng45/netlist.pb.txt.gz')!r}, "
         f"placement={str(NL / 'ariane133_ng45/legalized.plc')!r})"),
        ("Ariane136 flat (.pb.txt.gz, 62 MB unpacked)",
         f"placer.load_netlist("
         f"{str(NL / 'ariane136_ng45_flat/netlist_flat.pb.txt.gz')!r})"),
        ("ibm01 Bookshelf (.aux)",
         f"placer.load_netlist({str(NL / 'bookshelf/ibm01/ibm01.aux')!r})"),
    ]
    rows = []
    for name, code in cases:
        ts, rss = [], []
        for _ in range(repeats if "flat" not in name else max(3, repeats // 2)):
            t, r = parse_peak_rss_mb(code)
            ts.append(t)
            rss.append(r)
        rows.append((name, statistics.median(ts), max(rss)))
    return rows


def bench_cost(repeats, batch):
    ref = json.loads((SHARED / "reference" / "proxy_cost.json").read_text())
    case = next(c for c in ref["cases"] if c["name"] == "ariane133_ng45/legalized")
    ref_s = case["reference_seconds_cost_only"]
    nl = placer.load_netlist(NL / "ariane133_ng45/netlist.pb.txt.gz",
                             placement=NL / "ariane133_ng45/legalized.plc")
    rng = np.random.default_rng(0)
    rows = []
    for dtype in (jnp.float32, jnp.float64):
        with jax.enable_x64(dtype == jnp.float64):
            arrays = cost_arrays(nl, dtype=dtype)
            xy, orient = pad_placement(nl, arrays, dtype=dtype)
            single = jax.jit(lambda a, b: cost_terms(arrays, a, b)["proxy"])  # noqa: B023
            t0 = time.perf_counter()
            single(xy, orient).block_until_ready()
            compile_s = time.perf_counter() - t0
            jitter = [jnp.asarray(rng.normal(0, 1, xy.shape), dtype)
                      for _ in range(repeats)]
            it = iter(jitter * 3)
            t1 = median_seconds(
                lambda f=single, xy=xy, it=it, o=orient: f(xy + next(it), o),
                repeats=repeats)
            batched = jax.jit(jax.vmap(lambda a, b: cost_terms(arrays, a, b)["proxy"]))  # noqa: B023
            xyb = jnp.asarray(np.asarray(xy)[None] + rng.normal(0, 1, (batch,) +
                                                                 xy.shape), dtype)
            ob = jnp.broadcast_to(orient, (batch,) + orient.shape)
            batched(xyb, ob).block_until_ready()
            tb = median_seconds(lambda f=batched, x=xyb, o=ob: f(x + 1e-3, o),
                                repeats=max(3, repeats // 2))
            name = "float32" if dtype == jnp.float32 else "float64"
            rows.append((f"single, {name}", t1, 1 / t1, ref_s / t1, compile_s))
            rows.append((f"vmap x{batch}, {name}", tb / batch, batch / tb,
                         ref_s / (tb / batch), None))
    # the public API end to end (padding, transfer, maps), float64
    placer.proxy_cost(nl)
    t_api = median_seconds(lambda: placer.proxy_cost(nl), repeats=repeats)
    rows.append(("placer.proxy_cost() API, float64, incl. maps", t_api, 1 / t_api,
                 ref_s / t_api, None))
    return rows, ref_s


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--skip-parse", action="store_true")
    args = p.parse_args()
    if not NL.exists():
        sys.exit(f"shared netlists not found at {NL}")
    print(f"# placer foundation benchmark ({time.strftime('%Y-%m-%d')}, "
          f"{platform.processor() or platform.machine()}, jax {jax.__version__}, "
          f"{jax.devices()[0].platform}, {len(jax.devices())} device(s))\n")
    if not args.skip_parse:
        print("| netlist | load time (median, s) | peak RSS (MB) |")
        print("|---|---|---|")
        for name, t, rss in bench_parse(args.repeats):
            print(f"| {name} | {t:.3f} | {rss:.0f} |")
        print()
    rows, ref_s = bench_cost(args.repeats, args.batch)
    print(f"Proxy cost on Ariane133 legalized.plc; reference evaluator: {ref_s:.3f} s "
          f"per evaluation (cost only).\n")
    print("| evaluation | time per placement (median, ms) | placements/s | "
          "speed-up vs reference | compile (s) |")
    print("|---|---|---|---|---|")
    for name, t, rate, ratio, comp in rows:
        c = f"{comp:.2f}" if comp is not None else ""
        print(f"| {name} | {t * 1e3:.2f} | {rate:.1f} | {ratio:.0f}x | {c} |")
    print(f"\n(peak RSS of this process: "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
