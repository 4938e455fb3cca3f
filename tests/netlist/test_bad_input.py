"""Bad input: corrupted netlists and placements raise PlacerInputError naming
file and line, never another exception (property-based and explicit)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import placer
from placer.errors import PlacerInputError

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()
NETLISTS = SHARED / "netlists"
CASES = {  # name: (netlist, placement or None)
    "sample_clustered": ("ct_testdata/sample_clustered/netlist.pb.txt",
                         "ct_testdata/sample_clustered/initial.plc"),
    "0P2M0m": ("tilos_small/0P2M0m/netlist.pb.txt", None),
}
if not (NETLISTS / CASES["0P2M0m"][0]).is_file():
    pytest.skip(f"shared netlists not found at {NETLISTS}", allow_module_level=True)

DATA = {name: ((NETLISTS / nl).read_bytes(), (NETLISTS / pl).read_bytes() if pl
               else None) for name, (nl, pl) in CASES.items()}
PROPERTY = settings(max_examples=30, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
GARBAGE = ["abc", "1.2.3", "--1", "", "1_0", "0x1F", "1e", "+-", "one", "\"", "{"]
_NETLIST_NUMBER = re.compile(rb"^(\s*[fi]:\s*)(\S+)\s*$")
_PLC_LINE = re.compile(rb"^(\d+) (\S+) (\S+) (\S+) ([01])\s*$")


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bad_input")


def load(work: Path, netlist: bytes, plc: bytes | None,
         name: str = "netlist.pb.txt") -> placer.Netlist:
    """Writes the bytes to files and loads them (the placement if given)."""
    nf = work / name
    nf.write_bytes(netlist)
    pf = None
    if plc is not None:
        pf = work / "placement.plc"
        pf.write_bytes(plc)
    return placer.load_netlist(nf, placement=pf)


def check(work: Path, netlist: bytes, plc: bytes | None) -> PlacerInputError | None:
    """Loads; returns the PlacerInputError (checked to name the file and a
    valid line) or None on success. Any other exception fails the test."""
    try:
        load(work, netlist, plc)
    except PlacerInputError as e:
        msg = str(e)
        assert e.path is not None, msg
        assert Path(e.path).name in ("netlist.pb.txt", "placement.plc"), msg
        assert e.path in msg
        if e.line is not None:
            assert f"{e.path}:{e.line}: " in msg
            data = netlist if e.path.endswith(".pb.txt") else plc
            assert 1 <= e.line <= data.count(b"\n") + 1, msg
        return e
    return None


def split(data: bytes) -> list[bytes]:
    return data.split(b"\n")


def corrupt_target(draw, case: str) -> tuple[bytes, bytes | None, str]:
    nl, plc = DATA[case]
    target = draw(st.sampled_from(["netlist", "plc"] if plc else ["netlist"]))
    return nl, plc, target


def with_target(nl: bytes, plc: bytes | None, target: str, new: bytes):
    return (new, plc) if target == "netlist" else (nl, new)


# ------------------------------------------------------------ property tests
@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), data=st.data())
def test_load__truncated_anywhere(work, case, data):
    """A file cut at any byte loads or raises PlacerInputError."""
    nl, plc, target = corrupt_target(data.draw, case)
    src = nl if target == "netlist" else plc
    cut = data.draw(st.integers(0, len(src)))
    err = check(work, *with_target(nl, plc, target, src[:cut]))
    if target == "netlist" and err is None:
        assert src[:cut].rstrip().endswith(b"}")


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), data=st.data())
def test_load__line_deleted(work, case, data):
    """A file with any one line deleted loads or raises PlacerInputError."""
    nl, plc, target = corrupt_target(data.draw, case)
    lines = split(nl if target == "netlist" else plc)
    k = data.draw(st.integers(0, len(lines) - 1))
    check(work, *with_target(nl, plc, target, b"\n".join(lines[:k] + lines[k + 1:])))


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), data=st.data())
def test_load__line_duplicated(work, case, data):
    """A file with any one line doubled loads or raises PlacerInputError."""
    nl, plc, target = corrupt_target(data.draw, case)
    lines = split(nl if target == "netlist" else plc)
    k = data.draw(st.integers(0, len(lines) - 1))
    check(work, *with_target(nl, plc, target, b"\n".join(lines[:k + 1] + lines[k:])))


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), garbage=st.sampled_from(GARBAGE),
       data=st.data())
def test_load__numeric_field_garbage(work, case, garbage, data):
    """A numeric value (netlist attribute, .plc index or coordinate) replaced
    by garbage raises PlacerInputError naming that line."""
    nl, plc, target = corrupt_target(data.draw, case)
    lines = split(nl if target == "netlist" else plc)
    g = garbage.encode()
    if target == "netlist":
        rows = [k for k, ln in enumerate(lines) if _NETLIST_NUMBER.match(ln)]
        k = data.draw(st.sampled_from(rows))
        lines[k] = _NETLIST_NUMBER.sub(lambda m: m.group(1) + g, lines[k])
    else:
        rows = [k for k, ln in enumerate(lines) if _PLC_LINE.match(ln)]
        k = data.draw(st.sampled_from(rows))
        field = data.draw(st.integers(0, 2))
        parts = lines[k].split(b" ")
        parts[field] = g
        lines[k] = b" ".join(parts)
    err = check(work, *with_target(nl, plc, target, b"\n".join(lines)))
    assert err is not None
    assert err.line == k + 1, str(err)


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), unknown=st.sampled_from(
    ["WIDGET", "macro pin", "", "Port ", "MACRO_PIN2"]), data=st.data())
def test_load__unknown_type_name(work, case, unknown, data):
    """A node type (or .plc orientation) swapped for an unknown name raises
    PlacerInputError naming that line."""
    nl, plc, target = corrupt_target(data.draw, case)
    lines = split(nl if target == "netlist" else plc)
    if target == "netlist":
        rows = [k for k, ln in enumerate(lines) if ln.strip() == b'key: "type"']
        k = data.draw(st.sampled_from(rows)) + 2   # the value line
        lines[k] = b'      placeholder: "' + unknown.encode() + b'"'
    else:
        rows = [k for k, ln in enumerate(lines) if _PLC_LINE.match(ln)]
        k = data.draw(st.sampled_from(rows))
        parts = lines[k].split(b" ")
        parts[3] = unknown.strip().encode() or b"X"
        lines[k] = b" ".join(parts)
    err = check(work, *with_target(nl, plc, target, b"\n".join(lines)))
    assert err is not None
    assert err.line == k + 1, str(err)


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), byte=st.integers(0, 255), data=st.data())
def test_load__one_byte_changed(work, case, byte, data):
    """A file with any one byte replaced by any byte loads or raises
    PlacerInputError."""
    nl, plc, target = corrupt_target(data.draw, case)
    src = bytearray(nl if target == "netlist" else plc)
    src[data.draw(st.integers(0, len(src) - 1))] = byte
    check(work, *with_target(nl, plc, target, bytes(src)))


@PROPERTY
@given(case=st.sampled_from(sorted(CASES)), junk=st.binary(min_size=1, max_size=8),
       data=st.data())
def test_load__random_bytes_inserted(work, case, junk, data):
    """Random bytes inserted anywhere load or raise PlacerInputError; with a
    byte that is never UTF-8 (0xFF) it is raised, naming the line of the
    first undecodable byte."""
    nl, plc, target = corrupt_target(data.draw, case)
    src = nl if target == "netlist" else plc
    at = data.draw(st.integers(0, len(src)))
    invalid = data.draw(st.booleans())
    if invalid:
        junk = junk + b"\xff"
    new = src[:at] + junk + src[at:]
    err = check(work, *with_target(nl, plc, target, new))
    if invalid:
        with pytest.raises(UnicodeDecodeError) as bad:
            new.decode("utf-8")
        assert err is not None
        assert err.line == new[:bad.value.start].count(b"\n") + 1


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=st.sampled_from(sorted(CASES)), data=st.data())
def test_load__gzip_stream_corrupted(work, case, data):
    """A gzipped netlist cut short or with a byte changed loads or raises
    PlacerInputError."""
    gz = bytearray(gzip.compress(DATA[case][0], mtime=0))
    if data.draw(st.booleans()):
        gz = gz[:data.draw(st.integers(0, len(gz) - 1))]
    else:
        gz[data.draw(st.integers(0, len(gz) - 1))] ^= data.draw(st.integers(1, 255))
    try:
        load(work, bytes(gz), None, name="netlist.pb.txt.gz")
    except PlacerInputError as e:
        assert "netlist.pb.txt.gz" in str(e)


# ------------------------------------------------------------ explicit cases
def _lines(case: str = "sample_clustered") -> list[bytes]:
    return split(DATA[case][0])


def _line_of(lines: list[bytes], text: bytes, start: int = 0) -> int:
    """0-based index of the first line at or after start containing text."""
    return next(k for k in range(start, len(lines)) if text in lines[k])


def _raises(work, netlist: bytes, plc: bytes | None = None) -> PlacerInputError:
    err = check(work, netlist, plc)
    assert err is not None, "expected PlacerInputError"
    return err


def test_load_netlist__missing_file(tmp_path):
    """A missing netlist or placement raises PlacerInputError naming it."""
    with pytest.raises(PlacerInputError, match="nope.pb.txt: file not found"):
        placer.load_netlist(tmp_path / "nope.pb.txt")
    with pytest.raises(PlacerInputError, match="nope.plc: file not found"):
        placer.load_netlist(NETLISTS / CASES["sample_clustered"][0],
                            placement=tmp_path / "nope.plc")


def test_load_netlist__directory_instead_of_file(tmp_path):
    """A directory given as netlist or placement raises PlacerInputError."""
    d = tmp_path / "dir.pb.txt"
    d.mkdir()
    with pytest.raises(PlacerInputError, match="dir.pb.txt: is a directory"):
        placer.load_netlist(d)
    p = tmp_path / "dir.plc"
    p.mkdir()
    with pytest.raises(PlacerInputError, match="dir.plc: is a directory"):
        placer.load_netlist(NETLISTS / CASES["sample_clustered"][0], placement=p)


def test_load_netlist__corrupt_gzip(tmp_path):
    """A .gz that is not gzip, or is cut short, raises PlacerInputError."""
    bad = tmp_path / "bad.pb.txt.gz"
    bad.write_bytes(b"this is not gzip data\n" * 10)
    with pytest.raises(PlacerInputError, match="bad.pb.txt.gz:1: cannot read"):
        placer.load_netlist(bad)
    cut = tmp_path / "cut.pb.txt.gz"
    gz = gzip.compress(DATA["sample_clustered"][0])
    cut.write_bytes(gz[: len(gz) // 2])
    with pytest.raises(PlacerInputError, match="cut.pb.txt.gz"):
        placer.load_netlist(cut)


def test_load_netlist__truncated_inside_node(work):
    """A netlist that ends inside a node names its last line."""
    lines = _lines()
    err = _raises(work, b"\n".join(lines[:50]))
    assert "ends inside a node" in err.reason
    assert err.line == 50
    assert "netlist.pb.txt:50: " in str(err)


def test_load_netlist__unknown_node_type(work):
    """An unknown node type names the line of its value."""
    lines = _lines()
    k = _line_of(lines, b'placeholder: "MACRO"')
    lines[k] = lines[k].replace(b"MACRO", b"GADGET")
    err = _raises(work, b"\n".join(lines))
    assert "unknown node type 'GADGET'" in str(err)
    assert f"netlist.pb.txt:{k + 1}: " in str(err)


def test_load_netlist__pin_of_missing_macro(work):
    """A pin whose macro does not exist names its macro_name line."""
    lines = _lines()
    k = _line_of(lines, b'placeholder: "M0"')   # P0_M0's macro_name value
    lines[k] = lines[k].replace(b'"M0"', b'"M9"')
    err = _raises(work, b"\n".join(lines))
    assert "'M9', which does not exist" in str(err)
    assert f"netlist.pb.txt:{k + 1}: " in str(err)


def test_load_netlist__non_numeric_field(work):
    """A non-numeric attribute value names its line."""
    lines = _lines()
    k = _line_of(lines, b"f: ")
    lines[k] = b"      f: 12,5"
    err = _raises(work, b"\n".join(lines))
    assert "non-numeric value '12,5'" in str(err)
    assert f"netlist.pb.txt:{k + 1}: " in str(err)


def test_load_netlist__non_finite_coordinate(work):
    """A NaN node coordinate names its line."""
    lines = _lines()
    k = _line_of(lines, b'key: "x"') + 2
    lines[k] = b"      f: nan"
    err = _raises(work, b"\n".join(lines))
    assert "not finite" in str(err)
    assert err.line == k + 1


def test_load_netlist__missing_input(work):
    """A net input naming no node names the node's first input line."""
    lines = _lines()
    k = _line_of(lines, b'input: "P0_M0"')
    lines[k] = b'  input: "P0_M7"'
    err = _raises(work, b"\n".join(lines))
    assert "'P0_M7', which does not exist" in str(err)
    assert err.line == _line_of(lines, b"input:") + 1


