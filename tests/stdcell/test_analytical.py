"""Tests of the analytical soft-macro placer (placer.stdcell.analytical)."""

from __future__ import annotations

import importlib
import math
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.env.env import make_env, random_policy
from placer.errors import PlacerInputError
from placer.netlist.model import SOFT_MACRO
from placer.stdcell import (
    AnalyticalConfig,
    analytical,
    analytical_arrays,
    analytical_jit,
    place_soft_macros,
)
from placer.stdcell.analytical import (
    _dct_matrix,
    bin_density,
    electrostatic_energy,
    potential,
    rudy_maps,
    wa_extents,
    wa_wirelength,
)
from placer.stdcell.force_directed import force_directed
from placer.stdcell.force_directed import place_soft_macros as fd_place_soft_macros
from tests.cost.tiny import tiny_netlist
from tests.traces import trace_counter

# the module (placer.stdcell re-exports a function of the same name)
analytical_module = importlib.import_module("placer.stdcell.analytical")

SYNTH = Path(__file__).resolve().parents[2] / "netlists" / "synth_small"
CANVAS = dict(canvas_width=10.0, canvas_height=10.0, grid_cols=10, grid_rows=10)
FAST = AnalyticalConfig(iterations=60)


# ------------------------------------------------------------ wirelength
def _wa_span(xs, gamma):
    with jax.enable_x64(True):
        pos = jnp.asarray(np.stack([xs, np.zeros_like(xs)], axis=1), jnp.float64)
        net = jnp.zeros(len(xs), jnp.int32)
        return float(wa_wirelength(pos, net, jnp.ones(1, jnp.float64), gamma))


def test_wa_wirelength__three_pin_net_tends_to_hpwl():
    """One 3-pin net with x = 0, 1, 3 (all y = 0): HPWL = 3.

    gamma = 1: WA_max = (0 e^0 + 1 e^1 + 3 e^3) / (e^0 + e^1 + e^3)
                      = (2.718282 + 60.256611) / (1 + 2.718282 + 20.085537)
                      = 62.974893 / 23.803819 = 2.645579;
               WA_min = (0 + 1 e^-1 + 3 e^-3) / (1 + e^-1 + e^-3)
                      = (0.367879 + 0.149361) / 1.417666 = 0.364854;
               WA = 2.645579 - 0.364854 = 2.280726.
    gamma = 0.5: e^{x/g} = 1, e^2, e^6 -> WA_max = (7.389056 + 1210.2863)
               / (1 + 7.389056 + 403.42879) = 2.956830; WA_min = (0.135335
               + 3 x 0.0024788) / (1 + 0.135335 + 0.0024788) = 0.125479;
               WA = 2.831351.
    gamma = 0.1: WA_min ~ 1 x e^-10 = 4.54e-5, WA_max ~ 3 - 2 e^-20 ~ 3:
               WA = 2.9999546.
    gamma = 0.01: equal to 3 within float64.
    """
    xs = np.array([0.0, 1.0, 3.0])
    assert _wa_span(xs, 1.0) == pytest.approx(2.280726, abs=1e-6)
    assert _wa_span(xs, 0.5) == pytest.approx(2.831351, abs=1e-6)
    assert _wa_span(xs, 0.1) == pytest.approx(2.9999546, abs=1e-7)
    assert _wa_span(xs, 0.01) == pytest.approx(3.0, abs=1e-12)
    spans = [_wa_span(xs, g) for g in (2.0, 1.0, 0.5, 0.2, 0.1, 0.01)]
    # rises towards HPWL
    assert all(a < b for a, b in zip(spans[:-1], spans[1:], strict=True))


