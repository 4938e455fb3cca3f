"""Command-line entry points (Hydra). The only module that imports hydra.

``placer-evaluate netlist=design.pb.txt placement=design.plc plot=out.png``
prints the proxy-cost breakdown as JSON. Options: see placer/conf/evaluate.yaml and
placer.config.EvaluateConfig. Paths are relative to the directory the command
is run from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import sys
from typing import NoReturn

import hydra
from hydra.core.config_store import ConfigStore
from hydra.utils import to_absolute_path
from omegaconf import DictConfig, ListConfig, OmegaConf

from placer.cli_help import check_choices, explained, value_text
from placer.config import (
    BenchConfig,
    ClusterConfig,
    ConvertConfig,
    DatasetConfig,
    EvaluateConfig,
    PlaceConfig,
    PretrainConfig,
    QuantizeConfig,
    TrainRLConfig,
)
from placer.cost.proxy import proxy_cost
from placer.errors import PlacerInputError
from placer.netlist.io import load_netlist
from placer.placers import PLACERS, POST_PASSES, methods

EXIT_INPUT_ERROR = 2
# placer/conf/, shipped inside the package (a wheel carries it). Absolute,
# because Hydra reads a relative config_path as a Python package when the
# entry point is a console script rather than a file.
CONFIG_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conf")


def _schema(cls) -> DictConfig:
    """The structured config of a frozen dataclass, writable so that YAML and
    command-line values can be merged into it; its keys and types still hold,
    and OmegaConf.to_object still builds the frozen dataclass."""
    node = OmegaConf.structured(cls)

    def unfreeze(n) -> None:
        n._set_flag("readonly", None)
        if isinstance(n, DictConfig):
            for k in n:
                unfreeze(n._get_node(k))
        elif isinstance(n, ListConfig):
            for i in range(len(n)):
                unfreeze(n._get_node(i))

    unfreeze(node)
    return node


def register_configs() -> None:
    """Registers every schema as ``base_<name>`` in Hydra's ConfigStore."""
    cs = ConfigStore.instance()
    cs.store(name="base_evaluate", node=_schema(EvaluateConfig))
    cs.store(name="base_place", node=_schema(PlaceConfig))
    cs.store(name="base_cluster", node=_schema(ClusterConfig))
    cs.store(name="base_dataset", node=_schema(DatasetConfig))
    cs.store(name="base_pretrain", node=_schema(PretrainConfig))
    cs.store(name="base_train_rl", node=_schema(TrainRLConfig))
    cs.store(name="base_quantize", node=_schema(QuantizeConfig))
    cs.store(name="base_convert", node=_schema(ConvertConfig))
    cs.store(name="base_bench", node=_schema(BenchConfig))


register_configs()

# The methods placer-place offers (its --help lists them, a config is checked
# against them): the place-method registry's names.
PLACE_METHODS: tuple[str, ...] = methods()
# Allowed values that the schemas' field metadata cannot hold, by schema.
CHOICES: dict[type, dict[str, tuple[str, ...]]] = {
    PlaceConfig: {"method": PLACE_METHODS}}


def _method_defaults() -> dict[str, str]:
    """placer-place's ``options.<name>`` (None: the method's default) -> the
    defaults of the registered methods and post-passes that have the option,
    as --help shows them (``null (sa: 4)``)."""
    owners: dict[str, list[str]] = {}
    for name, spec in [*PLACERS.items(), *POST_PASSES.items()]:
        for f in dataclasses.fields(spec.options):
            if f.default is not dataclasses.MISSING:
                owners.setdefault(f"options.{f.name}", []).append(
                    f"{name}: {value_text(f.default)}")
    return {k: f"null ({', '.join(v)})" for k, v in owners.items()}


