"""2-D convolutions written as patch extraction and one matrix product.

Why not ``flax.linen.Conv``: XLA's CPU backend runs the *gradients* of its
convolution op very slowly inside a loop (a ``lax.scan`` or ``while``): on
this project's machine the weight gradient of a 3 x 3 convolution over a
(48, 24, 24, 64) batch took 45 ms at the top level of a jitted function but
2.4 s per iteration inside a scan, and the input gradient 24 ms against
0.5 s (experiments/results_rl.md). PPO's minibatch steps are such a scan, so
the policy head's convolutions made one update ten times slower than its
parts. Here a convolution is built from pads, strided slices, a concatenation
and a ``dot``, whose gradients stay fast in loops.

The modules are drop-in replacements: the same parameter names and shapes
(``kernel`` (kh, kw, in, out), ``bias`` (out,)) and the same outputs as
``nn.Conv(padding="SAME")`` and ``nn.ConvTranspose(padding="SAME")`` (tests),
so checkpoints written with the flax modules load unchanged.

Dimensions: ... leading (batch) axes, H x W spatial, Ci / Co channels.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


def patches(x: jax.Array, kh: int, kw: int) -> jax.Array:
    """The (..., H', W', kh kw Ci) windows of ``x`` (..., H, W, Ci), unpadded
    (a VALID convolution's inputs; H' = H - kh + 1), channels innermost and
    the window row-major (the order of a flattened (kh, kw, Ci) kernel)."""
    h, w = x.shape[-3] - kh + 1, x.shape[-2] - kw + 1
    return jnp.concatenate([x[..., i:i + h, j:j + w, :]
                            for i in range(kh) for j in range(kw)], axis=-1)


def _pad_hw(x: jax.Array, rows: tuple[int, int], cols: tuple[int, int]) -> jax.Array:
    lead = [(0, 0)] * (x.ndim - 3)
    return jnp.pad(x, [*lead, rows, cols, (0, 0)])


def dilate_hw(x: jax.Array, stride: int) -> jax.Array:
    """``x`` (..., H, W, C) with stride - 1 zeros between neighbouring cells:
    (..., (H - 1) s + 1, (W - 1) s + 1, C) (a transposed convolution's input
    dilation)."""
    if stride == 1:
        return x
    h, w = x.shape[-3], x.shape[-2]
    out = jnp.zeros((*x.shape[:-3], (h - 1) * stride + 1, (w - 1) * stride + 1,
                     x.shape[-1]), x.dtype)
    return out.at[..., ::stride, ::stride, :].set(x)


def same_padding(k: int) -> tuple[int, int]:
    """Before / after padding of a stride-1 SAME convolution with kernel k
    (XLA's: the extra cell of an even kernel goes after)."""
    return (k - 1) // 2, k - 1 - (k - 1) // 2


def transpose_padding(k: int, s: int) -> tuple[int, int]:
    """Before / after padding of the dilated input of a SAME transposed
    convolution (kernel k, stride s), as ``lax.conv_transpose`` pads it, so
    that the output has s times the input's size."""
    total = k + s - 2
    before = k - 1 if s > k - 1 else -(-total // 2)
    return before, total - before


class Conv(nn.Module):
    """A SAME 2-D convolution (stride 1) or a SAME transposed convolution
    (``transpose_stride`` s > 0: the input dilated by s, so the output is s
    times larger), over inputs (..., H, W, Ci).

    Attributes:
        features: Co.
        kernel_size: (kh, kw).
        transpose_stride: 0 for a convolution, s >= 1 for a transposed
            convolution of stride s (flax's ConvTranspose with
            transpose_kernel=False: the kernel is not flipped).
        use_bias: add a learned bias.
        kernel_init, bias_init: as flax's.
    """

    features: int
    kernel_size: Sequence[int] = (3, 3)
    transpose_stride: int = 0
    use_bias: bool = True
    kernel_init: Callable = nn.initializers.lecun_normal()
    bias_init: Callable = nn.initializers.zeros_init()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        kh, kw = self.kernel_size
        ci = x.shape[-1]
        kernel = self.param("kernel", self.kernel_init, (kh, kw, ci, self.features))
        if self.transpose_stride:
            s = self.transpose_stride
            x = _pad_hw(dilate_hw(x, s), transpose_padding(kh, s),
                        transpose_padding(kw, s))
        else:
            x = _pad_hw(x, same_padding(kh), same_padding(kw))
        y = patches(x, kh, kw) @ kernel.reshape(kh * kw * ci, self.features)
        if self.use_bias:
            y = y + self.param("bias", self.bias_init, (self.features,))
        return y


__all__ = ["Conv", "dilate_hw", "patches", "same_padding", "transpose_padding"]
