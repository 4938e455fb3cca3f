"""A small initialised policy on the bundled synth_small design (10 x 10)."""

from __future__ import annotations

import dataclasses
import functools
from pathlib import Path

import jax

from placer.env.env import make_env
from placer.models.graph import netlist_graph
from placer.netlist.io import load_netlist
from placer.rl import ppo
from placer.rl.policy import POLICY_FORMAT, Policy
from tests.rl.probe import SMALL, small_net

SYNTH = Path(__file__).resolve().parents[2] / "netlists" / "synth_small"


@functools.lru_cache(maxsize=1)
def synth_small():
    return load_netlist(str(SYNTH / "netlist.pb.txt"), str(SYNTH / "initial.plc"))


@functools.lru_cache(maxsize=1)
def small_policy(seed: int = 0) -> Policy:
    """The SMALL network for synth_small's grid, randomly initialised."""
    nl = synth_small()
    env, params = make_env(nl)
    net = small_net(nl.settings.grid_rows, nl.settings.grid_cols)
    problem = ppo.Problem(params, netlist_graph(nl))
    p = ppo.init_fn(env.spec, net)(jax.random.PRNGKey(seed), problem)
    meta = {"format": POLICY_FORMAT, "model": dataclasses.asdict(SMALL),
            "grid_rows": nl.settings.grid_rows, "grid_cols": nl.settings.grid_cols,
            "netlist": nl.name}
    return Policy(net=net, params=jax.device_get(p), meta=meta)


@functools.lru_cache(maxsize=4)
def msqe_policy(bits: int = 6, per_channel: bool = False):
    """small_policy quantized by MSQE (shared: each calibration compiles)."""
    from placer.quant import quantize

    return quantize(small_policy(), bits=bits, method="msqe", per_channel=per_channel)
