"""The searches' jitted programs are built once per static configuration and
take the design's arrays as arguments: a second place() on the same design
(same settings) traces none of them again (placer.search.sa's stage and
refresh, placer.search.refine's improve, placer.placers.state's rollouts)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import placer
from placer.env.env import PlacementEnv, make_env, random_policy
from placer.placers.registry import Problem
from placer.placers.state import rollouts
from placer.search import refine, sa
from placer.synth import synthetic_netlist
from tests.traces import trace_counter

# small: every program still compiles once (the costly part); one chain and
# one random episode, so that the tests below share the SA test's refresh
# and rollouts programs (the same padded shapes)
SA_OPTS = dict(stages=1, chains=1, steps_per_stage=5)


@pytest.fixture(scope="module")
def nl():
    return synthetic_netlist(3, num_hard=6, num_soft=24, num_ports=8)


def _traces_twice(nl, counters, **kw):
    """(traces during the first place(), traces during the second) per counter."""
    a = placer.place(nl, seed=0, soft="fd", **kw)
    first = [len(c) for c in counters]
    b = placer.place(nl, seed=0, soft="fd", **kw)
    second = [len(c) - n for c, n in zip(counters, first, strict=True)]
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    np.testing.assert_array_equal(a.node_orient, b.node_orient)
    return first, second


def test_sa__second_place_traces_nothing(monkeypatch, nl):
    """place(method="sa") twice: the SA stage, the soft-macro refresh and the
    starting rollouts (random and greedy) trace at most once in all."""
    counters = [trace_counter(monkeypatch, sa, "legal_one"),       # the stage
                trace_counter(monkeypatch, sa, "init_state"),      # refresh
                trace_counter(monkeypatch, PlacementEnv, "rollout")]
    first, second = _traces_twice(nl, counters, method="sa", **SA_OPTS)
    assert second == [0, 0, 0], (first, second)


def test_refine__second_place_traces_nothing(monkeypatch, nl):
    """place(method="greedy", refine=True) twice: refinement's candidate
    scoring, its soft-macro refresh and the greedy rollout trace once."""
    counters = [trace_counter(monkeypatch, refine, "legal_one"),   # improve
                trace_counter(monkeypatch, sa, "init_state"),      # refresh
                trace_counter(monkeypatch, PlacementEnv, "rollout")]
    first, second = _traces_twice(nl, counters, method="greedy", refine=True,
                                  refine_sweeps=1, refine_soft_sweeps=0)
    assert second == [0, 0, 0], (first, second)


def test_rollouts__second_place_traces_nothing(monkeypatch, nl):
    """place(method="random") twice: state.rollouts' program traces once."""
    counters = [trace_counter(monkeypatch, PlacementEnv, "rollout")]
    first, second = _traces_twice(nl, counters, method="random", tries=1)
    assert second == [0], (first, second)


def test_rollouts__a_closure_policy_still_runs(nl):
    """A policy that closes over values (not a plain function or a
    jax.tree_util.Partial) takes the per-call jit and gives the same
    episodes as the cached program."""
    env, params = make_env(nl)
    problem = Problem(nl, env, params, jax.random.PRNGKey(0))
    scale = 1.0
    closure = lambda k, obs: random_policy(k, obs) * int(scale)  # noqa: E731
    a = rollouts(problem, random_policy, problem.key, 1)
    b = rollouts(problem, closure, problem.key, 1)
    np.testing.assert_array_equal(a["actions"], b["actions"])