# Defaults that --help shows instead of the schema's, by schema.
DEFAULTS: dict[type, dict[str, str]] = {PlaceConfig: _method_defaults()}
# One-line usage of each command, by config name (shown by --help and errors).
USAGE = {
    "evaluate": "placer-evaluate netlist=<file> [placement=<file.plc>] "
                "[plot=<file.png>] [output=<file.json>]",
    "place": "placer-place netlist=<file> [placement=<file.plc>] "
             "[method=sa] [budget_s=300] [refine=true]",
    "dataset": "placer-dataset output_dir=<dir> [synthetic=18] "
               "['netlists=[a.pb.txt]']",
    "pretrain": "placer-pretrain dataset=<dir> [output_dir=pretrain_out] [steps=600]",
    "train_rl": "placer-train netlist=<file> [placement=<file.plc>] "
                "['netlists=[...]'] [synthetic=0] [output_dir=train_out] "
                "[encoder_checkpoint=<dir>] [init_checkpoint=<dir>]",
    "cluster": "placer-cluster netlist=<flat.pb.txt|.aux> [plc=<header.plc>] "
               "[num_clusters=800] [output_dir=placer_out]",
    "quantize": "placer-quantize policy=<dir> [bits=8] [method=msqe|gradient] "
                "[netlist=<file> placement=<file.plc>] [output_dir=quant_out]",
    "convert": "placer-convert input=<design> output=<file> ['lef=[a.lef]'] "
               "[placement=<file>] [def_out.template=<in.def>]",
    "bench": "placer-bench suite=<suite.yaml|small|ariane133> "
             "[output_dir=bench_out] [shared_dir=../shared]",
}


def _explained(prog: str, config_name: str, schema: type, compile_cache: bool = True):
    """``--help`` and the key / value checks of placer.cli_help for one command,
    and the persistent compile cache unless ``compile_cache`` is False."""
    return explained(prog, config_name, schema, CONFIG_DIR, USAGE[config_name],
                     CHOICES.get(schema), DEFAULTS.get(schema), compile_cache)


def _path(p: str | None) -> str | None:
    return None if p is None else to_absolute_path(os.path.expanduser(p))


def check_writable_dir(p: str, target: str | None = None) -> str:
    """The absolute folder ``p`` if it is, or can be made, a writable folder:
    checked before a command's work, so that a bad output_dir fails at once.

    Args:
        p: the folder.
        target: the path to name in the error (a file to be written into
            ``p``); None: ``p`` itself.

    Raises:
        PlacerInputError: ``p`` or its nearest existing parent is not a folder,
            or is not writable.
    """
    out_dir = _path(p)
    target = target or out_dir
    probe = out_dir
    while not os.path.exists(probe) and os.path.dirname(probe) != probe:
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise PlacerInputError(
            "cannot create the output folder: " + (
                "a file of that name exists" if probe == target
                else f"{probe} is a file, not a folder"), target)
    if not os.access(probe, os.W_OK | os.X_OK):
        raise PlacerInputError(
            "the output folder is not writable" if probe == target
            else f"cannot write into {probe}: not writable", target)
    return out_dir


def _check_outputs(cfg) -> None:
    """Checks, before any work, that cfg's output_dir (or the folders of its
    output and plot files) can be written."""
    if getattr(cfg, "output_dir", None):
        check_writable_dir(cfg.output_dir)
    for name in ("output", "plot"):
        value = getattr(cfg, name, None)
        if isinstance(value, str):
            check_writable_dir(os.path.dirname(_path(value)), _path(value))


def _lef(cfg) -> dict:
    """``lef=`` keyword for load_netlist: the config's LEF paths, if any."""
    paths = getattr(cfg, "lef", ())
    return {"lef": [_path(p) for p in paths]} if paths else {}


def _output_dir(p: str) -> str:
    """The absolute output folder ``p``, created if missing."""
    out_dir = _path(p)
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise PlacerInputError(f"cannot create the output folder: {e.strerror or e}",
                               out_dir) from None
    return out_dir


