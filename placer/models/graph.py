"""Netlist -> padded jraph graph, and the per-placement node features.

The graph is Circuit Training's: nodes are the hard macros, soft macros
(standard-cell clusters) and ports, in netlist order; there is one edge per
connected node pair. Every net adds a (driver node, sink node) pair for each
of its sinks, weighted by the net weight; pairs are merged over nets without
regard to direction (summed weights), self-pairs are dropped, and the weights
are divided by their mean, as in CT's ``observation_extractor``. Each edge is
stored once (``senders < receivers``); the encoder reads it in both
directions and averages, as CT does.

Padding follows jraph's ``pad_with_graphs``: the GraphsTuple holds two graphs,
the design and a padding graph that owns the padding nodes (at least one) and
the padding edges (``V -> V``, weight 0). ``jraph.get_node_padding_mask`` and
``jraph.get_edge_padding_mask`` give the masks. Sizes come from a hashable
``GraphSpec`` rounded up to multiples of 64 (Flax's ogbg example), so designs
of similar size share compiled functions.

Static features are built once per design on the host (numpy); the dynamic
ones (positions, orientations, placed flags) come from ``placement_features``,
a pure JAX function, so a batch of placements of one design is a ``vmap``
over ``(xy, orient)`` with the graph unbatched.

Dimensions: V nodes, Vp padded nodes, Ep padded edges, F node features,
M metadata features.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import jraph
import numpy as np
from flax import struct

from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_SWAPS_WH,
    PORT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
)

PAD_TO = 64
NUM_ORIENTATIONS = 8
# Static node feature columns (graph.nodes of NetlistGraph).
STATIC_FEATURES = ("width", "height", "is_port", "is_hard", "is_soft", "fixed")
W, H, IS_PORT, IS_HARD, IS_SOFT, FIXED = range(len(STATIC_FEATURES))
# Dynamic node feature columns, appended after the static ones.
DYNAMIC_FEATURES = (("x", "y", "placed")
                    + tuple(f"orient_{i}" for i in range(NUM_ORIENTATIONS))
                    + ("oriented_width", "oriented_height"))
NODE_FEATURES = STATIC_FEATURES + DYNAMIC_FEATURES
# Netlist metadata, the readout's fixed-length global vector (see
# netlist_metadata for the formulas).
METADATA_FEATURES = (
    "log_hard_macros", "log_soft_macros", "log_ports", "log_edges", "log_nets",
    "log_mean_net_degree", "log_aspect", "hard_utilization", "soft_utilization",
    "grid_cols", "grid_rows", "log_cell_tracks_hor", "log_cell_tracks_ver",
    "macro_block_hor", "macro_block_ver", "smoothing_range", "log_canvas_side",
)
# Where unplaced nodes are put (CT's default_location_x / _y).
UNPLACED_XY = 0.5
MAX_GRID = 128.0   # CT's ObservationConfig.max_grid_size


def round_up(n: int, multiple: int = PAD_TO) -> int:
    """``n`` rounded up to a multiple of ``multiple`` (at least one multiple)."""
    return max(multiple, -(-n // multiple) * multiple)


@dataclass(frozen=True)
class GraphSpec:
    """Static padded graph sizes (hashable, closed over by jitted code).

    Attributes:
        max_nodes: Vp, node slots; at least V + 1 (one padding node).
        max_edges: Ep, edge slots (each undirected edge once); at least E.
    """

    max_nodes: int
    max_edges: int

    @classmethod
    def fit(cls, sizes: list[tuple[int, int]], pad_to: int = PAD_TO) -> GraphSpec:
        """The smallest spec (rounded up to ``pad_to``) holding every
        ``(num_nodes, num_edges)`` in ``sizes``."""
        if not sizes:
            raise PlacerInputError("GraphSpec.fit needs at least one graph size")
        v = max(s[0] for s in sizes)
        e = max(s[1] for s in sizes)
        return cls(round_up(v + 1, pad_to), round_up(e, pad_to))

    @classmethod
    def for_netlists(cls, netlists: list[Netlist], pad_to: int = PAD_TO) -> GraphSpec:
        """The smallest spec that holds the graph of each netlist."""
        return cls.fit([graph_size(nl) for nl in netlists], pad_to)


@struct.dataclass
class NetlistGraph:
    """The static part of a design's graph (constant per design).

    Attributes:
        graph: padded GraphsTuple of two graphs (the design, then padding):
            nodes (Vp, len(STATIC_FEATURES)) f32, edges (Ep, 1) f32 weight
            (mean 1 over real edges, 0 for padding), senders / receivers
            (Ep,) i32, n_node / n_edge (2,) i32, globals (2, M) f32 with the
            design's metadata in row 0 and zeros in row 1.
        canvas: (2,) f32 canvas width and height, microns.
        weight_mean: () f32, the mean summed net weight of the real edges
            before normalisation (edges hold weight / weight_mean), so that
            readouts can count routing demand in nets (1 with no edges).
    """

    graph: jraph.GraphsTuple
    canvas: jax.Array
    weight_mean: jax.Array = 1.0

    @property
    def num_nodes(self) -> jax.Array:
        """V, the real node count (an array: it may be traced)."""
        return self.graph.n_node[..., 0]


def _check_supported(netlist: Netlist) -> None:
    n_std = int(np.sum(netlist.node_kind == STDCELL))
    if n_std:
        raise PlacerInputError(
            f"netlist {netlist.name!r} has {n_std} standard cells; the graph "
            f"model reads clustered designs only (hard macros, soft macros and "
            f"ports): cluster the standard cells into soft macros first, as "
            f"Circuit Training's grouping does")


def graph_edges(netlist: Netlist) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merged undirected (driver, sink) node pairs of all nets.

    Returns:
        senders (E,) int32, receivers (E,) int32 with senders < receivers,
        sorted lexicographically, and the summed net weight (E,) float64
        (unnormalised) of each pair. Pairs whose summed weight is not positive
        are dropped.
    """
    ptr = netlist.net_ptr
    deg = np.diff(ptr)
    n_entries = int(ptr[-1])
    owner = netlist.pin_node[netlist.net_pins].astype(np.int64)   # (entries,)
    entry_net = np.repeat(np.arange(netlist.num_nets), deg)
    is_driver = np.zeros(n_entries, bool)
    is_driver[ptr[:-1][deg > 0]] = True
    sink = np.flatnonzero(~is_driver)
    u = owner[ptr[entry_net[sink]]]          # the net's driver node
    v = owner[sink]
    w = netlist.net_weight[entry_net[sink]]
    keep = u != v
    u, v, w = u[keep], v[keep], w[keep]
    lo, hi = np.minimum(u, v), np.maximum(u, v)
    key = lo * netlist.num_nodes + hi
    uniq, inverse = np.unique(key, return_inverse=True)
    weight = np.bincount(inverse, weights=w, minlength=len(uniq))
    pos = weight > 0
    uniq, weight = uniq[pos], weight[pos]
    senders = (uniq // netlist.num_nodes).astype(np.int32)
    receivers = (uniq % netlist.num_nodes).astype(np.int32)
    return senders, receivers, weight


def graph_size(netlist: Netlist) -> tuple[int, int]:
    """(V, E): the node and edge counts of the netlist's graph."""
    _check_supported(netlist)
    return netlist.num_nodes, len(graph_edges(netlist)[0])


def netlist_metadata(netlist: Netlist, num_edges: int) -> np.ndarray:
    """(M,) float32 design-level features, in the order of METADATA_FEATURES.

    Counts enter as log1p(n) / 10; areas as fractions of the canvas area; the
    grid as cols / 128 and rows / 128 (CT's max grid); routing as the log of
    the tracks per grid cell (routes per micron x cell side) and the share of
    tracks a macro blocks (macro routes / routes per micron); the smoothing
    range / 5; the canvas side as log1p(sqrt(area)) / 10.
    """
    s = netlist.settings
    kind = netlist.node_kind
    area = netlist.node_size[:, 0] * netlist.node_size[:, 1]
    canvas_area = s.canvas_width * s.canvas_height
    n_nets = netlist.num_nets
    mean_degree = float(np.mean(netlist.net_degree)) if n_nets else 0.0
    cell_w, cell_h = s.canvas_width / s.grid_cols, s.canvas_height / s.grid_rows

    def log_count(n: float) -> float:
        return math.log1p(n) / 10.0

    values = (
        log_count(np.sum(kind == HARD_MACRO)),
        log_count(np.sum(kind == SOFT_MACRO)),
        log_count(np.sum(kind == PORT)),
        log_count(num_edges),
        log_count(n_nets),
        math.log1p(mean_degree),
        math.log(s.canvas_width / s.canvas_height),
        float(np.sum(area[kind == HARD_MACRO])) / canvas_area,
        float(np.sum(area[kind == SOFT_MACRO])) / canvas_area,
        s.grid_cols / MAX_GRID,
        s.grid_rows / MAX_GRID,
        math.log1p(s.routes_per_micron_hor * cell_h) / 10.0,
        math.log1p(s.routes_per_micron_ver * cell_w) / 10.0,
        s.macro_routes_hor / s.routes_per_micron_hor,
        s.macro_routes_ver / s.routes_per_micron_ver,
        s.smoothing_range / 5.0,
        math.log1p(math.sqrt(canvas_area)) / 10.0,
    )
    return np.asarray(values, dtype=np.float32)


def netlist_graph(netlist: Netlist, spec: GraphSpec | None = None) -> NetlistGraph:
    """The padded static graph of a clustered netlist (host side, numpy).

    Args:
        netlist: a design of hard macros, soft macros and ports (and its
            settings: canvas, grid, routing).
        spec: padded sizes; None: the smallest spec that fits (rounded to 64).

    Returns:
        A NetlistGraph of numpy arrays (move it with jax.device_put, or pass it
        to jitted code as is).

    Raises:
        PlacerInputError: standard cells in the netlist, or a spec too small.
    """
    _check_supported(netlist)
    senders, receivers, weight = graph_edges(netlist)
    v_n, e_n = netlist.num_nodes, len(senders)
    if spec is None:
        spec = GraphSpec.fit([(v_n, e_n)])
    if spec.max_nodes < v_n + 1 or spec.max_edges < e_n:
        raise PlacerInputError(
            f"netlist {netlist.name!r} needs a graph of {v_n} + 1 nodes and {e_n} "
            f"edges; {spec} is too small")
    s = netlist.settings
    canvas = np.array([s.canvas_width, s.canvas_height], dtype=np.float64)

    nodes = np.zeros((spec.max_nodes, len(STATIC_FEATURES)), np.float32)
    kind = netlist.node_kind
    nodes[:v_n, W] = netlist.node_size[:, 0] / canvas[0]
    nodes[:v_n, H] = netlist.node_size[:, 1] / canvas[1]
    nodes[:v_n, IS_PORT] = kind == PORT
    nodes[:v_n, IS_HARD] = kind == HARD_MACRO
    nodes[:v_n, IS_SOFT] = kind == SOFT_MACRO
    nodes[:v_n, FIXED] = netlist.node_fixed

    edges = np.zeros((spec.max_edges, 1), np.float32)
    if e_n:
        edges[:e_n, 0] = weight / np.mean(weight)
    send = np.full(spec.max_edges, v_n, np.int32)   # padding edges: V -> V
    recv = np.full(spec.max_edges, v_n, np.int32)
    send[:e_n], recv[:e_n] = senders, receivers

    globals_ = np.zeros((2, len(METADATA_FEATURES)), np.float32)
    globals_[0] = netlist_metadata(netlist, e_n)
    graph = jraph.GraphsTuple(
        nodes=nodes, edges=edges, senders=send, receivers=recv, globals=globals_,
        n_node=np.array([v_n, spec.max_nodes - v_n], np.int32),
        n_edge=np.array([e_n, spec.max_edges - e_n], np.int32))
    weight_mean = np.float32(np.mean(weight) if e_n else 1.0)
    return NetlistGraph(graph=graph, canvas=canvas.astype(np.float32),
                        weight_mean=weight_mean)


def pad_nodes(x: jax.Array, num: int, value=0) -> jax.Array:
    """``x`` (V', ...) cut or padded with ``value`` to (num, ...) along axis 0.

    Static shapes only (V' and num are known at trace time), so this is fine
    under jit: rows beyond a design's V are padding either way.
    """
    x = jnp.asarray(x)
    if x.shape[0] >= num:
        return x[:num]
    pad = [(0, num - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
    return jnp.pad(x, pad, constant_values=value)


def placement_features(netlist_graph: NetlistGraph, xy: jax.Array,
                       orient: jax.Array | None = None,
                       placed: jax.Array | None = None) -> jax.Array:
    """Node features of one placement. Pure JAX: jit and vmap over (xy, orient).

    Args:
        netlist_graph: the design's static graph (Vp node slots).
        xy: (V', 2) node centres in microns, V' any length; rows beyond Vp are
            cut and missing rows are padding.
        orient: (V',) int orientation codes (placer.netlist.model.ORIENTATIONS;
            -1 reads as N); only hard macros use them. None: all N.
        placed: (V',) bool; unplaced nodes sit at (0.5, 0.5) with no
            orientation, as in CT's observations. None: all placed.

    Returns:
        (Vp, len(NODE_FEATURES)) float32: the static features, then x, y
        (normalised by the canvas to [0, 1]), placed, the orientation one-hot
        (8, hard macros only) and the oriented width and height (normalised).
        Padding rows are zero.
    """
    g = netlist_graph.graph
    static = jnp.asarray(g.nodes)
    vp = static.shape[0]
    node_mask = jraph.get_node_padding_mask(g)
    xy = pad_nodes(jnp.asarray(xy, jnp.float32), vp)
    orient = (jnp.zeros(vp, jnp.int32) if orient is None
              else pad_nodes(jnp.asarray(orient, jnp.int32), vp))
    placed = (jnp.ones(vp, bool) if placed is None
              else pad_nodes(jnp.asarray(placed, bool), vp))
    placed = placed & node_mask

    xy_n = xy / jnp.asarray(netlist_graph.canvas, jnp.float32)
    xy_n = jnp.where(placed[:, None], xy_n, UNPLACED_XY)
    is_hard = static[:, IS_HARD] > 0
    code = jnp.maximum(orient, 0)
    one_hot = jax.nn.one_hot(code, NUM_ORIENTATIONS, dtype=jnp.float32)
    one_hot = one_hot * (is_hard & placed)[:, None]
    swap = jnp.asarray(ORIENT_SWAPS_WH)[code] & is_hard
    wh = static[:, [W, H]]
    oriented = jnp.where(swap[:, None], wh[:, ::-1], wh)
    dynamic = jnp.concatenate(
        [xy_n, placed[:, None].astype(jnp.float32), one_hot, oriented], axis=-1)
    features = jnp.concatenate([static, dynamic], axis=-1)
    return jnp.where(node_mask[:, None], features, 0.0)


def placement_graph(netlist_graph: NetlistGraph, xy: jax.Array,
                    orient: jax.Array | None = None,
                    placed: jax.Array | None = None,
                    edge_distance: bool = False) -> jraph.GraphsTuple:
    """The design's GraphsTuple with the node features of one placement.

    Same arguments as placement_features; nodes are (Vp, len(NODE_FEATURES)).
    With ``edge_distance`` the edges are (Ep, 3): the net weight, then the
    |dx| and |dy| of the edge's two nodes in canvas units (the placement's
    half-perimeter contribution of that pair; zero on padding edges).
    Circuit Training's model has the weight alone.
    """
    nodes = placement_features(netlist_graph, xy, orient, placed)
    g = jax.tree.map(jnp.asarray, netlist_graph.graph)
    if edge_distance:
        xy_n = nodes[:, len(STATIC_FEATURES):len(STATIC_FEATURES) + 2]
        d = jnp.abs(xy_n[g.senders] - xy_n[g.receivers])
        d = d * jraph.get_edge_padding_mask(g)[:, None]
        g = g._replace(edges=jnp.concatenate([g.edges, d], axis=-1))
    return g._replace(nodes=nodes)


def stack_graphs(graphs: list[NetlistGraph]) -> NetlistGraph:
    """Stacks graphs padded to one GraphSpec along a new leading axis (K, ...)."""
    shapes = {(np.shape(g.graph.nodes), np.shape(g.graph.edges)) for g in graphs}
    if len(shapes) != 1:
        raise PlacerInputError("graphs to stack must share one GraphSpec")
    return jax.tree.map(lambda *a: np.stack(a), *graphs)


def take_graph(graphs: NetlistGraph, index: jax.Array) -> NetlistGraph:
    """Graph ``index`` of a stack made by stack_graphs (traceable)."""
    return jax.tree.map(lambda a: jnp.asarray(a)[index], graphs)