def test_wa_extents__two_axes_weights_and_padding():
    """Net 0: pins (0, 0), (1, 2), (3, 1): HPWL 3 + 2 = 5; net 1 (weight 2):
    pins (5, 5), (6, 5): HPWL 1; a padding entry (net = 2 = n) is ignored.
    At gamma = 1e-3: sum w HPWL = 1 x 5 + 2 x 1 = 7, and the smooth extents
    equal the exact bounding boxes."""
    pos = jnp.asarray([[0, 0], [1, 2], [3, 1], [5, 5], [6, 5], [100, 100]],
                      jnp.float32)
    net = jnp.asarray([0, 0, 0, 1, 1, 2], jnp.int32)
    w = jnp.asarray([1.0, 2.0], jnp.float32)
    assert float(wa_wirelength(pos, net, w, 1e-3)) == pytest.approx(7.0, abs=1e-4)
    lo, hi, has = wa_extents(pos, net, 2, 1e-3)
    np.testing.assert_allclose(np.asarray(lo), [[0, 0], [5, 5]], atol=1e-4)
    np.testing.assert_allclose(np.asarray(hi), [[3, 2], [6, 5]], atol=1e-4)
    assert bool(has.all())


# --------------------------------------------------------------- density
def test_potential__single_cosine_mode_is_scaled_by_its_eigenvalue():
    """rho(i, j) = cos(pi (j + 1/2) / n) on an n x n grid of bins of width 2
    (canvas 2n): a pure Neumann mode of the second difference, so psi = rho /
    lambda with lambda = (2 - 2 cos(pi / n)) / 2^2. n = 8: cos(pi/8) =
    0.9238795, lambda = (2 - 1.847759) / 4 = 0.0380602, psi = 26.2742 rho.
    Its mean is 0, so nothing is lost to the (0, 0) term."""
    n = 8
    nl = tiny_netlist([("soft", 8, 8, 1, 1)], [], canvas_width=2.0 * n,
                      canvas_height=2.0 * n, grid_cols=n, grid_rows=n)
    with jax.enable_x64(True):
        aa = analytical_arrays(nl, cost_arrays(nl, dtype=jnp.float64), 1)
        j = np.arange(n)
        rho = np.tile(np.cos(np.pi * (j + 0.5) / n), (n, 1))
        psi = np.asarray(potential(jnp.asarray(rho), aa))
    lam = (2 - 2 * math.cos(math.pi / n)) / 4.0
    assert lam == pytest.approx(0.0380602, abs=1e-7)
    np.testing.assert_allclose(psi, rho / lam, rtol=1e-9, atol=1e-9)
    # and the DCT matrix is orthonormal
    d = _dct_matrix(n)
    np.testing.assert_allclose(d @ d.T, np.eye(n), atol=1e-12)


def test_density_gradient__pushes_two_overlapping_cells_apart():
    """Two 3 x 1.5 cells on a 9 x 10 canvas of 1 x 1 bins, centres (4, 5) and
    (5, 5): boxes [2.5, 5.5] and [3.5, 6.5] (x) by [4.25, 5.75] (y), which
    overlap on [3.5, 5.5].

    The energy E = 1/2 sum rho psi has dE/d(rho) = psi. A box moving right by
    dx gains dx x 0.75 (its height in each of rows 4 and 5) in the bin column
    holding its right edge and loses as much in the column of its left edge
    (edges sit mid-bin), so by hand
        dE/dx = 0.75 sum_{r = 4, 5} (psi[r, right col] - psi[r, left col]),
    columns (5, 2) for the left cell and (6, 3) for the right one. The pair
    is mirror-symmetric about x = 4.5, the canvas' middle, so the two
    gradients are equal and opposite; psi peaks where the cells overlap, so
    the left cell's dE/dx > 0 (descent moves it left) and the right cell's
    < 0. The pair is symmetric in y too: dE/dy = 0."""
    nl = tiny_netlist([("soft", 4, 5, 3, 1.5), ("soft", 5, 5, 3, 1.5)], [],
                      canvas_width=9.0, canvas_height=10.0, grid_cols=9,
                      grid_rows=10)
    with jax.enable_x64(True):
        arrays = cost_arrays(nl, dtype=jnp.float64)
        aa = analytical_arrays(nl, arrays, 1)
        size = jnp.asarray([[3.0, 1.5], [3.0, 1.5]])
        on = jnp.ones(2, bool)

        def energy(c):
            rho = bin_density(c, size, on, arrays.canvas, 10, 9)
            return electrostatic_energy(rho, aa)

        c = jnp.asarray([[4.0, 5.0], [5.0, 5.0]])
        g = np.asarray(jax.grad(energy)(c))
        rho = np.asarray(bin_density(c, size, on, arrays.canvas, 10, 9))
        psi = np.asarray(potential(jnp.asarray(rho), aa))
    by_hand = [0.75 * sum(psi[r, hi] - psi[r, lo] for r in (4, 5))
               for hi, lo in ((5, 2), (6, 3))]
    np.testing.assert_allclose(g[:, 0], by_hand, rtol=1e-9)
    assert g[0, 0] > 0 > g[1, 0]
    assert g[0, 0] == pytest.approx(-g[1, 0], rel=1e-9)
    np.testing.assert_allclose(g[:, 1], 0.0, atol=1e-9)
    # the overlap holds both cells: rho = 2 x 0.75 in bin (4, 4)
    assert rho[4, 4] == pytest.approx(1.5)


