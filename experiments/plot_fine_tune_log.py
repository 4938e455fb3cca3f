"""Learning curve of a ``place(method="rl", budget_s=..., progress=True)``
run from its progress lines ("fine-tune update N: mean episode proxy X, T s").

    python experiments/plot_fine_tune_log.py LOG [--out PNG] [--every 10]

Prints the mean batch proxy of each block of ``--every`` updates (a
Markdown table) and, with --out, draws the per-update batch proxy against
updates and against wall seconds.
"""

from __future__ import annotations

import argparse
import re
import statistics

LINE = re.compile(r"fine-tune update (\d+): mean episode proxy ([\d.]+), (\d+) s")


def read(path: str) -> list[tuple[int, float, float]]:
    """(update, mean episode proxy, seconds since the start) per update."""
    with open(path) as f:
        return [(int(m[1]), float(m[2]), float(m[3]))
                for m in map(LINE.match, f) if m]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("log")
    ap.add_argument("--out")
    ap.add_argument("--every", type=int, default=10)
    a = ap.parse_args()
    rows = read(a.log)
    if not rows:
        raise SystemExit(f"{a.log}: no fine-tune progress lines")
    print("| updates | mean batch proxy | seconds at the block's end |")
    print("|---|---|---|")
    for i in range(0, len(rows), a.every):
        blk = rows[i:i + a.every]
        print(f"| {blk[0][0]}-{blk[-1][0]} | {statistics.mean(r[1] for r in blk):.4f} "
              f"| {blk[-1][2]:.0f} |")
    if a.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
        for ax, x, label in ((axes[0], [r[0] for r in rows], "update"),
                             (axes[1], [r[2] for r in rows], "wall seconds")):
            ax.plot(x, [r[1] for r in rows], lw=1)
            ax.set_xlabel(label)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("mean proxy of the update's episodes")
        fig.suptitle(a.log.rsplit("/", 1)[-1])
        fig.tight_layout()
        fig.savefig(a.out, dpi=110)


if __name__ == "__main__":
    main()
