"""Learning curves of ``place(method="rl", budget_s=..., progress=True)``
runs from their progress lines ("fine-tune update N: mean episode proxy X[,
elite (search) E], T s").

    python experiments/plot_fine_tune_log.py LOG [LOG ...] [--labels A,B]
        [--out PNG] [--every 10] [--reach] [--sa SA_LOG ...]

Prints, per log, the mean batch proxy of each block of ``--every`` updates
(a Markdown table) and, with --out, draws every log's per-update batch
proxy (and the elite's search proxy where logged, dashed) against updates
and against wall seconds in one figure. ``--sa``: logs of
``place(method="sa", progress=True)`` runs ("sa stage N: best proxy X, ...,
T s"), whose best proxy is drawn against wall seconds (dotted), so the agent
and SA at one budget share the figure.

``--reach`` (issue 18's item 5): the logs are two arms of equal size, the
reference (from scratch) first, then the compared (fine-tuned) one, paired
in order. For each pair it prints the reference's final cost (the mean
batch proxy of its last ``--every`` updates), the first update at which the
compared run's trailing mean over ``--every`` updates is at or below it,
and that update as a fraction of the reference's updates.
"""

from __future__ import annotations

import argparse
import re
import statistics

LINE = re.compile(r"fine-tune update (\d+): mean episode proxy ([\d.]+)"
                  r"(?:, elite \(search\) ([\d.]+))?, (\d+) s")


SA_LINE = re.compile(r"sa stage (\d+): best proxy ([\d.]+), .*?(\d+) s$")


def read_sa(path: str) -> list[tuple[float, float]]:
    """(seconds since the start, best proxy so far) per SA stage."""
    with open(path) as f:
        return [(float(m[3]), float(m[2]))
                for m in (SA_LINE.match(line.rstrip()) for line in f) if m]


def read(path: str) -> list[tuple[int, float, float, float | None]]:
    """(update, mean episode proxy, seconds since the start, elite proxy or
    None) per update."""
    with open(path) as f:
        return [(int(m[1]), float(m[2]), float(m[4]),
                 float(m[3]) if m[3] else None)
                for m in map(LINE.match, f) if m]


def first_reach(rows, target: float, every: int) -> int | None:
    """The first update whose trailing mean over ``every`` updates is at or
    below ``target`` (None: never)."""
    for i in range(every, len(rows) + 1):
        if statistics.mean(r[1] for r in rows[i - every:i]) <= target:
            return rows[i - 1][0]
    return None


def reach_table(runs, every: int) -> None:
    if len(runs) % 2:
        raise SystemExit("--reach needs two arms of equal size")
    half = len(runs) // 2
    print(f"\n| pair | reference: updates | its final cost (last {every}) | "
          f"compared: first update at or below it | fraction of the reference's "
          "updates |")
    print("|---|---|---|---|---|")
    for (ref_label, ref), (label, rows) in zip(runs[:half], runs[half:], strict=True):
        target = statistics.mean(r[1] for r in ref[-every:])
        hit = first_reach(rows, target, every)
        frac = "never" if hit is None else f"{hit / ref[-1][0]:.2f}"
        print(f"| {ref_label} / {label} | {ref[-1][0]} | {target:.4f} | "
              f"{'never' if hit is None else hit} (of {rows[-1][0]}) | {frac} |")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("logs", nargs="+")
    ap.add_argument("--labels", help="comma-separated, one per log")
    ap.add_argument("--out")
    ap.add_argument("--every", type=int, default=10)
    ap.add_argument("--reach", action="store_true",
                    help="first half of the logs: the reference arm (see above)")
    ap.add_argument("--sa", nargs="+", default=[], metavar="SA_LOG",
                    help="SA progress logs: best proxy against wall seconds")
    a = ap.parse_args()
    labels = (a.labels.split(",") if a.labels
              else [p.rsplit("/", 1)[-1] for p in a.logs])
    if len(labels) != len(a.logs):
        raise SystemExit("--labels needs one label per log")
    runs = []
    for path, label in zip(a.logs, labels, strict=True):
        rows = read(path)
        if not rows:
            raise SystemExit(f"{path}: no fine-tune progress lines")
        runs.append((label, rows))
        print(f"\n{label} ({path})\n")
        print("| updates | mean batch proxy | seconds at the block's end |")
        print("|---|---|---|")
        for i in range(0, len(rows), a.every):
            blk = rows[i:i + a.every]
            print(f"| {blk[0][0]}-{blk[-1][0]} | "
                  f"{statistics.mean(r[1] for r in blk):.4f} | {blk[-1][2]:.0f} |")
    if a.reach:
        reach_table(runs, a.every)
    if a.out:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
        for k, (label, rows) in enumerate(runs):
            colour = f"C{k}"
            for ax, x in ((axes[0], [r[0] for r in rows]),
                          (axes[1], [r[2] for r in rows])):
                ax.plot(x, [r[1] for r in rows], lw=1, color=colour, label=label)
                elite = [(xi, r[3]) for xi, r in zip(x, rows, strict=True)
                         if r[3] is not None]
                if elite:
                    ax.plot(*zip(*elite, strict=True), lw=1, ls="--", color=colour,
                            label=f"{label}: elite (search)")
        for k, path in enumerate(a.sa):
            sa = read_sa(path)
            if not sa:
                raise SystemExit(f"{path}: no SA stage progress lines")
            axes[1].plot(*zip(*sa, strict=True), lw=1, ls=":", color="k",
                         alpha=1.0 - 0.25 * (k % 3),
                         label=f"SA: {path.rsplit('/', 1)[-1]}")
        for ax, name in zip(axes, ("update", "wall seconds"), strict=True):
            ax.set_xlabel(name)
            ax.grid(alpha=0.3)
        axes[0].set_ylabel("mean proxy of the update's episodes")
        axes[0].legend(fontsize=7)
        if a.sa:
            axes[1].legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(a.out, dpi=110)


if __name__ == "__main__":
    main()
