"""Every placing method behind one signature, found through a registry
(placer.placers.registry): random, greedy, sa, rl, and the refine post-pass.
Importing this package registers them."""

from placer.placers import classic, rl  # noqa: F401  (registration)
from placer.placers.registry import (
    PLACERS,
    POST_PASSES,
    Placed,
    PlacerSpec,
    Problem,
    get,
    methods,
    parse_options,
    register,
)

__all__ = ["PLACERS", "POST_PASSES", "Placed", "PlacerSpec", "Problem", "get",
           "methods", "parse_options", "register"]
