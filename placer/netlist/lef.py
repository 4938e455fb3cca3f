"""LEF (Library Exchange Format 5.x): the cell library a DEF design uses.

``read_lef(paths)`` reads one or more LEF files (technology and cell LEFs, plain
or gzipped) into a :class:`LefLibrary`: database units, manufacturing grid,
sites, routing layers (direction, pitch) and macros (class, size, origin, pins).
Only what placement needs is kept; every other statement is skipped by the
grammar's ``;`` / ``END name`` structure. Malformed input raises
PlacerInputError naming the file and line.

Pins. A macro pin's position is the centre of the bounding box of all the
rectangles and polygons of all its PORTs (on any layer), in the macro's own
frame with the ``ORIGIN`` applied: measured from the lower-left corner of the
macro's outline for orientation N. A pin without shapes sits at the macro's
centre.

Classes. ``CLASS BLOCK``, ``RING``, ``PAD`` and ``COVER`` macros are hard
macros; ``CORE`` and ``ENDCAP`` (and macros without a class) are standard
cells (see :func:`is_hard_macro_class`).
"""

from __future__ import annotations

import gzip
import math
import os
import re
from dataclasses import dataclass, field

from placer.errors import PlacerInputError

HARD_MACRO_CLASSES = frozenset({"BLOCK", "RING", "PAD", "COVER"})

# Top-level LEF blocks that end with ``END <name>`` (the name is the block's
# first token) or with ``END <keyword>`` (UNITS, PROPERTYDEFINITIONS, SPACING).
_NAMED_BLOCKS = frozenset({"VIA", "VIARULE", "NONDEFAULTRULE", "SITE", "LAYER",
                           "MACRO", "ARRAY"})
_KEYWORD_BLOCKS = frozenset({"UNITS", "PROPERTYDEFINITIONS", "SPACING",
                             "IRDROP", "NOISETABLE", "CORRECTIONTABLE"})

_TOKEN = re.compile(r'"[^"]*"|[^\s;]+|;')


def is_hard_macro_class(cls: str | None) -> bool:
    """True for LEF macro classes placed as hard macros (BLOCK, RING, PAD, COVER)."""
    return cls is not None and cls.split()[0].upper() in HARD_MACRO_CLASSES


@dataclass
class LefMacro:
    """One LEF MACRO: its class, outline and pin positions (microns).

    Attributes:
        name: macro name.
        cls: the CLASS statement's words joined by a space ("BLOCK",
            "CORE TIEHIGH", ...), None when absent.
        size: (width, height) of the outline, orientation N.
        origin: the ORIGIN statement's (x, y) (shapes are shifted by it).
        pins: pin name -> (x, y) centre of the pin's shapes, measured from the
            outline's lower-left corner, orientation N.
        pin_direction: pin name -> "INPUT", "OUTPUT", "INOUT", "FEEDTHRU".
        line: line of the MACRO statement (for error messages).
        path: file of the MACRO statement.
    """

    name: str
    cls: str | None = None
    size: tuple[float, float] | None = None
    origin: tuple[float, float] = (0.0, 0.0)
    pins: dict[str, tuple[float, float]] = field(default_factory=dict)
    pin_direction: dict[str, str] = field(default_factory=dict)
    site: str | None = None
    line: int = 0
    path: str = ""

    @property
    def is_hard(self) -> bool:
        return is_hard_macro_class(self.cls)


@dataclass
class LefLayer:
    """A routing layer: preferred direction ("HORIZONTAL" / "VERTICAL") and pitch."""

    name: str
    type: str | None = None
    direction: str | None = None
    pitch: float | None = None


@dataclass
class LefLibrary:
    """Everything read from a list of LEF files.

    Attributes:
        database_units: ``UNITS DATABASE MICRONS`` (None when no file gave it).
        manufacturing_grid: ``MANUFACTURINGGRID`` in microns (None if absent).
        sites: site name -> (width, height) microns.
        layers: layer name -> LefLayer, in file order.
        macros: macro name -> LefMacro.
        paths: the files read, in order.
    """

    database_units: int | None = None
    manufacturing_grid: float | None = None
    sites: dict[str, tuple[float, float]] = field(default_factory=dict)
    layers: dict[str, LefLayer] = field(default_factory=dict)
    macros: dict[str, LefMacro] = field(default_factory=dict)
    paths: list[str] = field(default_factory=list)

    def routing_tracks_per_micron(self) -> tuple[float, float] | None:
        """(horizontal, vertical) routing tracks per micron: the sum of
        1 / pitch over the ROUTING layers of each preferred direction; None when
        no routing layer has both a direction and a pitch."""
        hor = ver = 0.0
        for layer in self.layers.values():
            if (layer.type or "").upper() != "ROUTING" or not layer.pitch:
                continue
            if layer.direction == "HORIZONTAL":
                hor += 1.0 / layer.pitch
            elif layer.direction == "VERTICAL":
                ver += 1.0 / layer.pitch
        return (hor, ver) if hor > 0 and ver > 0 else None


