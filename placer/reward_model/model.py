"""The GNN reward predictor: CT's edge-centric encoder + three regression heads.

``RewardPredictor`` maps (static netlist graph, one placement) to the three
proxy-cost terms, each standardised with the training set's mean and
standard deviation (stored in the checkpoint). ``load_reward_model`` wraps
trained parameters in a ``RewardModel`` that predicts the terms in cost
units for a ``Netlist`` and for batches of placements of one netlist.

With ``spatial`` set, a SpatialReadout adds what a mean over the graph
cannot see: where the macros and wires are. Node embeddings are scattered
onto the design's R x C grid by cell coverage (a learned density map), edge
embeddings over the bounding boxes of their two nodes by box share times the
box's half perimeter in cells (a learned RUDY map of routing demand), beside
fixed channels from the same inputs (hard and soft macro coverage, H and V
RUDY of the net weights, the grid mask). A small CNN reads the maps, and
per-cell scores are pooled as the costs pool theirs: the mean of the top 10%
of the cells (density) and of the top 5% of the H and V cells together
(congestion). Maps are padded to a fixed grid (``spatial_grid``) with a cell
mask, so designs of different grids share compiled functions.

Dimensions: V nodes, B placements, Vp padded nodes, Ep padded edges, D hidden
size, Rm x Cm the padded grid, S score channels.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph
import numpy as np

from placer.checkpoint import restore_checkpoint
from placer.config import RewardModelConfig
from placer.cost.terms import TERMS
from placer.errors import PlacerInputError
from placer.models.gnn import MLP, EdgeCentricEncoder, EncoderOutput
from placer.models.graph import (
    IS_HARD,
    IS_SOFT,
    MAX_GRID,
    METADATA_FEATURES,
    NODE_FEATURES,
    GraphSpec,
    NetlistGraph,
    netlist_graph,
    placement_graph,
)
from placer.models.spatial import (
    edge_boxes,
    masked_top_k_mean,
    node_boxes,
    scatter_boxes,
)
from placer.netlist.model import Netlist

CHECKPOINT_FORMAT = "placer-reward-model/1"
# The checkpoint shipped with the package (see load_reward_model).
DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "checkpoint")
# The earlier shipped checkpoint (graph readout only), kept because the
# shipped policy's encoder was trained from it (experiments/results_rl.md).
GRAPH_CHECKPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "checkpoint_graph")


_X = NODE_FEATURES.index("x")
_OW = NODE_FEATURES.index("oriented_width")
_ROWS = METADATA_FEATURES.index("grid_rows")
_COLS = METADATA_FEATURES.index("grid_cols")
_TRACKS = [METADATA_FEATURES.index("log_cell_tracks_hor"),
           METADATA_FEATURES.index("log_cell_tracks_ver")]
_BLOCK = [METADATA_FEATURES.index("macro_block_hor"),
          METADATA_FEATURES.index("macro_block_ver")]
_SMOOTH = METADATA_FEATURES.index("smoothing_range")
DENSITY_TOP = 0.10      # the density cost's share of cells (placer.cost.density)
CONGESTION_TOP = 0.05   # the congestion cost's, of the H and V cells together


def graph_grid(graph: jraph.GraphsTuple) -> tuple[jax.Array, jax.Array]:
    """The design's grid (rows, cols) as int32 scalars, from its metadata
    (stored as n / MAX_GRID, exact in float32); traceable."""
    meta = graph.globals[0]
    rows = jnp.round(meta[_ROWS] * MAX_GRID).astype(jnp.int32)
    cols = jnp.round(meta[_COLS] * MAX_GRID).astype(jnp.int32)
    return rows, cols


def routing_settings(graph: jraph.GraphsTuple):
    """The design's routing settings from its metadata (see netlist_metadata):
    tracks per cell (H, V) (2,), the share of tracks a macro blocks (H, V)
    (2,), and the smoothing range (int32 scalar); traceable."""
    meta = graph.globals[0]
    tracks = jnp.expm1(10.0 * meta[jnp.asarray(_TRACKS)])
    block = meta[jnp.asarray(_BLOCK)]
    smooth = jnp.round(5.0 * meta[_SMOOTH]).astype(jnp.int32)
    return tracks, block, smooth


def masked_smooth(h: jax.Array, v: jax.Array, k: jax.Array, rows: jax.Array,
                  cols: jax.Array) -> tuple[jax.Array, jax.Array]:
    """placer.cost.congestion.smooth on maps padded to (Rm, Cm): each cell's
    value spread evenly over the cells within k of it inside the design's
    rows x cols grid (V along its row, H along its column); traceable k,
    rows and cols. Padding cells stay zero."""

    def spread(n_max: int, n: jax.Array) -> jax.Array:
        i = jnp.arange(n_max)
        inside = i < n
        near = ((jnp.abs(i[:, None] - i[None, :]) <= k)
                & inside[:, None] & inside[None, :]).astype(h.dtype)
        return near / jnp.maximum(near.sum(1, keepdims=True), 1.0)   # [from, to]

    return spread(h.shape[0], rows).T @ h, v @ spread(v.shape[1], cols)


def pair_wirelength(g: jraph.GraphsTuple, canvas: jax.Array) -> jax.Array:
    """() the mean over the graph's real edges of weight x (|dx| w + |dy| h)
    / (w + h), with dx, dy the edge's two node positions apart in canvas
    units and w x h the canvas: a wirelength estimate from the node pairs
    (the cost sums each net's half perimeter over (w + h) and the nets).

    Example: a 2 x 1 canvas, edge A (weight 1) from (0, 0) to (0.5, 1), edge
    B (weight 3) from (0, 0) to (0.25, 0): A = (0.5 * 2 + 1 * 1) / 3 = 2 / 3,
    B = 3 * (0.25 * 2) / 3 = 0.5; the mean is (2 / 3 + 0.5) / 2 = 7 / 12.
    """
    xy = g.nodes[:, _X:_X + 2]
    mask = jraph.get_edge_padding_mask(g)
    c = jnp.asarray(canvas, jnp.float32)
    d = jnp.abs(xy[g.senders] - xy[g.receivers]) @ (c / c.sum())
    n = jnp.maximum(jnp.sum(mask), 1).astype(jnp.float32)
    return jnp.sum(jnp.where(mask, g.edges[:, 0] * d, 0.0)) / n


def netlist_grid(netlist: Netlist) -> tuple[int, int]:
    """(rows, cols) of a netlist's grid."""
    return int(netlist.settings.grid_rows), int(netlist.settings.grid_cols)


class SpatialReadout(nn.Module):
    """Maps on the design's grid, a CNN, and cost-like pooling of cell scores.

    Attributes:
        grid: (Rm, Cm), the padded map size (static); a design's own R x C
            grid fills its first R rows and C columns.
        channels: learned channels of the node map and of the edge map.
        cnn: widths of the 3 x 3 convolutions (ReLU, zero outside the grid).
        scores: S, score channels per pooled term.
        physical: add three estimate maps in the cost's units (see
            physical_maps): the density map and the H and V congestion
            estimates. They enter the CNN, each cell score reads its own
            estimate directly (a skip past the CNN), and their top-k means
            are two more pooled features.
    """

    grid: tuple[int, int] = (48, 64)
    channels: int = 8
    cnn: tuple[int, ...] = (16, 16, 16)
    scores: int = 4
    physical: bool = False

    @nn.compact
    def __call__(self, g: jraph.GraphsTuple, enc: EncoderOutput,
                 weight_mean: jax.Array = 1.0) -> jax.Array:
        """(F + 2 S,) the masked mean of the CNN's features, then the top-k
        means of the density and congestion scores; with ``physical``, then
        the top-k means of the density and congestion estimates (F + 2 S + 2).

        Args:
            g: the placement graph (nodes: NODE_FEATURES; edges: the net
                weight first), as placement_graph makes it.
            enc: the encoder's output on ``g``.
            weight_mean: the design's mean edge weight before normalisation
                (NetlistGraph.weight_mean); only the physical maps use it.
        """
        rm, cm = self.grid
        rows, cols = graph_grid(g)
        node_mask = jraph.get_node_padding_mask(g)
        edge_mask = jraph.get_edge_padding_mask(g)
        feats = g.nodes
        # canvas units -> units of the padded grid: a cell of the design's grid
        # is a cell of the padded one
        scale = jnp.stack([cols / cm, rows / rm]).astype(jnp.float32)       # (2,)
        xy = feats[:, _X:_X + 2]
        lo, hi = node_boxes(xy, feats[:, _OW:_OW + 2])
        # the top edge of the canvas is still inside the last row / column
        top = 1.0 - 1e-6
        lo, hi = jnp.clip(lo, 0.0, top) * scale, jnp.clip(hi, 0.0, top) * scale
        node_vals = jnp.concatenate([
            nn.Dense(self.channels, name="node_proj")(enc.nodes),
            feats[:, [IS_HARD, IS_SOFT]]], axis=-1)
        node_map = scatter_boxes(node_vals, lo, hi, node_mask, rm, cm, "cell")

        e_lo, e_hi, ext = grid_edge_boxes(g, self.grid)
        n_cells = (rows * cols).astype(jnp.float32)
        n_edges = jnp.maximum(jnp.sum(edge_mask), 1).astype(jnp.float32)
        # RUDY: a box's share of a cell times its half perimeter in cells; per
        # cell, in units of the design's mean edge count per cell
        demand = ext.sum(-1, keepdims=True) * (n_cells / n_edges)
        weight = g.edges[:, :1]
        edge_vals = jnp.concatenate([
            nn.Dense(self.channels, name="edge_proj")(enc.edges) * demand,
            weight * ext * (n_cells / n_edges)], axis=-1)
        edge_map = scatter_boxes(edge_vals, e_lo, e_hi, edge_mask, rm, cm, "box")

        valid = ((jnp.arange(rm) < rows)[:, None]
                 & (jnp.arange(cm) < cols)[None, :])                      # (Rm, Cm)
        vm = valid[..., None].astype(jnp.float32)
        maps = [node_map, edge_map, vm]
        if self.physical:
            est = physical_maps(g, node_map[..., self.channels],
                                node_map[..., self.channels + 1], weight_mean,
                                (rm, cm), boxes=(e_lo, e_hi, ext))
            maps.append(est)
            self.sow("intermediates", "estimates", est)
        x = jnp.concatenate(maps, axis=-1)
        # the input maps, for inspection: apply(..., mutable=["intermediates"])
        self.sow("intermediates", "maps", x)
        for i, width in enumerate(self.cnn):
            x = nn.relu(nn.Conv(width, (3, 3), padding="SAME", name=f"conv_{i}")(x))
            x = x * vm
        flat = x.reshape(rm * cm, -1)
        cell = valid.reshape(-1)
        cells2 = jnp.concatenate([cell, cell])
        n = rows * cols
        # the costs' k: floor(10% of R C), floor(5% of the 2 R C H and V cells)
        k_den = n * 10 // 100
        k_cong = 2 * n * 5 // 100
        kmax_den = max(1, int(rm * cm * DENSITY_TOP))
        kmax_cong = max(1, int(2 * rm * cm * CONGESTION_TOP))
        if self.physical:
            e = est.reshape(rm * cm, 3)
            density = nn.Dense(self.scores, name="density_score")(
                jnp.concatenate([flat, e[:, :1]], -1))
            score = nn.Dense(self.scores, name="congestion_score")
            cong = jnp.concatenate([score(jnp.concatenate([flat, e[:, 1:2]], -1)),
                                    score(jnp.concatenate([flat, e[:, 2:]], -1))])
        else:
            density = nn.Dense(self.scores, name="density_score")(flat)    # (N, S)
            cong = nn.Dense(2 * self.scores, name="congestion_score")(flat)
            cong = jnp.concatenate([cong[:, :self.scores], cong[:, self.scores:]])
        pooled = [
            jnp.sum(flat * cell[:, None], 0) / jnp.maximum(n, 1).astype(jnp.float32),
            masked_top_k_mean(density, cell, k_den, kmax_den),
            masked_top_k_mean(cong, cells2, k_cong, kmax_cong),
        ]
        if self.physical:
            pooled += [
                masked_top_k_mean(e[:, :1], cell, k_den, kmax_den),
                masked_top_k_mean(jnp.concatenate([e[:, 1:2], e[:, 2:]]), cells2,
                                  k_cong, kmax_cong),
            ]
        return jnp.concatenate(pooled)


def grid_edge_boxes(g: jraph.GraphsTuple, grid: tuple[int, int]
                    ) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Each edge's bounding box on the padded (Rm, Cm) grid: (lo, hi), (E, 2)
    x, y in units of the padded canvas (a cell of the design's grid is a cell
    of the padded one; node centres clipped into the canvas, its top edge
    still inside the last row / column), and the box's extent in cells, (E, 2).
    """
    rm, cm = grid
    rows, cols = graph_grid(g)
    top = 1.0 - 1e-6
    scale = jnp.stack([cols / cm, rows / rm]).astype(jnp.float32)
    xy = jnp.clip(g.nodes[:, _X:_X + 2], 0.0, top) * scale
    lo, hi = edge_boxes(xy, g.senders, g.receivers)
    return lo, hi, (hi - lo) * jnp.asarray([cm, rm], jnp.float32)


def physical_maps(g: jraph.GraphsTuple, hard: jax.Array, soft: jax.Array,
                  weight_mean: jax.Array, grid: tuple[int, int],
                  boxes: tuple[jax.Array, jax.Array, jax.Array] | None = None
                  ) -> jax.Array:
    """(Rm, Cm, 3) estimates of the cost maps from the placement graph alone:
    the density map, then the H and V congestion maps.

    * density: hard + soft macro coverage of each cell, which is the density
      cost's map exactly (tests/reward_model/test_spatial_readout.py).
    * congestion: RUDY instead of the cost's L routes. Each edge's (summed,
      un-normalised) net weight times its bounding box's width in cells is
      spread over the box by box share (H demand; the height gives V), in
      tracks: divided by the tracks per cell, then smoothed over the
      design's smoothing range as the cost smooths net routing. Hard macros
      add the share of tracks they block times their coverage of the cell
      (the cost counts the covered height, for H, in each cell the macro
      overlaps; the two agree in fully covered cells).

    On the held-out data (experiments/results_pretrain.md) the top-5% mean
    of these congestion estimates ranks the true congestion of Ariane133's
    placements with Kendall tau 0.95; RUDY without the macros ranks it at
    0.02.

    Args:
        g: the placement graph (placement_graph), edges' first column the
            normalised net weight.
        hard, soft: (Rm, Cm) hard and soft macro coverage of each cell.
        weight_mean: the mean weight before normalisation.
        grid: (Rm, Cm), static.
        boxes: grid_edge_boxes(g, grid) when the caller already has them.
    """
    rm, cm = grid
    rows, cols = graph_grid(g)
    tracks, block, k = routing_settings(g)
    lo, hi, ext = grid_edge_boxes(g, grid) if boxes is None else boxes
    weight = g.edges[:, :1] * weight_mean
    rudy = scatter_boxes(weight * ext, lo, hi, jraph.get_edge_padding_mask(g),
                         rm, cm, "box")
    h, v = masked_smooth(rudy[..., 0] / tracks[0], rudy[..., 1] / tracks[1], k,
                         rows, cols)
    return jnp.stack([hard + soft, h + block[0] * hard, v + block[1] * hard], -1)


class RewardPredictor(nn.Module):
    """Encoder + graph readout + one MLP head per cost term.

    Attributes:
        cfg: the model's sizes and inputs (placer.config.RewardModelConfig,
            the one source of their defaults and meanings): the encoder's
            hidden / num_layers / mlp_layers (EdgeCentricEncoder), each
            head's head_hidden widths (then a linear output), edge_distance
            (the edge MLPs read each pair's |dx|, |dy| besides the net
            weight), the optional SpatialReadout (spatial, spatial_grid,
            map_channels, cnn_channels, cell_scores, physical_maps) and
            wirelength_estimate (the heads also read pair_wirelength).
    """

    cfg: RewardModelConfig = RewardModelConfig()

    @classmethod
    def from_config(cls, cfg: RewardModelConfig) -> RewardPredictor:
        return cls(cfg)

    @nn.compact
    def __call__(self, graph: NetlistGraph, xy: jax.Array,
                 orient: jax.Array | None = None,
                 placed: jax.Array | None = None) -> jax.Array:
        """Standardised predictions for one placement.

        Args:
            graph: the design's static graph (unbatched).
            xy: (V', 2) node centres, microns (see placement_features).
            orient: (V',) orientation codes; None: all N.
            placed: (V',) bool; None: all placed.

        Returns:
            (3,) standardised wirelength, density and congestion.
        """
        c = self.cfg
        g = placement_graph(graph, xy, orient, placed, c.edge_distance)
        out = EdgeCentricEncoder(c.hidden, c.num_layers, c.mlp_layers,
                                 name="encoder")(g)
        h = out.readout()
        if c.spatial:
            h = jnp.concatenate([h, SpatialReadout(
                tuple(c.spatial_grid), c.map_channels,
                tuple(c.cnn_channels), c.cell_scores, c.physical_maps,
                name="spatial")(g, out, graph.weight_mean)])
        if c.wirelength_estimate:
            h = jnp.concatenate([h, pair_wirelength(g, graph.canvas)[None]])
        heads = [MLP((*c.head_hidden, 1), activate_final=False,
                     name=f"{term}_head")(h)[0] for term in TERMS]
        return jnp.stack(heads)


def init_params(model: RewardPredictor, key: jax.Array, graph: NetlistGraph) -> Any:
    """Initial parameters for graphs padded like ``graph`` (any placement).

    Jitted: one compiled program instead of the init's hundreds of eager ops
    (synth_small with the physical maps: about 4 s against 14 s).
    """
    vp = graph.graph.nodes.shape[0]
    return jax.jit(model.init)(key, graph, jnp.zeros((vp, 2), jnp.float32))


def batch_apply(model: RewardPredictor, params: Any, graph: NetlistGraph,
                xy: jax.Array, orient: jax.Array) -> jax.Array:
    """(B, 3) standardised predictions of B placements of one graph (vmap)."""
    return jax.vmap(lambda p, o: model.apply(params, graph, p, o))(xy, orient)


def model_meta(cfg: RewardModelConfig, mean: np.ndarray, std: np.ndarray,
               **extra: Any) -> dict:
    """The JSON metadata a reward-model checkpoint carries."""
    return {
        "format": CHECKPOINT_FORMAT,
        "model": dataclasses.asdict(cfg),
        "terms": list(TERMS),
        "target_mean": [float(x) for x in mean],
        "target_std": [float(x) for x in std],
        "node_features": list(NODE_FEATURES),
        "metadata_features": list(METADATA_FEATURES),
        **extra,
    }


def config_from_meta(meta: dict) -> RewardModelConfig:
    """The model config stored in checkpoint metadata."""
    return RewardModelConfig(**meta["model"])


@jax.jit
def _denormalise(z: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    return z * std + mean


class RewardModel:
    """A trained reward predictor, ready to score placements.

    Attributes:
        module: the RewardPredictor.
        params: its parameters.
        mean, std: (3,) target statistics (predictions = z * std + mean).
        meta: the checkpoint metadata.
    """

    def __init__(self, module: RewardPredictor, params: Any, mean, std,
                 meta: dict | None = None):
        self.module = module
        self.params = params
        self.mean = np.asarray(mean, np.float32)
        self.std = np.asarray(std, np.float32)
        self.meta = meta or {}
        self._applies: dict[tuple[int, int] | None, Any] = {}

    def _apply_for(self, netlist: Netlist):
        """The jitted batch predictor for the netlist's grid. A spatial model
        pads its maps to its ``spatial_grid``; a larger grid gets maps padded
        to it (rounded up to 16) instead, with the same parameters: the
        convolutions and the pooling do not depend on the map size, and map
        padding changes no prediction
        (tests/reward_model/test_spatial_readout.py)."""
        module, grid = self.module, None
        if module.cfg.spatial:
            rows, cols = netlist_grid(netlist)
            rm, cm = module.cfg.spatial_grid
            if rows > rm or cols > cm:
                grid = (max(rm, -(-rows // 16) * 16), max(cm, -(-cols // 16) * 16))
                module = module.clone(
                    cfg=dataclasses.replace(module.cfg, spatial_grid=grid))
        if grid not in self._applies:
            self._applies[grid] = jax.jit(
                lambda params, graph, xy, orient, mean, std: _denormalise(
                    batch_apply(module, params, graph, xy, orient), mean, std))
        return self._applies[grid]

    def graph(self, netlist: Netlist, spec: GraphSpec | None = None) -> NetlistGraph:
        """The netlist's graph, padded to ``spec`` (default: rounded to 64)."""
        return netlist_graph(netlist, spec)

    def predict_batch(self, netlist: Netlist, xy: np.ndarray,
                      orient: np.ndarray | None = None,
                      spec: GraphSpec | None = None) -> dict[str, np.ndarray]:
        """Predicted cost terms of B placements of one netlist.

        Args:
            netlist: the design (its own placement is not used).
            xy: (B, V, 2) node centres, microns.
            orient: (B, V) orientation codes; default: the netlist's.
            spec: graph padding; default: the netlist's own, rounded to 64.

        Returns:
            dict of (B,) float32 arrays: wirelength, density, congestion.
        """
        v = netlist.num_nodes
        xy = np.asarray(xy, np.float32)
        if xy.ndim != 3 or xy.shape[1:] != (v, 2):
            raise PlacerInputError(f"xy must have shape (B, {v}, 2), got {xy.shape}")
        if orient is None:
            orient = np.broadcast_to(netlist.node_orient, xy.shape[:2])
        orient = np.asarray(orient, np.int32)
        if orient.shape != xy.shape[:2]:
            raise PlacerInputError(f"orient must have shape {xy.shape[:2]}, got "
                                   f"{orient.shape}")
        g = self.graph(netlist, spec)
        out = np.asarray(self._apply_for(netlist)(self.params, g, xy, orient,
                                                  self.mean, self.std))
        return {term: out[:, i] for i, term in enumerate(TERMS)}

    def predict(self, netlist: Netlist) -> dict[str, float]:
        """Predicted wirelength, density and congestion of the netlist's own
        placement."""
        out = self.predict_batch(netlist, netlist.node_xy[None],
                                 netlist.node_orient[None])
        return {k: float(v[0]) for k, v in out.items()}


def load_reward_model(path: str | os.PathLike | None = None,
                      step: int | None = None) -> RewardModel:
    """Loads a trained reward predictor.

    Args:
        path: a checkpoint directory written by placer-pretrain (its
            ``<output_dir>/model`` or ``<output_dir>/checkpoints``, or the
            output_dir itself); None: the checkpoint shipped with placer in
            placer/reward_model/checkpoint/ (GRAPH_CHECKPOINT is the
            earlier one, graph readout only).
        step: the step to load; None: the newest.

    Raises:
        PlacerInputError: no checkpoint there, or not a reward-model checkpoint.
    """
    if path is None:
        path = DEFAULT_CHECKPOINT
        if not os.path.isdir(path) or not os.listdir(path):
            raise PlacerInputError(
                "no reward-model checkpoint is shipped with placer yet; train one "
                "with `placer-pretrain dataset=<dataset dir> output_dir=<dir>` and "
                "load it with load_reward_model('<dir>/model') (or copy "
                f"<dir>/model to {path})", path)
    path = os.fspath(path)
    if os.path.isdir(os.path.join(path, "model")):
        path = os.path.join(path, "model")
    ckpt = restore_checkpoint(path, step)
    if ckpt.meta.get("format") != CHECKPOINT_FORMAT:
        raise PlacerInputError(
            f"not a reward-model checkpoint (format {ckpt.meta.get('format')!r}, "
            f"expected {CHECKPOINT_FORMAT!r})", path)
    module = RewardPredictor.from_config(config_from_meta(ckpt.meta))
    return RewardModel(module, ckpt.params, ckpt.meta["target_mean"],
                       ckpt.meta["target_std"], ckpt.meta)


__all__ = [
    "DEFAULT_CHECKPOINT",
    "GRAPH_CHECKPOINT",
    "TERMS",
    "RewardModel",
    "RewardPredictor",
    "SpatialReadout",
    "batch_apply",
    "init_params",
    "load_reward_model",
    "model_meta",
]
