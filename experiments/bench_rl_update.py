"""Wall time of the PPO update on one design: compile + first update, then
the median of the next ones.

    python experiments/bench_rl_update.py NETLIST PLC [--envs 8] [--fd 100]
        [--encoder-input netlist] [--updates 2]
"""

from __future__ import annotations

import argparse
import statistics
import time

import jax

import placer
from placer.config import PolicyConfig, PPOConfig, TrainRLConfig
from placer.rl import ppo
from placer.rl.train import build_session, initial_params


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist")
    ap.add_argument("plc", nargs="?")
    ap.add_argument("--envs", type=int, default=8)
    ap.add_argument("--fd", type=int, default=100, help="steps per FD stage")
    ap.add_argument("--encoder-input", default="netlist",
                    choices=("netlist", "placement"))
    ap.add_argument("--updates", type=int, default=2)
    a = ap.parse_args()
    nl = placer.load_netlist(a.netlist, a.plc)
    cfg = TrainRLConfig(netlist=a.netlist, fd_steps=(a.fd,) * 3,
                        ppo=PPOConfig(num_envs=a.envs, num_minibatches=4, num_epochs=4),
                        model=PolicyConfig(encoder_input=a.encoder_input))
    se = build_session(cfg, nl)
    key = jax.random.PRNGKey(0)
    ts = ppo.init_train_state(se.env, se.net, se.problem, key, se.optimizer,
                              params=initial_params(cfg, se, key))
    times = []
    for _ in range(1 + a.updates):
        t = time.perf_counter()
        ts, m = se.update(ts, se.problem)
        jax.block_until_ready(m)
        times.append(time.perf_counter() - t)
    print("| design | envs | encoder input | compile + 1st update (s) "
          "| update, median (s) |")
    print("|---|---|---|---|---|")
    print(f"| {nl.name} | {a.envs} | {a.encoder_input} | {times[0]:.1f} | "
          f"{statistics.median(times[1:]):.1f} |")


if __name__ == "__main__":
    main()
