"""Format conversion: any design placer reads to any format it writes.

``convert(input, output, ...)`` reads ``input`` (Circuit Training .pb.txt /
.pb.txt.gz, Bookshelf .aux, DEF .def / .def.gz with ``lef``), optionally
with a placement (.plc, .pl or a .def placing its macros), optionally
transforms it (placer-convert clusters it), and writes by ``output``'s extension:

* ``.pb.txt`` / ``.pb.txt.gz``: the netlist, and its placement as
  ``<stem>.plc`` beside it;
* ``.plc``: the placement only;
* ``.def`` / ``.def.gz``: a template DEF (``template``, default the input
  when it is a DEF) with the hard macros placed, and ``<stem>.tcl``;
* ``.aux``: a Bookshelf design (.aux, .nodes, .nets, .wts, .pl, .scl);
* ``.pl``: a Bookshelf placement only.

Bookshelf has no soft macros: ``write_bookshelf`` writes every sized node as
a plain node (fixed ones as terminals), and reading it back classifies them
by height against the rows (see placer.netlist.bookshelf), so a clustered
design's soft macros come back as hard macros or standard cells.
"""

from __future__ import annotations

import os

import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.bookshelf import write_pl
from placer.netlist.io import load_netlist, save_netlist, save_placement
from placer.netlist.model import PORT, STDCELL, Netlist

__all__ = ["convert", "write_bookshelf"]


def _fmt(x: float) -> str:
    s = repr(float(x) + 0.0)
    return s[:-2] if s.endswith(".0") else s


def _rows(nl: Netlist) -> tuple[float, float, int, int]:
    """(row height, site width, rows, sites per row) covering the canvas.

    The row height is the design's (DEF site, Bookshelf row) when known, else
    the tallest standard cell, else 1/100 of the canvas height; it is then
    adjusted so that a whole number of rows covers the canvas exactly.
    """
    w, h = nl.canvas
    height = None
    md = nl.metadata.get("lefdef") or {}
    if md.get("site"):
        height = md["site"][1] / md["units"]
    elif (nl.metadata.get("bookshelf") or {}).get("row_height"):
        height = float(nl.metadata["bookshelf"]["row_height"])
    else:
        cells = nl.node_kind == STDCELL
        if cells.any():
            height = float(nl.node_size[cells, 1].max())
    if not height or height <= 0:
        height = h / 100
    rows = max(1, int(round(h / height)))
    height = h / rows
    sites = max(1, int(round(w / height)))
    return height, w / sites, rows, sites


def write_bookshelf(nl: Netlist, aux: str | os.PathLike) -> None:
    """Writes nl as a Bookshelf design: ``aux`` and .nodes, .nets, .wts, .pl,
    .scl beside it (same stem).

    Ports (with their own size, 0 for I/O pins) and fixed nodes are
    terminals, every other node a movable node of its own size; pins are net
    connections with their offsets from the node centre (frame N), the
    driver marked O, the others I; rows of one site height cover the canvas
    from (0, 0).
    """
    aux = os.fspath(aux)
    if not aux.lower().endswith(".aux"):
        raise PlacerInputError("a Bookshelf design is written to a .aux path", aux)
    stem = aux[:-4]
    base = os.path.basename(stem)
    names = nl.node_names
    terminal = (nl.node_kind == PORT) | nl.node_fixed
    size = nl.node_size
    nodes = ["UCLA nodes 1.0", "", f"NumNodes : {nl.num_nodes}",
             f"NumTerminals : {int(terminal.sum())}"]
    for v, name in enumerate(names):
        line = f"\t{name}\t{_fmt(size[v, 0])}\t{_fmt(size[v, 1])}"
        nodes.append(line + ("\tterminal" if terminal[v] else ""))
    nets = ["UCLA nets 1.0", "", f"NumNets : {nl.num_nets}",
            f"NumPins : {len(nl.net_pins)}"]
    net_names = (nl.metadata.get("lefdef") or {}).get("net_names")
    if not net_names or len(net_names) != nl.num_nets:
        net_names = [f"net{i}" for i in range(nl.num_nets)]
    for i in range(nl.num_nets):
        a, b = nl.net_ptr[i], nl.net_ptr[i + 1]
        nets.append(f"NetDegree : {b - a}   {net_names[i]}")
        for j, p in enumerate(nl.net_pins[a:b]):
            dx, dy = nl.pin_offset[p]
            nets.append(f"\t{names[nl.pin_node[p]]}\t{'O' if j == 0 else 'I'} : "
                        f"{_fmt(dx)}\t{_fmt(dy)}")
    wts = ["UCLA wts 1.0", ""]
    wts += [f"\t{net_names[i]}\t{_fmt(w)}" for i, w in enumerate(nl.net_weight)
            if w != 1.0]
    height, site, rows, sites = _rows(nl)
    scl = ["UCLA scl 1.0", "", f"NumRows : {rows}", ""]
    for r in range(rows):
        scl += ["CoreRow Horizontal", f"  Coordinate    :   {_fmt(r * height)}",
                f"  Height        :   {_fmt(height)}",
                f"  Sitewidth     :   {_fmt(site)}",
                f"  Sitespacing   :   {_fmt(site)}",
                "  Siteorient    :   N", "  Sitesymmetry  :   Y",
                f"  SubrowOrigin  :   0\tNumSites  :  {sites}", "End"]
    files = {"nodes": nodes, "nets": nets, "wts": wts, "scl": scl}
    try:
        for ext, lines in files.items():
            with open(f"{stem}.{ext}", "w", encoding="utf-8", newline="\n") as f:
                f.write("\n".join(lines) + "\n")
        with open(aux, "w", encoding="utf-8", newline="\n") as f:
            f.write(f"RowBasedPlacement : {base}.nodes {base}.nets {base}.wts "
                    f"{base}.pl {base}.scl\n")
    except OSError as e:
        raise PlacerInputError(f"cannot write: {e.strerror or e}", aux) from None
    shifted = nl.with_placement()
    shifted.metadata.pop("origin", None)    # rows start at (0, 0)
    write_pl(shifted, f"{stem}.pl")


