"""Bookshelf designs (ISPD / ICCAD): .aux, .nodes, .nets, .wts, .pl, .scl.

``read_bookshelf(aux)`` reads a design and the placement in its .pl,
``apply_pl(nl, pl)`` applies another .pl, ``write_pl(nl, pl)`` writes one.
Keywords are case-insensitive, ``#`` starts a comment, CRLF and CR line ends
are accepted. Every malformed input raises PlacerInputError naming the file
and line.

How a Bookshelf design maps to the model
----------------------------------------
Canvas and coordinates. The canvas is the bounding box of the core rows of the
.scl. Coordinates are shifted so that the canvas starts at (0, 0), as Circuit
Training's do; the shift (the rows' lower-left corner in file coordinates) is
kept in ``metadata["origin"] = (x0, y0)`` and undone by write_pl. A .pl gives
each node's lower-left corner; ``node_xy`` is the centre: lower-left + oriented
size / 2 - origin (orientations E, W, FE, FW swap width and height, since the
.pl corner is that of the placed outline). ``node_size`` is (width, height) as
in the .nodes, for orientation N; ``node_index`` is the .nodes order.

Node kinds. Let the row height be the largest row height in the .scl and a site
the narrowest site width.

* ``terminal`` / ``terminal_NI`` nodes are fixed. A terminal is a PORT (a pad
  or I/O pin) when its area is smaller than one site times the row height
  (zero area included) or when its outline does not overlap the core area
  (it lies outside it or only touches its edge). Any other terminal is a fixed
  HARD_MACRO (a pre-placed macro inside the core).
* Other nodes are HARD_MACRO when taller than the row height, else STDCELL;
  they are movable unless the .pl marks them ``/FIXED`` (or ``/FIXED_NI``).

Kinds are decided once, by read_bookshelf, from the .pl listed in the .aux (no
.pl: every lower-left corner at file coordinate (0, 0)).

Pins and nets. Every (net, node) connection of the .nets is its own pin:
``pin_node`` the node, ``pin_offset`` the connection's offset (Bookshelf
offsets are from the node centre, frame N, as the model's; 0 when absent),
``pin_kind`` PIN_PORT / PIN_HARD / PIN_STDCELL after the node's kind, named
``<node>/p<k>`` (k counts that node's connections in file order),
``pin_index`` the connection's file order. A net's driver is its first pin of
direction O (its first pin when it has none); the CSR lists the driver first,
then the other pins in file order.

Weights. A .wts line ``name weight`` whose name is a net's sets that net's
weight; names of nodes are accepted and ignored (the ISPD 2002 ibm .wts hold
node weights); other names are errors. Nets without a weight weigh 1.
``pin_weight`` is the pin's net weight.

``metadata["bookshelf"]`` keeps what write_pl and later tools need: ``files``
(extension -> path), ``rows`` ((R, 6) y, height, x, num_sites, site_width,
site_spacing, in canvas coordinates), ``row_height``, ``site_width``,
``net_names`` (None for unnamed nets), ``pin_direction`` ((P,) "I"/"O"/"B"),
``terminal`` ((V,) int8: 0 movable node, 1 terminal, 2 terminal_NI) and
``fixed_ni`` ((V,) bool, nodes written back as /FIXED_NI).
"""

from __future__ import annotations

import math
import os

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_INDEX,
    ORIENT_SWAPS_WH,
    ORIENTATIONS,
    PIN_HARD,
    PIN_PORT,
    PIN_STDCELL,
    PORT,
    STDCELL,
    Netlist,
)

_ORIENT_UPPER = {o.upper(): i for o, i in ORIENT_INDEX.items()}
_FIXED_FLAGS = {"/FIXED": 1, "/FIXED_NI": 2}
_TERMINAL_TYPES = {"terminal": 1, "terminal_ni": 2}
_DIRECTIONS = {"I": "I", "O": "O", "B": "B", "INPUT": "I", "OUTPUT": "O",
               "BIDIR": "B", "INOUT": "B"}


