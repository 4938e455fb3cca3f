"""DEF (Design Exchange Format 5.x) designs: read with their LEF, write back.

``read_def(def_path, lef)`` reads a placed (or floorplanned) DEF, plain or
gzipped, with the LEF library its components use, into a flat Netlist.
``write_def(nl, out, template)`` writes the template DEF with the hard macros'
locations replaced by the netlist's, every other byte unchanged;
``write_place_macro_tcl`` writes the same placement as OpenROAD commands.

How a DEF design maps to the model
----------------------------------
Canvas. The canvas is the DIEAREA's bounding box, with (0, 0) at the die's
lower-left corner: canvas microns = (DEF coordinate - die lower-left) / DEF
units. The die rather than the core (the rows' bounding box) because the I/O
pins (DEF PINS) sit on the die boundary, outside the core: with the die as the
canvas every node is inside it and keeps its true position, and reading and
writing a DEF is a pure translation, exact to the database unit. Circuit
Training's own Ariane test design does the same (its .plc canvas, 356.592 x
356.640, is that DEF's die). The core box (bounding box of the ROWs, in
canvas microns) is kept in ``metadata["lefdef"]["core"]``; when the core is
smaller than the die the margin is where no cell may go, which the placers
here do not model: writing a DEF reports macros that stick out of the core.

Nodes. DEF PINS become PORTs (in PINS order), then every component in
COMPONENTS order: a HARD_MACRO when its LEF macro's CLASS is BLOCK, RING, PAD
or COVER, else a STDCELL. ``node_size`` is the LEF SIZE (orientation N),
``node_orient`` the DEF orientation, ``node_xy`` the centre of the placed
outline: location + oriented size / 2 (E, W, FE, FW swap width and height).
FIXED and COVER components are fixed; PLACED ones movable; UNPLACED ones (or
without a status) are movable and sit at the canvas centre. Names are the DEF
names with the escape backslashes removed (``a\\[0\\]`` -> ``a[0]``).

Ports. A pin's position is its placement point plus the centre of its first
port's first LAYER shape, rotated by the pin's orientation about the point
(DEF's rule for pin geometry); a pin without a location sits at the canvas
centre.

Pins and nets. Every connection ``( comp pin )`` of a regular net is a pin
named ``comp/pin`` with the LEF pin's centre as offset (from the component
centre, frame N, so the model's orientation transform gives its placed
position); ``( PIN name )`` is the port's pin. Connections to ``*`` and
SPECIALNETS are ignored. A net's driver (listed first) is its first
connection to an OUTPUT LEF pin or an INPUT DEF pin, else its first
connection. ``+ WEIGHT w`` sets the net weight (default 1). Nets with fewer
than two connections are kept.

Routing. Tracks per micron come from the DEF TRACKS (``TRACKS Y`` lines are
horizontal tracks) of the layers the LEF marks horizontal / vertical (a layer
the LEF does not describe counts in the direction of its TRACKS line) -- or,
without TRACKS, from the LEF routing layers' pitches -- and set
``routes_per_micron_hor`` / ``_ver``; without either, Circuit Training's
defaults stay.

``metadata["lefdef"]`` keeps: ``def`` and ``lef`` paths, ``units`` (DBU per
micron), ``die`` (DBU box), ``core`` (canvas microns box or None), ``rows``
((R, 6) x, y, num_x, num_y, step_x, step_y in DBU), ``site`` ((width, height)
DBU of the first row's site or None), ``manufacturing_grid`` (DBU or None),
``component`` ((V,) DEF component name or None for ports), ``model`` ((V,)
LEF macro or None), ``status`` ((V,) "PLACED", "FIXED", "COVER", "UNPLACED"),
``tracks`` ((hor, ver) tracks per micron or None).
"""

from __future__ import annotations

import gzip
import math
import os
import re

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.lef import LefLibrary, read_lef, read_text, strip_comments
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_INDEX,
    ORIENT_MATRICES,
    ORIENT_SWAPS_WH,
    ORIENTATIONS,
    PIN_HARD,
    PIN_PORT,
    PIN_STDCELL,
    PORT,
    STDCELL,
    Netlist,
    Settings,
)

_STATUS = ("PLACED", "FIXED", "COVER", "UNPLACED")
_SECTIONS = frozenset({
    "PROPERTYDEFINITIONS", "VIAS", "STYLES", "NONDEFAULTRULES", "REGIONS",
    "COMPONENTS", "PINS", "PINPROPERTIES", "BLOCKAGES", "SLOTS", "FILLS",
    "SPECIALNETS", "NETS", "SCANCHAINS", "GROUPS"})
_FREE_SECTIONS = frozenset({"PROPERTYDEFINITIONS"})
_COUNTED = frozenset({"COMPONENTS", "PINS", "NETS"})
# An orientation name in DEF (N, S, ... FW) or OpenDB (R0, R90, ..., MXR90).
_ORIENT_ALIASES = {"R0": "N", "R90": "W", "R180": "S", "R270": "E", "MY": "FN",
                   "MX": "FS", "MYR90": "FE", "MXR90": "FW", "MY90": "FE",
                   "MX90": "FW"}
# OpenROAD's place_macro names for the DEF orientations.
OPENROAD_ORIENT = {"N": "R0", "S": "R180", "W": "R90", "E": "R270", "FN": "MY",
                   "FS": "MX", "FE": "MYR90", "FW": "MXR90"}
_CONN = re.compile(r"\(\s*([^\s()]+)\s+([^\s()]+)(?:\s+\+\s*SYNTHESIZED)?\s*\)|\+")
_PAIR = re.compile(r"\(\s*([^\s()]+)\s+([^\s()]+)\s*\)")
_LOC = re.compile(r"\+\s*(PLACED|FIXED|COVER)\s*\(\s*(\S+)\s+(\S+)\s*\)\s*(\S+)"
                  r"|\+\s*(UNPLACED)\b")


