"""PPO: the formulas (known answers), the network, the probe and tracing."""

import time

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placer.config import PolicyConfig, PPOConfig, RewardModelConfig
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.reward_model.model import RewardPredictor, init_params
from placer.rl import ppo
from placer.rl.networks import (
    MASKED_LOGIT,
    DeconvHead,
    masked_entropy,
    wire_features,
    with_encoder,
)
from placer.rl.parallel import compiled
from tests.rl.probe import (
    BEST_CELL,
    PROBE_CFG,
    SMALL,
    probe_netlist,
    probe_problem,
    small_net,
)


def test_compute_gae__three_step_known_answer():
    """GAE on r = (0, 0, 1), V = (0.5, 0.6, 0.7), end after step 2, gamma 1,
    lambda 0.5."""
    # t=2: delta = 1 - 0.7 = 0.3;          A2 = 0.3
    # t=1: delta = 0 + 0.7 - 0.6 = 0.1;    A1 = 0.1 + 0.5 * 0.3 = 0.25
    # t=0: delta = 0 + 0.6 - 0.5 = 0.1;    A0 = 0.1 + 0.5 * 0.25 = 0.225
    adv, ret = ppo.compute_gae(jnp.array([0.0, 0.0, 1.0]), jnp.array([0.5, 0.6, 0.7]),
                               jnp.array([False, False, True]), 1.0, 0.5)
    np.testing.assert_allclose(adv, [0.225, 0.25, 0.3], atol=1e-6)
    np.testing.assert_allclose(ret, [0.725, 0.85, 1.0], atol=1e-6)


def test_compute_gae__episode_end_cuts_bootstrap():
    """An end after step 0 stops step 1's value and advantage flowing back."""
    # t=1: delta = 2 - 1 = 1, A1 = 1;  t=0 (last): delta = 1 - 0.5 = 0.5, A0 = 0.5
    adv, _ = ppo.compute_gae(jnp.array([1.0, 2.0]), jnp.array([0.5, 1.0]),
                             jnp.array([True, True]), 1.0, 1.0)
    np.testing.assert_allclose(adv, [0.5, 1.0], atol=1e-6)


def test_clipped_surrogate__known_answer():
    """ratio 1.5 with A = 1 clips to 1.2; with A = -1 the unclipped -1.5 is
    the minimum, so the loss is 1.5; ratio 0.5 with A = 1 is not clipped."""
    ratio, adv = jnp.array([1.5, 1.5, 0.5]), jnp.array([1.0, -1.0, 1.0])
    loss = ppo.clipped_surrogate(ratio, adv, 0.2)
    np.testing.assert_allclose(loss, [-1.2, 1.5, -0.5], atol=1e-6)


def test_reward_stats__match_pooled_moments():
    """Two merged batches give the pooled mean and variance."""
    a, b = jnp.array([1.0, 2.0, 3.0]), jnp.array([10.0, 20.0])
    s = ppo.RewardStats(mean=jnp.zeros(()), var=jnp.zeros(()), count=jnp.zeros(()))
    s = ppo.update_reward_stats(ppo.update_reward_stats(s, a), b)
    pooled = np.array([1.0, 2.0, 3.0, 10.0, 20.0])
    np.testing.assert_allclose(s.mean, pooled.mean(), rtol=1e-6)
    np.testing.assert_allclose(s.var, pooled.var(), rtol=1e-6)


def test_masked_entropy__uniform_over_legal_cells():
    """Two legal cells of equal logit: entropy log 2; none legal: 0."""
    mask = jnp.array([True, False, True, False])
    logits = jnp.where(mask, 0.0, MASKED_LOGIT)
    np.testing.assert_allclose(masked_entropy(logits, mask), np.log(2.0), atol=1e-6)
    none = jnp.zeros(4, bool)
    assert float(masked_entropy(jnp.full(4, MASKED_LOGIT), none)) == 0.0


def _probe_obs():
    env, problem = probe_problem()
    _, ts = jax.jit(env.reset)(problem.env_params)
    return env, problem, ts.observation


# Jitted once (the network is a static argument): faster than op-by-op on CPU,
# and tests with equal networks share the compilation.
_INIT = jax.jit(lambda key, pr, obs, net: net.init(key, pr.graph, pr.env_params.orient,
                                                   obs, ppo.wire_inputs(net, pr, obs)),
                static_argnums=3)
_APPLY = jax.jit(lambda params, pr, obs, net: ppo.apply_policy(net, params, pr, obs),
                 static_argnums=3)