def test_load_netlist__duplicate_name(work):
    """Two nodes with one name name the second node's line."""
    lines = _lines()
    k = _line_of(lines, b'name: "P1"')
    lines[k] = b'  name: "P0"'
    err = _raises(work, b"\n".join(lines))
    assert "duplicate node name 'P0'" in str(err)
    assert err.line == k       # the "node {" line above


def test_load_netlist__negative_size_and_missing_width(work):
    """A negative width, or a macro without width, raises PlacerInputError."""
    lines = _lines()
    k = _line_of(lines, b'key: "width"') + 2
    neg = list(lines)
    neg[k] = b"      f: -5"
    assert "negative size" in str(_raises(work, b"\n".join(neg)))
    gone = lines[:k - 3] + lines[k + 3:]
    assert "lacks required attribute 'width'" in str(_raises(work, b"\n".join(gone)))


def test_load_netlist__text_outside_nodes(work):
    """Text between nodes names its line."""
    lines = _lines()
    lines.insert(2, b"nodes {")     # before the first node
    err = _raises(work, b"\n".join(lines))
    assert err.line == 3 and "expected 'node {'" in str(err)


def test_load_netlist__not_utf8(work):
    """Bytes that are not UTF-8 name their line."""
    lines = _lines()
    lines[9] = b'  name: "P\xe9"'
    err = _raises(work, b"\n".join(lines))
    assert "not a UTF-8" in str(err) and err.line == 10