def unescape(name: str) -> str:
    """A DEF name without its escape backslashes (``a\\[0\\]`` -> ``a[0]``)."""
    return name.replace("\\", "") if "\\" in name else name


def orient_code(name: str) -> int:
    """The model's orientation index of a DEF (or OpenDB) orientation name."""
    o = _ORIENT_ALIASES.get(name.upper(), name.upper())
    return ORIENT_INDEX[o]


# ---------------------------------------------------------- statement split
class _Statements:
    """The DEF text cut at every ``;``: each statement's tokens, its start
    offset and line. ``END <SECTION>`` lines (which have no ``;``) stay at the
    front of the following statement; see ``_take_ends``."""

    def __init__(self, text: str, path: str):
        self.path = path
        self.text = text
        clean = strip_comments(text)
        parts = clean.split(";")
        # A ';' inside a quoted string does not end the statement.
        if '"' in clean:
            merged, buf = [], None
            for p in parts:
                buf = p if buf is None else buf + ";" + p
                if buf.count('"') % 2 == 0:
                    merged.append(buf)
                    buf = None
            if buf is not None:
                merged.append(buf)
            parts = merged
        self.parts = parts
        starts = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(p) + 1 for p in parts], out=starts[1:])
        self.starts = starts

    def line_at(self, offset: int) -> int:
        """1-based line of a character offset."""
        return self.text.count("\n", 0, offset) + 1

    def line_of(self, k: int, token: str | None = None) -> int:
        """Line of statement k (of its first token, or of ``token`` in it)."""
        p = self.parts[k]
        if token is not None and token in p:
            i = p.index(token)
        else:
            i = len(p) - len(p.lstrip())
        return self.line_at(int(self.starts[k]) + i)

    def error(self, reason: str, k: int, token: str | None = None):
        k = min(k, len(self.parts) - 1)
        return PlacerInputError(reason, self.path, self.line_of(k, token))


def _number(tok: str, what: str, st: _Statements, k: int) -> float:
    try:
        v = float(tok)
    except ValueError:
        raise st.error(f"{what}: expected a number, got {tok!r}", k, tok) from None
    if not math.isfinite(v):
        raise st.error(f"{what}: expected a finite number, got {tok!r}", k, tok)
    return v


def _point(toks: list[str], i: int, what: str, st: _Statements, k: int):
    """The ``( x y )`` at toks[i]; returns (x, y, next index)."""
    if i + 3 >= len(toks) or toks[i] != "(" or toks[i + 3] != ")":
        got = " ".join(toks[i:i + 4])
        raise st.error(f"{what}: expected '( x y )', got {got!r}", k,
                       toks[i] if i < len(toks) else None)
    return (_number(toks[i + 1], what, st, k), _number(toks[i + 2], what, st, k),
            i + 4)


# ------------------------------------------------------------------ reading
class _Def:
    """What read_def collects from the DEF text."""

    def __init__(self):
        self.design = None
        self.units = None
        self.die = None
        self.rows = []          # (site, x, y, nx, ny, sx, sy)
        self.tracks = []        # (axis "X"/"Y", step, layers)
        self.comps = []         # (name, model, status, x, y, orient, k)
        self.pins = []          # (name, net, direction, status, x, y, orient, cx, cy)
        self.nets = []          # (name, [(comp, pin)], weight, k)


def _parse_def(st: _Statements) -> _Def:
    d = _Def()
    parts = st.parts
    section = None        # (name, declared count, statement index)
    count = 0
    for k, part in enumerate(parts):
        toks = part.split()
        if not toks:
            if k == len(parts) - 1:
                break
            raise st.error("empty statement (a stray ';')", k)
        # END <SECTION> / END DESIGN at the front of the statement.
        while toks and toks[0] == "END":
            if len(toks) < 2:
                raise st.error("'END' without a section name", k, "END")
            what = toks[1]
            if what == "DESIGN":
                if section is not None:
                    raise st.error(f"END DESIGN inside {section[0]} (opened at line "
                                   f"{st.line_of(section[2])})", k, "END")
                toks = toks[2:]
                if toks:
                    raise st.error(f"text after END DESIGN: {toks[0]!r}", k, toks[0])
                return _finish(d, st, k)
            if section is None or what != section[0]:
                raise st.error(f"'END {what}' does not close "
                               f"{'any section' if section is None else section[0]}",
                               k, "END")
            _check_count(section, count, st, k)
            section = None
            toks = toks[2:]
        if not toks:
            if k == len(parts) - 1:
                break
            raise st.error("empty statement (a stray ';')", k)
        head = toks[0]
        if section is not None and section[3]:
            continue
        if section is not None:
            if head != "-":
                raise st.error(f"{section[0]}: expected '- <name> ...' or "
                               f"'END {section[0]}', got {head!r}", k, head)
            count += 1
            sname = section[0]
            if sname == "COMPONENTS":
                _component(toks, d, st, k)
            elif sname == "PINS":
                _pin(toks, part, d, st, k)
            elif sname == "NETS":
                _net(toks, part, d, st, k)
            continue
        if head in _SECTIONS:
            if head in _FREE_SECTIONS:
                # statements without '- ' items: skipped up to END <head>
                section = (head, None, k, True)
                count = 0
                continue
            if len(toks) != 2:
                raise st.error(f"expected '{head} <count> ;'", k, head)
            n = _number(toks[1], head, st, k)
            section = (head, int(n), k, False)
            count = 0
            continue
        _header(toks, d, st, k)
    if section is not None:
        raise PlacerInputError(f"unexpected end of file: {section[0]} (opened at "
                               f"line {st.line_of(section[2])}) has no "
                               f"'END {section[0]}'", st.path, st.line_at(len(st.text)))
    raise PlacerInputError("unexpected end of file: no 'END DESIGN'", st.path,
                           st.line_at(len(st.text)))


