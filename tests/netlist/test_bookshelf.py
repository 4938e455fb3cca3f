"""Tests of the Bookshelf reader / .pl writer (placer.netlist.bookshelf)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.netlist.bookshelf import apply_pl, read_bookshelf, write_pl
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_INDEX,
    PIN_HARD,
    PIN_PORT,
    PIN_STDCELL,
    PORT,
    STDCELL,
)

BOOKSHELF = Path(__file__).resolve().parents[2] / ".." / "shared" / "netlists" / \
    "bookshelf"
SIMPLE = BOOKSHELF / "simple" / "simple.aux"
IBM01 = BOOKSHELF / "ibm01" / "ibm01.aux"


def _need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared Bookshelf data not found at {path}")
    return path


@pytest.fixture(scope="module")
def ibm01():
    return read_bookshelf(_need(IBM01))


# A tiny design with pin offsets, an output pin, net names and net weights.
# Rows: 4 rows of height 10 from (100, 200), 50 sites of width 1.
TINY = {
    "aux": "RowBasedPlacement : t.nodes t.nets t.wts t.pl t.scl\n",
    "nodes": """UCLA nodes 1.0
# a comment
NumNodes : 5
NumTerminals : 2
  a   4  10
  b   6  10
  m  20  30
  f  10  10  terminal
  p   0   0  terminal_NI
""",
    "nets": """UCLA nets 1.0
NumNets : 2
NumPins : 6
NetDegree : 3   n_one
  a  I : 1.5 -2
  m  O : -10 15
  b  B
NetDegree : 3 n_two
  p  I
  b  I : 0.25 0
  f  B : 1 1
""",
    "wts": """UCLA wts 1.0
n_two 3
a 7
""",
    "pl": """UCLA pl 1.0
a 101 205 : N
b 110.5 200 : FS
m 120 210 : E
f 130 220 : N /FIXED
p 90 190 : N /FIXED_NI
""",
    "scl": """UCLA scl 1.0
NumRows : 4
""" + "".join(f"""CoreRow Horizontal
  Coordinate : {200 + 10 * i}
  Height : 10
  Sitewidth : 1
  Sitespacing : 1
  Siteorient : N
  Sitesymmetry : Y
  SubrowOrigin : 100 NumSites : 50
