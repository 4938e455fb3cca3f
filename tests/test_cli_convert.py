"""placer-convert and the DEF flow of placer-place."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import placer
from placer.cli import CONFIG_DIR, convert, place
from placer.config import PlaceConfig
from tests.netlist.test_lefdef import DEF, LEF, _minimal_macros

SHARED = (Path(__file__).resolve().parents[1] / ".." / "shared").resolve()
NETLISTS = SHARED / "netlists"
NG45 = NETLISTS / "lefdef" / "ariane133_ng45"


def compose_cfg(name, *overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose(name, overrides=list(overrides))


@pytest.fixture
def tiny(tmp_path) -> tuple[Path, Path]:
    (tmp_path / "tiny.def").write_text(DEF)
    (tmp_path / "tiny.lef").write_text(LEF)
    return tmp_path / "tiny.def", tmp_path / "tiny.lef"


def test_place_config__lef_list_is_typed():
    """placer-place's lef= arrives as a tuple of paths (the YAML defaults of
    every command: tests/test_config.py)."""
    cfg = OmegaConf.to_object(compose_cfg("place", "netlist=a.def", "lef=[x.lef]"))
    assert cfg == PlaceConfig(netlist="a.def", lef=("x.lef",))


def test_def_to_pbtxt_and_plc(tmp_path, tiny, capsys):
    convert(compose_cfg("convert", f"input={tiny[0]}", f"lef=[{tiny[1]}]",
                        f"output={tmp_path / 'tiny.pb.txt'}"))
    printed = json.loads(capsys.readouterr().out)
    assert printed["output"] == [str(tmp_path / "tiny.pb.txt"),
                                 str(tmp_path / "tiny.plc")]
    flat = placer.load_netlist(tiny[0], lef=[tiny[1]])
    back = placer.load_netlist(tmp_path / "tiny.pb.txt", tmp_path / "tiny.plc")
    assert back.node_names == flat.node_names
    assert back.node_kind.tolist() == flat.node_kind.tolist()
    np.testing.assert_allclose(back.node_xy, flat.node_xy, atol=1e-9)
    assert back.node_orient.tolist() == flat.node_orient.tolist()
    assert back.canvas == flat.canvas
    # Macro pins keep their oriented positions; std cells and ports are their
    # own pins in Circuit Training's format (offset 0).
    hard = [i for i, k in enumerate(flat.pin_kind) if k == 1]
    by_name = {n: i for i, n in enumerate(back.pin_names)}
    np.testing.assert_allclose(back.pin_xy()[[by_name[flat.pin_names[i]]
                                              for i in hard]],
                               flat.pin_xy()[hard], atol=1e-9)
    assert _pairs(back) == _pairs(flat)


def _pairs(nl) -> set:
    """(driver node, sink node) name pairs over all nets."""
    out = set()
    for a, b in zip(nl.net_ptr[:-1], nl.net_ptr[1:], strict=True):
        d = nl.node_names[nl.pin_node[nl.net_pins[a]]]
        out |= {(d, nl.node_names[nl.pin_node[p]]) for p in nl.net_pins[a + 1:b]}
    return out


def test_plc_to_def_with_template(tmp_path, capsys):
    """The clustered NanGate45 Ariane133 placed as ariane133_fp_placed_macros
    (.plc), written into the floorplan DEF: that file's macro lines."""
    if not (NG45 / "ariane133_fp.def").exists():
        pytest.skip(f"shared LEF/DEF data not found at {NG45}")
    from placer.netlist.def_io import apply_def

    nl = placer.load_netlist(NETLISTS / "ariane133_ng45" / "netlist.pb.txt.gz",
                             NETLISTS / "ariane133_ng45" / "legalized.plc")
    placer.save_placement(apply_def(nl, NG45 / "ariane133_fp_placed_macros.def"),
                          tmp_path / "p.plc")
    convert(compose_cfg(
        "convert", f"input={NETLISTS / 'ariane133_ng45' / 'netlist.pb.txt.gz'}",
        f"placement={tmp_path / 'p.plc'}", f"output={tmp_path / 'p.def'}",
        f"def_out.template={NG45 / 'ariane133_fp.def'}", "def_out.snap=dbu"))
    printed = json.loads(capsys.readouterr().out)
    assert printed["output"] == [str(tmp_path / "p.def"), str(tmp_path / "p.tcl")]
    want = [ln for ln in (NG45 / "ariane133_fp_placed_macros.def").read_text()
            .splitlines() if ln.startswith("- ")]
    assert [ln for ln in (tmp_path / "p.def").read_text().splitlines()
            if ln.startswith("- ")] == want
    tcl = (tmp_path / "p.tcl").read_text().splitlines()
    assert sum(ln.startswith("place_macro ") for ln in tcl) == 133


