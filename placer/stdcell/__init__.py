"""Placement of soft macros (standard-cell clusters) after the hard macros."""

from placer.stdcell.analytical import (
    AnalyticalArrays,
    AnalyticalConfig,
    analytical,
    analytical_arrays,
    analytical_jit,
    place_soft_macros_analytical,
)
from placer.stdcell.api import SOFT_METHODS, place_soft_macros
from placer.stdcell.force_directed import (
    FDArrays,
    FDSchedule,
    fd_arrays,
    force_directed,
    force_directed_jit,
)

__all__ = [
    "SOFT_METHODS",
    "AnalyticalArrays",
    "AnalyticalConfig",
    "FDArrays",
    "FDSchedule",
    "analytical",
    "analytical_arrays",
    "analytical_jit",
    "fd_arrays",
    "force_directed",
    "force_directed_jit",
    "place_soft_macros",
    "place_soft_macros_analytical",
]
