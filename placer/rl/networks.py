"""The PPO policy-value network: CT's encoder, an attention readout and a
deconvolution policy head.

For one observation of the placement environment:

    x      = placement_features(graph, obs.xy, orient, obs.placed)   (Vp, F)
    enc    = EdgeCentricEncoder(x)          nodes (Vp, D), graph readout (3 D,)
    q      = nodes[obs.current]             the macro being placed (D,)
    ctx    = attention(q, nodes, nodes)     masked by the node padding (A,)
    h      = [q, ctx, readout]              the shared embedding
    value  = MLP(h) -> ()
    logits = Dense(h) -> (r0, c0, ch) -> ConvTranspose x L (stride 2)
             -> 1 channel, cropped to (R, C) -> (R * C,), masked by
             obs.action_mask (CT's deconvolution policy head)

The encoder is built under the name ``encoder`` with the RewardPredictor's
arguments, so the ``encoder`` sub-tree of a reward-model checkpoint drops in
(see ``with_encoder``). With ``freeze_encoder`` its output is wrapped in
``stop_gradient``: its gradients are zero and Adam leaves it unchanged.

Dimensions: Vp padded nodes, F node features, D hidden size, A attention
size, R x C grid, B observations.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph
import numpy as np

from placer.config import PolicyConfig
from placer.env.env import Observation
from placer.models.gnn import KERNEL_INIT, MLP, EdgeCentricEncoder
from placer.models.graph import NetlistGraph, placement_graph

# Logit of an illegal cell. Finite (not finfo.min) so that log_softmax and the
# entropy stay finite when every cell is masked (a finished episode).
MASKED_LOGIT = -1e9


def masked_logits(logits: jax.Array, mask: jax.Array) -> jax.Array:
    """``logits`` (..., A) with the cells where ``mask`` is false set to
    MASKED_LOGIT."""
    return jnp.where(mask, logits, MASKED_LOGIT)


def masked_entropy(logits: jax.Array, mask: jax.Array) -> jax.Array:
    """(...) entropy of the categorical over the legal cells of ``logits``
    (..., A) already masked; 0 when no cell is legal."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    p = jnp.exp(logp)
    return -jnp.sum(jnp.where(mask, p * logp, 0.0), axis=-1)


class AttentionReadout(nn.Module):
    """Single-head scaled dot-product attention of one query over the nodes.

    Attributes:
        features: A, the size of queries, keys and values.
    """

    features: int = 64

    @nn.compact
    def __call__(self, query: jax.Array, nodes: jax.Array,
                 node_mask: jax.Array) -> jax.Array:
        """Context (A,) of ``query`` (D,) over ``nodes`` (Vp, D) where
        ``node_mask`` (Vp,) is true."""
        dense = lambda name: nn.Dense(self.features, kernel_init=KERNEL_INIT,  # noqa: E731
                                      name=name)
        q = dense("query")(query)                           # (A,)
        k = dense("key")(nodes)                             # (Vp, A)
        v = dense("value")(nodes)                           # (Vp, A)
        scores = k @ q / math.sqrt(self.features)           # (Vp,)
        scores = jnp.where(node_mask, scores, MASKED_LOGIT)
        weights = jax.nn.softmax(scores)
        return weights @ v


