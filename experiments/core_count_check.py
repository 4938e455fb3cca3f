"""Does a placement depend on how many cores XLA may use? The greedy placer
with each soft placer, run in fresh processes pinned to one core
(``taskset -c 0``) and on every core, twice each; prints the float64 proxies
as a markdown table (identical digits: the same result).

    python experiments/core_count_check.py [--designs ...] [--xla-flags ...]
    python experiments/core_count_check.py --parts [--xla-flags="--xla_cpu_..."]

``--parts``: the operations behind a difference, on random data of
Ariane133's sizes, each output's md5 on one core and on every core: a full
sum, the analytical pass's density-map product (``einsum("kr,kc->rc")`` of
1,000 macros' bin overlaps into 64 x 64 bins) and its ``bin_density``.

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


PARTS = """
import hashlib, numpy as np, jax, jax.numpy as jnp
from placer.cost.grid import axis_overlap
from placer.stdcell.analytical import bin_density
rng = np.random.default_rng(0)
x = rng.normal(size=(4096, 1024)).astype(np.float32)
xy = rng.uniform(0, 1300, (1000, 2)).astype(np.float32)
size = rng.uniform(1, 60, (1000, 2)).astype(np.float32)
lo, hi = xy - size / 2, xy + size / 2
ox = np.asarray(axis_overlap(lo[:, 0], hi[:, 0], 1350 / 64, 64))
oy = np.asarray(axis_overlap(lo[:, 1], hi[:, 1], 1350 / 64, 64))
canvas = jnp.asarray([1350.0, 1350.0])
outs = {
    "full sum of a 4096 x 1024 array": jax.jit(jnp.sum)(x),
    "density-map product einsum('kr,kc->rc')":
        jax.jit(lambda a, b: jnp.einsum("kr,kc->rc", a, b))(oy, ox),
    "bin_density (the analytical pass's)": jax.jit(
        lambda q: bin_density(q, size, jnp.ones(1000, bool), canvas, 64, 64))(xy),
}
for k, v in outs.items():
    print(k + "|" + hashlib.md5(np.asarray(v).tobytes()).hexdigest()[:12])
"""


def run(code: str, args: list[str], pinned: bool, flags: str | None) -> str:
    env = dict(os.environ)
    if flags is not None:
        env["XLA_FLAGS"] = flags
    cmd = [sys.executable, "-c", code, *args]
    if pinned:
        cmd = ["taskset", "-c", "0", *cmd]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise SystemExit(r.stderr[-3000:])
    return r.stdout


def proxy(design: str, soft: str, pinned: bool, flags: str | None) -> str:
    return run(SCRIPT, [*map(str, DESIGNS[design]), soft], pinned, flags).split()[-1]


def parts(flags: str | None, cores: int) -> None:
    one, every = (dict(line.split("|") for line in
                       run(PARTS, [], pinned, flags).strip().splitlines())
                  for pinned in (True, False))
    print(f"| operation | md5, one core | md5, {cores} cores | same |")
    print("|---|---|---|---|")
    for k in one:
        same = "yes" if one[k] == every[k] else "no"
        print(f"| {k} | {one[k]} | {every[k]} | {same} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--designs", nargs="*", default=list(DESIGNS), choices=DESIGNS)
    ap.add_argument("--xla-flags", default=None, help="XLA_FLAGS for every run")
    ap.add_argument("--parts", action="store_true",
                    help="the operations behind a difference instead of placements")
    a = ap.parse_args()
    if shutil.which("taskset") is None or len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("needs taskset and at least two cores")
    cores = len(os.sched_getaffinity(0))
    print(f"XLA_FLAGS: {a.xla_flags or '(none)'}\n")
    if a.parts:
        parts(a.xla_flags, cores)
        return
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