# ------------------------------------------------------------------ helpers
def _read_lines(path: str) -> list[str]:
    """The file's lines (CRLF / CR normalised), with a PlacerInputError if absent."""
    if not os.path.exists(path):
        raise PlacerInputError("file not found", path)
    if os.path.isdir(path):
        raise PlacerInputError("is a directory, expected a file", path)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise PlacerInputError(f"cannot read: {e}", path) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")   # stray bytes in comments: never fatal
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n")


def _content(lines: list[str]):
    """Yields (line number, stripped text) for lines with content outside
    comments, skipping a leading ``UCLA <kind> 1.0`` header."""
    first = True
    for ln, line in enumerate(lines, 1):
        if "#" in line:
            line = line[:line.index("#")]
        s = line.strip()
        if not s:
            continue
        if first:
            first = False
            if s[:4].upper() == "UCLA":
                continue
        yield ln, s


def _float(tok: str, what: str, path: str, ln: int) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise PlacerInputError(f"{what}: expected a number, got {tok!r}",
                               path, ln) from None
    if not math.isfinite(v):
        raise PlacerInputError(f"{what}: expected a finite number, got {tok!r}",
                               path, ln)
    return v


def _int(tok: str, what: str, path: str, ln: int) -> int:
    try:
        v = int(tok)
    except ValueError:
        raise PlacerInputError(f"{what}: expected an integer, got {tok!r}",
                               path, ln) from None
    if v < 0:
        raise PlacerInputError(f"{what}: expected an integer >= 0, got {tok!r}",
                               path, ln)
    return v


def _count(s: str, path: str, ln: int) -> tuple[str, int]:
    """A ``Keyword : n`` line -> (lower-case keyword, n)."""
    key, _, val = s.partition(":")
    key = key.strip()
    toks = val.split()
    if len(toks) != 1:
        raise PlacerInputError(f"expected '{key} : <count>', got {s[:60]!r}", path, ln)
    return key.lower(), _int(toks[0], key, path, ln)


def _fmt(x: float) -> str:
    """Shortest decimal that reads back as x; integers without '.0'."""
    s = repr(float(x) + 0.0)
    return s[:-2] if s.endswith(".0") else s


def _oriented(size: np.ndarray, orient: np.ndarray) -> np.ndarray:
    swap = np.where(orient >= 0, ORIENT_SWAPS_WH[np.maximum(orient, 0)], False)
    return np.where(swap[:, None], size[:, ::-1], size)


def _centre(ll: np.ndarray, osize: np.ndarray, origin: np.ndarray) -> np.ndarray:
    return (ll - origin) + osize * 0.5


