"""Grid maths shared by density and congestion: per-node overlap with the
grid's columns and rows, and top-k averages."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def cell_centres(canvas: jnp.ndarray, rows: int, cols: int):
    """(cx (C,), cy (R,)) centres of the grid columns and rows (row 0 at y = 0)."""
    gw = canvas[0] / cols
    gh = canvas[1] / rows
    cx = (jnp.arange(cols, dtype=canvas.dtype) + 0.5) * gw
    cy = (jnp.arange(rows, dtype=canvas.dtype) + 0.5) * gh
    return cx, cy


def cell_size(canvas: jnp.ndarray, rows: int, cols: int):
    """(cell width, cell height)."""
    return canvas[0] / cols, canvas[1] / rows


def axis_overlap(lo: jnp.ndarray, hi: jnp.ndarray, step, n: int) -> jnp.ndarray:
    """(V, n) length of [lo, hi] inside each of n grid intervals [i s, (i+1) s],
    clipped at 0."""
    i = jnp.arange(n, dtype=lo.dtype)
    a = jnp.maximum(lo[:, None], i * step)
    b = jnp.minimum(hi[:, None], (i + 1) * step)
    return jnp.maximum(b - a, 0.0)


def cell_index(v: jnp.ndarray, step, n: int) -> jnp.ndarray:
    """Grid index floor(v / step), clamped into [0, n)."""
    return jnp.clip(jnp.floor(v / step), 0, n - 1).astype(jnp.int32)


def top_fraction_mean(values: jnp.ndarray, fraction: float) -> jnp.ndarray:
    """Mean of the top floor(fraction * n) values; the max when that is 0.

    n is static, so k is too. Circuit Training's `abu`.
    """
    n = values.shape[0]
    k = int(n * fraction)
    if k == 0:
        return jnp.max(values)
    return jax.lax.top_k(values, k)[0].sum() / k
