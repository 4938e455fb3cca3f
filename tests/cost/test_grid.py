"""The grid helpers' known answers: interval overlaps and their lean gradient."""

import jax
import jax.numpy as jnp
import numpy as np

from placer.cost.grid import axis_overlap, axis_overlap_lean_grad


def test_axis_overlap_lean_grad__known_values_and_derivatives():
    # Intervals of length 2: [0,2] [2,4] [4,6]. The box [1, 4.5] covers
    # 1 of the first, 2 of the second, 0.5 of the third.
    lo, hi = jnp.array([1.0]), jnp.array([4.5])
    ov = axis_overlap_lean_grad(lo, hi, 2.0, 3)
    np.testing.assert_allclose(ov, [[1.0, 2.0, 0.5]])
    # With the upstream weights g = (10, 20, 30): moving hi right grows the
    # third overlap only (d/dhi = 30); moving lo right shrinks the first only
    # (d/dlo = -10).
    g = jnp.array([[10.0, 20.0, 30.0]])
    def loss(a, b):
        return jnp.sum(axis_overlap_lean_grad(a, b, 2.0, 3) * g)

    d_lo, d_hi = jax.grad(loss, (0, 1))(lo, hi)
    np.testing.assert_allclose(d_lo, [-10.0])
    np.testing.assert_allclose(d_hi, [30.0])


def test_axis_overlap_lean_grad__edges_outside_and_inverted():
    g = jnp.array([[10.0, 20.0, 30.0]])

    def grads(lo, hi):
        return jax.grad(lambda a, b: jnp.sum(axis_overlap_lean_grad(a, b, 2.0, 3) * g),
                        (0, 1))(jnp.array([lo]), jnp.array([hi]))

    # hi on the edge between intervals 0 and 1: the derivative from inside
    # the box (interval 0), lo on the edge 2: interval 1 (inside the box).
    d_lo, d_hi = grads(0.5, 2.0)
    np.testing.assert_allclose([d_lo[0], d_hi[0]], [-10.0, 10.0])
    d_lo, d_hi = grads(2.0, 3.0)
    np.testing.assert_allclose([d_lo[0], d_hi[0]], [-20.0, 20.0])
    # hi beyond the canvas and lo before it: neither moves any overlap.
    d_lo, d_hi = grads(-1.0, 7.0)
    np.testing.assert_allclose([d_lo[0], d_hi[0]], [0.0, 0.0])
    # an inverted box overlaps nothing and has no gradient
    d_lo, d_hi = grads(3.0, 1.0)
    np.testing.assert_allclose([d_lo[0], d_hi[0]], [0.0, 0.0])


def test_axis_overlap_lean_grad__matches_autodiff_off_edges():
    rng = np.random.default_rng(0)
    lo = jnp.asarray(rng.uniform(-30.0, 130.0, 500), jnp.float32)
    hi = lo + jnp.asarray(rng.exponential(15.0, 500), jnp.float32)
    g = jnp.asarray(rng.normal(size=(500, 12)), jnp.float32)

    def loss(fn):
        return lambda a, b: jnp.sum(fn(a, b, 100.0 / 12, 12) * g)

    np.testing.assert_array_equal(axis_overlap(lo, hi, 100.0 / 12, 12),
                                  axis_overlap_lean_grad(lo, hi, 100.0 / 12, 12))
    want = jax.grad(loss(axis_overlap), (0, 1))(lo, hi)
    got = jax.jit(jax.grad(loss(axis_overlap_lean_grad), (0, 1)))(lo, hi)
    for w, o in zip(want, got, strict=True):
        np.testing.assert_allclose(o, w, rtol=1e-6, atol=1e-6)
    # under vmap too (the analytical pass is vmapped over placements)
    lean = jax.grad(loss(axis_overlap_lean_grad), (0, 1))
    batched = jax.vmap(lean)(lo[None], hi[None])
    np.testing.assert_allclose(batched[0][0], want[0], rtol=1e-6, atol=1e-6)
