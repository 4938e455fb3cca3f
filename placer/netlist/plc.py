"""Circuit Training placement files (.plc).

Header comments carry the canvas, grid and routing settings; each other line
is ``node_index x y orientation fixed``, where node_index counts every netlist
node (pins included) except ``__metadata__``.
"""

from __future__ import annotations

import contextlib
import datetime
import math
import os
import re
from dataclasses import dataclass, field

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import (
    NO_ORIENT,
    ORIENT_INDEX,
    ORIENTATIONS,
    PIN_HARD,
    PIN_SOFT,
    PORT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
    Settings,
)
from placer.netlist.pbtxt import read_line_blocks

_TOKEN = re.compile(r"[0-9A-Za-z.\-+]+")
# Header line for the one setting Circuit Training's header lacks.
_SOFT_SQUARED = "Soft macros squared"


@dataclass
class PlcFile:
    """What a .plc says: header settings (only those present) and placements."""

    settings: dict = field(default_factory=dict)
    header: dict = field(default_factory=dict)  # other header values (costs...)
    index: np.ndarray = None     # (L,) int64 node indices
    xy: np.ndarray = None        # (L, 2) float64
    orient: np.ndarray = None    # (L,) int8, -1 for "-"
    fixed: np.ndarray = None     # (L,) bool
    lines: np.ndarray = None     # (L,) int64 line numbers


def _float(tok: str, path: str, lineno: int) -> float:
    try:
        if "_" in tok:
            raise ValueError
        v = float(tok)
    except ValueError:
        raise PlacerInputError(f"non-numeric field {tok[:40]!r}", path,
                               lineno) from None
    if not math.isfinite(v):
        raise PlacerInputError(f"non-finite field {tok[:40]!r}", path, lineno)
    return v


def _int(tok: str, path: str, lineno: int) -> int:
    try:
        if "_" in tok:
            raise ValueError
        v = int(tok)
    except ValueError:
        raise PlacerInputError(f"non-integer field {tok[:40]!r}", path,
                               lineno) from None
    if abs(v) >= 2**62:
        raise PlacerInputError(f"integer field out of range {tok[:40]!r}", path, lineno)
    return v


def read_plc(path: str | os.PathLike) -> PlcFile:
    """Reads a .plc: header settings and one placement line per node.

    Raises:
        PlacerInputError: for a missing, unreadable or malformed file, naming
            the file and line.
    """
    path = os.fspath(path)
    out = PlcFile()
    st = out.settings
    idx, xs, ys, ors, fx, lns = [], [], [], [], [], []
    orient_of = dict(ORIENT_INDEX)
    orient_of["-"] = NO_ORIENT
    blocks = read_line_blocks(path)
    with contextlib.closing(blocks):   # the file is closed on errors too
        for base, lines in blocks:
            for j, line in enumerate(lines):
                s = line.strip()
                if not s:
                    continue
                lineno = base + j + 1
                if s[0] == "#":
                    _header(s, st, out.header, path, lineno)
                    continue
                t = s.split()
                if len(t) != 5:
                    raise PlacerInputError(
                        f"expected 'index x y orientation fixed', got {s[:80]!r}",
                        path, lineno)
                idx.append(_int(t[0], path, lineno))
                xs.append(_float(t[1], path, lineno))
                ys.append(_float(t[2], path, lineno))
                o = orient_of.get(t[3])
                if o is None:
                    raise PlacerInputError(f"unknown orientation {t[3][:40]!r}", path,
                                           lineno)
                ors.append(o)
                if t[4] not in ("0", "1"):
                    raise PlacerInputError(
                        f"fixed flag must be 0 or 1, got {t[4][:40]!r}", path, lineno)
                fx.append(t[4] == "1")
                lns.append(lineno)
    out.index = np.asarray(idx, dtype=np.int64)
    out.xy = np.stack([np.asarray(xs, dtype=np.float64),
                       np.asarray(ys, dtype=np.float64)], axis=1).reshape(-1, 2)
    out.orient = np.asarray(ors, dtype=np.int8)
    out.fixed = np.asarray(fx, dtype=bool)
    out.lines = np.asarray(lns, dtype=np.int64)
    return out


def _header(s: str, st: dict, other: dict, path: str, lineno: int) -> None:
    """Reads one header comment into settings ``st`` or ``other`` values;
    settings out of range raise PlacerInputError naming the line."""
    before = dict(st)
    _header_values(s, st, other, path, lineno)
    changed = {k: v for k, v in st.items() if before.get(k, object()) is not v}
    if changed:
        probe = Settings(canvas_width=1.0, canvas_height=1.0)
        for k, v in changed.items():
            setattr(probe, k, v)
        try:
            probe.validate()
        except PlacerInputError as e:
            raise PlacerInputError(e.reason, path, lineno) from None


