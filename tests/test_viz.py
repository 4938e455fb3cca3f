"""Tests of placer.viz.plot_placement."""

import time
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pytest

import placer
import placer.viz
from placer.cost.proxy import ProxyCost
from placer.viz import plot_placement

REPO = Path(__file__).resolve().parents[1]
SYNTH = REPO / "netlists" / "synth_small"
ARIANE = REPO.parent / "shared" / "netlists" / "ariane133_ng45"


def fake_cost(nl) -> ProxyCost:
    """A ProxyCost with random maps of the netlist's grid (no JAX compile)."""
    rng = np.random.default_rng(0)
    maps = [rng.random((nl.settings.grid_rows, nl.settings.grid_cols))
            for _ in range(3)]
    return ProxyCost(wirelength=0.07, density=0.5, congestion=0.7, proxy=0.67,
                     hpwl=4.7e6, density_map=maps[0], congestion_h=maps[1],
                     congestion_v=maps[2])


@pytest.fixture(scope="module")
def synth():
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")
    return nl, fake_cost(nl)


def assert_png(path: Path, dpi: int):
    """A non-blank RGB(A) image 9.2 inches tall."""
    assert path.stat().st_size > 10_000
    img = mpimg.imread(path)
    assert img.ndim == 3 and img.shape[2] in (3, 4)
    assert img.shape[0] == round(9.2 * dpi) and img.shape[1] > img.shape[0]
    assert np.ptp(img[..., :3]) > 0.5


def test_plot_placement__writes_png(synth, tmp_path):
    """A PNG of the expected size is written, with the given cost."""
    nl, cost = synth
    out = plot_placement(nl, tmp_path / "p.png", cost, title="synth")
    assert out == str(tmp_path / "p.png")
    assert_png(tmp_path / "p.png", dpi=130)


def test_plot_placement__computes_cost_when_missing(synth, tmp_path, monkeypatch):
    """Without a cost it calls proxy_cost itself."""
    nl, cost = synth
    calls = []

    def fake(netlist, weights=(1.0, 0.5, 0.5)):
        calls.append(weights)
        return cost

    monkeypatch.setattr(placer.viz, "proxy_cost", fake)
    plot_placement(nl, tmp_path / "p.png", dpi=50)
    assert calls == [(1.0, 0.5, 0.5)]
    assert_png(tmp_path / "p.png", dpi=50)


def test_plot_placement__fixed_macros_blockages_and_overhang(synth, tmp_path):
    """Fixed macros, blockages and macros past the canvas edge render."""
    nl, cost = synth
    nl = nl.copy()
    nl.node_fixed = nl.node_fixed.copy()
    nl.node_fixed[nl.hard_macros[:3]] = True
    nl.node_xy = nl.node_xy.copy()
    nl.node_xy[nl.hard_macros[3]] = (nl.canvas[0] + 10.0, 20.0)
    nl.blockages = np.array([[0.0, 0.0, 60.0, 40.0, 1.0]])
    plot_placement(nl, tmp_path / "p.png", cost, dpi=50)
    assert_png(tmp_path / "p.png", dpi=50)


@pytest.mark.skipif(not ARIANE.is_dir(), reason="needs ../shared/netlists")
def test_plot_placement__ariane133_is_fast(tmp_path):
    """Ariane133's 915 macros and 495 ports render in a few seconds."""
    nl = placer.load_netlist(ARIANE / "netlist.pb.txt.gz", ARIANE / "legalized.plc")
    start = time.perf_counter()
    plot_placement(nl, tmp_path / "a.png", fake_cost(nl))
    assert time.perf_counter() - start < 10.0   # about 1 s on an idle CPU
    assert_png(tmp_path / "a.png", dpi=130)
