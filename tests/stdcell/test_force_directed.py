"""Tests of the force-directed soft-macro placer (placer.stdcell.force_directed)."""

from __future__ import annotations

import math
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import placer
from placer.cost.arrays import cost_arrays, pad_placement
from placer.errors import PlacerInputError
from placer.netlist.model import HARD_MACRO, PORT, SOFT_MACRO
from placer.stdcell import (
    FDSchedule,
    fd_arrays,
    force_directed,
    force_directed_jit,
    place_soft_macros,
)
from tests.cost.tiny import tiny_netlist

ARIANE = Path(__file__).resolve().parents[2] / ".." / "shared" / "netlists" / \
    "ariane133_ng45"
CANVAS = dict(canvas_width=100.0, canvas_height=100.0)


def _one_stage(steps=1, attract=1.0, repel=0.0, move=1.0, **kw) -> FDSchedule:
    return FDSchedule(num_steps=(steps,), attract_factor=(attract,),
                      repel_factor=(repel,), move_distance_factor=(move,),
                      use_current_loc=True, **kw)


def _xy(nl, **kw) -> np.ndarray:
    return place_soft_macros(nl, dtype=jnp.float64, **kw).node_xy


# ------------------------------------------------------------------ schedule
def test_fd_schedule__defaults_are_circuit_trainings_and_hashable():
    """The default schedule is CT's three stages and can key a jit cache."""
    s = FDSchedule()
    assert s.num_steps == (100, 100, 100)
    assert s.attract_factor == (100.0, 1e-3, 1e-5)
    assert s.repel_factor == (0.0, 1e6, 1e7)
    assert s.move_distance_factor == (1.0, 1.0, 1.0)
    assert s.io_factor == 1.0 and s.use_current_loc is False
    assert hash(s) == hash(FDSchedule(num_steps=[100, 100, 100]))


def test_fd_schedule__rejects_mismatched_stages():
    """Per-stage tuples of different lengths are an input error."""
    with pytest.raises(PlacerInputError, match="stages"):
        FDSchedule(num_steps=(1, 2), attract_factor=(1.0,))
    with pytest.raises(PlacerInputError):
        FDSchedule(num_steps=(-1, 1, 1))


def test_place_soft_macros__rejects_unknown_override():
    """A misspelt schedule override is an input error, not silently ignored."""
    nl = tiny_netlist([("soft", 50, 50, 2, 2)], [], **CANVAS)
    with pytest.raises(PlacerInputError, match="num_step"):
        place_soft_macros(nl, num_step=(1,))


# ------------------------------------------------------------ known answers
def test_force_directed__one_attraction_step_known_answer():
    """One attraction step: per-axis normalisation, io_factor, fixed nodes."""
    nl = tiny_netlist(
        [("soft", 30, 50, 2, 2),     # 0: A
         ("soft", 70, 50, 2, 2),     # 1: B
         ("port", 30, 90, 0, 0),     # 2: P
         ("hard", 85, 85, 4, 4)],    # 3: H, on no net
        [(1.0, [0, 1]),              # A drives B
         (1.0, [2, 0])],             # P drives A
        **CANVAS)
    # max_disp = 0.1 * max(100, 100) / 1 = 10.
    # Net A->B: d = pB - pA = (40, 0), force 1: A += (40, 0), B -= (40, 0).
    # Net P->A: d = pA - pP = (0, -40), force 1 * io 2 = 2: A -= 2 d = (0, 80).
    # A = (40, 80), B = (-40, 0); max |x| = 40, max |y| = 80, so
    # A moves (40/40 * 10, 80/80 * 10) = (10, 10), B (-10, 0).
    xy = _xy(nl, schedule=_one_stage(attract=1.0, move=0.1, io_factor=2.0))
    np.testing.assert_allclose(xy[0], [40.0, 60.0], atol=1e-12)
    np.testing.assert_allclose(xy[1], [60.0, 50.0], atol=1e-12)
    np.testing.assert_array_equal(xy[2:], nl.node_xy[2:])


