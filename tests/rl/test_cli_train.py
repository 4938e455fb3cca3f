"""placer-train: its config (conf/train_rl.yaml) and a run through the CLI path."""

import dataclasses
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import placer
from placer.cli import CONFIG_DIR, run_place, run_train
from placer.rl.policy import load_policy
from tests.rl.probe import PROBE_CFG, SMALL, probe_netlist

ROOT = Path(__file__).resolve().parents[2]


def compose_train(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose("train_rl", overrides=list(overrides))


@pytest.mark.parametrize("override", ["ppo.num_env=3", "model.hidden=big",
                                      "updatez=3"])
def test_train_rl_config__bad_key_or_type_fails_at_compose(override):
    """A misspelt key or a wrong type fails when the config is composed."""
    with pytest.raises(ConfigCompositionException):
        compose_train("netlist=a.pb.txt", override)


@pytest.mark.parametrize("override", ["model.head=dense", "model.encoder_input=both",
                                      "model.head=deconv"])
def test_train_rl_config__bad_head_or_encoder_input_is_rejected(override):
    """An unknown head or encoder input, or the netlist input without the conv
    head, fails when the config is typed."""
    dict_cfg = compose_train("netlist=a.pb.txt", "model.encoder_input=netlist",
                             override)
    with pytest.raises(Exception, match="model\\."):
        OmegaConf.to_object(dict_cfg)


@pytest.mark.parametrize("overrides", [
    ["devices=-1"],
    ["distributed.num_processes=2"],                       # no address, no id
    ["distributed.coordinator_address=h:1", "distributed.num_processes=2",
     "distributed.process_id=2"],                          # id out of range
    ["distributed.auto=true", "distributed.coordinator_address=h:1",
     "distributed.num_processes=2", "distributed.process_id=0"]])
def test_train_rl_config__bad_devices_or_distributed_is_rejected(overrides):
    """A negative device count, a partial or out-of-range distributed
    setting, or auto-detection together with explicit settings fail when
    the config is typed."""
    with pytest.raises(Exception, match="devices|distributed"):
        OmegaConf.to_object(compose_train("netlist=a.pb.txt", *overrides))


@pytest.mark.parametrize("overrides", [[], ["placement=a.plc"],
                                       ["netlists=[a.pb.txt]", "placements=[]",
                                        "placement=b.plc"],
                                       ["netlists=[a.pb.txt]",
                                        "placements=[a.plc,b.plc]"]])
def test_training_netlists__no_design_or_unpaired_placements_is_bad_input(overrides):
    """No design, a placement without its netlist, or placements that do not
    pair with the netlists: a PlacerInputError before anything is read."""
    from placer.cli import training_netlists
    from placer.errors import PlacerInputError

    cfg = OmegaConf.to_object(compose_train(*overrides))
    with pytest.raises(PlacerInputError):
        training_netlists(cfg)


def _overrides(cfg):
    """Command-line overrides of the dataclass fields of ``cfg`` under ``prefix``."""
    out = []
    for prefix, obj in (("model", SMALL), ("ppo", cfg)):
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            v = list(v) if isinstance(v, tuple) else v
            out.append(f"{prefix}.{f.name}={v}")
    return out


@pytest.mark.slow   # 54 s; train() itself is tested by default (tests/rl/test_train.py)
def test_run_train__files_in_policy_out(tmp_path):
    """run_train reads the netlist and placement files, trains and writes a
    loadable policy, the logs and the summary."""
    nl = probe_netlist()
    placer.save_netlist(nl, tmp_path / "probe.pb.txt")
    placer.save_placement(nl, tmp_path / "probe.plc")
    dict_cfg = compose_train(
        f"netlist={tmp_path / 'probe.pb.txt'}", f"placement={tmp_path / 'probe.plc'}",
        f"output_dir={tmp_path / 'out'}", "updates=2", "eval_every=1",
        "checkpoint_every=1", "fd_steps=[1,1,1]", "progress=false",
        *_overrides(PROBE_CFG))
    summary = run_train(OmegaConf.to_object(dict_cfg))
    assert summary["updates"] == 2
    assert summary["best_greedy"]["proxy"] > 0
    policy = load_policy(tmp_path / "out")
    assert (policy.net.grid_rows, policy.net.grid_cols) == (4, 4)
    assert (tmp_path / "out" / "metrics.jsonl").read_text().count("\n") == 2
    # placer-place method=rl with that policy writes a legal .plc and the JSON
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        pc = OmegaConf.to_object(compose("place", overrides=[
            f"netlist={tmp_path / 'probe.pb.txt'}",
            f"placement={tmp_path / 'probe.plc'}", "method=rl",
            f"policy={tmp_path / 'out' / 'policy'}", "options.samples=4",
            f"output_dir={tmp_path / 'placed'}", "plot=false", "progress=false"]))
    result = run_place(pc)
    assert result["legality_violations"] == 0 and result["method"] == "rl"
    assert os.path.isfile(result["placement"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


# two JAX processes plus a one-process run; fast variants: the two-device
# update in tests/rl/test_parallel.py and test_run_train__files_in_policy_out
@pytest.mark.slow
def test_placer_train__two_processes_train_as_one(tmp_path):
    """placer-train run as two processes joined by jax.distributed (one CPU
    device each: a data-parallel mesh across two hosts) trains as one
    process does: the same parameters to float tolerance. Only process 0
    writes metrics.jsonl, and the checkpoint the two wrote resumes in one
    process and continues the same run."""
    from placer.rl.train import train

    nl = probe_netlist()
    placer.save_netlist(nl, tmp_path / "probe.pb.txt")
    placer.save_placement(nl, tmp_path / "probe.plc")
    common = [f"netlist={tmp_path / 'probe.pb.txt'}",
              f"placement={tmp_path / 'probe.plc'}", "eval_every=1",
              "checkpoint_every=1", "fd_steps=[1,1,1]", "progress=false",
              *_overrides(PROBE_CFG)]
    args = [*common, f"output_dir={tmp_path / 'multi'}", "updates=2",
            f"distributed.coordinator_address=localhost:{_free_port()}",
            "distributed.num_processes=2"]
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT))
    procs = [subprocess.Popen(
        [sys.executable, "-c", "from placer.cli import train_rl; train_rl()", *args,
         f"distributed.process_id={i}"], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(2)]
    try:
        outs = [p.communicate(timeout=400) for p in procs]
    finally:        # a failed process leaves the other waiting for it
        for p in procs:
            p.kill()
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err[-3000:]
    # the summary JSON ends stdout (gloo may print its connection line first)
    summaries = [json.loads(out[out.index("{\n"):]) for out, _ in outs]
    assert summaries[0]["train"] == summaries[1]["train"]
    lines = (tmp_path / "multi" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [1, 2]

    def one_process(out, updates):
        cfg = OmegaConf.to_object(compose_train(
            *common, f"output_dir={out}", f"updates={updates}"))
        return train(cfg, placer.load_netlist(tmp_path / "probe.pb.txt",
                                              tmp_path / "probe.plc"),
                     log=lambda m: None)[1]

    def largest_difference(a, b):
        return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                   for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True))

    two = one_process(tmp_path / "single", 2)
    policy = load_policy(tmp_path / "multi" / "policy")
    assert largest_difference(two.params, policy.params) < 1e-4
    # resuming the two-process run in one process: update 3 of the same run
    three = one_process(tmp_path / "single", 3)
    resumed = one_process(tmp_path / "multi", 3)
    assert int(resumed.step) == 3
    assert largest_difference(three.params, resumed.params) < 1e-4
    assert largest_difference(two.params, three.params) > 1e-3   # it did train