def _check_count(section, count, st, k):
    name, n, k0, _free = section
    if name in _COUNTED and count != n:
        raise st.error(f"{name} declares {n} items but holds {count}", k0, name)


def _finish(d: _Def, st: _Statements, k: int) -> _Def:
    if d.units is None:
        raise PlacerInputError("no 'UNITS DISTANCE MICRONS' statement", st.path)
    if d.die is None:
        raise PlacerInputError("no DIEAREA statement", st.path)
    return d


def _header(toks, d: _Def, st: _Statements, k: int) -> None:
    head = toks[0]
    if head == "DESIGN":
        if len(toks) < 2:
            raise st.error("expected 'DESIGN <name> ;'", k, head)
        d.design = toks[1]
    elif head == "UNITS":
        if len(toks) != 4 or toks[1:3] != ["DISTANCE", "MICRONS"]:
            raise st.error("expected 'UNITS DISTANCE MICRONS <n> ;'", k, head)
        v = _number(toks[3], "UNITS DISTANCE MICRONS", st, k)
        if v <= 0 or v != int(v):
            raise st.error(f"UNITS DISTANCE MICRONS must be a positive integer, got "
                           f"{toks[3]!r}", k, head)
        d.units = int(v)
    elif head == "DIEAREA":
        pts, i = [], 1
        while i < len(toks):
            x, y, i = _point(toks, i, "DIEAREA", st, k)
            pts.append((x, y))
        if len(pts) < 2:
            raise st.error("DIEAREA needs at least two points", k, head)
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        d.die = (min(xs), min(ys), max(xs), max(ys))
        if d.die[2] <= d.die[0] or d.die[3] <= d.die[1]:
            raise st.error("DIEAREA has no area", k, head)
    elif head == "ROW":
        # ROW name site x y orient [DO nx BY ny [STEP sx sy]]
        if len(toks) < 6:
            raise st.error("expected 'ROW <name> <site> <x> <y> <orient> ...'", k, head)
        x = _number(toks[3], "ROW x", st, k)
        y = _number(toks[4], "ROW y", st, k)
        nx = ny = 1
        sx = sy = 0.0
        if len(toks) >= 10 and toks[6] == "DO" and toks[8] == "BY":
            nx = int(_number(toks[7], "ROW DO", st, k))
            ny = int(_number(toks[9], "ROW BY", st, k))
            if len(toks) >= 13 and toks[10] == "STEP":
                sx = _number(toks[11], "ROW STEP", st, k)
                sy = _number(toks[12], "ROW STEP", st, k)
        d.rows.append((toks[2], x, y, nx, ny, sx, sy))
    elif head == "TRACKS":
        # TRACKS X|Y start DO n STEP s [MASK ..] [LAYER l ...]
        if len(toks) < 7 or toks[1] not in ("X", "Y") or toks[3] != "DO" \
                or toks[5] != "STEP":
            raise st.error("expected 'TRACKS X|Y <start> DO <n> STEP <step> "
                           "LAYER <layer> ;'", k, head)
        step = _number(toks[6], "TRACKS STEP", st, k)
        layers = toks[toks.index("LAYER") + 1:] if "LAYER" in toks else []
        d.tracks.append((toks[1], step, layers))


def _component(toks, d: _Def, st: _Statements, k: int) -> None:
    if len(toks) < 3:
        raise st.error("COMPONENTS: expected '- <name> <model> ...'", k, "-")
    status, x, y, orient = "UNPLACED", 0.0, 0.0, "N"
    i, n = 3, len(toks)
    while i < n:
        if toks[i] == "+" and i + 1 < n:
            kw = toks[i + 1]
            if kw in ("PLACED", "FIXED", "COVER"):
                x, y, j = _point(toks, i + 2, f"component {toks[1]} {kw}", st, k)
                if j >= n:
                    raise st.error(f"component {toks[1]}: {kw} without an "
                                   "orientation", k, toks[1])
                orient = toks[j]
                if _ORIENT_ALIASES.get(orient, orient) not in ORIENT_INDEX:
                    raise st.error(f"component {toks[1]}: unknown orientation "
                                   f"{orient!r}", k, toks[1])
                status = kw
                break
            if kw == "UNPLACED":
                break
        i += 1
    d.comps.append((toks[1], toks[2], status, x, y, orient, k))


def _pin(toks, part, d: _Def, st: _Statements, k: int) -> None:
    name = toks[1] if len(toks) > 1 else None
    if name is None:
        raise st.error("PINS: expected '- <name> + NET <net> ...'", k, "-")
    net = direction = None
    status, x, y, orient = "UNPLACED", 0.0, 0.0, "N"
    cx = cy = None
    located = False
    i, n = 2, len(toks)
    while i < n:
        if toks[i] != "+" or i + 1 >= n:
            i += 1
            continue
        kw = toks[i + 1]
        if kw == "NET" and i + 2 < n:
            net = toks[i + 2]
        elif kw == "DIRECTION" and i + 2 < n:
            direction = toks[i + 2].upper()
        elif kw == "PORT" and located:
            break     # only the first port counts
        elif kw in ("LAYER", "POLYGON") and cx is None:
            j = i + 2
            if kw == "LAYER":
                j += 1
            while j < n and toks[j] != "(":
                j += 2      # MASK n / SPACING d / DESIGNRULEWIDTH d
            pts = []
            while j < n and toks[j] == "(":
                px, py, j = _point(toks, j, f"pin {name} {kw}", st, k)
                pts.append((px, py))
            if len(pts) >= 2:
                xs, ys = [p[0] for p in pts], [p[1] for p in pts]
                cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        elif kw in ("PLACED", "FIXED", "COVER") and not located:
            x, y, j = _point(toks, i + 2, f"pin {name} {kw}", st, k)
            if j >= n:
                raise st.error(f"pin {name}: {kw} without an orientation", k, name)
            orient = toks[j]
            if _ORIENT_ALIASES.get(orient, orient) not in ORIENT_INDEX:
                raise st.error(f"pin {name}: unknown orientation {orient!r}", k, name)
            status = kw
            located = True
        i += 1
    d.pins.append((name, net, direction, status, x, y, orient, cx, cy))