End
""" for i in range(4)),
}


def _write(tmp_path: Path, files: dict[str, str], newline: str = "\n") -> Path:
    for ext, text in files.items():
        (tmp_path / f"t.{ext}").write_bytes(text.replace("\n", newline).encode())
    return tmp_path / "t.aux"


def _tiny(tmp_path: Path, **overrides: str) -> Path:
    return _write(tmp_path, {**TINY, **overrides})


def _raises_at(aux: Path, file_name: str, line: int | None) -> PlacerInputError:
    with pytest.raises(PlacerInputError) as ei:
        read_bookshelf(aux)
    msg = str(ei.value)
    assert file_name in msg
    if line is not None:
        assert f"{file_name}:{line}:" in msg, msg
        assert ei.value.line == line
    return ei.value


def _same(a, b) -> None:
    assert a.node_names == b.node_names
    assert a.pin_names == b.pin_names
    for f in ("node_kind", "node_xy", "node_size", "node_orient", "node_fixed",
              "pin_node", "pin_offset", "pin_kind", "pin_weight", "net_ptr",
              "net_pins", "net_weight"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)
    assert a.canvas == b.canvas


# ------------------------------------------------------------------ designs
def test_read_bookshelf__simple_counts_and_positions():
    """The 10-node toy: kinds, fixed flags, counts, canvas and centres."""
    nl = read_bookshelf(_need(SIMPLE))
    assert (nl.num_nodes, nl.num_nets, nl.num_pins) == (10, 8, 26)
    assert nl.metadata["origin"] == (459.0, 459.0)
    assert nl.canvas == (96.0, 96.0)
    kinds = dict(zip(nl.node_names, nl.node_kind.tolist(), strict=True))
    # height 24 > row height 12: hard macros; o8 a terminal inside the core;
    # o9 a terminal lying above the core (it only touches its top edge).
    assert [n for n, k in kinds.items() if k == HARD_MACRO] == ["o0", "o1", "o2",
                                                                "o8", "o3"]
    assert [n for n, k in kinds.items() if k == PORT] == ["o9"]
    assert [n for n, k in kinds.items() if k == STDCELL] == ["o4", "o5", "o6", "o7"]
    fixed = [n for n, f in zip(nl.node_names, nl.node_fixed, strict=True) if f]
    assert fixed == ["o8", "o9"]
    v = {n: i for i, n in enumerate(nl.node_names)}
    # centre = lower-left + size / 2 - origin
    np.testing.assert_array_equal(nl.node_xy[v["o8"]], [459 - 459 + 20, 470 - 459 + 20])
    np.testing.assert_array_equal(nl.node_xy[v["o9"]], [500 - 459 + 24, 555 - 459 + 12])
    np.testing.assert_array_equal(nl.node_xy[v["o0"]], [-459 + 8, -459 + 12])
    np.testing.assert_array_equal(nl.node_index, np.arange(10))


def test_read_bookshelf__simple_drivers_and_offsets():
    """Each connection is a pin with its offset; the O pin drives its net."""
    nl = read_bookshelf(_need(SIMPLE))
    first = nl.net_pins[nl.net_ptr[:-1]]
    owners = [nl.node_names[nl.pin_node[p]] for p in first]
    assert owners == ["o2", "o5", "o6", "o0", "o7", "o3", "o0", "o4"]
    # net n0: pins in file order o0 o2 o5 o3, driver o2 moved first
    assert nl.net_pins[:4].tolist() == [1, 0, 2, 3]
    np.testing.assert_array_equal(nl.pin_offset[0], [-1.0, -6.0])
    assert nl.pin_names[:5] == ["o0/p0", "o2/p0", "o5/p0", "o3/p0", "o5/p1"]
    assert nl.metadata["bookshelf"]["net_names"][:2] == ["n0", "n1"]
    np.testing.assert_array_equal(nl.net_weight, np.ones(8))


def test_read_bookshelf__ibm01_counts(ibm01):
    """ibm01: 12,752 nodes, 14,111 nets, 50,566 pins, 246 pads, 246 macros."""
    nl = ibm01
    assert (nl.num_nodes, nl.num_nets, nl.num_pins) == (12752, 14111, 50566)
    c = nl.counts()
    assert c["ports"] == 246
    assert c["hard_macros"] == 246
    assert c["stdcells"] == 12752 - 492
    assert len(nl.movable_hard_macros) == 246
    assert int(nl.node_fixed.sum()) == 246
    assert np.all(nl.node_size[nl.hard_macros, 1] > 16)
    assert np.all(nl.node_size[nl.stdcells, 1] <= 16)
    assert nl.canvas == (2295.0, 2304.0)
    assert nl.metadata["origin"] == (0.0, 0.0)
    assert int(np.count_nonzero(nl.metadata["bookshelf"]["terminal"])) == 246
    assert np.all(nl.pin_offset == 0)
    assert int(nl.net_ptr[-1]) == 50566
    # the .wts holds node weights: every net keeps weight 1
    np.testing.assert_array_equal(nl.net_weight, np.ones(14111))


def test_read_bookshelf__tiny_offsets_weights_and_kinds(tmp_path):
    """Pin offsets, directions, net weights, terminal_NI and E orientation."""
    nl = read_bookshelf(_tiny(tmp_path))
    assert nl.metadata["origin"] == (100.0, 200.0)
    assert nl.canvas == (50.0, 40.0)
    assert nl.node_kind.tolist() == [STDCELL, STDCELL, HARD_MACRO, HARD_MACRO, PORT]
    assert nl.node_fixed.tolist() == [False, False, False, True, True]
    assert nl.pin_kind.tolist() == [PIN_STDCELL, PIN_HARD, PIN_STDCELL, PIN_PORT,
                                    PIN_STDCELL, PIN_HARD]
    np.testing.assert_array_equal(
        nl.pin_offset, [[1.5, -2], [-10, 15], [0, 0], [0, 0], [0.25, 0], [1, 1]])
    assert nl.net_pins.tolist() == [1, 0, 2, 3, 4, 5]   # m (O) drives n_one
    np.testing.assert_array_equal(nl.net_weight, [1.0, 3.0])
    np.testing.assert_array_equal(nl.pin_weight, [1, 1, 1, 3, 3, 3])
    assert nl.pin_names == ["a/p0", "m/p0", "b/p0", "p/p0", "b/p1", "f/p0"]
    # m is 20 x 30 turned E (30 x 20): centre = (120 + 15, 210 + 10) - origin
    np.testing.assert_array_equal(nl.node_xy[2], [35.0, 20.0])
    np.testing.assert_array_equal(nl.node_xy[1], [13.5, 5.0])
    assert nl.node_orient.tolist() == [ORIENT_INDEX[o] for o in
                                       ("N", "FS", "E", "N", "N")]
    # absolute pin position of a's pin: centre (3, 10) + (1.5, -2)
    np.testing.assert_array_equal(nl.pin_xy()[0], [4.5, 8.0])


def test_read_bookshelf__crlf_identical(tmp_path):
    """A CRLF copy of the toy parses exactly as the original."""
    src = _need(SIMPLE).parent
    dst = tmp_path / "crlf"
    dst.mkdir()
    for f in src.iterdir():
        data = f.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        (dst / f.name).write_bytes(data)
    assert b"\r\n" in (dst / "simple.nets").read_bytes()
    _same(read_bookshelf(SIMPLE), read_bookshelf(dst / "simple.aux"))


def test_read_bookshelf__keywords_any_case(tmp_path):
    """Upper- and lower-case keywords, flags and orientations parse the same."""
    ref = read_bookshelf(_tiny(tmp_path))
    odd = {
        "nodes": TINY["nodes"].replace("UCLA", "ucla").replace("NumNodes", "NUMNODES")
        .replace("NumTerminals", "numterminals").replace("terminal_NI", "TERMINAL_ni")
        .replace(" terminal\n", " Terminal\n"),
        "nets": TINY["nets"].replace("NetDegree", "netdegree").replace("NumPins",
                                                                      "NUMPINS")
        .replace("  m  O", "  m  o"),
        "pl": TINY["pl"].replace("/FIXED_NI", "/fixed_ni").replace("/FIXED", "/Fixed")
        .replace(": FS", ": fs").replace(": E", ": e"),
        "scl": TINY["scl"].replace("CoreRow", "corerow").replace("End", "END")
        .replace("Coordinate", "COORDINATE").replace("NumSites", "numsites")
        .replace("SubrowOrigin", "subroworigin"),
    }
    d = tmp_path / "odd"
    d.mkdir()
    _same(ref, read_bookshelf(_tiny(d, **odd)))


# -------------------------------------------------------------- placements
def test_write_pl__round_trip_exact(tmp_path, ibm01):
    """read -> write_pl -> read gives identical centres, orientations, flags."""
    for nl in (ibm01, read_bookshelf(_tiny(tmp_path))):
        out = tmp_path / f"{nl.name}.pl"
        write_pl(nl, out)
        back = apply_pl(nl, out)
        np.testing.assert_array_equal(back.node_xy, nl.node_xy)
        np.testing.assert_array_equal(back.node_orient, nl.node_orient)
        np.testing.assert_array_equal(back.node_fixed, nl.node_fixed)
    text = (tmp_path / "t.pl").read_text()
    assert "p 90 190 : N /FIXED_NI" in text   # origin shift undone
    assert "b 110.5 200 : FS\n" in text


def test_write_pl__fractional_with_origin_exact(tmp_path):
    """Awkward fractional corners off the origin survive read -> write -> read."""
    d = tmp_path / "a"
    d.mkdir()
    pl = """UCLA pl 1.0
