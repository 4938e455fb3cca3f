"""Generated designs, placement datasets and their manifest."""

import json
from pathlib import Path

import numpy as np
import pytest

import placer
from placer.config import DatasetConfig, SampleMix
from placer.reward_model.dataset import (
    SOURCES,
    build_dataset,
    load_dataset,
    mix_counts,
    placement_samples,
)
from placer.synth import random_design, write_design

ROOT = Path(__file__).resolve().parents[2]
SYNTH = ROOT / "netlists" / "synth_small"
SMALL_MIX = SampleMix(samples=12, random=0.25, perturbed=0.25, sa_chains=2,
                      sa_steps_per_stage=50, rollout_batch=8)


def test_random_design__deterministic_per_seed():
    """Equal seeds give equal designs; another seed gives another design."""
    a, b = random_design(3, 30, 150), random_design(3, 30, 150)
    c = random_design(4, 30, 150)
    for f in ("node_xy", "node_size", "pin_offset", "net_ptr", "net_pins"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert a.settings == b.settings
    assert (a.num_nodes, a.num_nets) != (c.num_nodes, c.num_nets)


def test_random_design__writes_loads_places_legally_and_evaluates(tmp_path):
    """A generated design round-trips through .pb.txt + .plc, and placing it
    gives a legal placement with a finite cost."""
    nl = random_design(7, 30, 150)
    assert 10 <= len(nl.hard_macros) <= 30 and 100 <= len(nl.soft_macros) <= 150
    s = nl.settings
    assert 10 <= s.grid_rows < 128 and 10 <= s.grid_cols < 128
    assert 500 <= s.grid_rows * s.grid_cols <= 2500      # the gridding search's range
    net, plc = write_design(nl, tmp_path / "d")
    back = placer.load_netlist(net, plc)
    assert back.settings == nl.settings
    np.testing.assert_allclose(back.node_xy, nl.node_xy)
    out = placer.place(back, method="random", seed=0)
    assert placer.check_legality(out) == []
    assert np.isfinite(placer.proxy_cost(out).proxy)


def test_mix_counts__split_and_validation():
    """samples = random + 1 greedy + SA + perturbed; bad shares are rejected.

    256 with shares 0.3 / 0.3: 77 random, 77 perturbed, 256 - 1 - 154 = 101 SA.
    """
    assert mix_counts(SampleMix(samples=256)) == (77, 1, 101, 77)
    with pytest.raises(placer.PlacerInputError, match="shares"):
        mix_counts(SampleMix(random=0.6, perturbed=0.5))
    with pytest.raises(placer.PlacerInputError, match="samples"):
        mix_counts(SampleMix(samples=2))


@pytest.fixture(scope="module")
def synth():
    return placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")


@pytest.fixture(scope="module")
def samples(synth):
    return placement_samples(synth, SMALL_MIX, seed=0)


def test_placement_samples__labels_are_the_proxy_cost(synth, samples):
    """Every label equals placer.proxy_cost of that placement (float32 vs 64)."""
    assert samples["xy"].shape == (12, synth.num_nodes, 2)
    np.testing.assert_array_equal(np.bincount(samples["source"], minlength=4),
                                  [3, 1, 5, 3])
    for b in (0, 3, 6, 11):
        c = placer.proxy_cost(synth.with_placement(samples["xy"][b],
                                                   samples["orient"][b]))
        for t in ("wirelength", "density", "congestion"):
            assert samples[t][b] == pytest.approx(getattr(c, t), rel=2e-4), (b, t)


def test_placement_samples__fixed_nodes_stay_and_quality_varies(synth, samples):
    """Ports keep their positions; SA snapshots end better than random ones."""
    ports = synth.ports
    np.testing.assert_allclose(samples["xy"][:, ports],
                               np.broadcast_to(synth.node_xy[ports],
                                               samples["xy"][:, ports].shape),
                               atol=1e-3)
    proxy = (samples["wirelength"] + 0.5 * samples["density"]
             + 0.5 * samples["congestion"])
    rand = proxy[samples["source"] == SOURCES.index("random")]
    sa = proxy[samples["source"] == SOURCES.index("sa")]
    assert sa[-1] < rand.mean()
    assert np.ptp(proxy) > 0.01


def test_build_dataset__manifest_shards_resume_and_config_check(tmp_path, synth):
    """The folder holds a manifest and a shard per netlist; a rerun skips
    finished netlists; another configuration in the same folder is refused."""
    cfg = DatasetConfig(output_dir=str(tmp_path / "ds"), synthetic=0,
                        netlists=(str(SYNTH / "netlist.pb.txt"),),
                        placements=(str(SYNTH / "initial.plc"),), mix=SMALL_MIX,
                        progress=False)
    m = build_dataset(cfg, log=lambda s: None)
    assert [e["id"] for e in m["netlists"]] == ["synth_small"]
    e = m["netlists"][0]
    assert e["num_samples"] == 12 and e["sources"] == {
        "random": 3, "greedy": 1, "sa": 5, "perturbed": 3}
    manifest = json.loads((tmp_path / "ds" / "manifest.json").read_text())
    assert manifest["format"] == "placer-dataset/1"
    (d,) = load_dataset(tmp_path / "ds")
    assert d.netlist.num_nodes == synth.num_nodes and d.labels.shape == (12, 3)
    assert d.netlist.settings == synth.settings
    mtime = (tmp_path / "ds" / "synth_small" / "samples.npz").stat().st_mtime_ns
    build_dataset(cfg, log=lambda s: None)       # resumes: nothing to redo
    assert (tmp_path / "ds" / "synth_small" / "samples.npz").stat().st_mtime_ns == mtime
    other = DatasetConfig(**{**cfg.__dict__, "seed": 1})
    with pytest.raises(placer.PlacerInputError, match="another configuration"):
        build_dataset(other, log=lambda s: None)


def test_load_dataset__errors_name_the_file(tmp_path):
    with pytest.raises(placer.PlacerInputError, match="manifest"):
        load_dataset(tmp_path)
    (tmp_path / "manifest.json").write_text('{"format": "something else"}')
    with pytest.raises(placer.PlacerInputError, match="not a placer dataset"):
        load_dataset(tmp_path)
