"""Greedy wire-mask placement (the idea of MaskPlace / WireMask-BBO).

Each macro goes to the legal cell that adds the least weighted half-perimeter
wirelength to the nets it shares with already-placed pins. The increase is
separable in x and y, so the (R, C) "wire mask" is a column term plus a row
term, each a sum over the macro's net entries.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placer.cost.arrays import pin_positions
from placer.env.canvas import cell_centres
from placer.env.env import EnvParams, Observation, PlacementEnv


def wire_mask(env: PlacementEnv, params: EnvParams, obs: Observation,
              soft_xy: jnp.ndarray | None = None) -> jnp.ndarray:
    """(R * C,) weighted HPWL increase of placing the current macro at each cell.

    Pins of unplaced nodes do not count; nets with no placed pin add nothing.
    With `soft_xy` (V, 2), soft macros count as placed at those positions
    (an estimate from an earlier force-directed pass).
    """
    return wire_increase(params, obs, env.spec.grid_rows, env.spec.grid_cols, soft_xy)


def wire_increase(params: EnvParams, obs: Observation, rows: int, cols: int,
                  soft_xy: jnp.ndarray | None = None) -> jnp.ndarray:
    """wire_mask on an R x C grid given as Python ints (no env needed)."""
    a = params.cost
    n = a.num_nets
    node = obs.current
    xy, placed = obs.xy, obs.placed
    if soft_xy is not None:
        xy = jnp.where(params.soft[:, None], soft_xy, xy)
        placed = placed | params.soft
    pos = pin_positions(a, xy, params.orient)                # (P, 2)
    e_node = a.pin_node[a.entry_pin]                          # (E,)
    e_pos = pos[a.entry_pin]
    e_placed = placed[e_node] & (e_node != node) & (a.entry_net < n)
    big = jnp.asarray(jnp.finfo(e_pos.dtype).max, e_pos.dtype)
    hi = jax.ops.segment_max(jnp.where(e_placed[:, None], e_pos, -big), a.entry_net,
                             num_segments=n + 1)
    lo = jax.ops.segment_min(jnp.where(e_placed[:, None], e_pos, big), a.entry_net,
                             num_segments=n + 1)
    has = hi[:, 0] > -big                                     # net has a placed pin
    hi = jnp.where(has[:, None], hi, 0.0)
    lo = jnp.where(has[:, None], lo, 0.0)
    mine = (e_node == node) & (a.entry_net < n) & has[a.entry_net]
    w = jnp.where(mine, jnp.concatenate([a.net_weight, jnp.zeros((1,), pos.dtype)])
                  [a.entry_net], 0.0)
    # pin offset from the macro centre (oriented)
    off = e_pos - xy[node]
    cx, cy = cell_centres(a.canvas, rows, cols)
    ehi, elo = hi[a.entry_net], lo[a.entry_net]
    px = cx[None, :] + off[:, 0:1]                            # (E, C)
    py = cy[None, :] + off[:, 1:2]                            # (E, R)
    dx = jnp.maximum(px - ehi[:, 0:1], 0) + jnp.maximum(elo[:, 0:1] - px, 0)
    dy = jnp.maximum(py - ehi[:, 1:2], 0) + jnp.maximum(elo[:, 1:2] - py, 0)
    col_cost = w @ dx                                         # (C,)
    row_cost = w @ dy                                         # (R,)
    return (row_cost[:, None] + col_cost[None, :]).reshape(-1)


def greedy_policy(env: PlacementEnv, params: EnvParams,
                  soft_xy: jnp.ndarray | None = None):
    """policy(key, obs) -> the legal cell of least wirelength increase; ties go
    to the cell nearest the canvas centre (then the lowest index). See
    wire_mask for `soft_xy`."""
    rows, cols = env.spec.grid_rows, env.spec.grid_cols
    cx, cy = cell_centres(params.cost.canvas, rows, cols)
    centre = params.cost.canvas / 2
    dist = (jnp.abs(cy[:, None] - centre[1]) + jnp.abs(cx[None, :] - centre[0]))
    dist = dist.reshape(-1) / params.cost.canvas.sum()

    def policy(key, obs):
        del key
        inc = wire_mask(env, params, obs, soft_xy)
        scale = jnp.maximum(jnp.max(jnp.where(obs.action_mask, inc, 0.0)), 1e-12)
        score = inc / scale + 1e-6 * dist
        score = jnp.where(obs.action_mask, score, jnp.inf)
        return jnp.argmin(score).astype(jnp.int32)

    return policy
