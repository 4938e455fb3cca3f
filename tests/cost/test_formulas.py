"""Known-answer tests of every proxy-cost formula, on hand-made netlists."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placer import batch_proxy_cost, proxy_cost
from placer.cost.arrays import cost_arrays, pad_placement
from placer.cost.proxy import cost_terms
from placer.errors import PlacerInputError
from tests.cost.tiny import UNIT_GRID, tiny_netlist


def port(x, y):
    return ("port", x, y, 0.0, 0.0)


def test_wirelength__weighted_hpwl_normalised():
    """WL = sum(w HPWL) / ((W + H) sum(w)) on two weighted nets."""
    nl = tiny_netlist(
        [port(0, 0), port(30, 40), port(10, 10), port(15, 15)],
        [(2.0, [0, 1]), (1.0, [2, 3])],
        canvas_width=100.0, canvas_height=100.0)
    c = proxy_cost(nl)
    # net 0: 30 + 40 = 70, weight 2; net 1: 5 + 5 = 10, weight 1
    # WL = (2 * 70 + 10) / ((100 + 100) * 3) = 150 / 600 = 0.25
    assert c.hpwl == pytest.approx(150.0)
    assert c.wirelength == pytest.approx(0.25, rel=1e-12)


@pytest.mark.parametrize("orient, expected", [
    ("N", (52.0, 51.0)),   # ( x,  y) = ( 2,  1)
    ("S", (48.0, 49.0)),   # (-x, -y) = (-2, -1)
    ("E", (51.0, 48.0)),   # ( y, -x) = ( 1, -2)
    ("W", (49.0, 52.0)),   # (-y,  x) = (-1,  2)
    ("FN", (48.0, 51.0)),  # (-x,  y)
    ("FS", (52.0, 49.0)),  # ( x, -y)
    ("FE", (49.0, 48.0)),  # (-y, -x)
    ("FW", (51.0, 52.0)),  # ( y,  x)
])
def test_wirelength__pin_offset_follows_orientation(orient, expected):
    """A hard-macro pin sits at centre + its offset turned by the orientation."""
    nl = tiny_netlist([("hard", 50, 50, 10, 10, orient), port(0, 0)],
                      [(1.0, [(0, 2.0, 1.0), 1])],
                      canvas_width=100.0, canvas_height=100.0)
    np.testing.assert_allclose(nl.pin_xy()[0], expected)
    # HPWL to the port at the origin = px + py
    assert proxy_cost(nl).hpwl == pytest.approx(sum(expected))


def test_wirelength__soft_macro_pin_offsets_ignored():
    """Soft-macro pins sit at the macro centre, as in the reference evaluators."""
    nl = tiny_netlist([("soft", 50, 50, 10, 10), port(0, 0)],
                      [(1.0, [(0, 4.0, 3.0), 1])],
                      canvas_width=100.0, canvas_height=100.0)
    assert proxy_cost(nl).hpwl == pytest.approx(100.0)  # 50 + 50


def test_density__few_cells_mean_of_occupied():
    """With < 10 cells, density = 0.5 x mean over occupied cells."""
    # 10 x 10 canvas, 2 x 2 grid of 5 x 5 cells (area 25); a 5 x 5 macro at the
    # centre covers 2.5 x 2.5 = 6.25 of each cell: 0.25 everywhere.
    nl = tiny_netlist([("hard", 5, 5, 5, 5)], [], canvas_width=10.0,
                      canvas_height=10.0, grid_cols=2, grid_rows=2)
    c = proxy_cost(nl)
    np.testing.assert_allclose(c.density_map, 0.25)
    assert c.density == pytest.approx(0.5 * 0.25)


def test_density__top_ten_percent():
    """Density = 0.5 x mean of the top 10% of cells, soft macros included."""
    # 100 cells -> top 10. A 2 x 1 hard macro fills cells (0,0), (0,1); a 1 x 1
    # soft macro half-covers (5,5) and (5,6) (centre on the cell boundary x=6).
    # top 10 = 1, 1, 0.5, 0.5, 0 ... -> mean 3 / 10 = 0.3; cost 0.15.
    nl = tiny_netlist([("hard", 1, 0.5, 2, 1), ("soft", 6, 5.5, 1, 1)], [],
                      **UNIT_GRID)
    c = proxy_cost(nl)
    assert c.density_map[0, 0] == pytest.approx(1.0)
    assert c.density_map[5, 5] == pytest.approx(0.5)
    assert c.density == pytest.approx(0.15)


def test_density__ports_do_not_count():
    """Ports have no area in the density map."""
    nl = tiny_netlist([port(5, 5)], [], **UNIT_GRID)
    assert proxy_cost(nl).density == 0.0


def test_congestion__two_pin_l_route():
    """Two cells: horizontal along the source row, then vertical in the sink
    column."""
    # source cell (row 0, col 0), sink cell (row 2, col 3)
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 2.5)], [(1.0, [0, 1])], **UNIT_GRID)
    c = proxy_cost(nl)
    h, v = c.congestion_h, c.congestion_v
    # H: row 0, cols 0, 1, 2; V: col 3, rows 0, 1
    assert h[0, :3].tolist() == [1, 1, 1] and h.sum() == 3
    assert v[:2, 3].tolist() == [1, 1] and v.sum() == 2
    # top 5% of 200 values = 10 cells: (3 + 2) / 10 = 0.5
    assert c.congestion == pytest.approx(0.5)


def test_congestion__star_for_many_cells_and_duplicates_once():
    """Four or more distinct cells route as a star from the source; pins in the
    same cell count once."""
    # source (0,0); sinks (0,2), (2,0), (2,2) and a second pin in (2,2)
    nl = tiny_netlist([port(0.5, 0.5), port(2.5, 0.5), port(0.5, 2.5),
                       port(2.5, 2.5), port(2.7, 2.2)],
                      [(1.0, [0, 1, 2, 3, 4])], **UNIT_GRID)
    c = proxy_cost(nl)
    h, v = c.congestion_h, c.congestion_v
    # to (0,2): H row 0 cols 0,1; to (2,0): V col 0 rows 0,1;
    # to (2,2): H row 0 cols 0,1 and V col 2 rows 0,1
    assert h[0, 0] == 2 and h[0, 1] == 2 and h.sum() == 4
    assert v[0, 0] == 1 and v[1, 0] == 1 and v[0, 2] == 1 and v[1, 2] == 1
    assert v.sum() == 4


def test_congestion__three_pin_l_rule():
    """Three cells in rising x with the middle y between the others: L rule."""
    # cells (x, y) = (0, 0), (2, 1), (4, 3)
    nl = tiny_netlist([port(0.5, 0.5), port(2.5, 1.5), port(4.5, 3.5)],
                      [(1.0, [0, 1, 2])], **UNIT_GRID)
    c = proxy_cost(nl)
    h, v = c.congestion_h, c.congestion_v
    # H row 0 cols 0,1 and row 1 cols 2,3; V col 2 row 0 and col 4 rows 1,2
    assert np.argwhere(h).tolist() == [[0, 0], [0, 1], [1, 2], [1, 3]]
    assert np.argwhere(v).tolist() == [[0, 2], [1, 4], [2, 4]]


def test_congestion__three_pin_t_rule():
    """Three cells not matching the L / corner / flat rules route as a T on
    the middle row."""
    # cells (x, y) = (0, 0), (2, 2), (4, 0): by (y, x): (0,0), (4,0), (2,2)
    nl = tiny_netlist([port(0.5, 0.5), port(2.5, 2.5), port(4.5, 0.5)],
                      [(1.0, [0, 1, 2])], **UNIT_GRID)
    c = proxy_cost(nl)
    h, v = c.congestion_h, c.congestion_v
    # H row 0 cols 0..3; V col 0 rows [0, 0) (none), col 2 rows 0, 1
    assert np.argwhere(h).tolist() == [[0, 0], [0, 1], [0, 2], [0, 3]]
    assert np.argwhere(v).tolist() == [[0, 2], [1, 2]]


def test_congestion__three_pin_corner_and_flat_rules():
    """x2 == x3 above the first cell (corner) and y2 == y3 (flat)."""
    # corner: (0,0), (3,2), (3,4): H row 0 cols 0..2; V col 3 rows 0..3
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 2.5), port(3.5, 4.5)],
                      [(1.0, [0, 1, 2])], **UNIT_GRID)
    c = proxy_cost(nl)
    assert np.argwhere(c.congestion_h).tolist() == [[0, 0], [0, 1], [0, 2]]
    assert np.argwhere(c.congestion_v).tolist() == [[0, 3], [1, 3], [2, 3], [3, 3]]
    # flat: (0,3), (2,1), (5,1): H row 3 cols 0,1 and row 1 cols 2..4; V col 2 rows 1,2
    nl = tiny_netlist([port(0.5, 3.5), port(2.5, 1.5), port(5.5, 1.5)],
                      [(1.0, [0, 1, 2])], **UNIT_GRID)
    c = proxy_cost(nl)
    assert np.argwhere(c.congestion_h).tolist() == [[1, 2], [1, 3], [1, 4], [3, 0],
                                                    [3, 1]]
    assert np.argwhere(c.congestion_v).tolist() == [[1, 2], [2, 2]]


def test_congestion__weight_used_only_above_one():
    """Congestion counts a net weight only when it exceeds 1."""
    def total(w):
        nl = tiny_netlist([port(0.5, 0.5), port(3.5, 0.5)], [(w, [0, 1])], **UNIT_GRID)
        return proxy_cost(nl).congestion_h.sum()
    assert total(0.5) == pytest.approx(3.0)   # 3 cells x 1
    assert total(1.0) == pytest.approx(3.0)
    assert total(2.0) == pytest.approx(6.0)   # 3 cells x 2


def test_congestion__normalised_by_routes_per_cell():
    """Net routing is divided by cell size x routes per micron."""
    # cell 1 x 1, 4 horizontal routes per micron -> 4 routes per cell: 1 / 4
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 0.5)], [(1.0, [0, 1])],
                      **{**UNIT_GRID, "routes_per_micron_hor": 4.0})
    np.testing.assert_allclose(proxy_cost(nl).congestion_h[0, :3], 0.25)


def test_congestion__smoothing_spreads_along_row_and_column():
    """With range k, V spreads over the row and H over the column, clipped."""
    # one vertical segment in cell (row 0, col 5) with k = 1: 1/3 to cols 4,5,6;
    # one horizontal segment in cell (row 0, col 0): rows 0,1 (clipped) get 1/2.
    nl = tiny_netlist([port(0.5, 0.5), port(1.5, 0.5), port(5.5, 0.5),
                       port(5.5, 1.5)],
                      [(1.0, [0, 1]), (1.0, [2, 3])],
                      **{**UNIT_GRID, "smoothing_range": 1})
    c = proxy_cost(nl)
    np.testing.assert_allclose(c.congestion_v[0, 4:7], 1 / 3)
    assert c.congestion_v.sum() == pytest.approx(1.0)
    np.testing.assert_allclose(c.congestion_h[0:2, 0], 0.5)
    assert c.congestion_h.sum() == pytest.approx(1.0)


def test_congestion__macro_allocation_full_cells():
    """A hard macro covering whole cells adds alloc x overlap to H and V."""
    # 2 x 2 macro at (5, 5) covers cols 4, 5 and rows 4, 5 fully:
    # V += 1 (width inside) x 3 (alloc) / 1 (routes per cell) = 3, H likewise 2
    nl = tiny_netlist([("hard", 5, 5, 2, 2)], [],
                      **{**UNIT_GRID, "macro_routes_ver": 3.0, "macro_routes_hor": 2.0})
    c = proxy_cost(nl)
    np.testing.assert_allclose(c.congestion_v_macro[4:6, 4:6], 3.0)
    np.testing.assert_allclose(c.congestion_h_macro[4:6, 4:6], 2.0)
    assert c.congestion_v.sum() == pytest.approx(12.0)
    # top 10 of 200: four 3s, four 2s -> (12 + 8) / 10 = 2
    assert c.congestion == pytest.approx(2.0)


def test_congestion__macro_partial_overlap_correction():
    """A macro partly covering its edge cells drops V in its top row and H in
    its right column (Circuit Training's correction)."""
    # 1.5 x 1.5 macro at (5, 5): x, y in [4.25, 5.75]; 0.75 inside each of
    # cells 4 and 5 in both directions.
    nl = tiny_netlist([("hard", 5, 5, 1.5, 1.5)], [], **UNIT_GRID)
    c = proxy_cost(nl)
    v, h = c.congestion_v_macro, c.congestion_h_macro
    np.testing.assert_allclose(v[4, 4:6], 0.75)
    np.testing.assert_allclose(v[5, 4:6], 0.0)     # top row removed
    np.testing.assert_allclose(h[4:6, 4], 0.75)
    np.testing.assert_allclose(h[4:6, 5], 0.0)     # right column removed


def test_congestion__soft_macros_do_not_allocate_routing():
    """Only hard macros carry a routing allocation."""
    nl = tiny_netlist([("soft", 5, 5, 2, 2)], [], **UNIT_GRID)
    c = proxy_cost(nl)
    assert c.congestion_v.sum() == 0 and c.congestion_h.sum() == 0


def test_proxy__weighted_sum():
    """proxy = w_wl WL + w_den density + w_cong congestion."""
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 2.5), ("hard", 1, 0.5, 2, 1)],
                      [(1.0, [0, 1])], **UNIT_GRID)
    c = proxy_cost(nl, weights=(2.0, 3.0, 4.0))
    assert c.proxy == pytest.approx(2 * c.wirelength + 3 * c.density + 4 * c.congestion)
    d = proxy_cost(nl)
    assert d.proxy == pytest.approx(d.wirelength + 0.5 * d.density + 0.5 * d.congestion)


