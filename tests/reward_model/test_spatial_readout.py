"""The reward predictor's spatial readout: top-k pooling, its maps, and the
invariances of the predictions (node order, graph padding, map padding)."""

from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.config import RewardModelConfig
from placer.cost.arrays import cost_arrays
from placer.cost.density import density_map
from placer.models import GraphSpec, netlist_graph
from placer.models.graph import NetlistGraph
from placer.models.spatial import masked_top_k_mean
from placer.reward_model.model import RewardPredictor, batch_apply, init_params

ROOT = Path(__file__).resolve().parents[2]
GRID = (36, 40)   # holds synth_small (10 x 10) and design_2 (32 x 20)


def _load(name):
    d = ROOT / "netlists" / name
    return placer.load_netlist(d / "netlist.pb.txt", d / "initial.plc")


@pytest.fixture(scope="module")
def synth():
    return _load("synth_small")


def _model(**kw):
    return RewardPredictor(RewardModelConfig(
        hidden=8, num_layers=1, head_hidden=(8,), edge_distance=True, spatial=True,
        spatial_grid=kw.pop("grid", GRID), map_channels=4, cnn_channels=(8, 8),
        cell_scores=2, **kw))


def _intermediates(model, params, g, nl):
    """The model's sown intermediates for nl's placement (jitted: one program
    compiles faster than the apply's eager ops)."""
    return jax.jit(lambda *a: model.apply(*a, mutable=["intermediates"]))(
        params, g, nl.node_xy, nl.node_orient)


def test_masked_top_k_mean__known_answer():
    """Column 0: values 5, 1, 4, 2 on real cells, 9 on a padding cell; k = 2,
    k_max = 3: the top two real values are 5 and 4, mean (5 + 4) / 2 = 4.5
    (the padding 9 never counts). Column 1: 0, 3, 3, -1 (padding 7): 3 and 3,
    mean 3. With k = 3 (traced): (5 + 4 + 2) / 3 = 11 / 3 and (3 + 3 + 0) / 3 = 2."""
    values = jnp.array([[5.0, 0.0], [1.0, 3.0], [4.0, 3.0], [2.0, -1.0], [9.0, 7.0]])
    valid = jnp.array([True, True, True, True, False])
    np.testing.assert_allclose(masked_top_k_mean(values, valid, jnp.int32(2), 3),
                               [4.5, 3.0], rtol=1e-6)
    f = jax.jit(lambda k: masked_top_k_mean(values, valid, k, 3))
    np.testing.assert_allclose(f(jnp.int32(3)), [11 / 3, 2.0], rtol=1e-6)
    # and the gradient reaches the chosen real cells only
    g = jax.grad(lambda v: masked_top_k_mean(v, valid, jnp.int32(2), 3).sum())(values)
    np.testing.assert_allclose(g[:, 0], [0.5, 0, 0.5, 0, 0])


@pytest.mark.slow
def test_spatial_maps__coverage_channels_are_the_density_map(synth):
    """The hard + soft coverage channels equal the cost's density map on the
    design's grid, and every map is zero outside it."""
    model = _model()
    g = netlist_graph(synth)
    params = init_params(model, jax.random.PRNGKey(0), g)
    _, state = _intermediates(model, params, g, synth)
    maps = np.asarray(state["intermediates"]["spatial"]["maps"][0])
    r, c = synth.settings.grid_rows, synth.settings.grid_cols
    ch = model.cfg.map_channels
    arrays = cost_arrays(synth)
    pad = arrays.node_is_macro.shape[0] - synth.num_nodes
    want = density_map(arrays, jnp.asarray(np.pad(synth.node_xy, ((0, pad), (0, 0)))),
                       jnp.asarray(np.pad(synth.node_orient, (0, pad))))
    np.testing.assert_allclose(maps[:r, :c, ch] + maps[:r, :c, ch + 1], want,
                               atol=1e-5)
    assert np.abs(maps[r:]).sum() == 0 and np.abs(maps[:, c:]).sum() == 0
    np.testing.assert_array_equal(maps[..., -1], np.pad(np.ones((r, c)),
                                                        ((0, GRID[0] - r),
                                                         (0, GRID[1] - c))))


