"""LEF/DEF: known answers on hand-written files, the real designs, the DEF
round trip, and clear errors for malformed input."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

import placer
from placer.errors import PlacerInputError
from placer.netlist.def_io import apply_def, read_def
from placer.netlist.lef import read_lef
from placer.netlist.model import HARD_MACRO, ORIENT_INDEX, PORT, STDCELL

SHARED = (Path(__file__).resolve().parents[2] / ".." / "shared").resolve()
LEFDEF = SHARED / "netlists" / "lefdef"
NG45_LEF = [LEFDEF / "nangate45_lef" / f for f in (
    "NangateOpenCellLibrary.tech.lef", "NangateOpenCellLibrary.macro.mod.lef",
    "fakeram45_256x16.lef")]
NG45_FP = LEFDEF / "ariane133_ng45" / "ariane133_fp.def"
NG45_PLACED = LEFDEF / "ariane133_ng45" / "ariane133_fp_placed_macros.def"
CT_ARIANE = LEFDEF / "ct_ariane"
CLUSTERED = SHARED / "netlists" / "ariane133_ng45"


def need(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared LEF/DEF data not found at {path}")
    return path


# A tiny library: LEF database units 1000, a 0.2 x 2 um site, two routing
# layers, a 10 x 4 block and a 0.6 x 2 core cell with ORIGIN 0.1 0.
LEF = """VERSION 5.8 ;
# a comment
UNITS
  DATABASE MICRONS 1000 ;
END UNITS
MANUFACTURINGGRID 0.005 ;
SITE core
  CLASS CORE ;
  SIZE 0.2 BY 2.0 ;
END core
LAYER M1
  TYPE ROUTING ;
  DIRECTION HORIZONTAL ;
  PITCH 0.2 ;
END M1
LAYER V1
  TYPE CUT ;
END V1
LAYER M2
  TYPE ROUTING ;
  DIRECTION VERTICAL ;
  PITCH 0.25 ;
  PROPERTY LEF58_X "a ; quoted ; string" ;
END M2
VIA V12 DEFAULT
  LAYER M1 ;
    RECT -0.1 -0.1 0.1 0.1 ;
END V12
MACRO RAM
  CLASS BLOCK ;
  ORIGIN 0 0 ;
  SIZE 10 BY 4 ;
  SYMMETRY X Y ;
  PIN A
    DIRECTION INPUT ;
    USE SIGNAL ;
    PORT
      LAYER M1 ;
        RECT 0 1 1 2 ;
    END
  END A
  PIN Q
    DIRECTION OUTPUT ;
    PORT
      LAYER M2 ;
        RECT 9 3 10 4 ;
        RECT 8 3.5 9 4 ;
    END
  END Q
  OBS
    LAYER M1 ;
      RECT 0 0 10 4 ;
  END
END RAM
MACRO INV
  CLASS CORE ;
  ORIGIN 0.1 0 ;
  SIZE 0.6 BY 2 ;
  SITE core ;
  PIN I
    DIRECTION INPUT ;
    PORT
      LAYER M1 ;
        RECT 0 0.9 0.2 1.1 ;
    END
  END I
  PIN ZN
    DIRECTION OUTPUT ;
    PORT
      LAYER M1 ;
        POLYGON 0.3 0.9 0.4 0.9 0.4 1.1 0.3 1.1 ;
    END
  END ZN
END INV
END LIBRARY
"""

# A tiny design: DEF units 2000 per micron, die 50 x 40 um, two rows, tracks
# for M1 (horizontal, every 0.2 um) and M2 (vertical, every 0.25 um).
DEF = """VERSION 5.8 ;
DIVIDERCHAR "/" ;
BUSBITCHARS "[]" ;
DESIGN tiny ;
UNITS DISTANCE MICRONS 2000 ;
PROPERTYDEFINITIONS
    DESIGN note STRING "semi ; colon" ;
