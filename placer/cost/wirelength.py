"""Wirelength cost: weighted half-perimeter wirelength over nets."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placer.cost.arrays import CostArrays, pin_positions


def net_hpwl(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray) -> jnp.ndarray:
    """(N,) half-perimeter of each net's pin bounding box (0 for padding)."""
    n = arrays.num_nets
    pos = pin_positions(arrays, xy, orient)[arrays.entry_pin]          # (E, 2)
    hi = jax.ops.segment_max(pos, arrays.entry_net, num_segments=n + 1)[:n]
    lo = jax.ops.segment_min(pos, arrays.entry_net, num_segments=n + 1)[:n]
    span = jnp.where(arrays.net_weight[:, None] > 0, hi - lo, 0.0)
    return span.sum(axis=1)


def wirelength(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(cost, hpwl): cost = sum(w * HPWL) / ((W + H) * sum(w)).

    The denominator's sum(w) is the weighted net count of Circuit Training.
    """
    hpwl = jnp.sum(arrays.net_weight * net_hpwl(arrays, xy, orient))
    count = jnp.sum(arrays.net_weight)
    count = jnp.where(count > 0, count, 1.0)
    return hpwl / (arrays.canvas.sum() * count), hpwl
