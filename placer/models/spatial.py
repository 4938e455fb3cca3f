"""Scattering node (or edge) embeddings onto the placement grid.

A graph embedding is blind to where things are on the canvas; the density
and congestion costs are maxima over grid cells. These functions turn per-box
values (a node's rectangle, an edge's bounding box) into an R x C map that a
convolutional network can read. Coordinates are in canvas units ([0, 1] on
both axes, as placement_features normalises them); row 0 is at y = 0 and the
map is indexed [row, col], as the cost maps are.

Dimensions: N boxes, D channels, R x C grid.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def interval_overlap(lo: jax.Array, hi: jax.Array, num: int) -> jax.Array:
    """(N, num) length of [lo, hi] inside each of ``num`` equal bins of [0, 1],
    in units of the bin width (1: the bin is covered).

    Example: lo = 0.1, hi = 0.6, num = 2: bin 0 = [0, 0.5] holds 0.4 of it,
    bin 1 = [0.5, 1] holds 0.1; in bin widths (0.5): [0.8, 0.2].
    """
    edges = jnp.arange(num + 1, dtype=jnp.float32) / num
    left = jnp.maximum(lo[:, None], edges[None, :-1])
    right = jnp.minimum(hi[:, None], edges[None, 1:])
    return jnp.maximum(right - left, 0.0) * num


def box_weights(lo: jax.Array, hi: jax.Array, rows: int, cols: int,
                normalize: str = "cell") -> tuple[jax.Array, jax.Array]:
    """Separable weights of N boxes over an R x C grid: (wy (N, R), wx (N, C)).

    The weight of box n on cell (r, c) is wy[n, r] * wx[n, c]:

    * ``normalize="cell"``: the fraction of the cell that the box covers (a
      density map: a box covering a whole cell adds 1 there).
    * ``normalize="box"``: the fraction of the box that lies in the cell (each
      box adds 1 in total, spread over the cells it touches). Along an axis
      where the box is thinner than a cell, all of it goes to the cell of its
      centre, so points (ports, a straight edge) land in their cell.

    Args:
        lo, hi: (N, 2) lower-left and upper-right corners, canvas units.
    """
    if normalize not in ("cell", "box"):
        raise ValueError(f"normalize must be 'cell' or 'box', not {normalize!r}")
    lo = jnp.asarray(lo, jnp.float32)
    hi = jnp.asarray(hi, jnp.float32)

    def axis(k: int, num: int) -> jax.Array:
        w = interval_overlap(lo[:, k], hi[:, k], num)
        if normalize == "cell":
            return w
        total = w.sum(-1, keepdims=True)
        centre = jnp.clip(jnp.floor((lo[:, k] + hi[:, k]) / 2 * num), 0, num - 1)
        point = jax.nn.one_hot(centre.astype(jnp.int32), num, dtype=jnp.float32)
        return jnp.where(total < 1.0, point, w / jnp.maximum(total, 1e-12))

    return axis(1, rows), axis(0, cols)


def scatter_boxes(values: jax.Array, lo: jax.Array, hi: jax.Array,
                  mask: jax.Array, rows: int, cols: int,
                  normalize: str = "cell") -> jax.Array:
    """(R, C, D) map: the sum over boxes of weight(box, cell) * values[box].

    Args:
        values: (N, D) per-box values (embeddings).
        lo, hi: (N, 2) box corners in canvas units (see box_weights).
        mask: (N,) bool; boxes where it is false add nothing.
        rows, cols: R, C (static).
        normalize: "cell" or "box" (see box_weights).

    The (N, R, C) weight tensor is never built: the sum is
    einsum("nr,nc,nd->rcd"), done as (R, N) @ (N, C * D) after folding wx
    into the values, so memory is O(N (R + C) D).
    """
    wy, wx = box_weights(lo, hi, rows, cols, normalize)
    v = jnp.where(mask[:, None], values, 0.0).astype(jnp.float32)
    folded = (wx[:, :, None] * v[:, None, :]).reshape(v.shape[0], -1)   # (N, C*D)
    return (wy.T @ folded).reshape(rows, cols, v.shape[-1])


def node_boxes(xy: jax.Array, wh: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(lo, hi) of rectangles centred on ``xy`` (N, 2) with sides ``wh``."""
    return xy - wh / 2, xy + wh / 2


def edge_boxes(xy: jax.Array, senders: jax.Array,
               receivers: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(lo, hi) bounding boxes of the edges' two end points (E, 2) each."""
    a, b = xy[senders], xy[receivers]
    return jnp.minimum(a, b), jnp.maximum(a, b)


def masked_top_k_mean(values: jax.Array, valid: jax.Array, k: jax.Array,
                      k_max: int) -> jax.Array:
    """(D,) mean of the ``k`` largest entries of each column of ``values``
    among the rows where ``valid`` is true.

    The cost's ``top_fraction_mean`` on a map padded to a fixed size: ``k``
    may be traced (one per netlist, from its own grid), ``k_max`` is static
    and bounds it. Padding rows never count, provided ``k`` is at most the
    number of valid rows.

    Args:
        values: (N, D) per-cell values (D channels).
        valid: (N,) bool, the real cells.
        k: () int, how many to average (clamped to [1, k_max]).
        k_max: static, at most N.
    """
    low = jnp.finfo(values.dtype).min
    v = jnp.where(valid[:, None], values, low).T                     # (D, N)
    top = jax.lax.top_k(v, k_max)[0]                                 # (D, k_max)
    k = jnp.clip(k, 1, k_max)
    take = jnp.arange(k_max) < k
    return jnp.sum(jnp.where(take, top, 0.0), axis=-1) / k.astype(values.dtype)


__all__ = ["box_weights", "edge_boxes", "interval_overlap", "masked_top_k_mean",
           "node_boxes", "scatter_boxes"]
