"""Updates of the learned log2 thresholds, with the two stabilising fixes.

Bae, Zielinski and Chatterjee (2022) observed that gradient-based
power-of-two quantizers (TQT) suffer from (1) threshold gradients whose size
varies by orders of magnitude between layers and over training (they grow
with the number of weights and with the outliers clipped), and (2) scales that
keep flipping between two neighbouring powers of two late in training, each
flip moving every weight of the tensor. This module's answers, per threshold
(per tensor, or per channel), as pure functions of an explicit state:

- gradient normalisation: the step is lr g / sqrt(v_hat), v an exponential
  moving average of g^2 with bias correction (Adam's second moment without
  the first), so a threshold moves at most about ``lr`` per step whatever the
  gradient's scale;
- oscillation freezing: every change of the integer exponent e(t) is
  recorded; a change in the direction opposite to the previous one is a flip.
  After ``freeze_after`` flips the threshold is frozen for the rest of the
  run, in the middle of the interval of e(t_avg), t_avg an exponential moving
  average of t (the side it spent more time on), and its updates are zero.

``freeze_after = 0`` disables freezing; ``normalise = False`` uses the raw
gradient (plain SGD on t).
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct

from placer.quant.fake import exponent_of_threshold, threshold_of_exponent


@struct.dataclass
class ThresholdState:
    """Per-threshold state; every leaf has the threshold's shape."""

    v: jax.Array          # EMA of the squared gradient
    t_avg: jax.Array      # EMA of t
    last_e: jax.Array     # int32 exponent after the previous step
    last_dir: jax.Array   # int32 -1 | 0 | 1: direction of the previous change
    flips: jax.Array      # int32 direction reversals so far
    frozen: jax.Array     # bool
    count: jax.Array      # () int32 steps taken


def init_state(t: jax.Array, bits: int) -> ThresholdState:
    """The state of a fresh threshold t."""
    t = jnp.asarray(t, jnp.float32)
    zi = jnp.zeros(t.shape, jnp.int32)
    return ThresholdState(v=jnp.zeros_like(t), t_avg=t,
                          last_e=exponent_of_threshold(t, bits), last_dir=zi,
                          flips=zi, frozen=jnp.zeros(t.shape, bool),
                          count=jnp.zeros((), jnp.int32))


def step(t: jax.Array, g: jax.Array, state: ThresholdState, bits: int, lr: float,
         decay: float = 0.99, avg_decay: float = 0.9, freeze_after: int = 4,
         normalise: bool = True) -> tuple[jax.Array, ThresholdState]:
    """One update of threshold t by its gradient g: (new t, new state)."""
    count = state.count + 1
    v = decay * state.v + (1.0 - decay) * g * g
    if normalise:
        v_hat = v / (1.0 - decay ** count.astype(jnp.float32))
        delta = lr * g / (jnp.sqrt(v_hat) + 1e-12)
    else:
        delta = lr * g
    t_new = jnp.where(state.frozen, t, t - delta)
    t_avg = avg_decay * state.t_avg + (1.0 - avg_decay) * t_new
    e_new = exponent_of_threshold(t_new, bits)
    d = jnp.sign(e_new - state.last_e).astype(jnp.int32)
    flip = (d != 0) & (state.last_dir != 0) & (d != state.last_dir)
    flips = state.flips + flip.astype(jnp.int32)
    last_dir = jnp.where(d != 0, d, state.last_dir)
    freeze = (~state.frozen) & (freeze_after > 0) & (flips >= freeze_after)
    t_frozen = threshold_of_exponent(exponent_of_threshold(t_avg, bits), bits)
    t_new = jnp.where(freeze, t_frozen, t_new)
    new = ThresholdState(v=v, t_avg=t_avg, last_e=exponent_of_threshold(t_new, bits),
                         last_dir=last_dir, flips=flips,
                         frozen=state.frozen | freeze, count=count)
    return t_new, new


def init_states(thresholds: dict[str, jax.Array], bits: int) -> dict[str, Any]:
    """{path: ThresholdState}."""
    return {p: init_state(t, bits) for p, t in thresholds.items()}


def step_all(thresholds: dict, grads: dict, states: dict, bits: int, lr: float,
             **kw) -> tuple[dict, dict]:
    """``step`` for every path."""
    out_t, out_s = {}, {}
    for p, t in thresholds.items():
        out_t[p], out_s[p] = step(t, grads[p], states[p], bits, lr, **kw)
    return out_t, out_s


__all__ = ["ThresholdState", "init_state", "init_states", "step", "step_all"]
