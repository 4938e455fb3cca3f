"""Tests of the legality checker (placer.legality)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import placer
from placer import legality
from placer.errors import PlacerInputError
from placer.legality import (
    Violation,
    check_legality,
    count_violations,
    overlapping_pairs,
)
from tests.cost.tiny import tiny_netlist

ARIANE = Path(__file__).resolve().parents[1] / ".." / "shared" / "netlists" / \
    "ariane133_ng45"
CANVAS = dict(canvas_width=100.0, canvas_height=100.0)


def _kinds(vs):
    return [v.kind for v in vs]


# ------------------------------------------------------------ hard overlap
@pytest.mark.parametrize(
    "x2, ratio",
    [
        (28.0, 0.2),       # 2 x 10 = 20 um^2 of 100: 0.2
        (30.0, None),      # touching: no overlap
        (29.97, None),     # 0.03 x 10 = 0.3 um^2: 0.003 <= 0.004, legal
        (29.95, 0.005),    # 0.05 x 10 = 0.5 um^2: 0.005 > 0.004
    ])
def test_check_legality__hard_overlap_known_answers(x2, ratio):
    """Two 10 x 10 hard macros side by side: overlap area over 100 um^2."""
    nl = tiny_netlist([("hard", 20, 20, 10, 10), ("hard", x2, 20, 10, 10)], [],
                      **CANVAS)
    vs = check_legality(nl)
    if ratio is None:
        assert vs == []
    else:
        assert _kinds(vs) == ["overlap"]
        assert vs[0].nodes == ("hard0", "hard1")
        assert vs[0].amount == pytest.approx(ratio)
        assert "hard0" in vs[0].message and "hard1" in vs[0].message


def test_check_legality__overlap_relative_to_smaller_macro():
    """A 2 x 2 macro inside a 10 x 10 one overlaps 100% of the smaller."""
    nl = tiny_netlist([("hard", 50, 50, 10, 10), ("hard", 52, 52, 2, 2)], [],
                      **CANVAS)
    (v,) = check_legality(nl)
    assert v.kind == "overlap" and v.amount == pytest.approx(1.0)
    # the threshold comes from the settings, and can be overridden
    assert check_legality(nl.with_settings(overlap_threshold=1.0)) == []
    assert len(check_legality(nl, overlap_threshold=0.5)) == 1


def test_check_legality__soft_macro_overlap_is_legal():
    """Soft macros may overlap each other and hard macros."""
    nl = tiny_netlist([("hard", 50, 50, 10, 10), ("soft", 50, 50, 10, 10),
                       ("soft", 52, 50, 10, 10)], [], **CANVAS)
    assert check_legality(nl) == []


# ------------------------------------------------------------------ canvas
def test_check_legality__outside_canvas_known_answers():
    """A box past an edge by more than 1e-6 of the canvas is reported."""
    nl = tiny_netlist(
        [("soft", 1, 50, 4, 4),            # xmin = -1: 1 um past the left edge
         ("hard", 5, 50, 10, 10),          # xmin = 0: touching is legal
         ("hard", 50, 95 + 5e-5, 10, 10),  # 5e-5 um past: within 1e-4 tolerance
         ("hard", 80, 97, 10, 4, "E"),     # turned: 4 x 10, ymax = 102
         ("port", 0, 120, 0, 0)],          # ports are not checked
        [], **CANVAS)
    vs = check_legality(nl)
    assert _kinds(vs) == ["outside_canvas", "outside_canvas"]
    assert vs[0].nodes == ("soft0",) and vs[0].amount == pytest.approx(1.0)
    assert "left" in vs[0].message
    assert vs[1].nodes == ("hard3",) and vs[1].amount == pytest.approx(2.0)
    assert "top" in vs[1].message


# --------------------------------------------------------------- blockages
def test_check_legality__blockage_known_answers():
    """Hard macros on a blockage of rate > 0 beyond the threshold are reported."""
    nl = tiny_netlist([("hard", 22, 10, 10, 10),    # x 17-27 on 0-20: 3 x 10
                       ("hard", 80, 80, 10, 10),    # on the rate-0 blockage
                       ("soft", 10, 10, 10, 10)],   # soft macros may sit there
                      [], **CANVAS)
    nl.blockages = np.array([[0, 0, 20, 20, 1.0], [70, 70, 90, 90, 0.0]])
    (v,) = check_legality(nl)
    assert v.kind == "blockage" and v.nodes == ("hard0",)
    assert v.amount == pytest.approx(0.3)


# ------------------------------------------------------------- fixed nodes
def test_check_legality__fixed_nodes_against_reference():
    """Fixed nodes that moved or turned since the reference are reported."""
    ref = tiny_netlist([("hard", 20, 20, 10, 10), ("hard", 60, 20, 10, 10),
                        ("port", 0, 50, 0, 0), ("soft", 50, 50, 4, 4)], [],
                       **CANVAS)
    ref.node_fixed[:] = [True, True, True, False]
    nl = ref.copy()
    nl.node_xy[0] = (23.0, 24.0)          # fixed, moved 5 um
    nl.node_orient[1] = 1                 # fixed, turned N -> S
    nl.node_xy[3] = (40.0, 40.0)          # not fixed: free to move
    vs = check_legality(nl, reference=ref)
    assert _kinds(vs) == ["fixed_moved", "fixed_moved"]
    assert vs[0].nodes == ("hard0",) and vs[0].amount == pytest.approx(5.0)
    assert vs[1].nodes == ("hard1",) and vs[1].amount == 0.0
    assert "turned from N to S" in vs[1].message
    assert check_legality(ref, reference=ref) == []
    with pytest.raises(PlacerInputError, match="nodes"):
        check_legality(nl, reference=tiny_netlist([("hard", 1, 1, 1, 1)], [],
                                                  **CANVAS))


def test_violation__is_frozen_and_counted():
    """Violations are immutable records; count_violations tallies every kind."""
    v = Violation("overlap", ("a", "b"), "a and b overlap", 0.5)
    with pytest.raises(AttributeError):
        v.kind = "blockage"
    assert count_violations([v, v]) == {"overlap": 2, "outside_canvas": 0,
                                        "blockage": 0, "fixed_moved": 0}


# -------------------------------------------------------------- the sweep
def _brute_force(boxes, thr):
    n = len(boxes)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            ox = min(boxes[i, 2], boxes[j, 2]) - max(boxes[i, 0], boxes[j, 0])
            oy = min(boxes[i, 3], boxes[j, 3]) - max(boxes[i, 1], boxes[j, 1])
            small = min(area[i], area[j])
            r = max(ox, 0) * max(oy, 0) / small if small > 0 else 0.0
            if r > thr:
                out.append((i, j, r))
    return out


@pytest.mark.parametrize("block", [7, 1 << 20])
def test_overlapping_pairs__equals_brute_force(block, monkeypatch):
    """The x sweep (in small or large blocks) finds exactly the brute-force pairs."""
    monkeypatch.setattr(legality, "_PAIR_BLOCK", block)
    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 100, (300, 2)).round(0)      # shared edges and ties
    size = rng.uniform(0, 12, (300, 2)).round(0)     # some zero-size boxes
    boxes = np.concatenate([lo, lo + size], axis=1)
    i, j, r = overlapping_pairs(boxes, 0.004)
    want = _brute_force(boxes, 0.004)
    assert len(want) > 100
    got = list(zip(i.tolist(), j.tolist(), strict=True))
    assert got == [(a, b) for a, b, _ in want]
    np.testing.assert_allclose(r, [x for _, _, x in want])


def test_overlapping_pairs__scales_to_thousands_of_macros():
    """5,000 legal macros on a grid (no overlaps, many near pairs) run quickly."""
    k = np.arange(5000)
    lo = np.stack([(k % 100) * 10.0, (k // 100) * 10.0], axis=1)
    boxes = np.concatenate([lo, lo + 10.0], axis=1)     # touching neighbours
    i, _, _ = overlapping_pairs(boxes, 0.004)
    assert len(i) == 0
    boxes[1, :2] -= 5.0                                 # one overlaps box 0
    i, j, _ = overlapping_pairs(boxes, 0.004)
    assert (0, 1) in list(zip(i.tolist(), j.tolist(), strict=True))


# ------------------------------------------------------------------ Ariane
def _ariane(plc):
    if not (ARIANE / plc).exists():
        pytest.skip(f"shared Ariane133 netlist not found at {ARIANE}")
    return placer.load_netlist(ARIANE / "netlist.pb.txt.gz", placement=ARIANE / plc)


def test_check_legality__ariane_legalized_is_legal():
    """Ariane133's legalized.plc breaks no rule (and no fixed node moved)."""
    nl = _ariane("legalized.plc")
    assert check_legality(nl, reference=nl) == []


def test_check_legality__ariane_initial_has_macros_outside_canvas():
    """Ariane133's initial.plc has 18 hard and 18 soft macros past the canvas."""
    vs = check_legality(_ariane("initial.plc"))
    assert count_violations(vs)["outside_canvas"] == 36
    kinds = [v.message.split()[0] for v in vs if v.kind == "outside_canvas"]
    assert kinds.count("hard") == 18 and kinds.count("soft") == 18
