"""Inference with a trained policy: load it, place a netlist with it.

``place_rl`` runs the greedy episode and/or ``samples`` sampled episodes in
one vmapped, jitted call and keeps the best (least proxy cost). The
environment's action masks make every complete episode legal.

Dimensions: N sampled episodes, V nodes, R x C grid.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from placer.checkpoint import restore_checkpoint
from placer.config import PolicyConfig
from placer.env.env import make_env
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.rl import ppo
from placer.rl.networks import PolicyValue
from placer.stdcell.force_directed import FDSchedule

POLICY_FORMAT = "placer-policy/1"
# The policy shipped with the package (see load_policy).
DEFAULT_POLICY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checkpoint")


@dataclasses.dataclass
class Policy:
    """A trained placement policy.

    Attributes:
        net: the PolicyValue module (its grid is the policy's grid).
        params: its parameters.
        meta: the checkpoint metadata.
    """

    net: PolicyValue
    params: Any
    meta: dict


def load_policy(path: str | os.PathLike | None = None,
                step: int | None = None) -> Policy:
    """Loads a policy written by placer-train.

    Args:
        path: its ``<output_dir>/policy`` or ``<output_dir>/checkpoints``
            folder, or the output_dir itself; None: the policy shipped with
            placer in placer/rl/checkpoint/.
        step: the step to load; None: the newest.

    Raises:
        PlacerInputError: no checkpoint there, or not a policy checkpoint.
    """
    if path is None:
        path = DEFAULT_POLICY
        if not os.path.isdir(path) or not os.listdir(path):
            raise PlacerInputError(
                "no policy is shipped with placer yet; train one with "
                "`placer-train netlist=<file> output_dir=<dir>` and load it with "
                "load_policy('<dir>/policy')", path)
    path = os.fspath(path)
    if os.path.isdir(os.path.join(path, "policy")):
        path = os.path.join(path, "policy")
    ckpt = restore_checkpoint(path, step)
    if ckpt.meta.get("format") != POLICY_FORMAT:
        raise PlacerInputError(
            f"not a policy checkpoint (format {ckpt.meta.get('format')!r}, "
            f"expected {POLICY_FORMAT!r})", path)
    cfg = PolicyConfig(**ckpt.meta["model"])
    net = PolicyValue.from_config(cfg, int(ckpt.meta["grid_rows"]),
                                  int(ckpt.meta["grid_cols"]))
    return Policy(net=net, params=ckpt.params, meta=ckpt.meta)


def _episodes(env, net, params, problem, key, samples: int, greedy: bool) -> dict:
    def one(k, g):
        return ppo.rollout(env, net, params, problem, k, greedy=g)[1]

    outs = []
    if greedy:
        outs.append(jax.tree.map(lambda x: x[None], one(key, True)))
    if samples:
        keys = jax.random.split(jax.random.fold_in(key, 1), samples)
        outs.append(jax.vmap(lambda k: one(k, False))(keys))
    return jax.tree.map(lambda *x: jnp.concatenate(x), *outs)


def place_rl(netlist: Netlist, policy: Policy, samples: int = 16,
             greedy: bool = True, seed: int = 0,
             fd_steps: tuple[int, int, int] | None = None) -> Netlist:
    """Places the movable hard macros with the policy, the soft macros by
    force-directed placement; returns the best of the episodes.

    Args:
        netlist: the design; its grid must be the policy's.
        policy: from load_policy.
        samples: N sampled episodes (0: none).
        greedy: also run the greedy (argmax) episode.
        seed: seed of the sampling.
        fd_steps: the force-directed stages; None: the policy's training
            setting.

    Returns:
        A copy of the netlist with the new placement; metadata["placer"]
        holds the method, the float32 proxy cost and the episode count.

    Raises:
        PlacerInputError: a grid other than the policy's, no episode asked
            for, or every episode ran out of legal cells.
    """
    s = netlist.settings
    if (int(s.grid_rows), int(s.grid_cols)) != (policy.net.grid_rows,
                                                policy.net.grid_cols):
        raise PlacerInputError(
            f"the policy places on a {policy.net.grid_rows} x {policy.net.grid_cols} "
            f"grid; the netlist's grid is {s.grid_rows} x {s.grid_cols} (set "
            "grid_rows / grid_cols when loading it)")
    if samples < 0 or (samples == 0 and not greedy):
        raise PlacerInputError("place_rl needs samples > 0 or greedy=True")
    steps = tuple(fd_steps or policy.meta.get("fd_steps") or (100, 100, 100))
    env, params = make_env(netlist, fd_schedule=FDSchedule(num_steps=steps))
    problem = ppo.Problem(params, netlist_graph(netlist))
    run = jax.jit(lambda p, pr, k: _episodes(env, policy.net, p, pr, k, samples,
                                             greedy))
    out = jax.device_get(run(policy.params, problem, jax.random.PRNGKey(seed)))
    ok = ~np.asarray(out["infeasible"])
    if not ok.any():
        raise PlacerInputError("every policy episode ran out of legal cells")
    cost = np.where(ok, np.asarray(out["proxy"]), np.inf)
    b = int(np.argmin(cost))
    xy = np.asarray(out["xy"][b], np.float64)[: netlist.num_nodes]
    out_xy = netlist.node_xy.copy()
    moved = np.asarray(params.order[: int(params.num_to_place)])
    soft = np.asarray(params.soft)[: netlist.num_nodes]
    out_xy[moved] = _snap(xy[moved], netlist)
    out_xy[soft] = xy[soft]
    result = netlist.with_placement(out_xy, netlist.node_orient.copy())
    result.metadata = dict(netlist.metadata)
    result.metadata["placer"] = {"method": "rl", "seed": seed,
                                 "proxy_float32": float(cost[b]),
                                 "episodes": int(len(cost)),
                                 "greedy_best": bool(greedy and b == 0)}
    return result


def _snap(xy: np.ndarray, netlist: Netlist) -> np.ndarray:
    """(n, 2) positions moved to the centre of their grid cell (float64)."""
    s = netlist.settings
    cell = np.array([s.canvas_width / s.grid_cols, s.canvas_height / s.grid_rows])
    hi = np.array([s.grid_cols - 1, s.grid_rows - 1])
    idx = np.clip(np.floor(xy / cell), 0, hi)
    return (idx + 0.5) * cell


__all__ = ["DEFAULT_POLICY", "POLICY_FORMAT", "Policy", "load_policy", "place_rl"]
