"""Tests of the Hydra command line (placer.cli, placer.config, conf/)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import placer
from placer.cli import CONFIG_DIR, evaluate
from placer.cost.proxy import proxy_cost

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "netlists" / "synth_small"


def compose_evaluate(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose("evaluate", overrides=list(overrides))


def test_evaluate_config__overrides_are_typed():
    """Command-line values arrive converted to the schema's types."""
    cfg = OmegaConf.to_object(compose_evaluate(
        "netlist=a.pb.txt", "weights=[1,1,0.5]", "settings.grid_cols=5",
        "settings.soft_macros_squared=true"))
    assert cfg.weights == (1.0, 1.0, 0.5)
    assert cfg.settings.as_kwargs() == {"grid_cols": 5, "soft_macros_squared": True}


@pytest.mark.parametrize("override", ["netlst=a.pb.txt", "settings.grid_colls=5",
                                      "settings.grid_cols=five"])
def test_evaluate_config__bad_key_or_type_fails_at_compose(override):
    """A mistyped key or a wrongly typed value fails when composing."""
    with pytest.raises(ConfigCompositionException):
        compose_evaluate("netlist=a.pb.txt", override)


def test_evaluate__prints_and_writes_proxy_cost(tmp_path, capsys, monkeypatch):
    """Printed and written JSON hold proxy_cost's values (paths relative to cwd)."""
    monkeypatch.chdir(REPO)
    cfg = compose_evaluate("netlist=netlists/synth_small/netlist.pb.txt",
                           "placement=netlists/synth_small/initial.plc",
                           f"output={tmp_path / 'out.json'}",
                           "settings.routes_per_micron_hor=60")
    evaluate(cfg)
    printed = json.loads(capsys.readouterr().out)
    assert json.loads((tmp_path / "out.json").read_text()) == printed
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc",
                             routes_per_micron_hor=60.0)
    want = proxy_cost(nl)
    for key in ("proxy", "wirelength", "density", "congestion", "hpwl"):
        assert printed[key] == getattr(want, key), key
    assert printed["weights"] == [1.0, 0.5, 0.5]
    assert printed["counts"] == nl.counts()
    assert printed["settings"]["routes_per_micron_hor"] == 60.0
    assert printed["settings"]["grid_cols"] == 10


def test_evaluate__input_error_exits_2(tmp_path, capsys):
    """A missing file exits with status 2 and a one-line error."""
    cfg = compose_evaluate(f"netlist={tmp_path / 'missing.pb.txt'}")
    with pytest.raises(SystemExit) as e:
        evaluate(cfg)
    assert e.value.code == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.startswith("error: ") and "file not found" in out.err
    assert out.err.count("\n") == 1


def test_evaluate_script__input_error_has_no_traceback(tmp_path):
    """As a program: status 2, one error line, no traceback, no Hydra files."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run([sys.executable, "-m", "placer.cli", "netlist=nope.pb.txt"],
                       cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        f"error: {tmp_path / 'nope.pb.txt'}: file not found"]
    assert list(tmp_path.iterdir()) == []