def test_force_directed__hard_macro_pin_offsets_follow_orientation():
    """Attraction pulls towards a hard macro's pin, turned by its orientation."""
    # H at (50, 50) oriented S maps the pin offset (10, 0) to (-10, 0): the
    # pin is at (40, 50). Net H.pin -> A, A at (80, 50): d = pA - pin =
    # (40, 0); the sink A gets -d, normalised to max_disp = 0.05 * 100 = 5:
    # A moves to (75, 50).
    nl = tiny_netlist([("hard", 50, 50, 4, 4, "S"), ("soft", 80, 50, 2, 2)],
                      [(1.0, [(0, 10.0, 0.0), 1])], **CANVAS)
    xy = _xy(nl, schedule=_one_stage(move=0.05))
    np.testing.assert_allclose(xy[1], [75.0, 50.0], atol=1e-12)
    # Oriented N the pin sits at (60, 50); a soft macro on each side.
    nl2 = tiny_netlist([("hard", 50, 50, 4, 4, "N"), ("soft", 20, 50, 2, 2),
                        ("soft", 80, 50, 2, 2)],
                       [(1.0, [(0, 10.0, 0.0), 1]), (1.0, [(0, 10.0, 0.0), 2])],
                       **CANVAS)
    # Pin at (60, 50): soft 1 gets -(20 - 60) = +40, soft 2 -(80 - 60) = -20:
    # normalised by 40 -> +5 and -2.5.
    xy = _xy(nl2, schedule=_one_stage(move=0.05))
    np.testing.assert_allclose(xy[1:, 0], [25.0, 77.5], atol=1e-12)


@pytest.mark.parametrize(
    "b_xy, a_new, b_new",
    [
        # d = A - B = (-3, -4), |d| = 5: A pushed along (-0.6, -0.8), B the
        # opposite; each axis normalised to max_disp = 2 on its own.
        ((53.0, 54.0), (48.0, 48.0), (55.0, 56.0)),
        # Coincident centres: A (lower index) gets (-1/sqrt2, -1/sqrt2).
        ((50.0, 50.0), (48.0, 48.0), (52.0, 52.0)),
        # Touching boxes (B's left edge on A's right edge) do not repel.
        ((60.0, 50.0), (50.0, 50.0), (60.0, 50.0)),
    ],
    ids=["overlap", "coincident", "touching"])
def test_force_directed__one_repulsion_step_known_answer(b_xy, a_new, b_new):
    """One repulsion step between two 10 x 10 soft macros."""
    nl = tiny_netlist([("soft", 50, 50, 10, 10), ("soft", *b_xy, 10, 10)], [],
                      **CANVAS)
    # max_disp = 0.02 * 100 / 1 = 2; repel 1e6 * 2 * direction, then normalised.
    xy = _xy(nl, schedule=_one_stage(attract=1e-3, repel=1e6, move=0.02))
    np.testing.assert_allclose(xy[0], a_new, atol=1e-12)
    np.testing.assert_allclose(xy[1], b_new, atol=1e-12)


def test_force_directed__hard_macro_repels_but_stays():
    """A hard macro pushes an overlapping soft macro away and does not move."""
    # d = A - H = (0, -6): A moves (0, -2); x displacements are all 0.
    nl = tiny_netlist([("soft", 50, 50, 10, 10), ("hard", 50, 56, 10, 10)], [],
                      **CANVAS)
    xy = _xy(nl, schedule=_one_stage(attract=1e-3, repel=1e6, move=0.02))
    np.testing.assert_allclose(xy[0], [50.0, 48.0], atol=1e-12)
    np.testing.assert_array_equal(xy[1], [50.0, 56.0])


def test_force_directed__move_blocked_at_canvas_edge_per_axis():
    """An axis whose move would touch the canvas edge is not applied."""
    # A at (7, 50), 10 wide, pulled by a port at (0, 40): d = pA - pP = (7, 10),
    # A gets -d; normalised to (-2, -2). x: new x_min = 5 - 5 = 0 touches the
    # edge (x_min <= 0), so x stays; y moves to 48.
    nl = tiny_netlist([("soft", 7, 50, 10, 10), ("port", 0, 40, 0, 0)],
                      [(1.0, [1, 0])], **CANVAS)
    xy = _xy(nl, schedule=_one_stage(move=0.02))
    np.testing.assert_allclose(xy[0], [7.0, 48.0], atol=1e-12)
    # From (8, 50) the same move ends at x_min = 1 > 0 and is applied.
    nl.node_xy[0] = (8.0, 50.0)
    xy = _xy(nl, schedule=_one_stage(move=0.02))
    np.testing.assert_allclose(xy[0], [6.0, 48.0], atol=1e-12)


