"""Tests of placer.gridding, Circuit Training's automatic grid-size search."""

import itertools
from pathlib import Path

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.gridding import (
    GridChoice,
    _select,
    choose_grid,
    grid_for,
    grid_metric,
    hard_macro_sizes,
    pack_macros,
    waste_ratio,
)
from tests.cost.tiny import tiny_netlist

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
NETLISTS = SHARED / "netlists"
ARIANE = NETLISTS / "ariane133_ng45"
TILES = NETLISTS / "ct_testdata" / "macro_tiles_10x10"

# A search over exactly one grid: 10 rows x 10 columns.
ONLY_10x10 = dict(min_rows=10, max_rows=11, min_cols=10, max_cols=11,
                  min_cells=100, max_cells=100)


# ------------------------------------------------------------- brute force
def _brute_pack(sizes, rows, cols, cw, ch):
    """The packing and coverage, written out loop by loop from the spec."""
    gw, gh = cw / cols, ch / rows
    order = sorted(range(len(sizes)), key=lambda i: -(sizes[i][0] * sizes[i][1]))
    boxes, cells = [], [None] * len(sizes)
    cover = [[0.0] * cols for _ in range(rows)]
    for i in order:
        w, h = sizes[i]
        for r, c in itertools.product(range(rows), range(cols)):
            if cover[r][c] / (gw * gh) > 1.0:
                continue
            lx = (c + 0.5) * gw - w / 2.0
            ly = (r + 0.5) * gh - h / 2.0
            ux, uy = lx + w, ly + h
            if lx < 0 or ly < 0 or ux > cw or uy > ch:
                continue
            if any(lx < b[2] and ux > b[0] and ly < b[3] and uy > b[1] for b in boxes):
                continue
            boxes.append((lx, ly, ux, uy))
            cells[i] = r * cols + c
            for rr, cc in itertools.product(range(rows), range(cols)):
                ox = min(ux, (cc + 1) * gw) - max(lx, cc * gw)
                oy = min(uy, (rr + 1) * gh) - max(ly, rr * gh)
                if ox > 0 and oy > 0:
                    cover[rr][cc] += ox * oy
            break
        else:
            return None, None
    return cells, cover


def _brute_metric(sizes, rows, cols, cw, ch):
    cells, cover = _brute_pack(sizes, rows, cols, cw, ch)
    if cells is None:
        return None
    gw, gh = cw / cols, ch / rows
    empty = sum(v / (gw * gh) < 1e-5 for row in cover for v in row)
    return ((1.0 - _brute_waste([s[0] for s in sizes], gw))
            + (1.0 - _brute_waste([s[1] for s in sizes], gh))
            + empty / (rows * cols))


def _brute_waste(segs, g):
    n, prev = 0, 0.0
    for s in segs:
        k = 0
        while (2 * k + 1) * g < s:
            k += 1
        extra = g - ((2 * k + 1) * g - s) / 2.0
        n += 2 * k + 1 - (extra + prev < g)
        prev = extra
    span = (n + 1) * g
    return (span - sum(segs)) / span


def _random_sizes(rng, m, kinds=None):
    if kinds is None:
        return rng.uniform(2.0, 30.0, size=(m, 2))
    table = rng.uniform(2.0, 30.0, size=(kinds, 2))
    return table[rng.integers(0, kinds, size=m)]


# ------------------------------------------------------------------- waste
def test_waste_ratio__hand_computed_tilos():
    """TILOS' rule: segments 1 and 2 on unit cells waste 2/5."""
    # s=1: k = ceil(0/2) = 0, span 1 cell, extra = 1 - (1 - 1)/2 = 1; 1 + 0 < 1
    #      is false, so it takes its own cell: n = 1.
    # s=2: k = ceil(1/2) = 1, span 3, extra = 1 - (3 - 2)/2 = 0.5; 0.5 + 1 < 1
    #      false: n = 1 + 3 = 4. span = (4 + 1) * 1 = 5; waste = (5 - 3)/5 = 0.4.
    assert waste_ratio([1.0, 2.0], 1.0) == pytest.approx(0.4)
    # One segment exactly one cell wide still gets the "+1": (2 - 1)/2 = 0.5.
    assert waste_ratio([10.0], 10.0) == pytest.approx(0.5)


@pytest.mark.parametrize("segs,cell,expected", [
    ([1, 2], 1, 0.25), ([2, 3], 3, 1 / 6), ([1, 2, 3], 3, 1 / 3),
    ([1, 5, 1], 3, 2 / 9), ([3], 2, 0.5), ([6, 10], 4, 0.2), ([10, 6], 4, 0.2),
    ([1, 1, 1, 1], 2, 0.5), ([2, 2, 2, 2], 1, 1 / 9),
])
def test_waste_ratio__circuit_training_vectors(segs, cell, expected):
    """rule="circuit_training" gives the values of CT's grid_size_selection_test."""
    assert waste_ratio(segs, cell, rule="circuit_training") == pytest.approx(expected)


