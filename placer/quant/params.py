"""Quantizing a parameter pytree: which leaves, and the per-leaf maps.

Generic over the network: every leaf named ``kernel`` with ndim >= 2 (flax
Dense (in, out), Conv / ConvTranspose (kh, kw, in, out)) is quantized; biases
and every other leaf stay float. Per channel means per slice of the last axis
(the output features of Dense and of flax's convolutions). No module name is
assumed: a new head is quantized as soon as its kernels are in the tree.

Leaves are addressed by their path, the dict keys joined by "/" (for
instance "params/policy_head/project/kernel"); per-leaf state (exponents,
thresholds, oscillation counters) is a flat dict {path: array}.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

import placer.quant.fake as fake

KERNEL_NAME = "kernel"


def _key(k) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(k, attr):
            return str(getattr(k, attr))
    return str(k)


def path_str(path) -> str:
    """"a/b/kernel" for a jax tree path."""
    return "/".join(_key(k) for k in path)


def is_kernel(path, leaf) -> bool:
    """A quantized leaf: named ``kernel`` with ndim >= 2."""
    return bool(path) and _key(path[-1]) == KERNEL_NAME and jnp.ndim(leaf) >= 2


def kernel_paths(params: Any) -> list[str]:
    """Paths of the quantized leaves, in tree order."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return [path_str(p) for p, x in flat if is_kernel(p, x)]


def map_kernels(params: Any, fn: Callable[[str, jax.Array], Any]) -> Any:
    """``params`` with every kernel leaf w replaced by fn(path, w)."""
    return jax.tree_util.tree_map_with_path(
        lambda p, x: fn(path_str(p), x) if is_kernel(p, x) else x, params)


def kernels(params: Any) -> dict[str, jax.Array]:
    """{path: kernel}."""
    flat, _ = jax.tree_util.tree_flatten_with_path(params)
    return {path_str(p): x for p, x in flat if is_kernel(p, x)}


@functools.partial(jax.jit, static_argnums=(1, 2, 3))
def _exponents(params: Any, bits: int, method: str, per_channel: bool) -> dict:
    fn = {"msqe": fake.msqe_exponent, "max": fake.max_exponent}[method]
    return {p: fn(w, bits, per_channel) for p, w in kernels(params).items()}


def exponents(params: Any, bits: int, method: str = "msqe",
              per_channel: bool = False) -> dict[str, jax.Array]:
    """{path: int32 exponent} by ``method`` "msqe" or "max" (() per tensor,
    (C,) per channel); one jitted call for the whole tree."""
    return _exponents(params, int(bits), method, bool(per_channel))


@functools.partial(jax.jit, static_argnums=(2,))
def codes(params: Any, exps: dict[str, jax.Array], bits: int) -> dict[str, jax.Array]:
    """{path: int32 codes} of the kernels under the exponents ``exps``."""
    return {p: fake.codes_of(w, exps[p], bits) for p, w in kernels(params).items()}


@jax.jit
def dequantized(params: Any, codes_: dict[str, jax.Array],
                exps: dict[str, jax.Array]) -> Any:
    """``params`` with each kernel replaced by codes * 2^e exactly (float32)."""
    return map_kernels(params, lambda p, w: fake.dequantize(codes_[p], exps[p]))


def fake_quant_fixed(params: Any, exps: dict[str, jax.Array], bits: int) -> Any:
    """Kernels fake-quantized with the given exponents (straight-through
    gradient for the weights)."""
    return map_kernels(params, lambda p, w: fake.fake_quant(w, exps[p], bits))


def fake_quant_msqe(params: Any, bits: int, per_channel: bool = False) -> Any:
    """Kernels fake-quantized with their MSQE exponents, recomputed from the
    current weights (the exponent carries no gradient): MSQE-based QAT."""
    return map_kernels(params, lambda p, w: fake.fake_quant(
        w, fake.msqe_exponent(jax.lax.stop_gradient(w), bits, per_channel), bits))


def fake_quant_learned(params: Any, thresholds: dict[str, jax.Array],
                       bits: int) -> Any:
    """Kernels fake-quantized with learned log2 thresholds (TQT gradients for
    the weights and the thresholds)."""
    return map_kernels(params, lambda p, w: fake.tqt_quantize(w, thresholds[p], bits))


def initial_thresholds(params: Any, bits: int, per_channel: bool = False,
                       init: str = "msqe") -> dict[str, jax.Array]:
    """Log2 thresholds in the middle of the interval of the ``init``
    ("msqe" | "max") exponents."""
    return {p: fake.threshold_of_exponent(e, bits)
            for p, e in exponents(params, bits, init, per_channel).items()}


__all__ = ["KERNEL_NAME", "codes", "dequantized", "exponents", "fake_quant_fixed",
           "fake_quant_learned", "fake_quant_msqe", "initial_thresholds",
           "is_kernel", "kernel_paths", "kernels", "map_kernels", "path_str"]
