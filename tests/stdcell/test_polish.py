"""Soft-macro polish (placer.stdcell.polish): known answers on hand-sized
designs, and the invariants on synth_small."""

from __future__ import annotations

import importlib
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.cost.incremental import init_state
from placer.errors import PlacerInputError
from placer.netlist.model import SOFT_MACRO
from placer.stdcell.analytical import AnalyticalConfig
from placer.stdcell.polish import (
    make_polish,
    polish_soft_macros,
    shift_offsets,
)
from tests.cost.tiny import UNIT_GRID, tiny_netlist
from tests.traces import trace_counter

polish_module = importlib.import_module("placer.stdcell.polish")

SYNTH = Path(__file__).resolve().parents[2] / "netlists" / "synth_small"
WL_ONLY = (1.0, 0.0, 0.0)


def test_shift_offsets__each_step_in_the_eight_directions():
    # canvas 100 x 50 on a 10 x 10 grid: cells 10 x 5, so half a cell is
    # (5, 2.5) microns; the eight directions give every sign combination of
    # (5, 2.5) with either coordinate possibly 0.
    nl = tiny_netlist([("soft", 50.0, 25.0, 1.0, 1.0)], [],
                      canvas_width=100.0, canvas_height=50.0, grid_cols=10,
                      grid_rows=10)
    off = np.asarray(shift_offsets(cost_arrays(nl), steps=(0.5,)))
    want = {(dx * 5.0, dy * 2.5) for dx in (-1, 0, 1) for dy in (-1, 0, 1)
            if dx or dy}
    assert off.shape == (8, 2)
    assert {tuple(map(float, o)) for o in off} == want
    with pytest.raises(PlacerInputError, match="positive"):
        shift_offsets(cost_arrays(nl), steps=(0.5, -1.0))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sweeps": -1}, "sweeps must be an integer >= 0"),
    ({"sweeps": 2.5}, "sweeps must be an integer >= 0"),
    ({"tol": -1e-3}, "tol must be a number >= 0"),
    ({"budget_s": float("nan")}, "budget_s must be a number >= 0"),
    ({"weights": (1.0, 0.5)}, "weights must be 3 finite numbers"),
    ({"steps": (0.5, 0.0)}, "positive"),
])
def test_polish_soft_macros__rejects_bad_options(kwargs, message):
    with pytest.raises(PlacerInputError, match=message):
        polish_soft_macros(_soft_and_port(8.5), **kwargs)


def _soft_and_port(port_x):
    # one 0.2 x 0.2 soft macro at (5.5, 5.5) and a port at (port_x, 5.5) on
    # one net, on the 10 x 10 canvas of 1 x 1 cells
    return tiny_netlist([("soft", 5.5, 5.5, 0.2, 0.2), ("port", port_x, 5.5, 0, 0)],
                        [(1.0, [0, 1])], **UNIT_GRID)


def test_polish__walks_a_soft_macro_to_its_port():
    """Wirelength only, shifts of 1 and 2 cells: HPWL 3 at the start. Sweep
    1: the longer shift, 2 cells east, leaves HPWL 1 (diagonal shifts add
    |dy|); sweep 2: 1 cell east, HPWL 0; sweep 3 finds nothing and stops.
    The proxy's wirelength is HPWL / ((10 + 10) * 1 net): 0.15 -> 0."""
    nl = _soft_and_port(8.5)
    assert placer.proxy_cost(nl, weights=WL_ONLY).proxy == pytest.approx(0.15)
    out = polish_soft_macros(nl, weights=WL_ONLY, steps=(1.0, 2.0))
    np.testing.assert_allclose(out.node_xy[0], [8.5, 5.5], atol=1e-12)
    np.testing.assert_array_equal(out.node_xy[1], nl.node_xy[1])
    after = placer.proxy_cost(out, weights=WL_ONLY).proxy
    assert after == pytest.approx(0.0, abs=1e-12)
    assert out.metadata["polish"]["sweeps"] == 3
    assert out.metadata["polish"]["proxy_before"] == pytest.approx(0.15)
    # at most one sweep: only the 2-cell shift
    one = polish_soft_macros(nl, weights=WL_ONLY, steps=(1.0, 2.0), sweeps=1)
    np.testing.assert_allclose(one.node_xy[0], [7.5, 5.5], atol=1e-12)


