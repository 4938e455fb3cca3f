"""The registry of placing methods: one signature, one place to add a placer.

A placer is a function ``fn(problem: Problem, options) -> Placed`` registered
under a name with the frozen dataclass of its options (whose defaults and
checks are the only ones; placer.config holds the built-in ones).
``placer.place``, ``placer-place`` (its ``method=`` choices and
``options.*``), its ``--help`` and the README all read this registry.
Refinement is a post-pass with the same signature plus the placement to
improve (``refine_fn(problem, options, placed)``).

Adding a placer: write ``fn`` in a module of this package, decorate it with
``@register("name", OptionsClass, "one line")``, import the module in
``placer/placers/__init__.py``, and add ``OptionsClass`` to
``placer.config.METHOD_OPTIONS`` (the CLI's options come from there).
"""

from __future__ import annotations

import dataclasses
import difflib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np

from placer.env.env import EnvParams, PlacementEnv
from placer.errors import PlacerInputError
from placer.netlist.model import Netlist


@dataclass
class Problem:
    """What every placer is given.

    Attributes:
        netlist: the design (its grid is set).
        env, params: its placement environment (make_env); the placer places
            the macros of ``params.order[:params.num_to_place]``.
        key: the JAX random key of this run (from the seed).
        seed: the seed itself.
        budget_s: this placer's wall-clock budget in seconds, counted from
            ``t0`` (None: no budget; the method's fixed amount of work).
        t0: time.perf_counter() when place() started.
        report: progress lines (a no-op unless progress was asked for).
    """

    netlist: Netlist
    env: PlacementEnv
    params: EnvParams
    key: jax.Array
    seed: int = 0
    budget_s: float | None = None
    t0: float = field(default_factory=time.perf_counter)
    report: Callable[[str], None] = lambda line: None

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0


@dataclass
class Placed:
    """A placer's result, in the environment's terms.

    Attributes:
        xy: (V', 2) node centres (padded): hard macros on cell centres, soft
            macros after the soft-macro pass.
        orient: (V',) orientation codes of every node.
        cost: the environment's (float32) proxy cost of this placement.
        info: method-specific facts recorded in the result's metadata.
    """

    xy: np.ndarray
    orient: np.ndarray
    cost: float
    info: dict = field(default_factory=dict)


PlacerFn = Callable[[Problem, Any], Placed]


@dataclass(frozen=True)
class PlacerSpec:
    """A registered method: its function, options class and one-line summary."""

    name: str
    fn: Callable
    options: type
    summary: str


PLACERS: dict[str, PlacerSpec] = {}
POST_PASSES: dict[str, PlacerSpec] = {}


def register(name: str, options: type, summary: str, post: bool = False):
    """Decorator: registers ``fn`` as method ``name`` (or, with ``post``, as a
    post-pass such as refinement)."""

    def deco(fn):
        table = POST_PASSES if post else PLACERS
        if name in table:
            raise ValueError(f"placer {name!r} is registered twice")
        table[name] = PlacerSpec(name, fn, options, summary)
        return fn

    return deco


def methods() -> tuple[str, ...]:
    """The registered method names, in registration order."""
    return tuple(PLACERS)


def suggest(name: str, known) -> str:
    """"; did you mean 'x'?" for the closest known name, or ""."""
    close = difflib.get_close_matches(name, list(known), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def get(name: str) -> PlacerSpec:
    """The registered method ``name``.

    Raises:
        PlacerInputError: no such method (with the known ones).
    """
    if name not in PLACERS:
        raise PlacerInputError(
            f"unknown method {name!r}{suggest(str(name), PLACERS)} (known: "
            f"{', '.join(PLACERS)})")
    return PLACERS[name]


def option_names(cls: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(cls))


def parse_options(method: str, options: dict, refine: bool) -> tuple[Any, Any]:
    """(method options, refinement options) from place()'s keyword options.

    Every given option must belong to the method or to refinement; values
    are checked by the options classes. Runs before any work.

    Raises:
        PlacerInputError: an unknown option (with the closest known one) or
            an invalid value.
    """
    spec = get(method)
    mine = option_names(spec.options)
    post = POST_PASSES["refine"].options
    theirs = option_names(post)
    unknown = sorted(k for k in options if k not in mine and k not in theirs)
    if unknown:
        k = unknown[0]
        raise PlacerInputError(
            f"unknown option {k!r} for method {method!r}"
            f"{suggest(k, (*mine, *theirs))} (its options: "
            f"{', '.join((*mine, *theirs)) or 'none'})")
    try:
        opts = spec.options(**{k: v for k, v in options.items() if k in mine})
        ropts = post(**{k: v for k, v in options.items() if k in theirs})
    except TypeError as e:   # a wrong type that the dataclass could not take
        raise PlacerInputError(f"bad option for method {method!r}: {e}") from None
    del refine
    return opts, ropts


def markdown_table() -> str:
    """The README's table of methods (tests/test_placers.py checks that the
    README holds exactly this)."""
    rows = ["| method | options | what it does |", "|---|---|---|"]
    for spec in (*PLACERS.values(), *POST_PASSES.values()):
        name = f"`refine=True` ({spec.name})" if spec.name in POST_PASSES else \
            f"`{spec.name}`"
        opts = ", ".join(f"`{n}`" for n in option_names(spec.options)) or "none"
        rows.append(f"| {name} | {opts} | {spec.summary} |")
    return "\n".join(rows) + "\n"


__all__ = ["PLACERS", "POST_PASSES", "Placed", "PlacerFn", "PlacerSpec", "Problem",
           "get", "markdown_table", "methods", "option_names", "parse_options",
           "register", "suggest"]
