"""Circuit Training protobuf text netlists (.pb.txt, .pb.txt.gz).

A streaming, line-based parser of the GraphDef text layout Circuit Training
writes (one field per line); no protobuf or TensorFlow dependency.
"""

from __future__ import annotations

import gzip
import io
import os
import re

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    NO_ORIENT,
    ORIENT_INDEX,
    ORIENTATIONS,
    PIN_HARD,
    PIN_IMPLICIT,
    PIN_PORT,
    PIN_SOFT,
    PIN_STDCELL,
    PORT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
    build_nets,
)

# Attributes the model holds; every other attribute is kept verbatim for writing.
_MODELLED = {"type", "x", "y", "width", "height", "orientation", "macro_name",
             "x_offset", "y_offset", "weight"}
_FLOAT_RE = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BLOCKAGE_RE = re.compile(r"#\s*Blockage\s*:\s*(%s)\s+(%s)\s+(%s)\s+(%s)\s+(%s)"
                          % ((_FLOAT_RE,) * 5))


def open_text(path: str | os.PathLike):
    """Opens a text file, transparently gunzipping *.gz, with a clear error."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise PlacerInputError("file not found", path)
    if os.path.isdir(path):
        raise PlacerInputError("is a directory, expected a file", path)
    if path.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8",
                                errors="strict")
    return open(path, encoding="utf-8", errors="strict")


class _Raw:
    """The parsed records of one file, before they become a Netlist."""

    __slots__ = ("names", "inputs", "attrs", "lines", "input_lines", "metadata",
                 "bbox", "blockages")

    def __init__(self):
        self.names: list[str] = []
        self.inputs: list[list[str]] = []
        self.input_lines: list[int] = []   # line of each node's first input
        self.attrs: list[dict] = []
        self.lines: list[int] = []         # line where each node starts
        self.metadata: dict = {}
        self.bbox = None
        self.blockages: list[list[float]] = []


def _unquote(s: str, path: str, lineno: int) -> str:
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise PlacerInputError(f"expected a quoted string, got {s!r}", path, lineno)
    return s[1:-1]


def _scalar(kind: str, text: str, path: str, lineno: int):
    text = text.strip()
    if kind == "f":
        try:
            return float(text)
        except ValueError:
            raise PlacerInputError(f"non-numeric value {text!r}", path, lineno) from None
    if kind in ("i", "b"):
        try:
            return int(text) if kind == "i" else text == "true"
        except ValueError:
            raise PlacerInputError(f"non-integer value {text!r}", path, lineno) from None
    if kind in ("placeholder", "s"):
        return _unquote(text, path, lineno)
    raise PlacerInputError(f"unknown attribute value kind {kind!r}", path, lineno)


def _read_records(path: str) -> _Raw:
    raw = _Raw()
    depth = 0
    name = None
    inputs: list[str] = []
    attrs: dict = {}
    key = None
    val = None
    node_line = 0
    first_input_line = 0
    lineno = 0
    with open_text(path) as f:
        try:
            for lineno, line in enumerate(f, 1):
                s = line.strip()
                if not s:
                    continue
                c = s[0]
                if c == "#":
                    if depth == 0:
                        _header_comment(s, raw, path, lineno)
                    continue
                if depth == 1:
                    if c == "n" and s.startswith("name:"):
                        name = _unquote(s[5:], path, lineno)
                    elif c == "i" and s.startswith("input:"):
                        if not inputs:
                            first_input_line = lineno
                        inputs.append(_unquote(s[6:], path, lineno))
                    elif s == "attr {":
                        depth = 2
                        key = None
                        val = None
                    elif s == "}":
                        if name is None:
                            raise PlacerInputError("node without a name", path,
                                                   node_line)
                        if name == "__metadata__":
                            raw.metadata.update({k: v[1] for k, v in attrs.items()
                                                 if not k.startswith("__line__")})
                        else:
                            raw.names.append(name)
                            raw.inputs.append(inputs)
                            raw.input_lines.append(first_input_line)
                            raw.attrs.append(attrs)
                            raw.lines.append(node_line)
                        depth = 0
                    else:
                        raise PlacerInputError(f"unexpected line in node: {s[:60]!r}",
                                               path, lineno)
                elif depth == 3:
                    if s == "}":
                        depth = 2
                    else:
                        kind, sep, rest = s.partition(":")
                        if not sep:
                            raise PlacerInputError(
                                f"unexpected line in attribute value: {s[:60]!r}",
                                path, lineno)
                        val = (kind.strip(), _scalar(kind.strip(), rest, path, lineno))
                elif depth == 2:
                    if s.startswith("key:"):
                        key = _unquote(s[4:], path, lineno)
                    elif s == "value {":
                        depth = 3
                    elif s == "}":
                        if key is None or val is None:
                            raise PlacerInputError("attribute without key or value",
                                                   path, lineno)
                        attrs[key] = val
                        attrs.setdefault("__line__" + key, lineno)
                        depth = 1
                    else:
                        raise PlacerInputError(
                            f"unexpected line in attribute: {s[:60]!r}", path, lineno)
                else:  # depth 0
                    if s == "node {":
                        depth = 1
                        name = None
                        inputs = []
                        attrs = {}
                        node_line = lineno
                    else:
                        raise PlacerInputError(
                            f"expected 'node {{', got {s[:60]!r}", path, lineno)
        except UnicodeDecodeError:
            raise PlacerInputError("not a UTF-8 text file", path, lineno + 1) from None
        except (OSError, EOFError, gzip.BadGzipFile) as e:
            raise PlacerInputError(f"cannot read: {e}", path, lineno + 1) from None
    if depth != 0:
        raise PlacerInputError("file ends inside a node (truncated?)", path, lineno)
    if not raw.names:
        raise PlacerInputError("no nodes found", path)
    return raw


def _header_comment(s: str, raw: _Raw, path: str, lineno: int) -> None:
    if "FP bbox" in s:
        # "{x0 y0} {x1 y1}" or "{x0 y0 x1 y1}"
        vals = re.findall(_FLOAT_RE, s.split("bbox", 1)[1])
        if len(vals) != 4:
            raise PlacerInputError(f"malformed FP bbox comment {s!r}", path, lineno)
        raw.bbox = tuple(float(g) for g in vals)
    elif s.lstrip("# ").startswith("Blockage"):
        m = _BLOCKAGE_RE.match(s)
        if not m:
            raise PlacerInputError(f"malformed Blockage comment {s!r}", path, lineno)
        raw.blockages.append([float(g) for g in m.groups()])


def _attr(attrs: dict, key: str, default=None):
    v = attrs.get(key)
    return default if v is None else v[1]


def _num(attrs: dict, key: str, default, path: str, node_line: int) -> float:
    v = attrs.get(key)
    if v is None:
        if default is None:
            raise PlacerInputError(f"node lacks required attribute {key!r}", path,
                                   node_line)
        return default
    if not isinstance(v[1], (int, float)) or isinstance(v[1], bool):
        raise PlacerInputError(f"attribute {key!r} is not numeric: {v[1]!r}", path,
                               attrs.get("__line__" + key, node_line))
    x = float(v[1])
    if not np.isfinite(x):
        raise PlacerInputError(f"attribute {key!r} is not finite: {x!r}", path,
                               attrs.get("__line__" + key, node_line))
    return x


def read_pbtxt(path: str | os.PathLike, lowercase_macro: str = "auto") -> Netlist:
    """Reads a Circuit Training netlist.

    Args:
        path: .pb.txt or .pb.txt.gz file.
        lowercase_macro: how to read nodes of type lower-case ``macro``: "soft",
            "hard", or "auto" (soft when the file also has upper-case MACRO
            nodes or the name starts with ``Grp_``, as in clustered netlists;
            hard otherwise, as in flat netlists and macro_tiles_10x10).
    """
    path = os.fspath(path)
    if lowercase_macro not in ("auto", "soft", "hard"):
        raise PlacerInputError(f"lowercase_macro must be auto, soft or hard, got "
                               f"{lowercase_macro!r}")
    raw = _read_records(path)
    n = len(raw.names)
    types = []
    for i in range(n):
        t = _attr(raw.attrs[i], "type")
        if t is None or not isinstance(t, str):
            raise PlacerInputError(f"node {raw.names[i]!r} has no type", path,
                                   raw.lines[i])
        types.append(t)
    has_upper_macro = "MACRO" in types

    node_of = {}         # name -> node number
    pin_of = {}          # name -> pin number
    node_rows = []       # file positions of nodes
    pin_rows = []
    kinds = []
    for i, t in enumerate(types):
        tl = t.lower()
        if tl == "port":
            kinds.append(PORT)
        elif tl == "macro":
            if t == "MACRO" or lowercase_macro == "hard":
                kinds.append(HARD_MACRO)
            elif lowercase_macro == "soft" or has_upper_macro or \
                    raw.names[i].startswith("Grp_"):
                kinds.append(SOFT_MACRO)
            else:
                kinds.append(HARD_MACRO)
        elif tl == "stdcell":
            kinds.append(STDCELL)
        elif tl == "macro_pin":
            kinds.append(-1)
        else:
            raise PlacerInputError(f"unknown node type {t!r}", path,
                                   raw.attrs[i].get("__line__type", raw.lines[i]))
        name = raw.names[i]
        if name in node_of or name in pin_of:
            raise PlacerInputError(f"duplicate node name {name!r}", path, raw.lines[i])
        if kinds[-1] >= 0:
            node_of[name] = len(node_rows)
            node_rows.append(i)
        else:
            pin_of[name] = -1   # placeholder, numbered below
            pin_rows.append(i)

    nv = len(node_rows)
    node_kind = np.array([kinds[i] for i in node_rows], dtype=np.int8)
    node_xy = np.zeros((nv, 2))
    node_size = np.zeros((nv, 2))
    node_orient = np.full(nv, NO_ORIENT, dtype=np.int8)
    node_fixed = node_kind == PORT
    node_extra = []
    for v, i in enumerate(node_rows):
        a = raw.attrs[i]
        ln = raw.lines[i]
        node_xy[v, 0] = _num(a, "x", 0.0, path, ln)
        node_xy[v, 1] = _num(a, "y", 0.0, path, ln)
        if node_kind[v] != PORT:
            node_size[v, 0] = _num(a, "width", None, path, ln)
            node_size[v, 1] = _num(a, "height", None, path, ln)
            if node_size[v, 0] < 0 or node_size[v, 1] < 0:
                raise PlacerInputError(f"node {raw.names[i]!r} has a negative size",
                                       path, ln)
            o = _attr(a, "orientation", "N")
            if o not in ORIENT_INDEX:
                raise PlacerInputError(
                    f"unknown orientation {o!r} (known: {', '.join(ORIENTATIONS)})",
                    path, a.get("__line__orientation", ln))
            node_orient[v] = ORIENT_INDEX[o]
        node_extra.append(_extra(a))

    # Pins: macro pins first (file order), then one pin per port / std cell.
    pin_names: list[str] = []
    pin_node = []
    pin_offset = []
    pin_kind = []
    pin_weight = []
    pin_index = []
    pin_extra = []
    row_pin = {}   # file row -> pin number, for nets
    for i in pin_rows:
        a = raw.attrs[i]
        ln = raw.lines[i]
        name = raw.names[i]
        parent = _attr(a, "macro_name")
        if parent is None:
            parent = name.rsplit("/", 1)[0]
        v = node_of.get(parent)
        if v is None or node_kind[v] not in (HARD_MACRO, SOFT_MACRO):
            raise PlacerInputError(
                f"pin {name!r} belongs to macro {parent!r}, which does not exist",
                path, a.get("__line__macro_name", ln))
        row_pin[i] = len(pin_names)
        pin_of[name] = len(pin_names)
        pin_names.append(name)
        pin_node.append(v)
        pin_offset.append((_num(a, "x_offset", 0.0, path, ln),
                           _num(a, "y_offset", 0.0, path, ln)))
        pin_kind.append(PIN_HARD if node_kind[v] == HARD_MACRO else PIN_SOFT)
        pin_weight.append(_num(a, "weight", 1.0, path, ln))
        pin_index.append(i)
        pin_extra.append(_extra(a))
    for v, i in enumerate(node_rows):
        if node_kind[v] in (PORT, STDCELL):
            row_pin[i] = len(pin_names)
            pin_of[raw.names[i]] = len(pin_names)
            pin_names.append(raw.names[i])
            pin_node.append(v)
            pin_offset.append((0.0, 0.0))
            pin_kind.append(PIN_PORT if node_kind[v] == PORT else PIN_STDCELL)
            pin_weight.append(_num(raw.attrs[i], "weight", 1.0, path, raw.lines[i]))
            pin_index.append(-1)   # the node itself carries the file index
            pin_extra.append({})

    # Nets: one per pin (or port / std cell) with inputs; sinks by name.
    drivers, sinks, weights = [], [], []
    implicit = {}
    for i in range(n):
        ins = raw.inputs[i]
        if not ins:
            continue
        d = row_pin.get(i)
        if d is None:   # a macro with inputs: drive from its centre
            d = _implicit_pin(raw.names[i], node_of[raw.names[i]], implicit, pin_names,
                              pin_node, pin_offset, pin_kind, pin_weight, pin_index,
                              pin_extra)
        snk = []
        for s in ins:
            p = pin_of.get(s)
            if p is None:
                v = node_of.get(s)
                if v is None:
                    raise PlacerInputError(
                        f"node {raw.names[i]!r} has input {s!r}, which does not exist",
                        path, raw.input_lines[i])
                p = _implicit_pin(s, v, implicit, pin_names, pin_node, pin_offset,
                                  pin_kind, pin_weight, pin_index, pin_extra)
            snk.append(p)
        drivers.append(d)
        sinks.append(snk)
        weights.append(pin_weight[d])
    net_ptr, net_pins, net_weight = build_nets(drivers, sinks, weights)

    nodes_index = np.array(node_rows, dtype=np.int64)
    nl = Netlist(
        name=_design_name(path),
        node_names=[raw.names[i] for i in node_rows],
        node_kind=node_kind,
        node_xy=node_xy,
        node_size=node_size,
        node_orient=node_orient,
        node_fixed=node_fixed,
        node_index=nodes_index,
        pin_names=pin_names,
        pin_node=np.asarray(pin_node, dtype=np.int32),
        pin_offset=np.asarray(pin_offset, dtype=np.float64).reshape(-1, 2),
        pin_kind=np.asarray(pin_kind, dtype=np.int8),
        pin_weight=np.asarray(pin_weight, dtype=np.float64),
        pin_index=np.asarray(pin_index, dtype=np.int64),
        net_ptr=net_ptr,
        net_pins=net_pins,
        net_weight=net_weight,
        blockages=np.asarray(raw.blockages, dtype=np.float64).reshape(-1, 5),
        metadata=dict(raw.metadata),
        node_extra=node_extra,
        pin_extra=pin_extra,
        source=path,
    )
    if raw.bbox is not None:
        x0, y0, x1, y1 = raw.bbox
        nl.metadata["fp_bbox"] = raw.bbox
        nl.settings.canvas_width = x1 - x0
        nl.settings.canvas_height = y1 - y0
    return nl


def _implicit_pin(name, v, implicit, pin_names, pin_node, pin_offset, pin_kind,
                  pin_weight, pin_index, pin_extra) -> int:
    p = implicit.get(name)
    if p is None:
        p = implicit[name] = len(pin_names)
        pin_names.append(name)
        pin_node.append(v)
        pin_offset.append((0.0, 0.0))
        pin_kind.append(PIN_IMPLICIT)
        pin_weight.append(1.0)
        pin_index.append(-1)
        pin_extra.append({})
    return p


def _extra(attrs: dict) -> dict:
    return {k: v for k, v in attrs.items()
            if k not in _MODELLED and not k.startswith("__line__")}


def _design_name(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".pb.txt.gz", ".pb.txt"):
        if base.endswith(ext):
            base = base[: -len(ext)]
    if base in ("netlist", "netlist_flat", ""):
        base = os.path.basename(os.path.dirname(os.path.abspath(path))) or base
    return base


# ------------------------------------------------------------------ writing
def _fmt_float(x: float) -> str:
    r = repr(float(x))
    return r


def _write_attr(out, key: str, kind: str, value) -> None:
    if kind == "f":
        text = _fmt_float(value)
    elif kind == "i":
        text = str(int(value))
    elif kind == "b":
        text = "true" if value else "false"
    else:
        text = '"%s"' % value
    out.append('  attr {\n    key: "%s"\n    value {\n      %s: %s\n    }\n  }\n'
               % (key, kind, text))


def write_pbtxt(nl: Netlist, path: str | os.PathLike) -> None:
    """Writes the netlist in Circuit Training's text format (gzip for *.gz).

    Node and pin coordinates are the current placement; the file's node order
    (and so every .plc index) is preserved.
    """
    path = os.fspath(path)
    pin_xy = nl.pin_xy()
    # sinks of each driver pin
    sinks_of: dict[int, list[int]] = {}
    for n in range(nl.num_nets):
        a, b = nl.net_ptr[n], nl.net_ptr[n + 1]
        sinks_of.setdefault(int(nl.net_pins[a]), []).extend(
            int(p) for p in nl.net_pins[a + 1:b])
    own_pin = {}
    for p in range(nl.num_pins):
        if nl.pin_kind[p] in (PIN_PORT, PIN_STDCELL, PIN_IMPLICIT):
            own_pin[int(nl.pin_node[p])] = p
    entries = [(int(nl.node_index[v]), 0, v) for v in range(nl.num_nodes)]
    entries += [(int(nl.pin_index[p]), 1, p) for p in range(nl.num_pins)
                if nl.pin_kind[p] in (PIN_HARD, PIN_SOFT)]
    entries.sort()
    type_names = {PORT: "PORT", HARD_MACRO: "MACRO", SOFT_MACRO: "macro",
                  STDCELL: "STDCELL"}
    out: list[str] = []
    if nl.metadata.get("fp_bbox") is not None:
        x0, y0, x1, y1 = nl.metadata["fp_bbox"]
        out.append("# FP bbox: {%s %s} {%s %s}\n" % tuple(_fmt_float(v) for v in
                                                         (x0, y0, x1, y1)))
    for b in nl.blockages:
        out.append("# Blockage : %s\n" % " ".join(_fmt_float(v) for v in b))
    meta = {k: v for k, v in nl.metadata.items() if k != "fp_bbox"}
    if meta:
        out.append('node {\n  name: "__metadata__"\n')
        for k, v in meta.items():
            kind = "f" if isinstance(v, float) else ("i" if isinstance(v, int)
                                                     else "placeholder")
            _write_attr(out, k, kind, v)
        out.append("}\n")
    names = nl.pin_names
    for _, is_pin, i in entries:
        if is_pin:
            name = nl.pin_names[i]
            sinks = sinks_of.get(i, ())
            attrs = [("macro_name", "placeholder", nl.node_names[nl.pin_node[i]]),
                     ("type", "placeholder",
                      "MACRO_PIN" if nl.pin_kind[i] == PIN_HARD else "macro_pin"),
                     ("x", "f", pin_xy[i, 0]), ("x_offset", "f", nl.pin_offset[i, 0]),
                     ("y", "f", pin_xy[i, 1]), ("y_offset", "f", nl.pin_offset[i, 1])]
            if nl.pin_weight[i] != 1.0:
                attrs.append(("weight", "f", nl.pin_weight[i]))
            extra = nl.pin_extra[i] if nl.pin_extra else {}
        else:
            name = nl.node_names[i]
            k = int(nl.node_kind[i])
            p = own_pin.get(i)
            sinks = sinks_of.get(p, ()) if p is not None else ()
            attrs = [("type", "placeholder", type_names[k]),
                     ("x", "f", nl.node_xy[i, 0]), ("y", "f", nl.node_xy[i, 1])]
            if k != PORT:
                attrs += [("width", "f", nl.node_size[i, 0]),
                          ("height", "f", nl.node_size[i, 1])]
            if k == HARD_MACRO and nl.node_orient[i] >= 0:
                attrs.append(("orientation", "placeholder",
                              ORIENTATIONS[nl.node_orient[i]]))
            if p is not None and nl.pin_weight[p] != 1.0:
                attrs.append(("weight", "f", nl.pin_weight[p]))
            extra = nl.node_extra[i] if nl.node_extra else {}
        out.append('node {\n  name: "%s"\n' % name)
        for s in sinks:
            out.append('  input: "%s"\n' % names[s])
        merged = {k: (kind, v) for k, kind, v in attrs}
        merged.update(extra)
        for k in sorted(merged):
            _write_attr(out, k, *merged[k])
        out.append("}\n")
    text = "".join(out)
    if path.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(text)
    else:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
