"""Fidelity: our proxy cost against the reference evaluator on every shared case.

../shared/reference/proxy_cost.json holds the TILOS MacroPlacement evaluator's
values (and Google's where published) on the shared netlists.
"""

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest

import placer

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
REF = SHARED / "reference" / "proxy_cost.json"
NETLISTS = SHARED / "netlists"

if not REF.exists():
    pytest.skip(f"shared reference data not found at {REF}", allow_module_level=True)

CASES = json.loads(REF.read_text())["cases"]
TOL = 1e-9   # the issue asks 1e-5; we match to ~1e-14


def _load(case):
    settings = {k: v for k, v in case["settings"].items()
                if k != "canvas_boundary_check"}
    plc = case.get("placement")
    return placer.load_netlist(NETLISTS / case["netlist"],
                               placement=None if plc is None else NETLISTS / plc,
                               **settings)


@pytest.fixture(scope="module")
def costs():
    cache = {}

    def get(case):
        if case["name"] not in cache:
            cache[case["name"]] = placer.proxy_cost(_load(case))
        return cache[case["name"]]
    return get


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_proxy_cost__matches_reference(case, costs):
    """Wirelength, density and congestion equal the reference to 1e-9 relative."""
    c = costs(case)
    for term in ("wirelength", "density", "congestion"):
        ref = case[term]
        if ref is None:
            continue
        assert getattr(c, term) == pytest.approx(ref, rel=TOL, abs=1e-12), term
    if case.get("hpwl") is not None:
        assert c.hpwl == pytest.approx(case["hpwl"], rel=TOL)
    if case.get("proxy_1_0.5_0.5") is not None:
        assert c.proxy == pytest.approx(case["proxy_1_0.5_0.5"], rel=TOL)


@pytest.mark.parametrize("case", [c for c in CASES if c.get("counts")],
                         ids=[c["name"] for c in CASES if c.get("counts")])
def test_load_netlist__counts_match_reference(case):
    """Node, pin and net counts and areas equal the reference evaluator's."""
    nl = _load(case)
    want = case["counts"]
    got = nl.counts()
    for k in ("hard_macros", "soft_macros", "ports", "hard_macro_pins",
              "soft_macro_pins", "nets"):
        if k in want:
            assert got[k] == want[k], k
    if "nets_weighted_count" in want:
        assert nl.net_weight.sum() == pytest.approx(want["nets_weighted_count"])
    if "total_module_area" in want:
        assert nl.total_area() == pytest.approx(want["total_module_area"], rel=1e-9)


def test_proxy_cost__google_header_values_ariane133_legalized(costs):
    """Google's evaluator (legalized.plc header, 4 decimals) agrees too."""
    case = next(c for c in CASES if c["name"] == "ariane133_ng45/legalized")
    c = costs(case)
    g = case["google_evaluator"]
    assert round(c.wirelength, 4) == pytest.approx(g["wirelength_cost"])
    assert round(c.density, 4) == pytest.approx(g["density_cost"])
    assert round(c.congestion, 4) == pytest.approx(g["congestion_cost"])


def test_proxy_cost__out_of_canvas_congestion_clamps(costs):
    """Ariane133 initial.plc has macros past the canvas: the reference crashes;
    we clamp grid indices (0.71567), Google reports 0.7128 (documented gap)."""
    case = next(c for c in CASES if c["name"] == "ariane133_ng45/initial")
    c = costs(case)
    assert case["congestion"] is None
    assert c.congestion == pytest.approx(0.7157, abs=5e-5)
    assert abs(c.congestion - case["google_evaluator"]["congestion_cost"]) < 0.005


@pytest.mark.parametrize("name", ["ariane133_ng45/legalized",
                                  "ariane133_ng45/random_seed0"])
def test_batch_proxy_cost__float32_close_to_float64(name):
    """The fast float32 batched path agrees with float64 to 1e-4 relative."""
    case = next(c for c in CASES if c["name"] == name)
    nl = _load(case)
    xy = np.stack([nl.node_xy, nl.node_xy])
    f32 = placer.batch_proxy_cost(nl, xy, dtype=jnp.float32)
    for term in ("wirelength", "density", "congestion"):
        np.testing.assert_allclose(f32[term], case[term], rtol=1e-4)


GRIDS = SHARED / "reference" / "ariane133_grids.json"
GRID_CASES = sorted(json.loads(GRIDS.read_text())) if GRIDS.exists() else []


@pytest.mark.parametrize("name", GRID_CASES)
def test_cost_maps__match_reference_grids(name, costs):
    """Per-cell density and H/V congestion (total and macro part) equal the
    reference's debugging maps (row-major, row 0 at y = 0)."""
    g = json.loads(GRIDS.read_text())[name]
    c = costs(next(x for x in CASES if x["name"] == name))
    pairs = {"density_per_cell": c.density_map, "H_congestion_total": c.congestion_h,
             "V_congestion_total": c.congestion_v,
             "H_congestion_macro_part": c.congestion_h_macro,
             "V_congestion_macro_part": c.congestion_v_macro}
    for key, ours in pairs.items():
        ref = np.asarray(g[key], dtype=float).reshape(ours.shape)
        np.testing.assert_allclose(ours, ref, rtol=1e-9, atol=1e-12, err_msg=key)