def convert(input: str | os.PathLike, output: str | os.PathLike, *, lef=None,
            placement: str | os.PathLike | None = None,
            template: str | os.PathLike | None = None, fixed: bool = False,
            snap: str = "site", mapping: str = "offset", tcl: bool = True,
            transform=None, **settings) -> dict:
    """Reads ``input`` (+ ``placement``) and writes ``output``; returns a
    summary of what was written (see the module docstring for the formats).

    Args:
        input: the design (.pb.txt, .pb.txt.gz, .aux, .def, .def.gz).
        output: the file to write; its extension picks the format.
        lef: the LEF files of a DEF input.
        placement: a .plc, .pl or .def placement of the input.
        transform: a function applied to the loaded netlist before writing
            (placer-convert passes placer.cluster for ``cluster=true``).
        template, fixed, snap, mapping, tcl: for a DEF output (see
            placer.netlist.def_io.write_def).
        **settings: setting overrides, as for load_netlist.

    Raises:
        PlacerInputError: unreadable input, an unknown output type, a DEF
            output without a template.
    """
    input, output = os.fspath(input), os.fspath(output)
    folder = os.path.dirname(os.path.abspath(output))
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise PlacerInputError(f"cannot create the output folder: {e.strerror or e}",
                               folder) from None
    nl = load_netlist(input, placement, lef=lef, **settings)
    if transform is not None:
        nl = transform(nl)
    out = output.lower()
    written = [output]
    if out.endswith((".pb.txt", ".pb.txt.gz", ".pbtxt", ".pbtxt.gz")):
        save_netlist(nl, output)
        stem = output[:output.lower().rindex(".pb")]
        # The .plc indexes the written file's nodes: re-read it and place it.
        written_nl = load_netlist(output)
        index = {n: i for i, n in enumerate(nl.node_names)}
        order = np.array([index[n] for n in written_nl.node_names], dtype=np.int64)
        placed = written_nl.with_placement(nl.node_xy[order], nl.node_orient[order])
        placed.node_fixed = nl.node_fixed[order].copy()
        placed.settings = nl.settings
        save_placement(placed, stem + ".plc", info=f"converted by placer from {input}")
        written.append(stem + ".plc")
    elif out.endswith(".plc"):
        save_placement(nl, output, info=f"converted by placer from {input}")
    elif out.endswith((".def", ".def.gz")):
        if template is None and input.lower().endswith((".def", ".def.gz")):
            template = input
        if template is None:
            raise PlacerInputError("a DEF output needs template=<the design's DEF>",
                                   output)
        s = save_placement(nl, output, template=template, fixed=fixed, snap=snap,
                           mapping=mapping, tcl=tcl)
        if tcl:
            written.append(s["tcl"])
    elif out.endswith(".aux"):
        write_bookshelf(nl, output)
        stem = output[:-4]
        written += [f"{stem}.{e}" for e in ("nodes", "nets", "wts", "pl", "scl")]
    elif out.endswith(".pl"):
        save_placement(nl, output)
    else:
        raise PlacerInputError("unknown output type (expected .pb.txt, .pb.txt.gz, "
                               ".plc, .def, .def.gz, .aux or .pl)", output)
    return {"input": input, "placement": placement, "output": written,
            "counts": nl.counts(), "canvas": list(nl.canvas)}
