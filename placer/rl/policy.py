"""Inference with a trained policy: load it, place a netlist with it.

``best_episode`` runs the greedy episode and/or ``samples`` sampled episodes
in one vmapped, jitted call and keeps the best (least proxy cost); the
environment's action masks make every complete episode legal
(``placer.place(method="rl")`` uses it: placer.placers.rl).

Policy checkpoints name their format in their metadata; ``load_policy``
finds the loader of a format in a registry (``register_policy_format``).
This module registers the float format; placer.quant registers the
quantized one when it is imported (``import placer`` makes it available).

Dimensions: N sampled episodes, V nodes, R x C grid.
"""

from __future__ import annotations

import dataclasses
import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from placer.checkpoint import Checkpoint, restore_checkpoint
from placer.config import PolicyConfig
from placer.env.env import EnvSpec, PlacementEnv
from placer.errors import PlacerInputError
from placer.models.graph import netlist_graph
from placer.netlist.model import Netlist
from placer.rl import ppo
from placer.rl.networks import PolicyValue, uncommitted

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


def model_config(meta: dict) -> PolicyConfig:
    """The PolicyConfig of a policy checkpoint's metadata (checkpoints
    written before the conv head existed hold deconv policies, and those
    written before the wire mask or the heuristic prior existed, policies
    without them; the encoder input was "placement" until it had a metadata
    key; the prior's scale was linear until wire_prior_log existed)."""
    return PolicyConfig(**{"head": "deconv", "wire_mask": False,
                           "encoder_input": "placement", "wire_prior": 0.0,
                           "wire_prior_log": False, **meta["model"]})


def training_designs(meta: dict) -> list[str]:
    """Every design a policy was trained or fine-tuned on, in order (its
    metadata's "training_designs"; policies written before that key list
    their training run's "netlists" and perhaps a "fine_tuned_on")."""
    if "training_designs" in meta:
        names = list(meta["training_designs"])
    else:
        names = list(meta.get("netlists", [meta["netlist"]] if "netlist" in meta
                              else []))
        if "fine_tuned_on" in meta:
            names.append(meta["fine_tuned_on"])
    return list(dict.fromkeys(names))


# format name -> loader(checkpoint, path, network) -> Policy
PolicyLoader = Callable[[Checkpoint, str, PolicyValue], "Policy"]
_FORMATS: dict[str, PolicyLoader] = {}


def register_policy_format(fmt: str, loader: PolicyLoader) -> None:
    """Makes ``load_policy`` read checkpoints whose metadata format is
    ``fmt`` with ``loader(checkpoint, path, network)``; the network is
    already built from the checkpoint's model config and grid."""
    _FORMATS[fmt] = loader


def policy_formats() -> tuple[str, ...]:
    """The checkpoint formats load_policy reads (registered so far)."""
    return tuple(sorted(_FORMATS))


def _load_float(ckpt: Checkpoint, path: str, net: PolicyValue) -> Policy:
    del path
    return Policy(net=net, params=uncommitted(ckpt.params), meta=ckpt.meta)


register_policy_format(POLICY_FORMAT, _load_float)


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
        PlacerInputError: no checkpoint there, or not a checkpoint of a
            registered policy format (see register_policy_format).
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
    loader = _FORMATS.get(fmt)
    if loader is None:
        known = ", ".join(repr(f) for f in policy_formats())
        raise PlacerInputError(
            f"not a policy checkpoint of a known format (format {fmt!r}; known: "
            f"{known}; quantized policies need placer.quant imported)", path)
    cfg = model_config(ckpt.meta)
    net = PolicyValue.from_config(cfg, int(ckpt.meta["grid_rows"]),
                                  int(ckpt.meta["grid_cols"]))
    return loader(ckpt, path, net)