def _header_values(s: str, st: dict, other: dict, path: str, lineno: int) -> None:
    body = s.lstrip("#").strip()
    tok = _TOKEN.findall(body)
    if not tok:
        return

    def after(word: str) -> str:
        """The token after ``word``; PlacerInputError when there is none."""
        if word in tok:
            k = tok.index(word) + 1
            if k < len(tok):
                return tok[k]
        raise PlacerInputError(f"malformed header line (no value after {word!r}): "
                               f"{s[:80]!r}", path, lineno)

    if "Columns" in tok and "Rows" in tok:
        st["grid_cols"] = _int(after("Columns"), path, lineno)
        st["grid_rows"] = _int(after("Rows"), path, lineno)
    elif "Width" in tok and "Height" in tok:
        st["canvas_width"] = _float(after("Width"), path, lineno)
        st["canvas_height"] = _float(after("Height"), path, lineno)
    elif body.startswith("Routes per micron"):
        st["routes_per_micron_hor"] = _float(after("hor"), path, lineno)
        st["routes_per_micron_ver"] = _float(after("ver"), path, lineno)
    elif body.startswith("Routes used by macros"):
        st["macro_routes_hor"] = _float(after("hor"), path, lineno)
        st["macro_routes_ver"] = _float(after("ver"), path, lineno)
    elif body.startswith("Smoothing factor"):
        t = after("factor")
        v = _float(t, path, lineno)
        if v != int(v):
            raise PlacerInputError(f"smoothing factor must be an integer, got "
                                   f"{t[:40]!r}", path, lineno)
        st["smoothing_range"] = int(v)
    elif body.startswith(_SOFT_SQUARED):
        v = body[len(_SOFT_SQUARED):].strip(" :").lower()
        if v not in ("true", "false"):
            raise PlacerInputError(f"expected True or False, got {v[:40]!r}",
                                   path, lineno)
        st["soft_macros_squared"] = v == "true"
    elif body.startswith("Overlap threshold"):
        st["overlap_threshold"] = _float(after("threshold"), path, lineno)
    elif body.startswith("Blockage"):
        if len(tok) != 6:
            raise PlacerInputError(
                f"malformed blockage (expected xmin ymin xmax ymax rate): "
                f"{s[:80]!r}", path, lineno)
        other.setdefault("blockages", []).append(
            [_float(t, path, lineno) for t in tok[1:]])
    elif ":" in body:
        k, _, v = body.partition(":")
        other[k.strip()] = v.strip()


def apply_plc(nl: Netlist, plc: PlcFile, path: str) -> Netlist:
    """Positions, orientations and fixed flags of ``plc`` applied to a copy of
    ``nl``. Every netlist node (ports, macros, std cells) must appear once,
    or none: a file of header lines only (as Circuit Training's
    toy_macro_stdcell test data ships) gives the canvas, grid and routing
    settings and keeps the netlist's own positions."""
    v_of_index = {int(i): v for v, i in enumerate(nl.node_index)}
    pin_indices = set(int(i) for i, k in zip(nl.pin_index, nl.pin_kind, strict=True)
                      if k in (PIN_HARD, PIN_SOFT))
    seen = np.zeros(nl.num_nodes, dtype=bool)
    xy = nl.node_xy.copy()
    orient = nl.node_orient.copy()
    fixed = nl.node_fixed.copy()
    for k in range(len(plc.index)):
        i = int(plc.index[k])
        v = v_of_index.get(i)
        if v is None:
            what = "a macro pin" if i in pin_indices else "not a node of the netlist"
            raise PlacerInputError(f"node index {i} is {what}", path,
                                   int(plc.lines[k]))
        if seen[v]:
            raise PlacerInputError(f"node index {i} appears twice", path,
                                   int(plc.lines[k]))
        seen[v] = True
        xy[v] = plc.xy[k]
        if plc.orient[k] != NO_ORIENT and nl.node_kind[v] != PORT:
            orient[v] = plc.orient[k]
        fixed[v] = plc.fixed[k]
    if len(plc.index) and not seen.all():
        missing = np.flatnonzero(~seen)
        raise PlacerInputError(
            f"placement lists {int(seen.sum())} nodes but the netlist has "
            f"{nl.num_nodes} (first missing: index {int(nl.node_index[missing[0]])}, "
            f"{nl.node_names[missing[0]]!r}); is it the placement of another netlist?",
            path)
    new = nl.with_placement(xy, orient)
    new.node_fixed = fixed
    bl = plc.header.get("blockages")
    if bl:
        new.blockages = np.asarray(bl, dtype=np.float64).reshape(-1, 5)
    return new