def _write_json(result: dict, path: str) -> None:
    try:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
            f.write("\n")
    except OSError as e:
        raise PlacerInputError(f"cannot write the output: {e.strerror or e}",
                               path) from None


def run_evaluate(cfg: EvaluateConfig) -> dict:
    """Loads the design, computes its proxy cost, writes what cfg asks for.

    Returns:
        The JSON-ready breakdown (also written to cfg.output when set).

    Raises:
        PlacerInputError: a missing or malformed input, a bad setting or
            weight, or an output that cannot be written.
    """
    nl = load_netlist(_path(cfg.netlist), _path(cfg.placement), **_lef(cfg),
                      **cfg.settings.as_kwargs())
    cost = proxy_cost(nl, cfg.weights)
    result = {
        "netlist": cfg.netlist,
        "placement": cfg.placement,
        **cost.as_dict(),
        "counts": nl.counts(),
        "settings": dataclasses.asdict(nl.settings),
    }
    if cfg.plot is not None:
        from placer.viz import plot_placement  # matplotlib: only when drawing

        plot = _path(cfg.plot)
        try:
            plot_placement(nl, plot, cost)
        except OSError as e:
            raise PlacerInputError(f"cannot write the plot: {e.strerror or e}",
                                   plot) from None
        result["plot"] = cfg.plot
    if cfg.output is not None:
        _write_json(result, _path(cfg.output))
    return result


def run_place(cfg: PlaceConfig) -> dict:
    """Places the design with cfg.method and writes .plc, .json (and .png).

    Returns:
        The JSON-ready summary (costs, wall time, files written).
    """
    import time

    from placer.api import place
    from placer.legality import check_legality

    nl = load_netlist(_path(cfg.netlist), _path(cfg.placement), **_lef(cfg),
                      **cfg.settings.as_kwargs())
    nl, flat_def = _def_flow_input(nl, cfg)
    t0 = time.perf_counter()
    rl = {"policy": _path(cfg.policy)} if cfg.method == "rl" else {}
    out = place(nl, method=cfg.method, seed=cfg.seed, budget_s=cfg.budget_s,
                refine=cfg.refine, progress=cfg.progress, soft=cfg.soft, **rl,
                **cfg.options.as_kwargs())
    seconds = time.perf_counter() - t0
    cost = proxy_cost(out, cfg.weights)
    violations = check_legality(out)
    out_dir = _output_dir(cfg.output_dir)
    stem = cfg.name or f"{nl.name}_{cfg.method}{'_refined' if cfg.refine else ''}"
    base = os.path.join(out_dir, stem)
    from placer.netlist.io import save_placement

    save_placement(out, base + ".plc", costs=cost.as_dict(),
                   info=f"placed by placer: method={cfg.method} seed={cfg.seed} "
                        f"budget_s={cfg.budget_s} refine={cfg.refine}")
    result = {"netlist": cfg.netlist, "method": cfg.method, "seed": cfg.seed,
              "budget_s": cfg.budget_s, "refine": cfg.refine, **cost.as_dict(),
              "seconds": seconds, "legality_violations": len(violations),
              "grid": [out.settings.grid_rows, out.settings.grid_cols],
              "placement": base + ".plc"}
    if cfg.plot:
        from placer.viz import plot_placement

        plot_placement(out, base + ".png", cost,
                       title=f"{nl.name}: {cfg.method}, proxy {cost.proxy:.4f}")
        result["plot"] = base + ".png"
    result.update(_def_flow_output(out, cfg, base, flat_def))
    result["json"] = base + ".json"
    _write_json(result, base + ".json")
    return result


def _def_flow_input(nl, cfg: PlaceConfig):
    """A flat design read from DEF (with standard cells) is clustered first.

    Returns:
        (netlist to place, the DEF path it came from or None).
    """
    md = nl.metadata.get("lefdef")
    if md is None:
        return nl, None
    if len(nl.stdcells):
        from placer.cluster.api import cluster

        overrides = cfg.settings.as_kwargs()
        nl = cluster(nl, cfg.num_clusters, seed=cfg.seed)
        if overrides:
            nl = nl.with_settings(**overrides)
    return nl, md["def"]