def _net(toks, part, d: _Def, st: _Statements, k: int) -> None:
    if len(toks) < 2:
        raise st.error("NETS: expected '- <name> ( <comp> <pin> ) ...'", k, "-")
    name = toks[1]
    body = part[part.index(name) + len(name):]
    plus = body.find("+")
    weight = 1.0
    if plus < 0:
        conns = _PAIR.findall(body)
    elif body.count("(", 0, plus) == body.count(")", 0, plus):
        conns = _PAIR.findall(body, 0, plus)
        rest = body[plus:].split()
        if "WEIGHT" in rest:
            i = rest.index("WEIGHT")
            if i + 1 < len(rest):
                weight = _number(rest[i + 1], f"net {name} WEIGHT", st, k)
    else:      # a '+ SYNTHESIZED' inside a connection: the careful way
        conns = []
        for m in _CONN.finditer(body):
            if m.group(1) is None:
                break
            conns.append((m.group(1), m.group(2)))
    d.nets.append((name, conns, weight, k))


# ------------------------------------------------------------ to a Netlist
def _tracks(d: _Def, lib: LefLibrary) -> tuple[float, float] | None:
    """(horizontal, vertical) routing tracks per micron (see module docstring)."""
    if d.tracks:
        hor = ver = 0.0
        seen = set()
        for axis, step, layers in d.tracks:
            if step <= 0:
                continue
            for layer in layers or [None]:
                lef = lib.layers.get(layer) if layer else None
                if lef is not None and lef.direction in ("HORIZONTAL", "VERTICAL"):
                    want = "Y" if lef.direction == "HORIZONTAL" else "X"
                    if axis != want or (layer, axis) in seen:
                        continue
                seen.add((layer, axis))
                per_micron = d.units / step
                if axis == "Y":
                    hor += per_micron
                else:
                    ver += per_micron
        if hor > 0 and ver > 0:
            return hor, ver
    return lib.routing_tracks_per_micron()


def read_def(path: str | os.PathLike, lef=None) -> Netlist:
    """Reads a DEF design (``.def`` or ``.def.gz``) with its LEF library.

    Args:
        path: the DEF file.
        lef: a LefLibrary, or LEF path(s) to read (technology LEF first).

    Returns:
        The flat Netlist (see the module docstring for the mapping).

    Raises:
        PlacerInputError: a missing or malformed DEF or LEF, a component whose
            macro no LEF defines, a net naming an unknown component, pin or
            I/O pin; the message names the file and line.
    """
    path = os.fspath(path)
    if lef is None:
        raise PlacerInputError("a DEF design needs its LEF files: pass lef=[...] "
                               "(technology LEF first)", path)
    lib = lef if isinstance(lef, LefLibrary) else read_lef(lef)
    st = _Statements(read_text(path), path)
    d = _parse_def(st)
    return _build(d, lib, st)