# physical=False in the slow set (the same readout without the physical maps)
# slow (22 s and more each): the encoder's permutation test stays in the
# default suite (tests/models/test_gnn.py)
@pytest.mark.slow
@pytest.mark.parametrize("physical", [False, True])
def test_spatial_predictor__node_permutation_invariant(synth, physical):
    """Relabelling the nodes (and listing the edges in another order) leaves
    the predictions unchanged."""
    ng = netlist_graph(synth)
    g = ng.graph
    v, vp = synth.num_nodes, g.nodes.shape[0]
    rng = np.random.default_rng(0)
    perm = np.concatenate([rng.permutation(v), np.arange(v, vp)])   # new -> old
    inv = np.argsort(perm)
    e = int(g.n_edge[0])
    ep = np.concatenate([rng.permutation(e), np.arange(e, g.edges.shape[0])])
    s, r = inv[g.senders[ep]], inv[g.receivers[ep]]
    g2 = g._replace(nodes=g.nodes[perm], edges=g.edges[ep],
                    senders=np.minimum(s, r).astype(np.int32),
                    receivers=np.maximum(s, r).astype(np.int32))
    ng2 = NetlistGraph(graph=g2, canvas=ng.canvas, weight_mean=ng.weight_mean)
    model = _model(physical_maps=physical, wirelength_estimate=physical)
    params = init_params(model, jax.random.PRNGKey(1), ng)
    xy = np.pad(synth.node_xy, ((0, vp - v), (0, 0)))
    orient = np.pad(synth.node_orient, (0, vp - v))
    p1 = model.apply(params, ng, xy, orient)
    p2 = model.apply(params, ng2, xy[perm], orient[perm])
    np.testing.assert_allclose(p2, p1, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("physical", [pytest.param(False, marks=pytest.mark.slow),
                                      True])
def test_spatial_predictor__graph_and_map_padding_change_nothing(synth, physical):
    """A larger GraphSpec, or a larger padded map, gives the same predictions."""
    small = netlist_graph(synth)
    big = netlist_graph(synth, GraphSpec(small.graph.nodes.shape[0] + 128,
                                         small.graph.edges.shape[0] + 256))
    model = _model(physical_maps=physical, wirelength_estimate=physical)
    params = init_params(model, jax.random.PRNGKey(2), small)
    apply = jax.jit(model.apply)       # one program per shape: faster than eager
    p_small = apply(params, small, synth.node_xy, synth.node_orient)
    p_big = apply(params, big, synth.node_xy, synth.node_orient)
    np.testing.assert_allclose(p_big, p_small, rtol=1e-5, atol=1e-6)
    # same parameters (the convolutions do not depend on the map size)
    p_map = jax.jit(_model(grid=(48, 64), physical_maps=physical,
                           wirelength_estimate=physical).apply)(
        params, small, synth.node_xy, synth.node_orient)
    np.testing.assert_allclose(p_map, p_small, rtol=1e-5, atol=1e-6)
    # the spatial part is used: moving the macros changes the prediction
    moved = apply(params, small, synth.node_xy[::-1], synth.node_orient)
    assert not np.allclose(moved, p_small)


def test_spatial_predictor__traces_once_per_shape(synth):
    """Designs of different grids padded to one GraphSpec share one compiled
    function: the map size is the model's, the grid a traced input."""
    other = _load("design_2")
    assert (other.settings.grid_rows, other.settings.grid_cols) != (10, 10)
    spec = GraphSpec.for_netlists([synth, other])
    model = _model()
    params = init_params(model, jax.random.PRNGKey(3), netlist_graph(synth, spec))
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)        # a second trace raises AssertionError
    def apply(params, graph, xy, orient):
        return batch_apply(model, params, graph, xy, orient)

    outs = []
    for nl in (synth, other, synth):
        xy = np.zeros((2, spec.max_nodes, 2), np.float32)
        xy[:, :nl.num_nodes] = nl.node_xy
        orient = np.zeros((2, spec.max_nodes), np.int32)
        outs.append(apply(params, netlist_graph(nl, spec), xy, orient))
    np.testing.assert_allclose(outs[2], outs[0])
    assert not np.allclose(outs[1], outs[0])


def test_reward_model__a_grid_larger_than_the_maps_gets_larger_maps(synth):
    """A model whose maps (8 x 8) are smaller than the design's grid (10 x 10)
    pads to a larger map with the same parameters: the same predictions as
    the model built for 36 x 40 maps."""
    from placer.reward_model.model import RewardModel

    small = _model(grid=(8, 8), physical_maps=True)
    params = init_params(small, jax.random.PRNGKey(4), netlist_graph(synth))
    got = RewardModel(small, params, np.zeros(3), np.ones(3)).predict(synth)
    want = RewardModel(_model(physical_maps=True), params, np.zeros(3),
                       np.ones(3)).predict(synth)
    for term in want:
        np.testing.assert_allclose(got[term], want[term], rtol=1e-5, atol=1e-6)


def test_masked_smooth__matches_the_cost_smoothing_inside_the_grid():
    """On a 3 x 4 grid padded to 5 x 6, masked_smooth equals the cost's own
    smooth() on the real cells and leaves the padding at zero. Known answer
    for k = 1: H is spread along each column; row 0 of a column (a, b, c)
    gets a / 2 + b / 3 (a's window is rows 0-1, b's rows 0-2)."""
    from placer.cost.congestion import smooth
    from placer.reward_model.model import masked_smooth

    rng = np.random.default_rng(0)
    h = rng.random((3, 4)).astype(np.float32)
    v = rng.random((3, 4)).astype(np.float32)
    pad = ((0, 2), (0, 2))
    for k in (0, 1, 2):
        hs, vs = masked_smooth(jnp.asarray(np.pad(h, pad)), jnp.asarray(np.pad(v, pad)),
                               jnp.int32(k), jnp.int32(3), jnp.int32(4))
        want_h, want_v = smooth(jnp.asarray(h), jnp.asarray(v), jnp.int32(k))
        np.testing.assert_allclose(np.asarray(hs)[:3, :4], want_h, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(vs)[:3, :4], want_v, rtol=1e-6)
        assert np.abs(np.asarray(hs)[3:]).sum() == 0
        assert np.abs(np.asarray(vs)[:, 4:]).sum() == 0
    hs, _ = masked_smooth(jnp.asarray(np.pad(h, pad)), jnp.asarray(np.pad(v, pad)),
                          jnp.int32(1), jnp.int32(3), jnp.int32(4))
    np.testing.assert_allclose(hs[0, 0], h[0, 0] / 2 + h[1, 0] / 3, rtol=1e-6)