def test_waste_ratio__matches_loop_form():
    """The vectorised waste equals a loop written from the description."""
    rng = np.random.default_rng(3)
    for _ in range(200):
        segs = list(rng.uniform(0.1, 12.0, size=rng.integers(1, 9)))
        if rng.random() < 0.5:
            segs = [float(round(s)) + 1.0 for s in segs]
        g = float(rng.choice([1.0, 2.0, 3.0, rng.uniform(0.3, 5.0)]))
        assert waste_ratio(segs, g) == pytest.approx(_brute_waste(segs, g), rel=1e-12)


# ----------------------------------------------------------- known answers
def test_choose_grid__one_macro_filling_a_cell():
    """A 10 x 10 macro on a 100 x 100 canvas, 10 x 10 grid: metric 1.99."""
    # It sits on cell (0, 0) exactly, so 99 of 100 cells stay empty (0.99).
    # waste([10], 10) = 0.5 both ways (see above): 0.5 + 0.5 + 0.99 = 1.99.
    g = choose_grid(np.array([[10.0, 10.0]]), 100.0, 100.0, **ONLY_10x10)
    assert (g.rows, g.cols) == (10, 10)
    assert g.metric == pytest.approx(1.99)
    assert g.candidates_evaluated == 1 and g.candidates_feasible == 1
    assert list(pack_macros([[10.0, 10.0]], 10, 10, 100.0, 100.0)) == [0]
    # CT's "<=" lets the lone segment fit its cell: waste 0, metric 2.99.
    ct = choose_grid(np.array([[10.0, 10.0]]), 100.0, 100.0, rule="circuit_training",
                     **ONLY_10x10)
    assert ct.metric == pytest.approx(2.99)


def test_choose_grid__two_macros_by_hand():
    """Two macros on a 10 x 10 grid of 10 x 10 cells, metric 2.49."""
    # Input order B = 10 x 20 (area 200), A = 30 x 10 (area 300); A packs first.
    # A: centre x = 10 c + 5 needs x - 15 >= 0, so c >= 1; row 0 (y = 5) fits:
    #    cell (0, 1), box x [0, 30], y [0, 10].
    # B: y - 10 >= 0 needs row >= 1; at row 1 (box y [5, 25]) columns 0-2 overlap
    #    A, column 3 (x [30, 40]) only touches it: cell (1, 3) = 13.
    # Covered cells: A fills (0, 0..2); B covers (0..2, 3): 6 used, 94 empty.
    # Widths in input order [10, 30], cell 10: s=10 -> extra 10, 10 + 0 < 10
    #   false, 1 cell; s=30 -> k = 1, 3 cells, extra 10; n = 4, span 50,
    #   waste (50 - 40)/50 = 0.2.
    # Heights in input order [20, 10]: s=20 -> k = 1, extra 10 - (30 - 20)/2 = 5,
    #   5 + 0 < 10 shares: 3 - 1 = 2; s=10 -> extra 10, 10 + 5 < 10 false: 1;
    #   n = 3, span 40, waste (40 - 30)/40 = 0.25. (In area order [10, 20] it
    #   would be n = 4, waste 0.4: the original order matters.)
    # metric = (1 - 0.2) + (1 - 0.25) + 0.94 = 2.49.
    sizes = np.array([[10.0, 20.0], [30.0, 10.0]])
    assert list(pack_macros(sizes, 10, 10, 100.0, 100.0)) == [13, 1]
    g = choose_grid(sizes, 100.0, 100.0, **ONLY_10x10)
    assert g.metric == pytest.approx(2.49)
    assert grid_metric(sizes, 10, 10, 100.0, 100.0) == pytest.approx(2.49)


def test_choose_grid__macro_bigger_than_canvas_raises():
    """A macro wider than the canvas is reported by index and size."""
    with pytest.raises(PlacerInputError, match=r"macro 1 \(150 x 10\).*larger than "
                       r"the canvas \(100 x 100\)"):
        choose_grid(np.array([[10.0, 10.0], [150.0, 10.0]]), 100.0, 100.0)


def test_choose_grid__unpackable_raises():
    """Two 60 x 60 macros never fit a 100 x 100 canvas side by side."""
    with pytest.raises(PlacerInputError, match="none of the .* candidate grids can "
                       "pack all 2 hard macros"):
        choose_grid(np.full((2, 2), 60.0), 100.0, 100.0)


