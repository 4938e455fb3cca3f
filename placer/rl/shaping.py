"""Potential-based reward shaping (Ng, Harada and Russell, 1999) for PPO.

The environment pays its reward (minus the proxy cost) once, at the end of
an episode. Shaping adds at every step t the change of a potential Phi:

    r'_t = r_t + gamma * Phi(s_{t+1}) - Phi(s_t),   Phi(terminal) = 0,

with Phi(s) = -scale * (w_wl * wirelength + w_density * density) of the
macros placed in s (placer.cost.partial.placed_cost: exact, over the nets'
placed pins and the placed macros' density map). Over an episode of T steps
the shaped rewards telescope:

    gamma = 1:   sum_t r'_t = sum_t r_t + Phi(s_T) - Phi(s_0) = R - Phi(s_0),
    gamma < 1:   sum_t gamma^t r'_t = sum_t gamma^t r_t - Phi(s_0),

since Phi(s_T) = 0 at the terminal state. Phi(s_0), the cost of the fixed
nodes alone, is the same for every episode of a netlist: the shaped return
differs from the true one by a constant, so the optimal policies are the
same. What changes is when the agent hears about a choice: a macro placed
far from its placed neighbours costs at once, not only at the end.

With Monte-Carlo returns (gae_lambda = 1) the return from step t is
R - Phi(s_t), the true return minus a function of the state alone: the
potential acts as a baseline beside the value. With gae_lambda < 1 the
shaped one-step rewards also reach each step's advantage directly.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from placer.cost.partial import placed_cost
from placer.env.env import EnvParams, EnvState


def potential(env_params: EnvParams, state: EnvState, weights,
              scale: float = 1.0) -> jax.Array:
    """Phi(s) = -scale * the placed nodes' wirelength and density cost ()."""
    return -scale * placed_cost(env_params.cost, state.xy, env_params.orient,
                                state.placed, weights)


def shaping_term(phi: jax.Array, phi_next: jax.Array, done_next: jax.Array,
                 valid: jax.Array, gamma: float) -> jax.Array:
    """gamma * Phi(s_{t+1}) - Phi(s_t) of one step, with Phi = 0 once the
    episode is done after it, and 0 for a step after the end (not valid)."""
    nxt = jnp.where(done_next, 0.0, phi_next)
    return jnp.where(valid, gamma * nxt - phi, 0.0).astype(phi.dtype)


def reward_scale(stats_mean: jax.Array, stats_var: jax.Array, rewards: jax.Array,
                 mode: str) -> jax.Array:
    """The factor that placer.rl.ppo.normalise_rewards multiplies an episode
    reward by after taking off its offset (mode as there; static), so that
    shaping terms are in the units of the normalised final reward."""
    if mode == "none":
        return jnp.ones((), rewards.dtype)
    if mode == "batch":
        return 1.0 / (jnp.std(rewards) + 1e-8)
    return 1.0 / jnp.sqrt(stats_var + 1e-8)


__all__ = ["potential", "reward_scale", "shaping_term"]