def test_rudy_maps__counts_cells_crossed():
    """Unit grid (10 x 10 cells of 1 x 1). A weight-1 net with box [1, 4] x
    [2, 3] (one row high): H demand w ox oy / (gw max(h, gh)) = 1 x 1 x 1 /
    (1 x 1) = 1 in cells (2, 1), (2, 2), (2, 3), 0 elsewhere: 3 cells, its
    width. V demand w ox oy / (gh max(w, gw)) = 1 / 3 in those cells: total
    1, its height in cells. A weight-0 net adds nothing."""
    lo = jnp.asarray([[1.0, 2.0], [0.0, 0.0]])
    hi = jnp.asarray([[4.0, 3.0], [9.0, 9.0]])
    h, v = rudy_maps(lo, hi, jnp.asarray([1.0, 0.0]), jnp.asarray([10.0, 10.0]),
                     10, 10)
    want_h = np.zeros((10, 10))
    want_h[2, 1:4] = 1.0
    np.testing.assert_allclose(np.asarray(h), want_h, atol=1e-6)
    np.testing.assert_allclose(np.asarray(v), want_h / 3.0, atol=1e-6)


# ------------------------------------------------------------------ pass
@pytest.fixture(scope="module")
def synth():
    return placer.load_netlist(SYNTH / "netlist.pb.txt",
                               placement=SYNTH / "initial.plc")


@pytest.fixture(scope="module")
def synth_out(synth):
    return place_soft_macros(synth, method="analytical", config=FAST,
                             dtype=jnp.float64)


def test_analytical__fixed_nodes_never_move_and_soft_stay_inside(synth, synth_out):
    fixed = synth.node_kind != SOFT_MACRO
    np.testing.assert_array_equal(synth_out.node_xy[fixed], synth.node_xy[fixed])
    soft = synth.soft_macros
    half = synth.oriented_size()[soft] / 2
    xy = synth_out.node_xy[soft]
    assert np.all(np.isfinite(xy))
    eps = 1e-3
    assert np.all(xy - half >= -eps)
    assert np.all(xy + half <= np.array(synth.canvas) + eps)


def test_analytical__beats_the_all_centre_start(synth, synth_out):
    """From all soft macros at the centre, the pass lowers the proxy cost far
    below the all-centre placement's (density especially)."""
    centre = synth.copy()
    centre.node_xy[synth.soft_macros] = np.array(synth.canvas) / 2
    c0, c1 = placer.proxy_cost(centre), placer.proxy_cost(synth_out)
    assert c1.density < 0.7 * c0.density
    assert c1.proxy < c0.proxy


def test_analytical__only_movable_soft_macros_move(synth):
    """movable False on a soft macro keeps it; True on a hard macro or port is
    ignored; float64 works."""
    with jax.enable_x64(True):
        arrays = cost_arrays(synth, dtype=jnp.float64)
        aa = analytical_arrays(synth, arrays)
        xy, orient = pad_placement(synth, arrays, dtype=jnp.float64)
        movable = np.ones(xy.shape[0], bool)          # everything says "move"
        keep = synth.soft_macros[::3]
        movable[keep] = False
        out = np.asarray(analytical_jit(arrays, xy, orient, jnp.asarray(movable),
                                        FAST, aa=aa))
    assert out.dtype == np.float64
    xy = np.asarray(xy)
    stay = np.ones(xy.shape[0], bool)
    stay[synth.soft_macros] = False
    stay[keep] = True
    np.testing.assert_array_equal(out[stay], xy[stay])
    moved = np.setdiff1d(synth.soft_macros, keep)
    assert np.mean(np.any(out[moved] != xy[moved], axis=1)) > 0.9


