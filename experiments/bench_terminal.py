"""The terminal steps of a batch of episodes (soft-macro placement + proxy
cost) on Ariane133: vmapped against in turn (PlacementEnv.terminals).

    python experiments/bench_terminal.py [--soft fd analytical] [--envs 8]
        [--repeats 3]

The batch's final states come from random masked episodes (hard macros on
random legal cells). Prints a markdown table: per soft placer, the median
wall time of the batch's terminal steps vmapped (``jax.vmap(env.terminal)``,
the code before), in turn (``lax.map``: ``env.terminals``), and in turn in
chunks of 2 and 4 vmapped episodes (``lax.map(batch_size=...)``), each with
the largest reward difference from the vmapped one (float summation order).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import jax
import jax.numpy as jnp
from _paths import SHARED

import placer
from placer.env.env import make_env, random_policy

A = SHARED / "netlists" / "ariane133_ng45"


def final_states(env, params, b):
    def steps(k):
        state, ts = env.reset(params)

        def body(c, k):
            s, o = c
            s, o = env.place(s, random_policy(k, o), params)
            return (s, o), None

        keys = jax.random.split(k, params.order.shape[0])
        return jax.lax.scan(body, (state, ts.observation), keys)[0][0]

    return jax.jit(jax.vmap(steps))(jax.random.split(jax.random.PRNGKey(0), b))


def timed(f, x, repeats):
    out = jax.block_until_ready(f(x))
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(f(x))
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--soft", nargs="+", default=["fd", "analytical"])
    p.add_argument("--envs", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    if not A.exists():
        sys.exit(f"{A} not found")
    nl = placer.load_netlist(str(A / "netlist.pb.txt.gz"), str(A / "legalized.plc"))
    b = args.envs
    print(f"# terminal steps of {b} Ariane133 episodes "
          f"({time.strftime('%Y-%m-%d %H:%M')}, jax {jax.__version__}, "
          f"{jax.devices()[0].platform} x{len(jax.devices())})\n")
    print("| soft placer | how | batch (median, s) | per episode (s) | speed-up | "
          "largest reward difference |")
    print("|---|---|---|---|---|---|")
    for soft in args.soft:
        env, params = make_env(nl, soft=soft)
        states = final_states(env, params, b)

        def term(s, env=env, params=params):
            return env.terminal(s, params)["reward"]

        ways = [("vmap", jax.jit(jax.vmap(term))),
                ("in turn (terminals)",
                 jax.jit(lambda s, env=env, params=params:
                         env.terminals(s, params)["reward"]))]
        for c in (2, 4):
            if c < b:
                ways.append((f"in turn, chunks of {c}",
                             jax.jit(lambda s, c=c, term=term:
                                     jax.lax.map(term, s, batch_size=c))))
        base_t, base = None, None
        for name, f in ways:
            t, r = timed(f, states, args.repeats)
            if base is None:
                base_t, base = t, r
            diff = float(jnp.max(jnp.abs(r - base)))
            print(f"| {soft} | {name} | {t:.3f} | {t / b:.3f} | {base_t / t:.2f} | "
                  f"{diff:.1e} |", flush=True)


if __name__ == "__main__":
    main()
