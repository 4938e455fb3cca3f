"""Force-directed placement of soft macros (standard-cell clusters) in JAX.

Circuit Training places its soft macros with a fixed-iteration force-directed
pass after the policy has placed the hard macros. This is that pass, as the
TILOS MacroPlacement open re-implementation (``plc_client_os._fd_placement``)
describes it:

1. Unless ``use_current_loc``, every soft macro starts at the canvas centre.
2. For each stage ``i`` and each of its ``num_steps[i]`` steps:

   * attraction: for every net and every sink pin, ``d = pos(sink) -
     pos(driver)`` (pin positions as in the cost: node centre + oriented
     offset, soft-macro pins at the centre) and ``f = net_weight *
     attract_factor[i] * (io_factor if the driver or the sink is a port)``.
     The driver's node gets ``+f d``, the sink's node ``-f d``.
   * repulsion (skipped when ``repel_factor[i] == 0``): every unordered pair
     (u, v) of macros (hard or soft) whose boxes overlap strictly gets
     ``dir = (c_u - c_v) / |c_u - c_v|`` (``(-1/sqrt2, -1/sqrt2)`` when the
     centres coincide, u being the lower node index); u gets
     ``+repel_factor[i] * max_disp * dir``, v the negative.
   * only soft macros accumulate displacement. The x displacements are
     divided by their largest magnitude over the soft macros and multiplied
     by ``max_disp``; the same, independently, for y.
   * a soft macro moves along an axis unless the move would make its box
     touch or cross the canvas edge on that axis (then that axis stays).

   ``max_disp = move_distance_factor[i] * max(W, H) / num_steps[i]``.

How it is computed (same results, less work):

* attraction is linear in the positions, and a driver-sink connection pushes
  its two nodes the same way whichever drives, so connections are merged on
  the host into one row per unordered node pair (summed weights and
  weight-summed pin offsets); pairs without a soft macro are dropped. On
  Ariane133: 32,092 connections -> 9,994 pairs.
* only soft macros move, so repulsion is an (S, M) pass (S soft macros
  against M = hard + soft macros), not (V, V): box-edge comparisons, one
  rsqrt per pair, and the row sums done as one matrix-vector product.
* the stages run as one ``lax.fori_loop`` per run of consecutive stages that
  share a loop body (with or without repulsion), indexing per-step factors;
  the soft-macro centres (S, 2) are the loop carry.

Dimensions: V nodes, P pins, A merged node pairs, S soft macros, M macros
(hard and soft); all padded.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from flax import struct

from placer.cost.arrays import CostArrays, cost_arrays, oriented_sizes, pad_placement
from placer.errors import PlacerInputError
from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_MATRICES,
    PIN_PORT,
    PORT,
    SOFT_MACRO,
    Netlist,
)

_INV_SQRT2 = 1.0 / math.sqrt(2.0)
# Where macros that cannot overlap anything are put for the pairwise pass: far
# enough to fail every overlap test, near enough that squared distances stay
# finite in float32 (an inf or NaN there would poison the row sums).
FAR = -1e17


def _round_up(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


@dataclass(frozen=True)
class FDSchedule:
    """Stages of the force-directed pass; hashable, so static under jit.

    Circuit Training's defaults: three stages of 100 steps, attraction only
    first, then repulsion-dominated stages that remove overlap.

    Attributes:
        num_steps: steps per stage.
        attract_factor: attraction multiplier per stage.
        repel_factor: repulsion multiplier per stage (0 skips repulsion).
        move_distance_factor: per stage; the largest move of one step is
            ``move_distance_factor[i] * max(W, H) / num_steps[i]``.
        io_factor: attraction multiplier of connections to a port.
        use_current_loc: start from the given soft-macro positions instead of
            the canvas centre.
    """

    num_steps: tuple[int, ...] = (100, 100, 100)
    attract_factor: tuple[float, ...] = (100.0, 1e-3, 1e-5)
    repel_factor: tuple[float, ...] = (0.0, 1e6, 1e7)
    move_distance_factor: tuple[float, ...] = (1.0, 1.0, 1.0)
    io_factor: float = 1.0
    use_current_loc: bool = False

    def __post_init__(self):
        def tup(name, kind):
            v = getattr(self, name)
            try:
                v = tuple(kind(x) for x in (v if np.iterable(v) else (v,)))
            except (TypeError, ValueError):
                raise PlacerInputError(
                    f"FDSchedule.{name} must be a sequence of numbers, got {v!r}"
                ) from None
            object.__setattr__(self, name, v)
            return v

        steps = tup("num_steps", int)
        n = len(steps)
        for name in ("attract_factor", "repel_factor", "move_distance_factor"):
            if len(tup(name, float)) != n:
                raise PlacerInputError(
                    f"FDSchedule.{name} has {len(getattr(self, name))} stages, "
                    f"num_steps has {n}")
        if any(s < 0 for s in steps):
            raise PlacerInputError(f"FDSchedule.num_steps must be >= 0, got {steps}")
        values = (self.attract_factor + self.repel_factor
                  + self.move_distance_factor)
        if not all(math.isfinite(x) for x in values):
            raise PlacerInputError("FDSchedule factors must be finite")
        object.__setattr__(self, "io_factor", float(self.io_factor))
        object.__setattr__(self, "use_current_loc", bool(self.use_current_loc))

    @property
    def num_stages(self) -> int:
        return len(self.num_steps)


@struct.dataclass
class FDArrays:
    """What the force-directed pass needs besides CostArrays (built on the host).

    Positions are read from a table ``concat([soft centres (S, 2), xy (V, 2)])``:
    a soft macro is its row r < S, any other node v is row S + v.

    Attraction is linear in the positions, so the driver-sink connections of
    all nets are merged into one row per unordered node pair (lo, hi): a
    connection gives lo ``+f (p_hi - p_lo)`` and hi the negative whichever of
    the two drives. Per pair: W = sum of net weights, and the w-weighted sums
    of the N-frame pin offsets on each side. Pairs with no soft macro and
    pairs within one node add nothing and are dropped. Padding rows have W = 0
    and point at the dummy row S.
    """

    pair_lo: jnp.ndarray       # (A,) int32 table row of the lower node
    pair_hi: jnp.ndarray       # (A,) int32 table row of the higher node
    pair_lo_row: jnp.ndarray   # (A,) int32 soft row of lo, S if lo is not soft
    pair_hi_row: jnp.ndarray   # (A,) int32 soft row of hi, S if hi is not soft
    pair_lo_node: jnp.ndarray  # (A,) int32 node lo (for its orientation)
    pair_hi_node: jnp.ndarray  # (A,) int32 node hi
    pair_weight: jnp.ndarray   # (A,) W, the summed net weights (0 for padding)
    pair_off_lo: jnp.ndarray   # (A, 2) sum of w x lo's pin offset (frame N)
    pair_off_hi: jnp.ndarray   # (A, 2) sum of w x hi's pin offset (frame N)
    pair_io: jnp.ndarray       # (A,) bool: one end is a port (io_factor applies)
    soft_node: jnp.ndarray     # (S,) int32 node of each soft macro (0 padding)
    soft_mask: jnp.ndarray     # (S,) bool
    macro_row: jnp.ndarray     # (M,) int32 table row of each hard or soft macro
    macro_node: jnp.ndarray    # (M,) int32 node of each macro (0 padding)
    macro_mask: jnp.ndarray    # (M,) bool


def fd_arrays(nl: Netlist, arrays: CostArrays, pad_to: int = 64) -> FDArrays:
    """Builds the FDArrays of a netlist (host side, once per netlist).

    Args:
        nl: the design.
        arrays: its CostArrays; their pin offsets (soft-macro pins at the
            centre unless built with soft_pin_offsets) and float dtype are used.
        pad_to: capacities are rounded up to a multiple of this.
    """
    vc = arrays.node_size.shape[0]
    if vc < nl.num_nodes:
        raise PlacerInputError("arrays were built for a smaller netlist")
    soft = np.flatnonzero(nl.node_kind == SOFT_MACRO).astype(np.int32)
    macros = np.flatnonzero((nl.node_kind == SOFT_MACRO)
                            | (nl.node_kind == HARD_MACRO)).astype(np.int32)
    s_n, m_n = len(soft), len(macros)
    sc, mc = _round_up(s_n, pad_to), _round_up(m_n, pad_to)

    row_of = np.full(nl.num_nodes, sc, np.int64)       # S marks "not soft"
    row_of[soft] = np.arange(s_n)
    table_row = np.where(row_of < sc, row_of, sc + np.arange(nl.num_nodes))

    # Driver-sink connections, one per net entry that is not a driver.
    deg = nl.net_degree
    driver = np.repeat(nl.net_pins[nl.net_ptr[:-1]], np.maximum(deg - 1, 0))
    is_sink = np.ones(len(nl.net_pins), bool)
    is_sink[nl.net_ptr[:-1][deg > 0]] = False
    sink = nl.net_pins[is_sink]
    w = np.repeat(nl.net_weight, np.maximum(deg - 1, 0))
    port = (nl.pin_kind == PIN_PORT) | (nl.node_kind[nl.pin_node] == PORT)
    io = port[driver] | port[sink]
    dn, sn = nl.pin_node[driver].astype(np.int64), nl.pin_node[sink].astype(np.int64)
    keep = (dn != sn) & ((row_of[dn] < sc) | (row_of[sn] < sc))
    off = np.asarray(arrays.pin_offset, np.float64)[: nl.num_pins]
    swap = dn > sn
    lo, hi = np.where(swap, sn, dn)[keep], np.where(swap, dn, sn)[keep]
    off_lo = np.where(swap[:, None], off[sink], off[driver])[keep]
    off_hi = np.where(swap[:, None], off[driver], off[sink])[keep]
    w, io = w[keep], io[keep]

    # Merge connections of the same (lo, hi, io).
    key = (lo * nl.num_nodes + hi) * 2 + io
    uniq, inv = np.unique(key, return_inverse=True)
    a_n = len(uniq)
    ac = _round_up(a_n, pad_to)
    p_lo = (uniq // 2) // nl.num_nodes
    p_hi = (uniq // 2) % nl.num_nodes
    p_w = np.bincount(inv, weights=w, minlength=a_n)
    p_off_lo = np.stack([np.bincount(inv, weights=w * off_lo[:, k], minlength=a_n)
                         for k in (0, 1)], axis=1).reshape(-1, 2)
    p_off_hi = np.stack([np.bincount(inv, weights=w * off_hi[:, k], minlength=a_n)
                         for k in (0, 1)], axis=1).reshape(-1, 2)
    p_io = (uniq % 2).astype(bool)

    dtype = arrays.node_size.dtype

    def pad(a, fill, n, dt=np.int32):
        a = np.asarray(a)
        out = np.full((n,) + a.shape[1:], fill, dt)
        out[: len(a)] = a
        return jnp.asarray(out)

    def fl(a, n):
        return jnp.asarray(pad(a, 0.0, n, np.float64), dtype)

    return FDArrays(
        pair_lo=pad(table_row[p_lo], sc, ac),
        pair_hi=pad(table_row[p_hi], sc, ac),
        pair_lo_row=pad(row_of[p_lo], sc, ac),
        pair_hi_row=pad(row_of[p_hi], sc, ac),
        pair_lo_node=pad(p_lo, 0, ac),
        pair_hi_node=pad(p_hi, 0, ac),
        pair_weight=fl(p_w, ac),
        pair_off_lo=fl(p_off_lo, ac),
        pair_off_hi=fl(p_off_hi, ac),
        pair_io=pad(p_io, False, ac, bool),
        soft_node=pad(soft, 0, sc),
        soft_mask=pad(np.ones(s_n, bool), False, sc, bool),
        macro_row=pad(table_row[macros], sc, mc),
        macro_node=pad(macros, 0, mc),
        macro_mask=pad(np.ones(m_n, bool), False, mc, bool),
    )


# ---------------------------------------------------------------- the maths
def attraction(fd: FDArrays, table: jnp.ndarray, d_off: jnp.ndarray,
               force: jnp.ndarray, num_rows: int) -> jnp.ndarray:
    """(S, 2) attraction displacement of every soft macro.

    For each merged pair, ``g = force (W (p_hi - p_lo) + d_off)``; lo gets
    ``+g``, hi gets ``-g``.

    Args:
        fd: the FDArrays.
        table: (S + V, 2) positions (see FDArrays).
        d_off: (A, 2) oriented weighted offsets, hi's minus lo's.
        force: (A,) attract_factor (x io_factor for pairs with a port).
        num_rows: S.
    """
    d = fd.pair_weight[:, None] * (table[fd.pair_hi] - table[fd.pair_lo]) + d_off
    g = force[:, None] * d                                            # (A, 2)
    out = (jax.ops.segment_sum(g, fd.pair_lo_row, num_segments=num_rows + 1)
           - jax.ops.segment_sum(g, fd.pair_hi_row, num_segments=num_rows + 1))
    return out[:num_rows]


def repulsion(c_s: jnp.ndarray, half_s: jnp.ndarray, node_s: jnp.ndarray,
              c_m: jnp.ndarray, half_m: jnp.ndarray, node_m: jnp.ndarray
              ) -> jnp.ndarray:
    """(S, 2) sum of the unit repulsion directions of every soft macro.

    Row u (a soft macro) against column v (any macro, u itself included):
    the boxes overlap strictly iff on both axes lo_u < hi_v and lo_v < hi_u
    (the reference's test; touching boxes do not overlap). An overlapping pair
    adds d/|d| to u, d = c_u - c_v; a pair with coincident centres adds
    (-1/sqrt2, -1/sqrt2) when u has the lower node index and (+1/sqrt2,
    +1/sqrt2) otherwise (the reference visits pairs u < v and gives v the
    negative of u's push).

    Columns that can never overlap (padding, zero width or height) must sit
    far away (centre FAR, see below): they then fail the overlap test and
    add exactly 0 without a mask. Coincident centres always overlap, except
    for a zero-size row, which callers mask out afterwards.

    Args:
        c_s, half_s, node_s: (S, 2) centres, (S, 2) half sizes, (S,) node ids
            of the soft macros.
        c_m, half_m, node_m: (M, 2), (M, 2), (M,) the same for all macros.
    """
    # Box edges are (S,) and (M,) vectors that change every step: nothing of
    # size (S, M) is loop-invariant, so XLA does not hoist (and, under vmap,
    # store B copies of) such arrays out of the loop.
    lo_s, hi_s = c_s - half_s, c_s + half_s
    lo_m, hi_m = c_m - half_m, c_m + half_m
    ov = ((lo_s[:, None, 0] < hi_m[None, :, 0])
          & (lo_m[None, :, 0] < hi_s[:, None, 0])
          & (lo_s[:, None, 1] < hi_m[None, :, 1])
          & (lo_m[None, :, 1] < hi_s[:, None, 1]))
    dx = c_s[:, 0:1] - c_m[None, :, 0]                                # (S, M)
    dy = c_s[:, 1:2] - c_m[None, :, 1]
    d2 = dx * dx + dy * dy
    w = jnp.where(ov & (d2 > 0), jax.lax.rsqrt(d2), 0.0)
    # Coincident pairs (dx = dy = 0, so dx w = dy w = 0 there) push both axes
    # alike. The self pair (u, u) takes the -1/sqrt2 branch; +1/sqrt2 below
    # cancels it.
    lower = node_m[None, :] < node_s[:, None]
    q = jnp.where(d2 == 0, jnp.where(lower, _INV_SQRT2, -_INV_SQRT2), 0.0)
    # Row sums as one product with a ones vector: XLA:CPU runs it as a dot
    # kernel fed by a single fusion (rsqrt computed once), faster than fused
    # reductions here, batched or not.
    s_n = c_s.shape[0]
    ones = jnp.ones((c_m.shape[0],), dx.dtype)
    r = jnp.concatenate([dx * w + q, dy * w + q]) @ ones             # (2S,)
    return jnp.stack([r[:s_n], r[s_n:]], axis=1) + _INV_SQRT2


def normalise(disp: jnp.ndarray, mask: jnp.ndarray, max_disp) -> jnp.ndarray:
    """(S, 2) displacements scaled per axis so the largest |.| is max_disp.

    Rows outside ``mask`` are zeroed; an axis whose displacements are all 0 is
    left at 0.
    """
    disp = jnp.where(mask[:, None], disp, 0.0)
    m = jnp.max(jnp.abs(disp), axis=0)                                # (2,)
    scale = jnp.where(m > 0, max_disp / jnp.where(m > 0, m, 1.0), 0.0)
    return disp * scale


def clip_to_canvas(c_s: jnp.ndarray, half_s: jnp.ndarray, disp: jnp.ndarray,
                   canvas: jnp.ndarray) -> jnp.ndarray:
    """Zeroes each axis of a move whose box would touch or cross the edge."""
    new = c_s + disp
    ok = (new - half_s > 0) & (new + half_s < canvas)
    return jnp.where(ok, disp, 0.0)


# ------------------------------------------------------------------ the pass
def _stage_groups(schedule: FDSchedule):
    """Consecutive non-empty stages that share a loop body (repulsion on/off)."""
    groups: list[tuple[bool, list[int]]] = []
    for i, n in enumerate(schedule.num_steps):
        if n == 0:
            continue
        rep = schedule.repel_factor[i] != 0.0
        if groups and groups[-1][0] == rep:
            groups[-1][1].append(i)
        else:
            groups.append((rep, [i]))
    return groups


def force_directed(arrays: CostArrays, xy: jnp.ndarray, orient: jnp.ndarray,
                   movable: jnp.ndarray, schedule: FDSchedule = FDSchedule(),
                   *, fd: FDArrays) -> jnp.ndarray:
    """Places the movable soft macros by Circuit Training's force-directed pass.

    Pure: jit it with ``schedule`` static (see ``force_directed_jit``) and vmap
    it over ``(xy, orient[, movable])`` for placements of one netlist. All
    arithmetic is in ``xy.dtype``.

    Args:
        arrays: the netlist's CostArrays (sizes, pins, canvas).
        xy: (V, 2) node centres.
        orient: (V,) int orientation codes (constant during the pass).
        movable: (V,) bool, the nodes that move. Only soft macros can move:
            True on any other node is ignored.
        schedule: the stages (static).
        fd: the netlist's FDArrays (see fd_arrays).

    Returns:
        (V, 2) centres: the movable soft macros re-placed, the rest as given.
    """
    dtype = xy.dtype
    s_n = fd.soft_node.shape[0]
    canvas = arrays.canvas.astype(dtype)
    size = oriented_sizes(arrays, orient).astype(dtype)
    half_s = size[fd.soft_node] * 0.5
    half_m = size[fd.macro_node] * 0.5
    valid_m = fd.macro_mask & jnp.all(half_m > 0, axis=1)
    valid_s = fd.soft_mask & jnp.all(half_s > 0, axis=1)
    move_s = movable[fd.soft_node] & fd.soft_mask
    c0 = xy[fd.soft_node]
    c_s = c0
    if not schedule.use_current_loc:
        c_s = jnp.where(move_s[:, None], canvas * 0.5, c_s)

    # Pin offsets do not change during the pass: rotate them once.
    mats = jnp.asarray(ORIENT_MATRICES, dtype=dtype)

    def rot(node, off):
        return jnp.einsum("aij,aj->ai", mats[orient[node]], off.astype(dtype))

    d_off = (rot(fd.pair_hi_node, fd.pair_off_hi)
             - rot(fd.pair_lo_node, fd.pair_off_lo))
    io = jnp.where(fd.pair_io, jnp.asarray(schedule.io_factor, dtype), 1.0)
    span = jnp.max(canvas)

    def step(c_s, attract, repel, max_disp, with_repulsion):
        table = jnp.concatenate([c_s, xy])
        disp = attraction(fd, table, d_off, io * attract, s_n)
        if with_repulsion:
            c_m = jnp.where(valid_m[:, None], table[fd.macro_row], FAR)
            r = repulsion(c_s, half_s, fd.soft_node, c_m, half_m, fd.macro_node)
            disp = disp + (repel * max_disp) * jnp.where(valid_s[:, None], r, 0.0)
        disp = normalise(disp, move_s, max_disp)
        return c_s + clip_to_canvas(c_s, half_s, disp, canvas)

    for with_rep, stages in _stage_groups(schedule):
        # One loop per group of like stages; per-step factors from small tables.
        steps = [schedule.num_steps[i] for i in stages]

        def per_step(vals, steps=steps):
            return jnp.asarray(np.repeat(np.asarray(vals, np.float64), steps), dtype)

        attract = per_step([schedule.attract_factor[i] for i in stages])
        repel = per_step([schedule.repel_factor[i] for i in stages])
        factor = per_step([schedule.move_distance_factor[i] / schedule.num_steps[i]
                           for i in stages])

        def body(t, c_s, attract=attract, repel=repel, factor=factor,
                 with_rep=with_rep):
            return step(c_s, attract[t], repel[t], factor[t] * span, with_rep)

        c_s = jax.lax.fori_loop(0, sum(steps), body, c_s)
    # add (not set): padding rows point at node 0 with a zero delta.
    delta = jnp.where(move_s[:, None], c_s - c0, 0.0)
    return xy + jnp.zeros_like(xy).at[fd.soft_node].add(delta)


force_directed_jit = jax.jit(force_directed, static_argnames=("schedule",))


def place_soft_macros(netlist: Netlist, schedule: FDSchedule = FDSchedule(),
                      dtype=jnp.float32, **overrides) -> Netlist:
    """A copy of the netlist with its soft macros re-placed by force_directed.

    Every soft macro moves (as in Circuit Training); hard macros, ports and
    standard cells keep their positions.

    Args:
        netlist: the design with hard macros placed.
        schedule: the stages; default Circuit Training's.
        dtype: jnp.float32 (default) or jnp.float64 (needs no global x64 flag).
        **overrides: FDSchedule fields replacing the schedule's, e.g.
            ``num_steps=(10, 10, 10)`` or ``use_current_loc=True``.
    """
    if overrides:
        names = {f.name for f in dataclasses.fields(FDSchedule)}
        bad = sorted(set(overrides) - names)
        if bad:
            raise PlacerInputError(f"unknown FDSchedule field(s) {bad}; known: "
                                   f"{sorted(names)}")
        schedule = dataclasses.replace(schedule, **overrides)
    with jax.enable_x64(dtype == jnp.float64):
        arrays = cost_arrays(netlist, dtype=dtype)
        fd = fd_arrays(netlist, arrays)
        xy, orient = pad_placement(netlist, arrays, dtype=dtype)
        movable = np.zeros(xy.shape[0], bool)
        movable[: netlist.num_nodes] = netlist.node_kind == SOFT_MACRO
        out = force_directed_jit(arrays, xy, orient, jnp.asarray(movable), schedule,
                                 fd=fd)
        out = np.asarray(jax.device_get(out), np.float64)[: netlist.num_nodes]
    new_xy = netlist.node_xy.copy()
    soft = netlist.node_kind == SOFT_MACRO
    new_xy[soft] = out[soft]
    return netlist.with_placement(new_xy)
