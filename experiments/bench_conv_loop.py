"""Gradients of a 3 x 3 convolution at the top level of a jitted function
and inside a lax.scan, flax's nn.Conv (XLA's convolution op) against
placer.models.conv.Conv (patches and a matmul). Prints a markdown table of
medians.

    python experiments/bench_conv_loop.py [--batch 48] [--size 24] [--channels 64]
"""

from __future__ import annotations

import argparse

import flax.linen as nn
import jax
import jax.numpy as jnp
from _timing import median_seconds

from placer.models.conv import Conv, patches

LOOP = 8


class Bf16Conv(nn.Module):
    """placer's Conv with bfloat16 operands and float32 accumulation (the
    CPU has avx512_bf16): is the product faster at half the width?"""

    features: int

    @nn.compact
    def __call__(self, x):
        ci = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (3, 3, ci, self.features))
        x = jnp.pad(x, [(0, 0)] * (x.ndim - 3) + [(1, 1), (1, 1), (0, 0)])
        y = jnp.dot(patches(x, 3, 3).astype(jnp.bfloat16),
                    kernel.reshape(9 * ci, self.features).astype(jnp.bfloat16),
                    preferred_element_type=jnp.float32)
        return y + self.param("bias", nn.initializers.zeros_init(), (self.features,))


def _grads(m: nn.Module):
    """(gradient of a loss of m's output w.r.t. params and input, the same
    taken LOOP times in a lax.scan)."""
    grad = jax.grad(lambda p, x: jnp.sum(m.apply(p, x) ** 2), argnums=(0, 1))

    def scanned(p, x):
        def body(c, _):
            _, gx = grad(jax.tree.map(lambda a: a + 1e-9 * c, p), x)
            return c + jnp.sum(gx), None
        return jax.lax.scan(body, jnp.zeros(()), None, length=LOOP)[0]

    return grad, scanned


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=48)
    ap.add_argument("--size", type=int, default=24)
    ap.add_argument("--channels", type=int, default=64)
    a = ap.parse_args()
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (a.batch, a.size, a.size, a.channels))
    print(f"input {x.shape}, 32 output channels, {jax.devices()[0].platform}; "
          f"seconds per gradient (median of 3; the scan does {LOOP})")
    print("| module | grad at top level (s) | grad inside lax.scan (s per step) "
          "| ratio |")
    print("|---|---|---|---|")
    for name, m in (("flax nn.Conv", nn.Conv(32, (3, 3), padding="SAME")),
                    ("placer Conv", Conv(32, (3, 3))),
                    ("placer Conv, bfloat16 operands", Bf16Conv(32))):
        p = m.init(key, x)
        grad, scanned = _grads(m)
        top = median_seconds(jax.jit(grad), p, x, warmup=True)
        loop = median_seconds(jax.jit(scanned), p, x, warmup=True) / LOOP
        print(f"| {name} | {top:.3f} | {loop:.3f} | {loop / top:.1f} |")


if __name__ == "__main__":
    main()