def _init(net, problem, obs, seed=0):
    return _INIT(jax.random.PRNGKey(seed), problem, obs, net)


def _apply(net, params, problem, obs):
    return _APPLY(params, problem, obs, net)


def _reward_model_params(hidden, seed=1, edge_distance=SMALL.edge_distance):
    rm = RewardPredictor(RewardModelConfig(hidden=hidden, num_layers=1, mlp_layers=1,
                                           edge_distance=edge_distance))
    init = jax.jit(lambda k, g: init_params(rm, k, g))
    return init(jax.random.PRNGKey(seed), netlist_graph(probe_netlist()))


def test_policy_value__masks_illegal_cells():
    """Cells outside the action mask get MASKED_LOGIT; legal ones do not."""
    env, problem, obs = _probe_obs()
    net = small_net()
    mask = jnp.arange(16) % 3 == 0
    obs = obs.replace(action_mask=mask)
    logits, value = _apply(net, _init(net, problem, obs), problem, obs)
    assert logits.shape == (16,) and value.shape == ()
    assert np.all(np.asarray(logits)[~np.asarray(mask)] == MASKED_LOGIT)
    assert np.all(np.asarray(logits)[np.asarray(mask)] > MASKED_LOGIT / 2)


def test_wire_features__probe_known_answer():
    """The probe: a net of weight 1 from the port at (0, 0) to the 1 x 1
    macro on a 4 x 4 canvas and grid. At cell (r, c) the macro's centre is
    (c + 0.5, r + 0.5), so the HPWL it adds is inc = r + c + 1: lo = 1 at
    (0, 0), hi = 7 at (3, 3). shape = (inc - lo) / (hi - lo) = (r + c) / 6;
    cost = (inc - lo) / ((W + H) * sum w) * M = (r + c) / (8 * 1) * 1.
    With cell (0, 0) masked out, lo = 2 and hi = 7 over the legal cells:
    shape = (r + c - 1) / 5, cost = (r + c - 1) / 8, and 0 on cell (0, 0)."""
    env, problem, obs = _probe_obs()
    rc = np.add.outer(np.arange(4), np.arange(4)).reshape(-1).astype(float)
    f = np.asarray(jax.jit(wire_features, static_argnums=(2, 3))(
        problem.env_params, obs, 4, 4))
    assert f.shape == (16, 2)
    np.testing.assert_allclose(f[:, 0], rc / 6, atol=1e-6)
    np.testing.assert_allclose(f[:, 1], rc / 8, atol=1e-6)
    masked = obs.replace(action_mask=jnp.arange(16) != 0)
    g = np.asarray(jax.jit(wire_features, static_argnums=(2, 3))(
        problem.env_params, masked, 4, 4))
    want = np.where(np.arange(16) != 0, rc - 1, 0.0)
    np.testing.assert_allclose(g[:, 0], want / 5, atol=1e-6)
    np.testing.assert_allclose(g[:, 1], want / 8, atol=1e-6)


@pytest.mark.slow
def test_rollout__keeps_the_wire_channels_the_policy_saw():
    """A wire-mask rollout stores each step's wire-mask channels (the probe's
    first step: shape (r + c) / 6 and cost (r + c) / 8, as in the known
    answer above), the loss on the stored channels equals the loss that
    computes them again, and a network without the mask stores none."""
    env, problem, obs = _probe_obs()
    rc = np.add.outer(np.arange(4), np.arange(4)).reshape(-1).astype(float)
    net = small_net(wire_mask=True)
    params = _init(net, problem, obs)
    traj, _ = jax.jit(lambda p, pr, k: ppo.rollout(env, net, p, pr, k))(
        params, problem, jax.random.PRNGKey(0))
    assert traj.wire.shape == (traj.action.shape[0], 16, 2)    # (T, R * C, 2)
    np.testing.assert_allclose(traj.wire[0, :, 0], rc / 6, atol=1e-6)
    np.testing.assert_allclose(traj.wire[0, :, 1], rc / 8, atol=1e-6)
    t = traj.action.shape[0]
    adv, ret = jnp.linspace(-1.0, 1.0, t), jnp.full(t, -0.5)
    loss = jax.jit(lambda pr, b: ppo.ppo_loss(net, params, pr, b, adv, ret,
                                              PPOConfig())[0])
    np.testing.assert_allclose(loss(problem, traj),
                               loss(problem, traj.replace(wire=None)), rtol=1e-6)
    plain = small_net(wire_mask=False)
    traj, _ = jax.jit(lambda p, pr, k: ppo.rollout(env, plain, p, pr, k))(
        _init(plain, problem, obs), problem, jax.random.PRNGKey(0))
    assert traj.wire is None