def _def_flow_output(out, cfg: PlaceConfig, base: str, flat_def: str | None) -> dict:
    """Writes <base>.def (+ .tcl, and the clustered .pb.txt the .plc refers
    to) when the netlist came from DEF or def_out.template is given."""
    d = cfg.def_out
    template = _path(d.template) if d.template else flat_def
    result = {}
    if flat_def is not None:
        from placer.netlist.io import save_netlist

        save_netlist(out, base + ".pb.txt")
        result["netlist_out"] = base + ".pb.txt"
    if template is None:
        return result
    from placer.netlist.io import save_placement

    s = save_placement(out, base + ".def", template=template, fixed=d.fixed,
                       snap=d.snap, mapping=d.mapping, tcl=d.tcl)
    result["def"] = base + ".def"
    if d.tcl:
        result["tcl"] = s["tcl"]
    result["def_macros"] = s["macros"]
    result["def_macros_outside_core"] = len(s["outside_core"])
    result["def_macro_overlaps"] = len(s["overlaps"])
    result["def_max_snap_um"] = s["max_snap_shift_um"]
    return result


def run_convert(cfg: ConvertConfig) -> dict:
    """Converts cfg.input (+ placement) to cfg.output; returns the summary."""
    from placer.cluster.api import cluster
    from placer.netlist.convert import convert

    d = cfg.def_out
    transform = (lambda nl: cluster(nl, cfg.num_clusters, seed=0)) \
        if cfg.cluster else None
    return convert(_path(cfg.input), _path(cfg.output),
                   lef=[_path(p) for p in cfg.lef] or None,
                   placement=_path(cfg.placement), transform=transform,
                   template=_path(d.template) if d.template else None,
                   fixed=d.fixed, snap=d.snap, mapping=d.mapping, tcl=d.tcl,
                   **cfg.settings.as_kwargs())


@_explained("placer-convert", "convert", ConvertConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="convert")
def convert(dict_cfg: DictConfig) -> None:
    """``placer-convert``: converts a design (and placement) between DEF/LEF,
    Circuit Training .pb.txt + .plc and Bookshelf; prints the JSON summary."""
    _run_command(dict_cfg, USAGE["convert"], required="input", run=run_convert)


def run_cluster(cfg: ClusterConfig) -> dict:
    """Clusters the flat design and writes <name>.pb.txt, .plc and .json.

    Returns:
        The JSON-ready summary (counts, clustering statistics, settings,
        files written).
    """
    from placer.cluster.api import cluster
    from placer.netlist.io import save_netlist, save_placement

    overrides = cfg.settings.as_kwargs()
    flat = load_netlist(_path(cfg.netlist), **_lef(cfg), **overrides)
    out = cluster(flat, cfg.num_clusters, seed=cfg.seed,
                  max_area_ratio=cfg.max_area_ratio,
                  max_net_degree=cfg.max_net_degree,
                  refine_rounds=cfg.refine_rounds, plc=_path(cfg.plc),
                  utilization=cfg.utilization, gridding=cfg.gridding,
                  area_scale=cfg.area_scale)
    if overrides:
        out = out.with_settings(**overrides)
    out_dir = _output_dir(cfg.output_dir)
    base = os.path.join(out_dir, cfg.name or f"{flat.name}_clustered")
    save_netlist(out, base + ".pb.txt")
    save_placement(out, base + ".plc",
                   info=f"clustered by placer: seed={cfg.seed} "
                        f"clusters={len(out.soft_macros)} from {cfg.netlist}")
    result = {"netlist": cfg.netlist, "plc": cfg.plc,
              "clustering": out.metadata["clustering"], "counts": out.counts(),
              "settings": dataclasses.asdict(out.settings),
              "output_netlist": base + ".pb.txt", "output_placement": base + ".plc",
              "json": base + ".json"}
    _write_json(result, base + ".json")
    return result


