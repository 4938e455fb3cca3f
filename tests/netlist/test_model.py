"""Netlist model: known counts and settings of the shared designs, graph export,
settings overrides."""

from __future__ import annotations

import functools
import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    PORT,
    SETTING_NAMES,
    SOFT_MACRO,
    Settings,
    build_nets,
    coerce_setting,
)

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()
REFERENCE = SHARED / "reference" / "proxy_cost.json"
SAMPLE = "ct_testdata/sample_clustered/netlist.pb.txt"

# Our defaults for the settings proxy_cost.json marks as Circuit Training's or
# TILOS' defaults (no .plc header value).
_SOURCE_KEYS = {
    "canvas_width_height": ("canvas_width", "canvas_height"),
    "grid_cols_rows": ("grid_cols", "grid_rows"),
    "routes_per_micron_hor_ver": ("routes_per_micron_hor", "routes_per_micron_ver"),
    "macro_routes_hor_ver": ("macro_routes_hor", "macro_routes_ver"),
    "smoothing_range": ("smoothing_range",),
    "overlap_threshold": ("overlap_threshold",),
}
_CHECKED_SOURCES = ("plc_header", "ct_create_placement_cost_default",
                    "tilos_default_sqrt(area/0.6)", "tilos_default_10x10")


def _reference_groups(settings: bool = False) -> list:
    """proxy_cost.json cases with counts, grouped by (netlist, placement); with
    ``settings``, only cases with a setting not set explicitly."""
    if not REFERENCE.is_file():
        return [pytest.param(None, None, None, marks=pytest.mark.skip(
            reason=f"shared reference data not found at {REFERENCE}"))]
    cases = json.loads(REFERENCE.read_text())["cases"]
    groups = defaultdict(list)
    for c in cases:
        if settings and not set(c["settings_source"].values()) & set(
                _CHECKED_SOURCES):
            continue
        if c.get("counts"):
            groups[(c["netlist"], c.get("placement"))].append(c)
    return [pytest.param(nl, pl, cs, id=f"{nl}+{pl}") for (nl, pl), cs in
            sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1] or ""))]


@functools.cache
def _load(netlists: Path, netlist: str, placement: str | None) -> placer.Netlist:
    """A shared design, loaded once per test session (tests only read it)."""
    return placer.load_netlist(netlists / netlist,
                               placement=None if placement is None
                               else netlists / placement)


@pytest.mark.parametrize("netlist,placement,cases", _reference_groups())
def test_load_netlist__counts_match_reference(netlists_dir, netlist, placement,
                                              cases):
    """Every proxy_cost.json case with counts: node, pin and net counts, weighted
    net count and total area match the reference evaluator."""
    nl = _load(netlists_dir, netlist, placement)
    c = nl.counts()
    got = {
        "hard_macros": c["hard_macros"],
        "soft_macros": c["soft_macros"],
        "ports": c["ports"],
        "hard_macro_pins": c["hard_macro_pins"],
        "soft_macro_pins": c["soft_macro_pins"],
        "macro_pins": c["hard_macro_pins"] + c["soft_macro_pins"],
        "nets": c["nets"],
        "nets_weighted_count": float(np.sum(nl.net_weight)),
        "total_module_area": nl.total_area(),
    }
    for case in cases:
        want = case["counts"]
        for k, v in want.items():
            if isinstance(v, float) and k == "total_module_area":
                assert got[k] == pytest.approx(v, rel=1e-6), (case["name"], k)
            else:
                assert got[k] == v, (case["name"], k, got[k], v)


@pytest.mark.parametrize("netlist,placement,cases", _reference_groups(settings=True))
def test_load_netlist__settings_match_reference(netlists_dir, netlist, placement,
                                                cases):
    """Settings the reference took from a .plc header or a default (not set
    explicitly) are the ones load_netlist gives."""
    nl = _load(netlists_dir, netlist, placement)
    checked = 0
    for case in cases:
        for source_key, fields in _SOURCE_KEYS.items():
            if case["settings_source"].get(source_key) not in _CHECKED_SOURCES:
                continue
            for f in fields:
                assert getattr(nl.settings, f) == pytest.approx(
                    case["settings"][f], rel=1e-12), (case["name"], f)
                checked += 1
    assert checked


def test_counts__ariane133_known_values(netlists_dir):
    """Ariane133: 133 hard, 782 soft macros, 495 ports, 7847 / 10630 pins,
    12422 nets, weighted net count 22584, area 1447227.5263."""
    nl = placer.load_netlist(netlists_dir / "ariane133_ng45/netlist.pb.txt.gz")
    c = nl.counts()
    assert (c["hard_macros"], c["soft_macros"], c["ports"], c["stdcells"]) == \
        (133, 782, 495, 0)
    assert (c["hard_macro_pins"], c["soft_macro_pins"], c["nets"]) == \
        (7847, 10630, 12422)
    assert float(nl.net_weight.sum()) == 22584.0
    assert nl.total_area() == pytest.approx(1447227.5263, rel=1e-6)
    assert all(nl.node_names[v].startswith("Grp_") for v in nl.soft_macros)


