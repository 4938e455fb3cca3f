"""Graph models: the netlist graph (graph.py) and CT's edge-centric encoder (gnn.py)."""

from placer.models.gnn import MLP, EdgeCentricEncoder, EncoderOutput
from placer.models.graph import (
    GraphSpec,
    NetlistGraph,
    netlist_graph,
    placement_features,
    placement_graph,
)

__all__ = [
    "MLP",
    "EdgeCentricEncoder",
    "EncoderOutput",
    "GraphSpec",
    "NetlistGraph",
    "netlist_graph",
    "placement_features",
    "placement_graph",
]