class DeconvHead(nn.Module):
    """Dense -> (r0, c0, ch) map -> ConvTranspose upsampling -> (R * C,) logits.

    Each of the L layers in ``channels`` doubles both sides (stride 2, kernel
    3, SAME padding, ReLU); r0 = ceil(R / 2^L), c0 = ceil(C / 2^L), so the
    map reaches at least (R, C) and is cropped to it. A last stride-1
    transpose convolution gives one channel.

    Attributes:
        grid_rows, grid_cols: R, C.
        channels: channels of the upsampling layers; channels[0] is also ch.
    """

    grid_rows: int
    grid_cols: int
    channels: Sequence[int] = (32, 16)

    @nn.compact
    def __call__(self, h: jax.Array) -> jax.Array:
        """(R * C,) logits, row-major (cell row * C + col), from h (E,)."""
        n = len(self.channels)
        r0 = -(-self.grid_rows // 2 ** n)
        c0 = -(-self.grid_cols // 2 ** n)
        ch0 = self.channels[0] if n else 16
        x = nn.relu(nn.Dense(r0 * c0 * ch0, kernel_init=KERNEL_INIT,
                             name="project")(h)).reshape(r0, c0, ch0)
        for i, ch in enumerate(self.channels):
            x = nn.relu(nn.ConvTranspose(ch, (3, 3), strides=(2, 2), padding="SAME",
                                         kernel_init=KERNEL_INIT,
                                         name=f"deconv_{i}")(x))
        x = nn.ConvTranspose(1, (3, 3), strides=(1, 1), padding="SAME",
                             kernel_init=KERNEL_INIT, name="logits")(x)
        return x[: self.grid_rows, : self.grid_cols, 0].reshape(-1)


class PolicyValue(nn.Module):
    """Actor-critic over one observation (vmap it for batches).

    Attributes:
        grid_rows, grid_cols: R, C, the environment's grid.
        hidden, num_layers, mlp_layers: the encoder's sizes (as the reward
            predictor's, to load its encoder).
        attention: A, the attention readout's size.
        deconv_channels: the policy head's upsampling layers.
        value_hidden: hidden widths of the value MLP.
        freeze_encoder: stop gradients at the encoder's output.
        edge_distance: edges carry the placement's |dx|, |dy| (as the reward
            predictor's option of that name; it must match to load its encoder).
    """

    grid_rows: int
    grid_cols: int
    hidden: int = 64
    num_layers: int = 3
    mlp_layers: int = 1
    attention: int = 64
    deconv_channels: Sequence[int] = (32, 16)
    value_hidden: Sequence[int] = (64,)
    freeze_encoder: bool = False
    edge_distance: bool = False

    @classmethod
    def from_config(cls, cfg: PolicyConfig, grid_rows: int,
                    grid_cols: int) -> PolicyValue:
        """The network of ``cfg`` for an R x C grid."""
        return cls(grid_rows, grid_cols, hidden=cfg.hidden, num_layers=cfg.num_layers,
                   mlp_layers=cfg.mlp_layers, attention=cfg.attention,
                   deconv_channels=tuple(cfg.deconv_channels),
                   value_hidden=tuple(cfg.value_hidden),
                   freeze_encoder=cfg.freeze_encoder,
                   edge_distance=cfg.edge_distance)

    @nn.compact
    def __call__(self, graph: NetlistGraph, orient: jax.Array,
                 obs: Observation) -> tuple[jax.Array, jax.Array]:
        """Masked logits and value of one observation.

        Args:
            graph: the design's static graph (Vp node slots).
            orient: (V',) orientation codes (the environment's params.orient).
            obs: one observation: action_mask (R * C,), current (), xy
                (V', 2), placed (V',).

        Returns:
            logits (R * C,) with illegal cells at MASKED_LOGIT, and value ().
        """
        g = placement_graph(graph, obs.xy, orient, obs.placed, self.edge_distance)
        enc = EdgeCentricEncoder(self.hidden, self.num_layers, self.mlp_layers,
                                 name="encoder")(g)
        if self.freeze_encoder:
            enc = jax.lax.stop_gradient(enc)
        node_mask = jraph.get_node_padding_mask(g)
        query = enc.nodes[obs.current]
        ctx = AttentionReadout(self.attention, name="attention")(
            query, enc.nodes, node_mask)
        h = jnp.concatenate([query, ctx, enc.readout()])
        value = MLP((*self.value_hidden, 1), activate_final=False,
                    name="value_head")(h)[0]
        logits = DeconvHead(self.grid_rows, self.grid_cols,
                            tuple(self.deconv_channels), name="policy_head")(h)
        return masked_logits(logits, obs.action_mask), value


def uncommitted(tree: Any) -> Any:
    """``tree``'s arrays copied through host memory as uncommitted jax arrays.

    Arrays restored by orbax are committed to a device; a jitted function
    called with them compiles anew (its cache key holds the shardings), so
    restored parameters are passed through this first.
    """
    return jax.tree.map(lambda x: jnp.asarray(np.asarray(x)), tree)


def with_encoder(params: Any, encoder_params: Any) -> Any:
    """``params`` of a PolicyValue with its ``encoder`` sub-tree replaced.

    Args:
        params: {"params": {...}} of PolicyValue.init.
        encoder_params: the encoder sub-tree, e.g. a reward model's
            ``model.params["params"]["encoder"]``.

    Raises:
        PlacerInputError: the two encoders' shapes differ.
    """
    from placer.errors import PlacerInputError

    mine = params["params"]["encoder"]
    shape = lambda t: jax.tree.map(lambda a: tuple(jnp.shape(a)), t)  # noqa: E731
    if shape(mine) != shape(encoder_params):
        raise PlacerInputError(
            "the pretrained encoder's sizes do not match the policy's (set the "
            "policy's hidden / num_layers / mlp_layers to the reward model's)")
    inner = dict(params["params"])
    inner["encoder"] = uncommitted(encoder_params)
    return {**params, "params": inner}


__all__ = ["MASKED_LOGIT", "AttentionReadout", "DeconvHead", "PolicyValue",
           "masked_entropy", "masked_logits", "uncommitted", "with_encoder"]
