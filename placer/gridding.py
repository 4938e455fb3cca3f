"""Automatic grid-size selection: Circuit Training's gridding search.

Circuit Training picks the number of grid rows and columns once per design,
before training, from the hard-macro sizes and the canvas. TILOS
MacroPlacement documents the method (CodeElements/Gridding) and this module
follows that description and its reference implementation:

1. Candidates: every ``rows`` in ``[min_rows, max_rows)`` and ``cols`` in
   ``[min_cols, max_cols)`` with ``min_cells <= rows * cols <= max_cells``
   whose cell aspect ratio (w / h and h / w) is at most ``max_aspect_ratio``.
2. Packing: the hard macros, in non-increasing area order (stable for equal
   areas), each go to the first cell in row-major order (row 0 at y = 0)
   whose centre puts the macro inside the canvas without overlapping any
   macro packed before it (touching is allowed). A candidate where some macro
   finds no such cell is infeasible.
3. Metric: ``(1 - waste(widths, cell_w)) + (1 - waste(heights, cell_h)) +
   empty_cells / (rows * cols)``; a cell is empty when the packed macros cover
   less than 1e-5 of its area. ``waste`` is the segment-span formula
   (``waste_ratio``), fed the macro sizes in their original order.
4. Selection: the best metric, then, among candidates whose metric is within
   ``tolerance`` of it, the one with the largest ``metric / (rows * cols)``.

The packing is vectorised: for each macro, the cells blocked by each packed
macro form a rectangle of rows x columns (found with ``searchsorted`` on the
monotone left / right edges), and a 2-D difference array turns those rectangles
into a blocked-cell count for the whole grid at once.

Dimension names: M hard macros, R x C grid (R rows, C columns), K macros packed
so far.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, Netlist

__all__ = [
    "GridChoice",
    "choose_grid",
    "grid_for",
    "grid_metric",
    "hard_macro_sizes",
    "pack_macros",
    "waste_ratio",
]

# A cell whose covered fraction is below this counts as empty (TILOS / CT).
EMPTY_THRESHOLD = 1e-5
RULES = ("tilos", "circuit_training")


@dataclass(frozen=True)
class GridChoice:
    """The outcome of ``choose_grid``.

    Attributes:
        rows: chosen number of grid rows (R).
        cols: chosen number of grid columns (C).
        metric: the packing metric of the chosen grid (at most 3).
        candidates_evaluated: (rows, cols) pairs that met the size and aspect
            constraints and were packed.
        candidates_feasible: how many of those packed every macro.
        best_rows, best_cols, best_metric: the best-metric grid before the
            preference for fewer cells.
    """

    rows: int
    cols: int
    metric: float
    candidates_evaluated: int
    candidates_feasible: int = 0
    best_rows: int = 0
    best_cols: int = 0
    best_metric: float = 0.0


# --------------------------------------------------------------------- waste
def waste_ratio(segments, cell: float, rule: str = "tilos") -> float:
    """Wasted fraction when segments are laid side by side on cell centres.

    Each segment (a macro width or height) is centred on a cell, so it spans
    an odd number of cells ``2 k + 1`` with ``k = ceil((s - cell) / (2 cell))``
    and fills ``extra = cell - (span * cell - s) / 2`` of its last cell. Laying
    the segments one after another in the given order, a segment shares a cell
    with the previous one when ``extra + previous extra < cell`` (TILOS'
    GetWasteSpace) or ``<= cell`` (Circuit Training's get_waste_ratio). With
    ``n`` the total cell count so obtained, the span is ``(n + 1) * cell`` and
    the waste is ``(span - sum(segments)) / span``.

    Args:
        segments: (M,) segment lengths, in the order they are laid.
        cell: the cell size along the same axis.
        rule: "tilos" (strict ``<``) or "circuit_training" (``<=``).

    Returns:
        The waste ratio.
    """
    _check_rule(rule)
    seg = np.asarray(segments, dtype=np.float64).reshape(-1)
    g = float(cell)
    total = sum(float(s) for s in seg)  # Python's sum, as the references do
    if seg.size == 0:
        return (g - total) / g
    k = np.ceil((seg - g) / (2.0 * g))
    if rule == "circuit_training":
        # CT finds the smallest odd span with span * cell >= s by trying
        # 1, 3, 5, ... (no division); fix the quotient's rounding to match.
        k = np.maximum(k, 0.0)
        k = np.where((2.0 * k + 1.0) * g - seg < 0.0, k + 1.0, k)
        k = np.where((k > 0) & ((2.0 * k - 1.0) * g - seg >= 0.0), k - 1.0, k)
    span_cells = 2.0 * k + 1.0
    extra = g - (span_cells * g - seg) / 2.0
    prev = np.concatenate(([0.0], extra[:-1]))
    shares = (extra + prev <= g) if rule == "circuit_training" else (extra + prev < g)
    n = float(np.sum(span_cells - shares))
    span = (n + 1.0) * g
    return (span - total) / span


# ------------------------------------------------------------------- packing
# Boxes added one at a time (slices) up to this many; beyond, vectorised.
_LOOP_BOXES = 24
_SIGNS = np.array([1.0, -1.0, -1.0, 1.0])


def _pack(w, h, rows, cols, canvas_w, canvas_h, order):
    """Packs macros (w, h) in ``order``; returns (cells (M,), coverage (R, C)).

    cells[i] is the flat row-major cell of macro i, or (None, None) when some
    macro cannot be packed. coverage is the macro area inside each cell.

    Each distinct macro size keeps its own legal-cell mask (R, C). A packed box
    blocks, for a given size, the cells whose centred macro would overlap it:
    a rectangle of rows x columns, found by binary search on the candidate
    macro's edges (non-decreasing in the cell index). A mask is built from all
    boxes packed so far (2-D difference array) the first time its size comes
    up and then only gains the boxes packed since; and since a mask only loses
    cells, the search for a size resumes at the cell its previous macro took.
    """
    gw = canvas_w / cols
    gh = canvas_h / rows
    xc = (np.arange(cols, dtype=np.float64) + 0.5) * gw   # (C,) cell centres
    yc = (np.arange(rows, dtype=np.float64) + 0.5) * gh   # (R,)
    cell_area = gw * gh
    stride = cols + 1
    size = (rows + 1) * stride

    m = len(order)
    blx = np.empty(m)     # packed boxes, in packing order (K,)
    bly = np.empty(m)
    bux = np.empty(m)
    buy = np.empty(m)
    box_list = []         # the same, as Python floats (x0, x1, y0, y1)
    cells = np.empty(m, dtype=np.int64)
    # TILOS also skips a cell whose covered fraction exceeds 1 (only float
    # rounding can do that, on a fully covered cell). A macro of positive area
    # centred there overlaps a packed one anyway; for zero-area macros track it.
    track_full = bool(np.any(w * h == 0.0))
    cover = np.zeros((rows, cols)) if track_full else None
    states = {}   # (w, h) -> [legal (R, C), boxes applied, start, edge lists]

    def block(legal, edges, a, k):
        """Removes from ``legal`` the cells blocked by boxes a..k-1."""
        lx, ux, ly, uy, lxl, uxl, lyl, uyl = edges
        if k - a <= _LOOP_BOXES:
            for x0, x1, y0, y1 in box_list[a:k]:
                # Box blocks column j unless lx_j >= x1 or ux_j <= x0.
                legal[bisect_right(uyl, y0):bisect_left(lyl, y1),
                      bisect_right(uxl, x0):bisect_left(lxl, x1)] = False
            return
        c0 = np.searchsorted(ux, blx[a:k], "right")
        c1 = np.maximum(np.searchsorted(lx, bux[a:k], "left"), c0)
        r0 = np.searchsorted(uy, bly[a:k], "right")
        r1 = np.maximum(np.searchsorted(ly, buy[a:k], "left"), r0)
        idx = np.concatenate((r0, r0, r1, r1)) * stride
        idx += np.concatenate((c0, c1, c0, c1))
        diff = np.bincount(idx, np.repeat(_SIGNS, k - a), minlength=size)
        count = diff.reshape(rows + 1, stride).cumsum(0).cumsum(1)
        legal &= count[:rows, :cols] < 0.5

    keys = list(zip(w[order].tolist(), h[order].tolist(), strict=True))
    for k, i in enumerate(order.tolist()):
        key = keys[k]
        st = states.get(key)
        if st is None:
            wi, hi = key
            # A macro centred on each cell: the reference's lx = x - w/2,
            # ux = lx + w; all non-decreasing in the index.
            lx = xc - wi / 2.0
            ux = lx + wi
            ly = yc - hi / 2.0
            uy = ly + hi
            lxl, uxl, lyl, uyl = lx.tolist(), ux.tolist(), ly.tolist(), uy.tolist()
            # Inside the canvas: lx >= 0 and ux <= W, a run of columns (rows).
            c_lo, c_hi = bisect_left(lxl, 0.0), bisect_right(uxl, canvas_w)
            r_lo, r_hi = bisect_left(lyl, 0.0), bisect_right(uyl, canvas_h)
            if c_lo >= c_hi or r_lo >= r_hi:
                return None, None
            legal = np.zeros((rows, cols), dtype=bool)
            legal[r_lo:r_hi, c_lo:c_hi] = True
            st = [legal, 0, 0, (lx, ux, ly, uy, lxl, uxl, lyl, uyl)]
            states[key] = st
        legal, applied, start, edges = st
        if applied < k:
            block(legal, edges, applied, k)
        flat_legal = legal.reshape(-1)
        cand = flat_legal[start:]
        if track_full:
            cand = cand & (cover / cell_area <= 1.0).reshape(-1)[start:]
        flat = start + int(cand.argmax())
        if not cand[flat - start]:
            return None, None
        r, c = divmod(flat, cols)
        cells[i] = flat
        lxl, uxl, lyl, uyl = edges[4:]
        box = (lxl[c], uxl[c], lyl[r], uyl[r])
        blx[k], bux[k], bly[k], buy[k] = box
        box_list.append(box)
        st[1], st[2] = k, flat     # block() adds box k next time round
        if track_full:
            cover += _coverage(*box, rows, cols, gw, gh)
    if not track_full:
        cover = _coverage(blx, bux, bly, buy, rows, cols, gw, gh)
    return cells, cover


def _coverage(blx, bux, bly, buy, rows, cols, gw, gh):
    """(R, C) total area of boxes (arrays (K,) or scalars) inside each cell."""
    ci = np.arange(cols, dtype=np.float64)
    ri = np.arange(rows, dtype=np.float64)
    x0, x1 = ci * gw, (ci + 1.0) * gw
    y0, y1 = ri * gh, (ri + 1.0) * gh
    blx, bux = np.atleast_1d(blx)[:, None], np.atleast_1d(bux)[:, None]
    bly, buy = np.atleast_1d(bly)[:, None], np.atleast_1d(buy)[:, None]
    # Overlap lengths (K, C) and (K, R); zero where they only touch.
    ox = np.maximum(np.minimum(bux, x1) - np.maximum(blx, x0), 0.0)
    oy = np.maximum(np.minimum(buy, y1) - np.maximum(bly, y0), 0.0)
    return oy.T @ ox


def _area_order(w, h):
    """Indices by non-increasing area, ties in input order."""
    return np.argsort(-(w * h), kind="stable")


def pack_macros(sizes, rows: int, cols: int, canvas_width: float,
                canvas_height: float) -> np.ndarray | None:
    """Packs macros greedily on a grid, as the gridding search does.

    Args:
        sizes: (M, 2) macro widths and heights.
        rows, cols: the grid (R, C).
        canvas_width, canvas_height: the canvas.

    Returns:
        (M,) int64 flat row-major cell (``row * cols + col``) of each macro, in
        input order, or None when some macro cannot be packed.
    """
    w, h, cw, ch = _check_inputs(sizes, canvas_width, canvas_height)
    rows, cols = _check_int("rows", rows, 1), _check_int("cols", cols, 1)
    cells, _ = _pack(w, h, rows, cols, cw, ch, _area_order(w, h))
    return cells


def grid_metric(sizes, rows: int, cols: int, canvas_width: float,
                canvas_height: float, rule: str = "tilos") -> float | None:
    """The gridding metric of one grid, or None when packing fails.

    ``(1 - waste(widths, cw)) + (1 - waste(heights, ch)) + empty / (R C)``.
    """
    _check_rule(rule)
    w, h, cw, ch = _check_inputs(sizes, canvas_width, canvas_height)
    rows, cols = _check_int("rows", rows, 1), _check_int("cols", cols, 1)
    cells, cover = _pack(w, h, rows, cols, cw, ch, _area_order(w, h))
    if cells is None:
        return None
    return _metric(w, h, rows, cols, cw, ch, cover, rule, {}, {})


def _metric(w, h, rows, cols, cw, ch, cover, rule, hor_cache, ver_cache):
    gw, gh = cw / cols, ch / rows
    empty = int(np.count_nonzero(cover / (gw * gh) < EMPTY_THRESHOLD))
    if cols not in hor_cache:
        hor_cache[cols] = waste_ratio(w, gw, rule)
    if rows not in ver_cache:
        ver_cache[rows] = waste_ratio(h, gh, rule)
    # The reference's order of operations.
    metric = 1.0 - hor_cache[cols]
    metric += 1.0 - ver_cache[rows]
    metric += empty / (rows * cols)
    return metric


# -------------------------------------------------------------------- search
def choose_grid(netlist_or_sizes, canvas_width: float | None = None,
                canvas_height: float | None = None, min_rows: int = 10,
                min_cols: int = 10, max_rows: int = 128, max_cols: int = 128,
                min_cells: int = 500, max_cells: int = 2500,
                max_aspect_ratio: float = 1.5, tolerance: float = 0.05,
                rule: str = "tilos", include_fixed: bool = True) -> GridChoice:
    """Chooses grid rows and columns by Circuit Training's gridding search.

    Args:
        netlist_or_sizes: a Netlist (its hard macros' oriented sizes and its
            canvas are used) or an (M, 2) array of macro widths and heights.
        canvas_width, canvas_height: the canvas; required with an array,
            optional overrides with a Netlist.
        min_rows, max_rows: rows are searched in ``[min_rows, max_rows)``.
        min_cols, max_cols: columns are searched in ``[min_cols, max_cols)``.
        min_cells, max_cells: bounds (inclusive) on ``rows * cols``.
        max_aspect_ratio: bound on cell w / h and h / w.
        tolerance: candidates whose metric is at least ``(1 - tolerance)`` of
            the best compete on ``metric / (rows * cols)``.
        rule: "tilos" (default) follows TILOS' gridding.py exactly: waste
            shares a cell when ``extra + previous < cell``, and the final pick
            starts from the best grid's ``metric / cells`` and moves only on a
            strictly larger value, scanning rows then columns.
            "circuit_training" follows Google's grid_size_selection.py: ``<=``
            in the waste, and the pick is the first maximum of ``metric /
            cells`` over the qualified candidates sorted by metric. The rule
            changes nothing else: CT's own defaults differ in max_cells (its
            flag says 4096) and include_fixed (False).
        include_fixed: with a Netlist, whether fixed hard macros count
            (Circuit Training leaves them out by default; TILOS has no notion
            of fixed macros).

    Returns:
        GridChoice(rows, cols, metric, candidates_evaluated, ...).

    Raises:
        PlacerInputError: for bad arguments, a design without hard macros, a
            search with no candidate, or when no candidate packs every macro.
    """
    _check_rule(rule)
    if isinstance(netlist_or_sizes, Netlist):
        nl = netlist_or_sizes
        sel = _hard_macro_mask(nl, include_fixed)
        sizes = nl.oriented_size()[sel]
        names = [nl.node_names[i] for i in np.flatnonzero(sel)]
        cw = nl.settings.canvas_width if canvas_width is None else canvas_width
        ch = nl.settings.canvas_height if canvas_height is None else canvas_height
    else:
        sizes, names, cw, ch = netlist_or_sizes, None, canvas_width, canvas_height
        if cw is None or ch is None:
            raise PlacerInputError(
                "choose_grid needs canvas_width and canvas_height with an array "
                "of macro sizes")
    w, h, cw, ch = _check_inputs(sizes, cw, ch)
    if w.size == 0:
        raise PlacerInputError("gridding needs at least one hard macro; the design "
                               "has none")
    min_rows = _check_int("min_rows", min_rows, 1)
    min_cols = _check_int("min_cols", min_cols, 1)
    max_rows = _check_int("max_rows", max_rows, 1)
    max_cols = _check_int("max_cols", max_cols, 1)
    min_cells = _check_int("min_cells", min_cells, 0)
    max_cells = _check_int("max_cells", max_cells, 0)
    if not (isinstance(max_aspect_ratio, (int, float)) and max_aspect_ratio >= 1):
        raise PlacerInputError(f"max_aspect_ratio must be a number >= 1, got "
                               f"{max_aspect_ratio!r}")
    if not (isinstance(tolerance, (int, float)) and 0 <= tolerance < 1):
        raise PlacerInputError(f"tolerance must be in [0, 1), got {tolerance!r}")

    # Macros larger than the canvas fit no grid; say which.
    too_big = np.flatnonzero((w > cw) | (h > ch))
    if too_big.size:
        i = int(too_big[0])
        label = f"macro {names[i]!r}" if names else f"macro {i}"
        raise PlacerInputError(
            f"{label} ({w[i]:g} x {h[i]:g}) is larger than the canvas "
            f"({cw:g} x {ch:g}); no grid can hold it")

    order = _area_order(w, h)
    hor_cache: dict[int, float] = {}
    ver_cache: dict[int, float] = {}
    choices: list[tuple[int, int, float]] = []   # (rows, cols, metric), scan order
    evaluated = 0
    best = (-1, -1, -1.0)
    for m in range(min_rows, max_rows):
        gh = ch / m
        for n in range(min_cols, max_cols):
            if m * n > max_cells:
                break
            if m * n < min_cells:
                continue
            gw = cw / n
            if gh / gw > max_aspect_ratio or gw / gh > max_aspect_ratio:
                continue
            evaluated += 1
            cells, cover = _pack(w, h, m, n, cw, ch, order)
            if cells is None:
                continue
            metric = _metric(w, h, m, n, cw, ch, cover, rule, hor_cache, ver_cache)
            choices.append((m, n, metric))
            if metric > best[2]:
                best = (m, n, metric)

    if evaluated == 0:
        raise PlacerInputError(
            f"no grid satisfies the constraints: rows in [{min_rows}, {max_rows}), "
            f"cols in [{min_cols}, {max_cols}), {min_cells} <= rows*cols <= "
            f"{max_cells}, cell aspect ratio <= {max_aspect_ratio:g} on a "
            f"{cw:g} x {ch:g} canvas")
    if not choices:
        i = int(order[0])
        label = f"{names[i]!r}" if names else f"macro {i}"
        raise PlacerInputError(
            f"none of the {evaluated} candidate grids can pack all {w.size} hard "
            f"macros on the {cw:g} x {ch:g} canvas without overlap (largest: "
            f"{label}, {w[i]:g} x {h[i]:g}); the macros are too big or too many "
            f"for this canvas")

    rows, cols, metric = _select(choices, best, tolerance, rule)
    return GridChoice(rows=rows, cols=cols, metric=metric,
                      candidates_evaluated=evaluated,
                      candidates_feasible=len(choices),
                      best_rows=best[0], best_cols=best[1], best_metric=best[2])


def _select(choices, best, tolerance, rule):
    """The final pick among feasible (rows, cols, metric), in scan order."""
    best_metric = best[2]
    floor = (1.0 - tolerance) * best_metric
    if rule == "circuit_training":
        ranked = sorted(choices, key=lambda c: c[2], reverse=True)
        qualified = [c for c in ranked if c[2] >= floor]
        return max(qualified, key=lambda c: c[2] / (c[0] * c[1]))
    pick = best
    best_final = best_metric / (best[0] * best[1])
    for m, n, metric in choices:
        final = metric / (m * n)
        if metric >= floor and final > best_final:
            pick = (m, n, metric)
            best_final = final
    return pick


def grid_for(netlist: Netlist, **kwargs) -> Netlist:
    """A copy of ``netlist`` with grid_rows / grid_cols set by ``choose_grid``.

    Keyword arguments go to ``choose_grid``.
    """
    choice = choose_grid(netlist, **kwargs)
    return netlist.with_settings(grid_rows=choice.rows, grid_cols=choice.cols)


# ---------------------------------------------------------------- validation
def hard_macro_sizes(netlist: Netlist, include_fixed: bool = True) -> np.ndarray:
    """(M, 2) oriented widths and heights of the netlist's hard macros."""
    return netlist.oriented_size()[_hard_macro_mask(netlist, include_fixed)]