def test_to_networkx__nodes_and_edges(netlists_dir):
    """to_networkx has one node per design node and one edge per driver-sink
    pair: sum over nets of (degree - 1)."""
    nl = placer.load_netlist(netlists_dir / SAMPLE)
    g = nl.to_networkx()
    assert g.number_of_nodes() == nl.num_nodes == 5   # 2 ports, 2 hard, 1 soft
    assert g.number_of_edges() == int(np.sum(nl.net_degree - 1))
    assert g.number_of_edges() == 5     # degrees 3, 2, 2, 2 (sample_clustered)
    nets = sorted({d["net"] for _, _, d in g.edges(data=True)})
    assert nets == list(range(nl.num_nets))
    kinds = {g.nodes[v]["kind"] for v in g.nodes}
    assert kinds == {"port", "hard_macro", "soft_macro"}


def test_to_networkx__edges_follow_pin_owners(netlists_dir):
    """Each edge joins the nodes owning the driver and a sink pin of its net."""
    nl = placer.load_netlist(netlists_dir / "tilos_small/0P3M0m/netlist.pb.txt")
    g = nl.to_networkx()
    edges = sorted((nl.node_names[a], nl.node_names[b], d["weight"])
                   for a, b, d in g.edges(data=True))
    assert edges == [("M0", "M1", 1000.0), ("M0", "M2", 1000.0)]


def test_with_settings__overrides_and_rejects_unknown(netlists_dir):
    """with_settings replaces named settings in a copy and raises
    PlacerInputError for an unknown name or a bad value."""
    nl = placer.load_netlist(netlists_dir / SAMPLE)
    new = nl.with_settings(grid_cols=5, canvas_width=300)
    assert (new.settings.grid_cols, new.settings.canvas_width) == (5, 300.0)
    assert nl.settings.grid_cols == 10
    with pytest.raises(PlacerInputError, match="unknown setting 'grid_colz'"):
        nl.with_settings(grid_colz=5)
    with pytest.raises(PlacerInputError, match="grid_rows"):
        nl.with_settings(grid_rows=0)
    with pytest.raises(PlacerInputError, match="integer"):
        nl.with_settings(grid_rows=2.5)


def test_with_settings__copy_owns_placement(netlists_dir):
    """Changing a copy's placement in place leaves the original unchanged."""
    nl = placer.load_netlist(netlists_dir / SAMPLE)
    before = nl.node_xy.copy()
    for new in (nl.with_settings(grid_cols=3), nl.copy(), nl.with_placement()):
        new.node_xy[:] = -1.0
        new.node_fixed[:] = True
        new.metadata["x"] = 1
    np.testing.assert_array_equal(nl.node_xy, before)
    assert not nl.node_fixed[nl.node_kind != PORT].any()
    assert "x" not in nl.metadata


def test_coerce_setting__types():
    """coerce_setting turns numbers into each setting's type and refuses the
    rest with PlacerInputError."""
    assert coerce_setting("grid_cols", 5.0) == 5
    assert isinstance(coerce_setting("grid_cols", np.int64(5)), int)
    assert coerce_setting("canvas_width", np.float32(2.5)) == 2.5
    assert coerce_setting("soft_macros_squared", True) is True
    for name, bad in (("grid_cols", float("nan")), ("grid_cols", True),
                      ("canvas_width", "1"), ("soft_macros_squared", 1),
                      ("nope", 1)):
        with pytest.raises(PlacerInputError):
            coerce_setting(name, bad)


def test_settings__defaults_are_circuit_training():
    """Default settings are Circuit Training's: 10 x 10 grid, 70.33 / 74.51
    routes per micron, 51.79 macro routes, smoothing 2, overlap 0.004."""
    s = Settings()
    assert (s.grid_cols, s.grid_rows, s.smoothing_range) == (10, 10, 2)
    assert (s.routes_per_micron_hor, s.routes_per_micron_ver) == (70.33, 74.51)
    assert (s.macro_routes_hor, s.macro_routes_ver) == (51.79, 51.79)
    assert s.overlap_threshold == 0.004
    assert "soft_macros_squared" in SETTING_NAMES


def test_build_nets__csr_driver_first():
    """build_nets lays nets out as CSR with the driver first."""
    ptr, pins, w = build_nets([4, 0], [[1, 2], [3]], [2.0, 1.0])
    assert ptr.tolist() == [0, 3, 5]
    assert pins.tolist() == [4, 1, 2, 0, 3]
    assert w.tolist() == [2.0, 1.0]
    ptr, pins, w = build_nets([], [], [])
    assert ptr.tolist() == [0] and pins.size == 0 and w.size == 0


def test_oriented_size__east_swaps(netlists_dir):
    """E/W-family orientations swap a macro's width and height."""
    nl = placer.load_netlist(netlists_dir / "tilos_small/0P1M1m/netlist.pb.txt")
    v = int(np.flatnonzero(nl.node_kind == HARD_MACRO)[0])
    nl.node_size[v] = (10.0, 4.0)
    nl.node_orient[v] = 2   # E
    assert nl.oriented_size()[v].tolist() == [4.0, 10.0]
    assert not math.isnan(nl.total_area())
    assert SOFT_MACRO in nl.node_kind
