"""The netlist graph and Circuit Training's edge-centric encoder."""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.config import RewardModelConfig
from placer.models import EdgeCentricEncoder, GraphSpec, netlist_graph, placement_graph
from placer.models.graph import graph_edges
from placer.reward_model.model import RewardPredictor, init_params
from tests.cost.tiny import tiny_netlist

ROOT = Path(__file__).resolve().parents[2]
SYNTH = ROOT / "netlists" / "synth_small"


@pytest.fixture(scope="module")
def synth():
    return placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")


def test_graph_edges__merge_pairs_and_sum_weights():
    """Nets become merged undirected driver-sink pairs with summed weights.

    Nodes 0 (port), 1, 2, 3 (soft macros). Nets: 0 -> {1, 2} weight 1,
    2 -> {1} weight 2, 1 -> {0, 1} weight 3 (the self-pair 1-1 is dropped).
    Pairs: (0,1): 1 + 3 = 4; (0,2): 1; (1,2): 2. Node 3 has no edge.
    """
    nl = tiny_netlist(
        [("port", 0, 0, 0, 0), ("soft", 10, 10, 2, 2), ("soft", 20, 20, 2, 2),
         ("soft", 30, 30, 2, 2)],
        [(1.0, [0, 1, 2]), (2.0, [2, 1]), (3.0, [1, 0, 1])],
        canvas_width=40.0, canvas_height=40.0)
    s, r, w = graph_edges(nl)
    np.testing.assert_array_equal(s, [0, 0, 1])
    np.testing.assert_array_equal(r, [1, 2, 2])
    np.testing.assert_allclose(w, [4.0, 1.0, 2.0])
    g = netlist_graph(nl).graph
    # normalised by the mean weight 7 / 3
    np.testing.assert_allclose(g.edges[:3, 0], np.array([4, 1, 2]) / (7 / 3), rtol=1e-6)
    assert g.edges[3:].sum() == 0 and (g.senders[3:] == nl.num_nodes).all()


def test_placement_graph__edge_distance_features():
    """With edge_distance, edge e carries (weight, |dx|, |dy|) in canvas units.

    Canvas 40 x 40; pair (0, 1): nodes at (0, 0) and (10, 10): |dx| = |dy| =
    10 / 40 = 0.25; pair (0, 2): (20, 20): 0.5; pair (1, 2): 0.25.
    """
    nl = tiny_netlist(
        [("port", 0, 0, 0, 0), ("soft", 10, 10, 2, 2), ("soft", 20, 20, 2, 2),
         ("soft", 30, 30, 2, 2)],
        [(1.0, [0, 1, 2]), (2.0, [2, 1]), (3.0, [1, 0, 1])],
        canvas_width=40.0, canvas_height=40.0)
    g = placement_graph(netlist_graph(nl), nl.node_xy, edge_distance=True)
    assert g.edges.shape[1] == 3
    np.testing.assert_allclose(g.edges[:3, 1], [0.25, 0.5, 0.25], rtol=1e-6)
    np.testing.assert_allclose(g.edges[:3, 2], [0.25, 0.5, 0.25], rtol=1e-6)
    assert float(jnp.abs(g.edges[3:]).sum()) == 0.0


def _encode(graph, params=None, hidden=16):
    enc = EdgeCentricEncoder(hidden=hidden, num_layers=2)
    if params is None:
        params = enc.init(jax.random.PRNGKey(0), graph)
    return enc.apply(params, graph), params


def test_encoder__permutation_equivariant(synth):
    """Relabelling nodes permutes the node embeddings and leaves the readout."""
    ng = netlist_graph(synth)
    g = placement_graph(ng, synth.node_xy, synth.node_orient)
    v = synth.num_nodes
    vp = g.nodes.shape[0]
    rng = np.random.default_rng(0)
    perm = np.concatenate([rng.permutation(v), np.arange(v, vp)])   # new -> old
    inv = np.argsort(perm)                                            # old -> new
    e = int(g.n_edge[0])
    edge_perm = np.concatenate([rng.permutation(e), np.arange(e, g.edges.shape[0])])
    send = np.asarray(g.senders)[edge_perm]
    recv = np.asarray(g.receivers)[edge_perm]
    # relabel, and flip the direction of half the edges (the encoder is symmetric)
    flip = rng.random(len(send)) < 0.5
    new_s = np.where(flip, inv[recv], inv[send])
    new_r = np.where(flip, inv[send], inv[recv])
    g2 = g._replace(nodes=jnp.asarray(g.nodes)[perm], senders=jnp.asarray(new_s),
                    receivers=jnp.asarray(new_r),
                    edges=jnp.asarray(g.edges)[edge_perm])
    out1, params = _encode(g)
    out2, _ = _encode(g2, params)
    np.testing.assert_allclose(np.asarray(out2.nodes), np.asarray(out1.nodes)[perm],
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out2.readout(), out1.readout(), rtol=1e-4, atol=1e-5)
    # and the predictor's output is unchanged: same readout -> same heads
    assert not np.allclose(np.asarray(out1.nodes)[perm][:v], np.asarray(out1.nodes)[:v])


@pytest.mark.parametrize("edge_distance", [False, True])
def test_predictor__padding_changes_nothing(synth, edge_distance):
    """A larger GraphSpec gives the same predictions and real-node embeddings."""
    small = netlist_graph(synth)
    big = netlist_graph(synth, GraphSpec(small.graph.nodes.shape[0] + 128,
                                         small.graph.edges.shape[0] + 256))
    model = RewardPredictor(RewardModelConfig(
        hidden=16, num_layers=2, head_hidden=(16,), edge_distance=edge_distance))
    params = init_params(model, jax.random.PRNGKey(1), small)
    p_small = model.apply(params, small, synth.node_xy, synth.node_orient)
    p_big = model.apply(params, big, synth.node_xy, synth.node_orient)
    np.testing.assert_allclose(p_big, p_small, rtol=1e-5, atol=1e-6)
    v = synth.num_nodes
    e1, _ = _encode(placement_graph(small, synth.node_xy))
    enc = EdgeCentricEncoder(hidden=16, num_layers=2)
    params = enc.init(jax.random.PRNGKey(0), placement_graph(small, synth.node_xy))
    e2 = enc.apply(params, placement_graph(big, synth.node_xy))
    np.testing.assert_allclose(e2.nodes[:v], e1.nodes[:v], rtol=1e-5, atol=1e-6)
    assert float(jnp.abs(e2.nodes[v:]).sum()) == 0.0


def test_predictor__sees_the_placement(synth):
    """Moving the macros changes the prediction; the params are shared by vmap."""
    g = netlist_graph(synth)
    model = RewardPredictor(RewardModelConfig(hidden=16, num_layers=2,
                                              head_hidden=(16,), edge_distance=False))
    params = init_params(model, jax.random.PRNGKey(2), g)
    xy = np.stack([synth.node_xy, synth.node_xy[::-1]])
    out = jax.vmap(lambda p: model.apply(params, g, p))(jnp.asarray(xy))
    assert out.shape == (2, 3)
    assert not np.allclose(out[0], out[1])
    np.testing.assert_allclose(out[0], model.apply(params, g, synth.node_xy),
                               rtol=1e-5)


def test_netlist_graph__rejects_small_specs(synth):
    """A spec without room for the design's nodes and edges is an input error."""
    with pytest.raises(placer.PlacerInputError, match="too small"):
        netlist_graph(synth, GraphSpec(64, 64))
