"""Hardware-friendly fake quantizers: uniform, symmetric, power-of-two scales.

A weight tensor w is stored as integer codes and one integer exponent e per
tensor (or per output channel, the last axis):

    codes = clip(round(w / 2^e), -Q, Q),   Q = 2^(b-1) - 1
    w_q   = codes * 2^e                     (exact in float32: ldexp)

for a bit width b in 2..8. The range is the SYMMETRIC one [-Q, Q]: the code
-2^(b-1) of two's complement is never used, so q(-w) = -q(w) exactly (round
is round-half-to-even, itself odd). b = 2 gives ternary codes {-1, 0, 1}.

Three ways to choose e:

- ``max_exponent``: the smallest e with Q 2^e >= max|w| (nothing clipped).
- ``msqe_exponent``: the integer e of least mean squared quantization error
  mean((q(w; e) - w)^2), searched over max_exponent - (b + SEARCH_BELOW) ..
  max_exponent + 1 (ties go to the larger e: less clipping). MSQE trades
  clipping outliers against a finer step, so it may clip where max-based
  scaling does not.
- a learned log2 threshold t (``tqt_quantize``, Jain et al.'s TQT): the
  clipping threshold is 2^ceil(t), the scale 2^e with

      e(t) = ceil(t) - (b - 1)

  (so Q 2^e = 2^ceil(t) (1 - 2^-(b-1)) just below the threshold). With
  x = w / 2^e, r = round(x) and s = 2^e, straight-through estimates for round
  and ceil give (TQT's gradients, for the symmetric range)

      d q / d w = 1                 if -Q <= r <= Q, else 0
      d q / d t = s ln 2 (r - x)    if -Q <= r <= Q
                  s ln 2 (-Q)       if r < -Q
                  s ln 2 Q          if r > Q

  i.e. the exact derivatives of the straight-through surrogate
  q~(w, tau) = s(tau) (x(tau) + r0 - x0) inside the range and
  s(tau) clip(r0) outside, where s(tau) = 2^(tau + ceil(t0) - t0 - (b-1)) and
  r0, x0 are frozen at the current point.

Biases and other non-kernel parameters stay float (see placer.quant.params).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

from placer.errors import PlacerInputError

MIN_BITS, MAX_BITS = 2, 8
# MSQE searches this many exponents below the max-based one, beyond b.
SEARCH_BELOW = 4


def qmax(bits: int) -> int:
    """Q = 2^(b-1) - 1, the largest code of the symmetric b-bit range."""
    return 2 ** (int(bits) - 1) - 1


def check_bits(bits) -> int:
    """``bits`` as an int in MIN_BITS..MAX_BITS, else PlacerInputError."""
    if isinstance(bits, bool) or not isinstance(bits, int | float) or \
            int(bits) != bits or not MIN_BITS <= int(bits) <= MAX_BITS:
        raise PlacerInputError(
            f"bits must be an integer from {MIN_BITS} to {MAX_BITS}, got {bits!r}")
    return int(bits)


def _reduce_axes(w: jax.Array, per_channel: bool) -> tuple[int, ...] | None:
    return tuple(range(w.ndim - 1)) if per_channel else None


def codes_of(w: jax.Array, e: jax.Array, bits: int) -> jax.Array:
    """Integer codes clip(round(w / 2^e), -Q, Q) as int32; ``e`` is () or
    broadcasts against ``w`` (per channel: (C,) for w (..., C))."""
    q = qmax(bits)
    x = jnp.ldexp(w.astype(jnp.float32), -jnp.asarray(e, jnp.int32))
    return jnp.clip(jnp.round(x), -q, q).astype(jnp.int32)


def dequantize(codes: jax.Array, e: jax.Array) -> jax.Array:
    """codes * 2^e in float32 (exact: ldexp)."""
    return jnp.ldexp(codes.astype(jnp.float32), jnp.asarray(e, jnp.int32))


def quantize(w: jax.Array, e: jax.Array, bits: int) -> jax.Array:
    """The forward fake quantizer q(w; e) = codes_of(w, e) * 2^e (no gradient
    rule: see ``fake_quant`` for the straight-through one)."""
    return dequantize(codes_of(w, e, bits), e)


def max_exponent(w: jax.Array, bits: int, per_channel: bool = False) -> jax.Array:
    """Smallest integer e with Q 2^e >= max|w| (per tensor (), or per channel
    (C,)); 0 where w is all zero. int32."""
    m = jnp.max(jnp.abs(w.astype(jnp.float32)), axis=_reduce_axes(w, per_channel))
    q = float(qmax(bits))
    safe = jnp.where(m > 0, m, 1.0)
    e = jnp.ceil(jnp.log2(safe / q)).astype(jnp.int32)
    # log2 rounding can be one off; fix it exactly with ldexp comparisons
    e = jnp.where(jnp.ldexp(jnp.float32(q), e) < safe, e + 1, e)
    e = jnp.where(jnp.ldexp(jnp.float32(q), e - 1) >= safe, e - 1, e)
    return jnp.where(m > 0, e, 0).astype(jnp.int32)


def quant_error(w: jax.Array, e: jax.Array, bits: int,
                per_channel: bool = False) -> jax.Array:
    """mean((q(w; e) - w)^2) per tensor (), or per channel (C,)."""
    d = quantize(w, e, bits) - w.astype(jnp.float32)
    return jnp.mean(d * d, axis=_reduce_axes(w, per_channel))


def msqe_candidates(w: jax.Array, bits: int, per_channel: bool = False) -> jax.Array:
    """(K, ...) the exponents MSQE compares: max_exponent - (b + SEARCH_BELOW)
    .. max_exponent + 1."""
    e_max = max_exponent(w, bits, per_channel)
    offsets = jnp.arange(-(bits + SEARCH_BELOW), 2, dtype=jnp.int32)
    return e_max[None] + offsets.reshape((-1,) + (1,) * e_max.ndim)


def msqe_exponent(w: jax.Array, bits: int, per_channel: bool = False) -> jax.Array:
    """The integer exponent of least mean squared quantization error (ties:
    the larger exponent), per tensor () or per channel (C,). int32."""
    cands = msqe_candidates(w, bits, per_channel)
    errs = jax.vmap(lambda e: quant_error(w, e, bits, per_channel))(cands)
    # reversed so that argmin's first hit is the largest tied exponent
    k = cands.shape[0] - 1 - jnp.argmin(errs[::-1], axis=0)
    return jnp.take_along_axis(cands, k[None], axis=0)[0]


# ----------------------------------------------------------------- gradients

def _fq_fwd(w, e, bits):
    x = jnp.ldexp(w.astype(jnp.float32), -jnp.asarray(e, jnp.int32))
    inside = jnp.abs(jnp.round(x)) <= qmax(bits)
    return quantize(w, e, bits), inside


def _fq_bwd(bits, inside, g):
    return jnp.where(inside, g, 0.0).astype(g.dtype), None


fake_quant = jax.custom_vjp(lambda w, e, bits: quantize(w, e, bits),
                            nondiff_argnums=(2,))
fake_quant.__doc__ = """q(w; e) with the straight-through gradient for w: 1
where the code is not clipped, 0 where it is; none for the integer exponent e.
``bits`` is a Python int (static)."""
fake_quant.defvjp(_fq_fwd, _fq_bwd)


def exponent_of_threshold(t: jax.Array, bits: int) -> jax.Array:
    """e(t) = ceil(t) - (b - 1), int32, for the log2 threshold t."""
    return (jnp.ceil(t) - (bits - 1)).astype(jnp.int32)


def threshold_of_exponent(e: jax.Array, bits: int) -> jax.Array:
    """A log2 threshold t (float32) in the middle of the interval whose
    e(t) is e: t = e + (b - 1) - 0.5."""
    return jnp.asarray(e, jnp.float32) + (bits - 1) - 0.5


def _tqt_fwd(w, t, bits):
    e = exponent_of_threshold(t, bits)
    s = jnp.ldexp(jnp.float32(1.0), e)
    x = w.astype(jnp.float32) / s
    r = jnp.round(x)
    q = qmax(bits)
    out = jnp.clip(r, -q, q) * s
    return out, (x, r, s, t)


def _tqt_bwd(bits, res, g):
    x, r, s, t = res
    q = float(qmax(bits))
    inside = jnp.abs(r) <= q
    gw = jnp.where(inside, g, 0.0)
    dq_dt = s * math.log(2.0) * jnp.where(inside, r - x, jnp.sign(r) * q)
    gt = g * dq_dt
    # sum over the axes that t was broadcast over
    extra = gt.ndim - jnp.ndim(t)
    gt = jnp.sum(gt, axis=tuple(range(extra))) if extra else gt
    return gw.astype(g.dtype), gt.reshape(jnp.shape(t)).astype(t.dtype)


tqt_quantize = jax.custom_vjp(lambda w, t, bits: _tqt_fwd(w, t, bits)[0],
                              nondiff_argnums=(2,))
tqt_quantize.__doc__ = """q(w; e(t)) with TQT's straight-through gradients for
both w and the log2 threshold t (see the module docstring). t is () per
tensor or (C,) per channel (w (..., C)); ``bits`` a Python int."""
tqt_quantize.defvjp(lambda w, t, bits: _tqt_fwd(w, t, bits), _tqt_bwd)


__all__ = ["MAX_BITS", "MIN_BITS", "SEARCH_BELOW", "check_bits", "codes_of",
           "dequantize", "exponent_of_threshold", "fake_quant", "max_exponent",
           "msqe_candidates", "msqe_exponent", "qmax", "quant_error", "quantize",
           "threshold_of_exponent", "tqt_quantize"]