def test_wire_mask__needs_conv_head_and_features():
    """The wire mask with the deconv head fails at config time; a wire-mask
    network called without the features fails; old checkpoints' model
    metadata (no wire_mask key) load as networks without it."""
    from placer.rl.policy import model_config

    with pytest.raises(ValueError, match="wire_mask"):
        PolicyConfig(head="deconv")
    env, problem, obs = _probe_obs()
    net = small_net()
    params = _init(net, problem, obs)
    with pytest.raises(ValueError, match="wire"):
        net.apply(params, problem.graph, problem.env_params.orient, obs)
    assert model_config({"model": {"head": "conv"}}).wire_mask is False
    assert model_config({"model": {"head": "conv", "wire_mask": True}}).wire_mask


def test_deconv_head__odd_grid_is_cropped():
    """A 5 x 3 grid gives 15 logits (the 8 x 4 deconvolution map is cropped)."""
    head = DeconvHead(5, 3, (8,))
    h = jnp.ones(12)
    params = jax.jit(head.init)(jax.random.PRNGKey(0), h)
    assert params["params"]["project"]["kernel"].shape == (12, 3 * 2 * 8)
    assert jax.jit(head.apply)(params, h).shape == (15,)


def test_policy_value__reward_model_encoder_drops_in():
    """The reward predictor's encoder sub-tree replaces the policy's exactly,
    and a mismatched one is refused."""
    env, problem, obs = _probe_obs()
    params = _init(small_net(), problem, obs)
    rm_params = _reward_model_params(hidden=16)
    new = with_encoder(params, rm_params["params"]["encoder"])
    for a, b in zip(jax.tree.leaves(new["params"]["encoder"]),
                    jax.tree.leaves(rm_params["params"]["encoder"]), strict=True):
        np.testing.assert_array_equal(a, b)
    big = _reward_model_params(hidden=32)
    with pytest.raises(PlacerInputError):
        with_encoder(params, big["params"]["encoder"])
    other = _reward_model_params(hidden=16, edge_distance=not SMALL.edge_distance)
    with pytest.raises(PlacerInputError):
        with_encoder(params, other["params"]["encoder"])


def test_policy_value__frozen_encoder_gets_no_gradient():
    """With freeze_encoder the encoder's gradients are zero, the heads' not."""
    env, problem, obs = _probe_obs()
    net = small_net(freeze_encoder=True)
    params = _init(net, problem, obs)

    def f(p, pr, o):
        logits, value = ppo.apply_policy(net, p, pr, o)
        return jax.nn.log_softmax(logits)[3] + value

    g = jax.jit(jax.grad(f))(params, problem, obs)["params"]
    assert all(float(jnp.abs(x).max()) == 0.0 for x in jax.tree.leaves(g["encoder"]))
    assert float(jnp.abs(g["policy_head"]["logits"]["kernel"]).max()) > 0.0


@pytest.mark.slow   # compiles an update of its own
def test_update__frozen_encoder_stays_and_is_encoded_once():
    """With freeze_encoder (stored maps) the update encodes the netlist once
    (networks.encode_netlist, outside the minibatches), trains the heads and
    leaves the encoder exactly as it was; HeadTables built from that one
    encoding equal those that encode themselves. One trace."""
    from placer.rl.networks import encode_netlist, head_tables, stores_maps

    env, problem = probe_problem()
    net = small_net(freeze_encoder=True)
    assert stores_maps(net) and PROBE_CFG.stored_maps
    opt = ppo.make_optimizer(PROBE_CFG)
    ts = ppo.init_train_state(env, net, problem, jax.random.PRNGKey(1), opt)
    enc = encode_netlist(net, ts.params, problem.graph)
    a = head_tables(net, ts.params, problem.graph, problem.env_params, enc)
    b = head_tables(net, ts.params, problem.graph, problem.env_params)
    chex.assert_trees_all_close(a, b, atol=0, rtol=0)
    chex.clear_trace_counter()
    update = jax.jit(chex.assert_max_traces(
        ppo.make_update(env, net, PROBE_CFG, opt), n=1))
    new = ts
    for _ in range(2):
        new, _ = update(new, problem)
    before, after = ts.params["params"], new.params["params"]
    chex.assert_trees_all_equal(before["encoder"], after["encoder"])
    assert not np.array_equal(before["policy_head"]["logits"]["kernel"],
                              after["policy_head"]["logits"]["kernel"])