def test_bookshelf_to_pbtxt_and_back(tmp_path, capsys):
    aux = NETLISTS / "bookshelf" / "simple" / "simple.aux"
    if not aux.exists():
        pytest.skip(f"shared Bookshelf data not found at {aux}")
    convert(compose_cfg("convert", f"input={aux}", f"output={tmp_path / 's.pb.txt'}"))
    convert(compose_cfg("convert", f"input={tmp_path / 's.pb.txt'}",
                        f"placement={tmp_path / 's.plc'}",
                        f"output={tmp_path / 'b' / 's.aux'}"))
    capsys.readouterr()
    orig = placer.load_netlist(aux)
    back = placer.load_netlist(tmp_path / "b" / "s.aux")
    assert back.node_names == orig.node_names
    assert back.node_kind.tolist() == orig.node_kind.tolist()
    np.testing.assert_allclose(back.node_xy, orig.node_xy, atol=1e-9)
    # Circuit Training's format has no port sizes (a pad terminal loses its own).
    sized = orig.node_kind != 0
    np.testing.assert_allclose(back.node_size[sized], orig.node_size[sized])
    # Circuit Training's format merges the nets a std cell drives and drops
    # std-cell pin offsets: the driver -> sink connections survive.
    assert _pairs(back) == _pairs(orig)


def test_place_def_flow_end_to_end(tmp_path, tiny, capsys):
    """placer-place netlist=tiny.def lef=[...]: cluster, place, and write
    .plc, .png, .pb.txt, .def and .tcl; the DEF is legal when read by the
    independent reader of the LEF/DEF tests."""
    place(compose_cfg("place", f"netlist={tiny[0]}", f"lef=[{tiny[1]}]",
                      "method=greedy", f"output_dir={tmp_path / 'out'}",
                      "progress=false", "plot=false", "def_out.snap=dbu"))
    printed = json.loads(capsys.readouterr().out)
    assert printed["legality_violations"] == 0 and printed["def_macros"] == 2
    for key in ("placement", "def", "tcl", "netlist_out"):
        assert Path(printed[key]).stat().st_size > 0
    text = Path(printed["def"]).read_text()
    boxes, die, _ = _minimal_macros(text, [LEF])
    assert set(boxes) == {"ram\\[0\\]", "ram1", "u1"}
    macros = {k: boxes[k] for k in ("ram\\[0\\]", "ram1")}
    assert all(b[0] >= die[0] and b[2] <= die[2] and b[1] >= die[1] and b[3] <= die[3]
               for b in macros.values())
    a, b = macros.values()
    assert min(a[2], b[2]) <= max(a[0], b[0]) or min(a[3], b[3]) <= max(a[1], b[1])
    # The fixed macro did not move.
    assert re.search(r"ram\\\[0\\\] RAM \+ FIXED \( 20000 10000 \) N", text)
    clustered = placer.load_netlist(printed["netlist_out"], printed["placement"])
    assert len(clustered.soft_macros) >= 1 and len(clustered.hard_macros) == 2


def test_convert_bad_output_exits_2(tmp_path, tiny, capsys):
    with pytest.raises(SystemExit) as e:
        convert(compose_cfg("convert", f"input={tiny[0]}", f"lef=[{tiny[1]}]",
                            f"output={tmp_path / 'x.txt'}"))
    assert e.value.code == 2
    assert "unknown output type" in capsys.readouterr().err