def test_proxy__rejects_bad_weights():
    """Weights must be three finite numbers."""
    nl = tiny_netlist([port(0, 0)], [], **UNIT_GRID)
    with pytest.raises(PlacerInputError):
        proxy_cost(nl, weights=(1.0, 0.5))
    with pytest.raises(PlacerInputError):
        proxy_cost(nl, weights=(1.0, float("nan"), 0.5))


def test_cost_terms__traces_once():
    """The jitted cost compiles once for many placements of one netlist."""
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 2.5), ("hard", 1, 0.5, 2, 1)],
                      [(1.0, [0, 1, 2])], **UNIT_GRID)
    arrays = cost_arrays(nl)
    xy, orient = pad_placement(nl, arrays)
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)        # a second trace raises AssertionError
    def f(xy, orient):
        return cost_terms(arrays, xy, orient)["proxy"]

    for dx in range(4):
        f(xy + dx * 0.5, orient).block_until_ready()


def test_batch_proxy_cost__equals_single():
    """vmap over placements gives each placement's own cost."""
    nl = tiny_netlist([port(0.5, 0.5), port(3.5, 2.5), ("hard", 1, 0.5, 2, 1),
                       ("soft", 7, 7, 1, 3)],
                      [(1.0, [0, 1, 2]), (2.0, [3, 0])], **UNIT_GRID)
    rng = np.random.default_rng(0)
    xys = rng.uniform(0.5, 9.5, size=(5, nl.num_nodes, 2))
    batch = batch_proxy_cost(nl, xys, dtype=jnp.float64)
    for b in range(5):
        single = proxy_cost(nl.with_placement(xys[b]))
        for k in ("wirelength", "density", "congestion", "proxy"):
            assert batch[k][b] == pytest.approx(getattr(single, k), rel=1e-12)
