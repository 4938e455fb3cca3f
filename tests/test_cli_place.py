"""placer-place: the Hydra command that places a design."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

import placer
from placer.cli import CONFIG_DIR, place

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "netlists" / "synth_small"


def compose_place(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose("place", overrides=list(overrides))


@pytest.mark.parametrize("override", ["methd=sa", "options.chain=3",
                                      "budget_s=soon"])
def test_place_config__typo_fails_at_compose(override):
    """A mistyped key or value fails when composing."""
    with pytest.raises(ConfigCompositionException):
        compose_place("netlist=a.pb.txt", override)


def test_place__writes_plc_png_json(tmp_path, capsys):
    """Greedy placement of the bundled design: the .plc reloads to the
    reported cost, the PNG and JSON exist, the placement is legal."""
    cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}",
                        f"placement={SYNTH / 'initial.plc'}", "method=greedy",
                        f"output_dir={tmp_path}", "progress=false")
    place(cfg)
    printed = json.loads(capsys.readouterr().out)
    assert printed["legality_violations"] == 0
    assert Path(printed["plot"]).stat().st_size > 0
    assert json.loads(Path(printed["json"]).read_text()) == printed
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", printed["placement"])
    assert placer.proxy_cost(nl).proxy == pytest.approx(printed["proxy"], rel=1e-9)


def test_place__unknown_method_exits_2(tmp_path, capsys):
    """An unknown method is bad input: status 2, one error line."""
    cfg = compose_place(f"netlist={SYNTH / 'netlist.pb.txt'}", "method=magic",
                        f"output_dir={tmp_path}")
    with pytest.raises(SystemExit) as e:
        place(cfg)
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")


@pytest.mark.slow
def test_place_sweep__each_job_writes_its_own_folder(tmp_path):
    """placer-place -m seed=0,1 (a Hydra multirun sweep, as a program): job N
    writes <output_dir>/N, so the jobs do not overwrite each other, and the
    sweep's multirun.yaml goes to output_dir (no multirun/ folder in the
    working directory)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    r = subprocess.run(
        [sys.executable, "-c", "from placer.cli import place; place()", "-m",
         f"netlist={SYNTH / 'netlist.pb.txt'}", f"placement={SYNTH / 'initial.plc'}",
         "method=random", "seed=0,1", "output_dir=out", "plot=false",
         "progress=false"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "0", "1", "multirun.yaml"]
    jobs = [json.loads((tmp_path / "out" / str(i) / "synth_small_random.json")
                       .read_text()) for i in (0, 1)]
    assert [j["seed"] for j in jobs] == [0, 1]
    assert jobs[0]["proxy"] != jobs[1]["proxy"]       # two placements, both kept
    assert r.stderr.count("sweep job ") == 2
