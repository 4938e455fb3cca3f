"""Run as ``python -m tests.rl.parallel_check REF.npz`` under
XLA_FLAGS=--xla_force_host_platform_device_count=2: one probe PPO update on a
2-device mesh, compared with the single-device update saved in REF.npz by
test_parallel.py; prints the largest differences as JSON."""

import dataclasses
import json
import sys

import jax
import numpy as np

from placer.errors import PlacerInputError
from placer.rl import ppo
from placer.rl.parallel import make_mesh, parallel_update
from tests.rl.probe import PROBE_CFG, probe_problem, small_net


def probe_start():
    """(env, problem, net, optimizer, initial TrainState) of the check."""
    env, problem = probe_problem()
    net = small_net()
    opt = ppo.make_optimizer(PROBE_CFG)
    ts = ppo.init_train_state(env, net, problem, jax.random.PRNGKey(0), opt)
    return env, problem, net, opt, ts


def flat(tree) -> list[np.ndarray]:
    """The leaves of a pytree as numpy arrays."""
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def main(ref_path: str) -> None:
    env, problem, net, opt, ts = probe_start()
    ref = np.load(ref_path)
    mesh = make_mesh()
    multi = parallel_update(env, net, PROBE_CFG, opt, mesh)
    new, metrics = multi(ts, problem)
    got = {"start": flat(ts.params), "params": flat(new.params),
           "opt_state": flat(new.opt_state), "metrics": flat(metrics)}
    diff = {k: max(float(np.max(np.abs(g - ref[f"{k}_{i}"])))
                   for i, g in enumerate(v)) for k, v in got.items()}
    try:
        parallel_update(env, net, dataclasses.replace(PROBE_CFG, num_envs=3), opt,
                        mesh)
        rejects = False
    except PlacerInputError:
        rejects = True
    hlo = multi.lower(ts, problem).compile().as_text()   # cached: no recompile
    print(json.dumps({"devices": mesh.devices.size, **diff,
                      "all_reduce": "all-reduce" in hlo,
                      "rejects_indivisible": rejects}))


if __name__ == "__main__":
    main(sys.argv[1])
