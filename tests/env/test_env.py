"""The placement environment: masks, steps, episodes."""

from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.env.canvas import feasible_cells
from placer.env.env import make_env, random_policy
from placer.stdcell.force_directed import FDSchedule
from tests.cost.tiny import tiny_netlist

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
ARIANE = SHARED / "netlists" / "ariane133_ng45"
FAST_FD = FDSchedule(num_steps=(5, 5, 5))


def grid(rows, cols, w=10.0, h=10.0, **kw):
    return dict(canvas_width=w, canvas_height=h, grid_cols=cols, grid_rows=rows, **kw)


def test_feasible_cells__inside_canvas_only():
    """A 4 x 2 macro on a 10 x 10 canvas of 1 x 1 cells fits with its centre
    in columns 2..7 (x in [2.5, 7.5]) and rows 1..8."""
    m = feasible_cells(jnp.array([10.0, 10.0]), 10, 10, jnp.array([4.0, 2.0]),
                       jnp.zeros((1, 2)), jnp.zeros((1, 2)), jnp.zeros(1, bool))
    m = np.asarray(m)
    # centre x = c + 0.5; needs x - 2 >= 0 and x + 2 <= 10
    # -> 1.5 <= c <= 7.5 -> c in 2..7
    # centre y = r + 0.5; needs y - 1 >= 0 and y + 1 <= 10 -> r in 1..8
    assert np.array_equal(np.flatnonzero(m.any(axis=0)), np.arange(2, 8))
    assert np.array_equal(np.flatnonzero(m.any(axis=1)), np.arange(1, 9))
    assert m.sum() == 6 * 8


def test_feasible_cells__obstacle_blocks_overlaps_not_touching():
    """A 2 x 2 obstacle at (5, 5) blocks a 2 x 2 macro whose centre is within
    2 of it on both axes; touching (distance exactly 2) is allowed."""
    m = np.asarray(feasible_cells(jnp.array([10.0, 10.0]), 10, 10,
                                  jnp.array([2.0, 2.0]), jnp.array([[5.0, 5.0]]),
                                  jnp.array([[2.0, 2.0]]), jnp.array([True])))
    # cell centres 4.5 and 5.5 are within 2 of 5 (|0.5| < 2); 3.5, 6.5 too
    # (|1.5| < 2); 2.5 and 7.5 are 2.5 away. Blocked: rows/cols 3..6.
    blocked = ~m[1:9, 1:9]
    expect = np.zeros((10, 10), bool)
    expect[3:7, 3:7] = True
    assert np.array_equal(blocked, expect[1:9, 1:9])


class _Jitted:
    """An env with jitted reset / step, built once per module."""

    def __init__(self, nl, **spec):
        self.nl = nl
        self.env, self.params = make_env(nl, **{"fd_schedule": FAST_FD, **spec})
        self.spec = self.env.spec
        self.reset = jax.jit(lambda p: self.env.reset(p))
        self.step = jax.jit(lambda s, a, p: self.env.step(s, a, p))


_CACHE = {}


def _two_macro_env():
    if "two" not in _CACHE:
        nl = tiny_netlist([("port", 0, 5, 0, 0), ("hard", 0, 0, 4, 4),
                           ("hard", 0, 0, 2, 2), ("soft", 5, 5, 1, 1)],
                          [(1.0, [0, 1, 2]), (1.0, [3, 1])], **grid(5, 5))
        _CACHE["two"] = _Jitted(nl)
    j = _CACHE["two"]
    return j.nl, j, j.params


def test_env__order_is_descending_area_and_mask_known():
    """The big macro goes first; its mask is the 3 x 3 centre block."""
    nl, env, params = _two_macro_env()
    assert list(np.asarray(params.order[:2])) == [1, 2]
    state, ts = env.reset(params)
    # 5 x 5 grid of 2 x 2 cells, macro 4 x 4: centres 1, 3, 5, 7, 9 -> 3..7 fit
    m = np.asarray(ts.observation.action_mask).reshape(5, 5)
    expect = np.zeros((5, 5), bool)
    expect[1:4, 1:4] = True
    assert np.array_equal(m, expect)


