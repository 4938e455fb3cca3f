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

TERMS = ("wirelength", "density", "congestion")
CHECKPOINT_FORMAT = "placer-reward-model/1"
# The checkpoint shipped with the package (see load_reward_model).
DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "checkpoint")


_X = NODE_FEATURES.index("x")
_OW = NODE_FEATURES.index("oriented_width")
_ROWS = METADATA_FEATURES.index("grid_rows")
_COLS = METADATA_FEATURES.index("grid_cols")
DENSITY_TOP = 0.10      # the density cost's share of cells (placer.cost.density)
CONGESTION_TOP = 0.05   # the congestion cost's, of the H and V cells together


def graph_grid(graph: jraph.GraphsTuple) -> tuple[jax.Array, jax.Array]:
    """The design's grid (rows, cols) as int32 scalars, from its metadata
    (stored as n / MAX_GRID, exact in float32); traceable."""
    meta = graph.globals[0]
    rows = jnp.round(meta[_ROWS] * MAX_GRID).astype(jnp.int32)
    cols = jnp.round(meta[_COLS] * MAX_GRID).astype(jnp.int32)
    return rows, cols


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
    """

    grid: tuple[int, int] = (48, 64)
    channels: int = 8
    cnn: tuple[int, ...] = (16, 16, 16)
    scores: int = 4

    @nn.compact
    def __call__(self, g: jraph.GraphsTuple, enc: EncoderOutput) -> jax.Array:
        """(F + 2 S,) the masked mean of the CNN's features, then the top-k
        means of the density and congestion scores.

        Args:
            g: the placement graph (nodes: NODE_FEATURES; edges: the net
                weight first), as placement_graph makes it.
            enc: the encoder's output on ``g``.
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

        c_xy = jnp.clip(xy, 0.0, top) * scale
        e_lo, e_hi = edge_boxes(c_xy, g.senders, g.receivers)
        ext = (e_hi - e_lo) * jnp.asarray([cm, rm], jnp.float32)            # cells
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
        x = jnp.concatenate([node_map, edge_map, vm], axis=-1)
        # the input maps, for inspection: apply(..., mutable=["intermediates"])
        self.sow("intermediates", "maps", x)
        for i, width in enumerate(self.cnn):
            x = nn.relu(nn.Conv(width, (3, 3), padding="SAME", name=f"conv_{i}")(x))
            x = x * vm
        flat = x.reshape(rm * cm, -1)
        cell = valid.reshape(-1)
        n = rows * cols
        density = nn.Dense(self.scores, name="density_score")(flat)        # (N, S)
        cong = nn.Dense(2 * self.scores, name="congestion_score")(flat)
        cong = jnp.concatenate([cong[:, :self.scores], cong[:, self.scores:]])
        # the costs' k: floor(10% of R C), floor(5% of the 2 R C H and V cells)
        k_den = n * 10 // 100
        k_cong = 2 * n * 5 // 100
        pooled = [
            jnp.sum(flat * cell[:, None], 0) / jnp.maximum(n, 1).astype(jnp.float32),
            masked_top_k_mean(density, cell, k_den,
                              max(1, int(rm * cm * DENSITY_TOP))),
            masked_top_k_mean(cong, jnp.concatenate([cell, cell]), k_cong,
                              max(1, int(2 * rm * cm * CONGESTION_TOP))),
        ]
        return jnp.concatenate(pooled)


class RewardPredictor(nn.Module):
    """Encoder + graph readout + one MLP head per cost term.

    Attributes:
        hidden, num_layers, mlp_layers: the encoder's sizes (EdgeCentricEncoder).
        head_hidden: hidden widths of each head (then a linear output).
        edge_distance: give the edge MLPs each pair's |dx|, |dy| besides the
            net weight (see placement_graph); CT's model has the weight only.
        spatial: add a SpatialReadout (the heads read both readouts).
        spatial_grid, map_channels, cnn_channels, cell_scores: its sizes
            (SpatialReadout's grid, channels, cnn, scores).
    """

    hidden: int = 64
    num_layers: int = 3
    mlp_layers: int = 1
    head_hidden: tuple[int, ...] = (64, 32)
    edge_distance: bool = False
    spatial: bool = False
    spatial_grid: tuple[int, int] = (48, 64)
    map_channels: int = 8
    cnn_channels: tuple[int, ...] = (16, 16, 16)
    cell_scores: int = 4

    @classmethod
    def from_config(cls, cfg: RewardModelConfig) -> RewardPredictor:
        return cls(hidden=cfg.hidden, num_layers=cfg.num_layers,
                   mlp_layers=cfg.mlp_layers, head_hidden=tuple(cfg.head_hidden),
                   edge_distance=cfg.edge_distance, spatial=cfg.spatial,
                   spatial_grid=tuple(cfg.spatial_grid),
                   map_channels=cfg.map_channels,
                   cnn_channels=tuple(cfg.cnn_channels),
                   cell_scores=cfg.cell_scores)

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
        g = placement_graph(graph, xy, orient, placed, self.edge_distance)
        out = EdgeCentricEncoder(self.hidden, self.num_layers, self.mlp_layers,
                                 name="encoder")(g)
        h = out.readout()
        if self.spatial:
            h = jnp.concatenate([h, SpatialReadout(
                tuple(self.spatial_grid), self.map_channels,
                tuple(self.cnn_channels), self.cell_scores, name="spatial")(g, out)])
        heads = [MLP((*self.head_hidden, 1), activate_final=False,
                     name=f"{term}_head")(h)[0] for term in TERMS]
        return jnp.stack(heads)


def init_params(model: RewardPredictor, key: jax.Array, graph: NetlistGraph) -> Any:
    """Initial parameters for graphs padded like ``graph`` (any placement)."""
    vp = graph.graph.nodes.shape[0]
    return model.init(key, graph, jnp.zeros((vp, 2), jnp.float32))


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
        self._apply = jax.jit(lambda params, graph, xy, orient, mean, std: _denormalise(
            batch_apply(module, params, graph, xy, orient), mean, std))

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
        if self.module.spatial:
            rows, cols = netlist_grid(netlist)
            rm, cm = self.module.spatial_grid
            if rows > rm or cols > cm:
                raise PlacerInputError(
                    f"netlist {netlist.name!r} has a {rows} x {cols} grid; this "
                    f"model's spatial readout takes at most {rm} x {cm}")
        g = self.graph(netlist, spec)
        out = np.asarray(self._apply(self.params, g, xy, orient, self.mean, self.std))
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
            placer/reward_model/checkpoint/.
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
    "TERMS",
    "RewardModel",
    "RewardPredictor",
    "SpatialReadout",
    "batch_apply",
    "init_params",
    "load_reward_model",
    "model_meta",
]
