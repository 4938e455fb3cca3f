"""Circuit Training protobuf text netlists (.pb.txt, .pb.txt.gz).

A streaming, line-based parser of the GraphDef text layout Circuit Training
writes (one field per line); no protobuf or TensorFlow dependency.

The file is read in blocks of whole lines (a few MiB of text at a time), so
memory stays bounded by the parsed records, not the text. Each line goes
through a small state machine (node / attr / value depth). The common case, a
six-line ``attr { key value { kind: v } }`` block in Circuit Training's own
indentation, is recognised in one step; anything else (other indentation,
comments or blank lines inside a block, escapes, malformed text) falls back to
the line-by-line state machine, which reports errors with their line numbers.
"""

from __future__ import annotations

import contextlib
import gc
import gzip
import io
import math
import os
import re
import zlib

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
# A macro's own "weight" has no place in the model (only pins carry weights),
# so for macros it is kept verbatim too.
_MODELLED = frozenset({"type", "x", "y", "width", "height", "orientation",
                       "macro_name", "x_offset", "y_offset", "weight"})
_MODELLED_MACRO = _MODELLED - {"weight", "macro_name", "x_offset", "y_offset"}
_FLOAT_RE = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_BLOCKAGE_RE = re.compile(r"#\s*Blockage\s*:\s*(%s)\s+(%s)\s+(%s)\s+(%s)\s+(%s)\s*$"
                          % ((_FLOAT_RE,) * 5))
# Header comment the writer adds when lower-case "macro" must be read as soft.
_SOFT_MARK = "# placer: lowercase macro is soft"
_BLOCK_BYTES = 1 << 22   # text read per block


