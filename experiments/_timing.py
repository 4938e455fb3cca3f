"""The median wall time of a call, for the experiment scripts' tables."""

from __future__ import annotations

import statistics
import time

import jax


def median_seconds(fn, *args, repeats: int = 3, warmup: bool = False) -> float:
    """Median wall seconds of ``fn(*args)`` over ``repeats`` calls, each
    waited for (``jax.block_until_ready`` on its result); with ``warmup``
    one untimed call first (compilation)."""
    if warmup:
        jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return statistics.median(times)
