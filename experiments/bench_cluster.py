"""Benchmark of clustering flat netlists: placer's coarsening against METIS and
Mt-KaHyPar, on Ariane136 (flat) and ibm01. Prints markdown tables.

Run from the repository root with ../shared present, on one core:

    taskset -c 1 python experiments/bench_cluster.py [--sa-budget 120]
        [--candidates multilevel pymetis mtkahypar] [--synthetic 1000000]

Each (design, candidate) runs in a fresh child process so that its peak RSS
(ru_maxrss: loading the netlist + clustering) is its own. Candidates:

* multilevel: placer.cluster (numpy heavy-edge matching, area bound 2 x mean,
  then single-cell refinement).
* multilevel-x2: the same grouping with area_scale=2 (soft macros twice their
  cells' area, as in CT's clustered Ariane136, whose .plc header area is the
  macro area plus twice the flat cell area): the density term then compares
  with Ariane133's.
* pymetis: METIS k-way on the clique expansion of the nets of <= 50 cells
  (the graph placer's coarsening also sees), vertex weight = cell area,
  integer edge weights (x 1000); METIS' default balance (3 %).
* mtkahypar: Mt-KaHyPar on the cell hypergraph (every net), preset DEFAULT,
  objective km1, epsilon 1.0 (blocks up to 2 x the mean area, as placer),
  one thread.

Both external packages are optional (pip install pymetis mtkahypar); a missing
one is reported, not fatal. Every candidate's grouping is rewired by
placer.cluster.clustered_netlist and given the same settings (Ariane136: the
header of its CT .plc, canvas 1446.36, 25 x 21 grid; ibm01: its .scl canvas
and the gridding search). "cut" is the total weight of the flat nets whose
cells lie in two or more clusters, "(lambda - 1)" the connectivity (each net's
weight times the clusters it spans, less one). The proxy cost (1.0 / 0.5 / 0.5) is after
placer.place(method="sa", budget_s=B) on the clustered design (B seconds
wall, compilation included, one core), beside Ariane133 (CT's own clustering
of the same design family) under the same budget.

--synthetic N also times placer.cluster alone on a random flat netlist of N
cells (no SA).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _paths import ROOT, SHARED

NETLISTS = SHARED / "netlists"
DESIGNS = {
    "ariane136": (NETLISTS / "ariane136_ng45_flat" / "netlist_flat.pb.txt.gz",
                  NETLISTS / "ariane136_ng45_flat" / "initial.plc"),
    "ibm01": (NETLISTS / "bookshelf" / "ibm01" / "ibm01.aux", None),
}
ARIANE133 = (NETLISTS / "ariane133_ng45" / "netlist.pb.txt.gz",
             NETLISTS / "ariane133_ng45" / "legalized.plc")
NUM_CLUSTERS = 800


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # KiB -> GB


def _pymetis(ptr, ids, weight, area, k, seed):
    import pymetis

    from placer.cluster.coarsen import _clique_edges, dedupe_nets

    n = len(area)
    p, i, w = dedupe_nets(ptr, ids, weight)
    u, v, ew = _clique_edges(p, i, w, 50, n)
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    ew2 = np.concatenate([ew, ew])
    order = np.lexsort((dst, src))
    src, dst, ew2 = src[order], dst[order], ew2[order]
    xadj = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=xadj[1:])
    eweights = np.maximum(1, np.round(ew2 * 1000)).astype(np.int64)
    scale = 1000.0 / max(area.mean(), 1e-12)
    vweights = np.maximum(1, np.round(area * scale)).astype(np.int64)
    opts = pymetis.Options(seed=seed)
    _, parts = pymetis.part_graph(k, xadj=xadj, adjncy=dst, eweights=eweights,
                                  vweights=vweights, options=opts)
    return np.asarray(parts, dtype=np.int64)


def _mtkahypar(ptr, ids, weight, area, k, seed):
    import mtkahypar

    from placer.cluster.coarsen import dedupe_nets

    p, i, w = dedupe_nets(ptr, ids, weight)
    init = mtkahypar.initialize(1)
    mtkahypar.set_seed(seed)
    ctx = init.context_from_preset(mtkahypar.PresetType.DEFAULT)
    ctx.set_partitioning_parameters(k, 1.0, mtkahypar.Objective.KM1)
    ctx.logging = False
    edges = np.split(i, p[1:-1])
    scale = 1000.0 / max(area.mean(), 1e-12)
    vweights = np.maximum(1, np.round(area * scale)).astype(np.int64)
    ew = np.maximum(1, np.round(w)).astype(np.int64)
    hg = init.create_hypergraph(ctx, len(area), len(edges), [e.tolist() for e in edges],
                                vweights.tolist(), ew.tolist())
    part = hg.partition(ctx)
    return np.array([part.block_id(v) for v in range(len(area))], dtype=np.int64)


def _distribution(x: np.ndarray) -> str:
    q = np.percentile(x, [0, 10, 50, 90, 100])
    return " / ".join(f"{v:.3g}" for v in q)


def worker(design: str, candidate: str, sa_budget: float, seed: int) -> dict:
    """One (design, candidate) measurement; returns the JSON-ready row."""
    import placer
    from placer.cluster.api import settings_for
    from placer.cluster.coarsen import connectivity, hyperedge_cut
    from placer.cluster.rewire import (
        cell_hypergraph,
        check_assignment,
        clustered_netlist,
    )

    path, plc = DESIGNS[design]
    flat = placer.load_netlist(path)
    rss_load = _rss_gb()
    t0 = time.perf_counter()
    ptr, ids, weight, cells = cell_hypergraph(flat)
    area = flat.node_size[cells, 0] * flat.node_size[cells, 1]
    if candidate.startswith("multilevel"):
        # "multilevel-x2": soft macros of twice the cell area, as CT's Ariane136
        scale = 2.0 if candidate.endswith("x2") else 1.0
        out = placer.cluster(flat, NUM_CLUSTERS, seed=seed, area_scale=scale,
                             plc=None if plc is None else str(plc))
        a_cells = None
    else:
        fn = {"pymetis": _pymetis, "mtkahypar": _mtkahypar}[candidate]
        a_cells = fn(ptr, ids, weight, area, NUM_CLUSTERS, seed)
        out = clustered_netlist(flat, a_cells)
        out = settings_for(out, flat, None if plc is None else str(plc), None, True)
    seconds = time.perf_counter() - t0
    rss = _rss_gb()
    soft = out.soft_macros
    s_area = out.node_size[soft, 0] * out.node_size[soft, 1]
    if a_cells is None:
        a_cells = out.metadata["cell_cluster"]
    per = np.bincount(np.unique(a_cells, return_inverse=True)[1].ravel())
    row = {
        "design": design, "candidate": candidate, "cells": len(cells),
        "seconds": seconds, "rss_load_gb": rss_load, "rss_peak_gb": rss,
        "clusters": len(soft), "area_dist": _distribution(s_area),
        "area_max_over_mean": float(s_area.max() / s_area.mean()),
        "cells_dist": _distribution(per),
        "cut": hyperedge_cut(ptr, ids, weight, a_cells),
        "connectivity": connectivity(ptr, ids, weight, a_cells),
        "total_net_weight": float(weight[np.diff(ptr) >= 2].sum()),
        "nets": out.num_nets, "grid": f"{out.settings.grid_cols} x "
        f"{out.settings.grid_rows}",
    }
    if sa_budget > 0:
        out.metadata["cell_cluster"] = check_assignment(a_cells, len(cells))
        row.update(_sa(out, sa_budget, seed, flat))
    return row


def flat_hpwl(flat, placed, cell_cluster) -> float:
    """Weighted HPWL of the flat nets with every cell at its soft macro's
    centre and the kept nodes where the clustered placement put them: a
    measure of a clustering that, unlike the proxy wirelength, does not
    depend on how many nets the clustering left."""
    from placer.netlist.model import STDCELL

    keep = np.flatnonzero(flat.node_kind != STDCELL)
    cells = np.flatnonzero(flat.node_kind == STDCELL)
    xy = flat.node_xy.copy()
    orient = flat.node_orient.copy()
    xy[keep] = placed.node_xy[: len(keep)]
    orient[keep] = placed.node_orient[: len(keep)]
    xy[cells] = placed.node_xy[len(keep) + np.asarray(cell_cluster)]
    p = flat.with_placement(xy, orient).pin_xy()[flat.net_pins]
    starts = flat.net_ptr[:-1]
    span = (np.maximum.reduceat(p, starts, axis=0)
            - np.minimum.reduceat(p, starts, axis=0))
    return float(np.sum(flat.net_weight * span.sum(axis=1)))


def _sa(nl, budget: float, seed: int, flat=None) -> dict:
    import placer

    t = time.perf_counter()
    placed = placer.place(nl, method="sa", seed=seed, budget_s=budget)
    cost = placer.proxy_cost(placed)
    extra = {}
    if flat is not None:
        extra["flat_hpwl"] = flat_hpwl(flat, placed, nl.metadata["cell_cluster"])
    return {**extra, "sa_seconds": time.perf_counter() - t, "proxy": cost.proxy,
            "hpwl": cost.hpwl, "net_weight_sum": float(nl.net_weight.sum()),
            "wirelength": cost.wirelength, "density": cost.density,
            "congestion": cost.congestion}


def ariane133_worker(sa_budget: float, seed: int) -> dict:
    import placer

    nl = placer.load_netlist(*ARIANE133)
    soft = nl.soft_macros
    s_area = nl.node_size[soft, 0] * nl.node_size[soft, 1]
    row = {"design": "ariane133 (CT clustering)", "candidate": "hMETIS + CT grouping",
           "clusters": len(soft), "area_dist": _distribution(s_area),
           "area_max_over_mean": float(s_area.max() / s_area.mean()),
           "nets": nl.num_nets,
           "grid": f"{nl.settings.grid_cols} x {nl.settings.grid_rows}"}
    if sa_budget > 0:
        row.update(_sa(nl, sa_budget, seed))
    return row


def synthetic_worker(n: int, seed: int) -> dict:
    """placer.cluster on a random flat netlist of n cells (local nets)."""
    import placer
    from placer.netlist.model import PIN_STDCELL, STDCELL, Netlist, Settings

    rng = np.random.default_rng(seed)
    # nets: a driver and 1-6 sinks drawn near it in index order (locality)
    n_nets = n
    deg = rng.integers(2, 8, size=n_nets)
    drv = rng.integers(0, n, size=n_nets)
    ptr = np.zeros(n_nets + 1, dtype=np.int64)
    np.cumsum(deg, out=ptr[1:])
    ent = np.repeat(drv, deg) + rng.integers(-200, 201, size=int(ptr[-1]))
    ent = np.clip(ent, 0, n - 1)
    ent[ptr[:-1]] = drv
    size = rng.uniform(0.5, 2.0, size=(n, 2))
    nl = Netlist(
        name=f"synthetic_{n}", node_names=[f"c{i}" for i in range(n)],
        node_kind=np.full(n, STDCELL, np.int8), node_xy=np.zeros((n, 2)),
        node_size=size, node_orient=np.zeros(n, np.int8),
        node_fixed=np.zeros(n, bool), node_index=np.arange(n),
        pin_names=[f"c{i}" for i in range(n)], pin_node=np.arange(n, dtype=np.int32),
        pin_offset=np.zeros((n, 2)), pin_kind=np.full(n, PIN_STDCELL, np.int8),
        pin_weight=np.ones(n), pin_index=np.full(n, -1), net_ptr=ptr,
        net_pins=ent.astype(np.int32), net_weight=np.ones(n_nets),
        settings=Settings(canvas_width=2000.0, canvas_height=2000.0))
    rss_load = _rss_gb()
    t0 = time.perf_counter()
    out = placer.cluster(nl, NUM_CLUSTERS, seed=seed, gridding=False)
    return {"design": f"synthetic {n:,} cells", "candidate": "multilevel",
            "cells": n, "seconds": time.perf_counter() - t0,
            "rss_load_gb": rss_load, "rss_peak_gb": _rss_gb(),
            "clusters": len(out.soft_macros), "nets": out.num_nets}


def _child(args: list[str]) -> dict:
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    lines = [ln for ln in res.stdout.splitlines() if ln.startswith("{")]
    if res.returncode != 0 or not lines:
        tail = (res.stderr.strip().splitlines() or ["no output"])[-1]
        return {"design": args[0], "candidate": args[1] if len(args) > 1 else "",
                "error": tail[:120]}
    return json.loads(lines[-1])


def _fmt(v, spec="{:.3f}"):
    return "-" if v is None else (spec.format(v) if isinstance(v, float) else str(v))


def print_tables(rows: list[dict], sa_budget: float) -> None:
    print("| design | candidate | cells | time (s) | peak RSS (GB), load -> total "
          "| clusters | nets | cut (weight) | (lambda - 1) | grid |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['design']} | {r['candidate']} | error: {r['error']} "
                  "| | | | | | | |")
            continue
        rss = (f"{r['rss_load_gb']:.2f} -> {r['rss_peak_gb']:.2f}"
               if "rss_peak_gb" in r else "-")
        cut = (f"{r['cut']:.0f} / {r['total_net_weight']:.0f}" if "cut" in r
               else "-")
        print(f"| {r['design']} | {r['candidate']} | {r.get('cells', '-')} | "
              f"{_fmt(r.get('seconds'), '{:.1f}')} | {rss} | {r.get('clusters')} "
              f"| {r.get('nets', '-')} | {cut} | "
              f"{_fmt(r.get('connectivity'), '{:.0f}')} | {r.get('grid', '-')} |")
    print()
    print("Cluster sizes (min / p10 / median / p90 / max):")
    print()
    print("| design | candidate | area (um^2) | max / mean area | cells per cluster |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "area_dist" in r:
            print(f"| {r['design']} | {r['candidate']} | {r['area_dist']} | "
                  f"{r['area_max_over_mean']:.2f} | {r.get('cells_dist', '-')} |")
    if sa_budget > 0:
        print()
        print(f"Proxy cost after placer.place(method='sa', budget_s={sa_budget:g}), "
              "one core, seed 0 (weights 1.0 / 0.5 / 0.5):")
        print()
        print("| design | candidate | proxy | wirelength | density | congestion "
              "| HPWL (m) | clustered net weight | flat HPWL (m) | SA wall (s) |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            if "proxy" in r:
                print(f"| {r['design']} | {r['candidate']} | {r['proxy']:.4f} | "
                      f"{r['wirelength']:.4f} | {r['density']:.4f} | "
                      f"{r['congestion']:.4f} | {r['hpwl'] / 1e6:.3f} | "
                      f"{r['net_weight_sum']:.0f} | "
                      f"{_fmt(r.get('flat_hpwl', 0) / 1e6 or None)} | "
                      f"{r['sa_seconds']:.0f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sa-budget", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--designs", nargs="+", default=list(DESIGNS))
    ap.add_argument("--candidates", nargs="+",
                    default=["multilevel", "multilevel-x2", "pymetis", "mtkahypar"])
    ap.add_argument("--no-ariane133", action="store_true")
    ap.add_argument("--synthetic", type=int, nargs="*", default=[])
    ap.add_argument("--json", help="also write the rows to this JSON file")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        w = args.worker
        if w[0] == "ariane133":
            row = ariane133_worker(float(w[1]), int(w[2]))
        elif w[0] == "synthetic":
            row = synthetic_worker(int(w[1]), int(w[2]))
        else:
            row = worker(w[0], w[1], float(w[2]), int(w[3]))
        print(json.dumps(row), flush=True)
        return
    rows = []
    for d in args.designs:
        for c in args.candidates:
            if d != "ariane136" and c == "multilevel-x2":
                continue
            # SA for every Ariane136 candidate, for ibm01 placer's only
            budget = args.sa_budget if (d == "ariane136" or c == "multilevel") else 0
            rows.append(_child([d, c, str(budget), str(args.seed)]))
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    if not args.no_ariane133 and args.sa_budget > 0:
        rows.append(_child(["ariane133", str(args.sa_budget), str(args.seed)]))
    for n in args.synthetic:
        rows.append(_child(["synthetic", str(n), str(args.seed)]))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2) + "\n")
    print_tables(rows, args.sa_budget)


if __name__ == "__main__":
    main()