# ------------------------------------------------------------------- input
@contextlib.contextmanager
def _gc_paused():
    """Pauses the cyclic garbage collector: parsing allocates millions of small
    acyclic objects, and the collector's passes over them cost a quarter of the
    time. Restores the previous state on exit."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _check_file(path: str) -> None:
    if not os.path.exists(path):
        raise PlacerInputError("file not found", path)
    if os.path.isdir(path):
        raise PlacerInputError("is a directory, expected a file", path)


def _open_binary(path: str):
    _check_file(path)
    try:
        if path.endswith(".gz"):
            return gzip.open(path, "rb")
        return open(path, "rb")
    except OSError as e:
        raise PlacerInputError(f"cannot open: {e.strerror or e}", path) from None


def open_text(path: str | os.PathLike):
    """Opens a text file, transparently gunzipping *.gz, with a clear error."""
    path = os.fspath(path)
    return io.TextIOWrapper(_open_binary(path), encoding="utf-8", errors="strict")


def read_line_blocks(path: str):
    """Yields ``(base, lines)``: the file's lines in blocks, without their
    line ends; ``lines[j]`` is line ``base + j + 1`` of the file.

    Raises PlacerInputError (with the line) for non-UTF-8 text or a file that
    cannot be read (a corrupt or truncated gzip stream, an I/O error).
    """
    base = 0
    carry = b""
    with _open_binary(path) as f:
        while True:
            try:
                chunk = f.read(_BLOCK_BYTES)
            except (OSError, EOFError, zlib.error) as e:
                raise PlacerInputError(f"cannot read ({e})", path,
                                       base + carry.count(b"\n") + 1) from None
            if chunk:
                chunk = carry + chunk
                cut = chunk.rfind(b"\n") + 1
                if cut == 0:        # no line end yet: keep reading
                    carry = chunk
                    continue
                carry = chunk[cut:]
                chunk = chunk[:cut - 1]
            else:
                if not carry:
                    return
                chunk, carry = carry, b""
            try:
                text = chunk.decode("utf-8")
            except UnicodeDecodeError as e:
                raise PlacerInputError(
                    "not a UTF-8 text file (undecodable bytes)", path,
                    base + chunk.count(b"\n", 0, e.start) + 1) from None
            lines = text.split("\n")
            yield base, lines
            base += len(lines)


# ------------------------------------------------------------------ records
class _Raw:
    """The parsed records of one file, before they become a Netlist.

    Per node (file order, __metadata__ excluded): name, inputs, attrs as
    ``{key: (kind, value, line)}``, the line of its ``node {`` and of its first
    input.
    """

    __slots__ = ("names", "inputs", "attrs", "lines", "input_lines", "metadata",
                 "bbox", "blockages", "lowercase_soft")

    def __init__(self):
        self.names: list[str] = []
        self.inputs: list[list[str]] = []
        self.input_lines: list[int] = []
        self.attrs: list[dict] = []
        self.lines: list[int] = []
        self.metadata: dict = {}
        self.bbox = None
        self.blockages: list[list[float]] = []
        self.lowercase_soft = False


_ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{1,2}|[0-7]{1,3}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b",
                   "f": "\f", "v": "\v", "\\": "\\", "'": "'", '"': '"', "?": "?"}


def _unescape(body: str, path: str, lineno: int) -> str:
    def sub(m):
        e = m.group(1)
        if e[0] == "x" and len(e) > 1:
            return chr(int(e[1:], 16))
        if e[0] in "01234567":
            return chr(int(e, 8))
        if e in _SIMPLE_ESCAPES:
            return _SIMPLE_ESCAPES[e]
        raise PlacerInputError(f"unknown escape \\{e} in string", path, lineno)

    return _ESCAPE_RE.sub(sub, body)


def _unquote(s: str, path: str, lineno: int) -> str:
    """The text of a protobuf string literal ``"..."`` (C escapes allowed)."""
    s = s.strip()
    if len(s) < 2 or s[0] != '"' or s[-1] != '"':
        raise PlacerInputError(f"expected a quoted string, got {s[:80]!r}", path,
                               lineno)
    body = s[1:-1]
    if "\\" in body:
        if body.endswith("\\") and (len(body) - len(body.rstrip("\\"))) % 2:
            raise PlacerInputError(f"unterminated string {s[:80]!r}", path, lineno)
        if '"' in _ESCAPE_RE.sub("", body):
            raise PlacerInputError(f"unescaped quote in string {s[:80]!r}", path,
                                   lineno)
        return _unescape(body, path, lineno)
    if '"' in body:
        raise PlacerInputError(f"unescaped quote in string {s[:80]!r}", path, lineno)
    return body


def _number(text: str, path: str, lineno: int, integer: bool = False):
    """A protobuf text number; Python's extras (``1_000``) are rejected."""
    t = text.strip()
    try:
        if "_" in t:
            raise ValueError
        return int(t) if integer else float(t)
    except ValueError:
        what = "integer" if integer else "numeric"
        raise PlacerInputError(f"non-{what} value {t[:40]!r}", path, lineno) from None


def _scalar(kind: str, text: str, path: str, lineno: int):
    if kind == "f":
        return _number(text, path, lineno)
    if kind == "i":
        return _number(text, path, lineno, integer=True)
    if kind == "b":
        t = text.strip()
        if t not in ("true", "false", "True", "False", "1", "0", "t", "f"):
            raise PlacerInputError(f"non-boolean value {t[:40]!r}", path, lineno)
        return t in ("true", "True", "1", "t")
    if kind in ("placeholder", "s"):
        return _unquote(text, path, lineno)
    raise PlacerInputError(f"unknown attribute value kind {kind[:40]!r}", path, lineno)


def _fast_key(line: str, cache: dict) -> str | None:
    """The key of a ``    key: "k"`` line without escapes (cached), else None."""
    if line[:10] == '    key: "' and line[-1] == '"' and len(line) > 11:
        k = line[10:-1]
        if '"' not in k and "\\" not in k:
            cache[line] = k
            return k
    return None


def _fast_placeholder(line: str, cache: dict) -> str | None:
    """The text of a ``      placeholder: "t"`` line without escapes (cached)."""
    if line[:20] == '      placeholder: "' and line[-1] == '"' and len(line) > 20:
        t = line[20:-1]
        if '"' not in t and "\\" not in t:
            cache[line] = t
            return t
    return None


def _read_records(path: str) -> _Raw:
    """The records of a .pb.txt file (see _Raw)."""
    blocks = read_line_blocks(path)
    with contextlib.closing(blocks):    # the file is closed on errors too
        return _parse_records(blocks, path)


def _parse_records(blocks, path: str) -> _Raw:
    """Runs the state machine over the ``(base, lines)`` blocks of a file."""
    raw = _Raw()
    r_names, r_inputs, r_input_lines = raw.names, raw.inputs, raw.input_lines
    r_attrs, r_lines = raw.attrs, raw.lines
    depth = 0           # 0 file, 1 node, 2 attr, 3 attr value
    name = None
    inputs: list[str] = []
    attrs: dict = {}
    key = val = None
    node_line = first_input_line = 0
    lineno = 0
    key_cache: dict[str, str] = {}
    ph_cache: dict[str, str] = {}
    key_get = key_cache.get
    ph_get = ph_cache.get
    for base, lines in blocks:
        n = len(lines)
        last6 = n - 5       # an attr block starting before this fits the block
        i = 0
        while i < n:
            s = lines[i]
            if depth == 1:
                # Fast path: Circuit Training's own layout of an attr block,
                # its key and placeholder lines looked up in caches of the
                # lines already seen (a netlist has few distinct ones).
                if s == "  attr {" and i < last6 and lines[i + 2] == "    value {" \
                        and lines[i + 4] == "    }" and lines[i + 5] == "  }":
                    key = key_get(lines[i + 1])
                    if key is None:
                        key = _fast_key(lines[i + 1], key_cache)
                    if key is not None:
                        v = lines[i + 3]
                        if v[:9] == "      f: ":
                            if "_" not in v:
                                try:
                                    attrs[key] = ("f", float(v[9:]), base + i + 4)
                                    i += 6
                                    continue
                                except ValueError:
                                    pass
                        else:
                            pv = ph_get(v)
                            if pv is None:
                                pv = _fast_placeholder(v, ph_cache)
                            if pv is not None:
                                attrs[key] = ("placeholder", pv, base + i + 4)
                                i += 6
                                continue
                elif s[:10] == '  input: "' and s[-1] == '"' and len(s) > 11 \
                        and '"' not in s[10:-1] and "\\" not in s:
                    if not inputs:
                        first_input_line = base + i + 1
                    inputs.append(s[10:-1])
                    i += 1
                    continue
                s = s.strip()
                if s == "attr {":
                    depth = 2
                    key = val = None
                elif s[:6] == "input:":
                    if s[:8] == 'input: "' and s[-1] == '"' and len(s) > 8 \
                            and '"' not in s[8:-1] and "\\" not in s:
                        inp = s[8:-1]
                    else:
                        inp = _unquote(s[6:], path, base + i + 1)
                    if not inputs:
                        first_input_line = base + i + 1
                    inputs.append(inp)
                elif s == "}":
                    if name is None:
                        raise PlacerInputError("node without a name", path, node_line)
                    if name == "__metadata__":
                        raw.metadata.update({a: b[1] for a, b in attrs.items()})
                    else:
                        r_names.append(name)
                        r_inputs.append(inputs)
                        r_input_lines.append(first_input_line)
                        r_attrs.append(attrs)
                        r_lines.append(node_line)
                    depth = 0
                elif s[:5] == "name:":
                    if name is not None:
                        raise PlacerInputError("node has two names", path, base + i + 1)
                    if s[:7] == 'name: "' and s[-1] == '"' and len(s) > 7 \
                            and '"' not in s[7:-1] and "\\" not in s:
                        name = s[7:-1]
                    else:
                        name = _unquote(s[5:], path, base + i + 1)
                elif s and s[0] != "#":
                    raise PlacerInputError(f"unexpected line in node: {s[:60]!r}",
                                           path, base + i + 1)
            elif depth == 0:
                s = s.strip()
                if s == "node {":
                    depth = 1
                    name = None
                    inputs = []
                    attrs = {}
                    node_line = base + i + 1
                elif s[:1] == "#":
                    _header_comment(s, raw, path, base + i + 1)
                elif s:
                    raise PlacerInputError(
                        f"expected 'node {{', got {s[:60]!r}", path, base + i + 1)
            elif depth == 2:
                s = s.strip()
                if s[:4] == "key:":
                    if key is not None:
                        raise PlacerInputError("attribute has two keys", path,
                                               base + i + 1)
                    key = _unquote(s[4:], path, base + i + 1)
                elif s == "value {":
                    if val is not None:
                        raise PlacerInputError("attribute has two values", path,
                                               base + i + 1)
                    depth = 3
                elif s == "}":
                    if key is None or val is None:
                        raise PlacerInputError("attribute without key or value",
                                               path, base + i + 1)
                    attrs[key] = val
                    depth = 1
                elif s and s[0] != "#":
                    raise PlacerInputError(
                        f"unexpected line in attribute: {s[:60]!r}", path, base + i + 1)
            else:  # depth 3
                s = s.strip()
                if s == "}":
                    if val is None:
                        raise PlacerInputError("attribute value is empty", path,
                                               base + i + 1)
                    depth = 2
                elif s and s[0] != "#":
                    kind, sep, rest = s.partition(":")
                    if not sep:
                        raise PlacerInputError(
                            f"unexpected line in attribute value: {s[:60]!r}",
                            path, base + i + 1)
                    if val is not None:
                        raise PlacerInputError("attribute value has two fields",
                                               path, base + i + 1)
                    kind = kind.strip()
                    val = (kind, _scalar(kind, rest, path, base + i + 1), base + i + 1)
            i += 1
        lineno = base + n
    if depth != 0:
        raise PlacerInputError("file ends inside a node (truncated?)", path, lineno)
    if not r_names:
        raise PlacerInputError("no nodes found", path)
    return raw


def _header_comment(s: str, raw: _Raw, path: str, lineno: int) -> None:
    if "FP bbox" in s:
        # "{x0 y0} {x1 y1}" or "{x0 y0 x1 y1}"
        body = s.split("bbox", 1)[1].lstrip(" :")
        vals = re.findall(_FLOAT_RE, body)
        if len(vals) != 4 or re.sub(_FLOAT_RE, "", body).strip(" {}\t") != "":
            raise PlacerInputError(f"malformed FP bbox comment {s[:80]!r}", path,
                                   lineno)
        x0, y0, x1, y1 = (float(g) for g in vals)
        if not all(math.isfinite(v) for v in (x0, y0, x1, y1)) or x1 <= x0 \
                or y1 <= y0:
            raise PlacerInputError(f"FP bbox is not a finite, non-empty box: "
                                   f"{s[:80]!r}", path, lineno)
        raw.bbox = (x0, y0, x1, y1)
    elif s.lstrip("# ").startswith("Blockage"):
        m = _BLOCKAGE_RE.match(s)
        if not m:
            raise PlacerInputError(f"malformed Blockage comment {s[:80]!r}", path,
                                   lineno)
        vals = [float(g) for g in m.groups()]
        if not all(math.isfinite(v) for v in vals):
            raise PlacerInputError(f"non-finite Blockage {s[:80]!r}", path, lineno)
        raw.blockages.append(vals)
    elif s == _SOFT_MARK:
        raw.lowercase_soft = True


def _bad_number(a: dict, key: str, v, path: str, node_line: int) -> float:
    """The float of an attribute value that is not a plain float (int, bool,
    string, overflowing int), or PlacerInputError at its line."""
    line = a[key][2] if key in a else node_line
    if isinstance(v, bool) or not isinstance(v, int):
        raise PlacerInputError(f"attribute {key!r} is not numeric: {v!r}", path, line)
    try:
        return float(v)
    except OverflowError:
        raise PlacerInputError(f"attribute {key!r} is out of range", path,
                               line) from None


def _column(attrs: list[dict], rows, key: str, default, path: str,
            node_lines: list[int]) -> np.ndarray:
    """One numeric attribute over ``rows`` as a float64 array, checked finite.

    default None makes the attribute required.
    """
    out = []
    append = out.append
    for i in rows:
        a = attrs[i]
        t = a.get(key)
        if t is None:
            if default is None:
                raise PlacerInputError(f"node lacks required attribute {key!r}", path,
                                       node_lines[i])
            append(default)
        else:
            v = t[1]
            append(v if type(v) is float else
                   _bad_number(a, key, v, path, node_lines[i]))
    arr = np.array(out, dtype=np.float64)
    if not np.isfinite(arr).all():
        k = int(np.flatnonzero(~np.isfinite(arr))[0])
        i = rows[k]
        raise PlacerInputError(f"attribute {key!r} is not finite: {arr[k]!r}", path,
                               attrs[i][key][2])
    return arr


def read_pbtxt(path: str | os.PathLike, lowercase_macro: str = "auto") -> Netlist:
    """Reads a Circuit Training netlist.

    Args:
        path: .pb.txt or .pb.txt.gz file.
        lowercase_macro: how to read nodes of type lower-case ``macro``: "soft",
            "hard", or "auto" (soft when the file also has upper-case MACRO
            nodes or the name starts with ``Grp_``, as in clustered netlists;
            hard otherwise, as in flat netlists and macro_tiles_10x10).

    Raises:
        PlacerInputError: for a missing, unreadable or malformed file, naming
            the file and (where there is one) the line.
    """
    path = os.fspath(path)
    if lowercase_macro not in ("auto", "soft", "hard"):
        raise PlacerInputError(f"lowercase_macro must be auto, soft or hard, got "
                               f"{lowercase_macro!r}")
    with _gc_paused():
        return _build(path, _read_records(path), lowercase_macro)


def _build(path: str, raw: _Raw, lowercase_macro: str) -> Netlist:
    """The Netlist of a file's records."""
    if lowercase_macro == "auto" and raw.lowercase_soft:
        lowercase_macro = "soft"
    names = raw.names
    attrs = raw.attrs
    lines = raw.lines
    n = len(names)

    # Node types.
    types = []
    for i in range(n):
        t = attrs[i].get("type")
        if t is None or not isinstance(t[1], str):
            raise PlacerInputError(f"node {names[i]!r} has no type", path, lines[i]
                                   if t is None else t[2])
        types.append(t[1])
    has_upper_macro = "MACRO" in types
    type_kind = {"PORT": PORT, "port": PORT, "MACRO": HARD_MACRO,
                 "STDCELL": STDCELL, "stdcell": STDCELL,
                 "MACRO_PIN": -1, "macro_pin": -1,
                 "macro": SOFT_MACRO if lowercase_macro == "soft" or (
                     lowercase_macro == "auto" and has_upper_macro) else None}
    if lowercase_macro == "hard":
        type_kind["macro"] = HARD_MACRO
    kinds = []
    for i, t in enumerate(types):
        k = type_kind.get(t, -2)
        if k is None:   # auto, lower-case macro, no upper-case MACRO in the file
            k = SOFT_MACRO if names[i].startswith("Grp_") else HARD_MACRO
        elif k == -2:
            tl = t.lower()
            if tl in ("port", "stdcell", "macro_pin"):
                k = {"port": PORT, "stdcell": STDCELL, "macro_pin": -1}[tl]
            elif tl == "macro":
                k = HARD_MACRO if lowercase_macro != "soft" else SOFT_MACRO
            else:
                raise PlacerInputError(f"unknown node type {t[:40]!r}", path,
                                       attrs[i]["type"][2])
        kinds.append(k)

    node_rows = [i for i in range(n) if kinds[i] >= 0]
    pin_rows = [i for i in range(n) if kinds[i] < 0]
    node_of = {names[i]: v for v, i in enumerate(node_rows)}
    if len(node_of) != len(node_rows) or len(set(names)) != n:
        seen = set()
        for i in range(n):
            if names[i] in seen:
                raise PlacerInputError(f"duplicate node name {names[i]!r}", path,
                                       lines[i])
            seen.add(names[i])

    nv = len(node_rows)
    node_kind = np.array([kinds[i] for i in node_rows], dtype=np.int8)
    node_xy = np.stack([_column(attrs, node_rows, "x", 0.0, path, lines),
                        _column(attrs, node_rows, "y", 0.0, path, lines)],
                       axis=1).reshape(nv, 2)
    sized = [i for i in node_rows if kinds[i] != PORT]
    sized_v = np.flatnonzero(node_kind != PORT)
    node_size = np.zeros((nv, 2))
    node_size[sized_v, 0] = _column(attrs, sized, "width", None, path, lines)
    node_size[sized_v, 1] = _column(attrs, sized, "height", None, path, lines)
    neg = np.flatnonzero((node_size < 0).any(axis=1))
    if len(neg):
        i = node_rows[int(neg[0])]
        raise PlacerInputError(f"node {names[i]!r} has a negative size", path,
                               lines[i])
    node_orient = np.full(nv, NO_ORIENT, dtype=np.int8)
    node_orient[sized_v] = 0    # N unless the netlist says otherwise
    for v, i in zip(sized_v.tolist(), sized, strict=True):
        o = attrs[i].get("orientation")
        if o is not None:
            oi = ORIENT_INDEX.get(o[1]) if isinstance(o[1], str) else None
            if oi is None:
                raise PlacerInputError(
                    f"unknown orientation {o[1]!r} (known: {', '.join(ORIENTATIONS)})",
                    path, o[2])
            node_orient[v] = oi
    node_fixed = node_kind == PORT
    node_extra = [_extra(attrs[i], kinds[i]) for i in node_rows]

    # Pins: macro pins first (file order), then one pin per port / std cell.
    pin_names: list[str] = []
    pin_node: list[int] = []
    pin_kind: list[int] = []
    pin_index: list[int] = []
    pin_extra: list[dict] = []
    pin_of: dict[str, int] = {}
    is_macro = (node_kind == HARD_MACRO) | (node_kind == SOFT_MACRO)
    for i in pin_rows:
        a = attrs[i]
        name = names[i]
        parent = a.get("macro_name")
        parent = name.rsplit("/", 1)[0] if parent is None else parent[1]
        v = node_of.get(parent) if isinstance(parent, str) else None
        if v is None or not is_macro[v]:
            raise PlacerInputError(
                f"pin {name!r} belongs to macro {parent!r}, which does not exist",
                path, a["macro_name"][2] if "macro_name" in a else lines[i])
        pin_of[name] = len(pin_names)
        pin_names.append(name)
        pin_node.append(v)
        pin_kind.append(PIN_HARD if node_kind[v] == HARD_MACRO else PIN_SOFT)
        pin_index.append(i)
        pin_extra.append(_extra(a, -1))
    n_macro_pins = len(pin_names)
    pin_offset = np.zeros((n_macro_pins, 2))
    pin_offset[:, 0] = _column(attrs, pin_rows, "x_offset", 0.0, path, lines)
    pin_offset[:, 1] = _column(attrs, pin_rows, "y_offset", 0.0, path, lines)
    own_rows = [i for i in node_rows if kinds[i] in (PORT, STDCELL)]
    pin_weight = [_column(attrs, pin_rows, "weight", 1.0, path, lines),
                  _column(attrs, own_rows, "weight", 1.0, path, lines)]
    for i in own_rows:
        v = node_of[names[i]]
        pin_of[names[i]] = len(pin_names)
        pin_names.append(names[i])
        pin_node.append(v)
        pin_kind.append(PIN_PORT if kinds[i] == PORT else PIN_STDCELL)
        pin_index.append(-1)   # the node itself carries the file index
        pin_extra.append({})

    # Nets: one per pin (or port / std cell / macro) with inputs; sinks by name.
    # A macro named as a net endpoint gets an implicit pin at its centre.
    implicit_names: list[str] = []
    implicit_node: list[int] = []
    implicit_weight: list[float] = []
    n_pins = len(pin_names)

    def implicit(name: str, v: int, weight: float = 1.0) -> int:
        p = n_pins + len(implicit_names)
        pin_of[name] = p
        implicit_names.append(name)
        implicit_node.append(v)
        implicit_weight.append(weight)
        return p

    drivers: list[int] = []
    sinks: list[list[int]] = []
    raw_inputs = raw.inputs
    get_pin = pin_of.get
    for i in range(n):
        ins = raw_inputs[i]
        if not ins:
            continue
        d = get_pin(names[i])
        if d is None:   # a macro with inputs: drive from its centre
            w = attrs[i].get("weight")
            w = 1.0 if w is None else _column(attrs, [i], "weight", 1.0, path,
                                              lines)[0]
            d = implicit(names[i], node_of[names[i]], float(w))
        snk = []
        for s in ins:
            p = get_pin(s)
            if p is None:
                v = node_of.get(s)
                if v is None:
                    raise PlacerInputError(
                        f"node {names[i]!r} has input {s!r}, which does not exist",
                        path, raw.input_lines[i])
                p = implicit(s, v)
            snk.append(p)
        drivers.append(d)
        sinks.append(snk)
    m = len(implicit_names)
    pin_names += implicit_names
    pin_node += implicit_node
    pin_kind += [PIN_IMPLICIT] * m
    pin_index += [-1] * m
    pin_extra += [{} for _ in range(m)]
    pin_weight_arr = np.concatenate(pin_weight + [np.asarray(implicit_weight,
                                                             dtype=np.float64)])
    pin_offset = np.concatenate([pin_offset, np.zeros((len(pin_names) - n_macro_pins,
                                                        2))])
    net_ptr, net_pins, _ = build_nets(drivers, sinks, [])
    net_weight = pin_weight_arr[np.asarray(drivers, dtype=np.int64)]

    nl = Netlist(
        name=_design_name(path),
        node_names=[names[i] for i in node_rows],
        node_kind=node_kind,
        node_xy=node_xy,
        node_size=node_size,
        node_orient=node_orient,
        node_fixed=node_fixed,
        node_index=np.array(node_rows, dtype=np.int64),
        pin_names=pin_names,
        pin_node=np.asarray(pin_node, dtype=np.int32),
        pin_offset=pin_offset,
        pin_kind=np.asarray(pin_kind, dtype=np.int8),
        pin_weight=pin_weight_arr,
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


def _extra(attrs: dict, kind: int) -> dict:
    """The attributes the model does not hold, as {key: (kind, value)}."""
    keys = attrs.keys() - (_MODELLED_MACRO if kind in (HARD_MACRO, SOFT_MACRO)
                           else _MODELLED)
    if not keys:
        return {}
    return {k: attrs[k][:2] for k in keys}


def _design_name(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".pb.txt.gz", ".pb.txt", ".pbtxt.gz", ".pbtxt"):
        if base.endswith(ext):
            base = base[: -len(ext)]
            break
    if base in ("netlist", "netlist_flat", ""):
        base = os.path.basename(os.path.dirname(os.path.abspath(path))) or base
    return base


# ------------------------------------------------------------------ writing
def _fmt_float(x: float) -> str:
    """Shortest decimal that reads back as the same float64."""
    return repr(float(x))


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def _quote(s: str) -> str:
    """A protobuf string literal (escapes backslash, quote and control chars)."""
    s = str(s)
    if _NEEDS_ESCAPE.search(s):
        s = s.replace("\\", "\\\\").replace('"', '\\"')
        s = "".join(c if ord(c) >= 32 else f"\\{ord(c):03o}" for c in s)
    return '"' + s + '"'


def _write_attr(out: list, key: str, kind: str, value) -> None:
    if kind == "f":
        text = _fmt_float(value)
    elif kind == "i":
        text = str(int(value))
    elif kind == "b":
        text = "true" if value else "false"
    else:
        text = _quote(value)
    out.append(f'  attr {{\n    key: {_quote(key)}\n    value {{\n      {kind}: '
               f'{text}\n    }}\n  }}\n')


def _metadata_kind(v):
    if isinstance(v, (bool, np.bool_)):
        return "b"
    if isinstance(v, (int, np.integer)):
        return "i"
    if isinstance(v, (float, np.floating)):
        return "f"
    if isinstance(v, str):
        return "placeholder"
    return None     # not a netlist attribute (e.g. a .plc header dict)


def write_pbtxt(nl: Netlist, path: str | os.PathLike) -> None:
    """Writes the netlist in Circuit Training's text format (gzip for *.gz).

    Node and pin coordinates are the current placement. Nodes and macro pins
    are written in file-index order (node_index / pin_index), so a .plc of the
    netlist read from file still applies to the written one; macro pins
    without a file index follow their macro.
    """
    path = os.fspath(path)
    for what, arr in (("node_xy", nl.node_xy), ("node_size", nl.node_size),
                      ("pin_offset", nl.pin_offset), ("pin_weight", nl.pin_weight)):
        if not np.isfinite(arr).all():
            raise PlacerInputError(f"cannot write a netlist with non-finite {what}",
                                   path)
    pin_xy = nl.pin_xy()
    net_ptr = nl.net_ptr.tolist()
    net_pins = nl.net_pins.tolist()
    pin_kind = nl.pin_kind.tolist()
    pin_node = nl.pin_node.tolist()
    pin_index = nl.pin_index.tolist()
    pin_weight = nl.pin_weight.tolist()
    node_index = nl.node_index.tolist()
    node_kind = nl.node_kind.tolist()
    node_orient = nl.node_orient.tolist()
    # sinks of each driver pin
    sinks_of: dict[int, list[int]] = {}
    for k in range(nl.num_nets):
        a, b = net_ptr[k], net_ptr[k + 1]
        sinks_of.setdefault(net_pins[a], []).extend(net_pins[a + 1:b])
    # Ports, std cells (and implicit pins) are their own pins in this format:
    # a node's sinks are those of all its pins, referenced by node name.
    own_pins: dict[int, list[int]] = {}
    for p, k in enumerate(pin_kind):
        if k in (PIN_PORT, PIN_STDCELL, PIN_IMPLICIT):
            own_pins.setdefault(pin_node[p], []).append(p)
    own_pin = {v: ps[0] for v, ps in own_pins.items()}
    ref_name = [nl.node_names[pin_node[p]] if k in (PIN_PORT, PIN_STDCELL,
                                                     PIN_IMPLICIT) else None
                for p, k in enumerate(pin_kind)]
    entries = [(node_index[v], 0, v) for v in range(nl.num_nodes)]
    entries += [(pin_index[p] if pin_index[p] >= 0 else node_index[pin_node[p]], 1, p)
                for p in range(nl.num_pins) if pin_kind[p] in (PIN_HARD, PIN_SOFT)]
    entries.sort()
    has_hard = HARD_MACRO in node_kind
    soft_mark = (not has_hard and any(
        k == SOFT_MACRO and not nm.startswith("Grp_")
        for k, nm in zip(node_kind, nl.node_names, strict=True)))
    type_names = {PORT: "PORT", HARD_MACRO: "MACRO", SOFT_MACRO: "macro",
                  STDCELL: "STDCELL"}
    out: list[str] = []
    if nl.metadata.get("fp_bbox") is not None:
        x0, y0, x1, y1 = nl.metadata["fp_bbox"]
        box = [_fmt_float(v) for v in (x0, y0, x1, y1)]
        out.append(f"# FP bbox: {{{box[0]} {box[1]}}} {{{box[2]} {box[3]}}}\n")
    for b in nl.blockages:
        out.append(f"# Blockage : {' '.join(_fmt_float(v) for v in b)}\n")
    if soft_mark:
        out.append(_SOFT_MARK + "\n")
    meta = {k: v for k, v in nl.metadata.items()
            if k not in ("fp_bbox", "plc_header") and _metadata_kind(v)}
    if meta:
        out.append('node {\n  name: "__metadata__"\n')
        for k, v in meta.items():
            _write_attr(out, k, _metadata_kind(v), v)
        out.append("}\n")
    names = nl.pin_names
    try:
        # opened here to name the path in the error, closed by `with f` below
        f = gzip.open(path, "wt", encoding="utf-8", compresslevel=6) \
            if path.endswith(".gz") \
            else open(path, "w", encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e.strerror or e}", path) from None
    with f:
        for _, is_pin, i in entries:
            if is_pin:
                name = names[i]
                sinks = sinks_of.get(i, ())
                attrs = [("macro_name", "placeholder", nl.node_names[pin_node[i]]),
                         ("type", "placeholder",
                          "MACRO_PIN" if pin_kind[i] == PIN_HARD else "macro_pin"),
                         ("x", "f", pin_xy[i, 0]),
                         ("x_offset", "f", nl.pin_offset[i, 0]),
                         ("y", "f", pin_xy[i, 1]),
                         ("y_offset", "f", nl.pin_offset[i, 1])]
                if pin_weight[i] != 1.0:
                    attrs.append(("weight", "f", pin_weight[i]))
                extra = nl.pin_extra[i] if nl.pin_extra else {}
            else:
                name = nl.node_names[i]
                k = node_kind[i]
                p = own_pin.get(i)
                sinks = [q for pp in own_pins.get(i, ()) for q in sinks_of.get(pp, ())]
                attrs = [("type", "placeholder", type_names[k]),
                         ("x", "f", nl.node_xy[i, 0]), ("y", "f", nl.node_xy[i, 1])]
                if k != PORT:
                    attrs += [("width", "f", nl.node_size[i, 0]),
                              ("height", "f", nl.node_size[i, 1])]
                    o = node_orient[i]
                    if o >= 0 and (k == HARD_MACRO or o != 0):
                        attrs.append(("orientation", "placeholder", ORIENTATIONS[o]))
                if p is not None and pin_weight[p] != 1.0:
                    attrs.append(("weight", "f", pin_weight[p]))
                extra = nl.node_extra[i] if nl.node_extra else {}
            out.append(f"node {{\n  name: {_quote(name)}\n")
            for s in sinks:
                out.append(f"  input: {_quote(ref_name[s] or names[s])}\n")
            merged = {k: (kind, v) for k, kind, v in attrs}
            merged.update(extra)
            for k in sorted(merged):
                _write_attr(out, k, *merged[k])
            out.append("}\n")
            if len(out) > 20000:
                f.write("".join(out))
                out.clear()
        f.write("".join(out))
