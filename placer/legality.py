"""Legality of a placement: macro overlap, canvas bounds, blockages, fixed nodes.

Host-side numpy, vectorised. Rules (``check_legality``):

* ``overlap``: two hard macros whose overlap area exceeds
  ``settings.overlap_threshold`` (Circuit Training's "Overlap threshold",
  0.004 by default) *relative to the smaller macro's area*. Circuit Training
  does not document the unit of this setting; a fraction of the smaller
  macro's area makes it independent of the design's scale, and 0.4% of a
  macro is the kind of sliver that legalisers leave. Touching macros never
  overlap. Candidate pairs come from a sweep over x (sort by left edge, then
  only pairs whose x extents overlap are examined), so thousands of macros
  cost about O(n log n + overlapping pairs).
* ``outside_canvas``: a hard or soft macro whose box extends past the canvas
  by more than 1e-6 of the canvas width (x) or height (y).
* ``blockage``: a hard macro overlapping a blockage of rate > 0 by more than
  the overlap threshold, relative to the macro's area.
* ``fixed_moved``: with a reference placement, a fixed node (``node_fixed``)
  whose centre moved (by more than 1e-6 of the canvas size) or whose
  orientation changed.

Boxes use the oriented sizes (E/W families swap width and height) and the
netlist's own soft-macro sizes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, ORIENTATIONS, SOFT_MACRO, Netlist

KINDS = ("overlap", "outside_canvas", "blockage", "fixed_moved")
_REL_TOL = 1e-6
# Candidate pairs examined at once by the overlap sweep (bounds memory).
_PAIR_BLOCK = 1 << 20


@dataclass(frozen=True)
class Violation:
    """One broken rule.

    Attributes:
        kind: "overlap", "outside_canvas", "blockage" or "fixed_moved".
        nodes: names of the nodes involved (two for an overlap).
        message: a sentence for people.
        amount: the size of the breach: for overlap, the overlap area over
            the smaller macro's area; for outside_canvas, how far (microns)
            the box sticks out, the largest side; for blockage, the overlap
            area over the macro's area (summed over blockages); for
            fixed_moved, the distance moved (microns; 0 for a turn only).
    """

    kind: str
    nodes: tuple[str, ...]
    message: str
    amount: float = 0.0


def _boxes(nl: Netlist, idx: np.ndarray) -> np.ndarray:
    """(n, 4) xmin, ymin, xmax, ymax of nodes idx."""
    half = nl.oriented_size()[idx] / 2
    c = nl.node_xy[idx]
    return np.concatenate([c - half, c + half], axis=1)


def overlapping_pairs(boxes: np.ndarray, threshold: float
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs of boxes whose overlap area over the smaller area exceeds threshold.

    Sweep: sort by xmin; box i can only overlap the boxes after it in that
    order whose xmin is below its xmax, a contiguous run found by binary
    search. Those candidate pairs are generated in blocks of at most
    ``_PAIR_BLOCK`` and tested with numpy.

    Args:
        boxes: (n, 4) xmin, ymin, xmax, ymax.
        threshold: the ratio to exceed (>= 0).

    Returns:
        (i, j, ratio): indices into boxes with i < j, sorted, and the ratios.
    """
    n = len(boxes)
    empty = np.zeros(0, np.int64)
    if n < 2:
        return empty, empty, np.zeros(0)
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(boxes[:, 0], kind="stable")
    b = boxes[order]
    # Candidates of sorted box i: sorted j in (i, end_i) with xmin_j < xmax_i.
    end = np.searchsorted(b[:, 0], b[:, 2], side="left")
    count = np.maximum(end - np.arange(n) - 1, 0)
    out_i, out_j, out_r = [], [], []
    first = 0
    while first < n:
        # Rows [first, last) whose candidates fit in one block (at least one row).
        csum = np.cumsum(count[first:])
        last = first + max(1, int(np.searchsorted(csum, _PAIR_BLOCK, side="right")))
        cnt = count[first:last]
        total = int(cnt.sum())
        if total:
            i = np.repeat(np.arange(first, last), cnt)
            starts = np.cumsum(cnt) - cnt
            j = i + 1 + (np.arange(total) - np.repeat(starts, cnt))
            ox = np.minimum(b[i, 2], b[j, 2]) - np.maximum(b[i, 0], b[j, 0])
            oy = np.minimum(b[i, 3], b[j, 3]) - np.maximum(b[i, 1], b[j, 1])
            inter = np.clip(ox, 0, None) * np.clip(oy, 0, None)
            small = np.minimum(area[order[i]], area[order[j]])
            ratio = np.divide(inter, small, out=np.zeros_like(inter), where=small > 0)
            hit = ratio > threshold
            oi, oj = order[i[hit]], order[j[hit]]
            out_i.append(np.minimum(oi, oj))
            out_j.append(np.maximum(oi, oj))
            out_r.append(ratio[hit])
        first = last
    if not out_i:
        return empty, empty, np.zeros(0)
    i, j, r = (np.concatenate(a) for a in (out_i, out_j, out_r))
    srt = np.lexsort((j, i))
    return i[srt], j[srt], r[srt]


def _fmt(x: float) -> str:
    return f"{x:.6g}"