def test_load_netlist__empty_and_comment_only(work):
    """An empty or comment-only netlist raises PlacerInputError."""
    assert "no nodes" in str(_raises(work, b""))
    assert "no nodes" in str(_raises(work, b"# FP bbox: {0 0} {5 5}\n"))


def test_load_netlist__bad_fp_bbox(work):
    """A malformed or empty FP bbox comment names its line."""
    for bbox in (b"# FP bbox: {0 0} {500}", b"# FP bbox: {0 0} {0 500}",
                 b"# FP bbox: {0 0} {1e999 5}"):
        err = _raises(work, bbox + b"\n" + DATA["sample_clustered"][0])
        assert err.line == 1 and "FP bbox" in str(err)


def test_load_netlist__bad_blockage_comment(work):
    """A malformed Blockage comment names its line."""
    err = _raises(work, b"# Blockage : 0 0 10\n" + DATA["0P2M0m"][0])
    assert err.line == 1 and "Blockage" in str(err)


def test_load_netlist__unknown_extension(tmp_path):
    """A file name of no known format raises PlacerInputError; so does a .plc
    given as the netlist."""
    f = tmp_path / "netlist.txt"
    f.write_text("node {\n}\n")
    with pytest.raises(PlacerInputError, match="netlist.txt: unknown file type"):
        placer.load_netlist(f)
    with pytest.raises(PlacerInputError, match="placement file"):
        placer.load_netlist(NETLISTS / CASES["sample_clustered"][1])