def _hard_macro_mask(netlist, include_fixed):
    sel = netlist.node_kind == HARD_MACRO
    if not include_fixed:
        sel &= ~netlist.node_fixed
    return sel


def _check_rule(rule):
    if rule not in RULES:
        raise PlacerInputError(f"rule must be one of {RULES}, got {rule!r}")


def _check_int(name, v, lo):
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) \
            or v < lo:
        raise PlacerInputError(f"{name} must be an integer >= {lo}, got {v!r}")
    return int(v)


def _check_inputs(sizes, canvas_width, canvas_height):
    try:
        arr = np.asarray(sizes, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise PlacerInputError(f"macro sizes must be numbers: {e}") from None
    if arr.size == 0:
        arr = arr.reshape(0, 2)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise PlacerInputError(
            f"macro sizes must have shape (M, 2), got {arr.shape}")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise PlacerInputError("macro sizes must be finite and >= 0")
    dims = []
    for name, v in (("canvas_width", canvas_width), ("canvas_height", canvas_height)):
        if isinstance(v, (bool, np.bool_)) or not isinstance(
                v, (int, float, np.integer, np.floating)) or not (
                math.isfinite(v) and v > 0):
            raise PlacerInputError(f"{name} must be a positive number, got {v!r}")
        dims.append(float(v))
    return arr[:, 0].copy(), arr[:, 1].copy(), dims[0], dims[1]
