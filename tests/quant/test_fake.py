"""The power-of-two fake quantizers: codes, exponents, MSQE, TQT gradients."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placer.errors import PlacerInputError
from placer.quant import fake

BITS = (2, 4, 8)


def _w(shape=(6, 5), seed=0, scale=0.3):
    return scale * jax.random.normal(jax.random.PRNGKey(seed), shape)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("per_channel", [False, True])
def test_codes__in_symmetric_range_and_exponents_integer(bits, per_channel):
    w = _w() * jnp.arange(1, 6)          # channels of different scales
    for method in (fake.msqe_exponent, fake.max_exponent):
        e = method(w, bits, per_channel)
        assert e.dtype == jnp.int32
        assert e.shape == ((5,) if per_channel else ())
        c = fake.codes_of(w, e, bits)
        q = 2 ** (bits - 1) - 1
        assert c.dtype == jnp.int32
        assert int(jnp.max(jnp.abs(c))) <= q
        # dequantized weights are exactly codes * 2^e
        np.testing.assert_array_equal(
            np.asarray(fake.quantize(w, e, bits)),
            np.asarray(c, np.float64) * 2.0 ** np.asarray(e, np.float64))


@pytest.mark.parametrize("bits", BITS)
def test_quantize__odd_symmetric_and_idempotent(bits):
    # exact ties (x.5 codes) included: round half to even is odd too
    w = jnp.concatenate([_w((40,)), jnp.array([0.125, -0.125, 0.375, 2.5, -2.5])])
    e = fake.msqe_exponent(w, bits)
    np.testing.assert_array_equal(fake.quantize(-w, e, bits),
                                  -fake.quantize(w, e, bits))
    assert int(fake.msqe_exponent(-w, bits)) == int(e)
    wq = fake.quantize(w, e, bits)
    np.testing.assert_array_equal(fake.quantize(wq, e, bits), wq)
    # and re-calibrating the quantized tensor gives the same values
    e2 = fake.msqe_exponent(wq, bits)
    np.testing.assert_array_equal(fake.quantize(wq, e2, bits), wq)


def test_known_answer__4_bits():
    # b = 4: Q = 7. max|w| = 1.0: max-based e = ceil(log2(1 / 7)) = -2
    # (7 * 2^-2 = 1.75 >= 1 > 7 * 2^-3 = 0.875). At e = -2 the step is 0.25:
    # 0.3 -> round(1.2) = 1 -> 0.25, 1.0 -> 4 -> 1.0, -0.9 -> round(-3.6) = -4.
    # errors 0.05^2 + 0 + 0.1^2 = 0.0125; at e = -3 (step 0.125, clip 0.875):
    # 0.3 -> round(2.4) = 2 -> 0.25, 1.0 -> 7 (clipped) -> 0.875, -0.9 -> -7
    # errors 0.0025 + 0.015625 + 0.000625 = 0.01875 > 0.0125: MSQE keeps -2.
    w = jnp.array([0.3, 1.0, -0.9])
    assert int(fake.max_exponent(w, 4)) == -2
    assert int(fake.msqe_exponent(w, 4)) == -2
    np.testing.assert_array_equal(fake.codes_of(w, jnp.int32(-2), 4), [1, 4, -4])
    np.testing.assert_allclose(float(fake.quant_error(w, jnp.int32(-2), 4)) * 3,
                               0.0125, rtol=1e-6)
    np.testing.assert_allclose(float(fake.quant_error(w, jnp.int32(-3), 4)) * 3,
                               0.01875, rtol=1e-6)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("seed", range(2))
def test_msqe__beats_its_neighbours(bits, seed):
    w = _w((50,), seed=seed) * (1 + 3 * (jax.random.uniform(
        jax.random.PRNGKey(seed + 9), (50,)) > 0.95))
    e = fake.msqe_exponent(w, bits)
    err = fake.quant_error(w, e, bits)
    assert err <= fake.quant_error(w, e - 1, bits)
    assert err <= fake.quant_error(w, e + 1, bits)
    # and it is the least over every candidate
    cands = fake.msqe_candidates(w, bits)
    assert err <= min(float(fake.quant_error(w, c, bits)) for c in cands)


def test_outlier__msqe_clips_where_max_scaling_does_not():
    # 1001 weights evenly spaced in [-1, 1] and one outlier 3.0; 4 bits (Q = 7).
    # Max-based: e = ceil(log2(3 / 7)) = -1 (7 * 0.5 = 3.5 >= 3): step 0.5,
    # MSE ~ 0.5^2 / 12 = 0.0208. A finer step clips the outlier but resolves
    # the bulk: MSE 0.0068 at e = -2 (range +-1.75; the outlier alone adds
    # 1.25^2 / 1002 = 0.0016) and 0.0063 at e = -3 (range +-0.875, the bulk's
    # tails clipped too), the least; 0.066 at e = -4. MSQE clips at -3.
    w = jnp.concatenate([jnp.linspace(-1.0, 1.0, 1001), jnp.array([3.0])])
    e_max, e_msqe = fake.max_exponent(w, 4), fake.msqe_exponent(w, 4)
    assert int(e_max) == -1
    assert int(e_msqe) == -3
    assert float(jnp.max(fake.quantize(w, e_msqe, 4))) == 0.875      # clipped
    assert float(jnp.max(fake.quantize(w, e_max, 4))) == 3.0         # not clipped
    np.testing.assert_allclose(
        [float(fake.quant_error(w, jnp.int32(e), 4)) for e in (-1, -2, -3, -4)],
        [0.0208, 0.0068, 0.0063, 0.0662], atol=1e-4)
    assert fake.quant_error(w, e_msqe, 4) < fake.quant_error(w, e_max, 4)


def test_fake_quant__straight_through_gradient():
    w = jnp.array([0.1, -0.2, 5.0, -5.0, 0.0])
    # e = -3, 4 bits: range +-7 * 0.125 = +-0.875; the 5.0s are clipped
    g = jax.grad(lambda w: jnp.sum(fake.fake_quant(w, jnp.int32(-3), 4) * 2.0))(w)
    np.testing.assert_array_equal(g, [2.0, 2.0, 0.0, 0.0, 2.0])


def _surrogate(w, tau, w0, t0, bits):
    """TQT's straight-through surrogate around (w0, t0) (see placer.quant.fake):
    the exponent slides continuously, rounding residuals and clips are frozen."""
    q = 2 ** (bits - 1) - 1
    e0 = jnp.ceil(t0) - (bits - 1)
    x0 = w0 / 2.0 ** e0
    r0 = jnp.round(x0)
    s = 2.0 ** (tau + (jnp.ceil(t0) - t0) - (bits - 1))
    inside = jnp.abs(r0) <= q
    return jnp.where(inside, s * (w / s + r0 - x0), s * jnp.sign(r0) * q)


@pytest.mark.parametrize("bits,per_channel", [(3, False), (4, True), (8, False)])
def test_tqt__gradient_matches_finite_differences(bits, per_channel):
    jax.config.update("jax_enable_x64", True)
    try:
        w = _w((8, 3), seed=bits).astype(jnp.float64) * jnp.array([1.0, 2.0, 4.0])
        g_out = jax.random.normal(jax.random.PRNGKey(1), w.shape, jnp.float64)
        e = fake.max_exponent(w, bits, per_channel) - 1     # some weights clip
        t0 = fake.threshold_of_exponent(e, bits).astype(jnp.float64) + 0.2
        x = np.asarray(w / 2.0 ** (np.ceil(np.asarray(t0)) - (bits - 1)))
        assert np.min(np.abs(np.abs(x - np.floor(x)) - 0.5)) > 1e-3  # no ties
        assert np.any(np.abs(np.round(x)) > 2 ** (bits - 1) - 1)     # clipping
        loss = lambda w, t: jnp.sum(g_out * fake.tqt_quantize(w, t, bits))  # noqa: E731
        gw, gt = jax.grad(loss, argnums=(0, 1))(w, t0)
        assert gt.shape == t0.shape
        h = 1e-6
        sur = lambda w, tau: jnp.sum(g_out * _surrogate(w, tau, w, t0, bits))  # noqa: E731
        for i in range(int(np.size(t0))):
            d = jnp.zeros_like(t0).reshape(-1).at[i].set(h).reshape(t0.shape)
            fd = (sur(w, t0 + d) - sur(w, t0 - d)) / (2 * h)
            np.testing.assert_allclose(np.asarray(gt).reshape(-1)[i], fd, rtol=1e-6,
                                       atol=1e-9)
        for i, j in [(0, 0), (3, 1), (7, 2)]:
            sw = lambda v, i=i, j=j: jnp.sum(g_out * _surrogate(  # noqa: E731
                w.at[i, j].add(v), t0, w, t0, bits))
            fd = (sw(h) - sw(-h)) / (2 * h)
            np.testing.assert_allclose(gw[i, j], fd, rtol=1e-6, atol=1e-9)
        # the forward pass is the power-of-two quantizer of e(t)
        e_t = fake.exponent_of_threshold(t0, bits)
        np.testing.assert_array_equal(fake.tqt_quantize(w, t0, bits),
                                      fake.quantize(w, e_t, bits))
    finally:
        jax.config.update("jax_enable_x64", False)


def test_tqt__clipped_gradient_is_exact_derivative_of_continuous_scale():
    # Every weight clipped: q = +-Q 2^(t - (b-1)) with a continuous exponent,
    # d q / d t = ln2 q: TQT's gradient there needs no straight-through step.
    # b = 4, t = -0.5: e = ceil(-0.5) - 3 = -3, Q 2^-3 = 0.875; w = +-3.
    w = jnp.array([3.0, -3.0])
    weights = jnp.array([1.0, 2.0])
    gt = jax.grad(lambda t: jnp.sum(fake.tqt_quantize(w, t, 4) * weights))(
        jnp.float32(-0.5))
    # ln2 (1 * 0.875 + 2 * -0.875) = -0.875 ln2
    np.testing.assert_allclose(gt, -0.875 * np.log(2), rtol=1e-6)


@pytest.mark.parametrize("bits", [0, 1, 9, 3.5, "8", True])
def test_check_bits__rejects_bad_widths(bits):
    with pytest.raises(PlacerInputError):
        fake.check_bits(bits)
