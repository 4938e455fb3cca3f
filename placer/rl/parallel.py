"""Data-parallel PPO over several devices, and several hosts, with jax.sharding.

A one-axis ``Mesh`` ("data") over the devices; the parameters, optimizer
state and netlist are replicated, and every batch-leading array of the update
(the environments' keys and trajectories, each minibatch) is constrained to
be split along "data". XLA's SPMD partitioner then runs each device's share
of the episodes and sums the gradients across devices, so the result is the
single-device update's up to float summation order.

Several hosts: every process runs the same program after
``initialize_distributed`` (jax.distributed); ``jax.devices()`` then lists
the devices of all processes, the mesh spans them, and each process feeds
the same replicated state (``replicate``) and computes its own devices'
share of the episodes. Replicated outputs are readable on every process.

Dimensions: B environments (divisible by the device count), D devices.
"""

from __future__ import annotations

import functools

import jax
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from placer.config import DistributedConfig, PPOConfig
from placer.env.env import EnvSpec, PlacementEnv
from placer.errors import PlacerInputError
from placer.rl import ppo
from placer.rl.networks import PolicyValue

AXIS = "data"


def initialize_distributed(cfg: DistributedConfig) -> bool:
    """Joins this process to the others (jax.distributed.initialize) when
    ``cfg`` asks for it; call it before any JAX computation. Returns whether
    it did (False: one process, or already initialised).

    Raises:
        PlacerInputError: the coordinator cannot be reached or JAX refuses
            the settings.
    """
    if not cfg.enabled or jax.distributed.is_initialized():
        return False
    kw = {} if cfg.auto else {"coordinator_address": cfg.coordinator_address,
                              "num_processes": cfg.num_processes,
                              "process_id": cfg.process_id}
    try:
        jax.distributed.initialize(**kw)
    except (RuntimeError, ValueError) as e:
        raise PlacerInputError("jax.distributed could not start: "
                               f"{str(e).splitlines()[0]}") from None
    return True


def make_mesh(devices=None) -> Mesh:
    """A one-axis ("data") mesh over ``devices`` (default: all devices of all
    processes; in one process, its local devices)."""
    devices = list(jax.devices() if devices is None else devices)
    return Mesh(np.array(devices), (AXIS,))


def training_mesh(devices: int = 0) -> Mesh | None:
    """The mesh of a training run over ``devices`` devices (0: all), or None
    when that is one device (the plain single-device update).

    Raises:
        PlacerInputError: more devices than there are, or a part of them
            when several processes take part (each must hold its share).
    """
    avail = jax.devices()
    n = len(avail) if devices == 0 else devices
    if not 1 <= n <= len(avail):
        raise PlacerInputError(f"devices={devices}, but {len(avail)} device(s) are "
                               "available (0: all)")
    if jax.process_count() > 1 and n != len(avail):
        raise PlacerInputError(f"with {jax.process_count()} processes training "
                               f"spans all {len(avail)} devices: set devices=0")
    return None if n == 1 else make_mesh(avail[:n])


def replicate(tree, mesh: Mesh):
    """``tree``'s arrays as arrays replicated over every device of ``mesh``.

    With several processes each passes the same values (the same seed and
    inputs, or the same checkpoint), and each builds its own devices'
    copies: nothing crosses between hosts."""
    sharding = NamedSharding(mesh, PartitionSpec())

    def put(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree.map(put, tree)


def parallel_update(env: PlacementEnv, net: PolicyValue, cfg: PPOConfig,
                    optimizer: optax.GradientTransformation, mesh: Mesh):
    """The jitted PPO update with the batch split over ``mesh``.

    Raises:
        PlacerInputError: num_envs, or the minibatch rows, not divisible by
            the device count.
    """
    d = mesh.devices.size
    if cfg.num_envs % d:
        raise PlacerInputError(f"ppo.num_envs ({cfg.num_envs}) must be a multiple "
                               f"of the device count ({d}), or train on fewer "
                               "devices (devices=...)")
    batch = NamedSharding(mesh, PartitionSpec(AXIS))
    replicated = NamedSharding(mesh, PartitionSpec())

    def shard(tree):
        return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, batch),
                            tree)

    update = ppo.make_update(env, net, cfg, optimizer, shard=shard, groups=d)
    return jax.jit(update, in_shardings=(replicated, replicated),
                   out_shardings=replicated,
                   compiler_options=update_compiler_options(net))


# XLA's CPU fusion emitters (jax 0.10.2) fail on the update with a frozen
# encoder, the analytical soft placer and the imitation loss ("RET_CHECK ...
# fusion_compiler.cc:546 Failed to translate module to LLVM IR": a fusion of
# the local search's legality masks is emitted with mistyped LLVM operands);
# without them it compiles (design_2, 8 episodes: 1.04-1.09 s per update,
# against 0.94 s for the unfrozen default with them;
# experiments/results_rl.md, session 12).
_NO_FUSION_EMITTERS = {"xla_cpu_use_fusion_emitters": False}


@functools.lru_cache(maxsize=1)
def _fusion_emitters_option_known() -> bool:
    """Does this XLA accept the option (a later one may drop it)?"""
    try:
        jax.jit(lambda x: x + 1, compiler_options=_NO_FUSION_EMITTERS).lower(
            np.float32(0)).compile()
    except Exception:       # an unknown option: XLA raises on compilation
        return False
    return True


def update_compiler_options(net: PolicyValue) -> dict | None:
    """Compiler options of the jitted update: the fusion emitters off for a
    frozen encoder on the CPU (the XLA failure above), else None."""
    if (net.freeze_encoder and jax.default_backend() == "cpu"
            and _fusion_emitters_option_known()):
        return dict(_NO_FUSION_EMITTERS)
    return None


@functools.lru_cache(maxsize=8)
def compiled(spec: EnvSpec, net: PolicyValue, cfg: PPOConfig, mesh=None):
    """(env, optimizer, jitted update, jitted evaluate), built once per
    (env spec, network, PPO config, mesh): runs in one process share
    compilations. ``mesh``: None for one device, or a data-parallel mesh
    (make_mesh) whose devices split the batch."""
    env = PlacementEnv(spec)
    optimizer = ppo.make_optimizer(cfg)
    if mesh is None:
        update = jax.jit(ppo.make_update(env, net, cfg, optimizer),
                         compiler_options=update_compiler_options(net))
    else:
        update = parallel_update(env, net, cfg, optimizer, mesh)
    return env, optimizer, update, jax.jit(ppo.make_evaluate(env, net))


__all__ = ["AXIS", "compiled", "initialize_distributed", "make_mesh", "parallel_update",
           "replicate", "training_mesh", "update_compiler_options"]
