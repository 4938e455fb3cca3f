"""Synthetic clustered designs in the Circuit Training style, deterministic per seed.

A design has hard macros (type ``MACRO``, pins on their boundary), soft macros
(type ``macro``, named ``Grp_*``, pins at the centre) standing for clusters
of standard cells, and ports on the canvas boundary. Nodes belong to a
two-level hierarchy of clusters (top clusters split into leaf clusters); most
net sinks are drawn from the driver's own leaf cluster, fewer from its top
cluster, the rest from anywhere. Sink counts follow a truncated power law, so
most nets have 2 pins and a few have many, as in clustered Ariane.

The canvas has the requested utilisation (macro area / canvas area, 0.6 by
default, Circuit Training's default), and the initial placement is legal for
hard macros: each is placed, largest first, at the free spot nearest a target
near its cluster's home, keeping a halo from other hard macros and from the
canvas edge. Soft macros then fill the free space nearest their own targets;
one that finds no room sits at its target, overlapping.

Usage::

    python -m placer.synth --seed 0 --out netlists/synth_small

Dimension names: V nodes, P pins, N nets, S soft macros, L leaf clusters.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np

from placer.gridding import grid_for
from placer.netlist.io import save_netlist, save_placement
from placer.netlist.model import (
    HARD_MACRO,
    NO_ORIENT,
    ORIENT_INDEX,
    PIN_HARD,
    PIN_PORT,
    PIN_SOFT,
    PORT,
    SOFT_MACRO,
    Netlist,
    Settings,
    build_nets,
)

_SIDES = ("LEFT", "RIGHT", "BOTTOM", "TOP")
# Edges a macro type's pins sit on: each pattern is a tuple of sides.
_PIN_PATTERNS = (("LEFT",), ("RIGHT",), ("BOTTOM",), ("TOP",), ("LEFT", "RIGHT"),
                 ("BOTTOM", "TOP"))


def synthetic_netlist(
    seed: int = 0,
    num_hard: int = 20,
    num_soft: int = 100,
    num_ports: int = 40,
    *,
    soft_pins: int = 1,
    num_clusters: int = 4,
    subclusters: int = 3,
    hard_types: int = 3,
    hard_side: tuple[float, float] = (30.0, 90.0),
    hard_pins: tuple[int, int] = (8, 16),
    hard_output_fraction: float = 0.25,
    hard_area_fraction: float = 0.5,
    soft_area_sigma: float = 0.6,
    input_port_fraction: float = 0.5,
    utilization: float = 0.6,
    aspect_ratio: float = 1.0,
    grid: tuple[int, int] = (10, 10),
    fanout_alpha: float = 1.8,
    max_fanout: int = 16,
    locality: tuple[float, float] = (0.7, 0.2),
    soft_spread: float = 0.08,
    halo: float = 2.0,
    name: str = "synth",
) -> Netlist:
    """A random clustered design with a legal initial placement.

    Args:
        seed: seed of numpy's default generator; equal seeds give equal designs.
        num_hard: hard macros (type MACRO).
        num_soft: soft macros (type macro, names Grp_<k>).
        num_ports: ports on the canvas boundary.
        soft_pins: pins per soft macro, all at its centre; each drives a net
            and the first is also where the soft macro's incoming nets end.
        num_clusters: top-level clusters.
        subclusters: leaf clusters per top-level cluster.
        hard_types: distinct hard macro shapes (each with its own pin layout).
        hard_side: range of hard macro widths and heights, microns.
        hard_pins: range of pin counts per hard macro type.
        hard_output_fraction: share of a hard macro's pins that drive a net.
        hard_area_fraction: hard macro area / total macro area.
        soft_area_sigma: log-normal sigma of soft macro areas.
        input_port_fraction: share of ports that drive a net (the rest are sinks).
        utilization: total macro area / canvas area.
        aspect_ratio: canvas width / height.
        grid: (columns, rows) of the placement grid.
        fanout_alpha: sink counts k in [1, max_fanout] have P(k) ~ k^-alpha.
        max_fanout: most sinks of one net.
        locality: probabilities that a sink is drawn from the driver's leaf
            cluster and from its top cluster; otherwise from the whole design.
        soft_spread: standard deviation of soft macro targets around their
            cluster's home, as a fraction of the canvas side.
        halo: minimum gap between hard macros, and between a hard macro and the
            canvas edge, in the initial placement (microns, > 0).
        name: the design name.

    Raises:
        ValueError: for counts or fractions out of range, or hard macros that
            do not fit on the canvas.
    """
    _check_args(num_hard, num_soft, num_ports, num_clusters, subclusters, hard_types,
                hard_side, hard_pins, utilization, locality, halo, max_fanout,
                soft_pins)
    rng = np.random.default_rng(seed)

    # Shapes: hard macro types (size, pin edges, pin count) and soft macro sizes.
    type_wh = np.round(rng.uniform(*hard_side, size=(hard_types, 2)), 1)
    type_pattern = rng.integers(len(_PIN_PATTERNS), size=hard_types)
    type_npins = rng.integers(hard_pins[0], hard_pins[1] + 1, size=hard_types)
    hard_type = rng.integers(hard_types, size=num_hard)
    hard_wh = type_wh[hard_type]
    soft_wh = _soft_sizes(rng, num_soft, hard_wh, hard_area_fraction, soft_area_sigma)
    canvas = _canvas(hard_wh, soft_wh, utilization, aspect_ratio)

    # Clusters: every node belongs to a leaf cluster with a home on the canvas.
    leaf_top, leaf_home = _cluster_homes(rng, num_clusters, subclusters)
    n_leaf = len(leaf_top)
    hard_leaf = rng.integers(n_leaf, size=num_hard)
    soft_leaf = rng.permutation(np.arange(num_soft) % n_leaf)   # every leaf used
    port_leaf = rng.integers(n_leaf, size=num_ports)

    # Initial placement near the homes.
    hard_target = (leaf_home[hard_leaf] + rng.normal(0, 0.05, (num_hard, 2))) * canvas
    soft_target = (leaf_home[soft_leaf]
                   + rng.normal(0, soft_spread, (num_soft, 2))) * canvas
    hard_xy, soft_xy = _initial_placement(hard_wh, hard_target, soft_wh, soft_target,
                                          canvas, halo)
    port_xy, port_side = _port_positions(leaf_home[port_leaf], canvas, rng)
    port_is_input = np.zeros(num_ports, bool)
    port_is_input[rng.permutation(num_ports)[:int(round(input_port_fraction
                                                        * num_ports))]] = True

    # Nodes in file order (ports, hard macros, soft macros), then pins and nets.
    names = ([f"in_{i}" if port_is_input[i] else f"out_{i}" for i in range(num_ports)]
             + [f"c{leaf_top[hard_leaf[m]]}/s{hard_leaf[m] % subclusters}/ram_{m}"
                for m in range(num_hard)]
             + [f"Grp_{s}" for s in range(num_soft)])
    kind = np.repeat(np.array([PORT, HARD_MACRO, SOFT_MACRO], np.int8),
                     [num_ports, num_hard, num_soft])
    node_leaf = np.concatenate([port_leaf, hard_leaf, soft_leaf])
    hard_pin_offsets = [
        _boundary_pins(type_wh[t], _PIN_PATTERNS[type_pattern[t]], int(type_npins[t]))
        for t in hard_type]
    pins = _Pins.build(names, kind, hard_pin_offsets, hard_output_fraction, soft_pins)

    drivers = (pins.port[port_is_input].tolist()
               + [p for outs in pins.hard_out for p in outs]
               + [p for ps in pins.soft for p in ps])
    soft_sinks = [ps[0] for ps in pins.soft]
    sink_pins = np.array(pins.port[~port_is_input].tolist()
                         + [p for ins in pins.hard_in for p in ins] + soft_sinks,
                         dtype=np.int64)
    pin_node = np.asarray(pins.node, dtype=np.int32)
    sinks = _draw_sinks(rng, drivers, pin_node, sink_pins,
                        np.isin(sink_pins, soft_sinks), node_leaf, leaf_top, locality,
                        fanout_alpha, max_fanout)
    # Nets in the order a reader meets their drivers: by the driver's file row
    # (a port's pin has the row of its node).
    pin_index = np.asarray(pins.index, dtype=np.int64)
    drv_row = np.where(pin_index[drivers] >= 0, pin_index[drivers],
                       pins.node_index[pin_node[drivers]])
    order = np.argsort(drv_row, kind="stable")
    net_ptr, net_pins, net_weight = build_nets(
        [drivers[i] for i in order], [sinks[i] for i in order], [1.0] * len(drivers))

    width, height = float(canvas[0]), float(canvas[1])
    return Netlist(
        name=name,
        node_names=names,
        node_kind=kind,
        node_xy=np.concatenate([port_xy, hard_xy, soft_xy]).astype(np.float64),
        node_size=np.concatenate([np.zeros((num_ports, 2)), hard_wh, soft_wh]),
        node_orient=np.where(kind == PORT, NO_ORIENT,
                             ORIENT_INDEX["N"]).astype(np.int8),
        node_fixed=kind == PORT,
        node_index=pins.node_index,
        pin_names=pins.names,
        pin_node=pin_node,
        pin_offset=np.asarray(pins.offset, dtype=np.float64).reshape(-1, 2),
        pin_kind=np.asarray(pins.kind, dtype=np.int8),
        pin_weight=np.ones(len(pins.names)),
        pin_index=pin_index,
        net_ptr=net_ptr,
        net_pins=net_pins,
        net_weight=net_weight,
        settings=Settings(canvas_width=width, canvas_height=height,
                          grid_cols=int(grid[0]), grid_rows=int(grid[1])),
        metadata={"fp_bbox": (0.0, 0.0, width, height)},
        node_extra=[{"side": ("placeholder", side)} for side in port_side]
        + [{} for _ in range(num_hard + num_soft)],
        pin_extra=[{} for _ in pins.names],
    )


def _soft_sizes(rng: np.random.Generator, num_soft: int, hard_wh: np.ndarray,
                hard_area_fraction: float, sigma: float) -> np.ndarray:
    """(S, 2) soft macro sizes: log-normal areas summing to the soft share of
    the macro area, aspect ratios in [1/2, 2], rounded to 1e-3."""
    hard_area = float(np.sum(hard_wh[:, 0] * hard_wh[:, 1]))
    soft_total = hard_area * (1.0 - hard_area_fraction) / hard_area_fraction
    area = rng.lognormal(0.0, sigma, size=num_soft)
    area *= soft_total / max(area.sum(), 1e-12)
    aspect = np.exp(rng.uniform(np.log(0.5), np.log(2.0), size=num_soft))
    w = np.round(np.sqrt(area * aspect), 3)
    h = np.round(area / np.sqrt(area * aspect), 3)
    return np.maximum(np.stack([w, h], axis=1), 0.001)


def _canvas(hard_wh: np.ndarray, soft_wh: np.ndarray, utilization: float,
            aspect_ratio: float) -> np.ndarray:
    """(width, height) with macro area / canvas area = utilization, rounded up
    to 1e-3."""
    area = float(np.sum(hard_wh[:, 0] * hard_wh[:, 1])
                 + np.sum(soft_wh[:, 0] * soft_wh[:, 1]))
    height = math.sqrt(area / utilization / aspect_ratio)
    width = height * aspect_ratio
    return np.array([math.ceil(width * 1000) / 1000, math.ceil(height * 1000) / 1000])


def _cluster_homes(rng: np.random.Generator, num_clusters: int, subclusters: int
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(leaf_top (L,), leaf_home (L, 2)): each leaf cluster's top cluster and its
    home as a fraction of the canvas. Top clusters take distinct cells of a
    jittered k x k lattice; leaves scatter around their top cluster's home."""
    k = math.ceil(math.sqrt(num_clusters))
    cells = rng.permutation(k * k)[:num_clusters]
    top_home = (np.stack([cells % k, cells // k], axis=1) + 0.5
                + rng.uniform(-0.2, 0.2, size=(num_clusters, 2))) / k
    leaf_top = np.repeat(np.arange(num_clusters), subclusters)
    leaf_home = np.clip(top_home[leaf_top]
                        + rng.normal(0, 0.35 / k, (len(leaf_top), 2)), 0.08, 0.92)
    return leaf_top, leaf_home


@dataclass
class _Pins:
    """Pins in the order a reader of the written netlist numbers them (macro
    pins in file order, then one pin per port), with file rows.

    ``index`` is each macro pin's file row (-1 for port pins, whose row is the
    port's); ``node_index`` is each node's file row: a macro's row is followed
    by those of its pins.
    """

    names: list[str] = field(default_factory=list)
    node: list[int] = field(default_factory=list)
    offset: list[tuple[float, float]] = field(default_factory=list)
    kind: list[int] = field(default_factory=list)
    index: list[int] = field(default_factory=list)
    node_index: np.ndarray = None
    hard_in: list[list[int]] = field(default_factory=list)    # per hard macro
    hard_out: list[list[int]] = field(default_factory=list)   # per hard macro
    soft: list[list[int]] = field(default_factory=list)       # per soft macro
    port: np.ndarray = None                                    # per port

    def add(self, name: str, node: int, offset, kind: int, index: int) -> int:
        self.names.append(name)
        self.node.append(node)
        self.offset.append(offset)
        self.kind.append(kind)
        self.index.append(index)
        return len(self.names) - 1

    @classmethod
    def build(cls, names: list[str], kind: np.ndarray,
              hard_pin_offsets: list[list[tuple[float, float]]],
              output_fraction: float, soft_pins: int) -> _Pins:
        """Pins of every node: hard macro i gets hard_pin_offsets[i] (the last
        output_fraction of them outputs), each soft macro soft_pins centre pins."""
        pins = cls(node_index=np.zeros(len(names), np.int64))
        row = 0
        for v in np.flatnonzero(kind == PORT):
            pins.node_index[v] = row
            row += 1
        for v, offsets in zip(np.flatnonzero(kind == HARD_MACRO), hard_pin_offsets,
                              strict=True):
            pins.node_index[v] = row
            row += 1
            n_out = max(1, int(round(output_fraction * len(offsets))))
            ins, outs = [], []
            for j, off in enumerate(offsets):
                is_out = j >= len(offsets) - n_out
                p = pins.add(f"{names[v]}/{'out' if is_out else 'in'}_{j}", int(v),
                             off, PIN_HARD, row)
                (outs if is_out else ins).append(p)
                row += 1
            pins.hard_in.append(ins)
            pins.hard_out.append(outs)
        for v in np.flatnonzero(kind == SOFT_MACRO):
            pins.node_index[v] = row
            row += 1
            pins.soft.append([pins.add(f"{names[v]}/P{j}", int(v), (0.0, 0.0),
                                       PIN_SOFT, row + j) for j in range(soft_pins)])
            row += soft_pins
        pins.port = np.array([pins.add(names[v], int(v), (0.0, 0.0), PIN_PORT, -1)
                              for v in np.flatnonzero(kind == PORT)], dtype=np.int64)
        return pins


def _check_args(num_hard, num_soft, num_ports, num_clusters, subclusters, hard_types,
                hard_side, hard_pins, utilization, locality, halo, max_fanout,
                soft_pins):
    if min(num_hard, num_soft, num_ports) < 0 or num_hard + num_soft < 2:
        raise ValueError("need non-negative counts and at least two macros")
    if num_soft < num_clusters * subclusters:
        raise ValueError("need at least one soft macro per leaf cluster "
                         f"({num_clusters} x {subclusters})")
    if min(num_clusters, subclusters, hard_types, max_fanout, soft_pins) < 1:
        raise ValueError("num_clusters, subclusters, hard_types, max_fanout and "
                         "soft_pins must be >= 1")
    if not 0 < hard_side[0] <= hard_side[1]:
        raise ValueError(f"hard_side must be 0 < lo <= hi, got {hard_side}")
    if not 1 <= hard_pins[0] <= hard_pins[1]:
        raise ValueError(f"hard_pins must be 1 <= lo <= hi, got {hard_pins}")
    if not 0 < utilization < 1:
        raise ValueError(f"utilization must be in (0, 1), got {utilization}")
    if min(locality) < 0 or sum(locality) > 1:
        raise ValueError(f"locality must be two probabilities summing to <= 1, "
                         f"got {locality}")
    if halo <= 0:
        raise ValueError(f"halo must be > 0, got {halo}")


def _boundary_pins(wh: np.ndarray, sides: tuple[str, ...], n: int
                   ) -> list[tuple[float, float]]:
    """n pin offsets (orientation N) spread evenly over the given macro edges."""
    w, h = float(wh[0]), float(wh[1])
    per_side = np.array_split(np.arange(n), len(sides))
    out = []
    for side, idx in zip(sides, per_side, strict=True):
        t = (np.arange(len(idx)) + 0.5) / max(len(idx), 1) * 0.8 + 0.1  # in (0.1, 0.9)
        for u in t:
            if side in ("LEFT", "RIGHT"):
                out.append((-w / 2 if side == "LEFT" else w / 2,
                            round(float((u - 0.5) * h), 3)))
            else:
                out.append((round(float((u - 0.5) * w), 3),
                            -h / 2 if side == "BOTTOM" else h / 2))
    return out


class _Floorplan:
    """A raster of the canvas (about ``resolution`` pixels along its longer side)
    that places rectangles one at a time at the free spot nearest a target.

    A rectangle's lower-left corner sits on a pixel corner and the pixels it
    touches, grown by its halo, become taken; a summed-area table finds every
    free spot for the next rectangle in one pass. Corners keep ``margin``
    microns from the canvas edge.
    """

    def __init__(self, canvas: np.ndarray, resolution: int = 128):
        self.canvas = canvas
        self.px = float(max(canvas)) / resolution
        self.taken = np.zeros((int(canvas[1] // self.px), int(canvas[0] // self.px)),
                              bool)

    def place(self, wh: np.ndarray, target: np.ndarray, halo: float = 0.0,
              margin: float = 0.0, mark: bool = True) -> np.ndarray | None:
        """The centre nearest ``target`` where a ``wh`` rectangle fits (rounded to
        1e-3), marking it taken if ``mark``; None when there is no room."""
        ny, nx = self.taken.shape
        px = self.px
        fw, fh = int(math.ceil(wh[0] / px)), int(math.ceil(wh[1] / px))
        m = int(math.ceil(margin / px))
        rows = np.arange(m, ny - fh - m + 1)
        cols = np.arange(m, nx - fw - m + 1)
        if len(rows) == 0 or len(cols) == 0:
            return None
        sat = np.zeros((ny + 1, nx + 1), np.int32)
        sat[1:, 1:] = self.taken.cumsum(0).cumsum(1)
        jj, cc = np.meshgrid(rows, cols, indexing="ij")
        used = (sat[jj + fh, cc + fw] - sat[jj, cc + fw] - sat[jj + fh, cc]
                + sat[jj, cc])
        cx, cy = cc * px + wh[0] / 2, jj * px + wh[1] / 2
        dist = np.where(used == 0, (cx - target[0]) ** 2 + (cy - target[1]) ** 2,
                        np.inf)
        k = int(np.argmin(dist))
        if not np.isfinite(dist.flat[k]):
            return None
        if mark:
            g = int(math.ceil(halo / px))
            r0, c0 = int(jj.flat[k]), int(cc.flat[k])
            self.taken[max(r0 - g, 0):r0 + fh + g, max(c0 - g, 0):c0 + fw + g] = True
        return np.round([float(cx.flat[k]), float(cy.flat[k])], 3)


def _initial_placement(hard_wh: np.ndarray, hard_target: np.ndarray,
                       soft_wh: np.ndarray, soft_target: np.ndarray,
                       canvas: np.ndarray, halo: float
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Hard macros, largest first, at the free spot nearest their target, a halo
    apart and a halo from the edge (ValueError if one does not fit); then soft
    macros likewise without halo, or at their target (overlapping) when no
    spot is free."""
    plan = _Floorplan(canvas)
    hard_xy = np.zeros((len(hard_wh), 2))
    for i in np.argsort(-hard_wh[:, 0] * hard_wh[:, 1], kind="stable"):
        xy = plan.place(hard_wh[i], hard_target[i], halo=halo, margin=halo)
        if xy is None:
            raise ValueError(f"hard macro {i} of size {hard_wh[i].tolist()} does not "
                             f"fit on the {canvas.tolist()} canvas; lower the "
                             "utilization, the hard area fraction or the halo")
        hard_xy[i] = xy
    soft_xy = np.zeros((len(soft_wh), 2))
    lo = np.ceil(soft_wh / 2 * 1000) / 1000
    for i in np.argsort(-soft_wh[:, 0] * soft_wh[:, 1], kind="stable"):
        xy = plan.place(soft_wh[i], soft_target[i])
        soft_xy[i] = np.clip(soft_target[i] if xy is None else xy, lo[i],
                             canvas - lo[i]).round(3)
    return hard_xy, soft_xy


def _port_positions(home: np.ndarray, canvas: np.ndarray, rng: np.random.Generator
                    ) -> tuple[np.ndarray, list[str]]:
    """Ports on the boundary: mostly on the side nearest their cluster's home,
    near that home's projection."""
    n = len(home)
    # distance of each home to LEFT, RIGHT, BOTTOM, TOP (fractions of the canvas)
    d = np.stack([home[:, 0], 1 - home[:, 0], home[:, 1], 1 - home[:, 1]], axis=1)
    side = np.argmin(d, axis=1)
    other = rng.random(n) < 0.2
    side = np.where(other, rng.integers(4, size=n), side)
    along = np.clip(np.where(side < 2, home[:, 1], home[:, 0])
                    + rng.normal(0, 0.12, n), 0.0, 1.0)
    xy = np.zeros((n, 2))
    xy[:, 0] = np.select([side == 0, side == 1], [0.0, canvas[0]], along * canvas[0])
    xy[:, 1] = np.select([side == 2, side == 3], [0.0, canvas[1]], along * canvas[1])
    return np.round(xy, 3), [_SIDES[s] for s in side]


def _draw_sinks(rng: np.random.Generator, drivers: list[int], pin_node: np.ndarray,
                sink_pins: np.ndarray, reusable: np.ndarray, node_leaf: np.ndarray,
                leaf_top: np.ndarray, locality: tuple[float, float],
                fanout_alpha: float, max_fanout: int) -> list[list[int]]:
    """Sink pins of each driver's net.

    Each sink is a pin drawn uniformly from the candidates in a scope (the
    driver's leaf cluster, its top cluster or everything, by ``locality``;
    wider when the scope has none): reusable pins (soft macros) any number of
    times, the others (hard macro inputs, output ports) once, and one pin per
    node and net. Pins no net reached end up on a net of their leaf cluster.
    """
    owner = pin_node[sink_pins]
    leaf = node_leaf[owner]
    top = leaf_top[leaf]
    free = np.ones(len(sink_pins), bool)
    ks = np.arange(1, max_fanout + 1)
    p_k = ks.astype(float) ** -fanout_alpha
    p_k /= p_k.sum()
    everything = np.ones(len(sink_pins), bool)

    sinks = []
    for d in drivers:
        u = int(pin_node[d])
        d_leaf = node_leaf[u]
        d_top = leaf_top[d_leaf]
        ok = free & (owner != u)
        pins = []
        for _ in range(int(rng.choice(ks, p=p_k))):
            r = rng.random()
            scope = (leaf == d_leaf if r < locality[0]
                     else top == d_top if r < locality[0] + locality[1]
                     else everything)
            for mask in (scope, top == d_top, everything):
                cand = np.flatnonzero(ok & mask)
                if len(cand):
                    break
            if not len(cand):
                break
            i = int(cand[rng.integers(len(cand))])
            pins.append(int(sink_pins[i]))
            ok &= owner != owner[i]
            if not reusable[i]:
                free[i] = ok[i] = False
        sinks.append(pins)

    driver_leaf = node_leaf[pin_node[np.asarray(drivers)]]
    driver_node = pin_node[np.asarray(drivers)]
    for i in np.flatnonzero(free & ~reusable):
        nets = np.flatnonzero((driver_leaf == leaf[i]) & (driver_node != owner[i]))
        if not len(nets):
            nets = np.flatnonzero(driver_node != owner[i])
        sinks[int(nets[rng.integers(len(nets))])].append(int(sink_pins[i]))
    for n, pins in enumerate(sinks):   # a net left without sinks gets a local one
        if not pins:
            cand = np.flatnonzero(reusable & (owner != driver_node[n]))
            local = cand[leaf[cand] == driver_leaf[n]]
            cand = local if len(local) else cand
            pins.append(int(sink_pins[cand[rng.integers(len(cand))]]))
    return sinks


def random_design(seed: int, max_hard: int = 140, max_soft: int = 800,
                  grid: str | tuple[int, int] = "search") -> Netlist:
    """A design of the training family: its sizes and settings drawn per seed.

    The ranges cover those of the shared clustered netlists (Ariane133: 133
    hard macros of one shape holding 70% of the macro area, 782 soft macros
    with a median of 11 pins, 495 ports, utilisation 0.70, 57 routes per
    micron with macros blocking 53-69% of them): 10 to ``max_hard`` hard
    macros of 1 to 4 shapes, 100 to ``max_soft`` soft macros with 1 to 12
    pins, 20 to 500 ports, utilisation 0.45 to 0.75 (lowered in steps of
    0.05 when the legal initial placement does not fit), canvas aspect 0.8 to 1.25,
    routes per micron 45 to 80 with macros blocking 50% to 90% of them, and a
    smoothing range of 0 to 2.

    Args:
        seed: the design's seed (equal seeds give equal designs).
        max_hard, max_soft: upper ends of the hard and soft macro counts.
        grid: "search" (Circuit Training's gridding search picks rows and
            columns) or (columns, rows).
    """
    rng = np.random.default_rng([seed, 0x5EED])
    num_hard = int(rng.integers(10, max_hard + 1))
    num_soft = int(rng.integers(100, max_soft + 1))
    num_ports = int(rng.integers(20, 501))
    num_clusters = int(rng.integers(2, 7))
    subclusters = int(rng.integers(2, 5))
    lo = float(rng.uniform(20.0, 60.0))
    kwargs = dict(
        soft_pins=int(rng.integers(1, 13)),
        num_clusters=num_clusters, subclusters=subclusters,
        hard_types=int(rng.integers(1, 5)),
        hard_side=(lo, lo * float(rng.uniform(1.2, 3.0))),
        hard_pins=(int(rng.integers(4, 33)), int(rng.integers(33, 65))),
        hard_area_fraction=float(rng.uniform(0.4, 0.75)),
        aspect_ratio=float(np.exp(rng.uniform(np.log(0.8), np.log(1.25)))),
        fanout_alpha=float(rng.uniform(1.4, 2.4)),
        locality=(float(rng.uniform(0.5, 0.8)), float(rng.uniform(0.1, 0.2))),
        name=f"design_{seed}")
    utilization = float(rng.uniform(0.45, 0.75))
    while True:
        try:
            nl = synthetic_netlist(seed, num_hard, num_soft, num_ports,
                                   utilization=utilization, **kwargs)
            break
        except ValueError:
            # the legal initial placement did not fit: a roomier canvas
            if utilization <= 0.3:
                raise
            utilization -= 0.05
    rh, rv = (float(x) for x in np.round(rng.uniform(45.0, 80.0, 2), 3))
    block = rng.uniform(0.5, 0.9, 2)
    nl = nl.with_settings(routes_per_micron_hor=rh, routes_per_micron_ver=rv,
                          macro_routes_hor=float(np.round(rh * block[0], 3)),
                          macro_routes_ver=float(np.round(rv * block[1], 3)),
                          smoothing_range=int(rng.integers(0, 3)))
    if grid == "search":
        return grid_for(nl)
    return nl.with_settings(grid_cols=int(grid[0]), grid_rows=int(grid[1]))


def write_design(nl: Netlist, out_dir: str | os.PathLike) -> tuple[str, str]:
    """Writes ``netlist.pb.txt`` and ``initial.plc`` into out_dir (created)."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    netlist_path = os.path.join(out_dir, "netlist.pb.txt")
    plc_path = os.path.join(out_dir, "initial.plc")
    save_netlist(nl, netlist_path)
    nl = nl.copy()
    nl.source = "netlist.pb.txt"
    save_placement(nl, plc_path)
    return netlist_path, plc_path


def main(argv: list[str] | None = None) -> int:
    """``python -m placer.synth``: writes one synthetic design."""
    ap = argparse.ArgumentParser(
        prog="placer-synth", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--seed", type=int, default=0,
                    help="random seed (the design is deterministic per seed)")
    ap.add_argument("--out", required=True,
                    help="output folder (netlist.pb.txt and initial.plc)")
    ap.add_argument("--num-hard", type=int, default=20, help="hard macros")
    ap.add_argument("--num-soft", type=int, default=100,
                    help="soft macros (standard-cell clusters)")
    ap.add_argument("--num-ports", type=int, default=40, help="I/O ports")
    ap.add_argument("--grid", type=int, nargs=2, default=(10, 10),
                    metavar=("COLS", "ROWS"), help="placement grid")
    ap.add_argument("--utilization", type=float, default=0.6,
                    help="macro area over canvas area")
    ap.add_argument("--family", action="store_true",
                    help="a design of the training family (random_design(seed)): "
                         "sizes and settings drawn from the seed; the options "
                         "above are ignored")
    args = ap.parse_args(argv)
    if args.family:
        nl = random_design(args.seed)
        nl.name = os.path.basename(os.path.normpath(args.out))
        paths = write_design(nl, args.out)
        print(f"{nl!r}\nwrote {paths[0]} and {paths[1]}")
        return 0
    try:
        nl = synthetic_netlist(args.seed, args.num_hard, args.num_soft,
                               args.num_ports, grid=tuple(args.grid),
                               utilization=args.utilization,
                               name=os.path.basename(os.path.normpath(args.out)))
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    paths = write_design(nl, args.out)
    print(f"{nl!r}\nwrote {paths[0]} and {paths[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