def write_plc(nl: Netlist, path: str | os.PathLike, costs: dict | None = None,
              info: str = "") -> None:
    """Writes a .plc that Circuit Training and the TILOS evaluator read back.

    Coordinates are written with the shortest decimal that round-trips, so a
    read after a write gives the same float64 values.
    """
    path = os.fspath(path)
    bad = np.flatnonzero(~np.isfinite(nl.node_xy).all(axis=1))
    if len(bad):
        v = int(bad[0])
        raise PlacerInputError(
            f"cannot write a placement with non-finite coordinates (node "
            f"{nl.node_names[v]!r}: {nl.node_xy[v].tolist()})", path)
    s = nl.settings
    c = nl.counts()
    lines = [
        "# Placement file for Circuit Training",
        f"# Source input file(s) : {nl.source or ''}",
        f"# This file : {path}",
        f"# Date : {datetime.datetime.now().strftime('%Y-%m-%d %H:%M:%S')}",
        f"# Columns : {s.grid_cols}  Rows : {s.grid_rows}",
        f"# Width : {_num(s.canvas_width)}  Height : {_num(s.canvas_height)}",
        f"# Area (stdcell+macros) : {_num(nl.total_area())}",
    ]
    if costs:
        for key, label in (("hpwl", "Wirelength"), ("wirelength", "Wirelength cost"),
                           ("congestion", "Congestion cost"),
                           ("density", "Density cost"), ("proxy", "Proxy cost")):
            if key in costs:
                lines.append(f"# {label} : {costs[key]:.6f}")
    lines += [
        f"# Block : {nl.name}",
        f"# Routes per micron, hor : {_num(s.routes_per_micron_hor)}  ver : "
        f"{_num(s.routes_per_micron_ver)}",
        f"# Routes used by macros, hor : {_num(s.macro_routes_hor)}  ver : "
        f"{_num(s.macro_routes_ver)}",
        f"# Smoothing factor : {int(s.smoothing_range)}",
        f"# Overlap threshold : {_num(s.overlap_threshold)}",
    ]
    if s.soft_macros_squared:
        lines.append(f"# {_SOFT_SQUARED} : True")
    for b in nl.blockages:
        lines.append("# Blockage : " + " ".join(_num(v) for v in b))
    for extra in info.splitlines():
        lines.append(f"# {extra}")
    lines += [
        "#",
        "# Counts of node types:",
        f"# HARD_MACROs     : {c['hard_macros']:9d}",
        f"# HARD_MACRO_PINs : {c['hard_macro_pins']:9d}",
        f"# MACROs          : {c['hard_macros'] + c['soft_macros']:9d}",
        f"# MACRO_PINs      : {c['hard_macro_pins'] + c['soft_macro_pins']:9d}",
        f"# PORTs           : {c['ports']:9d}",
        f"# SOFT_MACROs     : {c['soft_macros']:9d}",
        f"# SOFT_MACRO_PINs : {c['soft_macro_pins']:9d}",
        f"# STDCELLs        : {c['stdcells']:9d}",
        "#",
        "# node_index x y orientation fixed",
    ]
    order = np.argsort(nl.node_index, kind="stable")
    body = []
    for v in order:
        o = nl.node_orient[v]
        kind = nl.node_kind[v]
        os_ = "-" if kind == PORT or o < 0 else ORIENTATIONS[o]
        body.append(f"{int(nl.node_index[v])} {_num(nl.node_xy[v, 0])} "
                    f"{_num(nl.node_xy[v, 1])} {os_} {int(bool(nl.node_fixed[v]))}")
    text = "\n".join(_one_line(x) for x in lines) + "\n" + "\n".join(body) + "\n"
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e.strerror or e}", path) from None


def _one_line(s: str) -> str:
    """A header line with any line breaks in its values made spaces."""
    return s.replace("\r", " ").replace("\n", " ")


def _num(x: float) -> str:
    """Shortest round-trip decimal, without exponent for ordinary values."""
    x = float(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return str(int(x))
    return repr(x)


__all__ = ["PlcFile", "read_plc", "apply_plc", "write_plc", "SOFT_MACRO", "STDCELL"]
