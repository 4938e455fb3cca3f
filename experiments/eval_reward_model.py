"""Held-out quality of a trained reward predictor.

    python experiments/eval_reward_model.py --model pretrain_out/model \
        --dataset data/eval [--dataset data/train --split val]

Prints a markdown table per dataset: for every netlist, R^2, Kendall's tau and
pairwise ranking accuracy of each cost term (wirelength, density,
congestion) over all its placements, plus the pooled figures; and, for the
proxy cost (1 / 0.5 / 0.5) built from the predicted terms, tau and pairwise
accuracy. With --split val only the validation samples of the training run
(same seed and val_fraction as the model's training config) are scored.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from placer.reward_model.dataset import load_dataset  # noqa: E402
from placer.reward_model.metrics import kendall_tau, pairwise_accuracy  # noqa: E402
from placer.reward_model.model import TERMS, load_reward_model  # noqa: E402
from placer.reward_model.train import evaluate, split_dataset  # noqa: E402

WEIGHTS = np.array([1.0, 0.5, 0.5])


def _proxy_rank(model, d, idx, batch=64):
    preds = []
    for i in range(0, len(idx), batch):
        rows = idx[i:i + batch]
        out = model.predict_batch(d.netlist, d.xy[rows], d.orient[rows])
        preds.append(np.stack([out[t] for t in TERMS], 1))
    p = np.concatenate(preds) @ WEIGHTS
    y = d.labels[idx] @ WEIGHTS
    return kendall_tau(y, p), pairwise_accuracy(y, p)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=None, help="model folder (default: shipped)")
    ap.add_argument("--dataset", action="append", required=True)
    ap.add_argument("--split", choices=("all", "val"), default="all")
    args = ap.parse_args()
    model = load_reward_model(args.model)
    tcfg = model.meta.get("train", {})
    print(f"# reward predictor {args.model or '(shipped)'}: step "
          f"{model.meta.get('step')}, trained on "
          f"{len(model.meta.get('dataset', {}).get('netlists', []))} netlists\n")
    for path in args.dataset:
        data = load_dataset(path)
        if args.split == "val":
            idx = split_dataset(data, tcfg.get("val_fraction", 0.1),
                                tuple(tcfg.get("holdout", ())),
                                tcfg.get("seed", 0)).val
        else:
            idx = [np.arange(len(d)) for d in data]
        t0 = time.perf_counter()
        rep = evaluate(model, data, idx)
        secs = time.perf_counter() - t0
        print(f"## {path} ({args.split} samples, scored in {secs:.1f} s)\n")
        head = " | ".join(f"{t} R2 / tau / pair" for t in TERMS)
        print(f"| netlist | n | {head} | proxy tau / pair |")
        print("|---|---|" + "---|" * (len(TERMS) + 1))
        for d, i in zip(data, idx, strict=True):
            if d.id not in rep["netlists"]:
                continue
            r = rep["netlists"][d.id]
            cells = " | ".join(f"{r[t]['r2']:.3f} / {r[t]['tau']:.3f} / "
                               f"{r[t]['pairwise']:.3f}" for t in TERMS)
            pt, pp = _proxy_rank(model, d, i)
            print(f"| {d.id} | {r['n']} | {cells} | {pt:.3f} / {pp:.3f} |")
        for name in ("mean", "pooled"):
            r = rep[name]
            cells = " | ".join(f"{r[t]['r2']:.3f} / {r[t]['tau']:.3f} / "
                               f"{r[t]['pairwise']:.3f}" for t in TERMS)
            print(f"| *{name}* | | {cells} | |")
        print()


if __name__ == "__main__":
    main()