END PROPERTYDEFINITIONS
DIEAREA ( 0 0 ) ( 100000 80000 ) ;
ROW r0 core 2000 4000 N DO 200 BY 1 STEP 400 0 ;
ROW r1 core 2000 8000 FS DO 200 BY 1 STEP 400 0 ;
TRACKS Y 200 DO 200 STEP 400 LAYER M1 ;
TRACKS X 200 DO 200 STEP 500 LAYER M2 ;
TRACKS X 200 DO 200 STEP 400 LAYER M1 ;
COMPONENTS 4 ;
- ram\\[0\\] RAM + FIXED ( 20000 10000 ) N ;
- ram1 RAM + PLACED ( 40000 20000 ) E
  + HALO 100 100 100 100 ;
- u1 INV + PLACED ( 4000 4000 ) FS ;
- u2 INV ;
END COMPONENTS
PINS 2 ;
- in + NET n_in + DIRECTION INPUT + USE SIGNAL
  + LAYER M1 ( -100 0 ) ( 100 200 )
  + FIXED ( 0 30000 ) E ;
- out + NET n_out + DIRECTION OUTPUT + PLACED ( 100000 50000 ) W ;
END PINS
NETS 3 ;
- n_in ( PIN in ) ( u1 I ) ( ram\\[0\\] A ) ;
- n_mid ( ram1 A ) ( ram\\[0\\] Q ) ( u2 I ) + WEIGHT 2 ;
- n_out ( PIN out ) ( u1 ZN ) ( ram1 Q ) + USE SIGNAL
  + ROUTED M1 ( 100 200 ) ( 300 * ) ;
