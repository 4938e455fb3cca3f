"""Rewiring a flat netlist to cluster level (placer.cluster.rewire)."""

import numpy as np
import pytest

import placer
from placer.cluster.rewire import clustered_netlist
from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    PIN_HARD,
    PIN_PORT,
    PIN_STDCELL,
    PORT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
    Settings,
    build_nets,
)
from tests.cluster.flat import entity_nets, flat_netlist


def _tiny() -> Netlist:
    """Port P, macro M with pin M/p, cells c0..c3 (areas 1, 3, 2, 2).

    Pins: 0 M/p, 1 P, 2 c0, 3 c1, 4 c2, 5 c3. Nets (driver first):
    M/p -> c0, c1 (w 1); c0 -> c1 (w 1); c0 -> c2 (w 2); c1 -> c3, c1 (w 3);
    c2 -> P (w 1); c3 -> c2 (w 4).
    """
    names = ["P", "M", "c0", "c1", "c2", "c3"]
    kind = np.array([PORT, HARD_MACRO, STDCELL, STDCELL, STDCELL, STDCELL], np.int8)
    size = np.array([[0, 0], [4, 4], [1, 1], [3, 1], [2, 1], [1, 2]], float)
    xy = np.array([[0, 5], [20, 20], [0, 0], [4, 0], [10, 10], [10, 14]], float)
    ptr, pins, w = build_nets([0, 2, 2, 3, 4, 5], [[2, 3], [3], [4], [5, 3], [1],
                                                   [4]], [1.0, 1.0, 2.0, 3.0, 1.0, 4.0])
    pin_weight = np.ones(6)
    return Netlist(
        name="tiny", node_names=names, node_kind=kind, node_xy=xy, node_size=size,
        node_orient=np.array([-1, 0, 0, 0, 0, 0], np.int8),
        node_fixed=kind == PORT, node_index=np.array([0, 1, 3, 4, 5, 6]),
        pin_names=["M/p", "P", "c0", "c1", "c2", "c3"],
        pin_node=np.array([1, 0, 2, 3, 4, 5], np.int32),
        pin_offset=np.array([[1.0, -1.0]] + [[0.0, 0.0]] * 5),
        pin_kind=np.array([PIN_HARD, PIN_PORT] + [PIN_STDCELL] * 4, np.int8),
        pin_weight=pin_weight, pin_index=np.array([2, -1, -1, -1, -1, -1]),
        net_ptr=ptr, net_pins=pins, net_weight=w,
        settings=Settings(canvas_width=30.0, canvas_height=30.0))


def test_clustered_netlist__known_answer():
    """Clusters {c0, c1} = Grp_0 and {c2, c3} = Grp_1 of the tiny design.

    Nets: M/p -> Grp_0 (w 1); c0 -> c1 inside Grp_0: dropped; c0 -> c2 and
    c1 -> c3 are both Grp_0 -> Grp_1: merged, w 2 + 3 = 5; c2 -> P: Grp_1 ->
    P (w 1); c3 -> c2 inside Grp_1: dropped. Sizes: Grp_0 area 1 + 3 = 4 ->
    2 x 2; Grp_1 area 2 + 2 = 4 -> 2 x 2. Centroids, area-weighted: Grp_0
    x = (1*0 + 3*4) / 4 = 3, y = 0; Grp_1 x = 10, y = (2*10 + 2*14) / 4 = 12.
    """
    out = clustered_netlist(_tiny(), np.array([0, 0, 1, 1]))
    assert out.node_names == ["P", "M", "Grp_0", "Grp_1"]
    assert out.node_kind.tolist() == [PORT, HARD_MACRO, SOFT_MACRO, SOFT_MACRO]
    np.testing.assert_allclose(out.node_size[2:], [[2, 2], [2, 2]])
    np.testing.assert_allclose(out.node_xy, [[0, 5], [20, 20], [3, 0], [10, 12]])
    assert entity_nets(out) == {
        ("M/p", frozenset({"Grp_0"})): 1.0,
        ("Grp_0", frozenset({"Grp_1"})): 5.0,
        ("Grp_1", frozenset({"P"})): 1.0,
    }
    assert out.num_nets == 3
    # CT's pin names: one input per soft macro, one output per driven net
    assert sorted(n for n in out.pin_names if n.startswith("Grp_")) == [
        "Grp_0/Pinput", "Grp_0/Poutput_multi_0", "Grp_1/Pinput",
        "Grp_1/Poutput_multi_0"]
    # the merged weight sits on the driver pin; macro pin offsets are kept
    drivers = out.net_pins[out.net_ptr[:-1]]
    np.testing.assert_array_equal(out.pin_weight[drivers], out.net_weight)
    mp = out.pin_names.index("M/p")
    assert out.pin_offset[mp].tolist() == [1.0, -1.0]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clustered_netlist__connectivity_and_weights_match_brute_force(seed):
    """Every flat net, seen at cluster level (cells -> Grp_<k>, repeats and
    the driver's own entity removed, nets inside one cluster dropped, equal
    nets summed), is exactly one net of the clustered netlist."""
    flat = flat_netlist(seed)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 7, size=len(flat.stdcells))
    a[:7] = np.arange(7)           # ids in order of first appearance
    out = clustered_netlist(flat, a)
    want = entity_nets(flat, a)
    got = entity_nets(out)
    assert got == want
    assert out.num_nets == len(got)      # no two nets left equal
    assert (np.diff(out.net_ptr) >= 2).all()


