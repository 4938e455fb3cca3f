"""Typed configuration: frozen dataclasses, the schemas of Hydra's configs.

cli.py registers each top-level config in Hydra's ConfigStore as ``base_<name>``
and every YAML in conf/ starts with ``defaults: [base_<name>, _self_]``, so an
unknown or mistyped key fails when the config is composed. Nothing here
imports hydra, omegaconf or jax.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

# The `Optional[...]` spelling (not `X | None`) is what OmegaConf can read.
# ruff: noqa: UP007, UP045


@dataclass(frozen=True)
class SettingsOverrides:
    """Canvas, grid and routing settings to force; None keeps the files' value.

    The names are those of placer.Settings and of Circuit Training's .plc
    header.
    """

    canvas_width: Optional[float] = None
    canvas_height: Optional[float] = None
    grid_cols: Optional[int] = None
    grid_rows: Optional[int] = None
    routes_per_micron_hor: Optional[float] = None
    routes_per_micron_ver: Optional[float] = None
    macro_routes_hor: Optional[float] = None
    macro_routes_ver: Optional[float] = None
    smoothing_range: Optional[int] = None
    overlap_threshold: Optional[float] = None
    soft_macros_squared: Optional[bool] = None

    def as_kwargs(self) -> dict[str, Any]:
        """The overrides that are set, as keyword arguments of load_netlist."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if getattr(self, f.name) is not None}


@dataclass(frozen=True)
class EvaluateConfig:
    """``placer-evaluate``: the proxy cost of one placement.

    Attributes:
        netlist: the design (.pb.txt, .pb.txt.gz or Bookshelf .aux).
        placement: its placement (.plc or .pl); None: the netlist's own positions.
        weights: (wirelength, density, congestion) weights of the proxy cost.
        plot: a PNG to draw the placement and its cost maps into.
        output: a JSON file to write the breakdown into (it is always printed).
        settings: settings that override those of the files.
    """

    netlist: str = "???"   # OmegaConf's MISSING: compose fails without a value
    placement: Optional[str] = None
    weights: tuple[float, float, float] = (1.0, 0.5, 0.5)
    plot: Optional[str] = None
    output: Optional[str] = None
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)

    def __post_init__(self):
        # OmegaConf hands sequences over as lists; keep the config hashable.
        object.__setattr__(self, "weights", tuple(self.weights))