def test_force_directed__starts_at_canvas_centre():
    """Without use_current_loc every soft macro starts at the canvas centre."""
    nl = tiny_netlist([("soft", 10, 10, 2, 2), ("soft", 90, 20, 2, 2),
                       ("hard", 20, 80, 4, 4)], [], **CANVAS)
    xy = _xy(nl, schedule=FDSchedule(num_steps=(0,), attract_factor=(1.0,),
                                     repel_factor=(0.0,),
                                     move_distance_factor=(1.0,)))
    np.testing.assert_array_equal(xy[:2], [[50.0, 50.0], [50.0, 50.0]])
    np.testing.assert_array_equal(xy[2], [20.0, 80.0])


# ---------------------------------------- against a literal transcription
def _reference_fd(nl, schedule: FDSchedule) -> np.ndarray:
    """TILOS plc_client_os._fd_placement, transcribed loop for loop (float64)."""
    xy = nl.node_xy.copy()
    kind = nl.node_kind
    size = nl.oriented_size()
    soft = [int(v) for v in np.flatnonzero(kind == SOFT_MACRO)]
    macros = sorted(int(v) for v in np.flatnonzero((kind == SOFT_MACRO)
                                                   | (kind == HARD_MACRO)))
    w_canvas, h_canvas = nl.canvas
    if not schedule.use_current_loc:
        xy[soft] = (w_canvas / 2, h_canvas / 2)

    def pin_xy(p):
        pos = nl.with_placement(xy).pin_xy()[p]
        # soft-macro pins sit at the macro centre in the reference evaluator
        return xy[nl.pin_node[p]] if kind[nl.pin_node[p]] == SOFT_MACRO else pos

    def is_port(p):
        return kind[nl.pin_node[p]] == PORT

    for i, n in enumerate(schedule.num_steps):
        max_disp = schedule.move_distance_factor[i] * max(w_canvas, h_canvas) / n
        for _ in range(n):
            disp = {v: np.zeros(2) for v in soft}
            for net in range(nl.num_nets):
                pins = nl.net_pins[nl.net_ptr[net]:nl.net_ptr[net + 1]]
                drv, sinks = pins[0], pins[1:]
                for snk in sinks:
                    d = pin_xy(snk) - pin_xy(drv)
                    f = nl.net_weight[net] * schedule.attract_factor[i]
                    if is_port(snk) or is_port(drv):
                        f *= schedule.io_factor
                    for node, sign in ((nl.pin_node[drv], 1), (nl.pin_node[snk], -1)):
                        if node in disp:
                            disp[node] += sign * f * d
            if schedule.repel_factor[i] != 0:
                for a, u in enumerate(macros):
                    for v in macros[a + 1:]:
                        lu, hu = xy[u] - size[u] / 2, xy[u] + size[u] / 2
                        lv, hv = xy[v] - size[v] / 2, xy[v] + size[v] / 2
                        if np.any(lu >= hv) or np.any(hu <= lv):
                            continue
                        d = xy[u] - xy[v]
                        if np.all(d == 0):
                            d = np.array([-1.0, -1.0]) / math.sqrt(2)
                        else:
                            d = d / np.linalg.norm(d)
                        push = schedule.repel_factor[i] * max_disp * d
                        if u in disp:
                            disp[u] += push
                        if v in disp:
                            disp[v] -= push
            m = np.max(np.abs(np.array(list(disp.values()))), axis=0)
            for v in soft:
                for k in (0, 1):
                    if m[k] > 0:
                        disp[v][k] = disp[v][k] / m[k] * max_disp
                lo = xy[v] + disp[v] - size[v] / 2
                hi = xy[v] + disp[v] + size[v] / 2
                for k, edge in ((0, w_canvas), (1, h_canvas)):
                    if lo[k] <= 0 or hi[k] >= edge:
                        disp[v][k] = 0.0
                xy[v] = xy[v] + disp[v]
    return xy


def _random_netlist(seed: int):
    """8 soft macros, 3 hard macros (turned, with pin offsets), 2 ports."""
    rng = np.random.default_rng(seed)
    nodes = [("soft", *rng.uniform(20, 80, 2), *rng.uniform(4, 12, 2))
             for _ in range(8)]
    nodes += [("hard", *rng.uniform(20, 80, 2), *rng.uniform(8, 16, 2), o)
              for o in ("N", "E", "FS")]
    nodes += [("port", 0.0, 30.0, 0, 0), ("port", 100.0, 70.0, 0, 0)]
    nodes[3] = ("soft", nodes[2][1], nodes[2][2], 6.0, 6.0)   # coincident pair
    eps = []
    for _ in range(14):
        k = rng.integers(2, 5)
        members = rng.choice(len(nodes), size=k, replace=False)
        eps.append((float(rng.integers(1, 4)),
                    [(int(v), *rng.uniform(-3, 3, 2)) if 8 <= v < 11 else int(v)
                     for v in members]))
    return tiny_netlist(nodes, eps, **CANVAS)