def test_env__step_places_and_masks_overlap():
    """After the 4 x 4 macro sits at (5, 5) the 2 x 2 one must stay clear."""
    nl, env, params = _two_macro_env()
    state, ts = env.reset(params)
    state, ts = env.step(state, jnp.int32(12), params)   # row 2, col 2
    np.testing.assert_allclose(np.asarray(state.xy[1]), [5.0, 5.0])
    m = np.asarray(ts.observation.action_mask).reshape(5, 5)
    # 2 x 2 macro at centre c needs |c - 5| >= 3 on some axis: cells 0 and 4
    # (centres 1 and 9) are free on either axis; rows/cols 1..3 overlap.
    expect = np.ones((5, 5), bool)
    expect[1:4, 1:4] = False
    assert np.array_equal(m, expect)
    assert float(ts.reward) == 0.0 and not bool(ts.done)
    state, ts = env.step(state, jnp.int32(0), params)
    assert bool(ts.done) and float(ts.reward) < 0
    assert not bool(ts.extras["invalid_action"]) and not bool(ts.extras["infeasible"])
    c = placer.proxy_cost(nl.with_placement(np.asarray(state.xy)[:nl.num_nodes]))
    assert -float(ts.reward) == pytest.approx(c.proxy, rel=1e-4)


def test_env__illegal_action_ends_with_penalty():
    """An illegal action is a no-op that ends the episode with the penalty."""
    nl, env, params = _two_macro_env()
    state, _ = env.reset(params)
    state, ts = env.step(state, jnp.int32(0), params)   # corner: 4 x 4 won't fit
    assert bool(ts.done) and bool(ts.extras["invalid_action"])
    assert float(ts.reward) == -env.spec.penalty
    assert not bool(state.placed[1])


def test_env__no_legal_cell_ends_infeasible():
    """Two macros that cannot both fit end the episode early, flagged."""
    nl = tiny_netlist([("hard", 0, 0, 6, 6), ("hard", 0, 0, 6, 6)], [], **grid(5, 5))
    j = _Jitted(nl)
    state, ts = j.reset(j.params)
    state, ts = j.step(state, jnp.int32(12), j.params)
    assert bool(ts.done) and bool(ts.extras["infeasible"])
    env = j.env
    assert float(ts.reward) == -env.spec.penalty


def test_env__step_traces_once():
    """Stepping through an episode compiles the step once."""
    nl, env, params = _two_macro_env()
    chex.clear_trace_counter()

    def step(s, a):
        return env.env.step(s, a, params)

    step = jax.jit(chex.assert_max_traces(step, n=1))   # a retrace raises
    state, _ = env.reset(params)
    state, _ = step(state, jnp.int32(12))
    state, _ = step(state, jnp.int32(0))
    state, _ = step(state, jnp.int32(4))


def test_env__vmap_step_equals_single_steps():
    """vmap(step) over environments equals stepping each one."""
    nl, env, params = _two_macro_env()
    state, _ = env.reset(params)
    states = jax.tree.map(lambda x: jnp.stack([x, x, x]), state)
    actions = jnp.array([12, 6, 0], jnp.int32)
    vs, vts = jax.jit(jax.vmap(env.env.step, in_axes=(0, 0, None)))(
        states, actions, params)
    for i in range(3):
        s, ts = env.step(state, actions[i], params)
        for a, b in zip(jax.tree.leaves((s, ts)), jax.tree.leaves(
                jax.tree.map(lambda x, i=i: x[i], (vs, vts))), strict=True):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.skipif(not ARIANE.exists(), reason=f"{ARIANE} not found")
