"""The elite of expert iteration (ppo.imitation_elite): the incumbent
episodes carried from update to update, their selection (known answer), and
the update that keeps them (one trace, never worse, consistent proxy)."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placer.config import PPOConfig
from placer.cost.incremental import init_state
from placer.errors import PlacerInputError
from placer.rl import imitation, ppo
from tests.rl.probe import PROBE_CFG, probe_episode, small_net
from tests.rl.test_signal import W, two_macro_problem


def _elite(proxy, m=3, v=2):
    k = len(proxy)
    return imitation.Elite(
        cells=jnp.arange(k * m, dtype=jnp.int32).reshape(k, m) + 100,
        xy=jnp.full((k, v, 2), 7.0, jnp.float32),
        proxy=jnp.asarray(proxy, jnp.float32))


def _elite_update(states="expert", **over):
    """(problem, cfg, the jitted update (one trace allowed), a TrainState with
    an empty elite) on the two-macro design with imitation_elite (over: more
    PPOConfig overrides)."""
    env, pr = two_macro_problem()
    cfg = dataclasses.replace(PROBE_CFG, num_envs=4, imitation_coef=1.0,
                              imitation_episodes=1, imitation_elite=True,
                              imitation_states=states, **over)
    net = small_net()
    opt = ppo.make_optimizer(cfg)
    chex.clear_trace_counter()
    update = jax.jit(chex.assert_max_traces(ppo.make_update(env, net, cfg, opt), n=1))
    ts = ppo.init_train_state(env, net, pr, jax.random.PRNGKey(0), opt,
                              elite=ppo.elite_slots(cfg))
    return pr, cfg, update, ts


def test_select_episodes__known_answer():
    """Sampled proxies (0.5, 0.3, 0.1 but infeasible), elite (0.4, empty):
    the two best are sampled episode 1 (0.3) then the elite's slot 0 (0.4);
    the infeasible 0.1 never counts. With an elite of 0.2 it comes first;
    a tie goes to the sampled episode."""
    cells = jnp.asarray([[0, 1, 2], [3, 4, 5], [6, 7, 8]], jnp.int32)
    xy = jnp.arange(12, dtype=jnp.float32).reshape(3, 2, 2)
    proxy = jnp.asarray([0.5, 0.3, 0.1], jnp.float32)
    infeasible = jnp.asarray([False, False, True])
    c, x, s = imitation.select_episodes(proxy, infeasible, cells, xy,
                                        _elite([0.4, np.inf]))
    np.testing.assert_array_equal(np.asarray(c), [[3, 4, 5], [100, 101, 102]])
    np.testing.assert_array_equal(np.asarray(x[0]), np.asarray(xy[1]))
    np.testing.assert_array_equal(np.asarray(x[1]), np.full((2, 2), 7.0))
    np.testing.assert_allclose(np.asarray(s), [0.3, 0.4])
    c, _, s = imitation.select_episodes(proxy, infeasible, cells, xy, _elite([0.2]))
    np.testing.assert_array_equal(np.asarray(c), [[100, 101, 102]])
    c, _, s = imitation.select_episodes(proxy, infeasible, cells, xy, _elite([0.3]))
    np.testing.assert_array_equal(np.asarray(c), [[3, 4, 5]])
    # all infeasible and an empty elite: nothing to imitate (proxy inf)
    _, _, s = imitation.select_episodes(proxy, jnp.ones(3, bool), cells, xy,
                                        _elite([np.inf]))
    assert not np.isfinite(float(s[0]))


# 40-50 s (the elite is off by default): slow
@pytest.mark.slow
def test_update__elite_persists_and_never_worsens():
    """With imitation_elite the update carries the elite (one trace): its
    proxy never rises from one update to the next, it is at most the
    search's result of the update, and it is the exact proxy of the
    elite's own positions (soft macros fixed). With imitation_states
    "both" it also labels the sampled steps (at most 2 real steps per
    episode here) and reports both imitation losses."""
    assert ppo.elite_slots(PPOConfig()) == 0
    pr, cfg, update, ts = _elite_update("both")
    assert ppo.elite_slots(cfg) == 1
    assert not np.isfinite(float(ts.elite.proxy[0]))
    prev = np.inf
    for _ in range(4):
        ts, m = update(ts, pr)
        e = float(m["elite_proxy"])
        assert e <= prev + 1e-7 and e <= float(m["expert_after"]) + 1e-7
        prev = e
        assert 0.0 < float(m["state_steps"]) <= 2.0
        assert np.isfinite(float(m["state_imitation_loss"]))
        assert np.isfinite(float(m["imitation_loss"]))
    ep = pr.env_params
    exact = init_state(ep.cost, ts.elite.xy[0], ep.orient, W).proxy
    np.testing.assert_allclose(float(exact), float(ts.elite.proxy[0]), rtol=1e-5)


def test_update__elite_config_errors():
    """imitation_elite without the imitation loss, or a TrainState without
    an elite, is a PlacerInputError."""
    env, pr = two_macro_problem()
    net = small_net()
    bad = dataclasses.replace(PROBE_CFG, imitation_coef=0.0, imitation_elite=True)
    with pytest.raises(PlacerInputError, match="imitation_coef"):
        ppo.make_update(env, net, bad, ppo.make_optimizer(bad))
    bad = dataclasses.replace(PROBE_CFG, imitation_coef=0.0, imitation_states="both")
    with pytest.raises(PlacerInputError, match="imitation_coef"):
        ppo.make_update(env, net, bad, ppo.make_optimizer(bad))
    bad = dataclasses.replace(PROBE_CFG, imitation_coef=1.0, imitation_states="replay")
    with pytest.raises(PlacerInputError, match="imitation_states"):
        ppo.make_update(env, net, bad, ppo.make_optimizer(bad))
    cfg = dataclasses.replace(PROBE_CFG, num_envs=4, imitation_coef=1.0,
                              imitation_elite=True)
    opt = ppo.make_optimizer(cfg)
    ts = ppo.init_train_state(env, net, pr, jax.random.PRNGKey(0), opt)
    with pytest.raises(PlacerInputError, match="elite"):
        jax.jit(ppo.make_update(env, net, cfg, opt))(ts, pr)


@pytest.mark.slow
def test_ppo_loss__state_imitation_term():
    """A minibatch with labels (imitation_states sampled / both) adds exactly
    imitation_coef x the weighted cross-entropy of the policy's logits
    towards the labels; without labels the loss is PPO's alone."""
    env, pr = two_macro_problem()
    cfg = dataclasses.replace(PROBE_CFG, num_envs=2, imitation_coef=0.7)
    net = small_net()
    params = ppo.init_fn(env.spec, net)(jax.random.PRNGKey(0), pr)
    traj, _ = jax.jit(jax.vmap(lambda k: ppo.rollout(env, net, params, pr, k)))(
        jax.random.split(jax.random.PRNGKey(1), 2))
    flat = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), traj)
    n = flat.action.shape[0]
    adv, ret = jnp.linspace(-1.0, 1.0, n), jnp.zeros(n)
    target = jnp.full((n,), 5, jnp.int32)
    tw = flat.valid.astype(jnp.float32) * jnp.asarray([1.0, 0.0] * (n // 2))
    base, _ = ppo.ppo_loss(net, params, pr, flat, adv, ret, cfg)
    with_t, m = ppo.ppo_loss(net, params, pr,
                             flat.replace(target=target, target_weight=tw),
                             adv, ret, cfg)
    # vmapped, not jitted: the per-observation network reads the padded
    # graph's sizes on the host (jraph's padding mask), concrete only here
    logits = jax.vmap(
        lambda o, w: ppo.apply_policy(net, params, pr, o, w)[0])(flat.obs, flat.wire)
    ce = imitation.imitation_loss(logits, flat.obs.action_mask, target, tw)
    np.testing.assert_allclose(float(m["state_imitation_loss"]), float(ce), rtol=1e-5)
    np.testing.assert_allclose(float(with_t), float(base) + 0.7 * float(ce),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("states", ["sampled", "both"])
def test_update__state_labels_trace_once(states):
    """imitation_states sampled / both: the update labels the sampled steps
    (at most 2 real steps per episode here), reports the state loss, and
    reuses one trace; only "both" also replays the improved episode."""
    pr, cfg, update, ts = _elite_update(states)
    for _ in range(2):
        ts, m = update(ts, pr)
        assert 0.0 < float(m["state_steps"]) <= 2.0
        assert np.isfinite(float(m["state_imitation_loss"]))
        assert ("expert_steps" in m) == (states == "both")
    assert ("expert_steps" in m) == (states == "both")


def test_anneal_cells__probe_reaches_the_best_cell_and_scores_it_exactly():
    """The probe's macro at cell 10 (row 2, col 2) is 2 + 2 cell steps from
    the best cell 0 next to the port (test_signal's descent test). A chain
    of 200 proposals at a temperature so low that only improvements pass
    (1e-9) ends there; the cost it reports for its cells is the exact proxy
    of a fresh evaluation. A chain hot enough to accept almost anything
    (T = 10) still returns a placement no worse than its start: the best it
    visited."""
    env, ep, mv, cells, xy = probe_episode(10)
    run = jax.jit(lambda c, k, t: imitation.anneal_cells(
        env.spec, ep, mv, c, xy, k, 200, 2, t))
    new, info = run(cells, jax.random.PRNGKey(0), 1e-9)
    assert int(new[0]) == 0
    # wirelength alone falls by 0.5 (test_signal: 0.625 -> 0.125)
    assert float(info["before"]) - float(info["after"]) >= 0.5 - 1e-5
    fresh = init_state(ep.cost, info["xy"], ep.orient, env.spec.weights).proxy
    np.testing.assert_allclose(float(info["after"]), float(fresh), atol=1e-6)
    want_xy = env.place(env.reset(ep)[0], new[0], ep)[0].xy[ep.order[0]]
    np.testing.assert_allclose(info["xy"][ep.order[0]], want_xy, atol=1e-6)
    for seed in range(3):
        _, hot = run(cells, jax.random.PRNGKey(seed), 10.0)
        assert float(hot["after"]) <= float(hot["before"]) + 1e-7


@pytest.mark.slow   # compiles an update of its own (the elite's traces once by default)
def test_update__anneal_search_keeps_an_elite_and_traces_once():
    """imitation_search="anneal" inside the update: the elite never gets
    worse from update to update, the search never worsens the episodes it
    starts from, and the update reuses one trace."""
    pr, _, update, ts = _elite_update(imitation_search="anneal",
                                      imitation_anneal_steps=50)
    last = np.inf
    for _ in range(3):
        ts, m = update(ts, pr)
        assert float(m["expert_after"]) <= float(m["expert_before"]) + 1e-6
        assert float(m["elite_proxy"]) <= last + 1e-6
        last = float(m["elite_proxy"])
    assert np.isfinite(last)


def test_update__imitation_search_config_errors():
    """An unknown search, or an anneal without proposals or temperature, is a
    PlacerInputError where the update is built."""
    env, _ = two_macro_problem()
    net = small_net()
    for over, match in (({"imitation_search": "tabu"}, "imitation_search"),
                        ({"imitation_search": "anneal", "imitation_anneal_steps": 0},
                         "imitation_anneal_steps"),
                        ({"imitation_search": "anneal", "imitation_anneal_temp": 0.0},
                         "imitation_anneal_temp")):
        bad = dataclasses.replace(PROBE_CFG, imitation_coef=1.0, **over)
        with pytest.raises(PlacerInputError, match=match):
            ppo.make_update(env, net, bad, ppo.make_optimizer(bad))
