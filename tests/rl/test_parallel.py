"""Data-parallel PPO: a 2-device update equals the 1-device update."""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from placer.errors import PlacerInputError
from placer.rl.parallel import compiled, training_mesh
from tests.rl.parallel_check import flat, probe_start
from tests.rl.probe import PROBE_CFG

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_parallel_update__two_devices_match_one(tmp_path):
    """On 2 forced host devices, one probe update matches this process's
    single-device update to float tolerance, and the program really is
    partitioned (it all-reduces across devices); 3 environments on 2
    devices are refused."""
    env, problem, net, _, ts = probe_start()
    update = compiled(env.spec, net, PROBE_CFG)[2]   # shared with other tests
    new, metrics = update(ts, problem)
    ref = {"start": flat(ts.params), "params": flat(new.params),
           "opt_state": flat(new.opt_state), "metrics": flat(metrics)}
    np.savez(tmp_path / "ref.npz", **{f"{k}_{i}": x for k, v in ref.items()
                                      for i, x in enumerate(v)})
    moved = max(float(np.max(np.abs(a - b)))
                for a, b in zip(ref["start"], ref["params"], strict=True))
    environ = {**os.environ, "JAX_PLATFORMS": "cpu",
               "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.rl.parallel_check", str(tmp_path / "ref.npz")],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=300,
        check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["devices"] == 2
    assert r["start"] == 0.0            # the same initial parameters
    assert r["all_reduce"]
    assert moved > 1e-3                 # the update did change the params ...
    assert r["params"] < 1e-4           # ... the same way on 2 devices
    assert r["opt_state"] < 1e-6
    assert r["metrics"] < 1e-5
    assert r["rejects_indivisible"]


def test_training_mesh__one_device_needs_no_mesh_and_more_than_there_are_is_bad():
    """devices=1 is the plain single-device update (no mesh); asking for more
    devices than there are is bad input; 0 takes them all."""
    n = len(jax.devices())
    assert training_mesh(1) is None
    assert (training_mesh(0) is None) == (n == 1)
    with pytest.raises(PlacerInputError, match=f"devices={n + 1}"):
        training_mesh(n + 1)


def test_update_compiler_options__fusion_emitters_off_for_a_frozen_encoder_on_cpu():
    """The update of a frozen encoder compiles without XLA's CPU fusion
    emitters (they fail on it: placer.rl.parallel); every other update keeps
    XLA's defaults."""
    from placer.rl.parallel import update_compiler_options
    from tests.rl.probe import small_net

    frozen = update_compiler_options(small_net(freeze_encoder=True))
    if jax.default_backend() == "cpu":
        assert frozen == {"xla_cpu_use_fusion_emitters": False}
    else:
        assert frozen is None
    assert update_compiler_options(small_net()) is None


# compiles design_2's update (about 35 s on one core); the option test above
# is the fast check
@pytest.mark.slow
def test_frozen_encoder_update__compiles_with_the_analytical_reward_and_imitation():
    """The configuration XLA's CPU compiler failed on (jax 0.10.2: frozen
    encoder, analytical soft placer, imitation loss, 8 episodes on design_2)
    compiles and updates."""
    import placer
    from placer.config import PolicyConfig, PPOConfig, TrainRLConfig
    from placer.rl import ppo
    from placer.rl.train import build_session, initial_params

    d = ROOT / "netlists" / "design_2"
    nl = placer.load_netlist(d / "netlist.pb.txt", d / "initial.plc")
    cfg = TrainRLConfig(model=PolicyConfig(freeze_encoder=True), soft="analytical",
                        ppo=PPOConfig(num_envs=8))
    assert cfg.ppo.imitation_coef > 0
    se = build_session(cfg, nl)
    key = jax.random.PRNGKey(0)
    ts = ppo.init_train_state(se.env, se.net, se.problem, key, se.optimizer,
                              params=initial_params(cfg, se, key))
    _, m = se.update(ts, se.problem)
    assert np.isfinite(float(m["loss"])) and 0 < float(m["proxy"]) < 5
