"""Does a placement depend on how many cores XLA may use? The greedy placer
with each soft placer, run in fresh processes pinned to one core
(``taskset -c 0``) and on every core, twice each; prints the float64 proxies
as a markdown table (identical digits: the same result).

    python experiments/core_count_check.py [--designs ...] [--xla-flags ...]

Needs ``taskset`` (util-linux) and at least two cores.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

from _paths import ARIANE, ROOT

DESIGNS = {
    "design_2": (ROOT / "netlists/design_2/netlist.pb.txt",
                 ROOT / "netlists/design_2/initial.plc"),
    "ariane133": (ARIANE / "netlist.pb.txt.gz", ARIANE / "legalized.plc"),
}
SCRIPT = """
import sys, placer
nl = placer.load_netlist(sys.argv[1], placement=sys.argv[2])
out = placer.place(nl, method="greedy", seed=0, soft=sys.argv[3])
print(repr(placer.proxy_cost(out).proxy))
"""


def proxy(design: str, soft: str, pinned: bool, flags: str | None) -> str:
    env = dict(os.environ)
    if flags is not None:
        env["XLA_FLAGS"] = flags
    cmd = [sys.executable, "-c", SCRIPT, *map(str, DESIGNS[design]), soft]
    if pinned:
        cmd = ["taskset", "-c", "0", *cmd]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    return r.stdout.split()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=DESIGNS)
    ap.add_argument("--xla-flags", default=None, help="XLA_FLAGS for every run")
    a = ap.parse_args()
    if shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs taskset and at least two cores")
    cores = len(os.sched_getaffinity(0))
    print(f"XLA_FLAGS: {a.xla_flags or '(none)'}\n")
    print(f"| design | soft | one core, run 1 / run 2 | {cores} cores, run 1 / run 2 | "
          "same on both |")
    print("|---|---|---|---|---|")
    for design in a.designs:
        for soft in ("fd", "analytical"):
            one = [proxy(design, soft, True, a.xla_flags) for _ in range(2)]
            every = [proxy(design, soft, False, a.xla_flags) for _ in range(2)]
            same = "yes" if len(set(one + every)) == 1 else "no"
            print(f"| {design} | {soft} | {' / '.join(one)} | {' / '.join(every)} | "
                  f"{same} |", flush=True)


if __name__ == "__main__":
    main()