@pytest.mark.parametrize("seed", [0, 1])
def test_force_directed__matches_literal_reference_loop(seed):
    """A short 3-stage run equals a loop-for-loop transcription (float64)."""
    nl = _random_netlist(seed)
    sched = FDSchedule(num_steps=(4, 3, 3), io_factor=1.5)
    want = _reference_fd(nl, sched)
    got = _xy(nl, schedule=sched)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)


# --------------------------------------------------------------- jit / vmap
def test_force_directed__traces_once_for_repeated_calls():
    """Calls with new placements of the same netlist reuse one trace."""
    nl = _random_netlist(2)
    arrays = cost_arrays(nl)
    fd = fd_arrays(nl, arrays)
    xy, orient = pad_placement(nl, arrays)
    movable = jnp.zeros(xy.shape[0], bool).at[: nl.num_nodes].set(
        jnp.asarray(nl.node_kind == SOFT_MACRO))
    sched = FDSchedule(num_steps=(2, 2, 2))
    chex.clear_trace_counter()

    @jax.jit
    @chex.assert_max_traces(n=1)        # a second trace raises AssertionError
    def run(xy, orient):
        return force_directed(arrays, xy, orient, movable, sched, fd=fd)

    for k in range(3):
        out = run(xy + k, orient)
    assert np.all(np.isfinite(np.asarray(out)))


def test_force_directed__vmap_equals_per_placement_calls():
    """vmap over two placements (moved, re-oriented) equals two single calls."""
    nl = _random_netlist(3)
    arrays = cost_arrays(nl)
    fd = fd_arrays(nl, arrays)
    xy, orient = pad_placement(nl, arrays)
    movable = jnp.zeros(xy.shape[0], bool).at[: nl.num_nodes].set(
        jnp.asarray(nl.node_kind == SOFT_MACRO))
    xy2 = xy.at[:8].add(5.0)
    orient2 = orient.at[8].set(1)
    sched = FDSchedule(num_steps=(3, 3, 3), use_current_loc=True)
    batch = jax.jit(jax.vmap(
        lambda a, b: force_directed(arrays, a, b, movable, sched, fd=fd)))(
        jnp.stack([xy, xy2]), jnp.stack([orient, orient2]))
    for k, (a, b) in enumerate([(xy, orient), (xy2, orient2)]):
        one = force_directed_jit(arrays, a, b, movable, sched, fd=fd)
        np.testing.assert_allclose(np.asarray(batch[k]), np.asarray(one),
                                   rtol=0, atol=1e-4)


# ------------------------------------------------------------------ Ariane
@pytest.fixture(scope="module")
def ariane():
    if not (ARIANE / "legalized.plc").exists():
        pytest.skip(f"shared Ariane133 netlist not found at {ARIANE}")
    return placer.load_netlist(ARIANE / "netlist.pb.txt.gz",
                               placement=ARIANE / "legalized.plc")


@pytest.fixture(scope="module")
def ariane_fd(ariane):
    """Ariane133 after the default schedule (300 steps) from the centre."""
    return place_soft_macros(ariane)


def _with_soft_at(nl, xy_soft):
    out = nl.copy()
    out.node_xy[nl.soft_macros] = xy_soft
    return out


def test_force_directed__ariane_keeps_hard_macros_ports_and_canvas(ariane, ariane_fd):
    """Hard macros and ports do not move; soft macros stay inside the canvas."""
    fixed = ariane.node_kind != SOFT_MACRO
    np.testing.assert_array_equal(ariane_fd.node_xy[fixed], ariane.node_xy[fixed])
    soft = ariane.soft_macros
    half = ariane.oriented_size()[soft] / 2
    xy = ariane_fd.node_xy[soft]
    assert np.all(np.isfinite(xy))
    assert np.all(xy - half > 0) and np.all(xy + half < np.array(ariane.canvas))
    # every soft macro left the centre
    assert np.all(np.any(xy != np.array(ariane.canvas) / 2, axis=1))


