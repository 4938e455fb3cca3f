"""Circuit Training's edge-centric graph encoder, in flax.linen on jraph graphs.

CT (``circuit_training/model/model_lib.py``) mixes the embeddings of the two
ends of every wire into an edge embedding, then averages the edges at the
nodes:

    h_v = MLP_node(x_v)
    repeat L times:
        e_uv = (MLP_edge_l([h_u, h_v, w_uv]) + MLP_edge_l([h_v, h_u, w_uv])) / 2
        h_v  = h_v + mean over the edges e incident to v of e

The wirelength and congestion costs are properties of the wires, which is why
CT put the edges first. The readout is the masked mean of the node embeddings
(the graph embedding), the masked mean of the last layer's edge embeddings
(CT's ``h_all_edges``), and an embedding of the netlist metadata.

Unlike CT, padding is masked everywhere: CT's padded edges point at node 0 and
add ReLU(bias) to it, and its edge mean counts padded edges. Here padding
changes nothing, and the encoder is permutation-equivariant in the nodes (and
the readout invariant), up to float summation order.

Dimensions: Vp padded nodes, Ep padded edges, F node features, M metadata
features, D hidden size.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph
from flax import struct

# CT initialises every layer with glorot_uniform.
KERNEL_INIT = nn.initializers.glorot_uniform()


class MLP(nn.Module):
    """Dense layers with ReLU between them (and after the last if asked)."""

    features: Sequence[int]
    activate_final: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for i, width in enumerate(self.features):
            x = nn.Dense(width, kernel_init=KERNEL_INIT)(x)
            if i + 1 < len(self.features) or self.activate_final:
                x = nn.relu(x)
        return x


@struct.dataclass
class EncoderOutput:
    """What the encoder returns for one graph.

    Attributes:
        nodes: (Vp, D) node embeddings, zero on padding nodes.
        edges: (Ep, D) last-layer edge embeddings, zero on padding edges.
        graph: (D,) masked mean of the node embeddings.
        edge_mean: (D,) masked mean of the edge embeddings (CT's h_all_edges).
        metadata: (D,) embedding of the netlist metadata (graph.globals[0]).
    """

    nodes: jax.Array
    edges: jax.Array
    graph: jax.Array
    edge_mean: jax.Array
    metadata: jax.Array

    def readout(self) -> jax.Array:
        """(3 D,) the graph-level vector the heads read: [graph, edges, metadata]."""
        return jnp.concatenate([self.graph, self.edge_mean, self.metadata], axis=-1)


def masked_mean(x: jax.Array, mask: jax.Array) -> jax.Array:
    """Mean of the rows of x (R, D) where mask (R,) is true; zero if none."""
    m = mask.astype(x.dtype)[:, None]
    return jnp.sum(x * m, axis=0) / jnp.maximum(jnp.sum(m), 1.0)


class EdgeCentricEncoder(nn.Module):
    """CT's edge-centric GCN over one padded graph (vmap it for batches).

    Attributes:
        hidden: D, the embedding size (CT's gcn_node_dim).
        num_layers: L, message-passing layers (CT's num_gcn_layers).
        mlp_layers: Dense + ReLU layers of the node encoder and of each edge
            MLP (CT's edge_fc_layers; CT's node encoder has 1).
    """

    hidden: int = 64
    num_layers: int = 3
    mlp_layers: int = 1

    @nn.compact
    def __call__(self, graph: jraph.GraphsTuple) -> EncoderOutput:
        """Encodes a graph padded as placer.models.graph builds it.

        Args:
            graph: nodes (Vp, F) features, edges (Ep, 1) weights, senders /
                receivers (Ep,), n_node / n_edge (2,) (design, padding),
                globals (2, M) with the metadata in row 0.
        """
        node_mask = jraph.get_node_padding_mask(graph)          # (Vp,)
        edge_mask = jraph.get_edge_padding_mask(graph)          # (Ep,)
        vp = node_mask.shape[0]
        send, recv = graph.senders, graph.receivers
        # (Ep, 1) net weight, or (Ep, 3) with the placement's |dx|, |dy|
        weight = graph.edges.reshape(send.shape[0], -1).astype(jnp.float32)
        em = edge_mask[:, None].astype(jnp.float32)

        # Incident real edges per node; padding edges (V -> V) count nothing.
        count = (jax.ops.segment_sum(em, send, vp)
                 + jax.ops.segment_sum(em, recv, vp))            # (Vp, 1)
        width = [self.hidden] * self.mlp_layers

        h = MLP(width, name="node_encoder")(graph.nodes.astype(jnp.float32))
        e = jnp.zeros((send.shape[0], self.hidden), h.dtype)
        for layer in range(self.num_layers):
            edge_mlp = MLP(width, name=f"edge_mlp_{layer}")
            h_s, h_r = h[send], h[recv]
            e = (edge_mlp(jnp.concatenate([h_s, h_r, weight], -1))
                 + edge_mlp(jnp.concatenate([h_r, h_s, weight], -1))) / 2.0
            e = e * em
            total = (jax.ops.segment_sum(e, send, vp)
                     + jax.ops.segment_sum(e, recv, vp))
            h = h + total / jnp.maximum(count, 1.0)               # skip connection
        h = jnp.where(node_mask[:, None], h, 0.0)

        meta = MLP([self.hidden], name="metadata_encoder")(
            graph.globals[0].astype(jnp.float32))
        return EncoderOutput(nodes=h, edges=e, graph=masked_mean(h, node_mask),
                             edge_mean=masked_mean(e, edge_mask), metadata=meta)