def _fail(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    sys.exit(EXIT_INPUT_ERROR)


def _typed(dict_cfg: DictConfig, usage: str, required: str | None = "netlist"):
    """The frozen dataclass of a composed config; exits 2 on a bad one."""
    if required is not None and OmegaConf.is_missing(dict_cfg, required):
        _fail(f"no {required} given; run as {usage}")
    try:
        cfg = OmegaConf.to_object(dict_cfg)
    except dataclasses.FrozenInstanceError as e:  # a key added with +key=value
        _fail(f"unknown option {str(e).rsplit(' ', 1)[-1]}")
    except Exception as e:
        _fail(f"invalid configuration: {str(e).splitlines()[0]}")
    try:
        check_choices(cfg, CHOICES.get(type(cfg)))
    except PlacerInputError as e:
        _fail(str(e))
    return cfg


def _sweep_job(cfg):
    """``cfg`` with its own output folder when it is one job of a multirun
    sweep (``-m``): ``<output_dir>/<job number>``, so that the jobs neither
    overwrite nor resume one another. Any other run: ``cfg`` unchanged."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or not hasattr(cfg, "output_dir"):
        return cfg
    hc = HydraConfig.get()
    if hc.mode != RunMode.MULTIRUN:
        return cfg
    out = os.path.join(cfg.output_dir, str(hc.job.num))
    print(f"sweep job {hc.job.num} ({' '.join(hc.overrides.task)}): "
          f"output_dir={out}", file=sys.stderr, flush=True)
    return dataclasses.replace(cfg, output_dir=out)


def _run_command(dict_cfg: DictConfig, usage: str, required: str | None = "netlist",
                 run=None) -> None:
    """Types the config, runs ``run(cfg)`` and prints its JSON result; bad
    input ends with one ``error:`` line and status 2. In a multirun sweep each
    job writes to its own ``<output_dir>/<job number>``."""
    cfg = _sweep_job(_typed(dict_cfg, usage, required))
    try:
        _check_outputs(cfg)
        result = run(cfg)
    except PlacerInputError as e:
        _fail(str(e))
    print(json.dumps(result, indent=2, default=float), flush=True)


@_explained("placer-evaluate", "evaluate", EvaluateConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="evaluate")
def evaluate(dict_cfg: DictConfig) -> None:
    """``placer-evaluate``: prints the proxy-cost breakdown of a placement as JSON.

    Exits with status 2 and a one-line ``error: ...`` on bad input.
    """
    cfg: EvaluateConfig = _typed(dict_cfg, USAGE["evaluate"])
    try:
        _check_outputs(cfg)
        result = run_evaluate(cfg)
    except PlacerInputError as e:
        _fail(str(e))
    try:
        print(json.dumps(result, indent=2), flush=True)
    except BrokenPipeError:   # e.g. piped into `head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@_explained("placer-place", "place", PlaceConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="place")
def place(dict_cfg: DictConfig) -> None:
    """``placer-place``: places a design (random | greedy | sa, optional
    refinement) and writes .plc, .png and .json; prints the JSON summary."""
    _run_command(dict_cfg, USAGE["place"], run=run_place)


def run_dataset(cfg: DatasetConfig) -> dict:
    """Builds the dataset folder cfg describes; returns a JSON summary."""
    from placer.reward_model.dataset import build_dataset

    cfg = dataclasses.replace(
        cfg, output_dir=_path(cfg.output_dir),
        netlists=tuple(_path(p) for p in cfg.netlists),
        placements=tuple(_path(p) for p in cfg.placements))
    manifest = build_dataset(cfg, log=lambda m: print(m, file=sys.stderr))
    return {"output_dir": cfg.output_dir,
            "netlists": [e["id"] for e in manifest["netlists"]],
            "placements": sum(e["num_samples"] for e in manifest["netlists"]),
            "seconds": sum(e["seconds"] for e in manifest["netlists"])}


def run_pretrain(cfg: PretrainConfig) -> dict:
    """Trains the reward predictor; returns the JSON summary."""
    from placer.reward_model.train import train

    cfg = dataclasses.replace(cfg, dataset=_path(cfg.dataset),
                              output_dir=_path(cfg.output_dir))
    summary = train(cfg, log=lambda m: print(m, file=sys.stderr, flush=True))
    return {"model": summary["model"], "step": summary["step"],
            "seconds": summary["seconds"],
            "validation_mean": summary["validation"].get("mean")}


@_explained("placer-dataset", "dataset", DatasetConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="dataset")
def dataset(dict_cfg: DictConfig) -> None:
    """``placer-dataset``: generated (and given) designs, each with placements
    of varied quality labelled by the proxy cost."""
    _run_command(dict_cfg, USAGE["dataset"], required="output_dir", run=run_dataset)


@_explained("placer-pretrain", "pretrain", PretrainConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="pretrain")
def pretrain(dict_cfg: DictConfig) -> None:
    """``placer-pretrain``: trains the GNN reward predictor on a dataset."""
    _run_command(dict_cfg, USAGE["pretrain"], required="dataset", run=run_pretrain)


def run_train(cfg: TrainRLConfig) -> dict:
    """Trains (or fine-tunes) the PPO policy; returns the JSON summary."""
    from placer.rl.parallel import initialize_distributed
    from placer.rl.train import train

    initialize_distributed(cfg.distributed)     # before any JAX computation
    cfg = dataclasses.replace(
        cfg, output_dir=_path(cfg.output_dir),
        encoder_checkpoint=_path(cfg.encoder_checkpoint),
        init_checkpoint=_path(cfg.init_checkpoint))
    summary, _ = train(cfg, training_netlists(cfg),
                       log=lambda m: print(m, file=sys.stderr, flush=True))
    return summary


def training_netlists(cfg: TrainRLConfig) -> list:
    """The designs of a placer-train config: ``netlist``, ``netlists`` (with
    ``placements``) and ``synthetic`` generated ones, in that order.

    Raises:
        PlacerInputError: no design given, or placements that do not pair up.
    """
    paths = ([cfg.netlist] if cfg.netlist else []) + list(cfg.netlists)
    plcs = ([cfg.placement] if cfg.netlist else []) + (
        list(cfg.placements) if cfg.placements else [None] * len(cfg.netlists))
    if cfg.placement and not cfg.netlist:
        raise PlacerInputError("placement= is given without netlist= (for the "
                               "designs in netlists=, use placements=)")
    if cfg.placements and len(cfg.placements) != len(cfg.netlists):
        raise PlacerInputError(f"{len(cfg.placements)} placements for "
                               f"{len(cfg.netlists)} netlists")
    if not paths and cfg.synthetic < 1:
        raise PlacerInputError(
            "no design to train on: give netlist=<file>, 'netlists=[...]' or "
            "synthetic=<count>")
    out = [load_netlist(_path(n), _path(p), **cfg.settings.as_kwargs())
           for n, p in zip(paths, plcs, strict=True)]
    if cfg.synthetic > 0:
        from placer.synth import random_design

        out += [random_design(cfg.first_seed + i, cfg.synthetic_max_hard,
                              cfg.synthetic_max_soft) for i in range(cfg.synthetic)]
    return out


@_explained("placer-train", "train_rl", TrainRLConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="train_rl")
def train_rl(dict_cfg: DictConfig) -> None:
    """``placer-train``: PPO training of the placement policy (from scratch,
    from a pretrained encoder, or fine-tuning a policy checkpoint)."""
    _run_command(dict_cfg, USAGE["train_rl"], required=None, run=run_train)


@_explained("placer-cluster", "cluster", ClusterConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="cluster")
def cluster(dict_cfg: DictConfig) -> None:
    """``placer-cluster``: groups a flat netlist's standard cells into soft
    macros and writes the clustered .pb.txt, .plc and .json; prints the JSON."""
    _run_command(dict_cfg, USAGE["cluster"], run=run_cluster)


def run_quantize(cfg: QuantizeConfig) -> dict:
    """Quantizes the policy and writes <output_dir>/policy and summary.json;
    returns the JSON summary."""
    import numpy as np

    from placer.quant.api import quantize, save_quantized

    nl = None
    if cfg.netlist is not None:
        nl = load_netlist(_path(cfg.netlist), _path(cfg.placement),
                          **cfg.settings.as_kwargs())
    q = quantize(_path(cfg.policy), bits=cfg.bits, method=cfg.method,
                 per_channel=cfg.per_channel, netlist=nl, steps=cfg.steps,
                 samples=cfg.samples, batch_size=cfg.batch_size,
                 learning_rate=cfg.learning_rate, threshold_lr=cfg.threshold_lr,
                 freeze_after=cfg.freeze_after, seed=cfg.seed,
                 log=lambda m: print(m, file=sys.stderr, flush=True))
    out_dir = _output_dir(cfg.output_dir)
    policy_dir = save_quantized(q, os.path.join(out_dir, "policy"))
    info = q.meta["quantization"]
    result = {"policy": cfg.policy, "bits": q.bits, "method": q.method,
              "per_channel": q.per_channel, "kernels": len(q.codes),
              "exponents": {p: np.asarray(e).tolist() for p, e in q.exponents.items()},
              "finetune": info.get("finetune"), "output": policy_dir,
              "json": os.path.join(out_dir, "summary.json")}
    _write_json(result, result["json"])
    return result


@_explained("placer-quantize", "quantize", QuantizeConfig)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="quantize")
def quantize(dict_cfg: DictConfig) -> None:
    """``placer-quantize``: writes a power-of-two quantized copy of a policy
    (integer codes + exponents) that placer-place method=rl accepts."""
    _run_command(dict_cfg, USAGE["quantize"], required="policy", run=run_quantize)


def run_bench(cfg: BenchConfig) -> dict:
    """Runs the suite cfg names (what is not done yet in cfg.output_dir) and
    writes its table and plot; returns the JSON summary.

    Raises:
        PlacerInputError: a bad suite (unknown method, option, setting, file
            or name), checked before any placement, or an unwritable output.
    """
    from placer import bench

    given = _path(cfg.suite)
    suite_file = given if os.path.isfile(given) else bench.suite_path(cfg.suite)
    suite = bench.load_suite(suite_file, shared_dir=_path(cfg.shared_dir))
    suite = bench.select(suite, cfg.designs, cfg.placers, cfg.seeds)
    references = bench.load_references(_path(cfg.references))
    out_dir = _output_dir(cfg.output_dir)
    log = (lambda m: print(m, file=sys.stderr, flush=True)) if cfg.progress \
        else (lambda m: None)
    command = shlex.join(["placer-bench", *sys.argv[1:]])
    return bench.run_bench(suite, out_dir, config=dataclasses.asdict(cfg),
                           resume=cfg.resume, plot=cfg.plot, references=references,
                           log=log, command=command)


# No compile cache: a suite's seconds and its budgeted runs (budget_s counts
# compilation) must not depend on what earlier runs left in the cache.
@_explained("placer-bench", "bench", BenchConfig, compile_cache=False)
@hydra.main(version_base=None, config_path=CONFIG_DIR, config_name="bench")
def bench(dict_cfg: DictConfig) -> None:
    """``placer-bench``: runs a suite of placers x designs x seeds (resuming
    what output_dir already holds) and prints the table's path and a JSON
    summary; progress goes to stderr."""
    _run_command(dict_cfg, USAGE["bench"], required="suite", run=run_bench)


if __name__ == "__main__":
    evaluate()
