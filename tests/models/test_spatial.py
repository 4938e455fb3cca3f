"""Known answers for the grid scatter (placer.models.spatial)."""

import jax
import jax.numpy as jnp
import numpy as np

from placer.models.spatial import (
    box_weights,
    edge_boxes,
    interval_overlap,
    node_boxes,
    scatter_boxes,
)


def test_interval_overlap_known_answer():
    # [0.1, 0.6] over 2 bins of width 0.5: bin 0 holds 0.4 (0.8 widths),
    # bin 1 holds 0.1 (0.2 widths).
    got = interval_overlap(jnp.array([0.1]), jnp.array([0.6]), 2)
    np.testing.assert_allclose(got, [[0.8, 0.2]], atol=1e-6)


def test_cell_normalised_map_is_coverage():
    # A 0.5 x 0.25 box at the lower-left corner of a 4 x 4 grid (cells 0.25):
    # it covers cells (row 0, cols 0..1) fully, nothing else.
    lo, hi = node_boxes(jnp.array([[0.25, 0.125]]), jnp.array([[0.5, 0.25]]))
    m = scatter_boxes(jnp.ones((1, 1)), lo, hi, jnp.array([True]), 4, 4)
    want = np.zeros((4, 4))
    want[0, :2] = 1.0
    np.testing.assert_allclose(m[..., 0], want, atol=1e-6)


def test_box_normalised_spreads_one_and_keeps_points():
    # A point at (0.6, 0.1) on a 2 x 5 grid (rows of 0.5, cols of 0.2) falls
    # in row 0, col 3; the whole value 2.0 lands there.
    p = jnp.array([[0.6, 0.1]])
    m = scatter_boxes(jnp.array([[2.0]]), p, p, jnp.array([True]), 2, 5, "box")
    want = np.zeros((2, 5))
    want[0, 3] = 2.0
    np.testing.assert_allclose(m[..., 0], want, atol=1e-6)
    # A box over the whole canvas spreads 1 evenly: 1 / 10 per cell.
    m = scatter_boxes(jnp.ones((1, 1)), jnp.zeros((1, 2)), jnp.ones((1, 2)),
                      jnp.array([True]), 2, 5, "box")
    np.testing.assert_allclose(m[..., 0], np.full((2, 5), 0.1), atol=1e-6)


def test_scatter_matches_dense_sum_and_mask():
    rng = np.random.default_rng(0)
    n, d, r, c = 7, 3, 5, 6
    a = rng.uniform(0, 1, (n, 2))
    b = rng.uniform(0, 1, (n, 2))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    v = rng.normal(size=(n, d))
    mask = np.array([1, 1, 0, 1, 0, 1, 1], bool)
    for norm in ("cell", "box"):
        wy, wx = box_weights(lo, hi, r, c, norm)
        dense = np.einsum("nr,nc,nd->rcd", wy, wx, v * mask[:, None])
        got = scatter_boxes(v, lo, hi, mask, r, c, norm)
        np.testing.assert_allclose(got, dense, rtol=1e-5, atol=1e-6)


def test_edge_boxes_are_bounding_boxes_and_jit():
    xy = jnp.array([[0.1, 0.9], [0.5, 0.2], [0.3, 0.3]])
    lo, hi = jax.jit(edge_boxes)(xy, jnp.array([0, 2]), jnp.array([1, 0]))
    np.testing.assert_allclose(lo, [[0.1, 0.2], [0.1, 0.3]], atol=1e-7)
    np.testing.assert_allclose(hi, [[0.5, 0.9], [0.3, 0.9]], atol=1e-7)