def _probe_update(**kw):
    """The probe's env, problem, network (kw: PolicyConfig overrides) and
    jitted functions (shared, through ppo.compiled, with the training-loop
    tests)."""
    env, problem = probe_problem()
    net = small_net(**kw)
    env, opt, update, evaluate = compiled(env.spec, net, PROBE_CFG)
    return {"env": env, "problem": problem, "net": net, "opt": opt,
            "update": update, "evaluate": evaluate}


# without the wire mask: its own compilation and the slower learner (slow);
# with it (the default network, shared with the other tests): the fast variant
@pytest.mark.parametrize("wire_mask", [pytest.param(False, marks=pytest.mark.slow),
                                       True])
def test_ppo__probe_learns_best_cell(wire_mask):
    """PPO finds the single best cell of the probe in 20 updates (a few
    seconds after compilation): the greedy action becomes it and the sampled
    episodes all take it. Without the wire mask the network sees nothing
    that marks the cell: it learns from the reward alone."""
    u = _probe_update(wire_mask=wire_mask)
    ts = ppo.init_train_state(u["env"], u["net"], u["problem"], jax.random.PRNGKey(0),
                              u["opt"])
    ts, m = u["update"](ts, u["problem"])        # compiles (shared, cached)
    jax.block_until_ready(m)
    t0 = time.perf_counter()
    for _ in range(19):
        ts, m = u["update"](ts, u["problem"])
    jax.block_until_ready(m)
    seconds = time.perf_counter() - t0           # about 3 s on one idle core
    out = u["evaluate"](ts.params, u["problem"])
    obs = u["env"].reset(u["problem"].env_params)[1].observation
    logits, _ = ppo.apply_policy(u["net"], ts.params, u["problem"], obs)
    assert int(jnp.argmax(logits)) == BEST_CELL
    np.testing.assert_allclose(float(out["reward"]), -0.7431928, atol=1e-5)
    np.testing.assert_allclose(float(m["episode_reward"]), -0.7431928, atol=1e-3)
    assert seconds < 30.0
    assert int(ts.step) == 20


def test_ppo__update_traces_once():
    """Repeated updates (and a second problem of the same shapes) reuse one
    trace."""
    u = _probe_update()
    chex.clear_trace_counter()
    update = jax.jit(chex.assert_max_traces(         # a retrace raises
        ppo.make_update(u["env"], u["net"], PROBE_CFG, u["opt"]), n=1))
    ts = ppo.init_train_state(u["env"], u["net"], u["problem"], jax.random.PRNGKey(3),
                              u["opt"])
    for _ in range(3):
        ts, _ = update(ts, u["problem"])
    other = u["problem"].replace(env_params=u["problem"].env_params.replace(
        init_xy=u["problem"].env_params.init_xy + 0.0))
    ts, _ = update(ts, other)
    assert int(ts.step) == 4


def test_make_update__rejects_unknown_reward_norm():
    """A misspelt reward_norm is a PlacerInputError."""
    env, problem = probe_problem()
    cfg = PPOConfig(reward_norm="runing")
    with pytest.raises(PlacerInputError):
        ppo.make_update(env, small_net(), cfg, ppo.make_optimizer(cfg))


def _three_macro_problem():
    """A port at the corner, a fixed hard macro, three movable hard macros of
    different sizes and a soft macro on a 5 x 4 grid (rows != cols), nets
    between them: enough for the stored maps to differ from step to step."""
    from placer.env.env import make_env
    from placer.stdcell.force_directed import FDSchedule
    from tests.cost.tiny import tiny_netlist

    nl = tiny_netlist(
        [("port", 0, 0, 0, 0), ("hard", 7.0, 9.0, 2, 2), ("hard", 4, 5, 3, 2),
         ("hard", 4, 5, 1, 1), ("hard", 4, 5, 2, 1), ("soft", 4, 5, 1, 1)],
        [(1.0, [0, 2]), (2.0, [2, 3, 5]), (1.0, [4, (1, 0.5, 0.5)]), (1.0, [3, 4])],
        canvas_width=8.0, canvas_height=10.0, grid_cols=4, grid_rows=5)
    nl.node_fixed[1] = True
    env, params = make_env(nl, fd_schedule=FDSchedule(num_steps=(1, 1, 1)))
    return env, ppo.Problem(params, netlist_graph(nl))


