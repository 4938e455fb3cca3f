"""placer.cluster(): grouping, settings, determinism, and the real designs."""

import math

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.gridding import choose_grid
from placer.netlist.model import STDCELL
from tests.cluster.flat import entity_nets, flat_netlist


def _big_flat(seed=0):
    return flat_netlist(seed, num_cells=400, num_macros=3, num_nets=600)


def test_cluster__every_cell_in_exactly_one_cluster():
    """cell_cluster covers every cell with an id of an existing Grp_<k>, every
    soft macro gets cells, and the nets are those of that grouping."""
    flat = _big_flat()
    out = placer.cluster(flat, 20, gridding=False)
    a = out.metadata["cell_cluster"]
    assert a.shape == (len(flat.stdcells),)
    assert len(out.soft_macros) == 20 == out.metadata["clustering"]["clusters"]
    assert np.bincount(a, minlength=20).min() >= 1 and a.max() == 19
    names = [out.node_names[v] for v in out.soft_macros]
    assert names == [f"Grp_{k}" for k in range(20)]
    assert entity_nets(out) == entity_nets(flat, a)


def test_cluster__area_preserved_and_bounded():
    """Soft-macro areas sum to the cell area; none exceeds 2 x the mean."""
    flat = _big_flat(1)
    out = placer.cluster(flat, 25, gridding=False)
    cells = flat.stdcells
    total = float(np.sum(flat.node_size[cells, 0] * flat.node_size[cells, 1]))
    s = out.soft_macros
    area = out.node_size[s, 0] * out.node_size[s, 1]
    assert area.sum() == pytest.approx(total, rel=1e-12)
    assert area.max() <= 2.0 * total / 25 * (1 + 1e-12)


def test_cluster__deterministic_per_seed():
    """Two runs with one seed give identical netlists."""
    flat = _big_flat(2)
    a = placer.cluster(flat, 30, seed=7, gridding=False)
    b = placer.cluster(flat, 30, seed=7, gridding=False)
    assert a.node_names == b.node_names and a.pin_names == b.pin_names
    for arr in ("node_xy", "node_size", "net_ptr", "net_pins", "net_weight"):
        np.testing.assert_array_equal(getattr(a, arr), getattr(b, arr))


def test_cluster__default_count_is_one_per_8_cells_for_small_designs():
    """400 cells: min(800, 400 // 8) = 50 clusters."""
    out = placer.cluster(_big_flat(3), gridding=False)
    assert len(out.soft_macros) == 50


def test_cluster__settings_from_plc_header(tmp_path):
    """A .plc header sets canvas (200 x 160), grid (7 x 5) and routing; the
    positions scale with the canvas (x 2 both ways) and ports stay fixed."""
    flat = flat_netlist(4)
    hdr = flat.with_settings(canvas_width=200.0, canvas_height=160.0, grid_cols=7,
                             grid_rows=5, routes_per_micron_hor=11.5,
                             macro_routes_ver=3.25)
    placer.save_placement(hdr, tmp_path / "h.plc")
    out = placer.cluster(flat, 6, plc=tmp_path / "h.plc")
    s = out.settings
    assert (s.canvas_width, s.canvas_height, s.grid_cols, s.grid_rows) == (
        200.0, 160.0, 7, 5)
    assert (s.routes_per_micron_hor, s.macro_routes_ver) == (11.5, 3.25)
    ports = out.ports
    np.testing.assert_allclose(out.node_xy[ports], flat.node_xy[flat.ports] * 2.0)
    assert out.node_fixed[ports].all()


def test_cluster__canvas_from_utilization_and_grid_from_gridding():
    """utilization=0.5: a square canvas of sqrt(total area / 0.5); the grid is
    the gridding search's choice for the clustered design."""
    flat = flat_netlist(5, num_macros=4)
    out = placer.cluster(flat, 8, utilization=0.5)
    side = math.sqrt(out.total_area() / 0.5)
    assert out.settings.canvas_width == pytest.approx(side)
    assert out.settings.canvas_height == pytest.approx(side)
    g = choose_grid(out)
    assert (out.settings.grid_rows, out.settings.grid_cols) == (g.rows, g.cols)
    assert out.metadata["grid_given"]


@pytest.mark.parametrize("kwargs", [{"num_clusters": 0}, {"utilization": 1.5},
                                    {"max_area_ratio": 0.5}])
def test_cluster__bad_options_are_input_errors(kwargs):
    """Bad options raise PlacerInputError."""
    with pytest.raises(PlacerInputError):
        placer.cluster(flat_netlist(0), gridding=False, **kwargs)


def test_cluster__netlist_without_cells_is_input_error():
    """A design with no standard cells has nothing to cluster."""
    flat = flat_netlist(0)
    flat.node_kind = np.where(flat.node_kind == STDCELL, 2, flat.node_kind).astype(
        np.int8)
    with pytest.raises(PlacerInputError, match="no standard cells"):
        placer.cluster(flat)


# ------------------------------------------------------------ real designs
def test_cluster__ariane136_flat(netlists_dir):
    """Ariane136 flat (88,368 cells) with its CT .plc header: 800 soft
    macros, the cell area kept, the 25 x 21 grid and 1446.359 canvas of the
    header, and every macro and port kept."""
    d = netlists_dir / "ariane136_ng45_flat"
    flat = placer.load_netlist(d / "netlist_flat.pb.txt.gz")
    out = placer.cluster(flat, plc=d / "initial.plc")
    c = out.counts()
    assert (c["soft_macros"], c["hard_macros"], c["ports"], c["stdcells"]) == (
        800, 136, 495, 0)
    assert c["hard_macro_pins"] == 8024
    cells = flat.stdcells
    s = out.soft_macros
    assert np.sum(out.node_size[s, 0] * out.node_size[s, 1]) == pytest.approx(
        np.sum(flat.node_size[cells, 0] * flat.node_size[cells, 1]), rel=1e-9)
    assert (out.settings.grid_cols, out.settings.grid_rows) == (25, 21)
    assert out.settings.canvas_width == pytest.approx(1446.359, abs=1e-3)
    # CT's clustered Ariane133 has 12,422 nets; ours lands in the same range
    assert 5000 < out.num_nets < 20000


def test_cluster__ibm01(netlists_dir):
    """ibm01 (12,260 cells, 246 macros): 800 soft macros, macros kept."""
    flat = placer.load_netlist(netlists_dir / "bookshelf" / "ibm01" / "ibm01.aux")
    out = placer.cluster(flat)
    assert len(out.soft_macros) == 800
    assert len(out.hard_macros) == 246 and len(out.ports) == 246
    assert out.metadata["clustering"]["fallback_merges"] == 0
