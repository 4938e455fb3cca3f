"""placer-cluster: the Hydra command that clusters a flat netlist."""

import json
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

import placer
from placer.cli import CONFIG_DIR, cluster
from tests.cluster.flat import entity_nets, flat_netlist


def compose_cluster(*overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose("cluster", overrides=list(overrides))


@pytest.mark.parametrize("override", ["num_cluster=10", "seed=abc",
                                      "settings.grid_col=4"])
def test_cluster_config__typo_fails_at_compose(override):
    """A mistyped key or value fails when composing, before anything runs."""
    with pytest.raises(ConfigCompositionException):
        compose_cluster("netlist=a.pb.txt", override)


def test_cluster__writes_netlist_plc_json(tmp_path, capsys):
    """A flat .pb.txt becomes <name>.pb.txt + .plc + .json; they reload to
    the clustered design (12 soft macros, the grid forced by settings)."""
    flat = flat_netlist(0, num_cells=120, num_nets=200)
    placer.save_netlist(flat, tmp_path / "flat.pb.txt")
    cfg = compose_cluster(f"netlist={tmp_path / 'flat.pb.txt'}", "num_clusters=12",
                          f"output_dir={tmp_path / 'out'}", "name=c",
                          "settings.grid_cols=6", "settings.grid_rows=4")
    cluster(cfg)
    printed = json.loads(capsys.readouterr().out)
    assert json.loads(Path(printed["json"]).read_text()) == printed
    assert printed["counts"]["soft_macros"] == 12
    back = placer.load_netlist(printed["output_netlist"], printed["output_placement"])
    assert len(back.soft_macros) == 12 and len(back.stdcells) == 0
    assert (back.settings.grid_cols, back.settings.grid_rows) == (6, 4)
    again = placer.cluster(placer.load_netlist(tmp_path / "flat.pb.txt"), 12,
                           gridding=False)
    assert entity_nets(back) == entity_nets(again)


def test_cluster__missing_netlist_exits_2(tmp_path, capsys):
    """A missing file is bad input: status 2 and one error line."""
    cfg = compose_cluster(f"netlist={tmp_path / 'nope.pb.txt'}",
                          f"output_dir={tmp_path}")
    with pytest.raises(SystemExit) as e:
        cluster(cfg)
    assert e.value.code == 2
    assert capsys.readouterr().err.startswith("error: ")
