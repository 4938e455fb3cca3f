"""Behaviour cloning from simulated annealing (issue 18, items 3 and 5): does
a policy pretrained to imitate SA's placements of generated designs place
an unseen design better zero-shot than the shipped policy and than its own
untrained network?

    # 1. SA placements (and the greedy heuristic's, for reference) of the
    #    training designs: their cells in the environment's placement order
    python experiments/pretrain_bc.py data --budget 60 --out DATA \\
        --designs design_1 synth_small synth0 synth3 ...
    # 2. imitation of those cells: the observations of each SA placement
    #    replayed through the environment (placer.rl.imitation.replay), the
    #    policy's cross-entropy towards SA's cell at every step
    #    (placer.rl.ppo.expert_loss), Adam, one gradient per design per epoch
    python experiments/pretrain_bc.py train --data DATA --designs ... \\
        --epochs 150 [--freeze-prior] [--init shipped --lr 3e-4] --out POLICY
    # 3. zero-shot: greedy decoding and the best of greedy + 16 samples
    #    (seeds 0, 1, 2) on Ariane133, design_2, macro_tiles_10x10 and ibm01
    python experiments/pretrain_bc.py eval POLICY|shipped|untrained
    # 4. the mean of N sampled episodes (where a PPO batch starts)
    python experiments/pretrain_bc.py batch POLICY|shipped|untrained --samples 64

A design is a folder of netlists/ (design_1, design_2, synth_small),
``synthN``, the generated design ``placer.synth.random_design(N)``, or one
of the real designs in ../shared: ariane133, macro_tiles_10x10 (Circuit
Training's test netlist) and ibm01 (clustered); note
that design_1 and design_2 are random_design(1) and (2), so synth1 and
synth2 are those designs. The policy's metadata lists its training designs
by netlist name, and ``eval`` marks a design the policy was trained on as
seen. The network is the shipped policy's (PolicyConfig's defaults); a
fresh one starts as ``placer-train`` starts one (the reward model's
encoder, encoder_checkpoint), ``--init shipped`` from the shipped policy's
parameters. ``--freeze-prior`` keeps the heuristic prior's scale where it
starts (its gradient zeroed). The value head is not trained.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _paths import ARIANE, ROOT, SHARED

import placer
from placer.checkpoint import save_checkpoint
from placer.config import PolicyConfig, TrainRLConfig
from placer.env.env import make_env
from placer.placers.registry import Problem
from placer.placers.state import to_state
from placer.rl import imitation, ppo
from placer.rl.networks import PRIOR_LOG_SCALE, head_maps
from placer.rl.policy import (
    Policy,
    best_episode,
    load_policy,
    model_config,
    training_designs,
)
from placer.rl.train import build_session, initial_params
from placer.synth import random_design

ENCODER = ROOT / "placer" / "reward_model" / "checkpoint_graph"


def design(name: str):
    """The netlist of ``synthN``, of ariane133, macro_tiles_10x10 or ibm01
    (clustered; from ../shared), or of a bundled folder."""
    if name.startswith("synth") and name[5:].isdigit():
        return random_design(int(name[5:]))
    if name == "ariane133":
        return placer.load_netlist(str(ARIANE / "netlist.pb.txt.gz"),
                                   str(ARIANE / "legalized.plc"))
    if name == "macro_tiles_10x10":
        d = SHARED / "netlists" / "ct_testdata" / name
        return placer.load_netlist(str(d / "netlist.pb.txt"), str(d / "initial.plc"))
    if name == "ibm01":
        return placer.cluster(placer.load_netlist(
            str(SHARED / "netlists" / "bookshelf" / "ibm01" / "ibm01.aux")))
    d = ROOT / "netlists" / name
    return placer.load_netlist(str(d / "netlist.pb.txt"), str(d / "initial.plc"))


def cmd_data(a) -> None:
    os.makedirs(a.out, exist_ok=True)
    for name in a.designs:
        t = time.perf_counter()
        nl = design(name)
        greedy = placer.place(nl, method="greedy", seed=0)
        sa = placer.place(nl, method="sa", budget_s=a.budget, seed=0)
        env, params = make_env(sa, soft="analytical")
        cells, orients = to_state(Problem(sa, env, params, jax.random.PRNGKey(0)),
                                  np.asarray(sa.node_xy), np.asarray(sa.node_orient))
        np.savez(os.path.join(a.out, f"{name}.npz"), cells=cells, orients=orients)
        print(json.dumps({"design": name, "netlist": nl.name,
                          "hard_macros": len(nl.movable_hard_macros),
                          "grid": [int(nl.settings.grid_rows),
                                   int(nl.settings.grid_cols)],
                          "greedy": round(placer.proxy_cost(greedy).proxy, 4),
                          "sa": round(placer.proxy_cost(sa).proxy, 4),
                          "seconds": round(time.perf_counter() - t)}), flush=True)


def cmd_train(a) -> None:
    shipped = load_policy()
    cfg = TrainRLConfig(netlist="-", soft="analytical", model=PolicyConfig(),
                        encoder_checkpoint=str(ENCODER))
    steps, names, first = [], [], None
    for name in a.designs:
        nl = design(name)
        names.append(nl.name)
        se = build_session(cfg, nl)
        first = first or se
        ep, net = se.problem.env_params, se.net
        cells = jnp.asarray(np.load(os.path.join(a.data, f"{name}.npz"))["cells"])

        def maps_of(o, graph=se.problem.graph, orient=ep.orient, net=net):
            return head_maps(graph, orient, o, net.grid_rows, net.grid_cols)

        obs, wire, valid, maps = jax.jit(lambda c, se=se, ep=ep, net=net, f=maps_of:
                                         imitation.replay(se.env, ep, c, (
                                             net.grid_rows, net.grid_cols), f))(cells)
        batch = imitation.ExpertBatch(obs=obs, wire=wire, action=cells,
                                      weight=valid.astype(jnp.float32), maps=maps)
        grad = jax.jit(jax.value_and_grad(
            lambda p, b, se=se: ppo.expert_loss(se.net, p, se.problem, b)))
        steps.append((name, batch, grad))
        print(f"{name} ({nl.name}): {int(valid.sum())} steps", flush=True)
    key = jax.random.PRNGKey(a.seed)
    params = (shipped.params if a.init == "shipped"
              else initial_params(cfg, first, key))
    opt = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(a.lr))
    state = opt.init(params)
    rng = random.Random(a.seed)
    t0 = time.perf_counter()
    for epoch in range(a.epochs):
        order = list(range(len(steps)))
        rng.shuffle(order)
        losses = []
        for i in order:
            _, batch, grad = steps[i]
            loss, g = grad(params, batch)
            if a.freeze_prior:
                head = dict(g["params"]["policy_head"])
                head[PRIOR_LOG_SCALE] = jnp.zeros_like(head[PRIOR_LOG_SCALE])
                g = {**g, "params": {**g["params"], "policy_head": head}}
            updates, state = opt.update(g, state, params)
            params = optax.apply_updates(params, updates)
            losses.append(float(loss))
        if epoch % 10 == 0 or epoch == a.epochs - 1:
            raw = float(params["params"]["policy_head"][PRIOR_LOG_SCALE])
            print(f"epoch {epoch}: mean imitation loss {np.mean(losses):.4f}, "
                  f"prior log-scale {raw:.4f}, {time.perf_counter() - t0:.0f} s",
                  flush=True)
    # a policy cloned from the shipped one was trained on its designs too
    before = training_designs(shipped.meta) if a.init == "shipped" else []
    meta = {**shipped.meta, "training_designs": list(dict.fromkeys([*before, *names])),
            "netlists": names,
            "behaviour_cloning": {"epochs": a.epochs, "lr": a.lr, "init": a.init,
                                  "freeze_prior": a.freeze_prior, "data": a.data,
                                  "designs": a.designs}}
    save_checkpoint(os.path.abspath(a.out), a.epochs, params, meta, max_to_keep=1)
    print(f"saved {a.out}")


def untrained(seed: int) -> Policy:
    """The shipped policy's network with fresh parameters (key ``seed``, no
    pretrained encoder), as experiments/rl_budget.py --scratch draws them."""
    base = load_policy()
    cfg = TrainRLConfig(model=model_config(base.meta), soft="analytical", seed=seed)
    se = build_session(cfg, design("design_2"))
    params = initial_params(cfg, se, jax.random.PRNGKey(seed))
    return Policy(net=se.net, params=params,
                  meta={**base.meta, "training_designs": [], "netlists": []})


# the designs ``eval`` places: Ariane133 (the main benchmark), design_2 (of
# the generated family), and two real designs outside both: Circuit
# Training's macro_tiles_10x10 test netlist and ibm01 (clustered)
EVAL_DESIGNS = ("ariane133", "design_2", "macro_tiles_10x10", "ibm01")


def eval_design(label: str):
    """The netlist of one of EVAL_DESIGNS (or any name ``design`` knows)."""
    return design(label)


def policy_of(name: str) -> Policy:
    """A policy checkpoint's path, "shipped" or "untrained"."""
    if name == "untrained":
        return untrained(0)
    return load_policy(None if name == "shipped" else name)


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    n = int(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return n


def cmd_eval(a) -> None:
    pol = policy_of(a.policy)
    seen = set(pol.meta.get("training_designs", []))
    res = {}
    for label in a.designs:
        nl = eval_design(label)
        tag = f"{label}{' (seen)' if nl.name in seen else ''}"
        r = placer.place(nl, method="rl", policy=pol, seed=0, samples=0)
        res[f"{tag} greedy"] = round(placer.proxy_cost(r).proxy, 4)
        for s in a.seeds:
            r = placer.place(nl, method="rl", policy=pol, seed=s, samples=16)
            res[f"{tag} best of 17, seed {s}"] = round(placer.proxy_cost(r).proxy, 4)
        print(json.dumps({"policy": a.policy, **res}), flush=True)


def cmd_batch(a) -> None:
    """The mean proxy of ``--samples`` sampled episodes per design (each
    ``best_episode`` of one sample, seeds 0, 1, ...): where a PPO batch of
    the policy starts, before any update, next to its greedy episode."""
    pol = policy_of(a.policy)
    res = {}
    for label in a.designs:
        nl = eval_design(label)
        env, params = make_env(nl, soft="analytical")
        res[f"{label} greedy"] = round(best_episode(
            env, params, nl, pol, samples=0)[1], 4)
        costs = np.array([best_episode(env, params, nl, pol, samples=1, greedy=False,
                                       seed=s)[1] for s in range(a.samples)])
        res[f"{label} sampled mean"] = round(float(costs.mean()), 4)
        res[f"{label} sampled std"] = round(float(costs.std()), 4)
    print(json.dumps({"policy": a.policy, "samples": a.samples, **res}), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("--designs", nargs="+", required=True)
    d.add_argument("--budget", type=float, default=60.0,
                   help="SA's seconds per design (> 0)")
    d.add_argument("--out", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--designs", nargs="+", required=True)
    t.add_argument("--epochs", type=positive_int, default=150)
    t.add_argument("--lr", type=float, default=1e-3)
    t.add_argument("--init", default="fresh", choices=("fresh", "shipped"))
    t.add_argument("--freeze-prior", action="store_true")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--out", required=True)
    e = sub.add_parser("eval")
    e.add_argument("policy", help="a policy checkpoint, 'shipped', or "
                   "'untrained' (its network, fresh parameters, key 0)")
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    e.add_argument("--designs", nargs="+", default=list(EVAL_DESIGNS),
                   choices=(*EVAL_DESIGNS, "design_1", "synth_small"))
    b = sub.add_parser("batch")
    b.add_argument("policy", help="a policy checkpoint, 'shipped' or 'untrained'")
    b.add_argument("--samples", type=positive_int, default=64)
    b.add_argument("--designs", nargs="+", default=["design_2"],
                   choices=(*EVAL_DESIGNS, "design_1", "synth_small"))
    a = ap.parse_args()
    if a.cmd == "data" and not a.budget > 0:
        ap.error(f"--budget must be > 0, got {a.budget}")
    {"data": cmd_data, "train": cmd_train, "eval": cmd_eval,
     "batch": cmd_batch}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