@pytest.mark.parametrize("wire_prior", [pytest.param(0.0, marks=pytest.mark.slow), 5.0])
def test_stored_maps__equal_the_per_observation_network(wire_prior):
    """The rollout from stored maps takes the same actions with the same
    log-probabilities and values as the per-observation network, the loss
    from its stored maps equals the per-observation loss, and so do their
    gradients (float summation order only). With the wire mask: every
    input map of the conv head is exercised; with the heuristic prior its
    scale and the zero-started logits layer too (perturbed, so that the
    convolutions reach the logits)."""
    env, problem = _three_macro_problem()
    net = small_net(5, 4, encoder_input="netlist", wire_mask=True,
                    wire_prior=wire_prior)
    obs = jax.jit(env.reset)(problem.env_params)[1].observation
    params = _init(net, problem, obs)
    if wire_prior:
        k = params["params"]["policy_head"]["logits"]["kernel"]
        assert not np.any(k)   # the untrained head is the prior alone
        params = jax.tree.map(lambda x: x, params)
        params["params"]["policy_head"]["logits"]["kernel"] = jnp.full_like(k, 0.3)
    roll = jax.jit(lambda p, pr, k, s: ppo.rollout(env, net, p, pr, k, stored=s),
                   static_argnums=3)
    new, _ = roll(params, problem, jax.random.PRNGKey(3), True)
    old, _ = roll(params, problem, jax.random.PRNGKey(3), False)
    assert old.maps is None and new.maps.shape == (new.action.shape[0], 20, 2)
    assert int(new.valid.sum()) == 3
    np.testing.assert_array_equal(new.action, old.action)
    np.testing.assert_allclose(new.log_prob, old.log_prob, atol=1e-5)
    np.testing.assert_allclose(new.value, old.value, atol=1e-5)
    t = new.action.shape[0]
    adv, ret = jnp.linspace(-1.0, 1.0, t), jnp.full(t, -0.5)
    grad = jax.jit(jax.grad(lambda p, pr, b: ppo.ppo_loss(net, p, pr, b, adv, ret,
                                                          PPOConfig())[0]))
    g_new, g_old = grad(params, problem, new), grad(params, problem, old)
    for a, b in zip(jax.tree.leaves(g_new), jax.tree.leaves(g_old), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=1e-4)


def test_ppo_temperature__rollout_and_loss_train_the_tempered_policy():
    """With ppo.temperature = T the rollout records log softmax(logits / T)
    of its action, and ppo_loss scores the same distribution: at the
    rollout's own parameters the ratio is 1 (approx_kl 0), and the entropy
    is that of logits / T. Scoring the T = 0.5 batch at T = 1 gives another
    distribution (approx_kl > 0)."""
    env, problem, obs = _probe_obs()
    net = small_net()
    params = _init(net, problem, obs, seed=2)
    logits, _ = _apply(net, params, problem, obs)
    t = 0.5
    traj, _ = jax.jit(lambda p, k: ppo.rollout(env, net, p, problem, k,
                                               temperature=t))(
        params, jax.random.PRNGKey(1))
    a = int(traj.action[0])
    want = float(jax.nn.log_softmax(logits / t)[a])
    np.testing.assert_allclose(float(traj.log_prob[0]), want, atol=1e-5)
    assert abs(want - float(jax.nn.log_softmax(logits)[a])) > 1e-3

    adv = jnp.zeros(traj.action.shape)
    ret = jnp.zeros(traj.action.shape)
    cold = PPOConfig(temperature=t, imitation_coef=0.0)
    _, m = ppo.ppo_loss(net, params, problem, traj, adv, ret, cold)
    np.testing.assert_allclose(float(m["approx_kl"]), 0.0, atol=1e-6)
    np.testing.assert_allclose(float(m["entropy"]),
                               float(masked_entropy(logits / t, obs.action_mask)),
                               rtol=1e-5)
    _, m1 = ppo.ppo_loss(net, params, problem, traj, adv, ret,
                         PPOConfig(imitation_coef=0.0))
    assert float(m1["approx_kl"]) > 1e-4
    np.testing.assert_allclose(float(m1["entropy"]),
                               float(masked_entropy(logits, obs.action_mask)),
                               rtol=1e-5)


def test_ppo_temperature__one_is_the_program_without_it_and_zero_is_refused():
    """tempered(x, 1) is x itself (no division in the program); a temperature
    <= 0 fails where the update is built."""
    x = jnp.arange(3.0)
    assert ppo.tempered(x, 1.0) is x
    np.testing.assert_allclose(ppo.tempered(x, 0.5), [0.0, 2.0, 4.0])
    env, _ = probe_problem()
    for bad in (0.0, -1.0):
        cfg = PPOConfig(temperature=bad)
        with pytest.raises(PlacerInputError, match="temperature"):
            ppo.make_update(env, small_net(), cfg, ppo.make_optimizer(cfg))