END NETS
SPECIALNETS 1 ;
- VDD ( * VDD ) + USE POWER ;
END SPECIALNETS
END DESIGN
"""


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, Path]:
    lef = tmp_path / "tiny.lef"
    d = tmp_path / "tiny.def"
    lef.write_text(LEF)
    d.write_text(DEF)
    return d, lef


def test_lef_known_answers(tiny):
    lib = read_lef(tiny[1])
    assert lib.database_units == 1000
    assert lib.manufacturing_grid == 0.005
    assert lib.sites == {"core": (0.2, 2.0)}
    assert lib.layers["M1"].direction == "HORIZONTAL"
    assert lib.layers["M2"].pitch == 0.25
    # Tracks from the LEF: 1 / 0.2 = 5 horizontal, 1 / 0.25 = 4 vertical per um.
    assert lib.routing_tracks_per_micron() == pytest.approx((5.0, 4.0))
    ram, inv = lib.macros["RAM"], lib.macros["INV"]
    assert (ram.cls, ram.size, ram.is_hard) == ("BLOCK", (10.0, 4.0), True)
    assert (inv.cls, inv.size, inv.is_hard) == ("CORE", (0.6, 2.0), False)
    # A: one rect (0,1)-(1,2) -> centre (0.5, 1.5). Q: two rects whose
    # bounding box is (8,3)-(10,4) -> centre (9, 3.5).
    assert ram.pins == {"A": (0.5, 1.5), "Q": (9.0, 3.5)}
    assert ram.pin_direction == {"A": "INPUT", "Q": "OUTPUT"}
    # INV shapes shift by ORIGIN (0.1, 0): I centre (0.1, 1.0) -> (0.2, 1.0);
    # ZN polygon centre (0.35, 1.0) -> (0.45, 1.0).
    assert inv.pins["I"] == pytest.approx((0.2, 1.0))
    assert inv.pins["ZN"] == pytest.approx((0.45, 1.0))


def test_def_known_answers(tiny):
    nl = placer.load_netlist(tiny[0], lef=[tiny[1]])
    md = nl.metadata["lefdef"]
    # Die (0,0)-(100000,80000) DBU at 2000 per um -> a 50 x 40 um canvas.
    assert nl.canvas == (50.0, 40.0)
    assert md["units"] == 2000
    # Rows: x 2000 + 200 sites * 400 = 82000 DBU -> 1..41 um; y 4000 and 8000
    # DBU (2 and 4 um), the top row 2 um (the site) high -> 2..6 um.
    assert md["core"] == pytest.approx((1.0, 2.0, 41.0, 6.0))
    # TRACKS Y M1 step 400 DBU = 0.2 um -> 5 per um; TRACKS X M2 step 500 DBU
    # = 0.25 um -> 4 per um; TRACKS X M1 is across M1's direction: skipped.
    assert nl.settings.routes_per_micron_hor == pytest.approx(5.0)
    assert nl.settings.routes_per_micron_ver == pytest.approx(4.0)
    assert nl.node_names == ["in", "out", "ram[0]", "ram1", "u1", "u2"]
    assert nl.node_kind.tolist() == [PORT, PORT, HARD_MACRO, HARD_MACRO,
                                     STDCELL, STDCELL]
    assert md["status"] == ["FIXED", "PLACED", "FIXED", "PLACED", "PLACED",
                            "UNPLACED"]
    assert nl.node_fixed.tolist() == [True, False, True, False, False, False]
    np.testing.assert_allclose(nl.node_size[2:], [[10, 4], [10, 4], [0.6, 2],
                                                  [0.6, 2]])
    o = ORIENT_INDEX
    assert nl.node_orient.tolist() == [-1, -1, o["N"], o["E"], o["FS"], o["N"]]
    expected = [
        # in: FIXED (0, 30000) E, rect (-100,0)-(100,200) centre (0, 100)
        # rotated E (x, y) -> (y, -x) = (100, 0) -> (100, 30000) DBU.
        (0.05, 15.0),
        # out: PLACED (100000, 50000), no shape -> (50, 25) um.
        (50.0, 25.0),
        # ram[0]: N at (10, 5) um, 10 x 4 -> centre (15, 7).
        (15.0, 7.0),
        # ram1: E at (20, 10) um; E swaps to 4 x 10 -> centre (22, 15).
        (22.0, 15.0),
        # u1: FS at (2, 2) um, 0.6 x 2 -> centre (2.3, 3).
        (2.3, 3.0),
        # u2: unplaced -> the canvas centre.
        (25.0, 20.0),
    ]
    np.testing.assert_allclose(nl.node_xy, expected)
    # Nets: the driver first (INPUT I/O pin, or OUTPUT LEF pin), the rest in
    # file order; SPECIALNETS ignored; WEIGHT kept.
    nets = [[nl.pin_names[p] for p in nl.net_pins[a:b]]
            for a, b in zip(nl.net_ptr[:-1], nl.net_ptr[1:], strict=True)]
    assert nets == [["in", "u1/I", "ram[0]/A"],
                    ["ram[0]/Q", "ram1/A", "u2/I"],
                    ["u1/ZN", "out", "ram1/Q"]]
    assert nl.net_weight.tolist() == [1.0, 2.0, 1.0]
    assert md["net_names"] == ["n_in", "n_mid", "n_out"]
    # Pin offsets (frame N, from the centre): RAM is 10 x 4 (centre (5, 2)):
    # A (0.5, 1.5) -> (-4.5, -0.5); Q (9, 3.5) -> (4, 1.5).
    p = {n: i for i, n in enumerate(nl.pin_names)}
    np.testing.assert_allclose(nl.pin_offset[p["ram[0]/A"]], (-4.5, -0.5))
    np.testing.assert_allclose(nl.pin_offset[p["ram1/Q"]], (4.0, 1.5))
    # INV 0.6 x 2 (centre (0.3, 1)): ZN (0.45, 1) -> (0.15, 0).
    np.testing.assert_allclose(nl.pin_offset[p["u1/ZN"]], (0.15, 0.0))
    # Placed: u1 is FS (y mirrored): (0.15, 0) stays (0.15, 0) -> (2.45, 3).
    np.testing.assert_allclose(nl.pin_xy()[p["u1/ZN"]], (2.45, 3.0))
    c = nl.counts()
    assert (c["hard_macros"], c["stdcells"], c["ports"], c["nets"]) == (2, 2, 2, 3)


# Orientation: the LEF point (9, 3.5) of the 10 x 4 RAM (pin Q) placed with
# its outline's lower-left corner at (20, 10) um, by the LEF/DEF rules
# written out per orientation (w = 10, h = 4; the outline is turned, then
# shifted so that its lower-left corner is the location):
ORIENT_CASES = {
    "N": (20 + 9, 10 + 3.5),             # (x, y)
    "S": (20 + 10 - 9, 10 + 4 - 3.5),    # R180: (w - x, h - y) = (1, 0.5)
    "W": (20 + 4 - 3.5, 10 + 9),         # R90 ccw: (h - y, x) = (0.5, 9)
    "E": (20 + 3.5, 10 + 10 - 9),        # R270: (y, w - x) = (3.5, 1)
    "FN": (20 + 10 - 9, 10 + 3.5),       # mirror x: (w - x, y) = (1, 3.5)
    "FS": (20 + 9, 10 + 4 - 3.5),        # mirror y: (x, h - y) = (9, 0.5)
    "FW": (20 + 3.5, 10 + 9),            # MX then R90: (y, x) = (3.5, 9)
    "FE": (20 + 4 - 3.5, 10 + 10 - 9),   # MY then R90: (h - y, w - x) = (0.5, 1)
}


@pytest.mark.parametrize("orient", list(ORIENT_CASES))
def test_pin_position_under_each_orientation(tmp_path, orient):
    (tmp_path / "t.lef").write_text(LEF)
    text = DEF.replace("+ PLACED ( 40000 20000 ) E", f"+ PLACED ( 40000 20000 ) "
                       f"{orient}")
    (tmp_path / "t.def").write_text(text)
    nl = read_def(tmp_path / "t.def", [tmp_path / "t.lef"])
    q = nl.pin_names.index("ram1/Q")
    np.testing.assert_allclose(nl.pin_xy()[q], ORIENT_CASES[orient], atol=1e-12)
    # The outline: E/W/FE/FW swap 10 x 4 to 4 x 10; its lower-left corner is
    # the DEF location (20, 10) um.
    v = nl.node_names.index("ram1")
    w, h = nl.oriented_size()[v]
    assert (w, h) == ((4.0, 10.0) if orient in ("E", "W", "FE", "FW") else (10.0, 4.0))
    np.testing.assert_allclose(nl.node_xy[v] - (w / 2, h / 2), (20.0, 10.0))


def test_gzipped_def_and_opendb_orientation_names(tmp_path):
    (tmp_path / "t.lef").write_text(LEF)
    with gzip.open(tmp_path / "t.def.gz", "wt") as f:
        f.write(DEF.replace("( 40000 20000 ) E", "( 40000 20000 ) R270"))
    nl = placer.load_netlist(tmp_path / "t.def.gz", lef=str(tmp_path / "t.lef"))
    assert nl.node_orient[nl.node_names.index("ram1")] == ORIENT_INDEX["E"]


# ------------------------------------------------------------- bad input
BAD_DEF = [
    # (replace, with, line of the error, words in the message)
    ("( 20000 10000 ) N", "( 20000 oops ) N", 16, "expected a number"),
    ("( 20000 10000 ) N", "( 20000 10000 ) NE", 16, "unknown orientation"),
    ("- u2 INV ;", "- u2 NAND ;", 20, "macro 'NAND' is not in the LEF"),
    ("COMPONENTS 4 ;", "COMPONENTS 5 ;", 15, "declares 5 items but holds 4"),
    ("( u1 I ) ( ram", "( u9 I ) ( ram", 29, "no component 'u9'"),
    ("( u1 I ) ( ram", "( u1 X ) ( ram", 29, "has no pin 'X'"),
    ("( PIN in )", "( PIN nowhere )", 29, "no I/O pin 'nowhere'"),
    ("UNITS DISTANCE MICRONS 2000 ;", "UNITS DISTANCE MICRONS two ;", 5,
     "expected a number"),
    # without END COMPONENTS, the PINS statement (now line 21) is the error
    ("END COMPONENTS\n", "", 21, "'- <name> ...' or 'END COMPONENTS'"),
    ("END DESIGN\n", "", 37, "no 'END DESIGN'"),
    ("DIEAREA ( 0 0 ) ( 100000 80000 ) ;", "DIEAREA ( 0 0 ) 100000 80000 ;", 9,
     "expected '( x y )'"),
]


@pytest.mark.parametrize("old,new,line,words", BAD_DEF)
def test_bad_def_names_file_and_line(tmp_path, old, new, line, words):
    (tmp_path / "t.lef").write_text(LEF)
    assert old in DEF
    (tmp_path / "bad.def").write_text(DEF.replace(old, new, 1))
    with pytest.raises(PlacerInputError) as e:
        placer.load_netlist(tmp_path / "bad.def", lef=[tmp_path / "t.lef"])
    assert e.value.path == str(tmp_path / "bad.def")
    assert words in e.value.reason, str(e.value)
    assert e.value.line == line, str(e.value)


BAD_LEF = [
    ("SIZE 10 BY 4 ;", "SIZE 10 BY four ;", 32, "expected a number"),
    ("SIZE 10 BY 4 ;", "SIZE 10 4 ;", 32, "SIZE <w> BY <h>"),
    # without END RAM, MACRO INV's statements land in RAM; 'END INV' (line
    # 73 once a line is gone) closes it wrongly
    ("END RAM\n", "", 73, "closed by 'END INV'"),
    ("  END Q\n", "  END X\n", 49, "PIN Q of MACRO RAM (line 42) closed by 'END X'"),
    ("RECT 9 3 10 4 ;", "RECT 9 3 10 ;", 46, "RECT x1 y1 x2 y2"),
    ("DATABASE MICRONS 1000 ;", "DATABASE MICRONS 0 ;", 4, "positive integer"),
    ("END LIBRARY\n", "END LIBRAR\n", 75, "unexpected 'END LIBRAR'"),
]


@pytest.mark.parametrize("old,new,line,words", BAD_LEF)
def test_bad_lef_names_file_and_line(tmp_path, old, new, line, words):
    assert old in LEF
    (tmp_path / "bad.lef").write_text(LEF.replace(old, new, 1))
    with pytest.raises(PlacerInputError) as e:
        read_lef(tmp_path / "bad.lef")
    assert e.value.path == str(tmp_path / "bad.lef")
    assert words in e.value.reason, str(e.value)
    assert e.value.line == line, str(e.value)


def test_missing_lef_truncated_and_corrupt_files(tmp_path, tiny):
    with pytest.raises(PlacerInputError, match="needs its LEF files"):
        placer.load_netlist(tiny[0])
    with pytest.raises(PlacerInputError, match="file not found"):
        placer.load_netlist(tiny[0], lef=[tmp_path / "none.lef"])
    (tmp_path / "cut.def").write_text(DEF[:DEF.index("- n_mid")])
    with pytest.raises(PlacerInputError, match="NETS .* has no 'END NETS'") as e:
        placer.load_netlist(tmp_path / "cut.def", lef=[tiny[1]])
    assert e.value.path.endswith("cut.def") and e.value.line is not None
    (tmp_path / "bad.def.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    with pytest.raises(PlacerInputError, match="cannot read"):
        placer.load_netlist(tmp_path / "bad.def.gz", lef=[tiny[1]])
    (tmp_path / "cut.lef").write_text(LEF[:LEF.index("END RAM")])
    with pytest.raises(PlacerInputError, match="unexpected end of file") as e:
        read_lef(tmp_path / "cut.lef")
    assert e.value.line is not None


# --------------------------------------------------------- writing DEF
def _minimal_macros(def_text: str, lef_texts: list[str]) -> tuple[dict, tuple, int]:
    """An independent reader (regexes only, no placer code): DEF units, die
    and each component's (model, x, y, orient, status); LEF macro sizes."""
    units = int(re.search(r"UNITS\s+DISTANCE\s+MICRONS\s+(\d+)", def_text).group(1))
    die = tuple(int(v) for v in re.search(
        r"DIEAREA\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)",
        def_text).groups())
    comps = {}
    section = def_text[def_text.index("\nCOMPONENTS"):def_text.index("END COMPONENTS")]
    for m in re.finditer(r"-\s+(\S+)\s+(\S+)([^;]*);", section):
        loc = re.search(r"\+\s*(PLACED|FIXED)\s*\(\s*(-?\d+)\s+(-?\d+)\s*\)\s*(\w+)",
                        m.group(3))
        if loc:
            comps[m.group(1)] = (m.group(2), int(loc.group(2)), int(loc.group(3)),
                                 loc.group(4), loc.group(1))
    sizes = {}
    for text in lef_texts:
        for m in re.finditer(r"MACRO\s+(\S+)(.*?)END\s+\1", text, re.S):
            s = re.search(r"SIZE\s+([\d.]+)\s+BY\s+([\d.]+)", m.group(2))
            sizes[m.group(1)] = (float(s.group(1)), float(s.group(2)))
    boxes = {}
    for name, (model, x, y, o, _st) in comps.items():
        w, h = sizes[model]
        if o in ("E", "W", "FE", "FW"):
            w, h = h, w
        boxes[name] = (x, y, x + round(w * units), y + round(h * units))
    return boxes, die, units


