"""Data-parallel PPO over the local devices with jax.sharding.

A one-axis ``Mesh`` ("data") over the devices; the parameters, optimizer
state and netlist are replicated, and every batch-leading array of the update
(the environments' keys and trajectories, each minibatch) is constrained to
be split along "data". XLA's SPMD partitioner then runs each device's share
of the episodes and sums the gradients across devices, so the result is the
single-device update's up to float summation order.

Dimensions: B environments (divisible by the device count), D devices.
"""

from __future__ import annotations

import jax
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from placer.config import PPOConfig
from placer.env.env import PlacementEnv
from placer.errors import PlacerInputError
from placer.rl import ppo
from placer.rl.networks import PolicyValue

AXIS = "data"


def make_mesh(devices=None) -> Mesh:
    """A one-axis ("data") mesh over ``devices`` (default: all local ones)."""
    devices = list(jax.local_devices() if devices is None else devices)
    return Mesh(np.array(devices), (AXIS,))


def parallel_update(env: PlacementEnv, net: PolicyValue, cfg: PPOConfig,
                    optimizer: optax.GradientTransformation, mesh: Mesh):
    """The jitted PPO update with the batch split over ``mesh``.

    Raises:
        PlacerInputError: num_envs, or the minibatch rows, not divisible by
            the device count.
    """
    d = mesh.devices.size
    if cfg.num_envs % d:
        raise PlacerInputError(f"num_envs ({cfg.num_envs}) must be a multiple of "
                               f"the device count ({d})")
    batch = NamedSharding(mesh, PartitionSpec(AXIS))
    replicated = NamedSharding(mesh, PartitionSpec())

    def shard(tree):
        return jax.tree.map(lambda x: jax.lax.with_sharding_constraint(x, batch),
                            tree)

    update = ppo.make_update(env, net, cfg, optimizer, shard=shard)
    return jax.jit(update, in_shardings=(replicated, replicated),
                   out_shardings=replicated)


__all__ = ["AXIS", "make_mesh", "parallel_update"]
