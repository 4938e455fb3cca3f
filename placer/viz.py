"""Placement pictures: the canvas beside its density and congestion maps.

Figures are built without pyplot and saved through Agg, so drawing needs no
display and leaves the caller's matplotlib backend alone. Shapes are drawn as
one PolyCollection per kind: Ariane133 (915 macros) renders in about a second.
"""

from __future__ import annotations

import os

import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from placer.cost.proxy import proxy_cost
from placer.cost.terms import DEFAULT_WEIGHTS
from placer.netlist.model import HARD_MACRO, PORT, SOFT_MACRO, STDCELL, Netlist

# Colours (colour-blind safe, after Okabe & Ito).
_HARD = "#0072B2"
_HARD_FIXED = "#003A5C"
_SOFT = "#E69F00"
_PORT = "#D55E00"
_STDCELL = "#009E73"
_BLOCKAGE = "#7F7F7F"
_GRID = "#B0B0B0"


def _boxes(xy: np.ndarray, wh: np.ndarray) -> np.ndarray:
    """(n, 4, 2) corner polygons of rectangles with centres xy and sizes wh."""
    lo, hi = xy - wh / 2, xy + wh / 2
    return np.stack([lo, np.stack([hi[:, 0], lo[:, 1]], 1), hi,
                     np.stack([lo[:, 0], hi[:, 1]], 1)], axis=1)


def _draw_canvas(ax, nl: Netlist) -> None:
    """The placement: grid, blockages, soft and hard macros, cells, ports."""
    w, h = nl.canvas
    cols, rows = nl.settings.grid_cols, nl.settings.grid_rows
    kind = nl.node_kind
    size = nl.oriented_size()
    xy = nl.node_xy

    ax.add_patch(Rectangle((0, 0), w, h, facecolor="#FAFAFA", edgecolor="none",
                               zorder=0))
    xs, ys = np.linspace(0, w, cols + 1), np.linspace(0, h, rows + 1)
    ax.vlines(xs, 0, h, colors=_GRID, linewidths=0.5, zorder=1)
    ax.hlines(ys, 0, w, colors=_GRID, linewidths=0.5, zorder=1)
    ax.add_patch(Rectangle((0, 0), w, h, facecolor="none", edgecolor="black",
                               linewidth=1.2, zorder=6))

    handles = []
    if len(nl.blockages):
        b = nl.blockages
        polys = _boxes((b[:, :2] + b[:, 2:4]) / 2, b[:, 2:4] - b[:, :2])
        ax.add_collection(PolyCollection(polys, facecolors=_BLOCKAGE, alpha=0.35,
                                         edgecolors=_BLOCKAGE, hatch="xx",
                                         linewidths=0.8, zorder=2))
        handles.append(Patch(facecolor=_BLOCKAGE, alpha=0.35, hatch="xx",
                             edgecolor=_BLOCKAGE, label=f"blockage ({len(b)})"))

    soft = kind == SOFT_MACRO
    if soft.any():
        ax.add_collection(PolyCollection(_boxes(xy[soft], size[soft]),
                                         facecolors=_SOFT, alpha=0.22,
                                         edgecolors=_SOFT, linewidths=0.4, zorder=3))
        handles.append(Patch(facecolor=_SOFT, alpha=0.35, edgecolor=_SOFT,
                             label=f"soft macro ({int(soft.sum())})"))

    cells = kind == STDCELL
    if cells.any():
        ax.scatter(xy[cells, 0], xy[cells, 1], s=0.5, c=_STDCELL, marker=".",
                   linewidths=0, alpha=0.5, zorder=3, rasterized=True)
        handles.append(Line2D([], [], marker=".", color=_STDCELL, linestyle="none",
                              label=f"std cell ({int(cells.sum())})"))

    hard = kind == HARD_MACRO
    styles = ((False, _HARD, None, "hard macro"),
              (True, _HARD_FIXED, "////", "fixed hard macro"))
    for fixed, colour, hatch, label in styles:
        sel = hard & (nl.node_fixed == fixed)
        if not sel.any():
            continue
        ax.add_collection(PolyCollection(_boxes(xy[sel], size[sel]), facecolors=colour,
                                         alpha=0.85, edgecolors="white", hatch=hatch,
                                         linewidths=0.5, zorder=4))
        handles.append(Patch(facecolor=colour, alpha=0.85, edgecolor="white",
                             hatch=hatch, label=f"{label} ({int(sel.sum())})"))

    ports = kind == PORT
    if ports.any():
        ax.scatter(xy[ports, 0], xy[ports, 1], s=10 if ports.sum() <= 200 else 4,
                   c=_PORT, marker="s",
                   linewidths=0, zorder=7, clip_on=False)
        handles.append(Line2D([], [], marker="s", color=_PORT, linestyle="none",
                              markersize=4, label=f"port ({int(ports.sum())})"))

    # Show everything, also macros that stick out of the canvas.
    sized = kind != PORT
    lo = np.minimum([0.0, 0.0], (xy[sized] - size[sized] / 2).min(0, initial=0))
    hi = np.maximum([w, h], (xy[sized] + size[sized] / 2).max(0, initial=0))
    if ports.any():
        lo = np.minimum(lo, xy[ports].min(0))
        hi = np.maximum(hi, xy[ports].max(0))
    pad = 0.02 * max(w, h)
    ax.set_xlim(lo[0] - pad, hi[0] + pad)
    ax.set_ylim(lo[1] - pad, hi[1] + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("x (µm)")
    ax.set_ylabel("y (µm)")
    ax.set_title(f"placement: {cols} x {rows} grid, canvas {w:g} x {h:g} µm",
                 fontsize=10)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.07),
              ncol=min(len(handles), 3), fontsize=8, frameon=False)


