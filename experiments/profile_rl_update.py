"""XLA's cost estimate (GFLOP, GB accessed) of the pieces of a PPO update and
of a random episode on one design: load-independent numbers for a shared
machine (experiments/profile_rl_update.md).

    python experiments/profile_rl_update.py NETLIST PLC \
        [--models "{}" "{'conv_channels': (16, 16), 'conv_embed': 8}"]

For a lax.scan / fori_loop XLA counts one iteration, so the per-step pieces
are compiled alone.
"""

from __future__ import annotations

import argparse
import ast

import jax
import jax.numpy as jnp

import placer
from placer.config import PolicyConfig, PPOConfig, TrainRLConfig
from placer.cost.proxy import cost_terms
from placer.rl import networks as nets
from placer.rl import ppo
from placer.rl.train import build_session, initial_params
from placer.stdcell.force_directed import FDSchedule, force_directed


def cost(f, *args) -> tuple[float, float]:
    """(GFLOP, GB accessed) of jit(f)(*args) as XLA estimates them."""
    c = jax.jit(f).lower(*args).compile().cost_analysis()
    c = c[0] if isinstance(c, list) else c
    return c.get("flops", 0.0) / 1e9, c.get("bytes accessed", 0.0) / 1e9


def row(name, gf_gb, scale=1.0):
    print(f"| {name} | {gf_gb[0] * scale:.2f} | {gf_gb[1] * scale:.2f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist")
    ap.add_argument("plc")
    ap.add_argument("--models", nargs="*", default=["{}"],
                    help="PolicyConfig overrides (Python dict literals)")
    ap.add_argument("--batch", type=int, default=133, help="minibatch rows")
    a = ap.parse_args()
    nl = placer.load_netlist(a.netlist, a.plc)
    print("| piece | GFLOP | GB accessed |\n|---|---|---|")
    for i, m in enumerate(a.models):
        profile(a, nl, m, env_too=i == 0)


def profile(a, nl, m: str, env_too: bool) -> None:
    """Prints the rows of one network (``m``: PolicyConfig overrides)."""
    over = ast.literal_eval(m)
    cfg = TrainRLConfig(netlist=a.netlist, ppo=PPOConfig(num_envs=4),
                        model=PolicyConfig(**over))
    se = build_session(cfg, nl)
    env, net, pr = se.env, se.net, se.problem
    params = jax.eval_shape(lambda: initial_params(cfg, se, jax.random.PRNGKey(0)))
    traj = jax.eval_shape(lambda p, q: ppo.rollout(
        env, net, p, q, jax.random.PRNGKey(0))[0], params, pr)
    n = a.batch
    mb = jax.tree.map(lambda x: jax.ShapeDtypeStruct((n, *x.shape[1:]), x.dtype),
                      traj)
    adv = jnp.zeros(n)

    def grad(b):
        return jax.grad(lambda p, q, b: ppo.ppo_loss(net, p, q, b, adv, adv,
                                                     PPOConfig())[0])

    row(f"{m}: minibatch gradient ({n} obs), stored maps",
        cost(grad(mb), params, pr, mb))
    row(f"{m}: minibatch gradient ({n} obs), per observation",
        cost(grad(mb), params, pr, mb.replace(maps=None)))
    obs = env.reset(pr.env_params)[1].observation
    tables = jax.eval_shape(lambda p, q: nets.head_tables(
        net, p, q.graph, q.env_params), params, pr)
    row(f"{m}: policy step, stored maps (x1e3: MFLOP / MB)", cost(
        lambda p, q, o, t: ppo._policy_step(net, p, q, o, jax.random.PRNGKey(0),
                                            False, t)[:3],
        params, pr, obs, tables), 1e3)
    row(f"{m}: policy step, per observation (MFLOP / MB)", cost(
        lambda p, q, o: ppo._policy_step(net, p, q, o, jax.random.PRNGKey(0),
                                         False)[:3], params, pr, obs), 1e3)
    if not env_too:
        return
    row("wire_features, one step (MFLOP / MB)",
        cost(lambda q, o: ppo.wire_inputs(net, q, o), pr, obs), 1e3)
    row("head_maps, one step (MFLOP / MB)", cost(
        lambda q, o: nets.head_maps(q.graph, q.env_params.orient, o,
                                    net.grid_rows, net.grid_cols), pr, obs), 1e3)
    s, _ = env.reset(pr.env_params)
    p = pr.env_params
    row("env place, one step (MFLOP / MB)",
        cost(lambda s, q: env.place(s, jnp.int32(0), q), s, p), 1e3)
    for sch, name in (((1, 0, 0), "attraction"), ((0, 1, 0), "repulsion")):
        row(f"force-directed {name} step (MFLOP / MB)", cost(
            lambda p, xy, sch=sch: force_directed(
                p.cost, xy, p.orient, p.soft, FDSchedule(num_steps=sch), fd=p.fd),
            p, s.xy), 1e3)
    row("proxy cost terms (MFLOP / MB)", cost(
        lambda p, xy: cost_terms(p.cost, xy, p.orient, env.spec.weights),
        p, s.xy), 1e3)


if __name__ == "__main__":
    main()