def _legal(boxes: dict, die: tuple) -> list[str]:
    bad = [n for n, b in boxes.items() if b[0] < die[0] or b[1] < die[1]
           or b[2] > die[2] or b[3] > die[3]]
    items = sorted(boxes.items(), key=lambda kv: kv[1][0])
    for i, (a, ba) in enumerate(items):
        for b, bb in items[i + 1:]:
            if bb[0] >= ba[2]:
                break
            if min(ba[3], bb[3]) > max(ba[1], bb[1]):
                bad.append(f"{a} overlaps {b}")
    return bad


def _strip_components(text: str) -> str:
    return re.sub(r"\nCOMPONENTS.*?END COMPONENTS", "", text, flags=re.S)


def test_def_round_trip_tiny(tmp_path, tiny):
    nl = placer.load_netlist(tiny[0], lef=[tiny[1]])
    ram1 = nl.node_names.index("ram1")
    xy = nl.node_xy.copy()
    orient = nl.node_orient.copy()
    # Move ram1 to centre (30.1, 25) in FW (4 x 10): lower-left (28.1, 20) um
    # = (56200, 40000) DBU, on the site grid (2000 + 135 * 400 = 56000? no:
    # 56200 = 2000 + 135.5 * 400) -> snap="site" moves it to 56000 or 56400.
    xy[ram1] = (30.1, 25.0)
    orient[ram1] = ORIENT_INDEX["FW"]
    moved = nl.with_placement(xy, orient)
    out = tmp_path / "out.def"
    s = placer.save_placement(moved, out, snap="dbu")
    assert s["records"]["ram1"] == (56200, 40000, "FW")
    assert s["records"]["ram\\[0\\]"] == (20000, 10000, "N")
    text = out.read_text()
    # Everything outside COMPONENTS byte-identical; inside, only the
    # location of ram1 changed (ram[0] written the same).
    assert _strip_components(text) == _strip_components(DEF)
    assert text.replace("PLACED ( 56200 40000 ) FW", "PLACED ( 40000 20000 ) E") == DEF
    back = placer.load_netlist(out, lef=[tiny[1]])
    np.testing.assert_allclose(back.node_xy[nl.hard_macros], moved.node_xy[
        nl.hard_macros], atol=1e-12)
    assert back.node_orient[ram1] == ORIENT_INDEX["FW"]
    tcl = (tmp_path / "out.tcl").read_text().splitlines()
    assert ("place_macro -macro_name {ram1} -location {28.1 20} -orientation "
            "MXR90") in tcl
    # Site snapping: x to 2000 + k * 400 DBU, y to the row grid 4000 + k * 4000.
    s = placer.save_placement(moved, tmp_path / "site.def", fixed=True)
    x, y, o = s["records"]["ram1"]
    assert (x - 2000) % 400 == 0 and abs(x - 56200) <= 200
    assert (y - 4000) % 4000 == 0 and o == "FW"
    assert "+ FIXED ( 20000 10000 ) N" in (tmp_path / "site.def").read_text()