def test_physical_maps__density_and_routing_demand(synth):
    """The estimate maps of physical_maps=True: channel 0 is the density
    cost's map; the congestion channels are RUDY in tracks plus macro
    blockage. Smoothing keeps the total, so the H channel summed over the
    grid is sum_e w_e * width_e (in cells) / tracks_h + block_h * (hard
    coverage summed), with w_e the un-normalised edge weight; V likewise.
    In a cell a hard macro covers whole and nothing else touches, the H
    estimate is the macro's share of blocked tracks, as the cost's macro
    routing map (in tracks) has it: the macro part of the estimate equals
    the cost's macro map in every fully covered cell."""
    from placer.cost.congestion import macro_routing
    from placer.models.graph import graph_edges

    model = _model(physical_maps=True)
    g = netlist_graph(synth)
    params = init_params(model, jax.random.PRNGKey(5), g)
    _, state = _intermediates(model, params, g, synth)
    est = np.asarray(state["intermediates"]["spatial"]["estimates"][0])
    maps = np.asarray(state["intermediates"]["spatial"]["maps"][0])
    s = synth.settings
    r, c = s.grid_rows, s.grid_cols
    arrays = cost_arrays(synth)
    pad = arrays.node_is_macro.shape[0] - synth.num_nodes
    xy = jnp.asarray(np.pad(synth.node_xy, ((0, pad), (0, 0))))
    orient = jnp.asarray(np.pad(synth.node_orient, (0, pad)))
    np.testing.assert_allclose(est[:r, :c, 0], density_map(arrays, xy, orient),
                               atol=1e-5)
    assert np.abs(est[r:]).sum() == 0 and np.abs(est[:, c:]).sum() == 0

    send, recv, w = graph_edges(synth)
    cell = np.array([s.canvas_width / c, s.canvas_height / r])
    tracks = np.array([s.routes_per_micron_hor * cell[1],
                       s.routes_per_micron_ver * cell[0]])
    block = np.array([s.macro_routes_hor / s.routes_per_micron_hor,
                      s.macro_routes_ver / s.routes_per_micron_ver])
    ext = np.abs(synth.node_xy[send] - synth.node_xy[recv]) / cell     # (E, 2) cells
    hard = maps[..., model.cfg.map_channels]
    for axis in (0, 1):
        want = (w * ext[:, axis]).sum() / tracks[axis] + block[axis] * hard.sum()
        np.testing.assert_allclose(est[..., 1 + axis].sum(), want, rtol=2e-3)

    h_mac, _ = macro_routing(arrays, xy, orient)
    h_mac = np.asarray(h_mac) / tracks[0]
    covered = hard[:r, :c] > 1 - 1e-6
    assert covered.any()
    np.testing.assert_allclose((block[0] * hard[:r, :c])[covered], h_mac[covered],
                               rtol=1e-4)


def test_pair_wirelength__known_answer():
    """A 2 x 1 canvas, edge A (weight 1) from (0, 0) to (0.5, 1), edge B
    (weight 3) from (0, 0) to (0.25, 0), one padding edge: A = (0.5 * 2 +
    1 * 1) / 3 = 2 / 3, B = 3 * (0.25 * 2) / 3 = 0.5, mean (2/3 + 0.5) / 2 =
    7 / 12. The padding edge (weight 0 but far apart) does not count."""
    import jraph

    from placer.models.graph import NODE_FEATURES
    from placer.reward_model.model import pair_wirelength

    x = NODE_FEATURES.index("x")
    nodes = np.zeros((4, len(NODE_FEATURES)), np.float32)
    nodes[1, x:x + 2] = [0.5, 1.0]
    nodes[2, x:x + 2] = [0.25, 0.0]
    nodes[3, x:x + 2] = [1.0, 1.0]
    g = jraph.GraphsTuple(
        nodes=jnp.asarray(nodes), edges=jnp.asarray([[1.0], [3.0], [0.0]]),
        senders=jnp.asarray([0, 0, 3]), receivers=jnp.asarray([1, 2, 0]),
        globals=None, n_node=jnp.asarray([3, 1]), n_edge=jnp.asarray([2, 1]))
    got = pair_wirelength(g, jnp.asarray([2.0, 1.0]))
    np.testing.assert_allclose(got, 7 / 12, rtol=1e-6)
