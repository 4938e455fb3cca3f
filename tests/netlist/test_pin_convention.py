"""Settings.netlist_pin_orientation: the TILOS evaluator's pin convention
(hard-macro pins turned by the netlist file's orientation, not the .plc's)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import placer
from placer.netlist.model import ORIENT_INDEX
from tests.netlist.test_lefdef import DEF, LEF

REPO = Path(__file__).resolve().parents[2]
SHARED = (REPO / ".." / "shared").resolve()
ARIANE = SHARED / "netlists" / "ariane133_ng45"


def test_pin_turned_by_the_netlist_orientation(tmp_path):
    (tmp_path / "t.def").write_text(DEF)
    (tmp_path / "t.lef").write_text(LEF)
    nl = placer.load_netlist(tmp_path / "t.def", lef=[tmp_path / "t.lef"])
    v = nl.node_names.index("ram1")          # E in the file, centre (22, 15)
    q = nl.pin_names.index("ram1/Q")         # N-frame offset (4, 1.5)
    orient = nl.node_orient.copy()
    orient[v] = ORIENT_INDEX["FN"]           # the placement flips it to FN
    placed = nl.with_placement(orient=orient)
    # Circuit Training: FN turns (4, 1.5) to (-4, 1.5) -> (18, 16.5).
    np.testing.assert_allclose(placed.pin_xy()[q], (18.0, 16.5))
    # TILOS: the file's E turns (4, 1.5) to (1.5, -4) -> (23.5, 11), whatever
    # the placement says.
    tilos = placed.with_settings(netlist_pin_orientation=True)
    np.testing.assert_allclose(tilos.pin_xy()[q], (23.5, 11.0))
    # Ports and std cells are untouched; unflipped macros agree.
    same = [i for i, n in enumerate(nl.pin_names) if not n.startswith("ram1/")]
    np.testing.assert_allclose(tilos.pin_xy()[same], placed.pin_xy()[same])


# The TILOS evaluator (MacroPlacement CodeElements/Plc_client/plc_client_os.py
# at 20eddb6, unmodified) on this machine: wirelength, congestion, proxy.
TILOS = {
    "ariane133_sa_30min.plc": (0.10144940337937626, 0.705726868624075,
                               0.7016195625199266),
    "ariane133_sa_refine_30min.plc": (0.10753659963171057, 0.7098441515628015,
                                      0.707891685108895),
}


@pytest.mark.parametrize("plc", list(TILOS))
def test_tilos_values_on_flipped_placements(plc):
    if not (ARIANE / "netlist.pb.txt.gz").exists():
        pytest.skip(f"shared netlists not found at {ARIANE}")
    path = REPO / "experiments" / "placements" / plc
    ours = placer.proxy_cost(placer.load_netlist(ARIANE / "netlist.pb.txt.gz", path))
    theirs = placer.proxy_cost(placer.load_netlist(
        ARIANE / "netlist.pb.txt.gz", path, netlist_pin_orientation=True))
    wl, cong, proxy = TILOS[plc]
    assert theirs.wirelength == pytest.approx(wl, rel=1e-12)
    assert theirs.congestion == pytest.approx(cong, rel=1e-12)
    assert theirs.proxy == pytest.approx(proxy, rel=1e-12)
    # Circuit Training's convention scores these flipped placements lower.
    assert 3e-4 < theirs.proxy - ours.proxy < 2e-3
