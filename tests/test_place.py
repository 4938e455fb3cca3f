"""placer.place(): random, greedy, simulated annealing, refinement."""

from pathlib import Path

import numpy as np
import pytest

import placer
from placer.legality import check_legality
from placer.netlist.model import HARD_MACRO, SOFT_MACRO

ROOT = Path(__file__).resolve().parents[1]
SYNTH = ROOT / "netlists" / "synth_small"
SA_OPTS = dict(stages=3, chains=4, steps_per_stage=300)
_RESULTS = {}


def _netlist():
    return placer.load_netlist(SYNTH / "netlist.pb.txt",
                               placement=SYNTH / "initial.plc")


def _placed(method, **kw):
    key = (method, tuple(sorted(kw.items())))
    if key not in _RESULTS:
        _RESULTS[key] = placer.place(_netlist(), method=method, seed=0, **kw)
    return _RESULTS[key]


def _opts(method):
    return SA_OPTS if method == "sa" else {}


@pytest.mark.parametrize("method", ["random", "greedy", "sa"])
def test_place__result_is_legal_and_complete(method):
    """Every method returns a legal placement with hard macros on cell centres."""
    nl = _netlist()
    out = _placed(method, **_opts(method))
    assert check_legality(out) == []
    s = out.settings
    gw, gh = s.canvas_width / s.grid_cols, s.canvas_height / s.grid_rows
    hard = out.node_kind == HARD_MACRO
    frac = out.node_xy[hard] / [gw, gh] - 0.5
    np.testing.assert_allclose(frac, np.round(frac), atol=1e-6)
    # ports never move
    ports = out.ports
    np.testing.assert_array_equal(out.node_xy[ports], nl.node_xy[ports])


def test_place__sa_beats_greedy_beats_random():
    """On the bundled design: proxy(SA) < proxy(greedy) < proxy(random)."""
    cost = {m: placer.proxy_cost(_placed(m, **_opts(m))).proxy
            for m in ("random", "greedy", "sa")}
    assert cost["sa"] < cost["greedy"] < cost["random"], cost


@pytest.mark.parametrize("method", ["random", "greedy", "sa"])
def test_place__fair_start_ignores_input_positions(method):
    """Moving every movable node to the canvas centre first changes nothing."""
    nl = _netlist()
    centre = np.array(nl.canvas) / 2
    xy = nl.node_xy.copy()
    movable = ((nl.node_kind == HARD_MACRO) & ~nl.node_fixed) | \
        (nl.node_kind == SOFT_MACRO)
    xy[movable] = centre
    a = _placed(method, **_opts(method))
    b = placer.place(nl.with_placement(xy), method=method, seed=0, **_opts(method))
    np.testing.assert_allclose(a.node_xy, b.node_xy, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a.node_orient, b.node_orient)


@pytest.mark.slow
def test_place__refine_never_worsens():
    """Refinement after greedy gives a legal placement no worse than greedy."""
    g = placer.proxy_cost(_placed("greedy")).proxy
    r = _placed("greedy", refine=True, refine_sweeps=1)
    assert check_legality(r) == []
    assert placer.proxy_cost(r).proxy <= g + 1e-6


def test_place__rejects_unknown_method_and_options():
    """Unknown methods, options and budgets raise PlacerInputError."""
    nl = _netlist()
    with pytest.raises(placer.PlacerInputError, match="unknown method"):
        placer.place(nl, method="magic")
    with pytest.raises(placer.PlacerInputError, match="unknown option"):
        placer.place(nl, method="random", colour="red")
    with pytest.raises(placer.PlacerInputError, match="budget_s"):
        placer.place(nl, method="sa", budget_s=-1)