def check_legality(netlist: Netlist, reference: Netlist | None = None,
                   overlap_threshold: float | None = None) -> list[Violation]:
    """Every rule the netlist's placement breaks; an empty list when legal.

    Args:
        netlist: the design and its placement.
        reference: an earlier placement of the same design; fixed nodes must
            not have moved from it. None skips that rule.
        overlap_threshold: overrides ``netlist.settings.overlap_threshold``.

    Returns:
        Violations ordered by kind (overlap, outside_canvas, blockage,
        fixed_moved), then by node order.

    Raises:
        PlacerInputError: when reference has a different number of nodes, or
            the threshold is negative.
    """
    nl = netlist
    thr = nl.settings.overlap_threshold if overlap_threshold is None \
        else float(overlap_threshold)
    if not thr >= 0:
        raise PlacerInputError(f"overlap_threshold must be >= 0, got {thr!r}")
    names = nl.node_names
    w, h = nl.canvas
    out: list[Violation] = []

    # Hard-macro overlap.
    hard = nl.hard_macros
    hboxes = _boxes(nl, hard)
    for a, b, r in zip(*overlapping_pairs(hboxes, thr), strict=True):
        u, v = hard[a], hard[b]
        ox = min(hboxes[a, 2], hboxes[b, 2]) - max(hboxes[a, 0], hboxes[b, 0])
        oy = min(hboxes[a, 3], hboxes[b, 3]) - max(hboxes[a, 1], hboxes[b, 1])
        out.append(Violation(
            "overlap", (names[u], names[v]),
            f"hard macros {names[u]} and {names[v]} overlap by {_fmt(ox * oy)} um^2, "
            f"{_fmt(100 * r)}% of the smaller (threshold {_fmt(100 * thr)}%)",
            float(r)))

    # Macros outside the canvas.
    macros = np.flatnonzero((nl.node_kind == HARD_MACRO)
                            | (nl.node_kind == SOFT_MACRO))
    mb = _boxes(nl, macros)
    tol = _REL_TOL * np.array([w, h])
    past = np.stack([-mb[:, 0], -mb[:, 1], mb[:, 2] - w, mb[:, 3] - h], axis=1)
    past_tol = past - np.concatenate([tol, tol])
    bad = np.flatnonzero(np.any(past_tol > 0, axis=1))
    for k in bad:
        v = macros[k]
        side = ("left", "bottom", "right", "top")
        worst = int(np.argmax(past[k]))
        kind = "hard" if nl.node_kind[v] == HARD_MACRO else "soft"
        out.append(Violation(
            "outside_canvas", (names[v],),
            f"{kind} macro {names[v]} extends {_fmt(past[k, worst])} um past the "
            f"{side[worst]} edge of the {_fmt(w)} x {_fmt(h)} canvas "
            f"(box {_fmt(mb[k, 0])}, {_fmt(mb[k, 1])} to {_fmt(mb[k, 2])}, "
            f"{_fmt(mb[k, 3])})",
            float(past[k, worst])))

    # Hard macros on blockages.
    blk = np.asarray(nl.blockages, np.float64).reshape(-1, 5)
    blk = blk[blk[:, 4] > 0]
    if len(blk) and len(hard):
        harea = (hboxes[:, 2] - hboxes[:, 0]) * (hboxes[:, 3] - hboxes[:, 1])
        rows = max(1, _PAIR_BLOCK // len(blk))
        for s in range(0, len(hard), rows):
            hb = hboxes[s:s + rows, None, :]                        # (r, 1, 4)
            ox = np.minimum(hb[..., 2], blk[None, :, 2]) - np.maximum(hb[..., 0],
                                                                      blk[None, :, 0])
            oy = np.minimum(hb[..., 3], blk[None, :, 3]) - np.maximum(hb[..., 1],
                                                                      blk[None, :, 1])
            inter = (np.clip(ox, 0, None) * np.clip(oy, 0, None)).sum(axis=1)
            ha = harea[s:s + rows]
            ratio = np.divide(inter, ha, out=np.zeros_like(inter), where=ha > 0)
            for k in np.flatnonzero(ratio > thr):
                v = hard[s + k]
                out.append(Violation(
                    "blockage", (names[v],),
                    f"hard macro {names[v]} covers {_fmt(inter[k])} um^2 of "
                    f"blockages, {_fmt(100 * ratio[k])}% of its area (threshold "
                    f"{_fmt(100 * thr)}%)",
                    float(ratio[k])))

    # Fixed nodes moved from the reference.
    if reference is not None:
        if reference.num_nodes != nl.num_nodes:
            raise PlacerInputError(
                f"reference has {reference.num_nodes} nodes, the netlist "
                f"{nl.num_nodes}")
        fixed = np.flatnonzero(nl.node_fixed)
        d = nl.node_xy[fixed] - reference.node_xy[fixed]
        moved = np.any(np.abs(d) > tol, axis=1)
        turned = nl.node_orient[fixed] != reference.node_orient[fixed]
        for k in np.flatnonzero(moved | turned):
            v = fixed[k]
            dist = float(np.hypot(*d[k])) if moved[k] else 0.0
            what = []
            if moved[k]:
                what.append(f"moved {_fmt(dist)} um from "
                            f"({_fmt(reference.node_xy[v, 0])}, "
                            f"{_fmt(reference.node_xy[v, 1])}) to "
                            f"({_fmt(nl.node_xy[v, 0])}, {_fmt(nl.node_xy[v, 1])})")
            if turned[k]:
                o0, o1 = reference.node_orient[v], nl.node_orient[v]
                what.append(f"turned from {ORIENTATIONS[o0] if o0 >= 0 else '-'} to "
                            f"{ORIENTATIONS[o1] if o1 >= 0 else '-'}")
            out.append(Violation("fixed_moved", (names[v],),
                                 f"fixed node {names[v]} " + " and ".join(what),
                                 dist))
    return out


def count_violations(violations: list[Violation]) -> dict[str, int]:
    """{kind: count} for every kind in KINDS (0 where none)."""
    counts = dict.fromkeys(KINDS, 0)
    for v in violations:
        counts[v.kind] += 1
    return counts