def _build(d: _Def, lib: LefLibrary, st: _Statements) -> Netlist:
    path = st.path
    u = float(d.units)
    if lib.database_units and d.units % lib.database_units and \
            lib.database_units % d.units:
        raise PlacerInputError(f"DEF units {d.units} per micron do not divide the "
                               f"LEF database units {lib.database_units}", path)
    dx0, dy0, dx1, dy1 = d.die
    cw, ch = (dx1 - dx0) / u, (dy1 - dy0) / u
    n_port, n_comp = len(d.pins), len(d.comps)
    nv = n_port + n_comp
    names: list[str] = []
    kind = np.empty(nv, dtype=np.int8)
    xy = np.empty((nv, 2), dtype=np.float64)
    size = np.zeros((nv, 2), dtype=np.float64)
    orient = np.full(nv, -1, dtype=np.int8)
    fixed = np.zeros(nv, dtype=bool)
    status = []
    comp_names: list = [None] * n_port
    models: list = [None] * n_port
    port_dir = {}
    port_index = {}
    for v, (name, _net, direction, stt, x, y, o, cx, cy) in enumerate(d.pins):
        if name in port_index:
            raise PlacerInputError(f"pin {name} is defined twice", path)
        port_index[name] = v
        names.append(unescape(name))
        kind[v] = PORT
        if stt == "UNPLACED":
            xy[v] = (cw / 2, ch / 2)
        else:
            off = np.zeros(2)
            if cx is not None:
                off = ORIENT_MATRICES[orient_code(o)] @ np.array([cx, cy])
            xy[v] = ((x + off[0] - dx0) / u, (y + off[1] - dy0) / u)
        fixed[v] = stt in ("FIXED", "COVER")
        status.append(stt)
        port_dir[name] = direction
    comp_index = {}
    macro_of = []
    comp_k = []
    for j, (name, model, stt, _x, _y, _o, k) in enumerate(d.comps):
        v = n_port + j
        mac = lib.macros.get(model)
        if mac is None:
            raise st.error(f"component {name}: macro {model!r} is not in the LEF "
                           f"files ({', '.join(lib.paths) or 'none given'})", k, model)
        if name in comp_index:
            raise st.error(f"component {name} is defined twice", k, name)
        comp_index[name] = v
        macro_of.append(mac)
        comp_k.append(k)
        names.append(unescape(name))
        kind[v] = HARD_MACRO if mac.is_hard else STDCELL
        size[v] = mac.size
        status.append(stt)
        fixed[v] = stt in ("FIXED", "COVER")
        comp_names.append(name)
        models.append(model)
    # Component centres, vectorised.
    if n_comp:
        cst = np.array([c[2] for c in d.comps])
        loc = np.array([(c[3], c[4]) for c in d.comps], dtype=np.float64)
        oc = np.array([orient_code(c[5]) for c in d.comps], dtype=np.int8)
        csize = size[n_port:]
        osize = np.where(ORIENT_SWAPS_WH[oc][:, None], csize[:, ::-1], csize)
        centre = (loc - np.array([dx0, dy0])) / u + osize / 2
        unplaced = cst == "UNPLACED"
        centre[unplaced] = (cw / 2, ch / 2)
        xy[n_port:] = centre
        orient[n_port:] = oc
    # Nets and pins: every connection, flat, then vectorised.
    conns = [c for net in d.nets for c in net[1]]
    counts = np.fromiter((len(net[1]) for net in d.nets), dtype=np.int64,
                         count=len(d.nets))
    e_ptr = np.zeros(len(d.nets) + 1, dtype=np.int64)
    np.cumsum(counts, out=e_ptr[1:])
    star = np.fromiter((c == "*" for c, _ in conns), dtype=bool, count=len(conns))
    cidx = comp_index.get
    pidx = port_index.get
    node = [pidx(p, -1) if c == "PIN" else cidx(c, -1) for c, p in conns]
    node = np.asarray(node, dtype=np.int64).reshape(-1)
    bad = np.flatnonzero((node < 0) & ~star)
    if len(bad):
        e = int(bad[0])
        net_i = int(np.searchsorted(e_ptr, e, side="right") - 1)
        nname, _, _, k = d.nets[net_i]
        c, p = conns[e]
        if c == "PIN":
            raise st.error(f"net {nname}: no I/O pin {p!r} in PINS", k, p)
        raise st.error(f"net {nname}: no component {c!r}", k, c)
    # Per LEF macro: pin -> (offset x, offset y, is output).
    pin_table: dict[str, dict] = {}
    for mac in {m.name: m for m in macro_of}.values():
        w, h = mac.size
        pin_table[mac.name] = {
            p: (c[0] - w / 2, c[1] - h / 2, mac.pin_direction.get(p) == "OUTPUT")
            for p, c in mac.pins.items()}
    port_in = {p: port_dir.get(p) == "INPUT" for p in port_index}
    tables = [None] * n_port + [pin_table[m.name] for m in macro_of]
    n_e = len(conns)
    off = np.zeros((n_e, 2), dtype=np.float64)
    is_drv = np.zeros(n_e, dtype=bool)
    pin_names: list[str] = [""] * n_e
    missing = None
    for e in range(n_e):
        v = node[e]
        if v < 0:
            continue
        c, p = conns[e]
        if v < n_port:
            pin_names[e] = names[v]
            is_drv[e] = port_in[p]
            continue
        rec = tables[v].get(p)
        if rec is None:
            missing = e
            break
        off[e, 0], off[e, 1], is_drv[e] = rec
        pin_names[e] = names[v] + "/" + p
    if missing is not None:
        net_i = int(np.searchsorted(e_ptr, missing, side="right") - 1)
        nname, _, _, k = d.nets[net_i]
        c, p = conns[missing]
        mac = macro_of[node[missing] - n_port]
        raise st.error(f"net {nname}: macro {mac.name} (component {c}) has no pin "
                       f"{p!r}", k, p)
    keep = ~star
    net_of = np.repeat(np.arange(len(d.nets)), counts)[keep]
    node, off, is_drv = node[keep], off[keep], is_drv[keep]
    pin_names = [n for n, s_ in zip(pin_names, star.tolist(), strict=True) if not s_]
    # Drop nets left empty; the driver (first OUTPUT / INPUT port) first.
    pos = np.arange(len(node))
    order = np.lexsort((pos, ~is_drv, net_of))
    first = np.ones(len(order), dtype=bool)
    first[1:] = net_of[order][1:] != net_of[order][:-1]
    # only the first driver of a net moves to the front
    drv_rank = np.zeros(len(order), dtype=bool)
    drv_rank[order[first]] = is_drv[order[first]]
    order = np.lexsort((pos, ~drv_rank, net_of))
    net_pins = order.astype(np.int32)
    used = np.unique(net_of)
    per_net = np.bincount(net_of, minlength=len(d.nets))[used]
    net_ptr = np.zeros(len(used) + 1, dtype=np.int64)
    np.cumsum(per_net, out=net_ptr[1:])
    net_weight = np.array([d.nets[i][2] for i in used], dtype=np.float64)
    net_names = [unescape(d.nets[i][0]) for i in used]
    pin_node = node.astype(np.int32)
    pin_kind = np.where(kind[node] == PORT, PIN_PORT,
                        np.where(kind[node] == HARD_MACRO, PIN_HARD, PIN_STDCELL))
    pin_off = off
    npins = len(pin_names)
    pin_weight = np.ones(npins, dtype=np.float64)
    pin_weight[net_pins] = np.repeat(net_weight, np.diff(net_ptr))
    settings = Settings(canvas_width=cw, canvas_height=ch)
    tracks = _tracks(d, lib)
    if tracks is not None:
        settings.routes_per_micron_hor, settings.routes_per_micron_ver = tracks
    rows = np.array([r[1:] for r in d.rows], dtype=np.float64).reshape(-1, 6)
    core = None
    site = None
    if d.rows:
        site = lib.sites.get(d.rows[0][0])
        sw, sh = (site if site else (0.0, 0.0))
        x0 = rows[:, 0]
        y0 = rows[:, 1]
        x1 = x0 + np.where(rows[:, 4] > 0, rows[:, 2] * rows[:, 4], sw * u)
        y1 = y0 + np.where(rows[:, 5] > 0, rows[:, 3] * rows[:, 5], sh * u)
        if site is not None:   # the top row's sites stand above its y
            x1 = np.maximum(x1, x0 + (rows[:, 2] - 1) * rows[:, 4] + sw * u)
            y1 = np.maximum(y1, y0 + (rows[:, 3] - 1) * rows[:, 5] + sh * u)
        core = ((x0.min() - dx0) / u, (y0.min() - dy0) / u,
                (x1.max() - dx0) / u, (y1.max() - dy0) / u)
        if site is not None:
            site = (site[0] * u, site[1] * u)
    mgrid = (lib.manufacturing_grid * u) if lib.manufacturing_grid else None
    nl = Netlist(
        name=d.design or os.path.basename(path).split(".")[0],
        node_names=names,
        node_kind=kind,
        node_xy=xy,
        node_size=size,
        node_orient=orient,
        node_fixed=fixed,
        node_index=np.arange(nv, dtype=np.int64),
        pin_names=pin_names,
        pin_node=pin_node,
        pin_offset=pin_off,
        pin_kind=pin_kind.astype(np.int8),
        pin_weight=pin_weight,
        pin_index=np.arange(nv, nv + npins, dtype=np.int64),
        net_ptr=net_ptr,
        net_pins=net_pins,
        net_weight=net_weight,
        settings=settings,
        metadata={"lefdef": {
            "def": path, "lef": list(lib.paths), "units": d.units,
            "die": d.die, "core": core, "rows": rows, "site": site,
            "manufacturing_grid": mgrid, "component": comp_names,
            "model": models, "status": status, "tracks": tracks,
            "net_names": net_names}},
        source=path,
    )
    return nl


