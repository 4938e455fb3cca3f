"""Circuit Training .pb.txt reader and writer: real-file facts, layout
variants, round trips, speed guard."""

from __future__ import annotations

import gzip
import math
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import placer
from placer.errors import PlacerInputError
from placer.netlist import pbtxt
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_INDEX,
    PIN_HARD,
    PIN_IMPLICIT,
    PORT,
    SOFT_MACRO,
    STDCELL,
    Netlist,
)
from placer.netlist.pbtxt import read_pbtxt

ARRAYS = ("node_kind", "node_xy", "node_size", "node_orient", "node_fixed",
          "node_index", "pin_node", "pin_offset", "pin_kind", "pin_weight",
          "pin_index", "net_ptr", "net_pins", "net_weight", "blockages")
LISTS = ("node_names", "pin_names", "node_extra", "pin_extra")


def assert_same_netlist(a: Netlist, b: Netlist) -> None:
    """Every array and list of two netlists is exactly equal (dtype included)."""
    for k in ARRAYS:
        x, y = getattr(a, k), getattr(b, k)
        assert x.dtype == y.dtype, k
        np.testing.assert_array_equal(x, y, err_msg=k)
    for k in LISTS:
        assert getattr(a, k) == getattr(b, k), k


def node(nl: Netlist, name: str) -> int:
    return nl.node_names.index(name)


@pytest.fixture(scope="module")
def ariane133(netlists_dir) -> Netlist:
    """Ariane133's netlist, read once for this module; tests must not modify it."""
    return read_pbtxt(netlists_dir / "ariane133_ng45/netlist.pb.txt.gz")


# ---------------------------------------------------------- real-file facts
def test_read_pbtxt__metadata_node_skipped_and_kept(ariane133):
    """Ariane133's __metadata__ node is no design node, does not count in .plc
    indices (the first port is index 0) and its attributes land in metadata."""
    nl = ariane133
    assert "__metadata__" not in nl.node_names
    assert nl.metadata["soft_macro_area_bloating_ratio"] == 2.0
    first_port = int(nl.ports[0])
    assert nl.node_names[first_port] == "clk_i"
    assert nl.node_index[first_port] == 0
    assert nl.node_index.min() == 0


def test_read_pbtxt__lowercase_macro_hard_in_macro_tiles(netlists_dir):
    """macro_tiles_10x10 (only lower-case "macro") has 100 hard macros."""
    nl = read_pbtxt(netlists_dir / "ct_testdata/macro_tiles_10x10/netlist.pb.txt")
    c = nl.counts()
    assert (c["hard_macros"], c["soft_macros"], c["hard_macro_pins"]) == (100, 0, 1200)


def test_read_pbtxt__lowercase_macro_soft_in_ariane133(ariane133):
    """Ariane133's lower-case "macro" nodes (Grp_*) are soft macros."""
    nl = ariane133
    soft = [nl.node_names[v] for v in nl.soft_macros]
    assert len(soft) == 782 and all(n.startswith("Grp_") for n in soft)
    assert not any(nl.node_names[v].startswith("Grp_") for v in nl.hard_macros)


def test_read_pbtxt__lowercase_macro_option(netlists_dir):
    """lowercase_macro="soft" / "hard" force the reading of lower-case macro."""
    f = netlists_dir / "ct_testdata/macro_tiles_10x10/netlist.pb.txt"
    assert read_pbtxt(f, lowercase_macro="soft").counts()["soft_macros"] == 100
    g = netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt"
    assert read_pbtxt(g, lowercase_macro="hard").counts()["hard_macros"] == 3
    with pytest.raises(PlacerInputError, match="lowercase_macro"):
        read_pbtxt(g, lowercase_macro="medium")


def test_read_pbtxt__fp_bbox_two_pairs(netlists_dir):
    """"# FP bbox: {0 0} {500 500}" gives a 500 x 500 canvas."""
    nl = placer.load_netlist(netlists_dir / "ct_testdata/simple_with_coords"
                             / "netlist.pb.txt")
    assert nl.canvas == (500.0, 500.0)
    assert nl.metadata["fp_bbox"] == (0.0, 0.0, 500.0, 500.0)


