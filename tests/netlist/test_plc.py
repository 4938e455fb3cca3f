"""Circuit Training .plc placements: header settings, applying, writing, round
trips; load_netlist settings and overrides."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, NO_ORIENT, ORIENT_INDEX, PORT, Netlist
from placer.netlist.plc import read_plc

A133 = "ariane133_ng45/netlist.pb.txt.gz"
A133_PLC = "ariane133_ng45/legalized.plc"


@pytest.fixture(scope="module")
def legalized(netlists_dir) -> Netlist:
    """Ariane133 with legalized.plc, loaded once; tests must not modify it."""
    return placer.load_netlist(netlists_dir / A133, placement=netlists_dir / A133_PLC)


def test_load_netlist__ariane133_plc_header_settings(legalized):
    """legalized.plc's header gives a 24 x 21 grid on a 1433.406 square canvas,
    57.031 / 56.818 routes per micron, 39.583 / 30.303 macro routes, smoothing
    0; the overlap threshold keeps its default."""
    s = legalized.settings
    assert (s.grid_cols, s.grid_rows) == (24, 21)
    assert (s.canvas_width, s.canvas_height) == (1433.406, 1433.406)
    assert (s.routes_per_micron_hor, s.routes_per_micron_ver) == (57.031, 56.818)
    assert (s.macro_routes_hor, s.macro_routes_ver) == (39.583, 30.303)
    assert s.smoothing_range == 0
    assert s.overlap_threshold == 0.004
    assert legalized.metadata["plc_header"]["Wirelength cost"] == "0.0736"


def test_load_netlist__plc_positions_applied(netlists_dir, legalized):
    """Node positions, orientations and fixed flags come from the .plc lines."""
    plc = read_plc(netlists_dir / A133_PLC)
    v_of = {int(i): v for v, i in enumerate(legalized.node_index)}
    assert len(plc.index) == legalized.num_nodes
    for k in (0, 1, len(plc.index) // 2, len(plc.index) - 1):
        v = v_of[int(plc.index[k])]
        np.testing.assert_array_equal(legalized.node_xy[v], plc.xy[k])
        assert legalized.node_fixed[v] == plc.fixed[k]
        if plc.orient[k] != NO_ORIENT:
            assert legalized.node_orient[v] == plc.orient[k]
    first_port = int(legalized.ports[0])
    assert legalized.node_index[first_port] == 0
    np.testing.assert_array_equal(legalized.node_xy[first_port], plc.xy[0])


def test_load_netlist__default_canvas_and_grid_without_plc(netlists_dir):
    """Without a .plc the canvas is sqrt(total area / 0.6) square and the grid
    10 x 10 (macro_tiles_10x10: 645.4972243679028)."""
    nl = placer.load_netlist(netlists_dir / "ct_testdata/macro_tiles_10x10"
                             / "netlist.pb.txt")
    assert nl.settings.canvas_width == pytest.approx(645.4972243679028, rel=1e-12)
    assert nl.settings.canvas_height == nl.settings.canvas_width
    assert (nl.settings.grid_cols, nl.settings.grid_rows) == (10, 10)


def test_load_netlist__header_only_plc_gives_settings_and_keeps_positions(
        netlists_dir):
    """Circuit Training's toy_macro_stdcell ships an initial.plc of header
    lines only ("Columns : 20  Rows : 10", "Width : 200.0  Height : 100.0"):
    it sets the canvas and grid, and the nodes keep the netlist's positions."""
    d = netlists_dir / "ct_testdata/toy_macro_stdcell"
    bare = placer.load_netlist(d / "netlist.pb.txt")
    nl = placer.load_netlist(d / "netlist.pb.txt", placement=d / "initial.plc")
    assert (nl.settings.grid_cols, nl.settings.grid_rows) == (20, 10)
    assert (nl.settings.canvas_width, nl.settings.canvas_height) == (200.0, 100.0)
    np.testing.assert_array_equal(nl.node_xy, bare.node_xy)
    np.testing.assert_array_equal(nl.node_orient, bare.node_orient)


def test_load_netlist__plc_missing_some_nodes_is_bad_input(netlists_dir, tmp_path):
    """A .plc that lists some nodes but not all is still refused."""
    lines = (netlists_dir / A133_PLC).read_text().splitlines()
    body = [i for i, x in enumerate(lines) if x and not x.startswith("#")]
    short = tmp_path / "short.plc"
    short.write_text("\n".join(lines[: body[-1]]) + "\n")      # the last node dropped
    with pytest.raises(PlacerInputError, match="placement lists"):
        placer.load_netlist(netlists_dir / A133, placement=short)


def test_load_netlist__settings_overrides(netlists_dir):
    """Keyword settings override the .plc header; unknown names raise
    PlacerInputError."""
    f = netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt"
    plc = netlists_dir / "ct_testdata/sample_clustered/initial.plc"
    nl = placer.load_netlist(f, placement=plc, grid_cols=5, smoothing_range=1.0)
    assert (nl.settings.grid_cols, nl.settings.grid_rows) == (5, 2)
    assert nl.settings.smoothing_range == 1
    assert isinstance(nl.settings.smoothing_range, int)
    with pytest.raises(PlacerInputError, match="unknown setting 'grid_colums'"):
        placer.load_netlist(f, grid_colums=5)
    with pytest.raises(PlacerInputError, match="canvas_width"):
        placer.load_netlist(f, canvas_width=-1.0)


