"""Density cost: occupied fraction of each grid cell by hard and soft macros."""

from __future__ import annotations

import jax.numpy as jnp

from placer.cost.arrays import CostArrays, oriented_sizes
from placer.cost.grid import axis_overlap, cell_size, top_fraction_mean


def density_map(arrays: CostArrays, xy: jnp.ndarray,
                orient: jnp.ndarray) -> jnp.ndarray:
    """(R, C) overlapped macro area of each cell / cell area. Row 0 at y = 0.

    Rectangles are separable: overlap(node, cell r c) = ov_y[node, r] * ov_x[node, c],
    so the map is one (V, R)^T (V, C) product.
    """
    rows, cols = arrays.grid_rows, arrays.grid_cols
    gw, gh = cell_size(arrays.canvas, rows, cols)
    area = occupied_area(xy, oriented_sizes(arrays, orient), arrays.node_is_macro,
                         arrays.canvas, rows, cols)
    return area / (gw * gh)


def occupied_area(xy, size, counts, canvas, rows: int, cols: int) -> jnp.ndarray:
    """(R, C) area of each cell covered by the rectangles (centres xy (K, 2),
    sizes (K, 2)) whose `counts` (K,) flag is set."""
    gw, gh = cell_size(canvas, rows, cols)
    half = 0.5 * size
    ox = axis_overlap(xy[:, 0] - half[:, 0], xy[:, 0] + half[:, 0], gw, cols)
    oy = axis_overlap(xy[:, 1] - half[:, 1], xy[:, 1] + half[:, 1], gh, rows)
    oy = jnp.where(counts[:, None], oy, 0.0)
    return jnp.einsum("kr,kc->rc", oy, ox)


def density_cost_from_map(dmap: jnp.ndarray) -> jnp.ndarray:
    """0.5 x mean of the top 10% of cells; with fewer than 10 cells,
    0.5 x mean of the occupied cells."""
    flat = dmap.reshape(-1)
    if flat.shape[0] < 10:
        occupied = jnp.sum(flat != 0)
        return 0.5 * flat.sum() / jnp.maximum(occupied, 1)
    return 0.5 * top_fraction_mean(flat, 0.1)


def density(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray):
    """(cost, map)."""
    m = density_map(arrays, xy, orient)
    return density_cost_from_map(m), m
