"""Wall time of the PPO update on one design: compile + first update, then
the median of the next ones, on one device or data-parallel over several.

    python experiments/bench_rl_update.py NETLIST PLC [--envs 8] [--fd 100]
        [--soft fd]
        [--encoder-input netlist] [--updates 2] [--devices 1,2]
        [--paths old,new,new-small]

``--paths old,new`` times the code before issue 18 (``ppo.stored_maps=false``:
the network, encoder included, runs once per observation in the rollout and
in every epoch of the loss; the conv head (32, 32, 32) with embed 16, no
heuristic prior, no imitation loss, the wire mask summed over all net
entries) and today's default update (stored maps: the rollout keeps
each step's parameter-free conv-head maps and the loss encodes the netlist
once per minibatch; the small conv head with the heuristic prior) in the
same process, their timed updates taken in turn; ``stored-big`` is the
stored-maps update with the old big head; ``new-noimit`` the default update
without the imitation loss (``ppo.imitation_coef=0``), which shows what the
expert-iteration step costs; ``new-vmapped`` the default with the
episodes' terminal steps (soft macros, cost) vmapped with the rest of the
rollout, as before session 7 (``old`` and ``stored-big`` vmap them too);
``frozen`` the default with the encoder frozen (``model.freeze_encoder``:
no gradient through it, and its pass runs once per update, not once per
minibatch); ``elite-sampled`` the default with the elite and the imitation
loss on the sampled states (``ppo.imitation_elite``,
``ppo.imitation_states=sampled``: no replay of the improved episode).
"Macro placements / s" counts the trained placements: envs x macros per
update over the update's seconds.

``--devices 1,2`` times the update on one device and on a two-device mesh
(placer.rl.parallel) in the same process, their timed updates taken in
turn; on a CPU, give the process several devices first with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
import time

import jax

import placer
from placer.config import PolicyConfig, PPOConfig, TrainRLConfig
from placer.env.env import placement_order as placer_order
from placer.rl import ppo
from placer.rl.parallel import replicate, training_mesh
from placer.rl.train import build_session, initial_params

# The network before issue 18's small head: conv head (32, 32, 32), embed 16,
# no heuristic prior.
BIG = {"conv_channels": (32, 32, 32), "conv_embed": 16, "wire_prior": 0.0}
# path -> (model overrides, PPO overrides, whether the wire mask sums over
# all net entries): the code before issue 18 (the per-observation network,
# the big head, no imitation loss, the wire mask over all entries), the
# stored maps with the big head, today's default, and today's default
# without the imitation loss
PATHS = {"old": (BIG, {"stored_maps": False, "imitation_coef": 0.0}, True),
         "stored-big": (BIG, {}, False),
         "new": ({}, {}, False),
         # today's default with the episodes' terminal steps vmapped (session 6)
         "new-vmapped": ({}, {}, False),
         "new-noimit": ({}, {"imitation_coef": 0.0}, False),
         # today's default with the encoder frozen (model.freeze_encoder): its
         # pass runs once per update instead of once per minibatch
         "frozen": ({"freeze_encoder": True}, {}, False),
         # the elite with the imitation on the sampled states only (no replay)
         "elite-sampled": ({}, {"imitation_elite": True,
                                "imitation_states": "sampled"}, False)}


# Paths that vmap the episodes' terminal steps (soft macros and cost) with
# the rest of the rollout, as the code did before session 7; the others run
# them in turn (PlacementEnv.terminals).
VMAPPED_TERMINALS = {"old", "stored-big", "new-vmapped"}


def _timed_update(se, ts):
    t = time.perf_counter()
    ts, m = se.update(ts, se.problem)
    jax.block_until_ready(m)
    return ts, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist")
    ap.add_argument("plc", nargs="?")
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--fd", type=int, default=100, help="steps per FD stage")
    ap.add_argument("--soft", default="fd", choices=("fd", "analytical"),
                    help="the episodes' soft-macro placer (place() fine-tunes "
                         "with analytical)")
    ap.add_argument("--encoder-input", default="netlist",
                    choices=("netlist", "placement"))
    ap.add_argument("--updates", type=int, default=2)
    ap.add_argument("--devices", default="1",
                    help="comma-separated device counts to time (0: all)")
    ap.add_argument("--paths", default="new",
                    help="comma-separated: old (ppo.stored_maps=false, the big "
                         "head), stored-big (stored maps, the big head), new "
                         "(the defaults), new-vmapped (new, terminal steps "
                         "vmapped), new-noimit (new with ppo.imitation_coef=0), "
                         "frozen (new, model.freeze_encoder), elite-sampled")
    a = ap.parse_args()
    load0 = os.getloadavg()
    nl = placer.load_netlist(a.netlist, a.plc)
    key = jax.random.PRNGKey(0)
    runs = []
    variants = [(p, int(d)) for p in a.paths.split(",") for d in a.devices.split(",")]
    for path, d in variants:
        if path not in PATHS:
            raise SystemExit(f"unknown path {path!r} (known: {', '.join(PATHS)})")
        model_over, ppo_over, all_entries = PATHS[path]
        cfg = TrainRLConfig(netlist=a.netlist, fd_steps=(a.fd,) * 3, soft=a.soft,
                            ppo=PPOConfig(num_envs=a.envs, num_minibatches=4,
                                          num_epochs=4, **ppo_over),
                            model=PolicyConfig(encoder_input=a.encoder_input,
                                               **model_over))
        mesh = training_mesh(d)
        se = build_session(cfg, nl, mesh)
        if path in VMAPPED_TERMINALS:
            if mesh is not None:
                raise SystemExit(f"path {path!r} runs on one device only")
            se = dataclasses.replace(se, update=jax.jit(ppo.make_update(
                se.env, se.net, cfg.ppo, se.optimizer, terminals_in_turn=False)))
        if all_entries:
            # the wire mask as before issue 18: sums over all E net entries
            ep = se.problem.env_params.replace(order_entries=None)
            se = dataclasses.replace(se, problem=se.problem.replace(env_params=ep))
        ts = ppo.init_train_state(se.env, se.net, se.problem, key, se.optimizer,
                                  params=initial_params(cfg, se, key),
                                  elite=ppo.elite_slots(cfg.ppo))
        if mesh is not None:
            ts = replicate(ts, mesh)
        ts, first = _timed_update(se, ts)
        runs.append({"path": path, "devices": 1 if mesh is None else mesh.devices.size,
                     "se": se, "ts": ts, "first": first, "times": []})
    for _ in range(a.updates):
        for r in runs:
            r["ts"], t = _timed_update(r["se"], r["ts"])
            r["times"].append(t)
    base = statistics.median(runs[0]["times"])
    steps = a.envs * len(placer_order(nl))
    print(f"load average before / after: {load0} / {os.getloadavg()}")
    print("| design | envs | soft | encoder input | path | devices | compile + 1st "
          "update (s) | update, median (s) | macro placements / s | speed-up |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in runs:
        med = statistics.median(r["times"])
        print(f"| {nl.name} | {a.envs} | {a.soft} | {a.encoder_input} | {r['path']} | "
              f"{r['devices']} | {r['first']:.1f} | {med:.2f} | {steps / med:.0f} | "
              f"{base / med:.2f} |")


if __name__ == "__main__":
    main()
