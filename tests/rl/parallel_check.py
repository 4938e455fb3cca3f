"""Run as a script under XLA_FLAGS=--xla_force_host_platform_device_count=2:
one probe PPO update on 1 device and on a 2-device mesh; prints the largest
differences as JSON (see test_parallel.py)."""

import dataclasses
import json

import jax
import numpy as np

from placer.errors import PlacerInputError
from placer.rl import ppo
from placer.rl.parallel import make_mesh, parallel_update
from tests.rl.probe import PROBE_CFG, probe_problem, small_net


def main() -> None:
    env, problem = probe_problem()
    net = small_net()
    opt = ppo.make_optimizer(PROBE_CFG)
    ts = ppo.init_train_state(env, net, problem, jax.random.PRNGKey(0), opt)
    single = jax.jit(ppo.make_update(env, net, PROBE_CFG, opt))
    mesh = make_mesh()
    multi = parallel_update(env, net, PROBE_CFG, opt, mesh)
    a, ma = single(ts, problem)
    b, mb = multi(ts, problem)
    diff = lambda x, y: max(float(np.max(np.abs(np.asarray(p) - np.asarray(q))))  # noqa: E731
                            for p, q in zip(jax.tree.leaves(x), jax.tree.leaves(y),
                                            strict=True))
    moved = diff(ts.params, a.params)
    try:
        parallel_update(env, net, dataclasses.replace(PROBE_CFG, num_envs=3), opt, mesh)
        rejects = False
    except PlacerInputError:
        rejects = True
    hlo = multi.lower(ts, problem).compile().as_text()   # cached: no recompile
    print(json.dumps({"devices": mesh.devices.size, "params": diff(a.params, b.params),
                      "opt_state": diff(a.opt_state, b.opt_state),
                      "metrics": diff(ma, mb), "moved": moved,
                      "reward": float(ma["episode_reward"]),
                      "all_reduce": "all-reduce" in hlo,
                      "rejects_indivisible": rejects}))


if __name__ == "__main__":
    main()
