"""The wire mask's per-node entry shortcut (placer.cost.wiremask)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import placer
from placer.cost.wiremask import node_entries, wire_increase
from placer.env.env import make_env
from tests.cost.tiny import tiny_netlist


def test_node_entries__known_answer():
    """Port 0, macros 1 and 2; nets {0, 1} and {1, 2}: the entries (net
    order, pin order) are 0: port, 1: macro 1, 2: macro 1, 3: macro 2, so
    macro 1 owns entries 1 and 2 and macro 2 entry 3; rows are padded with
    E (here the arrays' padded entry count) to a multiple of 8."""
    nodes = [("port", 0, 0, 0, 0), ("hard", 2, 2, 1, 1), ("hard", 3, 3, 1, 1)]
    nl = tiny_netlist(nodes, [(1.0, [0, 1]), (1.0, [1, 2])], canvas_width=4.0,
                      canvas_height=4.0, grid_cols=4, grid_rows=4)
    _, params = make_env(nl)
    a = params.cost
    e = int(a.entry_pin.shape[0])
    got = node_entries(a, np.array([1, 2]), 3)
    assert got.shape == (3, 8)
    np.testing.assert_array_equal(got[0], [1, 2] + [e] * 6)
    np.testing.assert_array_equal(got[1], [3] + [e] * 7)
    np.testing.assert_array_equal(got[2], [e] * 8)


def test_wire_increase__node_entries_equal_all_entries():
    """On synth_small with half of the macros placed at random cells, every
    macro's mask from its own entries equals the mask summed over all
    entries (float summation order only)."""
    nl = placer.load_netlist("netlists/synth_small/netlist.pb.txt",
                             "netlists/synth_small/initial.plc")
    env, p = make_env(nl)
    rng = np.random.default_rng(0)
    order = np.asarray(p.order)[: int(p.num_to_place)]
    xy = np.asarray(p.init_xy).copy()
    xy[order] = rng.uniform(0, 1, (len(order), 2)) * np.asarray(p.cost.canvas)
    placed = np.asarray(p.fixed_placed).copy()
    placed[order[::2]] = True
    r, c = env.spec.grid_rows, env.spec.grid_cols
    f = jax.jit(lambda node, ent: wire_increase(p.cost, jnp.asarray(xy),
                                                jnp.asarray(placed), p.orient, node,
                                                r, c, ent))
    g = jax.jit(lambda node: wire_increase(p.cost, jnp.asarray(xy), jnp.asarray(placed),
                                           p.orient, node, r, c))
    for t, node in enumerate(order):
        want = np.asarray(g(node))
        got = np.asarray(f(node, p.order_entries[t]))
        assert np.any(want > 0) or t == 0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6 * want.max())
