"""Tests of placer.synth, the synthetic design generator."""

from pathlib import Path

import numpy as np
import pytest

import placer
from placer.netlist.model import HARD_MACRO, PORT, SOFT_MACRO
from placer.synth import main, random_design, synthetic_netlist, write_design

REPO = Path(__file__).resolve().parents[1]
BUNDLED = REPO / "netlists" / "synth_small"
ARRAYS = ("node_kind", "node_xy", "node_size", "node_orient", "node_fixed",
          "node_index", "pin_node", "pin_offset", "pin_kind", "pin_weight",
          "pin_index", "net_ptr", "net_pins", "net_weight", "blockages")


def assert_same_design(a, b):
    """Names, arrays (values and dtypes), settings and extra attributes agree."""
    assert a.node_names == b.node_names
    assert a.pin_names == b.pin_names
    for f in ARRAYS:
        x, y = getattr(a, f), getattr(b, f)
        assert x.dtype == y.dtype, f
        np.testing.assert_array_equal(x, y, err_msg=f)
    assert a.settings == b.settings
    assert a.node_extra == b.node_extra


@pytest.fixture(scope="module")
def design():
    return synthetic_netlist(0)


def test_synthetic_netlist__same_seed_same_design(design):
    """Two calls with one seed give identical designs."""
    assert_same_design(design, synthetic_netlist(0))


def test_synthetic_netlist__different_seed_differs(design):
    """Another seed gives other sizes, positions and nets."""
    other = synthetic_netlist(1)
    assert not np.array_equal(design.node_xy, other.node_xy)
    assert not np.array_equal(design.node_size, other.node_size)
    assert (len(design.net_pins) != len(other.net_pins)
            or not np.array_equal(design.net_pins, other.net_pins))


def test_synthetic_netlist__counts_and_kinds(design):
    """The requested counts, Circuit Training names and a 60% utilisation."""
    c = design.counts()
    assert (c["hard_macros"], c["soft_macros"], c["ports"]) == (20, 100, 40)
    soft = [design.node_names[v] for v in design.soft_macros]
    assert all(n.startswith("Grp_") for n in soft)
    # soft macros have one pin, at the centre; hard macro pins lie on the boundary
    soft_pins = np.isin(design.pin_node, design.soft_macros)
    assert soft_pins.sum() == 100 and not design.pin_offset[soft_pins].any()
    hard_pins = np.isin(design.pin_node, design.hard_macros)
    half = design.node_size[design.pin_node[hard_pins]] / 2
    off = np.abs(design.pin_offset[hard_pins])
    assert np.all(np.isclose(off, half).any(axis=1)) and np.all(off <= half + 1e-9)
    w, h = design.canvas
    assert design.total_area() / (w * h) == pytest.approx(0.6, rel=1e-3)


def test_synthetic_netlist__hard_macros_legal():
    """Hard macros lie inside the canvas and do not overlap, for several seeds."""
    for seed in range(5):
        nl = synthetic_netlist(seed)
        hard = nl.hard_macros
        lo = nl.node_xy[hard] - nl.oriented_size()[hard] / 2
        hi = nl.node_xy[hard] + nl.oriented_size()[hard] / 2
        assert np.all(lo >= 0) and np.all(hi <= np.array(nl.canvas))
        overlap = np.clip(np.minimum(hi[:, None], hi[None]) -
                          np.maximum(lo[:, None], lo[None]), 0, None).prod(axis=2)
        np.fill_diagonal(overlap, 0)
        assert overlap.max() == 0, seed


def test_synthetic_netlist__nets_connect_everything(design):
    """Every net has at least 2 pins on 2 nodes and every node is on a net."""
    deg = design.net_degree
    assert deg.min() >= 2
    owners = design.pin_node[design.net_pins]
    net_of_entry = np.repeat(np.arange(design.num_nets), deg)
    for n in range(design.num_nets):
        assert len(set(owners[net_of_entry == n])) >= 2
    assert set(owners) == set(range(design.num_nodes))
    # mostly two-pin nets, a tail of larger ones
    assert 0.3 < np.mean(deg == 2) < 0.8 and deg.max() >= 6


def test_synthetic_netlist__kinds_in_file_order(design):
    """Ports come first, then hard macros, then soft macros."""
    kinds = design.node_kind
    assert np.all(np.diff(kinds[np.argsort(design.node_index)]) >= 0)
    assert kinds[0] == PORT and HARD_MACRO in kinds and kinds[-1] == SOFT_MACRO


def test_write_design__reloads_identically(design, tmp_path):
    """netlist.pb.txt + initial.plc load back into the same arrays."""
    netlist, plc = write_design(design, tmp_path)
    assert_same_design(design, placer.load_netlist(netlist, plc))
    # without the .plc the canvas comes from the netlist's FP bbox comment
    assert placer.load_netlist(netlist).canvas == design.canvas


def test_bundled_design__is_seed_0(design):
    """netlists/synth_small is what `python -m placer.synth --seed 0` writes."""
    nl = placer.load_netlist(BUNDLED / "netlist.pb.txt", BUNDLED / "initial.plc")
    assert_same_design(design, nl)


def test_synth_main__writes_files(tmp_path, capsys):
    """The command line writes both files and reports the design."""
    assert main(["--seed", "2", "--out", str(tmp_path / "d"), "--num-hard", "5",
                 "--num-soft", "20", "--num-ports", "8"]) == 0
    assert (tmp_path / "d" / "netlist.pb.txt").stat().st_size > 0
    assert (tmp_path / "d" / "initial.plc").stat().st_size > 0
    assert "5 hard macros" in capsys.readouterr().out


def test_synthetic_netlist__too_full_raises():
    """Hard macros that cannot fit on the canvas raise ValueError."""
    with pytest.raises(ValueError, match="fit"):
        synthetic_netlist(0, num_hard=40, hard_area_fraction=0.999, utilization=0.95,
                          halo=10.0)


@pytest.mark.parametrize("seed", [1, 2])
def test_bundled_family_designs__are_random_design_of_their_seed(seed):
    """netlists/design_<seed> is `python -m placer.synth --family --seed <seed>`
    (the held-out designs of the reward predictor's evaluation)."""
    nl = placer.load_netlist(REPO / "netlists" / f"design_{seed}" / "netlist.pb.txt",
                             REPO / "netlists" / f"design_{seed}" / "initial.plc")
    assert_same_design(random_design(seed), nl)
    assert nl.settings == random_design(seed).settings
