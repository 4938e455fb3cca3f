"""Learning curves of placer-train runs from their metrics.jsonl.

Runs are laid out as ROOT/<design>/<arm>/s<seed>/metrics.jsonl (as
experiments/run_signal_ablation.sh writes them). For each design, one PNG
with four panels: the batch proxy (mean of the update's sampled episodes)
and the greedy proxy, each against episodes and against wall time since the
run's start (compilation included); thin lines per seed, thick: the mean
over seeds. A table of the seed means at a few updates is printed (markdown).

    python experiments/plot_learning_curves.py /work/runs/sig --envs 8 \
        --out experiments/learning_signal [--reach scratch]
"""

from __future__ import annotations

import argparse
import glob
import json
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def load(path: str) -> dict:
    """{"step", "seconds", "batch", "greedy"} arrays of one metrics.jsonl."""
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return {"step": np.array([r["step"] for r in rows]),
            "seconds": np.array([r["seconds"] for r in rows]),
            "batch": np.array([r["train"]["proxy"] for r in rows]),
            "greedy": np.array([r["greedy"]["proxy"] for r in rows])}


def collect(root: str, max_update: int | None = None) -> dict:
    """{design: {arm: {seed: run}}} of every metrics.jsonl under root (each
    run cut at ``max_update`` if given)."""
    out: dict = {}
    for p in sorted(glob.glob(os.path.join(root, "*", "*", "s*", "metrics.jsonl"))):
        seed_dir = os.path.dirname(p)
        arm_dir = os.path.dirname(seed_dir)
        design = os.path.basename(os.path.dirname(arm_dir))
        run = load(p)
        if max_update is not None:
            keep = run["step"] <= max_update
            run = {k: v[keep] for k, v in run.items()}
        if len(run["step"]):
            out.setdefault(design, {}).setdefault(os.path.basename(arm_dir), {})[
                os.path.basename(seed_dir)] = run
    return out


def common(runs: dict) -> int:
    """How many evaluations every seed of an arm has."""
    return min(len(r["step"]) for r in runs.values())


def plot_design(design: str, arms: dict, envs: int, out: str) -> str:
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (arm, runs) in enumerate(sorted(arms.items())):
        c = colours[i % len(colours)]
        n = common(runs)
        for j, key in enumerate(("batch", "greedy")):
            for r in runs.values():
                axes[j, 0].plot(r["step"] * envs, r[key], color=c, alpha=0.25, lw=0.8)
                axes[j, 1].plot(r["seconds"], r[key], color=c, alpha=0.25, lw=0.8)
            mean = np.mean([r[key][:n] for r in runs.values()], axis=0)
            steps = next(iter(runs.values()))["step"][:n]
            secs = np.mean([r["seconds"][:n] for r in runs.values()], axis=0)
            label = f"{arm} ({len(runs)} seeds)"
            axes[j, 0].plot(steps * envs, mean, color=c, lw=2, label=label)
            axes[j, 1].plot(secs, mean, color=c, lw=2, label=label)
    for j, key in enumerate(("batch mean", "greedy")):
        axes[j, 0].set_xlabel("episodes")
        axes[j, 1].set_xlabel("wall seconds since the start (compilation included)")
        for k in range(2):
            axes[j, k].set_ylabel(f"{key} proxy")
            axes[j, k].grid(alpha=0.3)
    axes[0, 0].legend(fontsize=8)
    fig.suptitle(f"{design}: learning signal ablation (lower is better)")
    fig.tight_layout()
    path = f"{out}_{design}.png"
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def table(design: str, arms: dict, at: list[int]) -> str:
    lines = [f"### {design}", "",
             "| arm | seeds | " + " | ".join(f"batch @{u}" for u in at)
             + " | greedy @last | mean of batch over the last 5 evals | seconds |",
             "|---|---|" + "---|" * (len(at) + 3)]
    for arm, runs in sorted(arms.items()):
        cells = []
        for u in at:
            vals = [float(r["batch"][r["step"] == u][0]) for r in runs.values()
                    if np.any(r["step"] == u)]
            cells.append(f"{np.mean(vals):.4f}" if len(vals) == len(runs) else "-")
        n = common(runs)
        g = np.mean([r["greedy"][n - 1] for r in runs.values()])
        tail = [np.mean(r["batch"][max(0, n - 5):n]) for r in runs.values()]
        secs = np.median([r["seconds"][n - 1] for r in runs.values()])
        lines.append(f"| {arm} | {len(runs)} | " + " | ".join(cells)
                     + f" | {g:.4f} | {np.mean(tail):.4f} ("
                     + " / ".join(f"{t:.4f}" for t in tail)
                     + f") | {secs:.0f} |")
    return "\n".join(lines)


def first_at_or_below(steps, curve, target: float):
    """The first update whose value is at or below ``target``, or None."""
    hit = np.flatnonzero(np.asarray(curve) <= target)
    return int(steps[hit[0]]) if len(hit) else None


def reach(design: str, arms: dict, ref: str) -> str:
    """Issue 18's item 5: for every arm, the first evaluation at which its
    seed-mean batch proxy is at or below the reference arm's final seed mean
    (as a fraction of the reference's updates), and per seed against the
    same seed of the reference (seeds the reference lacks are skipped)."""
    if ref not in arms:
        raise SystemExit(f"--reach {ref!r}: no such arm for {design} "
                         f"(arms: {', '.join(sorted(arms))})")
    base = arms[ref]
    n = common(base)
    steps = next(iter(base.values()))["step"][:n]
    final = np.mean([r["batch"][n - 1] for r in base.values()])
    lines = [f"reach of {design}: against {ref}'s final seed mean {final:.4f} "
             f"(update {int(steps[-1])})", "",
             "| arm | reach (fraction) | per seed |", "|---|---|---|"]
    for arm, runs in sorted(arms.items()):
        if arm == ref:
            continue
        m = min(common(runs), n)
        mean = np.mean([r["batch"][:m] for r in runs.values()], axis=0)
        r_all = first_at_or_below(steps[:m], mean, final)
        per = []
        for seed, r in sorted(runs.items()):
            if seed in base:
                own = base[seed]["batch"][n - 1]
                per.append(first_at_or_below(r["step"][:m], r["batch"][:m], own))
        frac = "-" if r_all is None else f"{r_all} ({r_all / steps[-1]:.2f})"
        lines.append(f"| {arm} | {frac} | "
                     + ", ".join("-" if p is None else str(p) for p in per) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root")
    ap.add_argument("--envs", type=int, default=8, help="episodes per update")
    ap.add_argument("--out", default="experiments/learning_signal")
    ap.add_argument("--at", default="2,10,20,30", help="updates for the table")
    ap.add_argument("--max-update", type=int, default=None,
                    help="cut every run here (compare arms over the same updates)")
    ap.add_argument("--reach", default=None, metavar="ARM",
                    help="also print when each arm reaches ARM's final cost "
                         "(issue 18's item 5; ARM: the scratch arm)")
    args = ap.parse_args()
    at = [int(x) for x in args.at.split(",")]
    for design, arms in collect(args.root, args.max_update).items():
        print(plot_design(design, arms, args.envs, args.out))
        print(table(design, arms, at))
        if args.reach:
            print(reach(design, arms, args.reach))


if __name__ == "__main__":
    main()