def _draw_map(fig, ax, values: np.ndarray, nl: Netlist, title: str, cmap: str,
              vmax: float | None = None) -> None:
    """One (R, C) map, row 0 at the bottom, over the canvas extent."""
    w, h = nl.canvas
    im = ax.imshow(values, origin="lower", extent=(0, w, 0, h), cmap=cmap,
                   vmin=0.0, vmax=vmax, interpolation="nearest", aspect="equal")
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03).ax.tick_params(labelsize=7)


def plot_placement(netlist: Netlist, path: str | os.PathLike, cost=None,
                   title: str | None = None, dpi: int = 130) -> str:
    """Writes a PNG of the placement and its density and congestion maps.

    Left: the canvas with its grid, blockages, soft macros (light), hard macros
    (fixed ones darker and hatched), standard cells and ports. Right: the
    density map and the horizontal and vertical congestion maps (routing
    demand / capacity per cell, macro allocation included), each with a colour
    bar. The title gives the proxy-cost breakdown.

    Args:
        netlist: a design with a placement.
        path: the PNG to write.
        cost: its ProxyCost (with maps); computed with proxy_cost when None.
        title: the first title line; default: the design name.
        dpi: resolution of the PNG.

    Returns:
        The path written.
    """
    if cost is None or cost.density_map is None:
        weights = cost.weights if cost is not None else DEFAULT_WEIGHTS
        cost = proxy_cost(netlist, weights)
    path = os.fspath(path)

    # Size the figure so the canvas panel (aspect w:h) fills the left column.
    w, h = netlist.canvas
    aspect = min(max(w / h, 0.5), 2.0)
    fig = Figure(figsize=(7.3 * aspect + 4.3, 9.2), dpi=dpi, layout="constrained")
    gs = fig.add_gridspec(3, 2, width_ratios=(7.3 * aspect, 3.6))
    _draw_canvas(fig.add_subplot(gs[:, 0]), netlist)
    c_h, c_v = np.asarray(cost.congestion_h), np.asarray(cost.congestion_v)
    cong_max = float(max(c_h.max(initial=0), c_v.max(initial=0), 1e-12))
    _draw_map(fig, fig.add_subplot(gs[0, 1]), np.asarray(cost.density_map), netlist,
              f"density (cost {cost.density:.4f})", "viridis",
              vmax=max(1.0, float(np.max(cost.density_map, initial=0))))
    _draw_map(fig, fig.add_subplot(gs[1, 1]), c_h, netlist,
              "horizontal congestion", "inferno", vmax=cong_max)
    _draw_map(fig, fig.add_subplot(gs[2, 1]), c_v, netlist,
              f"vertical congestion (cost {cost.congestion:.4f})", "inferno",
              vmax=cong_max)

    w = cost.weights
    c = netlist.counts()
    head = title if title is not None else netlist.name
    fig.suptitle(
        f"{head}    proxy {cost.proxy:.4f} = {w[0]:g} x wirelength "
        f"{cost.wirelength:.4f} + {w[1]:g} x density {cost.density:.4f} + "
        f"{w[2]:g} x congestion {cost.congestion:.4f}\n"
        f"HPWL {cost.hpwl:.4g} µm, {c['hard_macros']} hard / {c['soft_macros']} "
        f"soft macros, {c['ports']} ports, {c['nets']} nets",
        fontsize=11)
    fig.savefig(path, dpi=dpi)
    return path
