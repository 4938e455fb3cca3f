"""The classical placers: random, greedy (wire mask), simulated annealing,
and the refinement post-pass."""

from __future__ import annotations

import jax
import numpy as np

from placer.config import GreedyOptions, RandomOptions, RefineOptions, SAConfig
from placer.env.env import random_policy
from placer.errors import PlacerInputError
from placer.placers.registry import Placed, Problem, register
from placer.placers.state import rollout, rollouts, to_state, with_orients
from placer.search.greedy import greedy_policy
from placer.search.refine import refine as refine_search
from placer.search.sa import anneal


def legal_episodes(out: dict) -> np.ndarray:
    """(B,) bool: which of a batch of rollouts' episodes completed legally
    (none ran out of legal cells or took an invalid action)."""
    return ~(np.asarray(out["infeasible"]) | np.asarray(out["invalid"]))


@register("random", RandomOptions,
          "a random legal placement: each macro, largest first, on a uniformly "
          "chosen legal cell")
def place_random(problem: Problem, opts: RandomOptions) -> Placed:
    out = rollouts(problem, random_policy, problem.key, opts.tries)
    ok = legal_episodes(out)
    if not ok.any():
        raise PlacerInputError(
            f"no legal random placement found in {opts.tries} tries (the grid may "
            "be too coarse for the macros)")
    b = int(np.argmax(ok))          # the first legal episode
    return Placed(out["xy"][b], np.asarray(problem.params.orient),
                  float(out["proxy"][b]), {"episode": b})


@register("greedy", GreedyOptions,
          "each macro on the legal cell that adds the least wirelength to the pins "
          "already placed (the wire mask of MaskPlace / WireMask-BBO)")
def place_greedy(problem: Problem, opts: GreedyOptions) -> Placed:
    del opts
    g = rollout(problem, greedy_policy(problem.env, problem.params), problem.key)
    if not legal_episodes(g):
        raise PlacerInputError("greedy placement ran out of legal cells")
    return Placed(g["xy"], np.asarray(problem.params.orient), float(g["proxy"]))


@register("sa", SAConfig,
          "simulated annealing over macro cells and orientations (shift, swap, "
          "flip, jump), several chains in parallel, from the greedy and random "
          "placements; soft macros re-placed by the `soft` placer after every stage")
def place_sa(problem: Problem, cfg: SAConfig) -> Placed:
    base = np.asarray(problem.params.orient)
    out = rollouts(problem, random_policy, problem.key, max(1, cfg.chains - 1))
    g = rollout(problem, greedy_policy(problem.env, problem.params), problem.key)
    starts = ([to_state(problem, g["xy"], base)] if legal_episodes(g) else [])
    starts += [to_state(problem, out["xy"][i], base) for i in np.flatnonzero(
        legal_episodes(out))]
    if not starts:
        raise PlacerInputError("no legal starting placement found for annealing")
    while len(starts) < cfg.chains:
        starts.append(starts[len(starts) % len(starts)])
    starts = starts[: cfg.chains]
    cells0 = np.stack([c for c, _ in starts])
    or0 = np.stack([o for _, o in starts])
    _, k_sa = jax.random.split(problem.key)
    cells, orients, xy, cost, history = anneal(
        problem.env, problem.params, cells0, or0, k_sa, problem.budget_s, cfg,
        stages=cfg.stages, t_started=problem.t0,
        progress=lambda i, c, acc, t: problem.report(
            f"sa stage {i}: best proxy {c:.4f}, acceptance {acc:.2f}, {t:.0f} s"))
    return Placed(xy, with_orients(problem, orients), float(cost),
                  {"stages": len(history) - 1})


@register("refine", RefineOptions,
          "coordinate descent over each macro's neighbouring cells and "
          "same-footprint orientations, keeping improvements; then the soft "
          "macros polished by small shifts on the exact proxy, alternating "
          "with hard-macro sweeps while that gains", post=True)
def refine(problem: Problem, opts: RefineOptions, placed: Placed) -> Placed:
    cells, orients = to_state(problem, placed.xy, placed.orient)
    cells, orients, xy, cost, _, counts = refine_search(
        problem.env, problem.params, cells, orients, radius=opts.refine_radius,
        max_sweeps=opts.refine_sweeps, budget_s=problem.budget_s,
        t_started=problem.t0, soft_sweeps=opts.refine_soft_sweeps,
        progress=lambda i, c, t: problem.report(
            f"refine sweep {i}: proxy {c:.4f}, {t:.0f} s" if i < opts.refine_sweeps
            else f"refine round {i - opts.refine_sweeps} (hard sweep + soft "
                 f"polish): proxy {c:.4f}, {t:.0f} s"),
        soft_progress=lambda i, c, t: problem.report(
            f"refine soft polish sweep {i}: proxy {c:.4f}, {t:.0f} s"))
    return Placed(xy, with_orients(problem, orients), float(cost),
                  {**placed.info, "refine_sweeps": counts["sweeps"],
                   "refine_polish_sweeps": counts["polish_sweeps"],
                   "refine_rounds": counts["rounds"]})


__all__ = ["legal_episodes", "place_greedy", "place_random", "place_sa", "refine"]