def test_clustered_netlist__every_cell_in_one_cluster_and_area_kept():
    """k soft macros for k ids; their areas sum to the cell area, and each
    equals the area of its cells."""
    flat = flat_netlist(3)
    cells = flat.stdcells
    a = np.arange(len(cells)) % 5
    out = clustered_netlist(flat, a)
    soft = out.soft_macros
    assert len(soft) == 5 and len(out.stdcells) == 0
    cell_area = flat.node_size[cells, 0] * flat.node_size[cells, 1]
    soft_area = out.node_size[soft, 0] * out.node_size[soft, 1]
    np.testing.assert_allclose(soft_area, np.bincount(a, weights=cell_area))
    assert soft_area.sum() == pytest.approx(cell_area.sum(), rel=1e-12)
    np.testing.assert_allclose(out.node_size[soft, 0], out.node_size[soft, 1])
    # area_scale=2 (CT's Ariane136): every soft macro twice its cells' area
    two = clustered_netlist(flat, a, area_scale=2.0)
    np.testing.assert_allclose(two.node_size[soft, 0] * two.node_size[soft, 1],
                               2.0 * soft_area)


def test_clustered_netlist__ports_macros_and_pins_kept():
    """Ports and hard macros keep names, sizes, positions, orientations and
    fixed flags; every macro pin is kept with its offset."""
    flat = flat_netlist(4)
    flat.node_fixed[flat.hard_macros[0]] = True
    out = clustered_netlist(flat, np.arange(len(flat.stdcells)) % 4)
    keep = np.flatnonzero(flat.node_kind != STDCELL)
    k = len(keep)
    assert out.node_names[:k] == [flat.node_names[v] for v in keep]
    for arr in ("node_xy", "node_size", "node_orient", "node_fixed", "node_kind"):
        np.testing.assert_array_equal(getattr(out, arr)[:k], getattr(flat, arr)[keep])
    hp = np.flatnonzero(flat.pin_kind == PIN_HARD)
    oh = np.flatnonzero(out.pin_kind == PIN_HARD)
    assert [out.pin_names[p] for p in oh] == [flat.pin_names[p] for p in hp]
    np.testing.assert_array_equal(out.pin_offset[oh], flat.pin_offset[hp])


def test_clustered_netlist__no_positions_puts_soft_macros_at_the_centre():
    """A flat netlist without positions: soft macros at the canvas centre
    (100 x 80 -> (50, 40))."""
    flat = flat_netlist(5, positions=False)
    out = clustered_netlist(flat, np.arange(len(flat.stdcells)) % 3)
    np.testing.assert_allclose(out.node_xy[out.soft_macros], [[50.0, 40.0]] * 3)


def test_clustered_netlist__round_trips_through_files(tmp_path):
    """The written .pb.txt + .plc read back to the same nets, weights, sizes
    and positions."""
    flat = flat_netlist(6)
    out = clustered_netlist(flat, np.arange(len(flat.stdcells)) // 9)
    placer.save_netlist(out, tmp_path / "c.pb.txt")
    placer.save_placement(out, tmp_path / "c.plc")
    back = placer.load_netlist(tmp_path / "c.pb.txt", tmp_path / "c.plc")
    assert back.node_names == out.node_names
    assert back.counts() == out.counts()
    assert entity_nets(back) == entity_nets(out)
    np.testing.assert_allclose(back.node_xy, out.node_xy)
    np.testing.assert_allclose(back.node_size, out.node_size)
    np.testing.assert_array_equal(back.net_weight, out.net_weight)


@pytest.mark.parametrize("bad", [np.zeros(3, int), np.full(60, -1),
                                 np.zeros(60, float)])
def test_clustered_netlist__bad_assignment_is_input_error(bad):
    """Wrong length, negative ids or non-integers: PlacerInputError."""
    with pytest.raises(PlacerInputError):
        clustered_netlist(flat_netlist(0), bad)