def test_env__random_episodes_on_ariane133_are_legal():
    """Masked random episodes place every macro legally, never illegally."""
    from placer.legality import check_legality

    nl = placer.load_netlist(ARIANE / "netlist.pb.txt.gz",
                             placement=ARIANE / "legalized.plc")
    env, params = make_env(nl, fd_schedule=FAST_FD)
    run = jax.jit(jax.vmap(lambda k: env.rollout(params, k, random_policy)))
    out = jax.device_get(run(jax.random.split(jax.random.PRNGKey(0), 4)))
    assert not out["invalid"].any()
    for i in range(4):
        if out["infeasible"][i]:
            continue
        assert int(out["placed"][i]) == len(nl.movable_hard_macros)
        done = nl.with_placement(out["xy"][i][: nl.num_nodes])
        assert check_legality(done) == []
    assert (~out["infeasible"]).sum() >= 2


def _soft_env(soft):
    """Three hard and four soft macros on a 6 x 6 grid, fast soft placers."""
    from placer.stdcell.analytical import AnalyticalConfig

    key = f"soft-{soft}"
    if key not in _CACHE:
        nl = tiny_netlist([("port", 0, 5, 0, 0), ("hard", 0, 0, 3, 3),
                           ("hard", 0, 0, 2, 2), ("hard", 0, 0, 2, 1),
                           ("soft", 5, 5, 1, 1), ("soft", 5, 5, 1, 2),
                           ("soft", 5, 5, 2, 1), ("soft", 5, 5, 1, 1)],
                          [(1.0, [0, 1, 4]), (1.0, [4, 5, 2]), (2.0, [6, 3, 7]),
                           (1.0, [7, 1, 5])], **grid(6, 6, 12.0, 12.0))
        _CACHE[key] = make_env(nl, soft=soft, fd_schedule=FAST_FD,
                               analytical_config=AnalyticalConfig(iterations=20))
    return _CACHE[key]


# the analytical variant compiles its own placer (40 s): slow
@pytest.mark.parametrize("soft", ["fd", pytest.param("analytical",
                                                     marks=pytest.mark.slow)])
def test_env__rollouts_in_turn_equal_vmapped_rollouts(soft):
    """env.rollouts (steps vmapped, terminal steps one after another or in
    chunks, in 1 or 2 groups) gives what vmap(env.rollout) gives, up to float
    summation order: the same actions and flags, the same final positions
    and costs. A design this small vmaps all its episodes by default."""
    env, params = _soft_env(soft)
    assert env.terminal_chunk(params) >= 4
    keys = jax.random.split(jax.random.PRNGKey(3), 4)
    ref = jax.jit(jax.vmap(lambda k: env.rollout(params, k, random_policy)))(keys)
    assert (np.asarray(ref["xy"]) != np.asarray(params.init_xy)[None]).any()
    for groups, chunk in ((2, 1), (1, 3)):
        out = jax.jit(lambda k, g=groups, c=chunk: env.rollouts(
            params, k, random_policy, groups=g, chunk=c))(keys)
        assert sorted(out) == sorted(ref)
        for name in ("actions", "infeasible", "invalid", "placed"):
            np.testing.assert_array_equal(np.asarray(out[name]), np.asarray(ref[name]))
        for name in ("xy", "reward", "proxy", "wirelength", "density", "congestion"):
            np.testing.assert_allclose(np.asarray(out[name]), np.asarray(ref[name]),
                                       rtol=1e-5, atol=1e-5, err_msg=name)


def test_env__terminals_groups_must_divide_the_batch():
    env, params = _soft_env("fd")
    states = jax.tree.map(lambda x: jnp.stack([x] * 3), env.reset(params)[0])
    with pytest.raises(placer.PlacerInputError, match="multiple of groups"):
        env.terminals(states, params, groups=2)
    for bad in (0, 1.5, True):
        with pytest.raises(placer.PlacerInputError, match="chunk must be a positive"):
            env.terminals(states, params, chunk=bad)