def test_read_plc__blockages_in_header(netlists_dir):
    """"# Blockage : ..." header lines of a .plc become the netlist's
    blockages."""
    d = netlists_dir / "ct_testdata/simple_grouped_with_coords_with_blockage"
    nl = placer.load_netlist(d / "netlist.pb.txt", placement=d / "initial.plc")
    assert nl.blockages.shape == (2, 5)
    assert nl.blockages[1].tolist() == [490.0, 490.0, 500.0, 500.0, 1.0]
    assert (nl.settings.grid_cols, nl.settings.grid_rows) == (2, 2)


# --------------------------------------------------------------- round trips
def _plc_round_trip(nl: Netlist, netlist_path, tmp_path, **kw) -> Netlist:
    out = tmp_path / "out.plc"
    placer.save_placement(nl, out, **kw)
    return placer.load_netlist(netlist_path, placement=out)


def _assert_same_placement(a: Netlist, b: Netlist) -> None:
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    np.testing.assert_array_equal(a.node_orient, b.node_orient)
    np.testing.assert_array_equal(a.node_fixed, b.node_fixed)
    assert dataclasses.asdict(a.settings) == dataclasses.asdict(b.settings)


def test_save_placement__ariane133_round_trip(netlists_dir, tmp_path, legalized):
    """save_placement then load gives exactly equal node_xy, orientations,
    fixed flags and settings (Ariane133 legalized)."""
    back = _plc_round_trip(legalized, netlists_dir / A133, tmp_path)
    _assert_same_placement(legalized, back)


def test_save_placement__arbitrary_floats_round_trip(netlists_dir, tmp_path,
                                                     legalized):
    """Random float64 positions (any digits), orientations, fixed flags and
    non-default settings survive a .plc round trip bit for bit."""
    rng = np.random.default_rng(0)
    nl = legalized.with_settings(grid_cols=7, grid_rows=3, canvas_width=1000.1,
                                 canvas_height=999.9, smoothing_range=3,
                                 overlap_threshold=0.1, soft_macros_squared=True,
                                 routes_per_micron_hor=1 / 3)
    nl.node_xy[:] = rng.uniform(-1e3, 2e3, nl.node_xy.shape)
    nl.node_xy[0] = (1e-300, 123456789.123456789)
    hard = nl.hard_macros
    nl.node_orient[hard] = rng.integers(0, 8, len(hard))
    nl.node_fixed[hard] = rng.integers(0, 2, len(hard)).astype(bool)
    back = _plc_round_trip(nl, netlists_dir / A133, tmp_path,
                           costs={"wirelength": 0.1, "density": 0.5}, info="one\ntwo")
    _assert_same_placement(nl, back)
    assert back.metadata["plc_header"]["Wirelength cost"] == "0.100000"


def test_save_placement__header_counts(tmp_path, legalized):
    """The written header has Circuit Training's lines and node counts."""
    out = tmp_path / "x.plc"
    placer.save_placement(legalized, out)
    text = out.read_text()
    assert "# Columns : 24  Rows : 21" in text
    assert "# Width : 1433.406  Height : 1433.406" in text
    assert "# HARD_MACROs     :       133" in text
    assert "# SOFT_MACRO_PINs :     10630" in text
    body = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    assert len(body) == legalized.num_nodes
    assert body[0].split()[0] == "0" and body[0].split()[3] == "-"


def test_save_placement__refuses_non_finite(tmp_path, legalized):
    """A NaN position raises PlacerInputError instead of an unreadable file."""
    nl = legalized.copy()
    nl.node_xy[5, 1] = np.inf
    with pytest.raises(PlacerInputError, match="non-finite"):
        placer.save_placement(nl, tmp_path / "x.plc")


def test_apply_plc__port_orientation_ignored(netlists_dir, tmp_path):
    """An orientation on a port line is ignored (ports have none); a hard
    macro's "-" keeps its netlist orientation."""
    d = netlists_dir / "ct_testdata/sample_clustered"
    lines = (d / "initial.plc").read_text().splitlines()
    lines = [ln.replace("0 0 100 - 1", "0 0 100 S 1").replace("2 125 375 N 0",
                                                              "2 125 375 - 0")
             for ln in lines]
    plc = tmp_path / "p.plc"
    plc.write_text("\n".join(lines))
    nl = placer.load_netlist(d / "netlist.pb.txt", placement=plc)
    assert (nl.node_orient[nl.node_kind == PORT] == NO_ORIENT).all()
    m = nl.node_names.index("M0")
    assert nl.node_kind[m] == HARD_MACRO and nl.node_orient[m] == ORIENT_INDEX["N"]