# ------------------------------------------------------------------ writing
def _component_spans(text: str, path: str):
    """(name, start, end) of every COMPONENTS statement's text (end at its ';'),
    plus the section's (start, end) offsets, from the template's raw text."""
    st = _Statements(text, path)
    spans = []
    inside = False
    parts = st.parts
    for k, part in enumerate(parts):
        toks = part.split()
        j = 0
        while j + 1 < len(toks) and toks[j] == "END":
            if toks[j + 1] == "COMPONENTS":
                inside = False
            j += 2
        toks = toks[j:]
        if not toks:
            continue
        if toks[0] == "COMPONENTS" and not inside and len(toks) == 2:
            inside = True
            continue
        if inside and toks[0] == "-" and len(toks) >= 3:
            off = part.index("-")
            start = int(st.starts[k])
            spans.append((toks[1], toks[2], start + off, start + len(part), k))
    return st, spans


def _macro_frame(nl: Netlist):
    return nl.metadata.get("lefdef") or {}


def _scale(die, units: int, canvas, osize) -> np.ndarray:
    """(V, 2) factors of mapping="scale": a lower-left corner's free range on
    the canvas, [0, canvas - size], onto its free range on the die."""
    dx0, dy0, dx1, dy1 = die
    d = np.array([(dx1 - dx0) / units, (dy1 - dy0) / units])
    w = np.asarray(canvas, dtype=np.float64)
    free_c = w - osize
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(free_c > 0, (d - osize) / free_c, 1.0)
    return f


def _origin(die, mapping: str, core=None) -> np.ndarray:
    """DBU point that canvas (0, 0) maps to: the core's lower-left corner for
    mapping="core", else the die's."""
    if mapping == "core":
        if core is None:
            raise PlacerInputError("mapping='core' needs ROWs in the DEF")
        return np.array([core[0], core[1]], dtype=np.float64)
    if mapping not in ("offset", "scale"):
        raise PlacerInputError(f"mapping must be 'offset', 'core' or 'scale', got "
                               f"{mapping!r}")
    return np.array([die[0], die[1]], dtype=np.float64)


def canvas_to_die(nl: Netlist, die, units: int, mapping: str = "offset",
                  core=None):
    """(V, 2) DBU lower-left corners of nl's placed outlines in a die.

    ``mapping``: "offset" (canvas (0, 0) at the die's lower-left corner,
    microns kept; the inverse of read_def), "core" (canvas (0, 0) at the
    core's lower-left corner, ``core`` the rows' DBU box: for a canvas the
    size of the core, as TILOS' LEF/DEF-to-.plc scripts make it) or "scale"
    (each lower-left corner's range [0, canvas - size] stretched onto
    [0, die - size], so a macro inside the canvas lands inside the die;
    distances between macros shrink, so write_def reports any overlap).
    """
    origin = _origin(die, mapping, core)
    osize = nl.oriented_size()
    ll = np.asarray(nl.node_xy, dtype=np.float64) - osize / 2
    if mapping == "scale":
        ll = ll * _scale(die, units, nl.canvas, osize)
    return ll * units + origin


def die_to_canvas(ll, osize, die, units: int, canvas, mapping: str = "offset",
                  core=None):
    """Centres (canvas microns) of outlines whose DBU lower-left corners are
    ``ll`` (the inverse of canvas_to_die)."""
    origin = _origin(die, mapping, core)
    ll = (np.asarray(ll, dtype=np.float64) - origin) / units
    if mapping == "scale":
        ll = ll / _scale(die, units, canvas, osize)
    return ll + osize / 2


def _overlaps(boxes: np.ndarray) -> list[tuple[int, int]]:
    """Index pairs of (n, 4) boxes whose interiors overlap (sweep over x)."""
    order = np.argsort(boxes[:, 0], kind="stable")
    b = boxes[order]
    out = []
    for i in range(len(b)):
        j = i + 1
        while j < len(b) and b[j, 0] < b[i, 2]:
            if min(b[i, 3], b[j, 3]) > max(b[i, 1], b[j, 1]):
                out.append((int(order[i]), int(order[j])))
            j += 1
    return out


def _template_geometry(text: str, path: str, st: _Statements):
    """(units, die, rows) of a template DEF, without building a netlist."""
    d = _Def()
    for k, part in enumerate(st.parts):
        toks = part.split()
        while len(toks) >= 2 and toks[0] == "END":
            toks = toks[2:]
        if toks and toks[0] in ("UNITS", "DIEAREA", "ROW"):
            _header(toks, d, st, k)
        if toks and toks[0] == "COMPONENTS":
            break
    if d.units is None or d.die is None:
        raise PlacerInputError("template has no UNITS or DIEAREA before "
                               "COMPONENTS", path)
    return d


