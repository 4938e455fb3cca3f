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
from flax import struct
from flax.core import FrozenDict, freeze, unfreeze

from placer.config import PolicyConfig
from placer.cost.terms import DEFAULT_WEIGHTS, TERMS
from placer.cost.wiremask import wire_increase
from placer.env.env import EnvParams, Observation, current_entries
from placer.errors import PlacerInputError
from placer.models.conv import Conv
from placer.models.gnn import KERNEL_INIT, MLP, EdgeCentricEncoder, EncoderOutput
from placer.models.graph import (
    STATIC_FEATURES,
    NetlistGraph,
    placement_features,
    placement_graph,
)
from placer.models.spatial import box_weights, node_boxes, scatter_boxes

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


# Clip of the wire-cost channel of wire_features (a cell that alone would add
# WIRE_CLIP times the whole wirelength cost is as bad as any worse one).
WIRE_CLIP = 4.0


def wire_features(env_params: EnvParams, obs: Observation, rows: int,
                  cols: int) -> jax.Array:
    """(R * C, 2) wire-mask channels of the conv head for one observation.

    With inc the weighted HPWL that placing the current macro at each cell
    adds to its nets with placed pins (placer.cost.wiremask.wire_increase, the
    observation of MaskPlace), and lo / hi its least / largest value over
    the legal cells:

    * shape: (inc - lo) / (hi - lo): 0 at the best legal cell, 1 at the worst;
    * cost: (inc - lo) in units of the wirelength cost, (W + H) * sum(w),
      times M, the number of macros to place, clipped to WIRE_CLIP: how much
      the choice moves the wirelength cost if every macro chose alike, a
      scale that carries from one design to another.

    Both are 0 on illegal cells and everywhere when no net of the macro has
    a placed pin yet.
    """
    inc = wire_increase(env_params.cost, obs.xy, obs.placed, env_params.orient,
                        obs.current, rows, cols, current_entries(env_params, obs))
    legal = obs.action_mask
    big = jnp.asarray(jnp.finfo(inc.dtype).max, inc.dtype)
    lo = jnp.min(jnp.where(legal, inc, big))
    hi = jnp.max(jnp.where(legal, inc, -big))
    rel = jnp.where(legal, inc - lo, 0.0)
    span = jnp.where(jnp.any(legal), hi - lo, 0.0)
    shape = rel / jnp.where(span > 0, span, 1.0)
    a = env_params.cost
    units = a.canvas.sum() * jnp.maximum(jnp.sum(a.net_weight), 1e-12)
    m = env_params.num_to_place.astype(inc.dtype)
    cost = jnp.minimum(rel / units * m, WIRE_CLIP)
    return jnp.stack([shape, cost], -1).astype(jnp.float32)


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
            x = nn.relu(Conv(ch, (3, 3), transpose_stride=2, kernel_init=KERNEL_INIT,
                             name=f"deconv_{i}")(x))
        x = Conv(1, (3, 3), transpose_stride=1, kernel_init=KERNEL_INIT,
                 name="logits")(x)
        return x[: self.grid_rows, : self.grid_cols, 0].reshape(-1)


# Columns of placement_features: normalised x, y, placed, oriented w, h.
_XY = len(STATIC_FEATURES)
_PLACED = _XY + 2
_WH = _XY + 11
HEADS = ("conv", "deconv")


