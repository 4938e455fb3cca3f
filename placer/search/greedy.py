"""Greedy wire-mask placement (the idea of MaskPlace / WireMask-BBO).

Each macro goes to the legal cell that adds the least weighted half-perimeter
wirelength to the nets it shares with already-placed pins
(placer.cost.wiremask).
"""

from __future__ import annotations

import functools

import jax.numpy as jnp
from jax.tree_util import Partial

from placer.cost.grid import cell_centres
from placer.cost.wiremask import wire_increase
from placer.env.env import (
    EnvParams,
    EnvSpec,
    Observation,
    PlacementEnv,
    current_entries,
)


def wire_mask(env: PlacementEnv, params: EnvParams, obs: Observation,
              soft_xy: jnp.ndarray | None = None) -> jnp.ndarray:
    """(R * C,) weighted HPWL increase of placing the current macro at each cell.

    Pins of unplaced nodes do not count; nets with no placed pin add nothing.
    With `soft_xy` (V, 2), soft macros count as placed at those positions
    (an estimate from an earlier force-directed pass).
    """
    xy, placed = obs.xy, obs.placed
    if soft_xy is not None:
        xy = jnp.where(params.soft[:, None], soft_xy, xy)
        placed = placed | params.soft
    return wire_increase(params.cost, xy, placed, params.orient, obs.current,
                         env.spec.grid_rows, env.spec.grid_cols,
                         current_entries(params, obs))


@functools.lru_cache(maxsize=32)
def _greedy_fn(spec: EnvSpec):
    """``policy(params, soft_xy, key, obs)``, one per env spec (a stable
    function: the static part of greedy_policy's jax.tree_util.Partial)."""
    env = PlacementEnv(spec)
    rows, cols = spec.grid_rows, spec.grid_cols

    def policy(params, soft_xy, key, obs):
        del key
        cx, cy = cell_centres(params.cost.canvas, rows, cols)
        centre = params.cost.canvas / 2
        dist = (jnp.abs(cy[:, None] - centre[1]) + jnp.abs(cx[None, :] - centre[0]))
        dist = dist.reshape(-1) / params.cost.canvas.sum()
        inc = wire_mask(env, params, obs, soft_xy)
        scale = jnp.maximum(jnp.max(jnp.where(obs.action_mask, inc, 0.0)), 1e-12)
        score = inc / scale + 1e-6 * dist
        score = jnp.where(obs.action_mask, score, jnp.inf)
        return jnp.argmin(score).astype(jnp.int32)

    return policy


def greedy_policy(env: PlacementEnv, params: EnvParams,
                  soft_xy: jnp.ndarray | None = None):
    """policy(key, obs) -> the legal cell of least wirelength increase; ties go
    to the cell nearest the canvas centre (then the lowest index). See
    wire_mask for `soft_xy`.

    The policy is a jax.tree_util.Partial: a pytree whose leaves are params
    and soft_xy and whose function depends only on env.spec, so a jitted
    function taking it as an argument (placer.placers.state.rollout) traces
    once for every design of the same padded shapes."""
    return Partial(_greedy_fn(env.spec), params, soft_xy)
