"""The rl method's sampling temperature (RLOptions.temperature): the logits
are divided by it before sampling, so a temperature near 0 samples the
greedy episode, and a bad value fails before any work."""

import numpy as np
import pytest

import placer
from placer.config import RLOptions
from placer.errors import PlacerInputError
from placer.rl.policy import DEFAULT_POLICY
from placer.synth import synthetic_netlist

pytestmark = pytest.mark.skipif(not __import__("os").path.isdir(DEFAULT_POLICY),
                                reason="no policy checkpoint in placer/rl/checkpoint")


@pytest.fixture(scope="module")
def nl():
    return synthetic_netlist(5, num_hard=8, num_soft=24, num_ports=8)


def _rl(nl, **kw):
    return placer.place(nl, method="rl", soft="fd", seed=0, **kw).node_xy


def test_temperature__near_zero_samples_the_greedy_episode(nl):
    """At T = 1e-4 every sampled action is the argmax (a logit gap of 0.01
    becomes 100 in the tempered logits), so 4 samples without the greedy
    episode place exactly as greedy decoding; at T = 1 the same 4 samples
    (same seed) do not, so the option is not ignored."""
    greedy = _rl(nl, samples=0, greedy=True)
    cold = _rl(nl, samples=4, greedy=False, temperature=1e-4)
    warm = _rl(nl, samples=4, greedy=False, temperature=1.0)
    np.testing.assert_array_equal(cold, greedy)
    assert not np.array_equal(warm, greedy)


@pytest.mark.parametrize("bad", [0, -0.5, float("nan"), True, "0.5"])
def test_temperature__bad_values_fail_at_once(bad):
    with pytest.raises(PlacerInputError, match="temperature"):
        RLOptions(temperature=bad)