def test_write_def_refuses_a_macro_off_the_die(tmp_path, tiny):
    nl = placer.load_netlist(tiny[0], lef=[tiny[1]])
    xy = nl.node_xy.copy()
    xy[nl.node_names.index("ram1")] = (49.0, 20.0)   # 4 wide: to x = 51 > 50
    with pytest.raises(PlacerInputError, match="leaves the die"):
        placer.save_placement(nl.with_placement(xy), tmp_path / "o.def")


def test_ng45_floorplan_counts_and_both_ways(tmp_path):
    """ariane133_fp.def (NanGate45 LEFs): read, and the placed-macros DEF read
    into the clustered CT netlist gives a legal placement whose DEF written
    from the floorplan reproduces that file's macro lines."""
    need(NG45_PLACED)
    need(CLUSTERED / "netlist.pb.txt.gz")
    flat = placer.load_netlist(NG45_FP, lef=[str(p) for p in NG45_LEF])
    c = flat.counts()
    assert (c["hard_macros"], c["ports"], c["stdcells"]) == (133, 495, 0)
    assert flat.canvas == (1357.36, 1356.88)
    assert flat.metadata["lefdef"]["core"] == pytest.approx((5.13, 5.04, 1352.23,
                                                             1351.84))
    nl = placer.load_netlist(CLUSTERED / "netlist.pb.txt.gz",
                             CLUSTERED / "legalized.plc")
    placed = apply_def(nl, NG45_PLACED)
    assert placer.check_legality(placed) == []
    out = tmp_path / "ariane133.def"
    s = placer.save_placement(placed, out, template=NG45_FP, snap="dbu")
    assert s["macros"] == 133 and s["outside_core"] == []
    want = [ln for ln in NG45_PLACED.read_text().splitlines() if ln.startswith("- ")]
    got = [ln for ln in out.read_text().splitlines() if ln.startswith("- ")]
    assert got == want
    # Other lines: the floorplan's, byte for byte.
    fp = NG45_FP.read_text().splitlines()
    assert [ln for ln in out.read_text().splitlines() if not ln.startswith("- ")] \
        == [ln for ln in fp if not ln.startswith("- ")]
    # The independent reader agrees: every macro inside the die, no overlap.
    boxes, die, units = _minimal_macros(out.read_text(),
                                        [p.read_text() for p in NG45_LEF])
    assert len(boxes) == 133 and _legal(boxes, die) == []