def test_force_directed__ariane_removes_centre_overlap(ariane, ariane_fd):
    """From all soft macros at the centre, the default schedule removes most of
    the overlap (density far below the all-at-centre density) while wirelength
    stays well below a uniform random spread's and within 2x of the soft-macro
    placement in legalized.plc (measured: 0.115 vs 0.406 and 0.074)."""
    centre = _with_soft_at(ariane, np.array(ariane.canvas) / 2)
    rng = np.random.default_rng(0)
    half = ariane.oriented_size()[ariane.soft_macros] / 2
    spread = _with_soft_at(ariane, rng.uniform(half, np.array(ariane.canvas) - half))
    c0, c1 = placer.proxy_cost(centre), placer.proxy_cost(ariane_fd)
    cr = placer.proxy_cost(spread)
    assert c1.density < 0.7 * c0.density
    assert c1.wirelength < 0.5 * cr.wirelength
    assert c1.wirelength < 2.0 * placer.proxy_cost(ariane).wirelength


def test_force_directed__ariane_attraction_lowers_wirelength(ariane):
    """Attraction alone, from a random spread (use_current_loc), lowers WL."""
    rng = np.random.default_rng(1)
    half = ariane.oriented_size()[ariane.soft_macros] / 2
    spread = _with_soft_at(ariane, rng.uniform(half, np.array(ariane.canvas) - half))
    out = place_soft_macros(spread, num_steps=(100,), attract_factor=(100.0,),
                            repel_factor=(0.0,), move_distance_factor=(1.0,),
                            use_current_loc=True)
    before, after = placer.proxy_cost(spread), placer.proxy_cost(out)
    assert after.wirelength < 0.6 * before.wirelength


@pytest.mark.slow
def test_force_directed__ariane_full_schedule_batched(ariane):
    """vmap x4 of the full schedule on Ariane133: every placement keeps the
    hard macros, stays in the canvas and removes the centre overlap as well as
    a single call does (float32 runs are chaotic over 300 steps, so results
    are compared by cost, not coordinate by coordinate)."""
    arrays = cost_arrays(ariane)
    fd = fd_arrays(ariane, arrays)
    xy, orient = pad_placement(ariane, arrays)
    movable = jnp.zeros(xy.shape[0], bool).at[: ariane.num_nodes].set(
        jnp.asarray(ariane.node_kind == SOFT_MACRO))
    rng = np.random.default_rng(2)
    hard = jnp.asarray(ariane.hard_macros)
    xs = jnp.stack([xy.at[hard].add(jnp.asarray(
        rng.uniform(-1, 1, (len(ariane.hard_macros), 2)), xy.dtype))
        for _ in range(4)])
    sched = FDSchedule()
    batch = jax.jit(jax.vmap(lambda a: force_directed(arrays, a, orient, movable,
                                                      sched, fd=fd)))(xs)
    centre = _with_soft_at(ariane, np.array(ariane.canvas) / 2)
    d_centre = placer.proxy_cost(centre).density
    soft = ariane.soft_macros
    half = ariane.oriented_size()[soft] / 2
    for k in range(4):
        got = np.asarray(batch[k], np.float64)[: ariane.num_nodes]
        start = np.asarray(xs[k], np.float64)[: ariane.num_nodes]
        fixed = ariane.node_kind != SOFT_MACRO
        np.testing.assert_array_equal(got[fixed], start[fixed])
        assert np.all(got[soft] - half > 0)
        assert np.all(got[soft] + half < np.array(ariane.canvas))
        one = force_directed_jit(arrays, xs[k], orient, movable, sched, fd=fd)
        c_batch = placer.proxy_cost(ariane.with_placement(got))
        c_one = placer.proxy_cost(ariane.with_placement(
            np.asarray(one, np.float64)[: ariane.num_nodes]))
        assert c_batch.density < 0.7 * d_centre
        assert c_batch.density == pytest.approx(c_one.density, rel=0.15)
        assert c_batch.wirelength == pytest.approx(c_one.wirelength, rel=0.15)


def test_place_soft_macros__without_soft_macros_changes_nothing():
    """A design with no soft macros (or a zero-size one) passes through."""
    nl = tiny_netlist([("hard", 20, 20, 10, 10), ("port", 0, 50, 0, 0)],
                      [(1.0, [1, 0])], **CANVAS)
    np.testing.assert_array_equal(place_soft_macros(nl).node_xy, nl.node_xy)
    nl = tiny_netlist([("soft", 50, 50, 0, 0), ("soft", 50, 50, 4, 4)], [],
                      **CANVAS)
    xy = _xy(nl, schedule=_one_stage(attract=1e-3, repel=1e6, move=0.02))
    assert np.all(np.isfinite(xy))
    np.testing.assert_array_equal(xy, nl.node_xy)   # nothing overlaps strictly
