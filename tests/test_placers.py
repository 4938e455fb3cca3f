"""The placer registry (placer.placers): one signature, options checked once
before any work, and refinement that never returns a worse placement."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placer
from placer import placers
from placer.config import METHOD_OPTIONS, RefineOptions, SearchOptions
from placer.placers import registry
from placer.placers.registry import Placed
from placer.synth import synthetic_netlist

SYNTH = Path(__file__).resolve().parents[1] / "netlists" / "synth_small"


def _netlist():
    return placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")


def test_registry__lists_every_method_with_its_options_class():
    assert placers.methods() == ("random", "greedy", "sa", "rl")
    for name in placers.methods():
        spec = placers.get(name)
        assert spec.options is METHOD_OPTIONS[name], name
        assert spec.summary and "\n" not in spec.summary
        # one signature: (problem, options)
        assert len(inspect.signature(spec.fn).parameters) == 2, name
    assert placers.POST_PASSES["refine"].options is RefineOptions
    # the CLI's options.* hold every option of every method and of refinement,
    # each None (the method's default) in the schema
    union = {f.name: f.default for f in dataclasses.fields(SearchOptions)}
    for cls in (*METHOD_OPTIONS.values(), RefineOptions):
        for f in dataclasses.fields(cls):
            assert union.get(f.name, "missing") is None, f.name


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "gredy"}, "unknown method 'gredy'; did you mean 'greedy'"),
    ({"method": "sa", "chain": 3}, "unknown option 'chain' .*did you mean 'chains'"),
    ({"method": "random", "chains": 3}, "unknown option 'chains' for method 'random'"),
    ({"method": "random", "tries": 0}, "tries must be an integer >= 1"),
    ({"method": "sa", "t_start": 0.01, "t_end": 0.1}, "t_end <= t_start"),
    ({"method": "sa", "stages": "many"}, "stages"),
    ({"method": "rl", "samples": 0, "greedy": False}, "samples > 0 or greedy"),
    ({"method": "greedy", "refine": True, "refine_radius": 0}, "refine_radius"),
    ({"method": "greedy", "refine": True, "refine_soft_sweeps": -1},
     "refine_soft_sweeps must be an integer >= 0"),
])
def test_place__bad_options_fail_before_any_work(monkeypatch, kwargs, message):
    """Unknown methods and options (with a suggestion) and invalid values are
    PlacerInputErrors raised before the method runs (it would fail loudly)."""
    def boom(problem, opts):
        raise AssertionError("the method ran")

    for name, spec in list(registry.PLACERS.items()):
        monkeypatch.setitem(registry.PLACERS, name, dataclasses.replace(spec, fn=boom))
    with pytest.raises(placer.PlacerInputError, match=message):
        placer.place(_netlist(), **kwargs)


def _worse_refine(problem, opts, placed):
    """A stand-in refinement that returns a much worse placement: every
    movable macro pushed into the lower-left corner cell region (a legal
    environment state is not needed for the guard under test)."""
    xy = np.array(placed.xy, copy=True)
    soft = np.asarray(problem.params.soft)
    xy[soft] = xy[soft] * 0.05      # soft macros crowded into one corner
    return Placed(xy, placed.orient, placed.cost - 1.0, placed.info)


def test_refine__a_worse_result_is_never_returned(monkeypatch):
    """place(refine=True) compares the refined and unrefined placements in
    float64 after the soft-macro pass and keeps the input when refinement
    made it worse (here a stand-in refinement that claims a better float32
    cost but returns a worse placement). The metadata keeps the method's
    own float64 proxy (proxy_before_refine), not the refined one's."""
    nl = _netlist()
    plain = placer.place(nl, method="greedy")
    spec = registry.POST_PASSES["refine"]
    monkeypatch.setitem(registry.POST_PASSES, "refine",
                        dataclasses.replace(spec, fn=_worse_refine))
    out = placer.place(nl, method="greedy", refine=True)
    np.testing.assert_array_equal(out.node_xy, plain.node_xy)
    np.testing.assert_array_equal(out.node_orient, plain.node_orient)
    assert placer.proxy_cost(out).proxy == placer.proxy_cost(plain).proxy
    assert out.metadata["placer"]["proxy_before_refine"] == placer.proxy_cost(
        plain).proxy
    assert "proxy_before_refine" not in plain.metadata["placer"]