@functools.lru_cache(maxsize=16)
def _episodes_fn(spec: EnvSpec, net: PolicyValue, samples: int, greedy: bool):
    """Jitted (params, Problem, key, temperature) -> the final states of the
    greedy episode (first) and the samples at ``temperature`` (a traced
    scalar: one program for every temperature), with ``infeasible``; one
    per (env spec, network, samples, greedy). ``_terminal_fn`` finishes
    them."""
    env = PlacementEnv(spec)

    def episodes(params, problem: ppo.Problem, key: jax.Array,
                 temperature: jax.Array) -> dict:
        def one(k, g):
            return ppo.rollout(env, net, params, problem, k, greedy=g,
                               finish=False, temperature=temperature)[1]

        outs = []
        if greedy:
            outs.append(jax.tree.map(lambda x: x[None], one(key, True)))
        if samples:
            keys = jax.random.split(jax.random.fold_in(key, 1), samples)
            outs.append(jax.vmap(lambda k: one(k, False))(keys))
        return jax.tree.map(lambda *x: jnp.concatenate(x), *outs)

    return jax.jit(episodes)


@functools.lru_cache(maxsize=16)
def _terminal_fn(spec: EnvSpec):
    """Jitted (EnvParams, one final EnvState) -> env.terminal's dict. Every
    episode is finished by this one program, whatever the batch it came
    from: the soft-macro placers' results depend on the compiled program's
    floating-point order (on ibm01 the same hard placement scored 0.7148
    alone and 0.7163 finished inside a batch of 17; experiments/
    results_rl.md, session 12), so a placement's score must not depend on
    how many episodes ran beside it."""
    env = PlacementEnv(spec)
    return jax.jit(lambda params, state: env.terminal(state, params))


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
                 seed: int = 0, temperature: float = 1.0
                 ) -> tuple[np.ndarray, float, int]:
    """The best of the greedy and ``samples`` sampled episodes.

    Args:
        env, env_params: the environment of ``netlist`` (make_env).
        netlist: the design (for its graph).
        policy: from load_policy; a deconv-head policy's grid must be the
            environment's.
        samples: N sampled episodes (0: none).
        greedy: also run the greedy (argmax) episode.
        seed: seed of the sampling.
        temperature: the samples' temperature (> 0; the logits are divided
            by it): 1 samples the policy's own distribution, lower values
            stay nearer its mode.

    Returns:
        xy (V', 2) final positions (soft macros placed) of the best episode,
        its float32 proxy cost, and its index (0 is the greedy one when run).

    Raises:
        PlacerInputError: another grid, no episode asked for, a temperature
            <= 0, every episode ran out of legal cells, or none has a finite
            cost.
    """
    net = net_for_grid(policy, env.spec.grid_rows, env.spec.grid_cols)
    if samples < 0 or (samples == 0 and not greedy):
        raise PlacerInputError("the rl method needs samples > 0 or greedy=True")
    if not float(temperature) > 0:
        raise PlacerInputError(f"temperature must be positive, got {temperature!r}")
    problem = ppo.Problem(env_params, netlist_graph(netlist))
    run = _episodes_fn(env.spec, net, int(samples), bool(greedy))
    out = run(policy.params, problem, jax.random.PRNGKey(seed),
              np.float32(temperature))
    ok = ~np.asarray(out["infeasible"])
    if not ok.any():
        raise PlacerInputError("every policy episode ran out of legal cells")
    finish = _terminal_fn(env.spec)
    best = (np.inf, None, -1)
    for i in np.flatnonzero(ok):
        term = finish(env_params, jax.tree.map(lambda x, i=i: x[i], out["state"]))
        cost = float(term["proxy"])
        if cost < best[0]:
            best = (cost, np.asarray(term["xy"]), int(i))
    if best[1] is None:
        raise PlacerInputError("no policy episode has a finite proxy cost")
    return best[1], best[0], best[2]


__all__ = ["DEFAULT_POLICY", "POLICY_FORMAT", "Policy", "PolicyLoader",
           "best_episode", "check_grid", "load_policy", "model_config",
           "net_for_grid", "policy_formats", "register_policy_format",
           "training_designs"]
