"""What the command-line tools' persistent compile cache (placer.compile_cache)
saves: each command run in fresh processes with the cache off
(PLACER_XLA_CACHE=0), into an empty cache folder (cold), and again with the
folder the cold run filled (warm). Prints a markdown table of wall seconds
(median of --repeats runs for off and warm; cold runs once per repeat, each
into a new folder) and checks that every run's proxy is the same.

    taskset -c 0 python experiments/bench_compile_cache.py [--repeats 2] [--no-ariane]

The commands: placer-place on the bundled synth_small with greedy and with
SA (its defaults), and the shipped policy zero-shot on Ariane133 (from
../shared; skipped when absent).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _paths import ARIANE, ROOT

SYNTH = ROOT / "netlists" / "synth_small"


def commands(ariane: bool) -> dict[str, list[str]]:
    synth = [f"netlist={SYNTH / 'netlist.pb.txt'}",
             f"placement={SYNTH / 'initial.plc'}"]
    out = {
        "synth_small, greedy": synth + ["method=greedy"],
        "synth_small, sa (defaults)": synth + ["method=sa"],
    }
    if ariane and (ARIANE / "netlist.pb.txt.gz").is_file():
        out["Ariane133, rl zero-shot (shipped policy)"] = [
            f"netlist={ARIANE / 'netlist.pb.txt.gz'}",
            f"placement={ARIANE / 'legalized.plc'}", "method=rl"]
    return out


def run(args: list[str], cache: str | None, work: Path) -> tuple[float, float]:
    """(wall seconds, proxy) of one placer-place process."""
    env = dict(os.environ)
    env.pop("PLACER_XLA_CACHE_DIR", None)
    if cache is None:
        env["PLACER_XLA_CACHE"] = "0"
    else:
        env.pop("PLACER_XLA_CACHE", None)
        env["PLACER_XLA_CACHE_DIR"] = cache
    cmd = [sys.executable, "-c", "from placer.cli import place; place()", *args,
           f"output_dir={work}", "plot=false", "seed=0"]
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=work)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{r.stderr[-3000:]}")
    return wall, float(json.loads(r.stdout)["proxy"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--no-ariane", action="store_true")
    a = ap.parse_args()
    print("| command | cache off (s) | cold: empty folder (s) | warm (s) | "
          "warm / off | proxy (all runs) | cache entries (MB) |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for c, (name, args) in enumerate(commands(not a.no_ariane).items()):
            times = {"off": [], "cold": [], "warm": []}
            proxies = set()
            for i in range(a.repeats):
                folder = tmp / f"cache-{c}-{i}"     # new per command and repeat
                for mode, cache in (("off", None), ("cold", str(folder)),
                                    ("warm", str(folder))):
                    work = Path(tempfile.mkdtemp(dir=tmp))
                    wall, proxy = run(args, cache, work)
                    times[mode].append(wall)
                    proxies.add(round(proxy, 6))
            files = [p for p in folder.glob("*-cache")]
            mb = sum(p.stat().st_size for p in files) / 2 ** 20
            med = {k: statistics.median(v) for k, v in times.items()}
            print(f"| {name} | {med['off']:.1f} | {med['cold']:.1f} | "
                  f"{med['warm']:.1f} | {med['warm'] / med['off']:.2f} | "
                  f"{', '.join(f'{p:.6f}' for p in sorted(proxies))} | "
                  f"{len(files)} ({mb:.1f}) |", flush=True)


if __name__ == "__main__":
    main()