def test_read_pbtxt__fp_bbox_one_group(tmp_path):
    """"# FP bbox: {0.0 0.0 1720.07 1719.9}" (flat Ariane136's form) parses."""
    src = tmp_path / "n.pb.txt"
    src.write_text("# FP bbox: {0.0 0.0 1720.07 1719.9}\n"
                   'node {\n  name: "p"\n  attr {\n    key: "type"\n    value {\n'
                   '      placeholder: "PORT"\n    }\n  }\n}\n')
    nl = read_pbtxt(src)
    assert nl.canvas == (1720.07, 1719.9)


def test_read_pbtxt__flat_ariane136(netlists_dir):
    """Flat Ariane136 (62 MB): 136 hard macros (lower-case type), 88368 std
    cells, 90943 nets, FP bbox canvas (speed: experiments/bench_foundation.py)."""
    nl = read_pbtxt(netlists_dir / "ariane136_ng45_flat/netlist_flat.pb.txt.gz")
    c = nl.counts()
    assert (c["hard_macros"], c["soft_macros"], c["ports"], c["stdcells"]) == \
        (136, 0, 495, 88368)
    assert c["nets"] == 90943
    assert nl.canvas == (1720.07, 1719.9)
    assert nl.node_extra[int(nl.stdcells[0])]["ref_name"][0] == "placeholder"


def test_read_pbtxt__blockage_comments(netlists_dir):
    """"# Blockage : ..." comment lines become blockages (xmin ymin xmax ymax
    rate)."""
    d = netlists_dir / "ct_testdata/simple_grouped_with_coords_with_blockage"
    nl = read_pbtxt(d / "netlist.pb.txt")
    np.testing.assert_array_equal(nl.blockages, [[0, 0, 10, 10, 1.0],
                                                 [490, 490, 500, 500, 1.0]])


def test_read_pbtxt__orientation_attribute(netlists_dir, ariane133):
    """Hard macros carry their orientation attribute; nodes without one are N;
    ports have none."""
    nl = ariane133
    assert (nl.node_orient[nl.hard_macros] >= 0).all()
    assert (nl.node_orient[nl.ports] == -1).all()
    assert (nl.node_orient[nl.soft_macros] == ORIENT_INDEX["N"]).all()
    tiles = read_pbtxt(netlists_dir / "tilos_small/ariane_one_hard/netlist.pb.txt")
    assert tiles.node_orient[tiles.hard_macros].tolist() == [ORIENT_INDEX["N"]]


def test_read_pbtxt__orientation_values(tmp_path):
    """An orientation attribute such as "FS" is read into node_orient."""
    src = tmp_path / "o.pb.txt"
    src.write_text(_macro("M", orient="FS") + _macro("K", orient="E"))
    nl = read_pbtxt(src)
    assert nl.node_orient.tolist() == [ORIENT_INDEX["FS"], ORIENT_INDEX["E"]]


def test_read_pbtxt__pin_weights(netlists_dir):
    """Pin "weight" attributes are read; a net's weight is its driver's."""
    nl = read_pbtxt(netlists_dir / "tilos_small/0P2M0m/netlist.pb.txt")
    assert nl.pin_names == ["M0/P1", "M0/P2", "M1/P1", "M1/P2"]
    assert nl.pin_weight.tolist() == [1.0] * 4
    assert nl.net_weight.tolist() == [1.0]
    nl3 = read_pbtxt(netlists_dir / "tilos_small/0P3M0m/netlist.pb.txt")
    assert nl3.pin_weight.tolist() == [1000.0, 1000.0, 1.0, 1.0, 1.0]
    assert nl3.net_weight.tolist() == [1000.0]
    assert [nl3.pin_names[p] for p in nl3.net_pins] == ["M0/P1", "M1/P1", "M2/P1"]