class GridHead(nn.Module):
    """Fully convolutional policy head over the R x C grid: its parameters do
    not depend on the grid, so one policy places designs of any grid size.

    Input maps (R, C, 3 K + 5), all in canvas units:

    * the placed nodes' projected embeddings (K channels) scattered by the
      fraction of each cell they cover (hard macros, soft macros: a learned
      density map) and by their share of the box (K channels: ports and
      pins are points that land in their cell);
    * the net weight of each wire from the macro being placed to a placed
      node, at that node's position (where its neighbours are);
    * the coverage of all placed nodes (the occupancy map), the action mask,
      and the x, y of each cell centre;
    * the projected shared embedding h, the same in every cell (K channels);
    * optionally the two wire-mask channels of wire_features (3 K + 7 maps).

    Then 3 x 3 convolutions (SAME, ReLU) and a 1 x 1 convolution give one
    logit per cell. The mean and the max over the cells of the last
    convolution's features are returned too: the value head reads them.

    With ``wire_prior`` > 0 (the heuristic prior) the logits are the 1 x 1
    convolution's output minus s times the wire mask's shape channel (0 at
    the legal cell adding the least wirelength, 1 at the worst), s a learned
    scale that starts at wire_prior, and the 1 x 1 convolution starts at
    zero: the untrained head is the greedy wire-mask heuristic softened.

    Attributes:
        grid_rows, grid_cols: R, C.
        channels: widths of the 3 x 3 convolutions.
        embed: K, the width of the projected node and shared embeddings.
        wire_prior: the heuristic prior's starting scale (0: none).
        wire_prior_log: the scale is wire_prior x exp(PRIOR_LOG_RATE u), u
            the parameter (PRIOR_LOG_SCALE, starting at 0), and it multiplies
            the learned logits too: logits = scale x (conv - shape), so the
            convolutions learn in the shape channel's units (0 to 1 over the
            grid) and Adam's steps move the logits about scale times more
            than with the scale outside; else logits = conv - scale x shape
            with the scale the parameter (PRIOR_SCALE).
    """

    grid_rows: int
    grid_cols: int
    channels: Sequence[int] = (32, 32, 32)
    embed: int = 16
    wire_prior: float = 0.0
    wire_prior_log: bool = False

    @nn.compact
    def __call__(self, graph: jraph.GraphsTuple, nodes: jax.Array, h: jax.Array,
                 current: jax.Array, action_mask: jax.Array,
                 wire: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        """(R * C,) logits, row-major, and (2 channels[-1],) pooled features,
        from the placement graph (nodes (Vp, F) features), node embeddings
        (Vp, D), shared embedding h (E,), the node being placed (), the
        action mask (R * C,) and the wire-mask channels (R * C, 2) or None."""
        r, c = self.grid_rows, self.grid_cols
        x = graph.nodes
        node_mask = jraph.get_node_padding_mask(graph)
        placed = (x[:, _PLACED] > 0) & node_mask
        lo, hi = node_boxes(x[:, _XY:_XY + 2], x[:, _WH:_WH + 2])
        dense = lambda name: nn.Dense(self.embed, kernel_init=KERNEL_INIT,  # noqa: E731
                                      name=name)
        v = dense("node_project")(nodes)
        cover = scatter_boxes(jnp.concatenate([v, jnp.ones_like(v[:, :1])], -1),
                              lo, hi, placed, r, c, "cell")       # (R, C, K + 1)
        where = scatter_boxes(v, lo, hi, placed, r, c, "box")       # (R, C, K)
        send, recv = graph.senders, graph.receivers
        other = jnp.where(send == current, recv, send)
        linked = (((send == current) | (recv == current))
                  & jraph.get_edge_padding_mask(graph) & placed[other])
        p = x[other, _XY:_XY + 2]
        weight = graph.edges.reshape(send.shape[0], -1)[:, :1]
        neighbours = scatter_boxes(weight, p, p, linked, r, c, "box")   # (R, C, 1)
        cy = (jnp.arange(r, dtype=jnp.float32) + 0.5) / r
        cx = (jnp.arange(c, dtype=jnp.float32) + 0.5) / c
        coords = jnp.stack(jnp.broadcast_arrays(cx[None, :], cy[:, None]), -1)
        g = jnp.broadcast_to(dense("shared_project")(h), (r, c, self.embed))
        mask = action_mask.reshape(r, c, 1).astype(jnp.float32)
        maps = [cover, where, neighbours, mask, coords, g]
        if wire is not None:
            maps.append(wire.reshape(r, c, -1).astype(jnp.float32))
        y = jnp.concatenate(maps, -1)
        for i, ch in enumerate(self.channels):
            y = nn.relu(Conv(ch, (3, 3), kernel_init=KERNEL_INIT, name=f"conv_{i}")(y))
        pooled = jnp.concatenate([y.mean((0, 1)), y.max((0, 1))])
        y = Conv(1, (1, 1), kernel_init=_logits_init(self.wire_prior),
                 name="logits")(y)
        logits = y[..., 0].reshape(-1)
        if self.wire_prior:
            if wire is None:
                raise ValueError("wire_prior needs the wire-mask channels")
            if self.wire_prior_log:
                raw = self.param(PRIOR_LOG_SCALE, nn.initializers.zeros_init(), ())
            else:
                raw = self.param(PRIOR_SCALE,
                                 nn.initializers.constant(self.wire_prior), ())
            scale = _scale_of(raw, self.wire_prior, self.wire_prior_log)
            logits = with_wire_prior(logits, scale, wire, self.wire_prior_log)
        return logits, pooled


# The heuristic prior's learned scale (a parameter of the conv head), or its
# log-space parameter u: scale = wire_prior x exp(PRIOR_LOG_RATE u). The rate
# turns Adam's steps of about learning_rate in u into relative changes of the
# scale of about 10 x learning_rate (0.3 % at 3e-4) per gradient step.
PRIOR_SCALE = "wire_prior_scale"
PRIOR_LOG_SCALE = "wire_prior_log_scale"
PRIOR_LOG_RATE = 10.0


def _scale_of(raw, wire_prior: float, log: bool):
    """The prior's scale from its parameter: wire_prior x exp(PRIOR_LOG_RATE
    u) in log space, the parameter itself otherwise."""
    return wire_prior * jnp.exp(PRIOR_LOG_RATE * raw) if log else raw


def prior_scale(net: PolicyValue, params) -> jax.Array:
    """The heuristic prior's current scale in ``params`` of ``net``."""
    head = params["params"]["policy_head"]
    name = PRIOR_LOG_SCALE if net.wire_prior_log else PRIOR_SCALE
    return _scale_of(head[name], net.wire_prior, net.wire_prior_log)


def with_log_prior(params, wire_prior: float):
    """``params`` of a network with a linear prior scale (PRIOR_SCALE s)
    rewritten for ``wire_prior_log``: u = log(s / wire_prior) / PRIOR_LOG_RATE
    and the logits layer divided by s, the same function. Fine-tuning does
    not call it (it keeps a policy's own form); it is for rewriting an older
    policy by hand."""
    frozen = isinstance(params, FrozenDict)
    p = unfreeze(params) if frozen else jax.tree.map(lambda x: x, params)
    head = p["params"]["policy_head"]
    s = jnp.asarray(head.pop(PRIOR_SCALE))
    head[PRIOR_LOG_SCALE] = jnp.log(s / wire_prior) / PRIOR_LOG_RATE
    head["logits"] = jax.tree.map(lambda x: x / s, head["logits"])
    return freeze(p) if frozen else p


def _logits_init(wire_prior: float):
    """The 1 x 1 logits convolution starts at zero under a heuristic prior (the
    untrained policy is the prior), else as the other layers."""
    return nn.initializers.zeros_init() if wire_prior else KERNEL_INIT


def with_wire_prior(logits: jax.Array, scale: jax.Array, wire: jax.Array,
                    shared: bool = False) -> jax.Array:
    """``logits`` (..., R * C) minus ``scale`` times the wire-mask shape channel
    of ``wire`` (..., R * C, 2) (placer.rl.networks.wire_features); with
    ``shared`` (wire_prior_log), ``scale`` times (logits minus the shape
    channel): the learned logits in the shape channel's units."""
    shape = wire[..., 0].astype(logits.dtype)
    if shared:
        return scale * (logits - shape)
    return logits - scale * shape


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
        head: "conv" (GridHead: grid-independent parameters, so the policy
            places any grid) or "deconv" (Circuit Training's DeconvHead: its
            parameters fix the grid).
        conv_channels, conv_embed: GridHead's sizes.
        encoder_input: "placement" (Circuit Training: the encoder reads the
            current placement at every step) or "netlist" (the encoder reads
            the netlist alone, every node unplaced, so its output is the same
            at every step and batch entry and is computed once per call of a
            vmapped or scanned policy; the placement reaches the policy
            through the conv head's grid maps). "netlist" needs the conv head.
        wire_mask: the conv head also reads the wire-mask channels
            (wire_features), passed as ``wire`` (see placer.rl.ppo.apply_policy).
        value_prior: the value is minus a proxy-cost prediction from the
            encoder's graph readout (one MLP per cost term, the reward
            predictor's heads: ``prior_<term>``), plus the value MLP as a
            residual; with_value_prior loads a reward model into them. The
            value is then in the units of the raw reward (placer.rl.ppo
            normalises it as it normalises the rewards).
        prior_hidden: hidden widths of the prior's heads (the reward
            model's head_hidden).
        wire_prior: GridHead's heuristic prior (its starting scale; 0: none).
        wire_prior_log: the prior's scale is learned in log space (GridHead).
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
    head: str = "deconv"
    conv_channels: Sequence[int] = (32, 32, 32)
    conv_embed: int = 16
    encoder_input: str = "placement"
    wire_mask: bool = False
    value_prior: bool = False
    prior_hidden: Sequence[int] = (64, 32)
    wire_prior: float = 0.0
    wire_prior_log: bool = False

    @classmethod
    def from_config(cls, cfg: PolicyConfig, grid_rows: int,
                    grid_cols: int) -> PolicyValue:
        """The network of ``cfg`` for an R x C grid."""
        return cls(grid_rows, grid_cols, hidden=cfg.hidden, num_layers=cfg.num_layers,
                   mlp_layers=cfg.mlp_layers, attention=cfg.attention,
                   deconv_channels=tuple(cfg.deconv_channels),
                   value_hidden=tuple(cfg.value_hidden),
                   freeze_encoder=cfg.freeze_encoder,
                   edge_distance=cfg.edge_distance, head=cfg.head,
                   conv_channels=tuple(cfg.conv_channels), conv_embed=cfg.conv_embed,
                   encoder_input=cfg.encoder_input, wire_mask=cfg.wire_mask,
                   value_prior=cfg.value_prior,
                   prior_hidden=tuple(cfg.prior_hidden),
                   wire_prior=float(cfg.wire_prior),
                   wire_prior_log=bool(cfg.wire_prior_log))

    @property
    def grid_free(self) -> bool:
        """Whether the parameters fit every grid (the conv head)."""
        return self.head == "conv"

    def for_grid(self, grid_rows: int, grid_cols: int) -> PolicyValue:
        """This network on another grid (same parameters; conv head only)."""
        return self.clone(grid_rows=int(grid_rows), grid_cols=int(grid_cols))

    @nn.compact
    def __call__(self, graph: NetlistGraph, orient: jax.Array, obs: Observation,
                 wire: jax.Array | None = None) -> tuple[jax.Array, jax.Array]:
        """Masked logits and value of one observation.

        Args:
            graph: the design's static graph (Vp node slots).
            orient: (V',) orientation codes (the environment's params.orient).
            obs: one observation: action_mask (R * C,), current (), xy
                (V', 2), placed (V',).
            wire: (R * C, 2) wire_features of obs; needed with wire_mask,
                ignored without.

        Returns:
            logits (R * C,) with illegal cells at MASKED_LOGIT, and value ().
        """
        if self.wire_mask and (self.head != "conv" or wire is None):
            raise ValueError("wire_mask needs the conv head and the wire features "
                             "(placer.rl.ppo.apply_policy computes them)")
        if self.wire_prior and not self.wire_mask:
            raise ValueError("wire_prior needs wire_mask")
        g = placement_graph(graph, obs.xy, orient, obs.placed, self.edge_distance)
        if self.encoder_input == "netlist":
            if self.head != "conv":
                raise ValueError("encoder_input='netlist' needs the conv head")
            vp = graph.graph.nodes.shape[0]
            g_enc = placement_graph(graph, jnp.zeros((vp, 2)), None,
                                    jnp.zeros(vp, bool), self.edge_distance)
        elif self.encoder_input == "placement":
            g_enc = g
        else:
            raise ValueError(f"unknown encoder_input {self.encoder_input!r} "
                             "(known: 'placement', 'netlist')")
        enc = EdgeCentricEncoder(self.hidden, self.num_layers, self.mlp_layers,
                                 name="encoder")(g_enc)
        if self.freeze_encoder:
            enc = jax.lax.stop_gradient(enc)
        node_mask = jraph.get_node_padding_mask(g)
        query = enc.nodes[obs.current]
        ctx = AttentionReadout(self.attention, name="attention")(
            query, enc.nodes, node_mask)
        h = jnp.concatenate([query, ctx, enc.readout()])
        if self.head == "conv":
            logits, pooled = GridHead(self.grid_rows, self.grid_cols,
                                      tuple(self.conv_channels), self.conv_embed,
                                      self.wire_prior, self.wire_prior_log,
                                      name="policy_head")(
                g, enc.nodes, h, obs.current, obs.action_mask,
                wire if self.wire_mask else None)
            value_in = jnp.concatenate([h, pooled])
        elif self.head == "deconv":
            logits = DeconvHead(self.grid_rows, self.grid_cols,
                                tuple(self.deconv_channels), name="policy_head")(h)
            value_in = h
        else:
            raise ValueError(f"unknown policy head {self.head!r} (known: {HEADS})")
        value = MLP((*self.value_hidden, 1), activate_final=False,
                    name="value_head")(value_in)[0]
        if self.value_prior:
            r = enc.readout()
            prior = sum(w * MLP((*self.prior_hidden, 1), activate_final=False,
                                name=f"prior_{term}")(r)[0]
                        for w, term in zip(DEFAULT_WEIGHTS, TERMS, strict=True))
            value = value - prior
        return masked_logits(logits, obs.action_mask), value


# --------------------------------------------------------------------------
# The conv head from stored maps (issue 18): what does not depend on the
# parameters is computed once per environment step, in the rollout, and kept
# in the trajectory; the loss runs the learned part only.
#
# For a netlist-input encoder (encoder_input="netlist") the conv head's input
# maps split into
#
# * parameter-free maps of the step (STORED_MAPS): the occupancy of the
#   placed nodes and the net weights at the current macro's placed
#   neighbours (head_maps), plus the action mask and the wire-mask channels
#   the trajectory already holds;
# * the placed nodes' projected embeddings v = node_project(enc.nodes)
#   scattered onto the grid ("cell" and "box" weights). The scatter is linear
#   in v, and the placed nodes are the nodes placed from the start (the same
#   at every step: scattered once per call, HeadTables) plus the movable
#   macros placed so far (at most M, not all Vp nodes: scattered per
#   observation from its macro positions);
# * the shared embedding h, which depends on the current macro alone.
#
# stored_policy computes exactly what PolicyValue.__call__ computes (up to
# float summation order), from the same parameters, for a batch of
# observations: one encoder pass per call instead of one per observation,
# and a scatter over M macros instead of Vp nodes.
# --------------------------------------------------------------------------

# Channels of head_maps: occupancy (coverage of the placed nodes), neighbours
# (net weight of each wire from the current macro to a placed node, at it).
STORED_MAPS = 2


def stores_maps(net: PolicyValue) -> bool:
    """Whether ``net`` can run from stored maps (conv head, netlist encoder)."""
    return net.head == "conv" and net.encoder_input == "netlist"


def head_maps(graph: NetlistGraph, orient: jax.Array, obs: Observation,
              rows: int, cols: int) -> jax.Array:
    """(R * C, STORED_MAPS) parameter-free conv-head maps of one observation:
    the occupancy of the placed nodes (GridHead's coverage channel) and the
    net weights at the current macro's placed neighbours (its neighbour
    channel), as GridHead computes them."""
    graph = jax.tree.map(jnp.asarray, graph)
    x = placement_features(graph, obs.xy, orient, obs.placed)
    g = graph.graph
    node_mask = jraph.get_node_padding_mask(g)
    placed = (x[:, _PLACED] > 0) & node_mask
    lo, hi = node_boxes(x[:, _XY:_XY + 2], x[:, _WH:_WH + 2])
    occupancy = scatter_boxes(jnp.ones_like(x[:, :1]), lo, hi, placed, rows, cols,
                              "cell")
    send, recv = jnp.asarray(g.senders), jnp.asarray(g.receivers)
    current = obs.current
    other = jnp.where(send == current, recv, send)
    linked = (((send == current) | (recv == current))
              & jraph.get_edge_padding_mask(g) & placed[other])
    p = x[other, _XY:_XY + 2]
    weight = jnp.asarray(g.edges).reshape(send.shape[0], -1)[:, 0]
    # a point lands in the cell of its centre (scatter_boxes' "box" weights
    # of a zero-size box), so the map is a sum by cell index: O(edges)
    row = jnp.clip(jnp.floor(p[:, 1] * rows), 0, rows - 1).astype(jnp.int32)
    col = jnp.clip(jnp.floor(p[:, 0] * cols), 0, cols - 1).astype(jnp.int32)
    neighbours = jnp.zeros(rows * cols, jnp.float32).at[row * cols + col].add(
        jnp.where(linked, weight, 0.0).astype(jnp.float32))
    return jnp.concatenate([occupancy.reshape(rows * cols, 1), neighbours[:, None]],
                           -1)


@struct.dataclass
class HeadTables:
    """What a batch of observations of one design shares (parameter-dependent,
    computed once per call of stored_policy's caller)."""

    nodes: jax.Array        # (Vp, D) node embeddings
    keys: jax.Array         # (Vp, A) the attention readout's keys of the nodes
    values: jax.Array       # (Vp, A) and its values
    readout: jax.Array      # (3 D,) the encoder's graph readout
    fixed_cover: jax.Array  # (R, C, K) v of the nodes placed from the start, "cell"
    fixed_where: jax.Array  # (R, C, K) the same, "box" weights
    macro_v: jax.Array      # (M, K) v of the macro of each step
    macro_wh: jax.Array     # (M, 2) its oriented size, canvas units
    macro_on: jax.Array     # (M,) bool: a real step
    order: jax.Array        # (M,) int32 node of each step
    canvas: jax.Array       # (2,) canvas width and height
    num_nodes: jax.Array    # () V, the real node count


def _sub(params: Any, *path: str) -> dict:
    p = params["params"]
    for k in path:
        p = p[k]
    return {"params": p}


def encode_netlist(net: PolicyValue, params: Any,
                   graph: NetlistGraph) -> EncoderOutput:
    """The encoder's output over the netlist (``encoder_input="netlist"``),
    what HeadTables start from; gradient-free with ``freeze_encoder``."""
    graph = jax.tree.map(jnp.asarray, graph)
    vp = graph.graph.nodes.shape[0]
    g_enc = placement_graph(graph, jnp.zeros((vp, 2)), None, jnp.zeros(vp, bool),
                            net.edge_distance)
    enc = EdgeCentricEncoder(net.hidden, net.num_layers, net.mlp_layers).apply(
        _sub(params, "encoder"), g_enc)
    if net.freeze_encoder:
        enc = jax.lax.stop_gradient(enc)
    return enc


def head_tables(net: PolicyValue, params: Any, graph: NetlistGraph,
                env_params: EnvParams, enc: EncoderOutput | None = None
                ) -> HeadTables:
    """The HeadTables of ``graph`` under ``params`` (one encoder pass, or
    none given ``enc``: encode_netlist's output, e.g. of a frozen encoder
    computed once for many calls)."""
    graph = jax.tree.map(jnp.asarray, graph)
    if enc is None:
        enc = encode_netlist(net, params, graph)
    node_project = nn.Dense(net.conv_embed, kernel_init=KERNEL_INIT)
    v = node_project.apply(_sub(params, "policy_head", "node_project"), enc.nodes)
    r, c = net.grid_rows, net.grid_cols
    x = placement_features(graph, env_params.init_xy, env_params.orient,
                           env_params.fixed_placed)
    fixed = (x[:, _PLACED] > 0) & jraph.get_node_padding_mask(graph.graph)
    lo, hi = node_boxes(x[:, _XY:_XY + 2], x[:, _WH:_WH + 2])
    order = env_params.order
    on = jnp.arange(order.shape[0]) < env_params.num_to_place
    attention = nn.Dense(net.attention, kernel_init=KERNEL_INIT)
    return HeadTables(
        nodes=enc.nodes, readout=enc.readout(),
        keys=attention.apply(_sub(params, "attention", "key"), enc.nodes),
        values=attention.apply(_sub(params, "attention", "value"), enc.nodes),
        fixed_cover=scatter_boxes(v, lo, hi, fixed, r, c, "cell"),
        fixed_where=scatter_boxes(v, lo, hi, fixed, r, c, "box"),
        macro_v=v[order], macro_wh=x[order, _WH:_WH + 2], macro_on=on,
        order=order, canvas=jnp.asarray(graph.canvas, jnp.float32),
        num_nodes=graph.num_nodes)


def _macro_scatter(values: jax.Array, lo: jax.Array, hi: jax.Array,
                   mask: jax.Array, rows: int, cols: int, normalize: str) -> jax.Array:
    """(n, R, C, K) scatter_boxes of (M, K) values over boxes (n, M, 2) with
    masks (n, M)."""
    wy, wx = jax.vmap(lambda a, b: box_weights(a, b, rows, cols, normalize))(lo, hi)
    wy = jnp.where(mask[..., None], wy, 0.0)                          # (n, M, R)
    folded = wx[..., None] * values[None, :, None, :]                 # (n, M, C, K)
    return jnp.einsum("nmr,nmck->nrck", wy, folded)


def stored_policy(net: PolicyValue, params: Any, tables: HeadTables,
                  obs: Observation, maps: jax.Array,
                  wire: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    """PolicyValue's (masked logits (n, R * C), values (n,)) for a batch of n
    observations (leaves with leading axis n) of one design, from its
    HeadTables, the stored head_maps (n, R * C, STORED_MAPS) and wire
    channels (n, R * C, 2) (None without the wire mask). Equal to vmapping
    PolicyValue.__call__ up to float summation order (tests/rl/test_ppo.py)."""
    if not stores_maps(net):
        raise ValueError("stored maps need the conv head and encoder_input='netlist'")
    if net.wire_mask and wire is None:
        raise ValueError("wire_mask needs the stored wire channels")
    r, c = net.grid_rows, net.grid_cols
    # the movable macros placed so far, at their cells
    mxy = obs.xy[:, tables.order] / tables.canvas                     # (n, M, 2)
    mplaced = obs.placed[:, tables.order] & tables.macro_on           # (n, M)
    lo, hi = node_boxes(mxy, tables.macro_wh[None])
    cover = tables.fixed_cover + _macro_scatter(tables.macro_v, lo, hi, mplaced,
                                                r, c, "cell")
    where = tables.fixed_where + _macro_scatter(tables.macro_v, lo, hi, mplaced,
                                                r, c, "box")
    # the shared embedding h of each observation's current macro
    query = tables.nodes[obs.current]                                 # (n, D)
    node_mask = jnp.arange(tables.nodes.shape[0]) < tables.num_nodes
    # AttentionReadout with the nodes' keys and values from the tables
    q = nn.Dense(net.attention, kernel_init=KERNEL_INIT).apply(
        _sub(params, "attention", "query"), query)                    # (n, A)
    scores = q @ tables.keys.T / math.sqrt(net.attention)             # (n, Vp)
    scores = jnp.where(node_mask[None], scores, MASKED_LOGIT)
    ctx = jax.nn.softmax(scores, -1) @ tables.values                  # (n, A)
    h = jnp.concatenate([query, ctx, jnp.broadcast_to(
        tables.readout, (query.shape[0], tables.readout.shape[0]))], -1)
    dense = nn.Dense(net.conv_embed, kernel_init=KERNEL_INIT)
    g = dense.apply(_sub(params, "policy_head", "shared_project"), h)  # (n, K)
    cy = (jnp.arange(r, dtype=jnp.float32) + 0.5) / r
    cx = (jnp.arange(c, dtype=jnp.float32) + 0.5) / c
    coords = jnp.stack(jnp.broadcast_arrays(cx[None, :], cy[:, None]), -1)
    nb = maps.shape[0]
    grid = lambda a: a.reshape(nb, r, c, -1).astype(jnp.float32)  # noqa: E731
    stored = grid(maps)
    parts = [cover, stored[..., :1], where, stored[..., 1:2],
             grid(obs.action_mask), jnp.broadcast_to(coords, (nb, r, c, 2)),
             jnp.broadcast_to(g[:, None, None, :], (nb, r, c, net.conv_embed))]
    if net.wire_mask:
        parts.append(grid(wire))
    y = jnp.concatenate(parts, -1)
    for i, ch in enumerate(net.conv_channels):
        y = nn.relu(Conv(ch, (3, 3), kernel_init=KERNEL_INIT).apply(
            _sub(params, "policy_head", f"conv_{i}"), y))
    pooled = jnp.concatenate([y.mean((1, 2)), y.max((1, 2))], -1)
    logits = Conv(1, (1, 1), kernel_init=KERNEL_INIT).apply(
        _sub(params, "policy_head", "logits"), y)[..., 0].reshape(nb, -1)
    if net.wire_prior:
        logits = with_wire_prior(logits, prior_scale(net, params), wire,
                                 net.wire_prior_log)
    value = MLP((*net.value_hidden, 1), activate_final=False).apply(
        _sub(params, "value_head"), jnp.concatenate([h, pooled], -1))[:, 0]
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
    mine = params["params"]["encoder"]
    shape = lambda t: jax.tree.map(lambda a: tuple(jnp.shape(a)), t)  # noqa: E731
    if shape(mine) != shape(encoder_params):
        raise PlacerInputError(
            "the pretrained encoder's sizes do not match the policy's (set the "
            "policy's hidden / num_layers / mlp_layers to the reward model's)")
    inner = dict(params["params"])
    inner["encoder"] = uncommitted(encoder_params)
    return {**params, "params": inner}


def with_value_prior(params: Any, rm_params: Any, target_mean, target_std) -> Any:
    """``params`` of a PolicyValue with value_prior set up from a reward model:
    its encoder, its term heads as ``prior_<term>`` with the last layer
    scaled back to cost units (z std + mean: kernel x std, bias x std +
    mean), and the residual value MLP's last layer zeroed, so that the
    initial value is minus the reward model's proxy prediction.

    Args:
        params: {"params": {...}} of a PolicyValue with value_prior.
        rm_params: the reward model's {"params": {...}} (graph readout only).
        target_mean, target_std: (3,) the reward model's target statistics.

    Raises:
        PlacerInputError: the shapes differ (another head or encoder size).
    """
    params = with_encoder(params, rm_params["params"]["encoder"])
    inner = dict(params["params"])
    shape = lambda t: jax.tree.map(lambda a: tuple(jnp.shape(a)), t)  # noqa: E731
    for i, term in enumerate(TERMS):
        head = jax.tree.map(lambda a: jnp.asarray(np.asarray(a)),
                            rm_params["params"][f"{term}_head"])
        mine = inner.get(f"prior_{term}")
        if mine is None or shape(mine) != shape(head):
            raise PlacerInputError("the reward model's heads do not match the "
                                   "policy's value prior (model.value_prior, "
                                   "model.prior_hidden = its head_hidden)")
        last = f"Dense_{len(head) - 1}"
        head = {**head, last: {
            "kernel": head[last]["kernel"] * float(target_std[i]),
            "bias": head[last]["bias"] * float(target_std[i]) + float(target_mean[i])}}
        inner[f"prior_{term}"] = head
    vh = dict(inner["value_head"])
    last = f"Dense_{len(vh) - 1}"
    vh[last] = jax.tree.map(jnp.zeros_like, vh[last])
    inner["value_head"] = vh
    return {**params, "params": inner}


__all__ = ["HEADS", "MASKED_LOGIT", "PRIOR_LOG_RATE", "PRIOR_LOG_SCALE", "PRIOR_SCALE",
           "WIRE_CLIP", "AttentionReadout", "DeconvHead", "GridHead", "PolicyValue",
           "masked_entropy", "masked_logits", "prior_scale", "uncommitted",
           "wire_features", "with_encoder", "with_log_prior", "with_value_prior",
           "with_wire_prior"]
