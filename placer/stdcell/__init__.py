"""Placement of soft macros (standard-cell clusters) after the hard macros."""

from placer.stdcell.force_directed import (
    FDArrays,
    FDSchedule,
    fd_arrays,
    force_directed,
    force_directed_jit,
    place_soft_macros,
)

__all__ = [
    "FDArrays",
    "FDSchedule",
    "fd_arrays",
    "force_directed",
    "force_directed_jit",
    "place_soft_macros",
]
