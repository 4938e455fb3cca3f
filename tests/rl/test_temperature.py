"""The rl method's sampling temperature (RLOptions.temperature): the logits
are divided by it before sampling, so a temperature near 0 samples the
greedy episode; one compiled program serves every temperature; a bad value
fails before any work."""

import os

import jax
import numpy as np
import pytest

import placer
from placer.config import RLOptions
from placer.env.env import make_env
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.rl import ppo
from placer.rl.policy import DEFAULT_POLICY, _episodes_fn, load_policy, net_for_grid
from placer.synth import synthetic_netlist

pytestmark = pytest.mark.skipif(not os.path.isdir(DEFAULT_POLICY),
                                reason="no policy checkpoint in placer/rl/checkpoint")


@pytest.fixture(scope="module")
def episodes():
    """The greedy and 4 sampled episodes of the shipped policy on a small
    design at T = 1e-4 and at T = 1 (one program, key 0), and the design."""
    nl = synthetic_netlist(5, num_hard=8, num_soft=24, num_ports=8)
    env, params = make_env(nl, soft="fd")
    pol = load_policy()
    net = net_for_grid(pol, env.spec.grid_rows, env.spec.grid_cols)
    run = _episodes_fn(env.spec, net, 4, True)
    problem = ppo.Problem(params, netlist_graph(nl))
    hard = np.flatnonzero(np.asarray(params.hard_on))
    hard = np.asarray(params.hard)[hard]
    out = {}
    for t in (1e-4, 1.0):
        o = jax.device_get(run(pol.params, problem, jax.random.PRNGKey(0),
                               np.float32(t)))
        out[t] = (np.asarray(o["xy"])[:, hard], np.asarray(o["proxy"]))
    assert run._cache_size() == 1          # both temperatures: one program
    return nl, hard, out


def test_temperature__near_zero_samples_the_greedy_episode(episodes):
    """At T = 1e-4 every sampled action is the argmax (a logit gap of 0.01
    becomes 100), so the 4 samples place the hard macros exactly as the
    greedy episode (index 0); at T = 1 the same keys do not."""
    _, _, out = episodes
    cold, warm = out[1e-4][0], out[1.0][0]
    for i in range(1, 5):
        np.testing.assert_array_equal(cold[i], cold[0])
    assert any(not np.array_equal(warm[i], warm[0]) for i in range(1, 5))


def test_temperature__place_passes_it_to_the_samples(episodes):
    """place(method="rl", samples=4, temperature=T) returns the best of the
    same 5 episodes: at 1e-4 the greedy placement, at 1 the least-cost one."""
    nl, hard, out = episodes
    for t in (1e-4, 1.0):
        xy = placer.place(nl, method="rl", samples=4, temperature=t, soft="fd",
                          seed=0).node_xy
        best = out[t][0][int(np.argmin(out[t][1]))]
        np.testing.assert_allclose(xy[hard], best, rtol=0, atol=1e-4)


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), True, "0.5"])
def test_temperature__bad_values_fail_at_once(bad):
    with pytest.raises(PlacerInputError, match="temperature"):
        RLOptions(temperature=bad)