def test_read_pbtxt__nets_driver_first(netlists_dir):
    """sample_clustered: each node with inputs drives one net, its inputs the
    sinks, in file order."""
    nl = read_pbtxt(netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt")
    nets = [[nl.pin_names[p] for p in nl.net_pins[a:b]]
            for a, b in zip(nl.net_ptr[:-1], nl.net_ptr[1:], strict=True)]
    assert nets == [["P0", "Grp_2/Pinput", "P0_M0"], ["P1_M0", "Grp_2/Pinput"],
                    ["P1_M1", "P1"], ["Grp_2/Poutput_single_0", "P0_M1"]]
    assert nl.pin_kind[nl.pin_names.index("P0_M0")] == PIN_HARD


def test_read_pbtxt__macro_named_as_endpoint_gets_implicit_pin(tmp_path):
    """A net input naming a macro (not a pin) connects to an implicit pin at
    the macro centre."""
    src = tmp_path / "i.pb.txt"
    src.write_text(_port("P", inputs=["M"]) + _macro("M"))
    nl = read_pbtxt(src)
    assert nl.pin_kind.tolist()[-1] == PIN_IMPLICIT
    assert nl.pin_names[-1] == "M" and nl.pin_node[-1] == node(nl, "M")
    assert nl.net_ptr.tolist() == [0, 2]


def test_read_pbtxt__stdcells(netlists_dir):
    """toy_macro_stdcell: std cells are nodes with one pin each."""
    nl = read_pbtxt(netlists_dir / "ct_testdata/toy_macro_stdcell/netlist.pb.txt")
    assert len(nl.stdcells) > 0
    assert (nl.node_kind == STDCELL).sum() == len(nl.stdcells)
    own = nl.pin_node[nl.pin_kind == 3]
    assert sorted(own.tolist()) == nl.stdcells.tolist()


# ------------------------------------------------------------ layout variants
def _reindent(text: str) -> str:
    """Same content, other indentation, blank and comment lines inside nodes."""
    out = []
    for line in text.split("\n"):
        s = line.strip()
        out.append("\t" + s + "   " if s else s)
        if s == "value {":
            out.append("")
            out.append("# a comment inside a value")
    return "\r\n".join(out)


@pytest.mark.parametrize("name", ["ct_testdata/sample_clustered/netlist.pb.txt",
                                  "tilos_small/0P3M0m/netlist.pb.txt",
                                  "ct_testdata/toy_macro_stdcell/netlist.pb.txt"])
def test_read_pbtxt__any_layout_same_result(netlists_dir, tmp_path, name):
    """Tabs, trailing blanks, CRLF line ends, blank and comment lines inside
    blocks (the line-by-line path) give the same netlist as CT's layout (the
    fast path)."""
    src = netlists_dir / name
    other = tmp_path / "netlist.pb.txt"
    other.write_text(_reindent(src.read_text()), newline="")
    assert_same_netlist(read_pbtxt(src), read_pbtxt(other))


def test_read_pbtxt__small_blocks_same_result(netlists_dir, monkeypatch):
    """Reading in tiny blocks (attr blocks split across blocks) gives the same
    netlist."""
    f = netlists_dir / "ct_testdata/macro_tiles_10x10/netlist.pb.txt"
    want = read_pbtxt(f)
    monkeypatch.setattr(pbtxt, "_BLOCK_BYTES", 97)
    assert_same_netlist(want, read_pbtxt(f))


def test_read_pbtxt__small_blocks_error_line(netlists_dir, tmp_path, monkeypatch):
    """An error deep in the file names the right line whatever the block size."""
    lines = (netlists_dir / "ct_testdata/macro_tiles_10x10/netlist.pb.txt"
             ).read_text().split("\n")
    k = next(i for i in range(5000, len(lines)) if lines[i].strip().startswith("f:"))
    lines[k] = "      f: 12z"
    bad = tmp_path / "bad.pb.txt"
    bad.write_text("\n".join(lines))
    for size in (61, 4096, 1 << 22):
        monkeypatch.setattr(pbtxt, "_BLOCK_BYTES", size)
        with pytest.raises(PlacerInputError) as e:
            read_pbtxt(bad)
        assert e.value.line == k + 1
        assert f"bad.pb.txt:{k + 1}:" in str(e.value)


def test_read_pbtxt__escaped_strings(tmp_path):
    """Names with protobuf escapes (\\", \\\\, octal) are unescaped."""
    src = tmp_path / "e.pb.txt"
    src.write_text(_port(r"a\"b\\c\101"))
    assert read_pbtxt(src).node_names == ['a"b\\cA']


def test_read_pbtxt__no_trailing_newline(netlists_dir, tmp_path):
    """A file without a final line end reads the same."""
    src = netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt"
    other = tmp_path / "netlist.pb.txt"
    other.write_text(src.read_text().rstrip("\n"))
    assert_same_netlist(read_pbtxt(src), read_pbtxt(other))


# --------------------------------------------------------------- round trips
def _netlist_round_trip(nl: Netlist, path: Path) -> Netlist:
    placer.save_netlist(nl, path)
    return read_pbtxt(path)


@pytest.mark.parametrize("ext", [".pb.txt", ".pb.txt.gz"])
def test_save_netlist__ariane133_round_trip(ariane133, tmp_path, ext):
    """save_netlist then read gives equal names, kinds, sizes, pin offsets,
    nets, weights (Ariane133, plain and gzipped)."""
    nl = ariane133
    back = _netlist_round_trip(nl, tmp_path / ("netlist" + ext))
    assert_same_netlist(nl, back)
    assert back.metadata == nl.metadata
    if ext.endswith(".gz"):
        with gzip.open(tmp_path / ("netlist" + ext), "rt") as f:
            assert f.readline()


@pytest.mark.parametrize("name", [
    "ct_testdata/sample_clustered/netlist.pb.txt",
    "ct_testdata/macro_tiles_10x10/netlist.pb.txt",
    "ct_testdata/simple_grouped_with_coords_with_blockage/netlist.pb.txt",
    "ct_testdata/toy_macro_stdcell/netlist.pb.txt",
    "tilos_small/0P3M0m/netlist.pb.txt",
    "tilos_small/ariane_hard2soft/netlist.pb.txt",
    "tilos_small/sample_clustered_uniform_two_soft/netlist.pb.txt",
])
def test_save_netlist__small_round_trips(netlists_dir, tmp_path, name):
    """Round trip of the small shared netlists, bbox and blockages included."""
    nl = read_pbtxt(netlists_dir / name)
    back = _netlist_round_trip(nl, tmp_path / "netlist.pb.txt")
    assert_same_netlist(nl, back)
    assert back.metadata.get("fp_bbox") == nl.metadata.get("fp_bbox")
    assert back.canvas == nl.canvas


def test_save_netlist__placed_netlist_round_trip(netlists_dir, tmp_path):
    """A netlist loaded with a .plc (positions, orientations, plc header in
    metadata) writes and reads back with the same placement; the .plc header
    is not written into the netlist."""
    nl = placer.load_netlist(netlists_dir / "ariane133_ng45/netlist.pb.txt.gz",
                             placement=netlists_dir / "ariane133_ng45/legalized.plc")
    nl.node_orient[nl.hard_macros[:3]] = [ORIENT_INDEX[o] for o in ("S", "FN", "E")]
    back = _netlist_round_trip(nl, tmp_path / "placed.pb.txt")
    np.testing.assert_array_equal(back.node_xy, nl.node_xy)
    np.testing.assert_array_equal(back.node_orient, nl.node_orient)
    assert "plc_header" not in back.metadata
    back_placed = placer.load_netlist(
        tmp_path / "placed.pb.txt",
        placement=netlists_dir / "ariane133_ng45/legalized.plc")
    assert back_placed.counts() == nl.counts()


def test_save_netlist__soft_only_netlist_stays_soft(tmp_path):
    """Soft macros not named Grp_* in a netlist without hard macros are read
    back as soft (the writer marks lower-case macro as soft)."""
    src = tmp_path / "s.pb.txt"
    src.write_text(_macro("cluster_a", type_="macro")
                   + _pin("cluster_a/p", "cluster_a"))
    nl = read_pbtxt(src, lowercase_macro="soft")
    assert nl.node_kind.tolist() == [SOFT_MACRO]
    back = _netlist_round_trip(nl, tmp_path / "out.pb.txt")
    assert back.node_kind.tolist() == [SOFT_MACRO]
    assert_same_netlist(nl, back)


def test_save_netlist__odd_names_round_trip(tmp_path):
    """Names with quotes, backslashes, spaces, tabs and non-ASCII letters
    survive a round trip."""
    src = tmp_path / "n.pb.txt"
    src.write_text(_macro("M", type_="MACRO") + _pin("M/p0", "M"))
    nl = read_pbtxt(src)
    odd = 'q"uo\\te d\tμ'
    nl.node_names[0] = odd
    nl.pin_names[0] = odd + "/p0"
    back = _netlist_round_trip(nl, tmp_path / "out.pb.txt")
    assert back.node_names == [odd]
    assert back.pin_names == [odd + "/p0"]


def test_save_netlist__macro_driver_weight_round_trip(tmp_path):
    """A macro that drives a net directly keeps its weight attribute, which is
    the net's weight."""
    src = tmp_path / "w.pb.txt"
    src.write_text(_macro("M", type_="MACRO", inputs=["P"], weight=3.0) + _port("P"))
    nl = read_pbtxt(src)
    assert nl.net_weight.tolist() == [3.0]
    back = _netlist_round_trip(nl, tmp_path / "out.pb.txt")
    assert back.net_weight.tolist() == [3.0]
    assert_same_netlist(nl, back)


def test_save_netlist__refuses_non_finite(netlists_dir, tmp_path):
    """Writing a netlist with a NaN coordinate raises PlacerInputError instead
    of writing a file that cannot be read back."""
    nl = read_pbtxt(netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt")
    nl.node_xy[0, 0] = math.nan
    with pytest.raises(PlacerInputError, match="non-finite"):
        placer.save_netlist(nl, tmp_path / "x.pb.txt")


def test_save_netlist__wrong_extension(netlists_dir, tmp_path):
    """save_netlist refuses a file name that is not .pb.txt(.gz)."""
    nl = read_pbtxt(netlists_dir / "ct_testdata/sample_clustered/netlist.pb.txt")
    with pytest.raises(PlacerInputError, match="x.plc"):
        placer.save_netlist(nl, tmp_path / "x.plc")


# ------------------------------------------------------------------ helpers
def _attr(key: str, kind: str, value) -> str:
    v = f'"{value}"' if kind == "placeholder" else value
    return (f'  attr {{\n    key: "{key}"\n    value {{\n      {kind}: {v}\n'
            "    }\n  }\n")


def _port(name: str, inputs=()) -> str:
    ins = "".join(f'  input: "{i}"\n' for i in inputs)
    return (f'node {{\n  name: "{name}"\n{ins}' + _attr("type", "placeholder", "PORT")
            + _attr("x", "f", 0) + _attr("y", "f", 1) + "}\n")


def _macro(name: str, type_: str = "MACRO", orient: str | None = None, inputs=(),
           weight: float | None = None) -> str:
    ins = "".join(f'  input: "{i}"\n' for i in inputs)
    s = (f'node {{\n  name: "{name}"\n{ins}' + _attr("type", "placeholder", type_)
         + _attr("width", "f", 10) + _attr("height", "f", 20)
         + _attr("x", "f", 50) + _attr("y", "f", 60))
    if orient is not None:
        s += _attr("orientation", "placeholder", orient)
    if weight is not None:
        s += _attr("weight", "f", weight)
    return s + "}\n"


def _pin(name: str, macro: str) -> str:
    return (f'node {{\n  name: "{name}"\n' + _attr("macro_name", "placeholder", macro)
            + _attr("type", "placeholder", "MACRO_PIN") + _attr("x_offset", "f", 1)
            + _attr("y_offset", "f", -2) + "}\n")


def test_helpers__synthetic_netlist_reads():
    """The synthetic-netlist helpers of this module produce a readable file."""
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = Path(d) / "h.pb.txt"
        f.write_text(_port("P", inputs=["M/p"]) + _macro("M") + _pin("M/p", "M"))
        nl = read_pbtxt(f)
    assert nl.node_kind.tolist() == [PORT, HARD_MACRO]
    assert nl.pin_offset[0].tolist() == [1.0, -2.0]


# ------------------------------------------------------------ string escapes
@settings(max_examples=40, deadline=None)
@given(text=st.text(max_size=20))
def test_quote__unquote_round_trip(text):
    """Any string written as a protobuf literal reads back unchanged."""
    assert pbtxt._unquote(pbtxt._quote(text), "f", 1) == text


@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet='\\"xabc0178 n', max_size=12))
def test_unquote__bad_literals_raise_input_error(text):
    """Any quoted text either unquotes or raises PlacerInputError naming the
    line (stray quotes, bad escapes like a bare \\x)."""
    try:
        pbtxt._unquote('"' + text + '"', "f.pb.txt", 7)
    except PlacerInputError as e:
        # the error names the file by its absolute path (placer.errors)
        assert str(e).startswith(os.path.abspath("f.pb.txt") + ":7: ")
