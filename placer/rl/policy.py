"""Inference with a trained policy: load it, place a netlist with it.

``best_episode`` runs the greedy episode and/or ``samples`` sampled episodes
in one vmapped, jitted call and keeps the best (least proxy cost); the
environment's action masks make every complete episode legal. ``place_rl``
(= ``placer.place(method="rl")``) returns the placed Netlist.

Dimensions: N sampled episodes, V nodes, R x C grid.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from placer.checkpoint import restore_checkpoint
from placer.config import PolicyConfig
from placer.env.env import EnvSpec, PlacementEnv
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.rl import ppo
from placer.rl.networks import PolicyValue, uncommitted

POLICY_FORMAT = "placer-policy/1"
# A quantized policy (placer.quant.api: integer codes + power-of-two exponents).
QUANT_FORMAT = "placer-policy-quant/1"
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


def model_config(meta: dict) -> PolicyConfig:
    """The PolicyConfig of a policy checkpoint's metadata (checkpoints
    written before the conv head existed hold deconv policies, and those
    written before the wire mask existed, policies without it; the encoder
    input was "placement" until it had a metadata key)."""
    return PolicyConfig(**{"head": "deconv", "wire_mask": False,
                           "encoder_input": "placement", **meta["model"]})


def load_policy(path: str | os.PathLike | None = None,
                step: int | None = None) -> Policy:
    """Loads a policy written by placer-train (or a quantized one written by
    placer-quantize / placer.quant.save_quantized: a QuantizedPolicy).

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
    fmt = ckpt.meta.get("format")
    if fmt not in (POLICY_FORMAT, QUANT_FORMAT):
        raise PlacerInputError(
            f"not a policy checkpoint (format {fmt!r}, expected {POLICY_FORMAT!r} "
            f"or {QUANT_FORMAT!r})", path)
    cfg = model_config(ckpt.meta)
    net = PolicyValue.from_config(cfg, int(ckpt.meta["grid_rows"]),
                                  int(ckpt.meta["grid_cols"]))
    if fmt == QUANT_FORMAT:
        from placer.quant.api import from_checkpoint

        return from_checkpoint(ckpt, path, net)
    return Policy(net=net, params=uncommitted(ckpt.params), meta=ckpt.meta)


@functools.lru_cache(maxsize=16)
def _episodes_fn(spec: EnvSpec, net: PolicyValue, samples: int, greedy: bool):
    """Jitted (params, Problem, key) -> terminal dicts (greedy first, then
    the samples), one per (env spec, network, samples, greedy)."""
    env = PlacementEnv(spec)

    def episodes(params, problem: ppo.Problem, key: jax.Array) -> dict:
        def one(k, g):
            return ppo.rollout(env, net, params, problem, k, greedy=g)[1]

        outs = []
        if greedy:
            outs.append(jax.tree.map(lambda x: x[None], one(key, True)))
        if samples:
            keys = jax.random.split(jax.random.fold_in(key, 1), samples)
            outs.append(jax.vmap(lambda k: one(k, False))(keys))
        return jax.tree.map(lambda *x: jnp.concatenate(x), *outs)

    return jax.jit(episodes)


def net_for_grid(policy: Policy, rows: int, cols: int) -> PolicyValue:
    """The policy's network for an R x C grid: any grid for the conv head,
    only its own for the deconv head.

    Raises:
        PlacerInputError: a deconv policy and another grid.
    """
    if policy.net.grid_free:
        return policy.net.for_grid(rows, cols)
    check_grid(policy, rows, cols)
    return policy.net


def check_grid(policy: Policy, rows: int, cols: int) -> None:
    """Raises PlacerInputError unless the policy places on an R x C grid (a
    conv-head policy places on every grid)."""
    if policy.net.grid_free:
        return
    if (int(rows), int(cols)) != (policy.net.grid_rows, policy.net.grid_cols):
        raise PlacerInputError(
            f"the policy places on a {policy.net.grid_rows} x {policy.net.grid_cols} "
            f"grid; the netlist's grid is {rows} x {cols} (set grid_rows / "
            "grid_cols when loading it)")


def best_episode(env, env_params, netlist: Netlist, policy: Policy,
                 samples: int = 16, greedy: bool = True,
                 seed: int = 0) -> tuple[np.ndarray, float, int]:
    """The best of the greedy and ``samples`` sampled episodes.

    Args:
        env, env_params: the environment of ``netlist`` (make_env).
        netlist: the design (for its graph).
        policy: from load_policy; a deconv-head policy's grid must be the
            environment's.
        samples: N sampled episodes (0: none).
        greedy: also run the greedy (argmax) episode.
        seed: seed of the sampling.

    Returns:
        xy (V', 2) final positions (soft macros placed) of the best episode,
        its float32 proxy cost, and its index (0 is the greedy one when run).

    Raises:
        PlacerInputError: another grid, no episode asked for, or every episode
            ran out of legal cells.
    """
    net = net_for_grid(policy, env.spec.grid_rows, env.spec.grid_cols)
    if samples < 0 or (samples == 0 and not greedy):
        raise PlacerInputError("the rl method needs samples > 0 or greedy=True")
    problem = ppo.Problem(env_params, netlist_graph(netlist))
    run = _episodes_fn(env.spec, net, int(samples), bool(greedy))
    out = jax.device_get(run(policy.params, problem, jax.random.PRNGKey(seed)))
    ok = ~np.asarray(out["infeasible"])
    if not ok.any():
        raise PlacerInputError("every policy episode ran out of legal cells")
    cost = np.where(ok, np.asarray(out["proxy"]), np.inf)
    b = int(np.argmin(cost))
    return np.asarray(out["xy"][b]), float(cost[b]), b


def place_rl(netlist: Netlist, policy: Policy | str | os.PathLike | None = None,
             samples: int = 16, greedy: bool = True, seed: int = 0,
             refine: bool = False) -> Netlist:
    """Places the netlist with the policy: ``placer.place(netlist,
    method="rl", ...)`` (the best of the greedy and ``samples`` sampled
    episodes; soft macros by Circuit Training's force-directed schedule).

    Args:
        netlist: the design (any grid for a conv-head policy; a deconv-head
            policy's own grid otherwise).
        policy: a Policy, a checkpoint path, or None (the shipped policy).
        samples, greedy, seed: see best_episode.
        refine: run coordinate-descent refinement afterwards.
    """
    from placer.api import place

    return place(netlist, method="rl", policy=policy, seed=seed, refine=refine,
                 samples=samples, greedy=greedy)


__all__ = ["DEFAULT_POLICY", "POLICY_FORMAT", "Policy", "best_episode", "check_grid",
           "load_policy", "model_config", "net_for_grid", "place_rl"]
