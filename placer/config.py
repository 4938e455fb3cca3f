"""Typed configuration: frozen dataclasses, the schemas of Hydra's configs.

cli.py registers each top-level config in Hydra's ConfigStore as ``base_<name>``
and every YAML in placer/conf/ starts with ``defaults: [base_<name>, _self_]``, so an
unknown or mistyped key fails when the config is composed. Nothing here
imports hydra, omegaconf or jax. The options of the placing methods live here
too, each field's default in exactly one place.
"""

from __future__ import annotations

import dataclasses
import numbers
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Optional

from placer.cost.terms import DEFAULT_WEIGHTS
from placer.errors import PlacerInputError

# The `Optional[...]` spelling (not `X | None`) is what OmegaConf can read.
# ruff: noqa: UP007, UP045

# Allowed values of the string options, shown by --help (cli_help reads each
# field's metadata["choices"]) and checked before a command runs; the modules
# that use them import them from here.
POLICY_HEADS = ("conv", "deconv")
# The soft-macro placers of placer.stdcell.api (place(soft=...)).
SOFT_PLACERS = ("analytical", "fd")
ENCODER_INPUTS = ("placement", "netlist")
REWARD_NORMS = ("running", "batch", "none")
IMITATION_STATES = ("expert", "sampled", "both")
IMITATION_SEARCHES = ("descent", "anneal")
QUANT_METHODS = ("msqe", "gradient")


@dataclass(frozen=True)
class SettingsOverrides:
    """Canvas, grid and routing settings to force; None keeps the files' value.

    The names are those of placer.Settings and of Circuit Training's .plc
    header.

    Attributes:
        canvas_width: canvas width in microns.
        canvas_height: canvas height in microns.
        grid_cols: grid columns (C).
        grid_rows: grid rows (R).
        routes_per_micron_hor: horizontal routing tracks per micron.
        routes_per_micron_ver: vertical routing tracks per micron.
        macro_routes_hor: horizontal tracks per micron a hard macro blocks.
        macro_routes_ver: vertical tracks per micron a hard macro blocks.
        smoothing_range: cells over which congestion is smoothed.
        overlap_threshold: hard-macro overlap (area over the smaller macro's)
            above which a placement is illegal.
        soft_macros_squared: treat soft macros as squares of their area.
        netlist_pin_orientation: turn hard-macro pin offsets by the
            orientation in the netlist, as the TILOS evaluator does (false:
            Circuit Training's convention).
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
    netlist_pin_orientation: Optional[bool] = None   # the TILOS evaluator's pins

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
        lef: a DEF netlist's LEF files (technology LEF first).
    """

    netlist: str = "???"   # OmegaConf's MISSING: compose fails without a value
    placement: Optional[str] = None
    weights: tuple[float, float, float] = DEFAULT_WEIGHTS
    plot: Optional[str] = None
    output: Optional[str] = None
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)
    lef: tuple[str, ...] = ()   # a DEF netlist's LEF files (technology LEF first)

    def __post_init__(self):
        # OmegaConf hands sequences over as lists; keep the config hashable.
        object.__setattr__(self, "weights", tuple(self.weights))
        object.__setattr__(self, "lef", tuple(self.lef))


