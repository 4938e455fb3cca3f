"""The reward-model checkpoint that ships in placer/reward_model/checkpoint."""

from pathlib import Path

import numpy as np

import placer

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_model__loads_and_predicts_finite_costs():
    """load_reward_model() needs no path and scores the bundled designs."""
    model = placer.load_reward_model()
    for name in ("synth_small", "design_2"):
        d = ROOT / "netlists" / name
        nl = placer.load_netlist(d / "netlist.pb.txt", d / "initial.plc")
        pred = model.predict(nl)
        assert set(pred) == {"wirelength", "density", "congestion"}
        assert all(np.isfinite(v) and v > 0 for v in pred.values()), pred


def test_shipped_model__trained_on_generated_designs_only():
    """Its training set holds generated designs only: real netlists stay held out."""
    meta = placer.load_reward_model().meta
    ids = meta["dataset"]["netlists"]
    assert ids and all(i.startswith("design_") for i in ids), ids
    seeds = {int(i.split("_")[1]) for i in ids}
    assert not seeds & {1, 2}       # netlists/design_1 and design_2 are held out
    assert meta["dataset"]["config"]["netlists"] == []


def test_shipped_model__is_the_physical_spatial_readout():
    """The shipped recipe: spatial readout with the physical maps."""
    cfg = placer.load_reward_model().meta["model"]
    assert cfg["spatial"] and cfg["physical_maps"]


def test_graph_checkpoint__still_loads():
    """The earlier checkpoint, which the shipped policy's encoder came from."""
    from placer.reward_model.model import GRAPH_CHECKPOINT

    model = placer.load_reward_model(GRAPH_CHECKPOINT)
    assert not model.module.cfg.spatial
    d = ROOT / "netlists" / "design_2"
    nl = placer.load_netlist(d / "netlist.pb.txt", d / "initial.plc")
    assert all(np.isfinite(v) for v in model.predict(nl).values())
