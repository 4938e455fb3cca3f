"""``cluster()``: a flat netlist grouped into soft macros, with its settings.

Dimension names: n standard cells, k clusters.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy as np

from placer.cluster.coarsen import coarsen, refine
from placer.cluster.rewire import cell_hypergraph, check_assignment, clustered_netlist
from placer.errors import PlacerInputError
from placer.gridding import grid_for
from placer.netlist.model import Netlist
from placer.netlist.plc import read_plc

__all__ = ["DEFAULT_NUM_CLUSTERS", "cluster", "settings_for"]

# Circuit Training's clustered designs hold about 500-1000 soft macros
# (Ariane133: 782); with fewer cells, a cluster holds about 8 cells.
DEFAULT_NUM_CLUSTERS = 800
MIN_CELLS_PER_CLUSTER = 8


def settings_for(clustered: Netlist, flat: Netlist, plc: str | None,
                  utilization: float | None, gridding: bool) -> Netlist:
    """Canvas, grid and routing settings of the clustered design.

    A .plc header wins; else ``utilization`` sets a square canvas of side
    sqrt(total area / utilization); else the flat design's canvas stays.
    Without a grid from the .plc (or given when the flat design was loaded),
    Circuit Training's gridding search picks it. Positions (and blockages)
    are scaled onto a canvas that changed size.
    """
    st = dataclasses.replace(clustered.settings)
    grid_given = bool(flat.metadata.get("grid_given", False))
    if plc is not None:
        header = read_plc(plc).settings
        for key, v in header.items():
            setattr(st, key, v)
        grid_given = grid_given or "grid_cols" in header
    if utilization is not None and (plc is None or "canvas_width" not in header):
        if not (isinstance(utilization, (int, float)) and 0 < utilization <= 1):
            raise PlacerInputError(f"utilization must be in (0, 1], got "
                                   f"{utilization!r}")
        st.canvas_width = st.canvas_height = math.sqrt(
            clustered.total_area() / utilization)
    st.validate(plc)
    out = clustered
    w0, h0 = flat.settings.canvas_width, flat.settings.canvas_height
    if (w0, h0) != (st.canvas_width, st.canvas_height) and w0 > 0 and h0 > 0:
        scale = np.array([st.canvas_width / w0, st.canvas_height / h0])
        out = clustered.with_placement(clustered.node_xy * scale)
        if len(out.blockages):
            out.blockages = out.blockages.copy()
            out.blockages[:, :4] *= np.tile(scale, 2)
    out.settings = st
    out.metadata["fp_bbox"] = (0.0, 0.0, st.canvas_width, st.canvas_height)
    if gridding and not grid_given and len(out.hard_macros):
        out = grid_for(out)
    out.metadata["grid_given"] = True
    return out


def cluster(netlist: Netlist, num_clusters: int | None = None, *, seed: int = 0,
            max_area_ratio: float = 2.0, max_net_degree: int = 50,
            refine_rounds: int = 8,
            plc: str | os.PathLike | None = None, utilization: float | None = None,
            gridding: bool = True, prefix: str = "Grp_",
            area_scale: float = 1.0) -> Netlist:
    """Groups a flat netlist's standard cells into soft macros.

    Args:
        netlist: a flat design (Circuit Training .pb.txt with std cells, or
            Bookshelf). Ports, hard macros and macro pins are kept.
        num_clusters: soft macros to make; None: 800 (Circuit Training's
            designs hold about 500-1000), or one per 8 cells for small designs.
        seed: tie-break seed of the coarsening (the result is deterministic
            per seed).
        max_area_ratio: a cluster's area is at most this times the mean
            (total cell area / num_clusters); single larger cells stay alone.
        max_net_degree: nets with more cells do not steer the grouping (they
            are still rewired).
        refine_rounds: rounds of single-cell moves that lower the (lambda - 1)
            connectivity after the coarsening (placer.cluster.coarsen.refine);
            0 skips them.
        plc: a .plc whose header gives canvas, grid and routing settings.
        utilization: without a .plc canvas: a square canvas of side
            sqrt(total area / utilization); None keeps the netlist's canvas.
        gridding: choose the grid with Circuit Training's gridding search when
            neither the .plc nor the loaded netlist gave one.
        prefix: soft macro names are ``<prefix><k>``.
        area_scale: soft-macro area over cell area; 1 keeps the cell area
            (Circuit Training's clustered Ariane136 has 2: the area in its
            .plc header is the macro area plus twice the flat cell area).

    Returns:
        The clustered netlist (see placer.cluster.rewire's module docstring);
        ``metadata["cell_cluster"]`` is the (n,) soft macro index (``k`` of
        ``Grp_<k>``) of each standard cell, in node order, and
        ``metadata["clustering"]`` holds the cluster count, the coarsening
        levels, fallback merges, the connectivity before and after the
        refinement, and seconds.

    Raises:
        PlacerInputError: for a bad option, or a netlist without std cells.
    """
    t0 = time.perf_counter()
    ptr, ids, weight, cells = cell_hypergraph(netlist)
    n = len(cells)
    if n == 0:
        raise PlacerInputError("the netlist has no standard cells to cluster",
                               netlist.source)
    if num_clusters is None:
        num_clusters = min(DEFAULT_NUM_CLUSTERS, max(1, n // MIN_CELLS_PER_CLUSTER))
    if not (isinstance(max_area_ratio, (int, float)) and max_area_ratio >= 1):
        raise PlacerInputError(f"max_area_ratio must be >= 1, got {max_area_ratio!r}")
    if isinstance(refine_rounds, bool) or not isinstance(refine_rounds, int) \
            or refine_rounds < 0:
        raise PlacerInputError(f"refine_rounds must be an integer >= 0, got "
                               f"{refine_rounds!r}")
    area = netlist.node_size[cells, 0] * netlist.node_size[cells, 1]
    if isinstance(num_clusters, (int, np.integer)) and not isinstance(
            num_clusters, bool) and num_clusters >= 1:
        max_area = max_area_ratio * float(area.sum()) / int(num_clusters)
    else:
        max_area = None          # coarsen names the bad num_clusters
    assignment, stats = coarsen(ptr, ids, weight, area, num_clusters,
                                max_area=max_area, seed=seed,
                                max_net_degree=max_net_degree)
    history = []
    if refine_rounds and max_area is not None:
        assignment, history = refine(ptr, ids, weight, area, assignment, max_area,
                               rounds=refine_rounds, seed=seed,
                               max_net_degree=max_net_degree)
    out = clustered_netlist(netlist, assignment, prefix=prefix,
                            area_scale=area_scale)
    out = settings_for(out, netlist, None if plc is None else os.fspath(plc),
                        utilization, gridding)
    out.metadata["cell_cluster"] = check_assignment(assignment, n)
    out.metadata["clustering"] = {
        "clusters": int(assignment.max()) + 1, "levels": stats.levels,
        "fallback_merges": stats.fallback_merges,
        "connectivity": history[::max(1, len(history) - 1)],   # before, after
        "seconds": time.perf_counter() - t0}
    return out
