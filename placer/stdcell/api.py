"""``place_soft_macros()``: one entry point for the soft-macro placers."""

from __future__ import annotations

import jax.numpy as jnp

from placer.errors import PlacerInputError
from placer.netlist.model import Netlist
from placer.stdcell.analytical import place_soft_macros_analytical
from placer.stdcell.force_directed import place_soft_macros as place_soft_macros_fd

SOFT_METHODS = ("fd", "analytical")


def place_soft_macros(netlist: Netlist, method: str = "fd", *, dtype=jnp.float32,
                      **options) -> Netlist:
    """A copy of the netlist with its soft macros re-placed.

    Every soft macro moves, from the canvas centre unless use_current_loc;
    hard macros, ports and standard cells keep their positions.

    Args:
        netlist: the design with hard macros placed.
        method: "fd", Circuit Training's force-directed pass
            (placer.stdcell.force_directed; options: ``schedule`` or FDSchedule
            fields), or "analytical", the ePlace-style global placer
            (placer.stdcell.analytical; options: ``config`` or
            AnalyticalConfig fields).
        dtype: jnp.float32 (default) or jnp.float64.
        **options: passed to the method (see above).
    """
    if method == "fd":
        return place_soft_macros_fd(netlist, dtype=dtype, **options)
    if method == "analytical":
        return place_soft_macros_analytical(netlist, dtype=dtype, **options)
    raise PlacerInputError(f"unknown soft-macro placer {method!r}; known: "
                           f"{', '.join(SOFT_METHODS)}")
