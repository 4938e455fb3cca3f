"""The proxy cost's terms, named and weighted in one place.

proxy = sum over TERMS of weight[term] * term; Circuit Training's default
weights are 1 for wirelength and 0.5 for density and congestion. Every module
that names, orders or weights the terms (the cost, its incremental form, the
reward model, the configs) reads them from here. Plain Python: no JAX, so
placer.config can read it too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

TERMS: tuple[str, ...] = ("wirelength", "density", "congestion")
DEFAULT_WEIGHTS: tuple[float, ...] = (1.0, 0.5, 0.5)


def weighted_sum(values: Mapping, weights: Sequence):
    """sum_i weights[i] * values[TERMS[i]] (numbers or arrays alike).

    E.g. wirelength 0.1, density 0.8, congestion 1.2 with the default weights:
    1.0 * 0.1 + 0.5 * 0.8 + 0.5 * 1.2 = 1.1.
    """
    total = 0.0
    for i, term in enumerate(TERMS):
        total = total + weights[i] * values[term]
    return total


__all__ = ["DEFAULT_WEIGHTS", "TERMS", "weighted_sum"]