def test_load_plc__node_count_mismatch(work):
    """A .plc lacking a node, or listing an index the netlist lacks, raises
    PlacerInputError."""
    nl, plc = DATA["sample_clustered"]
    lines = split(plc)
    k = _line_of(lines, b"3 375 375")
    err = _raises(work, nl, b"\n".join(lines[:k] + lines[k + 1:]))
    assert "lists 4 nodes but the netlist has 5" in str(err)
    extra = b"\n".join(lines + [b"99 1 1 N 0"])
    err = _raises(work, nl, extra)
    assert "node index 99 is not a node" in str(err)
    assert err.line == len(lines) + 1


def test_load_plc__pin_index(work):
    """A .plc line with a macro pin's index names the line."""
    nl, plc = DATA["sample_clustered"]
    lines = split(plc)
    k = _line_of(lines, b"3 375 375")
    lines[k] = lines[k].replace(b"3 375", b"4 375", 1)     # 4 is pin P0_M0
    err = _raises(work, nl, b"\n".join(lines))
    assert "node index 4 is a macro pin" in str(err)
    assert f"placement.plc:{k + 1}: " in str(err)


def test_load_plc__non_numeric_coordinate(work):
    """A non-numeric .plc coordinate names the line."""
    nl, plc = DATA["sample_clustered"]
    lines = split(plc)
    k = _line_of(lines, b"2 125 375")
    lines[k] = b"2 125 37x5 N 0"
    err = _raises(work, nl, b"\n".join(lines))
    assert "non-numeric field '37x5'" in str(err)
    assert f"placement.plc:{k + 1}: " in str(err)