def _positive(name: str, value, minimum=1) -> None:
    """Raises PlacerInputError unless ``value`` is an int >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
            or value < minimum:
        raise PlacerInputError(
            f"option {name} must be an integer >= {minimum}, got {value!r}")


@dataclass(frozen=True)
class RandomOptions:
    """Options of ``place(method="random")``.

    Attributes:
        tries: random episodes run to find one that completes (legal).
    """

    tries: int = 8

    def __post_init__(self):
        _positive("tries", self.tries)


@dataclass(frozen=True)
class GreedyOptions:
    """Options of ``place(method="greedy")`` (it has none of its own)."""


@dataclass(frozen=True)
class SAConfig:
    """Options of ``place(method="sa")``: simulated annealing. Temperatures
    are in proxy-cost units.

    Attributes:
        chains: annealing chains run in parallel.
        steps_per_stage: moves per chain between force-directed passes.
        t_start: initial temperature.
        t_end: final temperature.
        p_shift: probability of a shift move (to a nearby cell).
        p_swap: probability of a swap move (two macros exchange cells).
        p_flip: probability of a flip move (same-footprint orientation);
            the rest are jumps to a random cell.
        shift_radius: cells a shift move may travel.
        max_stages: with a budget: at most this many stages.
        stages: without a budget: exactly this many stages.
    """

    chains: int = 4
    steps_per_stage: int = 2000
    t_start: float = 0.01
    t_end: float = 2e-5
    p_shift: float = 0.4
    p_swap: float = 0.2
    p_flip: float = 0.1
    shift_radius: int = 2
    max_stages: int = 1_000_000
    stages: int = 20

    def __post_init__(self):
        for name in ("chains", "steps_per_stage", "shift_radius", "max_stages",
                     "stages"):
            _positive(name, getattr(self, name))
        if not all(isinstance(t, numbers.Real) and not isinstance(t, bool)
                   for t in (self.t_start, self.t_end, self.p_shift, self.p_swap,
                             self.p_flip)):
            raise PlacerInputError(
                "options t_start, t_end, p_shift, p_swap, p_flip must be numbers")
        if not self.t_start > 0 or not 0 < self.t_end <= self.t_start:
            raise PlacerInputError(
                f"options t_start, t_end must satisfy 0 < t_end <= t_start, got "
                f"{self.t_start!r}, {self.t_end!r}")
        probs = (self.p_shift, self.p_swap, self.p_flip)
        if min(probs) < 0 or sum(probs) > 1:
            raise PlacerInputError(
                "options p_shift, p_swap, p_flip must be >= 0 and sum to at most 1, "
                f"got {probs}")


@dataclass(frozen=True)
class RLOptions:
    """Options of ``place(method="rl")``.

    Attributes:
        samples: sampled episodes of the policy (the best one is kept).
        temperature: the samples' temperature (> 0): the policy's logits are
            divided by it before sampling, so below 1 the samples stay
            nearer its mode. 0.5: the best of 16 samples of the shipped
            policy was lower at 0.5 than at 1 on each of Ariane133, design_2,
            macro_tiles_10x10 and ibm01 (by 0.003-0.025;
            experiments/results_rl.md, session 12). Fine-tuning's PPO
            rollouts sample at ``PPOConfig.temperature``.
        greedy: also run the greedy (argmax) episode.
        envs: with budget_s: episodes per fine-tuning update; None: the
            policy's training value.
        policy: a Policy, a policy checkpoint directory, or None (the policy
            shipped with placer).
        ppo: with budget_s: PPO settings for the fine-tuning over
            PPOConfig's defaults, as a PPOConfig or a dict of its fields (e.g.
            ``{"imitation_elite": True}``); they replace the fine-tuning
            defaults (FINE_TUNE_PPO) as a whole. None: FINE_TUNE_PPO over
            PPOConfig's defaults.
    """

    samples: int = 16
    temperature: float = 0.5
    greedy: bool = True
    envs: Optional[int] = None
    policy: Any = None
    ppo: Any = None

    def __post_init__(self):
        _positive("samples", self.samples, 0)
        if self.samples == 0 and not self.greedy:
            raise PlacerInputError("the rl method needs samples > 0 or greedy=True")
        if isinstance(self.temperature, bool) or not isinstance(
                self.temperature, numbers.Real) or not self.temperature > 0:
            raise PlacerInputError(
                f"option temperature must be a number > 0, got {self.temperature!r}")
        if self.envs is not None:
            _positive("envs", self.envs)
        if self.ppo is not None:
            ppo_overrides(self.ppo)        # a typo fails here, before any work


# What fine-tuning one policy on one design (place(method="rl", budget_s=...),
# placer.rl.train.fine_tune) changes in PPOConfig's defaults unless ``ppo=``
# replaces them: the elite, improved by a short annealing chain, the one
# setting measured to improve the agent on Ariane133 within 30 minutes
# (experiments/results_rl.md, sessions 8 and 9: the agent's own placement
# 0.6654 / 0.6681 / 0.6650 over three seeds against 0.6725 / 0.6723 / 0.6756
# with PPOConfig's defaults).
# Pre-training over many designs keeps PPOConfig's defaults: an elite is one
# design's best placement.
FINE_TUNE_PPO = MappingProxyType({
    "imitation_elite": True, "imitation_search": "anneal",
    "imitation_anneal_steps": 4000, "imitation_anneal_temp": 3e-5})


def ppo_overrides(ppo) -> dict:
    """{field: value} of PPO settings given as a PPOConfig or a dict of its
    fields, each name and value type checked against PPOConfig's (a choice
    such as imitation_states is checked where the update is built).

    Raises:
        PlacerInputError: an unknown field, a value of the wrong type, or not
            a PPOConfig or dict.
    """
    if isinstance(ppo, PPOConfig):
        return dataclasses.asdict(ppo)
    if not isinstance(ppo, Mapping):
        raise PlacerInputError(f"ppo must be a PPOConfig or a dict of its fields, "
                               f"not {type(ppo).__name__}")
    ppo = dict(ppo)
    fields = {f.name: f for f in dataclasses.fields(PPOConfig)}
    bad = sorted(set(ppo) - set(fields))
    if bad:
        raise PlacerInputError(f"unknown PPO setting(s) {', '.join(bad)}; known: "
                               f"{', '.join(fields)}")
    for k, v in ppo.items():
        kind = type(getattr(PPOConfig(), k))
        if kind is float and isinstance(v, int) and not isinstance(v, bool):
            continue
        if not isinstance(v, kind) or (kind is int and isinstance(v, bool)):
            raise PlacerInputError(f"ppo.{k} must be {kind.__name__}, got {v!r}")
    return ppo


@dataclass(frozen=True)
class RefineOptions:
    """Options of the refinement post-pass (``place(..., refine=True)``).

    Attributes:
        refine_radius: cells around each macro that refinement tries.
        refine_sweeps: at most this many sweeps over the hard macros.
        refine_soft_sweeps: then at most this many polish sweeps over the
            soft macros (placer.stdcell.polish; 0: none, and no rounds),
            stopped when one gains under 1e-5, followed by rounds of one
            hard-macro sweep and the polish again (at most refine_sweeps
            rounds, while a round gains). A polish sweep costs 4-9 s on
            Ariane133 (782 soft macros).
    """

    refine_radius: int = 1
    refine_sweeps: int = 3
    refine_soft_sweeps: int = 20

    def __post_init__(self):
        _positive("refine_radius", self.refine_radius)
        _positive("refine_sweeps", self.refine_sweeps)
        _positive("refine_soft_sweeps", self.refine_soft_sweeps, minimum=0)


# The option classes of the built-in placers and of refinement (placer.placers
# registers each method with its class; a test checks that they agree).
METHOD_OPTIONS: dict[str, type] = {
    "random": RandomOptions, "greedy": GreedyOptions, "sa": SAConfig,
    "rl": RLOptions}


def _option_union():
    """SearchOptions: every option of every method and of refinement, each
    Optional with default None ("the method's default", which lives only in
    the method's own options class above)."""
    seen: dict[str, tuple] = {}
    docs = []
    for cls in (*METHOD_OPTIONS.values(), RefineOptions):
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name not in seen:
                seen[f.name] = (f.name, Optional[hints[f.name]], field(default=None))
        doc = (cls.__doc__ or "").split("Attributes:", 1)
        if len(doc) == 2:
            docs.append(doc[1].rstrip())
    union = dataclasses.make_dataclass(
        "SearchOptions", list(seen.values()), frozen=True)
    union.__module__ = __name__
    union.__doc__ = ("Method options (placer-place options.*); None means the "
                     "method's default.\n\n    Attributes:" + "".join(docs) + "\n")

    def as_kwargs(self) -> dict[str, Any]:
        """The options given (not None), as keyword arguments of place()."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    union.as_kwargs = as_kwargs
    return union


SearchOptions = _option_union()


@dataclass(frozen=True)
class DefOutput:
    """How a placement is written as DEF (placer-place, placer-convert).

    Attributes:
        template: the DEF to rewrite; None: the input DEF (placer-place
            writes no DEF for a non-DEF netlist without one).
        fixed: mark the placed macros FIXED instead of PLACED.
        snap: "site" (site / row grid), "manufacturing" or "dbu".
        mapping: canvas -> die: "offset" (canvas origin at the die's
            lower-left corner), "core" (at the core's lower-left corner) or
            "scale" (canvas stretched onto the die).
        tcl: also write OpenROAD place_macro commands (<name>.tcl).
    """

    template: Optional[str] = None
    fixed: bool = False
    snap: str = "site"
    mapping: str = "offset"
    tcl: bool = True


@dataclass(frozen=True)
class PlaceConfig:
    """``placer-place``: place a design (random, greedy, SA or the RL policy).

    Attributes:
        netlist: the design (.pb.txt, .pb.txt.gz or Bookshelf .aux).
        placement: a placement whose header settings (canvas, grid, routing)
            to use; its positions are NOT used (fair start).
        method: the placement method (a registered placer, placer.placers).
        policy: rl: a policy checkpoint directory; None: the shipped policy.
        seed: random seed.
        budget_s: wall-clock budget, compilation included: of the search
            (SA; None: a fixed number of stages, options.stages), or of
            fine-tuning the policy on the netlist before placing (rl; None:
            zero-shot).
        refine: run coordinate-descent refinement afterwards.
        soft: the soft-macro placer: analytical (the default, lower proxy on
            every design measured) or fd (Circuit Training's force-directed
            pass, as its published numbers use).
        output_dir: where <name>.plc, <name>.png and <name>.json go.
        name: file name stem; None: <design>_<method>.
        plot: write the PNG.
        progress: print progress.
        weights: (wirelength, density, congestion) weights of the reported cost.
        options: method options.
        settings: settings that override those of the files.
        lef: a DEF netlist's LEF files (technology LEF first).
        num_clusters: a DEF netlist is clustered into this many soft macros;
            None: placer.cluster's default.
        def_out: how the result is also written as <name>.def / .tcl (DEF
            flow).
    """

    netlist: str = "???"
    placement: Optional[str] = None
    method: str = "sa"
    policy: Optional[str] = None
    seed: int = 0
    budget_s: Optional[float] = None
    refine: bool = False
    soft: str = field(default="analytical", metadata={"choices": SOFT_PLACERS})
    output_dir: str = "placer_out"
    name: Optional[str] = None
    plot: bool = True
    progress: bool = True
    weights: tuple[float, float, float] = DEFAULT_WEIGHTS
    options: SearchOptions = field(default_factory=SearchOptions)
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)
    # DEF flow (see DefOutput): a .def netlist is read with these LEFs,
    # clustered into num_clusters soft macros (None: placer.cluster's
    # default) and the result also written as <name>.def / .tcl.
    lef: tuple[str, ...] = ()
    num_clusters: Optional[int] = None
    def_out: DefOutput = field(default_factory=DefOutput)

    def __post_init__(self):
        object.__setattr__(self, "weights", tuple(self.weights))
        object.__setattr__(self, "lef", tuple(self.lef))


@dataclass(frozen=True)
class RewardModelConfig:
    """Sizes of the reward predictor (placer.reward_model.model.RewardPredictor).

    Attributes:
        hidden: D, the embedding size of the edge-centric encoder.
        num_layers: message-passing layers of the encoder.
        mlp_layers: Dense + ReLU layers of the node encoder and edge MLPs.
        head_hidden: hidden widths of each of the three heads.
        edge_distance: edge features hold the placement's |dx| and |dy| of
            each connected pair besides the net weight (CT: weight only).
        spatial: add the spatial readout (SpatialReadout): node and edge
            embeddings scattered onto the design's grid, a small CNN, and a
            top-k pooling of per-cell scores like the density and congestion
            costs' own; the heads read it besides the graph readout.
        spatial_grid: (rows, cols), the map size of the spatial readout:
            maps are padded to it. Training designs must fit (an input error
            otherwise); a trained model pads a larger design's maps to fit it
            (the parameters do not depend on the map size).
        map_channels: learned channels of the node map and of the edge map.
        cnn_channels: widths of the 3 x 3 convolutions over the maps.
        cell_scores: per-cell score channels pooled for density and for
            congestion.
        physical_maps: the spatial readout also builds maps in the costs'
            units from the placement (the density map; RUDY plus macro
            blockage in tracks for congestion), feeds them to the CNN and
            straight to the cell scores, and pools them like the costs.
        wirelength_estimate: the heads also read a wirelength estimate from
            the connected node pairs (weight x Manhattan distance, averaged).
    """

    hidden: int = 32
    num_layers: int = 3
    mlp_layers: int = 1
    head_hidden: tuple[int, ...] = (64, 32)
    edge_distance: bool = True
    spatial: bool = False
    spatial_grid: tuple[int, int] = (48, 64)
    map_channels: int = 8
    cnn_channels: tuple[int, ...] = (16, 16, 16)
    cell_scores: int = 4
    physical_maps: bool = False
    wirelength_estimate: bool = False

    def __post_init__(self):
        for name in ("head_hidden", "spatial_grid", "cnn_channels"):
            object.__setattr__(self, name, tuple(getattr(self, name)))


@dataclass(frozen=True)
class PretrainConfig:
    """``placer-pretrain``: supervised training of the GNN reward predictor.

    Attributes:
        dataset: a dataset folder (manifest.json + .npz shards).
        output_dir: where checkpoints/, model/ and the metric logs go.
        model: model sizes; default: the shipped recipe (the spatial readout
            with physical maps).
        learning_rate: Adam's learning rate.
        grad_clip: global-norm gradient clipping.
        batch_size: placements per step (mixed over netlists).
        netlists_per_batch: a batch is this many netlists x (batch_size /
            netlists_per_batch) placements of each.
        rank_weight: weight of the within-netlist loss (the squared error of
            predictions and targets centred on each netlist's batch mean, in
            units of the netlist's spread of each term), which teaches the
            ranking of placements of one design.
        steps: total optimizer steps.
        eval_every: evaluate on the validation split every this many steps.
        checkpoint_every: save a training checkpoint every this many steps;
            None: at every evaluation.
        keep_checkpoints: training checkpoints kept (the newest).
        val_fraction: share of each training netlist's samples held out.
        holdout: netlist ids held out entirely (validation only).
        eval_max_samples: evaluate on at most this many validation samples.
        seed: seed of initialisation, the split and the batch order.
        resume: continue from the newest checkpoint in output_dir.
        progress: show a progress bar.
    """

    dataset: str = "???"
    output_dir: str = "pretrain_out"
    model: RewardModelConfig = field(default_factory=lambda: RewardModelConfig(
        spatial=True, physical_maps=True))
    learning_rate: float = 2e-3
    grad_clip: float = 1.0
    batch_size: int = 16
    netlists_per_batch: int = 4
    rank_weight: float = 1.0
    steps: int = 1000
    eval_every: int = 200
    checkpoint_every: Optional[int] = None
    keep_checkpoints: int = 3
    val_fraction: float = 0.1
    holdout: tuple[str, ...] = ()
    eval_max_samples: int = 4096
    seed: int = 0
    resume: bool = True
    progress: bool = True

    def __post_init__(self):
        object.__setattr__(self, "holdout", tuple(self.holdout))


@dataclass(frozen=True)
class SampleMix:
    """How the placements of one dataset netlist are made (see
    placer.reward_model.dataset).

    Attributes:
        samples: placements per netlist (B).
        random: share of random legal placements.
        perturbed: share of perturbed good placements; the rest (after one
            greedy placement) are SA snapshots.
        sa_chains: parallel SA chains; snapshots = chains x stages.
        sa_steps_per_stage: SA moves per chain between snapshots.
        sa_t_start: the SA's first temperature (proxy units).
        sa_t_end: its last temperature.
        rollout_batch: random episodes per vmapped call.
    """

    samples: int = 128
    random: float = 0.3
    perturbed: float = 0.3
    sa_chains: int = 8
    sa_steps_per_stage: int = 400
    sa_t_start: float = 0.05
    sa_t_end: float = 1e-4
    rollout_batch: int = 32


@dataclass(frozen=True)
class DatasetConfig:
    """``placer-dataset``: netlist/placement pairs for the reward predictor.

    Attributes:
        output_dir: the dataset folder (manifest.json, one sub-folder per
            netlist); an interrupted build resumes there.
        synthetic: generated designs (placer.synth.random_design) to include.
        first_seed: their design seeds are first_seed, first_seed + 1, ...
        max_hard: most hard macros of a generated design.
        max_soft: most soft macros of a generated design.
        netlists: further designs to include (.pb.txt, .pb.txt.gz, .aux), for
            instance real ones for a held-out evaluation set.
        placements: a .plc (or .pl) per entry of netlists for its settings;
            empty: none. Positions are not used: every placement is made.
        mix: how each netlist's placements are made.
        seed: seed of the placements.
        progress: show a progress bar.
    """

    output_dir: str = "???"
    synthetic: int = 18
    first_seed: int = 1000
    max_hard: int = 140
    max_soft: int = 800
    netlists: tuple[str, ...] = ()
    placements: tuple[str, ...] = ()
    mix: SampleMix = field(default_factory=SampleMix)
    seed: int = 0
    progress: bool = True

    def __post_init__(self):
        object.__setattr__(self, "netlists", tuple(self.netlists))
        object.__setattr__(self, "placements", tuple(self.placements))


@dataclass(frozen=True)
class PolicyConfig:
    """Sizes of the PPO policy-value network (placer.rl.networks.PolicyValue).

    Attributes:
        hidden, num_layers, mlp_layers: the encoder's sizes; they must match
            the reward model's to load its encoder.
        attention: size of the attention readout over the node embeddings.
        deconv_channels: channels of the policy head's stride-2 transpose
            convolutions (each doubles the map's sides).
        value_hidden: hidden widths of the value head.
        freeze_encoder: keep the encoder fixed (no gradient through it).
        edge_distance: edge features hold the placement's |dx|, |dy| (must
            match the reward model's to load its encoder). The defaults match
            the shipped reward model.
        head: the policy head: "conv" (fully convolutional over the grid
            maps; one policy places any grid size) or "deconv" (Circuit
            Training's deconvolution head; the policy is tied to its grid).
        conv_channels: widths of the conv head's 3 x 3 convolutions.
        conv_embed: width of the node and shared embeddings the conv head
            projects onto the grid.
        encoder_input: "netlist" (the default: the encoder reads the netlist
            alone, once per minibatch; the placement reaches the policy
            through the conv head's grid maps, computed once per step in the
            rollout: far cheaper on large designs; every measured run and
            the shipped policy use it) or "placement" (Circuit Training: the
            encoder reads the current placement at every step, in the
            rollout and in every epoch of the loss; needed by head=deconv).
        wire_mask: the conv head also reads the wire mask of the macro being
            placed (the HPWL each cell adds; placer.rl.networks.wire_features),
            as MaskPlace does. Needs head "conv". Checkpoints written before
            this option hold policies without it.
        value_prior: the value head is minus a reward model's proxy
            prediction (its heads on the encoder's graph readout) plus a
            residual (placer.rl.networks.PolicyValue); TrainRLConfig's
            value_checkpoint loads the reward model into it. Needs
            encoder_input "placement" (the readout must see the placement).
        prior_hidden: hidden widths of the prior's heads (the reward model's
            head_hidden).
        wire_prior: the starting strength of the heuristic prior (0: none).
            The conv head's logits become its convolutions' output minus a
            learned scale (starting here) times the wire mask's shape channel
            (0 at the legal cell that adds the least wirelength, 1 at the
            one that adds the most), and the last convolution starts at
            zero, so an untrained policy is the greedy wire-mask heuristic
            softened (greedy decoding picks its cell; sampling explores the
            cells near it) and PPO learns corrections to it. Needs
            wire_mask.
        wire_prior_log: the prior's parametrisation. True: logits = scale x
            (convolutions' output - shape channel), scale = wire_prior x
            exp(10 u), u a parameter starting at 0. Adam's steps are about
            learning_rate in parameter units, so the scale (a temperature)
            can change by about 0.3 % per gradient step, and the learned
            logits are in the shape channel's units (0 to 1 over the grid),
            so they can overcome the prior's differences between cells at
            the pace the prior sets. False (policies before session 6):
            logits = output - scale x shape with the scale the parameter,
            which Adam moves by about learning_rate per step: the shipped
            policy's scale moved from 50 to 49.9 in 121 updates (a frozen
            temperature) and its logits layer's weights stayed below 0.16.
    """

    hidden: int = 32
    num_layers: int = 3
    mlp_layers: int = 1
    attention: int = 64
    deconv_channels: tuple[int, ...] = (32, 16)
    value_hidden: tuple[int, ...] = (64,)
    freeze_encoder: bool = False
    edge_distance: bool = True
    head: str = field(default="conv", metadata={"choices": POLICY_HEADS})
    conv_channels: tuple[int, ...] = (8, 8)
    conv_embed: int = 4
    encoder_input: str = field(default="netlist",
                               metadata={"choices": ENCODER_INPUTS})
    wire_mask: bool = True
    value_prior: bool = False
    prior_hidden: tuple[int, ...] = (64, 32)
    wire_prior: float = 50.0
    wire_prior_log: bool = True

    def __post_init__(self):
        object.__setattr__(self, "prior_hidden", tuple(self.prior_hidden))
        if not self.wire_prior >= 0:
            raise ValueError(f"model.wire_prior must be >= 0, not {self.wire_prior!r}")
        if self.wire_prior and not self.wire_mask:
            raise ValueError("model.wire_prior needs model.wire_mask=true (set "
                             "model.wire_prior=0 without the wire mask)")
        if self.value_prior and self.encoder_input != "placement":
            raise ValueError("model.value_prior needs model.encoder_input=placement")
        object.__setattr__(self, "deconv_channels", tuple(self.deconv_channels))
        object.__setattr__(self, "conv_channels", tuple(self.conv_channels))
        if self.head not in POLICY_HEADS:
            raise ValueError("model.head must be 'conv' or 'deconv', "
                             f"not {self.head!r}")
        if self.encoder_input not in ENCODER_INPUTS:
            raise ValueError("model.encoder_input must be 'placement' or 'netlist', "
                             f"not {self.encoder_input!r}")
        if self.wire_mask and self.head != "conv":
            raise ValueError("model.wire_mask needs model.head=conv (set "
                             "model.wire_mask=false with head=deconv)")
        if self.encoder_input == "netlist" and self.head != "conv":
            raise ValueError("model.encoder_input=netlist needs model.head=conv "
                             "(set model.encoder_input=placement with head=deconv)")
        object.__setattr__(self, "value_hidden", tuple(self.value_hidden))


@dataclass(frozen=True)
class PPOConfig:
    """PPO hyper-parameters (placer.rl.ppo).

    One update collects ``num_envs`` whole episodes (M steps each), then runs
    ``num_epochs`` passes of ``num_minibatches`` minibatches over the
    num_envs x M transitions.

    Attributes:
        num_envs: B, episodes per update.
        num_epochs: passes over each batch.
        num_minibatches: minibatches per pass (must divide B x M).
        learning_rate: Adam's step size.
        max_grad_norm: global-norm gradient clipping.
        gamma: discount (1: the reward arrives only at the end).
        gae_lambda: GAE's lambda. 1.0 (the default) gives Circuit
            Training's Monte-Carlo returns (its agent turns GAE off); on
            Ariane133 it learned better than 0.95 in two seeds of two
            (experiments/results_rl.md).
        clip_eps: the surrogate's ratio clip (and the value clip).
        clip_value: clip the value loss as PPO2 does.
        vf_coef: weight of the value loss.
        ent_coef: weight of the entropy bonus.
        normalize_advantages: standardise advantages per minibatch.
        reward_norm: "running" (running mean / std of the episode rewards),
            "batch" (per-batch mean / std) or "none".
        shaping: add potential-based shaping rewards (placer.rl.shaping):
            gamma Phi(s') - Phi(s) at every step, with Phi minus the
            wirelength and density cost of the macros placed so far; the
            shaped rewards of an episode sum to its reward plus a constant.
        shaping_scale: the potential's factor (Phi = -scale x partial cost).
        imitation_coef: weight of the expert-iteration imitation loss
            (placer.rl.imitation; 0: off): cross-entropy towards the actions
            of the update's best episodes improved by local search.
        imitation_episodes: K, how many of the update's best episodes are
            improved and imitated (K x M must be divisible by
            num_minibatches).
        imitation_radius: the local search's neighbourhood, in cells.
        imitation_sweeps: passes of the local search over the macros.
        imitation_search: the search that improves the episodes. "descent":
            coordinate descent, every macro to the best legal cell within
            imitation_radius, imitation_sweeps times (improve_cells);
            "anneal": a short simulated-annealing chain per episode
            (anneal_cells: shifts within imitation_radius, swaps and jumps,
            imitation_anneal_steps proposals, the temperature falling from
            imitation_anneal_temp to a hundredth of it), which can leave a
            local optimum of the descent.
        imitation_anneal_steps: proposals per episode per update ("anneal").
        imitation_anneal_temp: its starting temperature, in proxy units.
        imitation_elite: keep the K improved episodes as an elite carried
            from update to update (placer.rl.imitation.Elite): each update
            searches from the best K of its sampled episodes and the elite,
            so the search's improvements accumulate over the run and the
            policy imitates the best placements found so far (self-imitation),
            not only this update's. Needs imitation_coef > 0.
        imitation_states: where the imitation loss is taken. "expert": the
            improved episodes replayed (their own states); "sampled": the
            update's sampled states, each labelled with the cell the best
            improved episode gives the same macro (DAgger-style: the policy
            learns to return to the search's placement from where it
            actually goes; no replay); "both". Anything but "expert"
            needs imitation_coef > 0.
        stored_maps: the rollout keeps the conv head's parameter-free grid
            maps of every step and the loss runs the network from them, one
            encoder pass per minibatch (needs model.head=conv and
            model.encoder_input=netlist; other networks run per observation
            whatever this says). False: the per-observation network in the
            loss too, the code before issue 18 (same results up to float
            summation order; for benchmarks).
        temperature: the rollouts sample, and the losses train, the policy
            softmax(logits / temperature) (> 0; greedy decoding ignores
            it). Below 1 the episodes stay nearer the policy's mode, so a
            starting policy is explored around, not away from. Measured on
            design_2, six seeds of 40 updates (experiments/results_rl.md,
            session 13): 0.5 fine-tuned the policies cloned from SA much
            faster (batch 0.7860 against 0.7931 at 1; greedy 0.7775
            against 0.7914), but was level or worse from scratch and from
            the shipped policy, hence the default 1.
    """

    num_envs: int = 16
    num_epochs: int = 4
    num_minibatches: int = 4
    learning_rate: float = 3e-4
    max_grad_norm: float = 0.5
    gamma: float = 1.0
    gae_lambda: float = 1.0
    clip_eps: float = 0.2
    clip_value: bool = True
    vf_coef: float = 0.5
    ent_coef: float = 0.01
    normalize_advantages: bool = True
    reward_norm: str = field(default="running",
                             metadata={"choices": REWARD_NORMS})
    shaping: bool = False
    shaping_scale: float = 1.0
    imitation_coef: float = 0.3
    imitation_episodes: int = 1
    imitation_radius: int = 2
    imitation_sweeps: int = 1
    imitation_search: str = field(default="descent",
                                  metadata={"choices": IMITATION_SEARCHES})
    imitation_anneal_steps: int = 2000
    imitation_anneal_temp: float = 1e-3
    imitation_elite: bool = False
    imitation_states: str = field(default="expert",
                                  metadata={"choices": IMITATION_STATES})
    stored_maps: bool = True
    temperature: float = 1.0


@dataclass(frozen=True)
class DistributedConfig:
    """Several hosts (processes) training one policy through jax.distributed.

    Every process runs the same ``placer-train`` command with its own
    ``process_id``; the data-parallel mesh then spans the devices of all of
    them. Leave everything unset for one process.

    Attributes:
        coordinator_address: "host:port" of process 0, which the others
            connect to; None: one process (unless ``auto``).
        num_processes: how many processes take part.
        process_id: this process's index, 0 .. num_processes - 1.
        auto: let jax.distributed.initialize detect the cluster (Slurm,
            Open MPI, Cloud TPU, ...) instead of the three fields above.
    """

    coordinator_address: Optional[str] = None
    num_processes: Optional[int] = None
    process_id: Optional[int] = None
    auto: bool = False

    def __post_init__(self):
        given = [self.coordinator_address is not None, self.num_processes is not None,
                 self.process_id is not None]
        if any(given) and not all(given):
            raise ValueError("distributed needs coordinator_address, num_processes "
                             "and process_id together")
        if self.auto and any(given):
            raise ValueError("distributed.auto detects the cluster: leave "
                             "coordinator_address, num_processes and process_id unset")
        if all(given):
            if self.num_processes < 1:
                raise ValueError("distributed.num_processes must be >= 1, not "
                                 f"{self.num_processes}")
            if not 0 <= self.process_id < self.num_processes:
                raise ValueError(f"distributed.process_id must be in 0 .. "
                                 f"{self.num_processes - 1}, not {self.process_id}")

    @property
    def enabled(self) -> bool:
        """Whether jax.distributed is to be initialised."""
        return self.auto or self.coordinator_address is not None


@dataclass(frozen=True)
class TrainRLConfig:
    """``placer-train``: PPO training of the placement policy on one netlist
    or several (taken in turn, one per update).

    Attributes:
        netlist: the design (.pb.txt, .pb.txt.gz or Bookshelf .aux); None
            when ``netlists`` or ``synthetic`` give the designs.
        placement: a placement whose header settings (canvas, grid) to use.
        netlists: more designs to train on together with ``netlist``.
        placements: their placements (header settings), in the same order;
            empty: none.
        synthetic: also train on this many generated designs
            (placer.synth.random_design, seeds first_seed, first_seed + 1, ...).
        first_seed: the first generated design's seed.
        synthetic_max_hard, synthetic_max_soft: upper ends of the generated
            designs' hard and soft macro counts.
        output_dir: where checkpoints/, policy/, logs/ and metrics.jsonl go.
        encoder_checkpoint: a reward-model checkpoint whose encoder
            initialises the policy's (placer-pretrain's output); None: random.
        init_checkpoint: a policy checkpoint to start from (fine-tuning);
            None: a fresh policy.
        value_checkpoint: a reward-model checkpoint (graph readout) whose
            encoder and term heads initialise the encoder and the value
            prior (needs model.value_prior): the initial value is minus its
            proxy prediction. None: no value prior loaded.
        updates: total PPO updates.
        eval_every: greedy evaluation every this many updates.
        checkpoint_every: save a training checkpoint every this many updates.
        keep_checkpoints: training checkpoints kept (the newest).
        fd_steps: steps of the three force-directed stages at the end of
            each episode (Circuit Training: 100 each).
        soft: the soft-macro placer at the end of each episode, whose proxy
            is the reward: "fd" (Circuit Training's force-directed pass) or
            "analytical" (placer.stdcell.analytical, place()'s default).
        seed: seed of initialisation and sampling.
        resume: continue from the newest checkpoint in output_dir.
        progress: show a progress bar.
        devices: data-parallel training over this many devices (the
            environments and minibatches split across them, the parameters
            replicated; placer.rl.parallel): 0: all of them (every
            process's, with ``distributed``), 1: one device. ppo.num_envs
            must be a multiple of it.
        distributed: several processes (hosts) through jax.distributed.
        model: network sizes.
        ppo: PPO hyper-parameters.
        settings: settings that override those of the files.
    """

    netlist: Optional[str] = None
    placement: Optional[str] = None
    netlists: tuple[str, ...] = ()
    placements: tuple[str, ...] = ()
    synthetic: int = 0
    first_seed: int = 3000
    synthetic_max_hard: int = 140
    synthetic_max_soft: int = 800
    output_dir: str = "train_out"
    encoder_checkpoint: Optional[str] = None
    init_checkpoint: Optional[str] = None
    value_checkpoint: Optional[str] = None
    updates: int = 1000
    eval_every: int = 10
    checkpoint_every: int = 50
    keep_checkpoints: int = 3
    fd_steps: tuple[int, int, int] = (100, 100, 100)
    soft: str = "fd"
    seed: int = 0
    resume: bool = True
    progress: bool = True
    devices: int = 0
    distributed: DistributedConfig = field(default_factory=DistributedConfig)
    model: PolicyConfig = field(default_factory=PolicyConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)

    def __post_init__(self):
        if self.devices < 0:
            raise ValueError(f"devices must be >= 0 (0: all), not {self.devices}")
        if self.soft not in SOFT_PLACERS:
            raise ValueError(f"soft must be one of {', '.join(SOFT_PLACERS)}, "
                             f"not {self.soft!r}")
        object.__setattr__(self, "fd_steps", tuple(self.fd_steps))
        object.__setattr__(self, "netlists", tuple(self.netlists))
        object.__setattr__(self, "placements", tuple(self.placements))


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
        lef: a DEF netlist's LEF files (technology LEF first).
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
    lef: tuple[str, ...] = ()   # a DEF netlist's LEF files (technology LEF first)

    def __post_init__(self):
        object.__setattr__(self, "lef", tuple(self.lef))


@dataclass(frozen=True)
class QuantizeConfig:
    """``placer-quantize``: a hardware-friendly quantized copy of a policy.

    Attributes:
        policy: the float policy checkpoint (placer-train's output_dir or its
            policy/ folder).
        bits: bit width, 2..8 (codes in [-(2^(b-1) - 1), 2^(b-1) - 1]).
        method: "msqe" (least mean squared error power-of-two exponents) or
            "gradient" (learned log2 thresholds, TQT, with fine-tuning).
        per_channel: one exponent per output channel instead of per tensor.
        netlist: a design on the policy's grid whose states the fine-tuning
            records (needed by "gradient", and by "msqe" with steps > 0).
        placement: its .plc (canvas and grid settings).
        steps: fine-tuning steps; None: 300 for gradient, 0 for msqe.
        samples: sampled episodes recorded (plus the greedy one).
        batch_size: states per fine-tuning step.
        learning_rate: Adam's step size for the weights.
        threshold_lr: step size of the normalised threshold updates.
        freeze_after: exponent flips that freeze a threshold (0: never).
        seed: seed of the recording and the minibatches.
        output_dir: where policy/ (the quantized checkpoint) and summary.json go.
        settings: settings that override those of the netlist's files.
    """

    policy: str = "???"
    bits: int = 8
    method: str = field(default="msqe", metadata={"choices": QUANT_METHODS})
    per_channel: bool = False
    netlist: Optional[str] = None
    placement: Optional[str] = None
    steps: Optional[int] = None
    samples: int = 8
    batch_size: int = 32
    learning_rate: float = 1e-4
    threshold_lr: float = 0.01
    freeze_after: int = 4
    seed: int = 0
    output_dir: str = "quant_out"
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)


@dataclass(frozen=True)
class ConvertConfig:
    """``placer-convert``: a design (and placement) from one format to another.

    Attributes:
        input: the design: .pb.txt, .pb.txt.gz, Bookshelf .aux, .def, .def.gz.
        output: the file to write; its extension picks the format (.pb.txt /
            .pb.txt.gz with <stem>.plc, .plc, .def / .def.gz with <stem>.tcl,
            Bookshelf .aux or .pl).
        lef: a DEF input's LEF files (technology LEF first).
        placement: a placement of the input (.plc, .pl, or .def placing its
            macros).
        cluster: group the standard cells into soft macros first.
        num_clusters: for cluster; None: placer.cluster's default.
        def_out: DEF output options (template, fixed, snap, mapping, tcl).
        settings: settings that override those of the files.
    """

    input: str = "???"
    output: str = "???"
    lef: tuple[str, ...] = ()
    placement: Optional[str] = None
    cluster: bool = False
    num_clusters: Optional[int] = None
    def_out: DefOutput = field(default_factory=DefOutput)
    settings: SettingsOverrides = field(default_factory=SettingsOverrides)

    def __post_init__(self):
        object.__setattr__(self, "lef", tuple(self.lef))


@dataclass(frozen=True)
class BenchConfig:
    """``placer-bench``: run a suite of placers x designs x seeds, write one
    JSON, .plc and picture per run, a Markdown table beside the published
    numbers, and a plot of proxy against time; resumes a half-finished suite.

    Attributes:
        suite: the suite: a YAML file, or the name of a shipped one in
            placer/bench_suites/ (small, ariane133, ariane133_quick).
        output_dir: where runs/, results.md and proxy_vs_time.png go; rerun
            into the same folder to resume.
        shared_dir: what ``${shared}`` in the suite's paths stands for (the
            project's shared data, ../shared from a source checkout).
        references: a YAML of published results; None: the shipped
            placer/bench_suites/references.yaml (TILOS MacroPlacement tables).
        seeds: run these seeds instead of the suite's.
        designs: run only these designs of the suite (names); empty: all.
        placers: run only these placers of the suite (labels); empty: all.
        resume: skip runs whose complete JSON exists in output_dir with the
            same design, placer entry, seed and weights.
        plot: draw a picture of every placement.
        progress: write progress lines to stderr.
    """

    suite: str = "???"
    output_dir: str = "bench_out"
    shared_dir: str = "../shared"
    references: Optional[str] = None
    seeds: Optional[tuple[int, ...]] = None
    designs: tuple[str, ...] = ()
    placers: tuple[str, ...] = ()
    resume: bool = True
    plot: bool = True
    progress: bool = True

    def __post_init__(self):
        for name in ("designs", "placers"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        if self.seeds is not None:
            object.__setattr__(self, "seeds", tuple(self.seeds))