@pytest.mark.parametrize("kwargs,match", [
    (dict(canvas_width=None, canvas_height=100.0), "needs canvas_width"),
    (dict(canvas_width=-1.0, canvas_height=100.0),
     "canvas_width must be a positive number"),
    (dict(canvas_width=100.0, canvas_height=100.0, min_cells=3000),
     "no grid satisfies the constraints"),
    (dict(canvas_width=100.0, canvas_height=100.0, tolerance=1.5), "tolerance"),
    (dict(canvas_width=100.0, canvas_height=100.0, rule="google"), "rule must be"),
    (dict(canvas_width=100.0, canvas_height=100.0, max_rows=2.5), "max_rows"),
])
def test_choose_grid__bad_arguments_raise(kwargs, match):
    """Bad arguments raise PlacerInputError with a clear message."""
    with pytest.raises(PlacerInputError, match=match):
        choose_grid(np.array([[5.0, 5.0]]), **kwargs)


def test_choose_grid__bad_sizes_raise():
    """Sizes must be (M, 2), finite, >= 0, and not empty."""
    for sizes, match in [(np.ones((3, 3)), "shape"), ([[1.0, np.nan]], "finite"),
                         ([[-1.0, 2.0]], ">= 0"), (np.zeros((0, 2)), "at least one")]:
        with pytest.raises(PlacerInputError, match=match):
            choose_grid(sizes, 100.0, 100.0)


# ------------------------------------------------------------------ rules
def test_select__tilos_and_ct_tie_breaks():
    """Equal metric/cells: TILOS keeps the first in scan order, CT the higher metric."""
    # best 3.1 on 32 x 32; with tolerance 0.4 the floor is 1.86. Both (16, 16)
    # at 2.0 and (16, 24) at 3.0 have metric / cells = 1/128 exactly.
    choices = [(16, 16, 2.0), (16, 24, 3.0), (32, 32, 3.1)]
    best = (32, 32, 3.1)
    assert _select(choices, best, 0.4, "tilos") == (16, 16, 2.0)
    assert _select(choices, best, 0.4, "circuit_training") == (16, 24, 3.0)
    # Nothing within tolerance but the best itself: the best is kept.
    assert _select(choices, best, 0.01, "tilos") == best
    assert _select(choices, best, 0.01, "circuit_training") == best


# ------------------------------------------------------- against brute force
def test_pack_and_metric__match_brute_force():
    """Packing cells and metric equal the loop-by-loop version on random cases."""
    rng = np.random.default_rng(7)
    for t in range(40):
        # Mixed sizes (fresh masks, some with > 24 boxes) and repeated sizes.
        sizes = _random_sizes(rng, int(rng.integers(1, 40)),
                              kinds=None if t % 2 else 3)
        if t % 5 == 0:
            sizes = np.round(sizes / 5.0) * 5.0 + 5.0   # grid-aligned edges
        rows, cols = int(rng.integers(3, 16)), int(rng.integers(3, 16))
        cw, ch = float(rng.choice([100.0, 120.0])), float(rng.choice([100.0, 90.0]))
        cells, _ = _brute_pack(sizes.tolist(), rows, cols, cw, ch)
        got = pack_macros(sizes, rows, cols, cw, ch)
        if cells is None:
            assert got is None
            assert grid_metric(sizes, rows, cols, cw, ch) is None
            continue
        assert list(got) == cells
        assert grid_metric(sizes, rows, cols, cw, ch) == pytest.approx(
            _brute_metric(sizes.tolist(), rows, cols, cw, ch), rel=1e-12)


def test_choose_grid__matches_brute_force_search():
    """The whole search equals brute force over a small candidate range."""
    rng = np.random.default_rng(11)
    kw = dict(min_rows=3, max_rows=9, min_cols=3, max_cols=9, min_cells=12,
              max_cells=50, max_aspect_ratio=1.5, tolerance=0.05)
    for t in range(6):
        sizes = _random_sizes(rng, int(rng.integers(2, 12)), kinds=None if t % 2 else 2)
        cw, ch = 100.0, float(rng.choice([100.0, 80.0]))
        choices, best = [], (-1, -1, -1.0)
        for m in range(kw["min_rows"], kw["max_rows"]):
            for n in range(kw["min_cols"], kw["max_cols"]):
                gw, gh = cw / n, ch / m
                if not (kw["min_cells"] <= m * n <= kw["max_cells"]) or max(
                        gw / gh, gh / gw) > kw["max_aspect_ratio"]:
                    continue
                metric = _brute_metric(sizes.tolist(), m, n, cw, ch)
                if metric is not None:
                    choices.append((m, n, metric))
                    if metric > best[2]:
                        best = (m, n, metric)
        if not choices:
            with pytest.raises(PlacerInputError):
                choose_grid(sizes, cw, ch, **kw)
            continue
        m, n, metric = _select(choices, best, kw["tolerance"], "tilos")
        g = choose_grid(sizes, cw, ch, **kw)
        assert (g.rows, g.cols) == (m, n)
        assert g.metric == pytest.approx(metric, rel=1e-12)
        assert g.candidates_feasible == len(choices)


