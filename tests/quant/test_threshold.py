"""Threshold updates: gradient normalisation and oscillation freezing."""

import jax.numpy as jnp
import numpy as np

from placer.quant import threshold as th
from placer.quant.fake import exponent_of_threshold


def test_normalised_step__size_independent_of_gradient_scale():
    # first step: v = 0.01 g^2, v_hat = v / (1 - 0.99) = g^2: t moves by lr sign(g)
    for g in (1e-6, 1.0, 1e6):
        t = jnp.float32(2.3)
        t1, _ = th.step(t, jnp.float32(g), th.init_state(t, 8), 8, lr=0.01)
        np.testing.assert_allclose(t1, 2.29, rtol=1e-6)
    t1, _ = th.step(t, jnp.float32(-50.0), th.init_state(t, 8), 8, lr=0.01,
                    normalise=False)
    np.testing.assert_allclose(t1, 2.8, rtol=1e-6)            # plain SGD


def test_oscillating_threshold__is_frozen_after_k_flips():
    # t starts at 0.95 (e = ceil - 7 = -6 with 8 bits); gradients of alternating
    # sign push it across the boundary at 1.0 and back: each crossing after the
    # first reverses the direction of the exponent's change (a flip).
    bits, t = 8, jnp.float32(0.95)
    state = th.init_state(t, bits)
    es, frozen_at = [], None
    for i in range(12):
        g = jnp.float32(-1.0 if i % 2 == 0 else 1.0)        # up, down, up, ...
        t, state = th.step(t, g, state, bits, lr=0.1, freeze_after=3)
        es.append(int(exponent_of_threshold(t, bits)))
        if bool(state.frozen) and frozen_at is None:
            frozen_at = i
    # e: -5, -6, -5, -6 ...: flips at the 2nd, 3rd, 4th step -> frozen at i = 3
    assert es[:3] == [-5, -6, -5]
    assert frozen_at == 3 and int(state.flips) == 3
    assert len(set(es[frozen_at:])) == 1                    # no more changes
    # frozen in the middle of an exponent's interval
    assert float(t) % 1.0 == 0.5


def test_monotone_threshold__is_never_frozen():
    bits, t = 4, jnp.float32(0.5)
    state = th.init_state(t, bits)
    for _ in range(30):
        t, state = th.step(t, jnp.float32(1.0), state, bits, lr=0.3, freeze_after=2)
    assert not bool(state.frozen) and int(state.flips) == 0
    assert float(t) < -7.0