def _greedy_refine(problem, opts, placed):
    """A stand-in refinement that returns the greedy placement."""
    return registry.PLACERS["greedy"].fn(problem, METHOD_OPTIONS["greedy"]())


def test_refine__kept_refinement_still_reports_the_methods_own_proxy(monkeypatch):
    """When refinement's placement is kept (here a stand-in returning the
    greedy placement after the random method, which it beats), the result is
    the refined placement and proxy_before_refine is still the method's own
    float64 proxy: that of the same call without refinement."""
    nl = _netlist()
    plain = placer.proxy_cost(placer.place(nl, method="random")).proxy
    greedy = placer.proxy_cost(placer.place(nl, method="greedy")).proxy
    assert greedy < plain                      # the stand-in does improve it
    spec = registry.POST_PASSES["refine"]
    monkeypatch.setitem(registry.POST_PASSES, "refine",
                        dataclasses.replace(spec, fn=_greedy_refine))
    out = placer.place(nl, method="random", refine=True)
    assert placer.proxy_cost(out).proxy == greedy
    assert out.metadata["placer"]["proxy_before_refine"] == plain


def test_refine__method_gets_its_share_of_the_budget(monkeypatch):
    """With refine=True the method gets SEARCH_SHARE (90 %) of budget_s and
    refinement runs until the whole budget (both counted from place()'s
    start); without refine the method gets all of it."""
    from placer.api import SEARCH_SHARE

    seen = []

    def record(name, spec, run):
        def fn(problem, *args):
            seen.append((name, problem.budget_s))
            return spec.fn(problem, *args) if run else args[-1]
        return dataclasses.replace(spec, fn=fn)

    monkeypatch.setitem(registry.PLACERS, "greedy",
                        record("greedy", registry.PLACERS["greedy"], True))
    # a refinement that returns its input (only the budget it got matters)
    monkeypatch.setitem(registry.POST_PASSES, "refine",
                        record("refine", registry.POST_PASSES["refine"], False))
    nl = _netlist()
    placer.place(nl, method="greedy", budget_s=100.0, refine=True, refine_sweeps=1)
    assert SEARCH_SHARE == 0.9
    assert seen == [("greedy", pytest.approx(90.0)), ("refine", 100.0)]
    seen.clear()
    placer.place(nl, method="greedy", budget_s=100.0)
    assert seen == [("greedy", 100.0)]


@pytest.mark.slow
@settings(max_examples=3, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000))
def test_refine__never_worse_on_small_designs(seed):
    """Property: on small synthetic designs, greedy + refinement is never worse
    than greedy alone in the float64 proxy after the soft-macro pass (slow:
    each example compiles; the guard itself is tested fast above)."""
    nl = synthetic_netlist(seed, num_hard=6, num_soft=24, num_ports=8)
    plain = placer.proxy_cost(placer.place(nl, method="greedy", seed=seed)).proxy
    refined = placer.place(nl, method="greedy", seed=seed, refine=True,
                           refine_sweeps=1)
    assert placer.check_legality(refined) == []
    assert placer.proxy_cost(refined).proxy <= plain


@pytest.mark.slow
@pytest.mark.parametrize("method", ["greedy", "random"])
def test_refine__never_worse_on_ariane133(netlists_dir, method):
    """Ariane133: refinement after greedy or random never returns a worse
    float64 proxy than its input (python -m pytest -m slow)."""
    d = netlists_dir / "ariane133_ng45"
    nl = placer.load_netlist(d / "netlist.pb.txt.gz", d / "legalized.plc")
    plain = placer.proxy_cost(placer.place(nl, method=method)).proxy
    refined = placer.place(nl, method=method, refine=True, refine_sweeps=1)
    assert placer.check_legality(refined) == []
    assert placer.proxy_cost(refined).proxy <= plain


def test_readme__methods_table_is_the_registrys():
    """The README's table of methods is registry.markdown_table() verbatim."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert registry.markdown_table() in readme