# ------------------------------------------------------------ constraints
def _assert_constraints(g, cw, ch, min_rows=10, min_cols=10, max_rows=128,
                        max_cols=128, min_cells=500, max_cells=2500, ratio=1.5):
    assert isinstance(g, GridChoice)
    assert min_rows <= g.rows < max_rows and min_cols <= g.cols < max_cols
    assert min_cells <= g.rows * g.cols <= max_cells
    gw, gh = cw / g.cols, ch / g.rows
    assert gw / gh <= ratio and gh / gw <= ratio
    assert 0.0 < g.metric <= 3.0
    assert g.metric >= 0.95 * g.best_metric
    assert 1 <= g.candidates_feasible <= g.candidates_evaluated


def test_choose_grid__constraints_hold_and_deterministic():
    """Random designs: the default search obeys every bound, run after run."""
    rng = np.random.default_rng(5)
    for _ in range(2):
        sizes = _random_sizes(rng, 20, kinds=2) * 4.0
        cw, ch = 1000.0, float(rng.choice([800.0, 1000.0]))
        g = choose_grid(sizes, cw, ch)
        _assert_constraints(g, cw, ch)
        assert choose_grid(sizes.copy(), cw, ch) == g
        assert pack_macros(sizes, g.rows, g.cols, cw, ch) is not None


# ----------------------------------------------------------- netlist input
def test_choose_grid__netlist_uses_oriented_hard_macros():
    """A Netlist gives its hard macros' oriented sizes and its canvas."""
    nodes = [("hard", 0, 0, 30.0, 10.0, "E"),   # oriented: 10 x 30
             ("hard", 0, 0, 10.0, 20.0),
             ("soft", 0, 0, 90.0, 90.0),         # soft macros are ignored
             ("port", 0, 0, 0.0, 0.0)]
    nl = tiny_netlist(nodes, [(1.0, [3, 0, 1])], canvas_width=100.0,
                      canvas_height=100.0)
    np.testing.assert_array_equal(hard_macro_sizes(nl), [[10.0, 30.0], [10.0, 20.0]])
    g = choose_grid(nl, **ONLY_10x10)
    assert g == choose_grid(hard_macro_sizes(nl), 100.0, 100.0, **ONLY_10x10)
    g2 = choose_grid(nl, min_rows=3, min_cols=3, max_rows=20, max_cols=20,
                     min_cells=20, max_cells=200)
    out = grid_for(nl, min_rows=3, min_cols=3, max_rows=20, max_cols=20,
                   min_cells=20, max_cells=200)
    assert (out.settings.grid_rows, out.settings.grid_cols) == (g2.rows, g2.cols)
    assert (nl.settings.grid_rows, nl.settings.grid_cols) == (10, 10)  # unchanged
    # Named in errors by node name.
    big = tiny_netlist([("hard", 0, 0, 120.0, 5.0)], [], canvas_width=100.0,
                       canvas_height=100.0)
    with pytest.raises(PlacerInputError, match="'hard0'"):
        grid_for(big)


# --------------------------------------------------------------- real data
@pytest.fixture(scope="module")
def ariane():
    if not (ARIANE / "netlist.pb.txt.gz").exists():
        pytest.skip(f"shared netlists not found at {ARIANE} (needs /work/shared)")
    return placer.load_netlist(ARIANE / "netlist.pb.txt.gz",
                               placement=ARIANE / "legalized.plc")


def test_choose_grid__ariane133(ariane):
    """Ariane133 (133 macros, 1433.406 square): bounded, deterministic, and the
    grid of its legalized.plc (21 rows x 24 cols; TILOS' gridding.py agrees)."""
    assert ariane.canvas == pytest.approx((1433.406, 1433.406))
    assert hard_macro_sizes(ariane).shape == (133, 2)
    g = choose_grid(ariane)
    _assert_constraints(g, *ariane.canvas)
    assert choose_grid(ariane) == g
    assert (g.rows, g.cols) == (21, 24)


def test_choose_grid__macro_tiles_10x10():
    """CT's macro_tiles_10x10 (100 macros 50 x 50 on 1200 square) grids."""
    if not (TILES / "netlist.pb.txt").exists():
        pytest.skip(f"shared netlists not found at {TILES} (needs /work/shared)")
    nl = placer.load_netlist(TILES / "netlist.pb.txt", placement=TILES / "initial.plc")
    g = choose_grid(nl)
    _assert_constraints(g, *nl.canvas)
    # Observed 22 rows x 23 cols (TILOS' gridding.py agrees); CT's rule: 22 x 24.
    print(f"macro_tiles_10x10: {g.rows} rows x {g.cols} cols, metric {g.metric:.6f}")