def test_ct_ariane_counts():
    """Circuit Training's Ariane from LEF/DEF (about 5 s)."""
    d = need(CT_ARIANE / "ariane.def.gz")
    nl = placer.load_netlist(d, lef=[CT_ARIANE / "ariane.lef"])
    c = nl.counts()
    assert (c["hard_macros"], c["stdcells"], c["ports"], c["nets"]) == (
        133, 82821, 1231, 85193)
    # Its die is Google's canvas for this design (356.592 x 356.640).
    assert nl.canvas == pytest.approx((356.592, 356.64))
    assert nl.node_fixed.sum() == 1231      # the I/O pins; components PLACED
    # LEF M1..M? layers of pitch 0.032: 1 / 0.032 = 31.25 tracks per um each.
    hor, ver = nl.metadata["lefdef"]["tracks"]
    assert hor % 31.25 == pytest.approx(0.0, abs=1e-9) and ver > 0


@pytest.mark.slow
def test_ct_ariane_cluster_place_write_read(tmp_path):
    """DEF -> cluster -> greedy -> DEF -> read: legal, same macros (~1 min)."""
    d = need(CT_ARIANE / "ariane.def.gz")
    lef = [CT_ARIANE / "ariane.lef"]
    flat = placer.load_netlist(d, lef=lef)
    cl = placer.cluster(flat, 200)
    assert sorted(cl.node_names[v] for v in cl.hard_macros) == sorted(
        flat.node_names[v] for v in flat.hard_macros)
    out = placer.place(cl, method="greedy", seed=0)
    assert placer.check_legality(out) == []
    placer.save_placement(out, tmp_path / "a.def", template=d, snap="dbu")
    back = placer.load_netlist(tmp_path / "a.def", lef=lef)
    by = {n: i for i, n in enumerate(back.node_names)}
    idx = [by[out.node_names[v]] for v in out.hard_macros]
    np.testing.assert_allclose(back.node_xy[idx], out.node_xy[out.hard_macros],
                               atol=0.5 / 2000 + 1e-9)
    assert back.node_orient[idx].tolist() == out.node_orient[out.hard_macros].tolist()
    boxes, die, _ = _minimal_macros((tmp_path / "a.def").read_text(),
                                    [lef[0].read_text()])
    macro_names = {n.replace("[", "\\[").replace("]", "\\]")
                   for n in (out.node_names[v] for v in out.hard_macros)}
    assert _legal({k: b for k, b in boxes.items() if k in macro_names or
                   k.replace("\\", "") in {out.node_names[v] for v in
                                           out.hard_macros}}, die) == []


