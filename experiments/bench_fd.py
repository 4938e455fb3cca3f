"""Benchmark of the force-directed soft-macro placer on Ariane133.

Prints a markdown table. Run from the repository root with ../shared present:

    python experiments/bench_fd.py [--repeats 5] [--batch 8]

Ariane133 (clustered NanGate45: 782 soft, 133 hard macros) with the hard
macros of its legalized.plc; the default 300-step schedule (CT's), soft macros
starting at the canvas centre, float32. Compile time is a fresh trace + XLA
compile (median over repeats); run time is the median of the compiled
function, blocking until the result is ready. "vmap xB" runs B placements of
the same netlist at once. Then the proxy-cost terms (float64) before and after.
"""

from __future__ import annotations

import argparse
import os
import platform

import jax
import jax.numpy as jnp
import numpy as np
from _paths import ARIANE
from _timing import median_seconds

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.netlist.model import SOFT_MACRO
from placer.stdcell import FDSchedule, fd_arrays, force_directed, place_soft_macros


def bench(nl, batch: int, repeats: int, schedule: FDSchedule):
    arrays = cost_arrays(nl)
    fd = fd_arrays(nl, arrays)
    xy, orient = pad_placement(nl, arrays)
    movable = np.zeros(xy.shape[0], bool)
    movable[: nl.num_nodes] = nl.node_kind == SOFT_MACRO
    movable = jnp.asarray(movable)
    rng = np.random.default_rng(0)
    # B placements: the hard macros jittered a little, so the runs differ.
    xb = jnp.stack([xy.at[jnp.asarray(nl.hard_macros)].add(
        jnp.asarray(rng.uniform(-1, 1, (len(nl.hard_macros), 2)), xy.dtype))
        for _ in range(batch)])
    ob = jnp.stack([orient] * batch)

    def single():
        return jax.jit(lambda a, x, o, m, f: force_directed(a, x, o, m, schedule,
                                                            fd=f))

    def batched():
        return jax.jit(lambda a, x, o, m, f: jax.vmap(
            lambda xi, oi: force_directed(a, xi, oi, m, schedule, fd=f))(x, o))

    rows = []
    for name, make, args in [("single", single, (arrays, xy, orient, movable, fd)),
                             (f"vmap x{batch}", batched,
                              (arrays, xb, ob, movable, fd))]:
        compiled = []

        def compile_once(make=make, args=args, compiled=compiled):
            compiled.append(make().lower(*args).compile())

        t_compile = median_seconds(compile_once, repeats=repeats)
        fn = compiled[-1]
        fn(*args).block_until_ready()
        t_run = median_seconds(fn, *args, repeats=repeats)
        n = batch if name != "single" else 1
        rows.append((name, t_compile, t_run, t_run / n))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    if not (ARIANE / "legalized.plc").exists():
        raise SystemExit(f"shared Ariane133 data not found at {ARIANE}")
    nl = placer.load_netlist(ARIANE / "netlist.pb.txt.gz",
                             placement=ARIANE / "legalized.plc")
    schedule = FDSchedule()
    dev = jax.devices()[0]
    print(f"# Force-directed placement, Ariane133 ({len(nl.soft_macros)} soft, "
          f"{len(nl.hard_macros)} hard macros), schedule {schedule.num_steps} steps, "
          f"float32\n")
    print(f"Device: {dev.platform} {dev.device_kind}; {os.cpu_count()} CPUs "
          f"({platform.processor() or platform.machine()}); jax {jax.__version__}; "
          f"medians of {args.repeats}\n")
    print("| run | compile (s) | run (s) | run per placement (s) |")
    print("|---|---|---|---|")
    for name, tc, tr, tp in bench(nl, args.batch, args.repeats, schedule):
        print(f"| {name} | {tc:.2f} | {tr:.3f} | {tp:.3f} |")

    centre = nl.copy()
    centre.node_xy[nl.soft_macros] = np.array(nl.canvas) / 2
    after = place_soft_macros(nl, schedule=schedule)
    print("\n| soft macros | wirelength | density | congestion | proxy |")
    print("|---|---|---|---|---|")
    for name, n in [("legalized.plc", nl), ("all at centre", centre),
                    ("after FD (from centre)", after)]:
        c = placer.proxy_cost(n)
        print(f"| {name} | {c.wirelength:.4f} | {c.density:.4f} | "
              f"{c.congestion:.4f} | {c.proxy:.4f} |")


if __name__ == "__main__":
    main()
