"""`place()`: one entry point for every registered placer (placer.placers)."""

from __future__ import annotations

import sys
import time

import jax
import numpy as np

from placer.config import SOFT_PLACERS
from placer.cost.proxy import proxy_cost
from placer.env.env import make_env
from placer.errors import PlacerInputError
from placer.gridding import grid_for
from placer.netlist.model import Netlist
from placer.placers import POST_PASSES, Placed, Problem, get, methods, parse_options
from placer.placers.registry import suggest
from placer.placers.state import cells_from_xy, order_nodes

# Share of budget_s that the method gets when refinement follows. Refinement
# stops when a sweep gains too little: on Ariane133 after SA its hard-macro
# sweeps used 17-20 s of the 450 s that a share of 0.75 left it at
# budget_s=1800, and the soft-macro polish after them about 40 s more
# (experiments/results_soft.md), so 0.9.
SEARCH_SHARE = 0.9


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _result(problem: Problem, placed: Placed) -> Netlist:
    """The netlist of a placement: fixed nodes at their input positions,
    movable hard macros on cell centres (float64), soft macros where the
    soft-macro pass put them, movable nodes' orientations from the placer."""
    netlist = problem.netlist
    v = netlist.num_nodes
    nodes = order_nodes(problem)
    new_orient = netlist.node_orient.copy()
    movable = netlist.node_orient >= 0
    new_orient[movable] = np.asarray(placed.orient)[:v][movable]
    out_xy = netlist.node_xy.copy()
    xy = np.asarray(placed.xy, dtype=np.float64)[:v]
    s = netlist.settings
    cells = cells_from_xy(xy, nodes, netlist)
    out_xy[nodes, 0] = (cells % s.grid_cols + 0.5) * (s.canvas_width / s.grid_cols)
    out_xy[nodes, 1] = (cells // s.grid_cols + 0.5) * (s.canvas_height / s.grid_rows)
    soft = np.asarray(problem.params.soft)[:v]
    out_xy[soft] = xy[soft]
    return netlist.with_placement(out_xy, new_orient)


def place(netlist: Netlist, method: str = "sa", seed: int = 0,
          budget_s: float | None = None, refine: bool = False,
          progress: bool = False, policy=None, soft: str = "analytical",
          **options) -> Netlist:
    """Places every movable hard macro and the soft macros of `netlist`.

    The grid is the netlist's (from its .plc or the arguments of
    load_netlist); when neither gave one, Circuit Training's gridding search
    chooses it. Fair start: movable nodes' input positions are ignored; hard
    macros are placed by the method and soft macros by the ``soft`` placer
    from the canvas centre, so the result depends only on (netlist, method,
    seed, soft, options) (and the budget for time-budgeted search).

    Args:
        netlist: the design (settings give canvas and grid).
        method: a registered placer (``placer.placers.methods()``): "random",
            "greedy", "sa" or "rl" (see the README's table).
        seed: random seed.
        budget_s: wall-clock budget (compilation included). "sa": the
            search's; None runs a fixed number of stages (`stages`). "rl":
            first fine-tune the policy on this netlist by PPO for that long
            (at least one update), then place with it; None places
            zero-shot. With `refine`, the method gets 90% of it and the
            refinement the rest.
        refine: after placing, run coordinate-descent refinement (hard
            macros over neighbouring cells, then the soft macros polished on
            the exact proxy: placer.stdcell.polish); its result is kept only
            when its float64 proxy cost is lower than the method's
            (metadata["placer"]["proxy_before_refine"]: the method's own).
        progress: write progress lines to stderr.
        policy: for "rl": a placer.rl.policy.Policy, a checkpoint path, or
            None (the policy shipped with placer); the same as the option
            ``policy=``.
        soft: the soft-macro placer used after every SA stage, refinement
            sweep and policy episode, and at the end: "analytical" (the
            default: placer.stdcell.analytical, lower proxy on every design
            measured, experiments/results_soft.md) or "fd" (Circuit
            Training's force-directed pass, as its published numbers use).
        **options: the method's options (its class in placer.config:
            RandomOptions, GreedyOptions, SAConfig, RLOptions), refinement's
            (RefineOptions: refine_radius, refine_sweeps,
            refine_soft_sweeps), and ``order``
            ("area" | "index" | a node list: the order macros are placed in).

    Returns:
        a copy of the netlist with the new placement (and orientations), its
        metadata["placer"] recording the method, seed, cost and time.

    Raises:
        PlacerInputError: an unknown method or option, an invalid option
            value or budget (all checked before any work), or a design the
            method cannot place legally.
    """
    t0 = time.perf_counter()
    spec = get(method)
    if budget_s is not None and not (isinstance(budget_s, int | float)
                                     and budget_s > 0):
        raise PlacerInputError(f"budget_s must be positive, got {budget_s!r}")
    opts = dict(options)
    order = opts.pop("order", "area")
    if policy is not None:
        opts["policy"] = policy
    method_opts, refine_opts = parse_options(method, opts, refine)
    if soft not in SOFT_PLACERS:
        raise PlacerInputError(f"unknown soft placer {soft!r}"
                               f"{suggest(str(soft), SOFT_PLACERS)} (known: "
                               f"{', '.join(SOFT_PLACERS)})")
    if not netlist.metadata.get("grid_given", True):
        netlist = grid_for(netlist)     # Circuit Training's gridding search
    env, params = make_env(netlist, order=order, soft=soft)
    report = _stderr if progress else (lambda line: None)
    share = budget_s * (SEARCH_SHARE if refine else 1.0) if budget_s else None
    problem = Problem(netlist, env, params, jax.random.PRNGKey(seed), seed=seed,
                      budget_s=share, t0=t0, report=report)
    placed = spec.fn(problem, method_opts)
    result = _result(problem, placed)
    unrefined = {}
    if refine:
        problem.budget_s = budget_s
        better = POST_PASSES["refine"].fn(problem, refine_opts, placed)
        refined = _result(problem, better)
        before, after = proxy_cost(result).proxy, proxy_cost(refined).proxy
        report(f"refine: proxy {before:.6f} -> {after:.6f} (float64)"
               + ("" if after < before else "; kept the unrefined placement"))
        if after < before:
            placed, result = better, refined
        # the method's own result, apart from what refinement added
        unrefined = {"proxy_before_refine": before}
    result.metadata = dict(netlist.metadata)
    result.metadata["placer"] = {"method": method, "seed": seed, "refine": refine,
                                 "soft": soft, **unrefined,
                                 "proxy_float32": float(placed.cost),
                                 "seconds": time.perf_counter() - t0,
                                 **placed.info}
    return result


def place_rl(netlist: Netlist, policy=None, samples: int = 16, greedy: bool = True,
             seed: int = 0, refine: bool = False, soft: str = "fd") -> Netlist:
    """``place(netlist, method="rl", ...)``: the best of the policy's greedy
    and ``samples`` sampled episodes, optionally refined; soft macros by the
    force-directed pass by default, the reward the policies are trained on."""
    return place(netlist, method="rl", policy=policy, seed=seed, refine=refine,
                 samples=samples, greedy=greedy, soft=soft)


METHODS = methods()

__all__ = ["METHODS", "SOFT_PLACERS", "place", "place_rl"]