def _lower_left(c: np.ndarray, osize: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Inverse of _centre, nudged by ulps so that _centre gives c back exactly."""
    ll = (c - osize * 0.5) + origin
    for _ in range(8):
        back = _centre(ll, osize, origin)
        bad = (back != c) & np.isfinite(c)
        if not bad.any():
            break
        ll = np.where(bad, np.nextafter(ll, np.where(back < c, np.inf, -np.inf)), ll)
    return ll


# --------------------------------------------------------------------- .aux
_KNOWN_EXT = ("nodes", "nets", "wts", "pl", "scl")


def _read_aux(path: str) -> dict[str, tuple[str, int]]:
    """extension -> (file path, .aux line listing it)."""
    base = os.path.dirname(path)
    files: dict[str, tuple[str, int]] = {}
    last = 1
    for ln, s in _content(_read_lines(path)):
        last = ln
        head, sep, tail = s.partition(":")
        for name in (tail if sep else s).split():
            ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
            if ext not in _KNOWN_EXT:
                continue   # .shapes, .route ...: not used
            if ext in files:
                raise PlacerInputError(f"lists two .{ext} files", path, ln)
            files[ext] = (os.path.join(base, name), ln)
    for ext in ("nodes", "nets", "scl"):
        if ext not in files:
            raise PlacerInputError(f"lists no .{ext} file", path, last)
    for f, ln in files.values():
        if not os.path.isfile(f):
            raise PlacerInputError(f"listed file {os.path.basename(f)!r} not found "
                                   f"({f})", path, ln)
    return files


# --------------------------------------------------------------------- .scl
def _read_scl(path: str) -> np.ndarray:
    """(R, 6) rows: y, height, x, num_sites, site_width, site_spacing (file frame)."""
    rows = []
    num_rows = None
    cur = None
    cur_line = 0
    ln = 0
    for ln, s in _content(_read_lines(path)):
        low = s.lower()
        if cur is None:
            if low.startswith("corerow"):
                cur = {}
                cur_line = ln
            elif ":" in s:
                key, n = _count(s, path, ln)
                if key != "numrows":
                    raise PlacerInputError(f"unexpected line {s[:60]!r}", path, ln)
                num_rows = (n, ln)
            else:
                raise PlacerInputError(f"unexpected line {s[:60]!r}", path, ln)
            continue
        if low == "end":
            rows.append(_scl_row(cur, path, cur_line))
            cur = None
            continue
        if low.startswith("corerow"):
            raise PlacerInputError(f"CoreRow at line {cur_line} has no End", path, ln)
        toks = s.replace(":", " : ").split()
        if len(toks) % 3 or any(toks[i] != ":" for i in range(1, len(toks), 3)):
            raise PlacerInputError(f"expected 'Key : value' pairs, got {s[:60]!r}",
                                   path, ln)
        for i in range(0, len(toks), 3):
            cur[toks[i].lower()] = (toks[i + 2], ln, toks[i])
    if cur is not None:
        raise PlacerInputError(f"file ends inside the CoreRow at line {cur_line} "
                               "(truncated?)", path, ln)
    if num_rows is not None and num_rows[0] != len(rows):
        raise PlacerInputError(f"NumRows is {num_rows[0]} but {len(rows)} rows follow",
                               path, num_rows[1])
    if not rows:
        raise PlacerInputError("no CoreRow found", path, ln or None)
    return np.asarray(rows, dtype=np.float64)


def _scl_row(cur: dict, path: str, line: int) -> list[float]:
    def get(key, default=None):
        if key not in cur:
            if default is None:
                raise PlacerInputError(f"CoreRow lacks {key.capitalize()}", path, line)
            return default
        tok, ln, name = cur[key]
        return _float(tok, name, path, ln)

    y = get("coordinate")
    h = get("height")
    sw = get("sitewidth", 1.0)
    sp = get("sitespacing", sw)
    x = get("subroworigin")
    n = get("numsites")
    if h <= 0 or sw <= 0 or n < 0 or n != int(n):
        raise PlacerInputError("CoreRow needs Height > 0, Sitewidth > 0 and an "
                               "integer NumSites >= 0", path, line)
    return [y, h, x, n, sw, sp]


# ------------------------------------------------------------------- .nodes
def _read_nodes(path: str):
    names: list[str] = []
    lines: list[int] = []
    w: list[float] = []
    h: list[float] = []
    term: list[int] = []
    counts = {}
    for ln, s in _content(_read_lines(path)):
        if ":" in s:
            key, n = _count(s, path, ln)
            if key not in ("numnodes", "numterminals"):
                raise PlacerInputError(f"unexpected line {s[:60]!r}", path, ln)
            counts[key] = (n, ln)
            continue
        toks = s.split()
        if not 3 <= len(toks) <= 4:
            raise PlacerInputError("expected 'name width height [terminal|terminal_NI]'"
                                   f", got {s[:60]!r}", path, ln)
        try:
            wv = float(toks[1])
            hv = float(toks[2])
        except ValueError:
            _float(toks[1], "node width", path, ln)
            _float(toks[2], "node height", path, ln)
            raise
        t = 0
        if len(toks) == 4:
            t = _TERMINAL_TYPES.get(toks[3].lower(), -1)
            if t < 0:
                raise PlacerInputError(f"unknown node type {toks[3]!r} (expected "
                                       "terminal or terminal_NI)", path, ln)
        names.append(toks[0])
        lines.append(ln)
        w.append(wv)
        h.append(hv)
        term.append(t)
    size = np.array([w, h], dtype=np.float64).T.reshape(-1, 2)
    bad = ~np.isfinite(size).all(axis=1) | (size < 0).any(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise PlacerInputError(f"node {names[i]!r}: width and height must be finite "
                               "and >= 0", path, lines[i])
    term_a = np.array(term, dtype=np.int8)
    if "numnodes" in counts and counts["numnodes"][0] != len(names):
        n, ln = counts["numnodes"]
        raise PlacerInputError(f"NumNodes is {n} but {len(names)} node lines follow"
                               + (" (truncated?)" if n > len(names) else ""), path, ln)
    if "numterminals" in counts:
        n, ln = counts["numterminals"]
        nt = int(np.count_nonzero(term_a))
        if n != nt:
            raise PlacerInputError(f"NumTerminals is {n} but {nt} terminals found",
                                   path, ln)
    if not names:
        raise PlacerInputError("no nodes found", path)
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        if index.setdefault(name, i) != i:
            raise PlacerInputError(f"duplicate node name {name!r} (first at line "
                                   f"{lines[index[name]]})", path, lines[i])
    return names, index, size, term_a


# ---------------------------------------------------------------------- .pl
def _read_pl(path: str, names: list[str], index: dict[str, int]):
    """Lower-left corners (V, 2), orientations (V,) int8, flags (V,) int8
    (0 none, 1 /FIXED, 2 /FIXED_NI). Every node must appear exactly once."""
    nv = len(names)
    ll = np.zeros((nv, 2))
    orient = np.zeros(nv, dtype=np.int8)
    flag = np.zeros(nv, dtype=np.int8)
    seen = np.zeros(nv, dtype=np.int64)
    get = index.get
    for ln, s in _content(_read_lines(path)):
        head, sep, tail = s.partition(":")
        toks = head.split()
        if len(toks) != 3:
            raise PlacerInputError("expected 'name x y : orientation [/FIXED]', got "
                                   f"{s[:60]!r}", path, ln)
        v = get(toks[0])
        if v is None:
            raise PlacerInputError(f"unknown node {toks[0]!r}", path, ln)
        if seen[v]:
            raise PlacerInputError(f"node {toks[0]!r} placed twice (first at line "
                                   f"{seen[v]})", path, ln)
        seen[v] = ln
        ll[v, 0] = _float(toks[1], "x", path, ln)
        ll[v, 1] = _float(toks[2], "y", path, ln)
        for t in tail.split():
            tu = t.upper()
            if tu[0] == "/":
                f = _FIXED_FLAGS.get(tu)
                if f is None:
                    raise PlacerInputError(f"unknown flag {t!r} (expected /FIXED or "
                                           "/FIXED_NI)", path, ln)
                flag[v] = f
            else:
                o = _ORIENT_UPPER.get(tu)
                if o is None:
                    raise PlacerInputError(f"unknown orientation {t!r} (known: "
                                           f"{', '.join(ORIENTATIONS)})", path, ln)
                orient[v] = o
    missing = np.flatnonzero(seen == 0)
    if len(missing):
        more = f" (and {len(missing) - 1} more nodes)" if len(missing) > 1 else ""
        raise PlacerInputError(f"node {names[missing[0]]!r}{more} has no position "
                               "in this file", path)
    return ll, orient, flag


# -------------------------------------------------------------------- .nets
def _read_nets(path: str, index: dict[str, int]):
    pin_node: list[int] = []
    pin_dir: list[str] = []
    off_pin: list[int] = []
    off_xy: list[tuple[float, float]] = []
    net_start: list[int] = []
    net_driver: list[int] = []   # offset of the driver within its net
    net_names: list[str | None] = []
    counts = {}
    remaining = 0
    driver = -1
    deg_line = 0
    degree = 0
    get = index.get
    dirs = _DIRECTIONS
    ln = 0
    for ln, s in _content(_read_lines(path)):
        if remaining:
            head, sep, tail = s.partition(":")
            toks = head.split()
            v = get(toks[0]) if toks else None
            if v is None:
                if toks and toks[0].lower() == "netdegree":
                    raise PlacerInputError(
                        f"NetDegree is {degree} but {degree - remaining} pin lines "
                        f"follow (next NetDegree at line {ln})", path, deg_line)
                raise PlacerInputError(
                    f"unknown node {toks[0]!r}" if toks else
                    f"expected 'node direction [: x_offset y_offset]', got {s[:60]!r}",
                    path, ln)
            if len(toks) > 1:
                d = dirs.get(toks[1].upper())
                if d is None or len(toks) > 2:
                    raise PlacerInputError(
                        f"expected 'node I|O|B [: x_offset y_offset]', got {s[:60]!r}",
                        path, ln)
            else:
                d = "B"
            if d == "O" and driver < 0:
                driver = degree - remaining
            if sep:
                offs = tail.split()
                if len(offs) != 2:
                    raise PlacerInputError(
                        f"expected ': x_offset y_offset', got {s[:60]!r}", path, ln)
                off_pin.append(len(pin_node))
                off_xy.append((_float(offs[0], "pin x offset", path, ln),
                               _float(offs[1], "pin y offset", path, ln)))
            pin_node.append(v)
            pin_dir.append(d)
            remaining -= 1
            if not remaining:
                net_driver.append(max(driver, 0))
            continue
        key, sep, val = s.partition(":")
        k = key.strip().lower()
        if k == "netdegree" and sep:
            toks = val.split()
            if not 1 <= len(toks) <= 2:
                raise PlacerInputError(f"expected 'NetDegree : k [name]', got "
                                       f"{s[:60]!r}", path, ln)
            degree = _int(toks[0], "NetDegree", path, ln)
            if degree < 1:
                raise PlacerInputError("NetDegree must be at least 1", path, ln)
            net_names.append(toks[1] if len(toks) > 1 else None)
            net_start.append(len(pin_node))
            remaining = degree
            driver = -1
            deg_line = ln
        elif k in ("numnets", "numpins") and sep:
            counts[k] = _count(s, path, ln)[1], ln
        elif net_start:
            raise PlacerInputError(
                f"expected 'NetDegree : k', got {s[:60]!r} (NetDegree at line "
                f"{deg_line} is {degree}; more pins than that?)", path, ln)
        else:
            raise PlacerInputError(f"unexpected line {s[:60]!r}", path, ln)
    if remaining:
        raise PlacerInputError(
            f"file ends after {degree - remaining} of the {degree} pins of the net "
            f"at line {deg_line} (truncated?)", path, ln)
    nn, npins = len(net_start), len(pin_node)
    if "numnets" in counts and counts["numnets"][0] != nn:
        raise PlacerInputError(f"NumNets is {counts['numnets'][0]} but {nn} nets "
                               "follow", path, counts["numnets"][1])
    if "numpins" in counts and counts["numpins"][0] != npins:
        raise PlacerInputError(f"NumPins is {counts['numpins'][0]} but {npins} pins "
                               "follow", path, counts["numpins"][1])
    pin_offset = np.zeros((npins, 2))
    if off_pin:
        pin_offset[np.asarray(off_pin)] = np.asarray(off_xy, dtype=np.float64)
    net_ptr = np.empty(nn + 1, dtype=np.int64)
    net_ptr[:nn] = net_start
    net_ptr[nn] = npins
    net_pins = np.arange(npins, dtype=np.int32)
    for n in np.flatnonzero(np.asarray(net_driver, dtype=np.int64)):
        a = int(net_ptr[n])
        d = net_driver[n]
        net_pins[a:a + d + 1] = np.roll(net_pins[a:a + d + 1], 1)
    return (np.asarray(pin_node, dtype=np.int32), np.asarray(pin_dir), pin_offset,
            net_ptr, net_pins, net_names)


# --------------------------------------------------------------------- .wts
def _read_wts(path: str, net_names: list, index: dict[str, int]) -> np.ndarray:
    weight = np.ones(len(net_names))
    net_of: dict[str, list[int]] | None = None
    for ln, s in _content(_read_lines(path)):
        toks = s.split()
        if len(toks) != 2:
            raise PlacerInputError(f"expected 'name weight', got {s[:60]!r}", path, ln)
        w = _float(toks[1], "weight", path, ln)
        if w < 0:
            raise PlacerInputError(f"negative weight {toks[1]!r}", path, ln)
        if net_of is None:
            net_of = {}
            for i, name in enumerate(net_names):
                if name is not None:
                    net_of.setdefault(name, []).append(i)
        nets = net_of.get(toks[0])
        if nets is not None:
            weight[nets] = w
        elif toks[0] not in index:
            raise PlacerInputError(f"{toks[0]!r} is neither a net nor a node", path, ln)
    return weight


# ------------------------------------------------------------------ reading
def read_bookshelf(aux_path: str | os.PathLike) -> Netlist:
    """Reads a Bookshelf design from its .aux (files relative to the .aux).

    The .aux must list a .nodes, a .nets and a .scl; a .pl and a .wts are
    optional. See the module docstring for how nodes, pins and nets map to
    the model.

    Raises:
        PlacerInputError: naming file and line, for a missing file, wrong
            counts (NumNodes, NumTerminals, NumNets, NumPins, NumRows,
            NetDegree), unknown nodes, non-numeric fields or truncated files.
    """
    aux_path = os.fspath(aux_path)
    files = _read_aux(aux_path)
    rows = _read_scl(files["scl"][0])
    names, index, size, terminal = _read_nodes(files["nodes"][0])
    nv = len(names)

    # Core area = bounding box of the rows; it becomes the canvas from (0, 0).
    x_end = rows[:, 2] + np.maximum(rows[:, 3] - 1, 0) * rows[:, 5] + \
        np.where(rows[:, 3] > 0, rows[:, 4], 0.0)
    x0, y0 = float(rows[:, 2].min()), float(rows[:, 0].min())
    x1, y1 = float(x_end.max()), float((rows[:, 0] + rows[:, 1]).max())
    if x1 <= x0 or y1 <= y0:
        raise PlacerInputError("the core rows have no area", files["scl"][0])
    origin = np.array([x0, y0])
    row_height = float(rows[:, 1].max())
    site_width = float(rows[:, 4].min())

    if "pl" in files:
        ll, orient, flag = _read_pl(files["pl"][0], names, index)
    else:
        ll = np.zeros((nv, 2))
        orient = np.zeros(nv, dtype=np.int8)
        flag = np.zeros(nv, dtype=np.int8)
    osize = _oriented(size, orient)
    xy = _centre(ll, osize, origin)

    # Kinds (module docstring).
    lo = ll - origin
    hi = lo + osize
    overlaps_core = (lo[:, 0] < x1 - x0) & (hi[:, 0] > 0) & \
        (lo[:, 1] < y1 - y0) & (hi[:, 1] > 0)
    area = size[:, 0] * size[:, 1]
    is_term = terminal > 0
    pad = is_term & ((area < site_width * row_height) | ~overlaps_core)
    kind = np.where(is_term, HARD_MACRO,
                    np.where(size[:, 1] > row_height, HARD_MACRO, STDCELL))
    kind = np.where(pad, PORT, kind).astype(np.int8)
    fixed = is_term | (flag > 0)

    pin_node, pin_dir, pin_offset, net_ptr, net_pins, net_names = \
        _read_nets(files["nets"][0], index)
    if "wts" in files:
        net_weight = _read_wts(files["wts"][0], net_names, index)
    else:
        net_weight = np.ones(len(net_names))

    np_ = len(pin_node)
    pin_kind_of = np.array([0] * 4, dtype=np.int8)
    pin_kind_of[PORT] = PIN_PORT
    pin_kind_of[HARD_MACRO] = PIN_HARD
    pin_kind_of[STDCELL] = PIN_STDCELL
    pin_kind = pin_kind_of[kind[pin_node]]
    net_of_pin = np.repeat(np.arange(len(net_names)), np.diff(net_ptr))
    pin_weight = net_weight[net_of_pin] if np_ else np.zeros(0)
    seen = [0] * nv
    pin_names = []
    for v in pin_node.tolist():
        k = seen[v]
        seen[v] = k + 1
        pin_names.append(f"{names[v]}/p{k}")

    shifted_rows = rows.copy()
    shifted_rows[:, 0] -= y0
    shifted_rows[:, 2] -= x0
    nl = Netlist(
        name=os.path.splitext(os.path.basename(aux_path))[0],
        node_names=names,
        node_kind=kind,
        node_xy=xy,
        node_size=size,
        node_orient=orient,
        node_fixed=fixed,
        node_index=np.arange(nv, dtype=np.int64),
        pin_names=pin_names,
        pin_node=pin_node,
        pin_offset=pin_offset,
        pin_kind=pin_kind,
        pin_weight=pin_weight,
        pin_index=np.arange(np_, dtype=np.int64),
        net_ptr=net_ptr,
        net_pins=net_pins,
        net_weight=net_weight,
        metadata={
            "origin": (x0, y0),
            "bookshelf": {
                "files": {ext: f for ext, (f, _) in files.items()},
                "rows": shifted_rows,
                "row_height": row_height,
                "site_width": site_width,
                "net_names": net_names,
                "pin_direction": pin_dir,
                "terminal": terminal,
                "fixed_ni": (terminal == 2) | (flag == 2),
            },
        },
        source=aux_path,
    )
    nl.settings.canvas_width = x1 - x0
    nl.settings.canvas_height = y1 - y0
    return nl


def _origin(nl: Netlist) -> np.ndarray:
    o = nl.metadata.get("origin", (0.0, 0.0))
    return np.array([float(o[0]), float(o[1])])


def apply_pl(nl: Netlist, pl_path: str | os.PathLike) -> Netlist:
    """A copy of nl placed as the .pl says: centres, orientations, fixed flags.

    Every node must appear once. Terminals stay fixed; other nodes are fixed
    exactly when this .pl marks them /FIXED or /FIXED_NI. Node kinds do not
    change.
    """
    pl_path = os.fspath(pl_path)
    index = {name: i for i, name in enumerate(nl.node_names)}
    ll, orient, flag = _read_pl(pl_path, nl.node_names, index)
    xy = _centre(ll, _oriented(nl.node_size, orient), _origin(nl))
    new = nl.with_placement(xy, orient)
    bs = dict(nl.metadata.get("bookshelf") or {})
    terminal = bs.get("terminal")
    if terminal is None:   # not read from Bookshelf: ports stay fixed
        terminal = np.where(nl.node_kind == PORT, 1, 0).astype(np.int8)
    new.node_fixed = (terminal > 0) | (flag > 0)
    bs["fixed_ni"] = (terminal == 2) | (flag == 2)
    new.metadata = dict(nl.metadata)
    new.metadata["bookshelf"] = bs
    return new


# ------------------------------------------------------------------ writing
def write_pl(nl: Netlist, path: str | os.PathLike) -> None:
    """Writes the placement as a Bookshelf .pl: lower-left corners in the
    design's file coordinates (the origin shift undone), orientation, and
    /FIXED (/FIXED_NI for terminal_NI nodes) for fixed nodes.

    Numbers are written as the shortest decimals that read back exactly, and
    each corner is nudged by ulps so that reading the file back gives node_xy
    bit for bit whenever such a corner exists: always for positions that came
    from a .pl (read -> write -> read is exact); for arbitrary centres the
    read-back centre may differ by an ulp.
    """
    path = os.fspath(path)
    orient = np.asarray(nl.node_orient)
    ll = _lower_left(np.asarray(nl.node_xy, dtype=np.float64),
                     _oriented(nl.node_size, orient), _origin(nl))
    bs = nl.metadata.get("bookshelf") or {}
    fixed_ni = bs.get("fixed_ni")
    if fixed_ni is None or len(fixed_ni) != nl.num_nodes:
        fixed_ni = np.zeros(nl.num_nodes, dtype=bool)
    out = ["UCLA pl 1.0", "# Created by placer", ""]
    for v, name in enumerate(nl.node_names):
        o = int(orient[v])
        line = f"{name} {_fmt(ll[v, 0])} {_fmt(ll[v, 1])} : {ORIENTATIONS[max(o, 0)]}"
        if nl.node_fixed[v]:
            line += " /FIXED_NI" if fixed_ni[v] else " /FIXED"
        out.append(line)
    try:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(out) + "\n")
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e}", path) from None


__all__ = ["read_bookshelf", "apply_pl", "write_pl"]