def test_analytical__traces_once_and_vmaps(synth, synth_out, monkeypatch):
    """Two placements of one design share one compilation (the fixture's), and
    a vmapped batch gives each placement its own result."""
    # analytical's trace calls macro_routing once; a retrace would call it again
    traces = trace_counter(monkeypatch, analytical_module, "macro_routing")
    with jax.enable_x64(True):
        arrays = cost_arrays(synth, dtype=jnp.float64)
        aa = analytical_arrays(synth, arrays)
        xy, orient = pad_placement(synth, arrays, dtype=jnp.float64)
        movable = jnp.zeros(xy.shape[0], bool).at[synth.soft_macros].set(True)
        hard = jnp.asarray(synth.hard_macros)
        xy2 = xy.at[hard].add(3.0)
        a = analytical_jit(arrays, xy, orient, movable, FAST, aa=aa)
        b = analytical_jit(arrays, xy2, orient, movable, FAST, aa=aa)
        assert traces == []                     # both: the fixture's compilation
        batch = jax.jit(jax.vmap(lambda p: analytical(arrays, p, orient, movable, FAST,
                                                      aa=aa)))(jnp.stack([xy, xy2]))
    assert not np.allclose(np.asarray(a), np.asarray(b))
    for k, one in enumerate((a, b)):
        np.testing.assert_allclose(np.asarray(batch[k]), np.asarray(one), atol=1e-6)


def test_place_soft_macros__fd_method_is_exactly_the_force_directed_pass(synth):
    a = place_soft_macros(synth, method="fd")
    b = fd_place_soft_macros(synth)
    np.testing.assert_array_equal(a.node_xy, b.node_xy)
    c = placer.place_soft_macros(synth)          # the default is "fd"
    np.testing.assert_array_equal(c.node_xy, b.node_xy)


def test_place_soft_macros__rejects_unknown_method_and_options(synth):
    with pytest.raises(PlacerInputError, match="soft-macro placer"):
        place_soft_macros(synth, method="magic")
    with pytest.raises(PlacerInputError, match="AnalyticalConfig"):
        place_soft_macros(synth, method="analytical", iteration=3)
    with pytest.raises(PlacerInputError):
        AnalyticalConfig(lr=-1.0)


@pytest.mark.slow
def test_env__fd_is_the_default_and_analytical_is_selectable(synth):
    """make_env's terminal pass: "fd" by default (exactly force_directed), and
    "analytical" on request; one random episode's cost measured both ways."""
    env_fd, p_fd = make_env(synth)
    env_an, p_an = make_env(synth, soft="analytical", analytical_config=FAST)
    assert env_fd.spec.soft == "fd" and p_fd.analytical is None
    out_an = jax.jit(lambda k: env_an.rollout(p_an, k, random_policy))(
        jax.random.PRNGKey(0))
    state = env_fd.reset(p_fd)[0].replace(xy=out_an["xy"])

    @jax.jit
    def both(state):
        via_env = env_fd.terminal(state, p_fd)
        direct = force_directed(p_fd.cost, state.xy, p_fd.orient, p_fd.soft,
                                env_fd.spec.fd_schedule, fd=p_fd.fd)
        return via_env, direct

    out_fd, direct = both(state)
    np.testing.assert_array_equal(np.asarray(out_fd["xy"]), np.asarray(direct))
    hard = synth.hard_macros
    np.testing.assert_array_equal(np.asarray(out_fd["xy"])[hard],
                                  np.asarray(out_an["xy"])[hard])
    soft = synth.soft_macros
    assert not np.allclose(np.asarray(out_fd["xy"])[soft],
                           np.asarray(out_an["xy"])[soft])
    assert np.isfinite(float(out_an["proxy"])) and np.isfinite(float(out_fd["proxy"]))
    with pytest.raises(PlacerInputError, match="soft-macro placer"):
        make_env(synth, soft="nope")