def test_polish__keeps_the_footprint_inside_the_canvas():
    """A port beyond the reachable edge, shifts of 1 and 2 cells: 5.5 -> 7.5
    -> 9.5, then both shifts east are clipped to x = 10 - 0.1 (half the
    width), 0.05 from the port, which no later shift improves."""
    out = polish_soft_macros(_soft_and_port(9.95), weights=WL_ONLY, steps=(1.0, 2.0))
    np.testing.assert_allclose(out.node_xy[0], [9.9, 5.5], atol=1e-12)


def test_polish__traces_once_and_the_incremental_state_is_exact(monkeypatch):
    """On the hand-sized design of the walk (the compilation it shares): two
    sweeps from different states share one compilation, and the state a
    sweep returns (full weights) matches a full evaluation."""
    nl = _soft_and_port(8.5)
    weights = (1.0, 0.5, 0.5)
    with jax.enable_x64(True):
        arrays = cost_arrays(nl, dtype=jnp.float64)
        xy, orient = pad_placement(nl, arrays, dtype=jnp.float64)
        sweep = make_polish(arrays, nl.soft_macros, weights, steps=(1.0, 2.0))
        st0 = init_state(arrays, xy, orient, weights)
        traces = trace_counter(monkeypatch, polish_module, "move")
        st1 = sweep(st0)
        n = len(traces)
        st2 = sweep(st1)
        assert len(traces) == n           # the second sweep: no new trace
        for st in (st1, st2):
            exact = init_state(arrays, st.xy, orient, weights)
            assert float(st.proxy) == pytest.approx(float(exact.proxy), abs=1e-12)
        assert float(st2.proxy) <= float(st1.proxy) < float(st0.proxy)
        np.testing.assert_array_equal(np.asarray(st2.xy)[1], nl.node_xy[1])


@pytest.fixture(scope="module")
def synth_placed():
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", placement=SYNTH / "initial.plc")
    fast = AnalyticalConfig(iterations=60)
    return placer.place_soft_macros(nl, method="analytical", config=fast)


@pytest.mark.slow   # compiles for synth_small; fast: the two tests above
def test_polish__lowers_the_proxy_moves_only_soft_macros_traces_once(synth_placed,
                                                                    monkeypatch):
    """Two sweeps from different states share one compilation, the state a
    sweep returns matches a full evaluation, the proxy falls, and only soft
    macros move, inside the canvas."""
    nl = synth_placed
    weights = (1.0, 0.5, 0.5)
    with jax.enable_x64(True):
        arrays = cost_arrays(nl, dtype=jnp.float64)
        xy, orient = pad_placement(nl, arrays, dtype=jnp.float64)
        sweep = make_polish(arrays, nl.soft_macros, weights)
        st0 = init_state(arrays, xy, orient, weights)
        traces = trace_counter(monkeypatch, polish_module, "move")
        st1 = sweep(st0)
        n = len(traces)
        st2 = sweep(st1)
        assert len(traces) == n           # the second sweep: no new trace
        exact = init_state(arrays, st2.xy, orient, weights)
        assert float(st2.proxy) == pytest.approx(float(exact.proxy), abs=1e-9)
        assert float(st2.proxy) <= float(st1.proxy) < float(st0.proxy)
        out = np.asarray(st2.xy)[: nl.num_nodes]
    assert placer.proxy_cost(nl.with_placement(out)).proxy == pytest.approx(
        float(st2.proxy), abs=1e-9)
    fixed = nl.node_kind != SOFT_MACRO
    np.testing.assert_array_equal(out[fixed], nl.node_xy[fixed])
    soft = nl.soft_macros
    half = nl.oriented_size()[soft] / 2
    assert np.all(out[soft] - half >= -1e-9)
    assert np.all(out[soft] + half <= np.array(nl.canvas) + 1e-9)
