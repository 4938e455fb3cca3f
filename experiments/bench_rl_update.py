"""Wall time of the PPO update on one design: compile + first update, then
the median of the next ones, on one device or data-parallel over several.

    python experiments/bench_rl_update.py NETLIST PLC [--envs 8] [--fd 100]
        [--encoder-input netlist] [--updates 2] [--devices 1,2]

``--devices 1,2`` times the update on one device and on a two-device mesh
(placer.rl.parallel) in the same process, their timed updates taken in
turn; on a CPU, give the process several devices first with
``XLA_FLAGS=--xla_force_host_platform_device_count=2``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax

import placer
from placer.config import PolicyConfig, PPOConfig, TrainRLConfig
from placer.rl import ppo
from placer.rl.parallel import replicate, training_mesh
from placer.rl.train import build_session, initial_params


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
    ap.add_argument("--encoder-input", default="netlist",
                    choices=("netlist", "placement"))
    ap.add_argument("--updates", type=int, default=2)
    ap.add_argument("--devices", default="1",
                    help="comma-separated device counts to time (0: all)")
    a = ap.parse_args()
    nl = placer.load_netlist(a.netlist, a.plc)
    cfg = TrainRLConfig(netlist=a.netlist, fd_steps=(a.fd,) * 3,
                        ppo=PPOConfig(num_envs=a.envs, num_minibatches=4, num_epochs=4),
                        model=PolicyConfig(encoder_input=a.encoder_input))
    key = jax.random.PRNGKey(0)
    runs = []
    for d in (int(x) for x in a.devices.split(",")):
        mesh = training_mesh(d)
        se = build_session(cfg, nl, mesh)
        ts = ppo.init_train_state(se.env, se.net, se.problem, key, se.optimizer,
                                  params=initial_params(cfg, se, key))
        if mesh is not None:
            ts = replicate(ts, mesh)
        ts, first = _timed_update(se, ts)
        runs.append({"devices": 1 if mesh is None else mesh.devices.size,
                     "se": se, "ts": ts, "first": first, "times": []})
    for _ in range(a.updates):
        for r in runs:
            r["ts"], t = _timed_update(r["se"], r["ts"])
            r["times"].append(t)
    base = statistics.median(runs[0]["times"])
    print("| design | envs | encoder input | devices | compile + 1st update (s) "
          "| update, median (s) | speed-up |")
    print("|---|---|---|---|---|---|---|")
    for r in runs:
        med = statistics.median(r["times"])
        print(f"| {nl.name} | {a.envs} | {a.encoder_input} | {r['devices']} | "
              f"{r['first']:.1f} | {med:.2f} | {base / med:.2f} |")


if __name__ == "__main__":
    main()