# --------------------------------------------------------------- tokenizing
def read_text(path: str) -> str:
    """The whole file as text (gunzipped for ``.gz``), with a PlacerInputError
    for a missing, unreadable or corrupt file."""
    if not os.path.exists(path):
        raise PlacerInputError("file not found", path)
    if os.path.isdir(path):
        raise PlacerInputError("is a directory, expected a file", path)
    try:
        if path.lower().endswith(".gz"):
            with gzip.open(path, "rb") as f:
                data = f.read()
        else:
            with open(path, "rb") as f:
                data = f.read()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise PlacerInputError(f"cannot read: {e}", path) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def strip_comments(text: str) -> str:
    """``text`` with every ``#`` comment (a ``#`` at a line start or after
    white space, to the line end) blanked by spaces: offsets and line numbers
    stay those of the file."""
    if "#" not in text:
        return text
    return re.sub(r"(?:(?<=\s)|^)#[^\n]*", lambda m: " " * len(m.group(0)), text,
                  flags=re.MULTILINE)


class _Tokens:
    """Tokens of a LEF file with their line numbers (quoted strings kept whole)."""

    def __init__(self, text: str, path: str):
        self.path = path
        text = strip_comments(text)
        toks, lines = [], []
        line, pos = 1, 0
        for m in _TOKEN.finditer(text):
            start = m.start()
            line += text.count("\n", pos, start)
            pos = start
            toks.append(m.group(0))
            lines.append(line)
        self.toks, self.lines, self.i = toks, lines, 0
        self.last_line = line + text.count("\n", pos)

    def line(self) -> int:
        i = min(self.i, len(self.lines) - 1)
        return self.lines[i] if self.lines else self.last_line

    def error(self, reason: str, line: int | None = None) -> PlacerInputError:
        return PlacerInputError(reason, self.path, line if line else self.line())

    def peek(self) -> str | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def next(self, what: str) -> str:
        if self.i >= len(self.toks):
            raise PlacerInputError(f"unexpected end of file: expected {what}",
                                   self.path, self.last_line)
        t = self.toks[self.i]
        self.i += 1
        return t

    def statement(self, what: str) -> list[str]:
        """Tokens up to the next ``;`` (consumed, not returned)."""
        start = self.i
        toks = self.toks
        n = len(toks)
        j = start
        while j < n and toks[j] != ";":
            j += 1
        if j >= n:
            line = self.lines[start] if start < n else self.last_line
            raise PlacerInputError(f"unexpected end of file: {what} statement "
                                   "without its closing ';'", self.path, line)
        self.i = j + 1
        return toks[start:j]

    def number(self, tok: str, what: str, line: int) -> float:
        try:
            v = float(tok)
        except ValueError:
            raise PlacerInputError(f"{what}: expected a number, got {tok!r}",
                                   self.path, line) from None
        if not math.isfinite(v):
            raise PlacerInputError(f"{what}: expected a finite number, got {tok!r}",
                                   self.path, line)
        return v

    def skip_block(self, name: str, kind: str, line: int) -> None:
        """Skips to the ``END <name>`` closing a block opened at ``line``."""
        toks = self.toks
        n = len(toks)
        j = self.i
        while j < n - 1:
            if toks[j] == "END" and toks[j + 1] == name:
                self.i = j + 2
                return
            j += 1
        raise PlacerInputError(f"unexpected end of file: {kind} {name} (opened at "
                               f"line {line}) has no 'END {name}'", self.path,
                               self.last_line)


# ------------------------------------------------------------------ parsing
def _block(tk: _Tokens, kind: str, name: str, line: int, inside: str = ""):
    """Yields (keyword, its line) for each statement of the block ``kind
    name`` (opened at ``line``; ``inside``: its enclosing block, for errors)
    up to its ``END name``, which it consumes.

    Raises:
        PlacerInputError: the block is closed by another name, or the file
            ends first.
    """
    while True:
        stmt_line = tk.line()
        t = tk.next(f"'END {name}'")
        if t == "END":
            end = tk.next(f"'END {name}'")
            if end != name:
                raise tk.error(f"{kind} {name}{inside} (line {line}) closed by "
                               f"'END {end}'", stmt_line)
            return
        yield t, stmt_line