a 100.1 200.3 : W
b 0.7 -1e-3 : FN
m 133.33333333333334 207.1 : S
f 130 220 : N /FIXED
p 90 190 : N
"""
    nl = read_bookshelf(_tiny(d, pl=pl))
    write_pl(nl, tmp_path / "out.pl")
    back = apply_pl(nl, tmp_path / "out.pl")
    np.testing.assert_array_equal(back.node_xy, nl.node_xy)
    assert "a 100.1 200.3 : W" in (tmp_path / "out.pl").read_text()


def test_apply_pl__moves_and_fixes(tmp_path):
    """apply_pl places nodes; /FIXED fixes movable ones; terminals stay fixed."""
    nl = read_bookshelf(_tiny(tmp_path))
    pl = tmp_path / "new.pl"
    pl.write_text("a 100 200 : N /FIXED\nb 100 200 : N\nm 100 200 : N\n"
                  "f 100 200 : N\np 100 200 : N\n")
    new = apply_pl(nl, pl)
    np.testing.assert_array_equal(new.node_xy[:3], [[2, 5], [3, 5], [10, 15]])
    assert new.node_fixed.tolist() == [True, False, False, True, True]
    np.testing.assert_array_equal(nl.node_xy[0], [3.0, 10.0])   # original intact


def test_apply_pl__unknown_and_missing_nodes(tmp_path):
    """An unknown name fails at its line; a node left out is named."""
    nl = read_bookshelf(_tiny(tmp_path))
    bad = tmp_path / "bad.pl"
    bad.write_text("UCLA pl 1.0\n\na 1 2 : N\nzz 1 2 : N\n")
    with pytest.raises(PlacerInputError, match=r"bad\.pl:4: unknown node 'zz'"):
        apply_pl(nl, bad)
    short = tmp_path / "short.pl"
    short.write_text("a 1 2 : N\nb 1 2 : N\nm 1 2 : N\nf 1 2 : N\n")
    with pytest.raises(PlacerInputError, match=r"short\.pl: node 'p' has no position"):
        apply_pl(nl, short)


def test_load_netlist__aux_with_pl(tmp_path):
    """placer.load_netlist(aux, placement=pl) reads and places a Bookshelf design."""
    aux = _tiny(tmp_path)
    pl = tmp_path / "moved.pl"
    pl.write_text(TINY["pl"].replace("a 101 205", "a 111 215"))
    nl = placer.load_netlist(aux, placement=pl)
    np.testing.assert_array_equal(nl.node_xy[0], [13.0, 20.0])
    assert nl.canvas == (50.0, 40.0)
    assert (nl.settings.grid_cols, nl.settings.grid_rows) == (10, 10)
    placer.save_placement(nl, tmp_path / "saved.pl")
    np.testing.assert_array_equal(
        placer.load_netlist(aux, placement=tmp_path / "saved.pl").node_xy, nl.node_xy)


# ------------------------------------------------------------------- errors
def test_read_bookshelf__missing_file(tmp_path):
    """A file listed in the .aux but absent: error at the .aux line naming it."""
    aux = _tiny(tmp_path)
    (tmp_path / "t.nets").unlink()
    err = _raises_at(aux, "t.aux", 1)
    assert "t.nets" in str(err)
    with pytest.raises(PlacerInputError, match="nope.aux: file not found"):
        read_bookshelf(tmp_path / "nope.aux")


def test_read_bookshelf__unknown_node_in_nets(tmp_path):
    """A net naming an unknown node fails at that line of the .nets."""
    aux = _tiny(tmp_path, nets=TINY["nets"].replace("  b  B\n", "  q  B\n"))
    err = _raises_at(aux, "t.nets", 7)
    assert "'q'" in str(err)


def test_read_bookshelf__bad_net_degree(tmp_path):
    """NetDegree larger or smaller than its pin lines, or a cut-off file, fails."""
    d1, d2, d3 = (tmp_path / s for s in ("big", "small", "cut"))
    for d in (d1, d2, d3):
        d.mkdir()
    _raises_at(_tiny(d1, nets=TINY["nets"].replace("NetDegree : 3   n_one",
                                                   "NetDegree : 4 n_one")), "t.nets", 4)
    _raises_at(_tiny(d2, nets=TINY["nets"].replace("NetDegree : 3   n_one",
                                                   "NetDegree : 2 n_one")), "t.nets", 7)
    cut = "\n".join(TINY["nets"].splitlines()[:10]) + "\n"
    err = _raises_at(_tiny(d3, nets=cut), "t.nets", 10)
    assert "truncated" in str(err)


def test_read_bookshelf__non_numeric_width(tmp_path):
    """A non-numeric node width fails at its line of the .nodes."""
    aux = _tiny(tmp_path, nodes=TINY["nodes"].replace("  b   6  10", "  b   6x 10"))
    err = _raises_at(aux, "t.nodes", 6)
    assert "'6x'" in str(err)


def test_read_bookshelf__wrong_counts(tmp_path):
    """NumNodes, NumPins and NumRows that disagree with the file fail at their line."""
    d1, d2, d3 = (tmp_path / s for s in ("nodes", "pins", "rows"))
    for d in (d1, d2, d3):
        d.mkdir()
    _raises_at(_tiny(d1, nodes=TINY["nodes"].replace("NumNodes : 5", "NumNodes : 6")),
               "t.nodes", 3)
    _raises_at(_tiny(d2, nets=TINY["nets"].replace("NumPins : 6", "NumPins : 7")),
               "t.nets", 3)
    _raises_at(_tiny(d3, scl=TINY["scl"].replace("NumRows : 4", "NumRows : 5")),
               "t.scl", 2)
