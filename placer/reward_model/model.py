"""The GNN reward predictor: CT's edge-centric encoder + three regression heads.

``RewardPredictor`` maps (static netlist graph, one placement) to the three
proxy-cost terms, each standardised with the training set's mean and
standard deviation (stored in the checkpoint). ``load_reward_model`` wraps
trained parameters in a ``RewardModel`` that predicts the terms in cost
units for a ``Netlist`` and for batches of placements of one netlist.

Dimensions: V nodes, B placements, Vp padded nodes, D hidden size.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from placer.checkpoint import restore_checkpoint
from placer.config import RewardModelConfig
from placer.errors import PlacerInputError
from placer.models.gnn import MLP, EdgeCentricEncoder
from placer.models.graph import (
    METADATA_FEATURES,
    NODE_FEATURES,
    GraphSpec,
    NetlistGraph,
    netlist_graph,
    placement_graph,
)
from placer.netlist.model import Netlist

TERMS = ("wirelength", "density", "congestion")
CHECKPOINT_FORMAT = "placer-reward-model/1"
# The checkpoint shipped with the package (see load_reward_model).
DEFAULT_CHECKPOINT = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                  "checkpoint")


class RewardPredictor(nn.Module):
    """Encoder + graph readout + one MLP head per cost term.

    Attributes:
        hidden, num_layers, mlp_layers: the encoder's sizes (EdgeCentricEncoder).
        head_hidden: hidden widths of each head (then a linear output).
        edge_distance: give the edge MLPs each pair's |dx|, |dy| besides the
            net weight (see placement_graph); CT's model has the weight only.
    """

    hidden: int = 64
    num_layers: int = 3
    mlp_layers: int = 1
    head_hidden: tuple[int, ...] = (64, 32)
    edge_distance: bool = False

    @classmethod
    def from_config(cls, cfg: RewardModelConfig) -> RewardPredictor:
        return cls(hidden=cfg.hidden, num_layers=cfg.num_layers,
                   mlp_layers=cfg.mlp_layers, head_hidden=tuple(cfg.head_hidden),
                   edge_distance=cfg.edge_distance)

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
    m = dict(meta["model"])
    m["head_hidden"] = tuple(m["head_hidden"])
    return RewardModelConfig(**m)


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
    "batch_apply",
    "init_params",
    "load_reward_model",
    "model_meta",
]
