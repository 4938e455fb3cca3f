"""Conversions between the environment's node positions and the searches'
per-macro grid cells and orientations, and batched rollouts."""

from __future__ import annotations

import types

import jax
import numpy as np
from jax.tree_util import Partial

from placer.env.env import rollout_fn, rollouts_fn
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


def _as_pytree(policy):
    """``policy`` as a jax.tree_util.Partial (a pytree whose function is
    static), or None where it is a closure, whose identity is new at every
    call (a cached program would only keep it alive)."""
    if isinstance(policy, Partial):
        return policy
    if isinstance(policy, types.FunctionType) and policy.__closure__ is None:
        return Partial(policy)      # a plain function: random_policy
    return None


def rollouts(problem: Problem, policy, key: jax.Array, n: int) -> dict:
    """Terminal dicts of n vmapped episodes of ``policy``.

    A plain function or jax.tree_util.Partial policy (random_policy,
    greedy_policy) runs the program compiled once per env spec and padded
    shapes; any other callable is jitted afresh."""
    env, params = problem.env, problem.params
    keys = jax.random.split(key, n)
    tree = _as_pytree(policy)
    if tree is None:
        run = jax.jit(lambda keys: env.rollouts(params, keys, policy))
        return jax.device_get(run(keys))
    return jax.device_get(rollouts_fn(env.spec)(params, keys, tree))


def rollout(problem: Problem, policy, key: jax.Array) -> dict:
    """The terminal dict of one episode of ``policy`` (compiled once per env
    spec and padded shapes as in ``rollouts``)."""
    env, params = problem.env, problem.params
    tree = _as_pytree(policy)
    if tree is None:
        return jax.device_get(jax.jit(lambda k: env.rollout(params, k, policy))(key))
    return jax.device_get(rollout_fn(env.spec)(params, key, tree))


__all__ = ["cells_from_xy", "order_nodes", "rollout", "rollouts", "to_state",
           "with_orients"]
