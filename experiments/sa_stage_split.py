"""Where an SA stage's time goes on Ariane133: the moves of all chains
against the soft-macro re-placement after them, for each soft placer.

    python experiments/sa_stage_split.py [--repeats 3]

Prints the median wall time of one compiled stage (``steps_per_stage`` moves
for each of ``chains`` chains) and of one re-placement (``refresh``: the
soft-macro pass and the exact cost of every chain), from a random placement.
experiments/results_soft.md (section 2c) quotes it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
from _paths import ARIANE

import placer
from placer.config import SAConfig
from placer.env.env import make_env
from placer.search.sa import make_sa

A = ARIANE


def _timed(fn, *args):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    nl = placer.load_netlist(A / "netlist.pb.txt.gz", A / "legalized.plc")
    cfg = SAConfig()
    print(f"load average at the start: {os.getloadavg()}")
    print("| soft placer | stage: moves x chains | stage, median (s) "
          "| re-placement, median (s) |")
    print("|---|---|---|---|")
    for soft in ("analytical", "fd"):
        env, params = make_env(nl, soft=soft)
        stage, refresh, _, _ = make_sa(env, params, cfg)
        n = params.order.shape[0]
        cells_all = env.spec.grid_rows * env.spec.grid_cols
        perm = np.random.default_rng(0).permutation(cells_all)[:n].astype(np.int32)
        cells = jnp.asarray(np.tile(perm, (cfg.chains, 1)))
        start_orient = np.asarray(params.orient)[np.asarray(params.order)]
        orients = jnp.asarray(np.tile(start_orient, (cfg.chains, 1)))
        states = refresh(cells, orients)
        s = cfg.steps_per_stage
        temps = jnp.full((s,), 1e-3, states.xy.dtype)
        keys = jax.random.split(jax.random.PRNGKey(0), cfg.chains * s).reshape(
            cfg.chains, s, 2)
        _timed(stage, keys, cells, orients, states, temps)       # compile
        t_stage = [_timed(stage, keys, cells, orients, states, temps)
                   for _ in range(a.repeats)]
        t_refresh = [_timed(refresh, cells, orients) for _ in range(a.repeats)]
        print(f"| {soft} | {s} x {cfg.chains} | {statistics.median(t_stage):.2f} | "
              f"{statistics.median(t_refresh):.2f} |")


if __name__ == "__main__":
    main()
