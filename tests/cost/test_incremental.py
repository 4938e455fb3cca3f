"""Incremental cost updates equal full evaluations."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.cost.incremental import init_state, move, move_arrays
from placer.cost.proxy import cost_terms

SYNTH = Path(__file__).resolve().parents[2] / "netlists" / "synth_small"
W = (1.0, 0.5, 0.5)


def test_move__equals_full_evaluation_after_many_moves():
    """30 random moves and flips of hard macros: the incrementally tracked
    proxy equals a full evaluation of the final placement to 1e-9."""
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt",
                             placement=SYNTH / "initial.plc", smoothing_range=1)
    with jax.enable_x64(True):
        a = cost_arrays(nl, dtype=jnp.float64)
        xy, o = pad_placement(nl, a, dtype=jnp.float64)
        mv = move_arrays(a, nl.hard_macros)
        st = jax.jit(lambda xy, o: init_state(a, xy, o, W))(xy, o)
        step = jax.jit(lambda st, k, p, q: move(a, mv, st, k, p, q, W))
        full = jax.jit(lambda xy, o: cost_terms(a, xy, o, W)["proxy"])
        assert float(st.proxy) == pytest.approx(float(full(xy, o)), rel=1e-12)
        rng = np.random.default_rng(0)
        for _ in range(30):
            k = int(rng.integers(0, len(nl.hard_macros)))
            p = jnp.asarray(rng.uniform(0, nl.canvas[0], 2))
            q = jnp.int32(rng.choice([0, 1, 4, 5]))
            st = step(st, k, p, q)
        assert float(st.proxy) == pytest.approx(float(full(st.xy, st.orient)),
                                                rel=1e-9)
        fresh = init_state(a, st.xy, st.orient, W)
        np.testing.assert_allclose(np.asarray(st.h_net), np.asarray(fresh.h_net),
                                   atol=1e-9)
        np.testing.assert_allclose(np.asarray(st.net_hpwl),
                                   np.asarray(fresh.net_hpwl), atol=1e-6)
