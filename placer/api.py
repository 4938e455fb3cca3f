"""`place()`: one entry point for every placer."""

from __future__ import annotations

import time

import jax
import numpy as np

from placer.errors import PlacerInputError
from placer.netlist.model import Netlist

METHODS = ("random", "greedy", "sa", "rl")


def _cells_from_xy(xy: np.ndarray, nodes: np.ndarray, nl: Netlist) -> np.ndarray:
    s = nl.settings
    gw, gh = s.canvas_width / s.grid_cols, s.canvas_height / s.grid_rows
    col = np.clip(np.floor(xy[nodes, 0] / gw), 0, s.grid_cols - 1).astype(np.int32)
    row = np.clip(np.floor(xy[nodes, 1] / gh), 0, s.grid_rows - 1).astype(np.int32)
    return row * s.grid_cols + col


def _rollouts(env, params, policy, key, n):
    run = jax.jit(jax.vmap(lambda k: env.rollout(params, k, policy)))
    return jax.device_get(run(jax.random.split(key, n)))


def place(netlist: Netlist, method: str = "sa", seed: int = 0,
          budget_s: float | None = None, refine: bool = False,
          progress: bool = False, policy=None, **options) -> Netlist:
    """Places every movable hard macro and the soft macros of `netlist`.

    The grid is the netlist's (from its .plc or the arguments of
    load_netlist); when neither gave one, Circuit Training's gridding search
    chooses it. Fair start: movable nodes' input positions are ignored; hard macros are
    placed by the method and soft macros by the `soft` placer from the
    canvas centre, so the result depends only on (netlist, method, seed,
    options) (and the budget for time-budgeted search).

    Args:
        netlist: the design (settings give canvas and grid).
        method: "random" (a random legal placement: uniform over legal cells
            per macro; up to `tries` episodes until one completes),
            "greedy" (least added wirelength per macro), "sa" (simulated
            annealing, many chains in parallel), "rl" (the trained PPO
            policy: the best of its greedy and `samples` sampled episodes).
        seed: random seed.
        budget_s: wall-clock budget (compilation included). "sa": the
            search's; None runs a fixed number of stages (`stages`, default
            20). "rl": first fine-tune the policy on this netlist by PPO for
            that long (placer.rl.train.fine_tune; at least one update), then
            place with it; None places zero-shot. With `refine`, the search
            or fine-tuning gets 75% of it and the refinement the rest.
        refine: after placing, run coordinate-descent refinement.
        progress: print progress.
        policy: for "rl": a placer.rl.policy.Policy, a checkpoint path, or
            None (the policy shipped with placer; see load_policy).
        **options: order ("area" | "index" | node list), tries (random, 8),
            chains, steps_per_stage, t_start, t_end (SA), stages (SA without
            budget), refine_radius (1), refine_sweeps (3), samples (rl, 16),
            greedy (rl, True), envs (rl with budget_s: episodes per
            fine-tuning update; default the policy's training value),
            soft ("analytical", the default: placer.stdcell.analytical;
            "fd": Circuit Training's force-directed pass) places the soft
            macros after every SA stage, refinement sweep and episode, and at
            the end (experiments/results_soft.md: analytical wins on every
            design measured).

    Returns:
        a copy of the netlist with the new placement (and orientations).
    """
    from placer.baselines.greedy import greedy_policy
    from placer.baselines.refine import refine as refine_fn
    from placer.baselines.sa import SAConfig, anneal
    from placer.env.env import make_env, random_policy

    t0 = time.perf_counter()
    if method not in METHODS:
        raise PlacerInputError(
            f"unknown method {method!r}; known: {', '.join(METHODS)}")
    if budget_s is not None and not budget_s > 0:
        raise PlacerInputError(f"budget_s must be positive, got {budget_s!r}")
    opts = dict(options)
    order = opts.pop("order", "area")
    tries = int(opts.pop("tries", 8))
    stages = int(opts.pop("stages", 20))
    radius = int(opts.pop("refine_radius", 1))
    sweeps = int(opts.pop("refine_sweeps", 3))
    rl_opts = ({k: opts.pop(k) for k in ("samples", "greedy") if k in opts}
               if method == "rl" else {})
    envs = opts.pop("envs", None) if method == "rl" else None
    soft = opts.pop("soft", "analytical")
    tuned = None
    sa_fields = {k: opts.pop(k) for k in list(opts)
                 if k in SAConfig.__dataclass_fields__}
    if opts:
        raise PlacerInputError(
            f"unknown option(s) for place(): {', '.join(sorted(opts))}")
    if not netlist.metadata.get("grid_given", True):
        # no grid in the files or the arguments: Circuit Training's gridding
        from placer.gridding import grid_for
        netlist = grid_for(netlist)
    env, params = make_env(netlist, order=order, soft=soft)
    key = jax.random.PRNGKey(seed)
    order_nodes = np.asarray(params.order[: int(params.num_to_place)])
    m_pad = params.order.shape[0]

    def to_state(xy, orient_all):
        cells = np.zeros(m_pad, np.int32)
        cells[: len(order_nodes)] = _cells_from_xy(xy, order_nodes, netlist)
        orients = np.zeros(m_pad, np.int32)
        orients[: len(order_nodes)] = orient_all[order_nodes]
        return cells, orients

    base_orient = np.asarray(params.orient)
    report = lambda *a: print(*a, flush=True) if progress else None  # noqa: E731

    if method in ("random", "sa"):
        out = _rollouts(env, params, random_policy, key, tries if method == "random"
                        else max(1, sa_fields.get("chains", SAConfig.chains) - 1))
        ok = ~(out["infeasible"] | out["invalid"])
        if method == "random":
            if not ok.any():
                raise PlacerInputError(
                    f"no legal random placement found in {tries} tries (the grid may "
                    "be too coarse for the macros)")
            b = int(np.argmax(ok))          # the first legal episode
            xy, orient, cost = out["xy"][b], base_orient, float(out["proxy"][b])
    if method in ("greedy", "sa"):
        g = jax.device_get(jax.jit(lambda k: env.rollout(params, k, greedy_policy(
            env, params)))(key))
        if (g["infeasible"] or g["invalid"]) and method == "greedy":
            raise PlacerInputError("greedy placement ran out of legal cells")
        if method == "greedy":
            xy, orient, cost = g["xy"], base_orient, float(g["proxy"])
    if method == "rl":
        from placer.rl.policy import Policy, best_episode, load_policy

        pol = policy if isinstance(policy, Policy) else load_policy(policy)
        if budget_s is not None:
            from placer.rl.train import fine_tune

            pol, tuned = fine_tune(pol, netlist, budget_s * (0.75 if refine else 1.0),
                                   seed=seed, num_envs=envs, t_started=t0,
                                   log=report if progress else None)
        xy, cost, _ = best_episode(env, params, netlist, pol, seed=seed, **rl_opts)
        orient = base_orient
    if method == "sa":
        starts = []
        if not (g["infeasible"] or g["invalid"]):
            starts.append(to_state(g["xy"], base_orient))
        for i in np.flatnonzero(ok):
            starts.append(to_state(out["xy"][i], base_orient))
        if not starts:
            raise PlacerInputError("no legal starting placement found for annealing")
        cfg = SAConfig(**sa_fields)
        while len(starts) < cfg.chains:
            starts.append(starts[len(starts) % max(1, len(starts))])
        starts = starts[: cfg.chains]
        cells0 = np.stack([c for c, _ in starts])
        or0 = np.stack([o for _, o in starts])
        key, k_sa = jax.random.split(key)
        sa_budget = None if budget_s is None else (
            budget_s * (0.75 if refine else 1.0))
        cells, orients, xy, cost, _ = anneal(
            env, params, cells0, or0, k_sa, sa_budget, cfg, stages=stages,
            t_started=t0,
            progress=(lambda i, c, acc, t: report(
                f"sa stage {i}: best proxy {c:.4f}, acceptance {acc:.2f}, {t:.0f} s"))
            if progress else None)
        orient = base_orient.copy()
        orient[order_nodes] = orients[: len(order_nodes)]
    if refine:
        cells, orients = to_state(np.asarray(xy), orient)
        cells, orients, xy, cost, _ = refine_fn(
            env, params, cells, orients, radius=radius, max_sweeps=sweeps,
            budget_s=budget_s, t_started=t0,
            progress=(lambda i, c, t: report(f"refine sweep {i}: proxy {c:.4f}, "
                                             f"{t:.0f} s")) if progress else None)
        orient = base_orient.copy()
        orient[order_nodes] = orients[: len(order_nodes)]
    v = netlist.num_nodes
    new_orient = netlist.node_orient.copy()
    movable = netlist.node_orient >= 0
    new_orient[movable] = np.asarray(orient)[:v][movable]
    # fixed nodes keep their input positions exactly; movable hard macros sit on
    # cell centres (recomputed in float64); soft macros come from the final
    # soft-macro pass (fd or analytical)
    out_xy = netlist.node_xy.copy()
    xy = np.asarray(xy, dtype=np.float64)[:v]
    s = netlist.settings
    cells = _cells_from_xy(xy, order_nodes, netlist)
    out_xy[order_nodes, 0] = (cells % s.grid_cols + 0.5) * (s.canvas_width /
                                                             s.grid_cols)
    out_xy[order_nodes, 1] = (cells // s.grid_cols + 0.5) * (s.canvas_height /
                                                              s.grid_rows)
    soft = np.asarray(params.soft)[:v]
    out_xy[soft] = xy[soft]
    result = netlist.with_placement(out_xy, new_orient)
    result.metadata = dict(netlist.metadata)
    result.metadata["placer"] = {"method": method, "seed": seed, "refine": refine,
                                 "proxy_float32": float(cost),
                                 "seconds": time.perf_counter() - t0}
    if tuned is not None:
        result.metadata["placer"]["fine_tune"] = tuned
    return result


__all__ = ["place", "METHODS"]
