"""The heuristic prior of the conv head (model.wire_prior)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from placer.config import PolicyConfig
from placer.rl import ppo
from placer.rl.networks import (
    PRIOR_LOG_RATE,
    PRIOR_LOG_SCALE,
    PRIOR_SCALE,
    prior_scale,
    with_log_prior,
)
from tests.rl.probe import probe_problem, small_net


def _probe_net(wire_prior, log=True):
    env, problem = probe_problem()
    net = small_net(encoder_input="netlist", wire_mask=True, wire_prior=wire_prior,
                    wire_prior_log=log)
    obs = jax.jit(env.reset)(problem.env_params)[1].observation
    apply = jax.jit(lambda p, pr, o: ppo.apply_policy(net, p, pr, o))
    return net, problem, obs, apply


def _probe_logits(wire_prior, log=True):
    net, problem, obs, apply = _probe_net(wire_prior, log)
    params = jax.jit(lambda k, pr, o: net.init(k, pr.graph, pr.env_params.orient, o,
                                               ppo.wire_inputs(net, pr, o)))(
        jax.random.PRNGKey(0), problem, obs)
    logits, _ = apply(params, problem, obs)
    return net, params, np.asarray(logits)


@pytest.mark.parametrize("log", [True, False])
def test_untrained_prior__is_the_softened_wire_mask_heuristic(log):
    """On the probe (one 1 x 1 macro, its net's other pin a port at the
    canvas corner (0, 0), 4 x 4 grid of unit cells) placing the macro at
    cell (r, c) makes the net's HPWL (c + 0.5) + (r + 0.5) = r + c + 1:
    from 1 at cell 0 to 7 at cell 15, so the wire mask's shape channel is
    (r + c) / 6. With wire_prior 6 and the logits layer at zero the logits
    are -6 (r + c) / 6 = -(r + c), and the best cell's probability is
    1 / (1 + e^-1 + e^-2 + e^-3)^2 = 1 / (1 + 0.36788 + 0.13534 + 0.04979)^2
    = 1 / 1.55301^2 = 1 / 2.41184 = 0.41462. The same with the scale
    learned in log space (u = 0) or as itself."""
    net, params, logits = _probe_logits(6.0, log)
    head = params["params"]["policy_head"]
    assert (PRIOR_LOG_SCALE in head) == log and (PRIOR_SCALE in head) != log
    assert float(prior_scale(net, params)) == 6.0
    r, c = np.divmod(np.arange(16), 4)
    np.testing.assert_allclose(logits, -(r + c), atol=1e-5)
    p = jax.nn.softmax(logits)
    np.testing.assert_allclose(p[0], 0.41462, atol=1e-5)
    assert int(np.argmax(logits)) == 0          # greedy decoding: the heuristic's cell


def test_no_prior__no_scale_parameter():
    """wire_prior 0 builds the head as before (checkpoints load unchanged)."""
    _, params, _ = _probe_logits(0.0)
    assert PRIOR_SCALE not in params["params"]["policy_head"]
    assert PRIOR_LOG_SCALE not in params["params"]["policy_head"]


def test_with_log_prior__same_function():
    """A linear-scale policy (scale 6, moved to 3.7, a non-zero logits layer)
    rewritten for the log space, u = log(3.7 / 6) / 10 = -0.048343 and the
    logits layer divided by 3.7, gives the same logits: 3.7 (conv / 3.7 -
    shape) = conv - 3.7 shape."""
    net_lin, params, _ = _probe_logits(6.0, log=False)
    head = params["params"]["policy_head"]
    head[PRIOR_SCALE] = jnp.float32(3.7)
    # a learned logits layer (the untrained one is zero)
    head["logits"]["kernel"] = jnp.linspace(-0.5, 0.5, head["logits"]["kernel"].size
                                            ).reshape(head["logits"]["kernel"].shape)
    head["logits"]["bias"] = jnp.full_like(head["logits"]["bias"], 0.25)
    net_log, problem, obs, apply_log = _probe_net(6.0, log=True)
    _, _, _, apply_lin = _probe_net(6.0, log=False)
    converted = with_log_prior(params, 6.0)
    u = float(converted["params"]["policy_head"][PRIOR_LOG_SCALE])
    np.testing.assert_allclose(u, np.log(3.7 / 6.0) / PRIOR_LOG_RATE, rtol=1e-6)
    np.testing.assert_allclose(u, -0.048343, atol=1e-6)
    np.testing.assert_allclose(np.asarray(apply_log(converted, problem, obs)[0]),
                               np.asarray(apply_lin(params, problem, obs)[0]),
                               rtol=1e-5, atol=1e-5)


def test_log_prior__adam_moves_the_scale_a_known_fraction():
    """Adam's first step is -lr g / (|g| + eps) = -lr sign(g) per parameter
    (eps 1e-8 negligible here). On the log scale u that multiplies the scale
    by exp(-+10 lr) = exp(-+0.003) at lr 3e-4, a 0.3 % change; on the linear
    scale it moves 6 by 3e-4, a 0.005 % change: 60 times less (at the
    shipped 50: 500 times less)."""
    lr = 3e-4
    moved = {}
    for log in (True, False):
        net, params, _ = _probe_logits(6.0, log)
        _, problem, obs, apply = _probe_net(6.0, log)

        def loss(p, apply=apply, problem=problem, obs=obs):
            return -jax.nn.log_softmax(apply(p, problem, obs)[0])[5]   # a bad cell

        opt = optax.adam(lr)
        g = jax.jit(jax.grad(loss))(params)
        upd, _ = opt.update(g, opt.init(params), params)
        new = optax.apply_updates(params, upd)
        moved[log] = float(prior_scale(net, new)) / 6.0 - 1.0
    # pulling towards cell 5 (r + c = 2, not the best) softens the prior
    np.testing.assert_allclose(moved[True], np.expm1(-PRIOR_LOG_RATE * lr), rtol=1e-3)
    np.testing.assert_allclose(moved[False], -lr / 6.0, rtol=1e-3)


def test_prior_needs_the_wire_mask():
    with pytest.raises(ValueError, match="wire_prior needs"):
        PolicyConfig(wire_mask=False, wire_prior=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        PolicyConfig(wire_prior=-1.0)