def _parse_macro(tk: _Tokens, lib: LefLibrary) -> None:
    line = tk.line()
    name = tk.next("a macro name")
    mac = LefMacro(name=name, line=line, path=tk.path)
    for t, stmt_line in _block(tk, "MACRO", name, line):
        if t == "PIN":
            _parse_pin(tk, mac)
        elif t == "OBS":
            while True:
                if tk.peek() == "END":
                    tk.next("END")
                    break
                tk.statement("OBS")
        elif t == "DENSITY":
            while tk.peek() != "END":
                tk.statement("DENSITY")
            tk.next("END")
        elif t == "CLASS":
            mac.cls = " ".join(tk.statement("CLASS")).upper()
        elif t == "SIZE":
            s = tk.statement("SIZE")
            if len(s) != 3 or s[1] != "BY":
                raise tk.error(f"MACRO {name}: expected 'SIZE <w> BY <h> ;', got "
                               f"{' '.join(['SIZE'] + s)!r}", stmt_line)
            w = tk.number(s[0], f"MACRO {name} SIZE", stmt_line)
            h = tk.number(s[2], f"MACRO {name} SIZE", stmt_line)
            if w < 0 or h < 0:
                raise tk.error(f"MACRO {name}: negative SIZE", stmt_line)
            mac.size = (w, h)
        elif t == "ORIGIN":
            s = tk.statement("ORIGIN")
            if len(s) != 2:
                raise tk.error(f"MACRO {name}: expected 'ORIGIN <x> <y> ;'", stmt_line)
            mac.origin = (tk.number(s[0], "ORIGIN", stmt_line),
                          tk.number(s[1], "ORIGIN", stmt_line))
        elif t == "SITE":
            s = tk.statement("SITE")
            mac.site = s[0] if s else None
        else:
            tk.statement(t)
    if mac.size is None:
        raise PlacerInputError(f"MACRO {name} has no SIZE", tk.path, line)
    # Pin positions: shape centres are in the ORIGIN-shifted frame.
    ox, oy = mac.origin
    mac.pins = {p: (x + ox, y + oy) if x == x else (mac.size[0] / 2, mac.size[1] / 2)
                for p, (x, y) in mac.pins.items()}
    lib.macros[name] = mac


def _parse_pin(tk: _Tokens, mac: LefMacro) -> None:
    line = tk.line()
    name = tk.next("a pin name")
    xlo = ylo = math.inf
    xhi = yhi = -math.inf
    for t, _ in _block(tk, "PIN", name, line, inside=f" of MACRO {mac.name}"):
        if t == "PORT":
            while True:
                sl = tk.line()
                p = tk.peek()
                if p is None:
                    raise tk.error(f"unexpected end of file in PIN {name} PORT")
                if p == "END":
                    tk.next("END")
                    break
                s = tk.statement("PORT")
                if not s:
                    continue
                kw = s[0]
                if kw in ("RECT", "POLYGON"):
                    nums = [x for x in s[1:] if x != "ITERATE"]
                    if nums and nums[0] == "MASK":
                        nums = nums[2:]
                    if kw == "RECT" and len(nums) != 4 and not (
                            len(nums) > 4 and "DO" in nums):
                        raise tk.error(f"PIN {name} of MACRO {mac.name}: expected "
                                       "'RECT x1 y1 x2 y2 ;'", sl)
                    vals = []
                    for x in nums:
                        if x in ("DO", "BY", "STEP"):
                            break
                        vals.append(tk.number(x, f"PIN {name} {kw}", sl))
                    if len(vals) < 4 or len(vals) % 2:
                        raise tk.error(f"PIN {name} of MACRO {mac.name}: {kw} needs "
                                       "an even number (>= 4) of coordinates", sl)
                    xs, ys = vals[0::2], vals[1::2]
                    xlo, xhi = min(xlo, *xs), max(xhi, *xs)
                    ylo, yhi = min(ylo, *ys), max(yhi, *ys)
        elif t == "DIRECTION":
            s = tk.statement("DIRECTION")
            if s:
                mac.pin_direction[name] = s[0].upper()
        else:
            tk.statement(t)
    if xlo <= xhi:
        mac.pins[name] = ((xlo + xhi) / 2, (ylo + yhi) / 2)
    else:
        mac.pins[name] = (math.nan, math.nan)   # no shape: the macro centre


