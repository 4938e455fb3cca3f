"""Power-of-two weight quantization of a placement policy: MSQE against
gradient-based (learned thresholds), at several bit widths.

    python experiments/quantize_policy.py --policy DIR
    python experiments/quantize_policy.py --pair NETLIST PLC POLICY [--pair ...]
        [--bits 8 6 4] [--methods msqe gradient msqe-qat] [--steps 300]
        [--samples 16] [--json out.json]

With ``--policy`` the default designs are Ariane133 (../shared) and
netlists/design_2 (held out). A conv-head policy places each on its own
grid; a deconv-head policy is tied to its grid, so each design is loaded on
the policy's grid (the .plc's grid is overridden when it differs); ``--pair``
names a netlist, its .plc and the policy to use on it (repeatable).

For each design, bit width and method:
  - agreement: the fraction of recorded states on which the quantized
    policy's greedy (argmax) action equals the float policy's. The states are
    the float policy's greedy + ``--eval-episodes`` sampled episodes with a
    seed the fine-tuning does not use;
  - kl: mean KL(float || quantized) of the masked action distributions there;
  - proxy: placer.proxy_cost of placer.place(method="rl") with that policy
    (the best of the greedy and ``--samples`` sampled episodes), beside the
    float policy's.
Methods: "msqe" (post-training MSQE exponents), "gradient" (TQT thresholds
and weights fine-tuned by distillation on the float policy's states of the
same design: greedy + ``--record-episodes`` sampled episodes), "msqe-qat"
(the same fine-tuning with MSQE exponents recomputed every step).

Prints a markdown table; writes JSON (--json).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path

import jax
import numpy as np
from _paths import ARIANE, ROOT

import placer
from placer.quant.distill import (
    action_agreement,
    masked_kl,
    policy_logits,
    record_states,
)

DEFAULT_DESIGNS = [(ARIANE / "netlist.pb.txt.gz", ARIANE / "legalized.plc"),
                   (ROOT / "netlists" / "design_2" / "netlist.pb.txt",
                    ROOT / "netlists" / "design_2" / "initial.plc")]
EVAL_SEED = 1000


def load_on_grid(netlist: str, plc: str | None, policy) -> placer.Netlist:
    """The netlist, on the policy's grid (overriding the .plc's if needed;
    a conv-head policy is moved to the netlist's grid instead, see
    on_grid)."""
    nl = placer.load_netlist(str(netlist), None if plc is None else str(plc))
    if policy.net.grid_free:
        return nl
    rows, cols = policy.net.grid_rows, policy.net.grid_cols
    if (nl.settings.grid_rows, nl.settings.grid_cols) != (rows, cols):
        print(f"{nl.name}: grid {nl.settings.grid_rows} x {nl.settings.grid_cols} "
              f"-> the policy's {rows} x {cols}", file=sys.stderr)
        nl = placer.load_netlist(str(netlist), None if plc is None else str(plc),
                                 grid_rows=rows, grid_cols=cols)
    return nl


def on_grid(policy, nl: placer.Netlist):
    """A conv-head policy set to the netlist's grid (its parameters fit every
    grid); any other policy as it is."""
    if not policy.net.grid_free:
        return policy
    rows, cols = int(nl.settings.grid_rows), int(nl.settings.grid_cols)
    return dataclasses.replace(policy, net=policy.net.for_grid(rows, cols),
                               meta={**policy.meta, "grid_rows": rows,
                                     "grid_cols": cols})


def proxy_of(nl, policy, samples: int) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = placer.place(nl, method="rl", policy=policy, samples=samples)
    assert not placer.check_legality(out)
    return float(placer.proxy_cost(out).proxy), time.perf_counter() - t0


def run_design(netlist, plc, policy_dir, args) -> list[dict]:
    pol = placer.load_policy(policy_dir)
    nl = load_on_grid(netlist, plc, pol)
    pol = on_grid(pol, nl)

    def log(m: str) -> None:
        print(f"  {m}", file=sys.stderr, flush=True)

    float_proxy, float_s = proxy_of(nl, pol, args.samples)
    states = record_states(pol, nl, samples=args.eval_episodes, seed=EVAL_SEED)
    float_logits = policy_logits(pol.net, pol.params, states)
    log(f"{nl.name}: float proxy {float_proxy:.4f} ({float_s:.0f} s), "
        f"{states.size} evaluation states")
    rows = []
    for bits in args.bits:
        for method in args.methods:
            t0 = time.perf_counter()
            kw = {}
            if method in ("gradient", "msqe-qat"):
                kw = {"netlist": nl, "steps": args.steps,
                      "samples": args.record_episodes, "batch_size": args.batch_size,
                      "learning_rate": args.lr, "threshold_lr": args.threshold_lr}
            q = placer.quantize(pol, bits=bits,
                                method="gradient" if method == "gradient" else "msqe",
                                per_channel=args.per_channel, log=log, **kw)
            q_s = time.perf_counter() - t0
            agree = action_agreement(pol.net, pol.params, q.params, states)
            ql = policy_logits(pol.net, q.params, states)
            kl = float(np.mean(np.asarray(masked_kl(
                float_logits, ql, np.asarray(states.obs.action_mask)))))
            proxy, place_s = proxy_of(nl, q, args.samples)
            ft = q.meta["quantization"].get("finetune") or {}
            row = {"design": nl.name, "policy": str(policy_dir), "bits": bits,
                   "method": method, "agreement": agree, "kl": kl, "proxy": proxy,
                   "float_proxy": float_proxy, "quantize_s": q_s, "place_s": place_s,
                   "states": states.size, "frozen": ft.get("frozen_thresholds"),
                   "kl_train_first": ft.get("kl_first"),
                   "kl_train_last": ft.get("kl_last")}
            rows.append(row)
            log(f"{nl.name} {bits}-bit {method}: agreement {agree:.3f}, KL {kl:.2e}, "
                f"proxy {proxy:.4f} (float {float_proxy:.4f}), {q_s:.0f} s")
    return rows


def table(rows: list[dict]) -> str:
    out = ["| design | bits | method | greedy agreement | KL(float ‖ quant) | "
           "proxy (quant) | proxy (float) | quantize s |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        out.append(f"| {r['design']} | {r['bits']} | {r['method']} | "
                   f"{r['agreement']:.3f} | {r['kl']:.2e} | {r['proxy']:.4f} | "
                   f"{r['float_proxy']:.4f} | {r['quantize_s']:.0f} |")
    return "\n".join(out)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--policy", help="one policy for the default designs")
    ap.add_argument("--pair", nargs=3, action="append", default=[],
                    metavar=("NETLIST", "PLC", "POLICY"),
                    help="a design, its .plc and the policy to use on it")
    ap.add_argument("--bits", type=int, nargs="+", default=[8, 6, 4])
    ap.add_argument("--methods", nargs="+", default=["msqe", "gradient"],
                    choices=["msqe", "gradient", "msqe-qat"])
    ap.add_argument("--per-channel", action="store_true")
    ap.add_argument("--steps", type=int, default=300, help="fine-tuning steps")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--threshold-lr", type=float, default=0.01)
    ap.add_argument("--record-episodes", type=int, default=8,
                    help="sampled episodes recorded for fine-tuning (+ greedy)")
    ap.add_argument("--eval-episodes", type=int, default=4,
                    help="sampled episodes recorded for the agreement (+ greedy)")
    ap.add_argument("--samples", type=int, default=16,
                    help="sampled episodes of place(method='rl') (+ greedy)")
    ap.add_argument("--json", default=None, help="write the rows here")
    args = ap.parse_args(argv)
    pairs = [tuple(p) for p in args.pair]
    if args.policy:
        pairs += [(str(n), str(p), args.policy) for n, p in DEFAULT_DESIGNS]
    if not pairs:
        ap.error("give --policy or --pair")
    rows = []
    for netlist, plc, pol in pairs:
        rows += run_design(netlist, plc if plc not in ("-", "") else None, pol, args)
    print(table(rows))
    if args.json:
        info = {"argv": sys.argv[1:], "args": vars(args), "machine": platform.node(),
                "jax": jax.__version__, "devices": [str(d) for d in jax.devices()]}
        Path(args.json).write_text(json.dumps({"info": info, "rows": rows}, indent=1,
                                              default=float) + "\n")


if __name__ == "__main__":
    main()
