"""Grid maths of the placement canvas: cell centres and feasibility masks.

R x C grid, row 0 at y = 0; a cell index is row * C + col.
"""

from __future__ import annotations

import jax.numpy as jnp

from placer.cost.grid import cell_centres


def feasible_cells(canvas: jnp.ndarray, rows: int, cols: int, size: jnp.ndarray,
                   obst_xy: jnp.ndarray, obst_size: jnp.ndarray,
                   obst_on: jnp.ndarray, tol: float = 1e-6) -> jnp.ndarray:
    """(R, C) bool: cells where a macro of `size` (w, h), centred on the cell
    centre, lies inside the canvas and overlaps none of the active obstacles.

    Obstacles are rectangles (placed macros, blockages) given by centre and
    size; `obst_on` masks them. Two rectangles overlap when their centres are
    closer than half the summed sizes along both axes (touching is allowed).
    The test is separable, so the (R, C) map is one (R, K) x (K, C) product.
    `tol` is relative to the canvas size.
    """
    cx, cy = cell_centres(canvas, rows, cols)
    ex = tol * canvas[0]
    ey = tol * canvas[1]
    w, h = size[0], size[1]
    in_x = (cx - 0.5 * w >= -ex) & (cx + 0.5 * w <= canvas[0] + ex)
    in_y = (cy - 0.5 * h >= -ey) & (cy + 0.5 * h <= canvas[1] + ey)
    ox = jnp.abs(cx[None, :] - obst_xy[:, 0:1]) < 0.5 * (w + obst_size[:, 0:1]) - ex
    oy = jnp.abs(cy[None, :] - obst_xy[:, 1:2]) < 0.5 * (h + obst_size[:, 1:2]) - ey
    oy = oy & obst_on[:, None]
    hits = jnp.einsum("kr,kc->rc", oy.astype(canvas.dtype), ox.astype(canvas.dtype))
    return in_y[:, None] & in_x[None, :] & (hits == 0)


__all__ = ["cell_centres", "feasible_cells"]