def _parse_layer(tk: _Tokens, lib: LefLibrary) -> None:
    line = tk.line()
    name = tk.next("a layer name")
    layer = LefLayer(name=name)
    pitches: list[float] = []
    for t, stmt_line in _block(tk, "LAYER", name, line):
        s = tk.statement(t)
        if t == "TYPE" and s:
            layer.type = s[0].upper()
        elif t == "DIRECTION" and s:
            layer.direction = s[0].upper()
        elif t == "PITCH" and s:
            pitches = [tk.number(x, f"LAYER {name} PITCH", stmt_line) for x in s[:2]]
    if pitches:
        # PITCH x y: the pitch across the preferred direction (y for horizontal).
        layer.pitch = (pitches[1] if len(pitches) == 2
                       and layer.direction == "HORIZONTAL" else pitches[0])
    lib.layers[name] = layer


def _parse_site(tk: _Tokens, lib: LefLibrary) -> None:
    line = tk.line()
    name = tk.next("a site name")
    size = None
    for t, stmt_line in _block(tk, "SITE", name, line):
        s = tk.statement(t)
        if t == "SIZE":
            if len(s) != 3 or s[1] != "BY":
                raise tk.error(f"SITE {name}: expected 'SIZE <w> BY <h> ;'", stmt_line)
            size = (tk.number(s[0], "SITE SIZE", stmt_line),
                    tk.number(s[2], "SITE SIZE", stmt_line))
    if size is None:
        raise PlacerInputError(f"SITE {name} has no SIZE", tk.path, line)
    lib.sites[name] = size


def _parse_units(tk: _Tokens, lib: LefLibrary) -> None:
    while True:
        stmt_line = tk.line()
        t = tk.next("'END UNITS'")
        if t == "END":
            tk.next("'END UNITS'")
            return
        s = tk.statement(t)
        if t == "DATABASE":
            if len(s) != 2 or s[0] != "MICRONS":
                raise tk.error("expected 'DATABASE MICRONS <n> ;'", stmt_line)
            v = tk.number(s[1], "DATABASE MICRONS", stmt_line)
            if v <= 0 or v != int(v):
                raise tk.error(f"DATABASE MICRONS must be a positive integer, got "
                               f"{s[1]!r}", stmt_line)
            lib.database_units = int(v)


def _parse_file(path: str, lib: LefLibrary) -> None:
    tk = _Tokens(read_text(path), path)
    while tk.peek() is not None:
        line = tk.line()
        t = tk.next("a statement")
        if t == "MACRO":
            _parse_macro(tk, lib)
        elif t == "LAYER":
            _parse_layer(tk, lib)
        elif t == "SITE":
            _parse_site(tk, lib)
        elif t == "UNITS":
            _parse_units(tk, lib)
        elif t in _NAMED_BLOCKS:
            name = tk.next(f"a {t} name")
            tk.skip_block(name, t, line)
        elif t in _KEYWORD_BLOCKS:
            tk.skip_block(t, t, line)
        elif t == "BEGINEXT":
            while tk.peek() is not None and tk.peek() != "ENDEXT":
                tk.next("ENDEXT")
            tk.next("ENDEXT")
        elif t == "END":
            end = tk.next("'END LIBRARY'")
            if end != "LIBRARY":
                raise tk.error(f"unexpected 'END {end}' at the top level", line)
            return
        elif t == "MANUFACTURINGGRID":
            s = tk.statement(t)
            if len(s) != 1:
                raise tk.error("expected 'MANUFACTURINGGRID <value> ;'", line)
            lib.manufacturing_grid = tk.number(s[0], "MANUFACTURINGGRID", line)
        elif t == ";":
            raise tk.error("unexpected ';'", line)
        elif t.isupper() or t.replace("_", "").isalpha():
            tk.statement(t)
        else:
            raise tk.error(f"unexpected {t!r} where a LEF statement should begin",
                           line)


def read_lef(paths) -> LefLibrary:
    """Reads LEF files (a path or a list; technology LEF first is customary).

    Later files add to (and, for a repeated name, replace) what earlier ones
    defined.

    Raises:
        PlacerInputError: a missing or malformed file, naming file and line.
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    lib = LefLibrary()
    for p in paths:
        p = os.fspath(p)
        _parse_file(p, lib)
        lib.paths.append(p)
    return lib


__all__ = ["HARD_MACRO_CLASSES", "LefLayer", "LefLibrary", "LefMacro",
           "is_hard_macro_class", "read_lef", "read_text", "strip_comments"]
