"""Padded JAX arrays of one netlist, the static input of every cost function.

Built once per netlist on the host. Shapes are rounded up to multiples of
``pad_to`` so netlists of similar size share compiled functions; padded
entries carry masks (and padded net entries point at a dummy net N).

Dimensions: V nodes, P pins, E net entries, N nets, R x C grid.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from flax import struct

from placer.netlist.model import (
    HARD_MACRO,
    ORIENT_MATRICES,
    ORIENT_SWAPS_WH,
    PIN_HARD,
    SOFT_MACRO,
    Netlist,
)


def _round_up(n: int, m: int) -> int:
    return max(m, -(-n // m) * m)


@struct.dataclass
class CostArrays:
    """Everything the proxy cost needs besides the placement itself."""

    node_size: jnp.ndarray       # (V, 2) width, height at orientation N
    node_is_macro: jnp.ndarray   # (V,) bool: hard or soft macro (density)
    node_is_hard: jnp.ndarray    # (V,) bool: hard macro (macro routing)
    pin_node: jnp.ndarray        # (P,) int32
    pin_offset: jnp.ndarray      # (P, 2) N-frame offset, zero where not applied
    entry_pin: jnp.ndarray       # (E,) int32
    entry_net: jnp.ndarray       # (E,) int32, N for padding
    entry_is_driver: jnp.ndarray  # (E,) bool
    net_start: jnp.ndarray       # (N,) int32 first entry of each net
    net_end: jnp.ndarray         # (N,) int32 one past its last entry (padding: start)
    net_weight: jnp.ndarray      # (N,) wirelength weight, 0 for padding
    net_cong_weight: jnp.ndarray  # (N,) congestion weight max(w, 1), 0 for padding
    canvas: jnp.ndarray          # (2,) width, height
    routes_per_micron: jnp.ndarray  # (2,) horizontal, vertical
    macro_routes: jnp.ndarray    # (2,) horizontal, vertical
    smoothing_range: jnp.ndarray  # () int32
    grid_rows: int = struct.field(pytree_node=False, default=10)
    grid_cols: int = struct.field(pytree_node=False, default=10)

    @property
    def num_nets(self) -> int:
        return self.net_weight.shape[0]


def cost_arrays(nl: Netlist, dtype=jnp.float32, pad_to: int = 64,
                soft_pin_offsets: bool = False) -> CostArrays:
    """Pads a netlist into CostArrays.

    Args:
        nl: the design (its settings give canvas, grid and routing).
        dtype: float dtype of the arrays (float64 needs jax.enable_x64).
        pad_to: capacities are rounded up to a multiple of this.
        soft_pin_offsets: apply soft-macro pin offsets. Off by default, as in
            the reference evaluators (Circuit Training's and TILOS'), which put
            soft-macro pins at the macro centre.
    """
    s = nl.settings
    v_n, p_n, e_n, n_n = nl.num_nodes, nl.num_pins, len(nl.net_pins), nl.num_nets
    vc, pc = _round_up(v_n, pad_to), _round_up(p_n, pad_to)
    ec, nc = _round_up(e_n, pad_to), _round_up(n_n, pad_to)

    size = np.zeros((vc, 2))
    size[:v_n] = nl.node_size
    if s.soft_macros_squared:
        soft = np.flatnonzero(nl.node_kind == SOFT_MACRO)
        side = np.sqrt(nl.node_size[soft, 0] * nl.node_size[soft, 1])
        size[soft, 0] = size[soft, 1] = side
    is_macro = np.zeros(vc, bool)
    is_macro[:v_n] = (nl.node_kind == HARD_MACRO) | (nl.node_kind == SOFT_MACRO)
    is_hard = np.zeros(vc, bool)
    is_hard[:v_n] = nl.node_kind == HARD_MACRO

    pin_node = np.zeros(pc, np.int32)
    pin_node[:p_n] = nl.pin_node
    off = np.zeros((pc, 2))
    use = nl.pin_kind == PIN_HARD
    if soft_pin_offsets:
        use = use | (nl.pin_kind != PIN_HARD)
    off[:p_n] = np.where(use[:, None], nl.effective_pin_offset(), 0.0)

    entry_pin = np.zeros(ec, np.int32)
    entry_pin[:e_n] = nl.net_pins
    entry_net = np.full(ec, nc, np.int32)
    entry_net[:e_n] = np.repeat(np.arange(n_n, dtype=np.int32), nl.net_degree)
    is_driver = np.zeros(ec, bool)
    is_driver[nl.net_ptr[:-1]] = True
    start = np.full(nc, e_n, np.int32)
    end = np.full(nc, e_n, np.int32)
    start[:n_n] = nl.net_ptr[:-1]
    end[:n_n] = nl.net_ptr[1:]
    w = np.zeros(nc)
    w[:n_n] = nl.net_weight
    cw = np.zeros(nc)
    cw[:n_n] = np.where(nl.net_weight > 1, nl.net_weight, 1.0)

    f = lambda a: jnp.asarray(a, dtype=dtype)  # noqa: E731
    return CostArrays(
        node_size=f(size),
        node_is_macro=jnp.asarray(is_macro),
        node_is_hard=jnp.asarray(is_hard),
        pin_node=jnp.asarray(pin_node),
        pin_offset=f(off),
        entry_pin=jnp.asarray(entry_pin),
        entry_net=jnp.asarray(entry_net),
        entry_is_driver=jnp.asarray(is_driver),
        net_start=jnp.asarray(start),
        net_end=jnp.asarray(end),
        net_weight=f(w),
        net_cong_weight=f(cw),
        canvas=f([s.canvas_width, s.canvas_height]),
        routes_per_micron=f([s.routes_per_micron_hor, s.routes_per_micron_ver]),
        macro_routes=f([s.macro_routes_hor, s.macro_routes_ver]),
        smoothing_range=jnp.asarray(s.smoothing_range, jnp.int32),
        grid_rows=int(s.grid_rows),
        grid_cols=int(s.grid_cols),
    )


def pad_placement(nl: Netlist, arrays: CostArrays, dtype=jnp.float32):
    """The netlist's placement as padded (xy (V, 2), orient (V,)) arrays."""
    vc = arrays.node_size.shape[0]
    xy = np.zeros((vc, 2))
    xy[: nl.num_nodes] = nl.node_xy
    orient = np.zeros(vc, np.int32)
    orient[: nl.num_nodes] = np.maximum(nl.node_orient, 0)
    return jnp.asarray(xy, dtype=dtype), jnp.asarray(orient)


def oriented_sizes(arrays: CostArrays, orient: jnp.ndarray) -> jnp.ndarray:
    """(V, 2) sizes after orientation: E/W families swap width and height."""
    swap = jnp.asarray(ORIENT_SWAPS_WH)[orient]
    return jnp.where(swap[:, None], arrays.node_size[:, ::-1], arrays.node_size)


def pin_positions(arrays: CostArrays, xy: jnp.ndarray,
                  orient: jnp.ndarray) -> jnp.ndarray:
    """(P, 2) absolute pin positions: node centre + offset turned by the
    node's orientation."""
    mats = jnp.asarray(ORIENT_MATRICES, dtype=xy.dtype)[orient[arrays.pin_node]]
    off = jnp.einsum("pij,pj->pi", mats, arrays.pin_offset)
    return xy[arrays.pin_node] + off