def _core_dbu(d: _Def):
    """The rows' bounding box in DBU (a row's height: the smallest spacing of
    distinct row y's), or None without rows."""
    if not d.rows:
        return None
    rows = np.array([r[1:] for r in d.rows], dtype=np.float64)
    ys = np.unique(rows[:, 1])
    height = float(np.diff(ys).min()) if len(ys) >= 2 else 0.0
    x1 = rows[:, 0] + rows[:, 2] * rows[:, 4]
    return (rows[:, 0].min(), rows[:, 1].min(), x1.max(), rows[:, 1].max() + height)


def snap(ll, grid, origin=0.0):
    """``ll`` rounded to the nearest ``origin + k * grid`` (grid > 0)."""
    return origin + np.round((ll - origin) / grid) * grid


def placement_in_def(nl: Netlist, template: str | os.PathLike, *, mapping="offset",
                     snap_to: str = "site"):
    """The DEF lines a placement gives its hard macros in a template.

    Returns:
        (records, text, spans, geometry): records maps a DEF component name
        to (x, y, orientation, node) with x, y in DBU, for each hard macro of
        ``nl`` that the template's COMPONENTS hold; text is the template's
        text, spans its component statements, geometry its units, die and
        rows.
    """
    template = os.fspath(template)
    text = read_text(template)
    st, spans = _component_spans(text, template)
    d = _template_geometry(text, template, st)
    units = d.units
    ll = canvas_to_die(nl, d.die, units, mapping, _core_dbu(d))
    exact = ll.copy()
    # Snap: to the DBU always; "site": x to the site grid of the rows (from the
    # leftmost row origin), y to the row grid; "manufacturing": to the
    # manufacturing grid (DBU) of the netlist's LEF, when known.
    if snap_to == "site" and d.rows:
        rows = np.array([r[1:] for r in d.rows], dtype=np.float64)
        step_x = rows[rows[:, 4] > 0, 4]
        ys = np.unique(rows[:, 1])
        if len(step_x):
            ll[:, 0] = snap(ll[:, 0], float(step_x.min()), float(rows[:, 0].min()))
        if len(ys) >= 2:
            ll[:, 1] = snap(ll[:, 1], float(np.diff(ys).min()), float(ys.min()))
    elif snap_to == "manufacturing":
        g = (_macro_frame(nl).get("manufacturing_grid") or 1)
        ll = snap(ll, float(g))
    elif snap_to not in ("site", "dbu"):
        raise PlacerInputError(f"snap must be 'site', 'manufacturing' or 'dbu', got "
                               f"{snap_to!r}")
    ll = np.where(nl.node_fixed[:, None], exact, ll)   # fixed macros stay put
    ll = np.round(ll).astype(np.int64)
    by_name = {}
    for v in nl.hard_macros:
        by_name[unescape(nl.node_names[v])] = v
    records = {}
    for name, _model, _s, _e, _k in spans:
        v = by_name.get(unescape(name))
        if v is None:
            continue
        o = ORIENTATIONS[max(int(nl.node_orient[v]), 0)]
        records[name] = (int(ll[v, 0]), int(ll[v, 1]), o, v)
    return records, text, spans, d


def write_def(nl: Netlist, path: str | os.PathLike, template: str | os.PathLike, *,
              fixed: bool = False, mapping: str = "offset",
              snap: str = "site", strict: bool = True) -> dict:
    """Writes ``template`` with the hard macros placed as in ``nl``.

    Every COMPONENTS statement whose (unescaped) name is a hard macro of
    ``nl`` gets its location replaced (``+ PLACED ( x y ) O``; ``+ FIXED``
    with ``fixed=True`` and for the netlist's fixed macros); a statement
    without one gets it after the macro name. Every other byte of the
    template is written unchanged.

    Args:
        nl: the placed netlist (flat from read_def, or clustered, matched by
            macro name).
        path: the output DEF (``.gz`` is gzipped).
        template: the DEF to rewrite.
        fixed: write FIXED instead of PLACED.
        mapping: canvas -> die: "offset" (canvas origin at the die's
            lower-left corner, microns unchanged: exact for designs read from
            DEF), "core" (canvas origin at the core's lower-left corner: for a
            canvas the size of the core) or "scale" (the canvas stretched
            onto the die; see canvas_to_die).
        snap: "site" (lower-left x on the rows' site grid, y on the row
            grid), "manufacturing" (the LEF manufacturing grid) or "dbu"
            (only rounded to the database unit). Fixed macros are only
            rounded to the database unit.
        strict: raise when a hard macro of ``nl`` is not in the template, or a
            placed macro leaves the die.

    Returns:
        A summary: macros written, macros outside the core, pairs of written
        macros that overlap (the mapping or snapping can make them), the
        snapping's largest shift (microns), and the records
        {name: (x, y, orient)}.

    Raises:
        PlacerInputError: an unreadable template, or (strict) a macro missing
            from the template or outside the die.
    """
    path = os.fspath(path)
    template = os.fspath(template)
    records, text, spans, d = placement_in_def(nl, template, mapping=mapping,
                                                snap_to=snap)
    units = d.units
    if strict:
        names = {unescape(s[0]) for s in spans}
        missing = [nl.node_names[v] for v in nl.hard_macros
                   if unescape(nl.node_names[v]) not in names]
        if missing:
            raise PlacerInputError(f"{len(missing)} hard macros are not in the "
                                   f"template's COMPONENTS (first: {missing[0]})",
                                   template)
    dx0, dy0, dx1, dy1 = d.die
    osize = nl.oriented_size() * units
    status = "FIXED" if fixed else "PLACED"
    out, pos = [], 0
    outside = []
    shift = 0.0
    core = _core_dbu(d)
    exact = canvas_to_die(nl, d.die, units, mapping, core)
    for name, _model, s, e, _k in spans:
        rec = records.get(name)
        if rec is None:
            continue
        x, y, o, v = rec
        w, h = osize[v]
        off_die = (x < dx0 - 0.5 or y < dy0 - 0.5 or x + w > dx1 + 0.5
                   or y + h > dy1 + 0.5)
        if off_die and strict:
            raise PlacerInputError(
                f"macro {nl.node_names[v]} at ({x} {y}) {o} leaves the die "
                f"({dx0:g} {dy0:g}) ({dx1:g} {dy1:g}); place on a canvas that "
                "fits the die or use mapping='scale'", template)
        shift = max(shift, float(np.max(np.abs(exact[v] - (x, y)))) / units)
        if core is not None and (x < core[0] or y < core[1] or x + w > core[2]
                                 or y + h > core[3]):
            outside.append(nl.node_names[v])
        stmt = text[s:e]
        st_v = "FIXED" if nl.node_fixed[v] else status
        new_loc = f"+ {st_v} ( {x} {y} ) {o}"
        m = _LOC.search(stmt)
        if m:
            stmt = stmt[:m.start()] + new_loc + stmt[m.end():]
        else:
            # after "- name model"
            mm = re.match(r"-\s*\S+\s+\S+", stmt)
            stmt = stmt[:mm.end()] + " " + new_loc + stmt[mm.end():]
        out.append(text[pos:s])
        out.append(stmt)
        pos = e
    out.append(text[pos:])
    data = "".join(out)
    written = [(name, rec) for name, rec in records.items()]
    boxes = np.array([(x, y, x + osize[v][0], y + osize[v][1])
                      for _n, (x, y, _o, v) in written], dtype=np.float64)
    overlaps = [(unescape(written[a][0]), unescape(written[b][0]))
                for a, b in _overlaps(boxes.reshape(-1, 4))]
    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
                f.write(data)
        else:
            with open(path, "w", encoding="utf-8", newline="") as f:
                f.write(data)
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e.strerror or e}", path) from None
    return {"macros": len(records), "outside_core": outside, "units": units,
            "overlaps": overlaps,
            "max_snap_shift_um": shift,
            "records": {k: v[:3] for k, v in records.items()}}