def test_load_plc__malformed_lines(work):
    """A .plc line with the wrong field count, an unknown orientation, a bad
    fixed flag or a repeated index names its line."""
    nl, plc = DATA["sample_clustered"]
    lines = split(plc)
    k = _line_of(lines, b"2 125 375")
    for bad, what in ((b"2 125 375 N", "expected 'index x y orientation fixed'"),
                      (b"2 125 375 NN 0", "unknown orientation"),
                      (b"2 125 375 N 2", "fixed flag"),
                      (b"3 125 375 N 0", "appears twice"),
                      (b"2 125 inf N 0", "non-finite")):
        new = list(lines)
        new[k] = bad
        err = _raises(work, nl, b"\n".join(new))
        assert what in str(err)
        assert err.line == k + 1 or (what == "appears twice"
                                     and err.line == k + 2)


def test_load_plc__bad_header_values(work):
    """A header setting without a value or with a bad one names its line."""
    nl, plc = DATA["sample_clustered"]
    for header in (b"# Routes per micron, hor : 70.33", b"# Columns : two  Rows : 2",
                   b"# Smoothing factor : 1.5", b"# Width : 5  Height :",
                   b"# Blockage : 1 2 3"):
        err = _raises(work, nl, header + b"\n" + plc)
        assert err.line == 1, header
    zero = plc.replace(b"# Columns : 2  Rows : 2", b"# Columns : 0  Rows : 2")
    assert zero != plc
    err = _raises(work, nl, zero)
    assert "grid_cols" in str(err)
    assert f"placement.plc:{_line_of(split(zero), b'# Columns') + 1}: " in str(err)