def test_core_and_scale_mappings(tmp_path, tiny):
    """mapping="core": canvas (0, 0) at the rows' lower-left corner (1, 2) um
    = (2000, 4000) DBU. mapping="scale": a corner's free range stretched onto
    the die's; apply_def inverts both."""
    nl = placer.load_netlist(tiny[0], lef=[tiny[1]])
    core_canvas = nl.with_settings(canvas_width=40.0, canvas_height=4.0)
    ram1 = nl.node_names.index("ram1")
    xy = core_canvas.node_xy.copy()
    orient = core_canvas.node_orient.copy()
    # ram1 N (10 x 4) centred at (20, 2) on the core canvas: lower-left
    # (15, 0) um -> (2000 + 15 * 2000, 4000 + 0) = (32000, 4000) DBU.
    xy[ram1] = (20.0, 2.0)
    orient[ram1] = ORIENT_INDEX["N"]
    placed = core_canvas.with_placement(xy, orient)
    s = placer.save_placement(placed, tmp_path / "core.def", mapping="core",
                              snap="dbu")
    assert s["records"]["ram1"] == (32000, 4000, "N")
    back = apply_def(placed, tmp_path / "core.def", mapping="core")
    np.testing.assert_allclose(back.node_xy[ram1], (20.0, 2.0))
    # Scale: canvas 100 x 80 um onto the 50 x 40 die. ram1 N at lower-left
    # (45, 38): x range [0, 100 - 10] -> [0, 50 - 10], factor 40 / 90, so
    # 45 -> 20 um; y range [0, 80 - 4] -> [0, 40 - 4], 38 -> 18 um.
    big = nl.with_settings(canvas_width=100.0, canvas_height=80.0)
    xy = big.node_xy.copy()
    xy[ram1] = (50.0, 40.0)
    placed = big.with_placement(xy, orient)
    s = placer.save_placement(placed, tmp_path / "scale.def", mapping="scale",
                              snap="dbu", tcl=False)
    assert s["records"]["ram1"] == (40000, 36000, "N")
    assert not (tmp_path / "scale.tcl").exists()
    back = apply_def(placed, tmp_path / "scale.def", mapping="scale")
    np.testing.assert_allclose(back.node_xy[ram1], (50.0, 40.0))
    # Overlaps made by a mapping are reported: a canvas lower-left corner
    # (27, 12.67) lands at (27 * 40 / 90, 12.67 * 36 / 76) = (12, 6) um, on
    # ram[0] (10..20 x 5..9); the centre is that corner + (5, 2).
    xy[ram1] = (12 * 90 / 40 + 5, 6 * 76 / 36 + 2)
    s = placer.save_placement(big.with_placement(xy, orient), tmp_path / "o.def",
                              mapping="scale", snap="dbu", tcl=False)
    assert s["overlaps"] == [("ram[0]", "ram1")] or s["overlaps"] == [
        ("ram1", "ram[0]")]
