"""Soft-macro placers side by side: quality and speed, one table.

    python experiments/bench_soft.py [--designs ariane133 design_1 design_2 ariane136]
                                     [--batch 4] [--repeats 3] [--json out.json]

For each design, with its hard macros where the input placement puts them
(Ariane133: legalized.plc, the commercial flow's; design_1 / design_2: their
initial.plc; Ariane136: placer.cluster of the flat netlist with its
legalized.plc hard macros), every soft macro is re-placed from the canvas
centre (nothing of the input's soft positions is used) by

* fd: Circuit Training's force-directed pass (placer.stdcell.force_directed,
  default schedule, 300 steps);
* analytical: placer.stdcell.analytical (default AnalyticalConfig);

both in float32, and the result is scored by placer.proxy_cost (float64).
"input" is the input placement as is (soft macros included). Timings are
after compilation, medians of --repeats: wall and process CPU time (the
machine is shared, so CPU time is the steadier figure; run under
``taskset -c 0`` for one core), and per placement when --batch placements
(hard macros jittered by up to 1 um) are placed at once by vmap.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.env.env import make_env
from placer.netlist.model import SOFT_MACRO
from placer.search.greedy import greedy_policy
from placer.stdcell.analytical import AnalyticalConfig, analytical, analytical_arrays
from placer.stdcell.force_directed import FDSchedule, fd_arrays, force_directed

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sa_soft import load  # noqa: E402


def _timed(fn, repeats):
    fn().block_until_ready()                       # compile
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn().block_until_ready()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


def bench(nl, batch: int, repeats: int) -> dict:
    arrays = cost_arrays(nl)
    xy, orient = pad_placement(nl, arrays)
    movable = np.zeros(xy.shape[0], bool)
    movable[: nl.num_nodes] = nl.node_kind == SOFT_MACRO
    movable = jnp.asarray(movable)
    cfg = AnalyticalConfig()
    aa = analytical_arrays(nl, arrays, cfg.bins_per_cell,
                           target_density=cfg.target_density, fillers=cfg.fillers)
    fd = fd_arrays(nl, arrays)
    sched = FDSchedule()
    passes = {
        "fd": lambda p: force_directed(arrays, p, orient, movable, sched, fd=fd),
        "analytical": lambda p: analytical(arrays, p, orient, movable, cfg, aa=aa),
    }
    rng = np.random.default_rng(0)
    hard = np.asarray(nl.hard_macros)
    xs = np.repeat(np.asarray(xy)[None], batch, axis=0)
    xs[:, hard] += rng.uniform(-1, 1, (batch, len(hard), 2))
    xs = jnp.asarray(xs, xy.dtype)
    rows = {"input": {**placer.proxy_cost(nl).as_dict()}}
    for name, fn in passes.items():
        one = jax.jit(fn)
        many = jax.jit(jax.vmap(fn))
        t = time.perf_counter()
        out = one(xy).block_until_ready()
        compile_s = time.perf_counter() - t
        wall, cpu = _timed(lambda one=one: one(xy), repeats)
        bwall, bcpu = _timed(lambda many=many: many(xs), repeats)
        got = np.asarray(out, np.float64)[: nl.num_nodes]
        new = nl.node_xy.copy()
        soft = nl.node_kind == SOFT_MACRO
        new[soft] = got[soft]
        res = nl.with_placement(new)
        c = placer.proxy_cost(res)
        half = nl.oriented_size()[soft] / 2
        inside = bool(np.all(new[soft] - half >= -1e-3)
                      and np.all(new[soft] + half <= np.array(nl.canvas) + 1e-3))
        rows[name] = {**c.as_dict(), "first_call_s": compile_s, "wall_s": wall,
                      "cpu_s": cpu, "batch_wall_per_s": bwall / batch,
                      "batch_cpu_per_s": bcpu / batch, "inside": inside}
    return rows


def _terms(r: dict) -> str:
    return f"{r['wirelength']:.4f} / {r['density']:.4f} / {r['congestion']:.4f}"


def episodes_both_ways(nl) -> dict:
    """One greedy episode of the RL environment (same hard-macro placement)
    with its terminal soft-macro pass by each placer: the episode's proxy
    (float32, the reward's) and the float64 proxy of its final placement."""
    out = {}
    for soft in ("fd", "analytical"):
        env, params = make_env(nl, soft=soft)
        ep = jax.device_get(jax.jit(lambda k, env=env, params=params: env.rollout(
            params, k, greedy_policy(env, params)))(jax.random.PRNGKey(0)))
        xy = np.asarray(ep["xy"], np.float64)[: nl.num_nodes]
        c = placer.proxy_cost(nl.with_placement(xy))
        out[soft] = {"episode_proxy_f32": float(ep["proxy"]), **c.as_dict(),
                     "failed": bool(ep["infeasible"] or ep["invalid"])}
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--designs", nargs="*",
                   default=["ariane133", "design_1", "design_2", "ariane136"])
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--json", default=None)
    a = p.parse_args()
    print(f"# soft-macro placers ({time.strftime('%Y-%m-%d %H:%M')}, "
          f"jax {jax.__version__}, {jax.devices()[0].platform}, "
          f"affinity {sorted(os.sched_getaffinity(0))}, load {os.getloadavg()})")
    print("\n| design | soft placer | proxy | WL / density / congestion | "
          "first call (s) | pass wall / CPU (s) | batched x" f"{a.batch}" 
          " per placement wall / CPU (s) | inside canvas |")
    print("|---|---|---|---|---|---|---|---|")
    out = {}
    for d in a.designs:
        t = time.perf_counter()
        nl = load(d)
        load_s = time.perf_counter() - t
        rows = bench(nl, a.batch, a.repeats)
        rows["episode"] = episodes_both_ways(nl)
        rows["load_s"] = load_s
        if "cluster_seconds" in nl.metadata:
            rows["cluster_s"] = nl.metadata["cluster_seconds"]
        out[d] = rows
        for name in ("input", "fd", "analytical"):
            r = rows[name]
            terms = _terms(r)
            if name == "input":
                print(f"| {d} | input placement as is | {r['proxy']:.4f} | {terms} "
                      "| - | - | - | - |")
                continue
            print(f"| {d} | {name} | **{r['proxy']:.4f}** | {terms} | "
                  f"{r['first_call_s']:.1f} | {r['wall_s']:.2f} / {r['cpu_s']:.2f} | "
                  f"{r['batch_wall_per_s']:.2f} / {r['batch_cpu_per_s']:.2f} | "
                  f"{r['inside']} |", flush=True)
        for name, r in rows["episode"].items():
            terms = _terms(r)
            print(f"| {d} | greedy RL-env episode, terminal pass {name} | "
                  f"{r['proxy']:.4f} | {terms} | - | - | - | - |", flush=True)
        if "cluster_s" in rows:
            print(f"| {d} | (clustering: {rows['cluster_s']:.1f} s) | | | | | | |")
    print(f"\nload average at the end: {os.getloadavg()}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