def write_place_macro_tcl(records: dict, path: str | os.PathLike, units: int,
                          fixed: bool = False) -> None:
    """OpenROAD commands placing each macro as ``records`` says.

    ``records``: DEF component name -> (x, y, DEF orientation) in DBU, as
    write_def returns them. Each line is ``place_macro -macro_name {<name>}
    -location {x y} -orientation <R0|R90|R180|R270|MY|MX|MYR90|MXR90>``: the
    lower-left corner of the placed outline in microns, the name as the DEF
    spells it (escapes kept; braces stop Tcl substitution). Without
    ``-exact``, recent OpenROAD releases snap the location to their own grid;
    the DEF written beside holds the exact corners.
    """
    path = os.fspath(path)
    lines = ["# Macro placement written by placer: source this in OpenROAD after "
             "read_def."]
    for name, (x, y, o) in records.items():
        lines.append(f"place_macro -macro_name {{{name}}} -location "
                     f"{{{x / units:.10g} {y / units:.10g}}} -orientation "
                     f"{OPENROAD_ORIENT[o]}")
    if fixed:
        lines.append("# the macros are marked FIXED in the DEF written beside this")
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e.strerror or e}", path) from None


def apply_def(nl: Netlist, def_path: str | os.PathLike, *, mapping: str = "offset",
              ports: bool = True) -> Netlist:
    """A copy of nl with its hard macros (and ports) placed as a DEF places them.

    COMPONENTS are matched to hard macros by name (escapes removed); the DEF's
    lower-left corners and orientations become centres on nl's canvas by the
    inverse of write_def's mapping. FIXED (and COVER) components become fixed,
    PLACED ones movable; UNPLACED ones and macros the DEF does not hold keep
    their position. With ``ports``, DEF PINS move the ports of the same name
    (the pin shape's centre, as read_def places them). No LEF is needed.
    """
    def_path = os.fspath(def_path)
    st = _Statements(read_text(def_path), def_path)
    d = _parse_def(st)
    u = d.units
    by_name = {unescape(nl.node_names[v]): v for v in nl.hard_macros}
    xy = nl.node_xy.copy()
    orient = nl.node_orient.copy()
    fixed_flags = nl.node_fixed.copy()
    idx, lls = [], []
    for name, _model, status, x, y, o, _k in d.comps:
        v = by_name.get(unescape(name))
        if v is None or status == "UNPLACED":
            continue
        orient[v] = orient_code(o)
        fixed_flags[v] = status in ("FIXED", "COVER")
        idx.append(v)
        lls.append((x, y))
    out = nl.with_placement(orient=orient)
    if idx:
        idx = np.array(idx)
        osize = out.oriented_size()[idx]
        xy[idx] = die_to_canvas(np.array(lls), osize, d.die, u, out.canvas, mapping,
                                _core_dbu(d))
    if ports:
        port_of = {unescape(nl.node_names[v]): v for v in nl.ports}
        pidx, pxy = [], []
        for name, _net, _dir, status, x, y, o, cx, cy in d.pins:
            v = port_of.get(unescape(name))
            if v is None or status == "UNPLACED":
                continue
            off = (ORIENT_MATRICES[orient_code(o)] @ np.array([cx, cy])
                   if cx is not None else np.zeros(2))
            pidx.append(v)
            pxy.append((x + off[0], y + off[1]))
        if pidx:
            xy[np.array(pidx)] = die_to_canvas(
                np.array(pxy), np.zeros((len(pidx), 2)), d.die, u, out.canvas,
                mapping, _core_dbu(d))
    out = out.with_placement(xy)
    out.node_fixed = fixed_flags
    return out


__all__ = ["OPENROAD_ORIENT", "canvas_to_die", "die_to_canvas", "orient_code",
           "apply_def", "read_def", "unescape", "write_def",
           "write_place_macro_tcl"]
