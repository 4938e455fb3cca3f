"""The heuristic prior of the conv head (model.wire_prior)."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from placer.config import PolicyConfig
from placer.rl import ppo
from placer.rl.networks import PRIOR_SCALE
from tests.rl.probe import probe_problem, small_net


def _probe_logits(wire_prior):
    env, problem = probe_problem()
    net = small_net(encoder_input="netlist", wire_mask=True, wire_prior=wire_prior)
    obs = jax.jit(env.reset)(problem.env_params)[1].observation
    params = jax.jit(lambda k, pr, o: net.init(k, pr.graph, pr.env_params.orient, o,
                                               ppo.wire_inputs(net, pr, o)))(
        jax.random.PRNGKey(0), problem, obs)
    logits, _ = jax.jit(lambda p, pr, o: ppo.apply_policy(net, p, pr, o))(
        params, problem, obs)
    return params, np.asarray(logits)


def test_untrained_prior__is_the_softened_wire_mask_heuristic():
    """On the probe (one 1 x 1 macro, its net's other pin a port at the
    canvas corner (0, 0), 4 x 4 grid of unit cells) placing the macro at
    cell (r, c) makes the net's HPWL (c + 0.5) + (r + 0.5) = r + c + 1:
    from 1 at cell 0 to 7 at cell 15, so the wire mask's shape channel is
    (r + c) / 6. With wire_prior 6 and the logits layer at zero the logits
    are -6 (r + c) / 6 = -(r + c), and the best cell's probability is
    1 / (1 + e^-1 + e^-2 + e^-3)^2 = 1 / (1 + 0.36788 + 0.13534 + 0.04979)^2
    = 1 / 1.55301^2 = 1 / 2.41184 = 0.41462."""
    params, logits = _probe_logits(6.0)
    assert float(params["params"]["policy_head"][PRIOR_SCALE]) == 6.0
    r, c = np.divmod(np.arange(16), 4)
    np.testing.assert_allclose(logits, -(r + c), atol=1e-5)
    p = jax.nn.softmax(logits)
    np.testing.assert_allclose(p[0], 0.41462, atol=1e-5)
    assert int(np.argmax(logits)) == 0          # greedy decoding: the heuristic's cell


def test_no_prior__no_scale_parameter():
    """wire_prior 0 builds the head as before (checkpoints load unchanged)."""
    params, _ = _probe_logits(0.0)
    assert PRIOR_SCALE not in params["params"]["policy_head"]


def test_prior_needs_the_wire_mask():
    with pytest.raises(ValueError, match="wire_prior needs"):
        PolicyConfig(wire_mask=False, wire_prior=1.0)
    with pytest.raises(ValueError, match=">= 0"):
        PolicyConfig(wire_prior=-1.0)
