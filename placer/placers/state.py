"""Conversions between the environment's node positions and the searches'
per-macro grid cells and orientations, and batched rollouts."""

from __future__ import annotations

import jax
import numpy as np

from placer.netlist.model import Netlist
from placer.placers.registry import Problem


def cells_from_xy(xy: np.ndarray, nodes: np.ndarray, nl: Netlist) -> np.ndarray:
    """(len(nodes),) grid cell (row * cols + col) holding each node's centre."""
    s = nl.settings
    gw, gh = s.canvas_width / s.grid_cols, s.canvas_height / s.grid_rows
    col = np.clip(np.floor(xy[nodes, 0] / gw), 0, s.grid_cols - 1).astype(np.int32)
    row = np.clip(np.floor(xy[nodes, 1] / gh), 0, s.grid_rows - 1).astype(np.int32)
    return row * s.grid_cols + col


def order_nodes(problem: Problem) -> np.ndarray:
    """The macros the environment places, in its order."""
    p = problem.params
    return np.asarray(p.order[: int(p.num_to_place)])


def to_state(problem: Problem, xy: np.ndarray,
             orient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cells (M',), orients (M',)) of a placement, padded to the env's order."""
    nodes = order_nodes(problem)
    m_pad = problem.params.order.shape[0]
    cells = np.zeros(m_pad, np.int32)
    cells[: len(nodes)] = cells_from_xy(np.asarray(xy), nodes, problem.netlist)
    orients = np.zeros(m_pad, np.int32)
    orients[: len(nodes)] = np.asarray(orient)[nodes]
    return cells, orients


def with_orients(problem: Problem, orients: np.ndarray) -> np.ndarray:
    """(V',) orientation codes: the env's, with the placed macros' replaced."""
    nodes = order_nodes(problem)
    out = np.asarray(problem.params.orient).copy()
    out[nodes] = np.asarray(orients)[: len(nodes)]
    return out


def rollouts(problem: Problem, policy, key: jax.Array, n: int) -> dict:
    """Terminal dicts of n vmapped episodes of ``policy``."""
    env, params = problem.env, problem.params
    run = jax.jit(lambda keys: env.rollouts(params, keys, policy))
    return jax.device_get(run(jax.random.split(key, n)))


def rollout(problem: Problem, policy, key: jax.Array) -> dict:
    """The terminal dict of one episode of ``policy``."""
    env, params = problem.env, problem.params
    return jax.device_get(jax.jit(lambda k: env.rollout(params, k, policy))(key))


__all__ = ["cells_from_xy", "order_nodes", "rollout", "rollouts", "to_state",
           "with_orients"]
