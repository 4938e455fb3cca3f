"""placer.models.conv: patch-matmul convolutions equal flax's Conv and
ConvTranspose (SAME), values, initialisation and gradients."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from placer.models.conv import Conv, dilate_hw, patches, transpose_padding
from placer.models.gnn import KERNEL_INIT

CASES = [((3, 3), 0), ((1, 1), 0), ((2, 2), 0), ((3, 3), 1), ((3, 3), 2), ((2, 2), 2)]


def _flax(ks, stride):
    if stride:
        return nn.ConvTranspose(4, ks, strides=(stride, stride), padding="SAME",
                                kernel_init=KERNEL_INIT)
    return nn.Conv(4, ks, padding="SAME", kernel_init=KERNEL_INIT)


@pytest.mark.parametrize("shape", [(5, 7, 3), (2, 6, 5, 3)])
@pytest.mark.parametrize("ks,stride", CASES)
def test_conv__equals_flax(shape, ks, stride):
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, shape)
    ref, mine = _flax(ks, stride), Conv(4, ks, transpose_stride=stride,
                                        kernel_init=KERNEL_INIT)
    p_ref, p_mine = ref.init(key, x), mine.init(key, x)
    # Same names, shapes and initial values: flax checkpoints load unchanged.
    jax.tree.map(np.testing.assert_array_equal, p_ref, p_mine)
    p = jax.tree.map(lambda a: a + jax.random.normal(key, a.shape), p_ref)
    np.testing.assert_allclose(mine.apply(p, x), ref.apply(p, x), atol=1e-5)
    loss = lambda m: lambda p, x: jnp.sum(jnp.sin(m.apply(p, x)))  # noqa: E731
    g_ref = jax.grad(loss(ref), argnums=(0, 1))(p, x)
    g_mine = jax.grad(loss(mine), argnums=(0, 1))(p, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4),
                 g_ref, g_mine)


def test_conv__impulse_gives_flipped_kernel():
    # SAME cross-correlation: y[i, j] = sum_ab x[i + a - 1, j + b - 1] K[a, b].
    # With x the unit impulse at (1, 1) of a 3 x 3 map, y[i, j] = K[2 - i, 2 - j]:
    # K = [[1,2,3],[4,5,6],[7,8,9]] gives y = [[9,8,7],[6,5,4],[3,2,1]].
    k = jnp.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    x = jnp.zeros((3, 3, 1)).at[1, 1, 0].set(1.0)
    y = Conv(1, (3, 3), use_bias=False).apply({"params": {"kernel": k}}, x)
    np.testing.assert_array_equal(y[..., 0], [[9, 8, 7], [6, 5, 4], [3, 2, 1]])


def test_conv__transpose_of_one_cell():
    # Stride 2, kernel 3: padding (2, 1) of the 1 x 1 input v = 2 gives a 4 x 4
    # map with v at (2, 2); its VALID 3 x 3 correlation is y[i, j] =
    # v K[2 - i, 2 - j] for i, j in {0, 1}: 2 x [[9, 8], [6, 5]] = [[18, 16], [12, 10]].
    assert transpose_padding(3, 2) == (2, 1)
    k = jnp.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    x = jnp.full((1, 1, 1), 2.0)
    y = Conv(1, (3, 3), transpose_stride=2, use_bias=False).apply(
        {"params": {"kernel": k}}, x)
    np.testing.assert_array_equal(y[..., 0], [[18, 16], [12, 10]])


def test_patches_and_dilation():
    x = jnp.arange(12.0).reshape(3, 4, 1)
    p = patches(x, 2, 2)                       # windows of a VALID 2 x 2 conv
    assert p.shape == (2, 3, 4)
    np.testing.assert_array_equal(p[0, 0], [0, 1, 4, 5])   # rows 0-1, cols 0-1
    d = dilate_hw(jnp.ones((2, 2, 1)), 2)
    np.testing.assert_array_equal(d[..., 0], [[1, 0, 1], [0, 0, 0], [1, 0, 1]])


def test_conv__gradient_in_scan_equals_outside():
    # The reason for the module: it is used inside PPO's minibatch scan.
    key = jax.random.PRNGKey(1)
    x = jax.random.normal(key, (2, 6, 5, 3))
    m = Conv(4, (3, 3))
    p = m.init(key, x)
    g = jax.grad(lambda p: jnp.sum(m.apply(p, x) ** 2))
    scanned, _ = jax.lax.scan(lambda c, _: (g(p), None), g(p), None, length=2)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5),
                 scanned, g(p))
