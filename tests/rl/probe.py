"""A probe environment for PPO: one macro, a 4 x 4 grid, one best cell."""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from placer.config import PolicyConfig, PPOConfig
from placer.cost.incremental import move_arrays
from placer.env.env import make_env
from placer.models.graph import netlist_graph
from placer.rl.networks import PolicyValue
from placer.rl.ppo import Problem
from placer.stdcell.force_directed import FDSchedule
from tests.cost.tiny import tiny_netlist

# The single 1 x 1 macro connects to a port at the canvas corner (0, 0): the
# corner cell (row 0, col 0, action 0) has the least wirelength, and every
# step away from it costs 0.125 of proxy (rewards -0.743, -0.868, ...).
BEST_CELL = 0
# PPO settings that learn the probe in about 10 updates.
PROBE_CFG = PPOConfig(num_envs=16, num_epochs=4, num_minibatches=2,
                      learning_rate=3e-3, ent_coef=0.0, reward_norm="running",
                      imitation_coef=0.0)
# A small network that compiles fast (small_net builds it). Without the
# heuristic prior, so that the tests of PPO's mechanics start from a policy
# that has something to learn (tests/rl/test_prior.py tests the prior).
SMALL = PolicyConfig(hidden=16, num_layers=1, attention=16, deconv_channels=(8,),
                     conv_channels=(8,), conv_embed=4,
                     value_hidden=(16,), wire_prior=0.0)


def probe_netlist():
    """Port at (0, 0), one 1 x 1 hard macro, one net; 4 x 4 canvas and grid."""
    return tiny_netlist([("port", 0, 0, 0, 0), ("hard", 2, 2, 1, 1)], [(1.0, [0, 1])],
                        canvas_width=4.0, canvas_height=4.0, grid_cols=4,
                        grid_rows=4)


def probe_problem():
    """(env, Problem) of the probe netlist with a 1-step force-directed pass."""
    nl = probe_netlist()
    env, params = make_env(nl, fd_schedule=FDSchedule(num_steps=(1, 1, 1)))
    return env, Problem(params, netlist_graph(nl))


def small_net(rows: int = 4, cols: int = 4, **kw) -> PolicyValue:
    """The SMALL PolicyValue for an R x C grid (kw: PolicyConfig overrides)."""
    return PolicyValue.from_config(dataclasses.replace(SMALL, **kw), rows, cols)


def probe_episode(cell: int):
    """(env, env params, move arrays, cells (M,), final positions (V, 2)) of
    the probe's one-macro episode that puts the macro at ``cell``: the
    starting point of the local-search tests."""
    env, pr = probe_problem()
    ep = pr.env_params
    mv = move_arrays(ep.cost, np.asarray(ep.order))
    cells = jnp.zeros(ep.order.shape[0], jnp.int32).at[0].set(cell)
    state, _ = env.reset(ep)
    state, _ = env.place(state, jnp.int32(cell), ep)
    return env, ep, mv, cells, env.final_placement(state, ep)
