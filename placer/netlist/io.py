"""load_netlist / save_placement / save_netlist: formats chosen by file name."""

from __future__ import annotations

import dataclasses
import os

from placer.errors import PlacerInputError
from placer.netlist.bookshelf import apply_pl, read_bookshelf, write_pl
from placer.netlist.def_io import apply_def, read_def, write_def, write_place_macro_tcl
from placer.netlist.model import Netlist, Settings, coerce_setting, default_canvas
from placer.netlist.pbtxt import read_pbtxt, write_pbtxt
from placer.netlist.plc import apply_plc, read_plc, write_plc


def _format(path: str) -> str:
    p = path.lower()
    if p.endswith((".pb.txt", ".pb.txt.gz", ".pbtxt", ".pbtxt.gz")):
        return "pbtxt"
    if p.endswith(".aux"):
        return "bookshelf"
    if p.endswith(".plc"):
        return "plc"
    if p.endswith(".pl"):
        return "pl"
    if p.endswith((".def", ".def.gz")):
        return "def"
    raise PlacerInputError(
        "unknown file type (expected .pb.txt, .pb.txt.gz, .aux, .def, .def.gz, "
        ".plc or .pl)", path)


def load_netlist(path: str | os.PathLike, placement: str | os.PathLike | None = None,
                 lowercase_macro: str = "auto", lef=None, **settings) -> Netlist:
    """Reads a design and, optionally, a placement of it.

    Args:
        path: a Circuit Training netlist (.pb.txt, .pb.txt.gz), a Bookshelf
            design (.aux) or a DEF design (.def, .def.gz; needs ``lef``).
        placement: a .plc (Circuit Training) or .pl (Bookshelf) file. Its
            header settings (canvas, grid, routing) apply unless overridden.
            For a netlist, a .def places its hard macros (matched by name;
            see placer.netlist.def_io.apply_def).
        lowercase_macro: for .pb.txt, how nodes of type lower-case ``macro``
            are read ("auto", "soft" or "hard"; see read_pbtxt).
        **settings: override any setting by name: canvas_width, canvas_height,
            grid_cols, grid_rows, routes_per_micron_hor, routes_per_micron_ver,
            macro_routes_hor, macro_routes_ver, smoothing_range,
            overlap_threshold, soft_macros_squared, netlist_pin_orientation
            (True: the TILOS evaluator's convention, hard-macro pins turned
            by the netlist file's orientation rather than the placement's).
        lef: for a DEF design: its LEF file(s), technology LEF first (a
            path or a list), or a placer.netlist.lef.LefLibrary.

    Without a .plc the defaults are Circuit Training's: a square canvas of side
    sqrt(total area / 0.6) (unless the netlist's "FP bbox" header gives one),
    a 10 x 10 grid, 70.33 / 74.51 routes per micron, 51.79 / 51.79 routes used
    by macros, smoothing range 2, overlap threshold 0.004.

    Raises:
        PlacerInputError: for a missing or malformed file, naming file and line.
    """
    path = os.fspath(path)
    overrides = {k: coerce_setting(k, v) for k, v in settings.items()}
    fmt = _format(path)
    if fmt == "pbtxt":
        nl = read_pbtxt(path, lowercase_macro=lowercase_macro)
    elif fmt == "bookshelf":
        nl = read_bookshelf(path)
    elif fmt == "def":
        nl = read_def(path, lef)
    else:
        raise PlacerInputError(
            "this is a placement file; pass the netlist (.pb.txt or .aux) as path "
            "and this file as placement=", path)

    st = dataclasses.replace(nl.settings)
    if st.canvas_width <= 0 or st.canvas_height <= 0:
        side = default_canvas(nl.total_area())
        st.canvas_width = st.canvas_height = side
    # The orientations the netlist file gives (before any placement): the
    # TILOS convention (Settings.netlist_pin_orientation) turns pins by them.
    nl.metadata["netlist_orient"] = nl.node_orient.copy()
    if placement is not None:
        placement = os.fspath(placement)
        pfmt = _format(placement)
        if pfmt == "plc":
            plc = read_plc(placement)
            nl = apply_plc(nl, plc, placement)
            for k, v in plc.settings.items():
                setattr(st, k, v)
            nl.metadata["plc_header"] = plc.header
        elif pfmt == "pl":
            nl = apply_pl(nl, placement)
        elif pfmt == "def":
            nl = apply_def(nl, placement)
        else:
            raise PlacerInputError("placement must be a .plc, .pl or .def file",
                                   placement)
    grid_given = "grid_cols" in overrides or "grid_rows" in overrides
    if placement is not None and str(placement).lower().endswith(".plc"):
        grid_given = grid_given or "grid_cols" in plc.settings
    nl.metadata["grid_given"] = grid_given
    for k, v in overrides.items():
        setattr(st, k, v)
    st.validate(placement if placement is not None else path)
    nl.settings = st
    return nl


def save_placement(nl: Netlist, path: str | os.PathLike, costs: dict | None = None,
                   info: str = "", *, template: str | os.PathLike | None = None,
                   fixed: bool = False, mapping: str = "offset",
                   snap: str = "site", tcl: bool = True) -> dict | None:
    """Writes the netlist's placement: .plc (Circuit Training), .pl (Bookshelf)
    or .def / .def.gz (DEF).

    A DEF is the ``template`` DEF (default: the DEF the netlist was read from)
    with every hard macro's location and orientation replaced, status PLACED
    (FIXED with ``fixed=True``), everything else byte-identical; and, with
    ``tcl``, the same placement as OpenROAD ``place_macro`` commands in
    ``<path without .def/.def.gz>.tcl``. ``mapping`` and ``snap``: see
    placer.netlist.def_io.write_def. Returns write_def's summary for a DEF.
    """
    path = os.fspath(path)
    fmt = _format(path)
    if fmt == "plc":
        write_plc(nl, path, costs=costs, info=info)
    elif fmt == "pl":
        write_pl(nl, path)
    elif fmt == "def":
        if template is None:
            template = (nl.metadata.get("lefdef") or {}).get("def")
        if template is None:
            raise PlacerInputError("writing a DEF needs template=<the design's DEF>",
                                   path)
        summary = write_def(nl, path, template, fixed=fixed, mapping=mapping,
                            snap=snap)
        if tcl:
            stem = path[:-7] if path.lower().endswith(".def.gz") else path[:-4]
            write_place_macro_tcl(summary["records"], stem + ".tcl",
                                  summary["units"], fixed=fixed)
            summary["tcl"] = stem + ".tcl"
        return summary
    else:
        raise PlacerInputError("save_placement writes .plc, .pl or .def files", path)
    return None


def save_netlist(nl: Netlist, path: str | os.PathLike) -> None:
    """Writes the netlist as Circuit Training text (.pb.txt or .pb.txt.gz)."""
    path = os.fspath(path)
    if _format(path) != "pbtxt":
        raise PlacerInputError("save_netlist writes .pb.txt or .pb.txt.gz files", path)
    write_pbtxt(nl, path)


__all__ = ["load_netlist", "save_placement", "save_netlist", "Settings"]
