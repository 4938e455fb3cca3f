"""Data-parallel PPO: a 2-device update equals the 1-device update."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_parallel_update__two_devices_match_one():
    """On 2 forced host devices, one probe update matches the single-device
    update to float tolerance, and the program really is partitioned (it
    all-reduces across devices); 3 environments on 2 devices are refused."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2",
           "JAX_PLATFORMS": "cpu"}
    proc = subprocess.run([sys.executable, "-m", "tests.rl.parallel_check"],
                          cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    assert r["devices"] == 2
    assert r["all_reduce"]
    assert r["moved"] > 1e-3            # the update did change the params ...
    assert r["params"] < 1e-4           # ... the same way on 2 devices
    assert r["opt_state"] < 1e-6
    assert r["metrics"] < 1e-5
    assert r["rejects_indivisible"]     # 3 environments on 2 devices
