"""Clustering flat netlists: standard cells grouped into soft macros.

``placer.cluster(netlist)`` (placer.cluster.api.cluster) groups the cells with
a multilevel heavy-edge coarsening (coarsen.py) and rewires the design to
cluster level (rewire.py). The top-level ``placer.cluster`` is that function,
so import the modules by their full names (``from placer.cluster.coarsen
import coarsen``).
"""

from placer.cluster.api import DEFAULT_NUM_CLUSTERS, cluster, settings_for
from placer.cluster.coarsen import (
    CoarsenStats,
    coarsen,
    connectivity,
    dedupe_nets,
    hyperedge_cut,
    refine,
)
from placer.cluster.rewire import cell_hypergraph, check_assignment, clustered_netlist

__all__ = [
    "DEFAULT_NUM_CLUSTERS",
    "CoarsenStats",
    "cell_hypergraph",
    "check_assignment",
    "cluster",
    "clustered_netlist",
    "coarsen",
    "connectivity",
    "dedupe_nets",
    "hyperedge_cut",
    "refine",
    "settings_for",
]
