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


@dataclass(frozen=True)
class SearchOptions:
    """Options of the search methods (see placer.place)."""

    tries: int = 8                  # random: episodes to find a legal placement
    chains: int = 4                 # SA: parallel chains
    steps_per_stage: int = 2000     # SA: moves per chain between FD passes
    t_start: float = 0.01           # SA: initial temperature (proxy units)
    t_end: float = 2e-5             # SA: final temperature
    shift_radius: int = 2           # SA: cells a shift move may travel
    stages: int = 20                # SA without a budget: number of stages
    refine_radius: int = 1          # refinement: cells around each macro
    refine_sweeps: int = 3          # refinement: at most this many sweeps

    def as_kwargs(self, method: str) -> dict[str, Any]:
        sa = ("chains", "steps_per_stage", "t_start", "t_end", "shift_radius",
              "stages")
        keys = {"random": ("tries",), "greedy": (), "sa": sa}.get(method, ())
        out = {k: getattr(self, k) for k in keys}
        out.update(refine_radius=self.refine_radius, refine_sweeps=self.refine_sweeps)
        return out


@dataclass(frozen=True)
class PlaceConfig:
    """``placer-place``: place a design with a classical method.

    Attributes:
        netlist: the design (.pb.txt, .pb.txt.gz or Bookshelf .aux).
        placement: a placement whose header settings (canvas, grid, routing)
            to use; its positions are NOT used (fair start).
        method: random | greedy | sa.
        seed: random seed.
        budget_s: wall-clock budget of the search (SA), compilation included;
            None: a fixed number of stages (options.stages).
        refine: run coordinate-descent refinement afterwards.
        output_dir: where <name>.plc, <name>.png and <name>.json go.
        name: file name stem; None: <design>_<method>.
        plot: write the PNG.
        progress: print progress.
        weights: (wirelength, density, congestion) weights of the reported cost.
        options: method options.
        settings: settings that override those of the files.
    """

    netlist: str = "???"
    placement: Optional[str] = None
    method: str = "sa"
    seed: int = 0
    budget_s: Optional[float] = None
    refine: bool = False
    output_dir: str = "placer_out"
    name: Optional[str] = None
    plot: bool = True
    progress: bool = True
    weights: tuple[float, float, float] = (1.0, 0.5, 0.5)
    options: SearchOptions = field(default_factory=SearchOptions)
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)

    def __post_init__(self):
        object.__setattr__(self, "weights", tuple(self.weights))


@dataclass(frozen=True)
class ClusterConfig:
    """``placer-cluster``: group a flat netlist's standard cells into soft macros.

    Attributes:
        netlist: the flat design (.pb.txt, .pb.txt.gz or Bookshelf .aux).
        plc: a .plc whose header gives canvas, grid and routing settings (its
            positions are not used).
        num_clusters: soft macros to make; None: placer's default (800, or one
            per 8 cells for small designs).
        seed: tie-break seed (deterministic per seed).
        max_area_ratio: a cluster's area is at most this times the mean.
        max_net_degree: wider nets do not steer the grouping.
        refine_rounds: single-cell refinement rounds after coarsening (0: none).
        utilization: without a .plc: a square canvas of total area /
            utilization; None keeps the netlist's canvas.
        gridding: choose the grid by Circuit Training's gridding search when
            no .plc or setting gives one.
        area_scale: soft-macro area over cell area (1 keeps it).
        output_dir: where <name>.pb.txt, <name>.plc and <name>.json go.
        name: file name stem; None: <design>_clustered.
        settings: settings that override the derived ones.
    """

    netlist: str = "???"
    plc: Optional[str] = None
    num_clusters: Optional[int] = None
    seed: int = 0
    max_area_ratio: float = 2.0
    max_net_degree: int = 50
    refine_rounds: int = 8
    utilization: Optional[float] = None
    gridding: bool = True
    area_scale: float = 1.0
    output_dir: str = "placer_out"
    name: Optional[str] = None
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)
