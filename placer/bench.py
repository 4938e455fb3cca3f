"""``placer-bench``: a grid of placers x designs x seeds, one command per table.

A suite (YAML) names the designs, the placers (a registered method with its
budget, refinement and options) and the seeds. ``run_bench`` checks the whole
suite against the registry first (unknown methods, options, settings or files
fail before any placement), then runs every (design, placer, seed) and writes
into the output folder:

* ``runs/<design>__<placer>__s<seed>.json``: one run: the float64 proxy
  breakdown, the legality violations, wall time, the method's metadata, the
  settings, the suite entries and the command's config. Written to a
  temporary file and renamed, so a JSON that exists is complete.
* ``runs/<...>.plc`` and ``runs/<...>.png``: the placement and its picture.
* ``results.md``: per design, each placer's median and best proxy over the
  seeds (legal runs only; illegal runs are counted and marked), its median
  wirelength / density / congestion and time, and the published numbers of
  the references file in rows labelled ``published: ...``.
* ``proxy_vs_time.png``: per design, every run's (seconds, proxy) point per
  placer, the published results as horizontal lines.

Rerunning a suite into the same folder skips every run whose JSON exists
and was made from the same design, placer entry, seed and weights (a changed
entry is run again), then remakes the table and the plot from all the JSONs
in ``runs/``.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import math
import os
import platform
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jax
import numpy as np
import yaml
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from placer.api import place
from placer.config import SOFT_PLACERS
from placer.cost.proxy import proxy_cost
from placer.cost.terms import DEFAULT_WEIGHTS
from placer.errors import PlacerInputError
from placer.legality import check_legality
from placer.netlist.io import load_netlist, save_placement
from placer.netlist.model import Netlist, Settings
from placer.placers import get, parse_options
from placer.placers.registry import suggest
from placer.viz import plot_placement

# Shipped suites and the references file: placer/bench_suites/.
SUITES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_suites")
REFERENCES = os.path.join(SUITES_DIR, "references.yaml")
SCHEMA = 1   # version of the run JSON; a JSON of another version is run again

# The setting of the TILOS evaluator's pin-orientation convention (issue 19,
# item 6): every run is also scored under it (the JSON's conventions.tilos, a
# column of the table), the convention of the published numbers. Should
# placer.Settings lose it, the runs say so instead of failing.
TILOS_SETTING = "netlist_pin_orientation"

_SUITE_KEYS = ("name", "description", "weights", "seeds", "designs", "placers")
_DESIGN_KEYS = ("name", "netlist", "placement", "settings", "references")
_PLACER_KEYS = ("label", "method", "refine", "budget_s", "soft", "options")


@dataclass(frozen=True)
class BenchDesign:
    """One design of a suite.

    Attributes:
        name: its name in file names and the table.
        netlist: the netlist file (absolute).
        placement: a .plc whose header settings to use (absolute) or None.
        settings: settings that override the files' (placer.Settings names).
        references: the key of its published numbers in the references file
            (default: ``name``).
    """

    name: str
    netlist: str
    placement: str | None = None
    settings: dict = field(default_factory=dict)
    references: str | None = None


@dataclass(frozen=True)
class BenchPlacer:
    """One placer of a suite.

    Attributes:
        label: its name in file names and the table (unique in the suite).
        method: a registered method (placer.placers.methods()).
        refine: run the refinement post-pass afterwards.
        budget_s: wall-clock budget in seconds (None: the method's fixed work).
        options: the method's and refinement's options.
        soft: the soft-macro placer ("analytical", place()'s default, or
            "fd", Circuit Training's force-directed pass).
    """

    label: str
    method: str
    refine: bool = False
    budget_s: float | None = None
    options: dict = field(default_factory=dict)
    soft: str = "analytical"


@dataclass(frozen=True)
class Suite:
    """A parsed, checked suite file.

    Attributes:
        name: the suite's name.
        path: the file it came from.
        designs: its designs.
        placers: its placers.
        seeds: the seeds every (design, placer) runs with.
        weights: (wirelength, density, congestion) weights of the proxy.
        description: free text shown at the top of the table.
    """

    name: str
    path: str
    designs: tuple[BenchDesign, ...]
    placers: tuple[BenchPlacer, ...]
    seeds: tuple[int, ...]
    weights: tuple[float, float, float] = DEFAULT_WEIGHTS
    description: str = ""


# ---------------------------------------------------------------- suite file


def suite_path(suite: str) -> str:
    """The file of ``suite``: a path, or the name of a shipped suite
    (``small`` -> placer/bench_suites/small.yaml).

    Raises:
        PlacerInputError: neither a file nor a shipped suite.
    """
    if os.path.isfile(suite):
        return os.path.abspath(suite)
    shipped = sorted(f[:-5] for f in os.listdir(SUITES_DIR)
                     if f.endswith(".yaml") and f != "references.yaml")
    if suite in shipped:
        return os.path.join(SUITES_DIR, suite + ".yaml")
    raise PlacerInputError(
        f"no suite file {suite!r}{suggest(suite, shipped)} (shipped suites: "
        f"{', '.join(shipped)})")


def _read_yaml(path: str, what: str) -> Any:
    try:
        with open(path, encoding="utf-8") as f:
            return yaml.safe_load(f)
    except OSError as e:
        raise PlacerInputError(f"cannot read the {what}: {e.strerror or e}",
                               path) from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise PlacerInputError(f"malformed {what}: {getattr(e, 'problem', e)}", path,
                               mark.line + 1 if mark else None) from None


def _check_keys(entry: Any, known: tuple, where: str, path: str) -> dict:
    if not isinstance(entry, dict):
        raise PlacerInputError(f"{where} must be a mapping, got {entry!r}", path)
    for k in entry:
        if k not in known:
            raise PlacerInputError(
                f"unknown key {k!r} in {where}{suggest(str(k), known)} (known: "
                f"{', '.join(known)})", path)
    return entry


def _resolve(p: str | None, base: str, shared_dir: str, where: str,
             path: str) -> str | None:
    """``p`` with ``${shared}`` replaced, made absolute against ``base``;
    the file must exist."""
    if p is None:
        return None
    if not isinstance(p, str):
        raise PlacerInputError(f"{where} must be a path, got {p!r}", path)
    full = os.path.expanduser(p.replace("${shared}", shared_dir))
    full = os.path.normpath(os.path.join(base, full))
    if not os.path.exists(full):
        hint = (f" (${{shared}} is {shared_dir}; set shared_dir=)"
                if "${shared}" in p else "")
        raise PlacerInputError(f"{where}: no such file {full}{hint}", path)
    return full


def _slug(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", s).strip("-") or "x"


def load_suite(path: str, shared_dir: str = "../shared") -> Suite:
    """Reads and checks a suite file; nothing runs.

    Every method and option is checked against the registry (with the
    closest known name), every setting against placer.Settings, every file
    for existence, labels and names for uniqueness.

    Args:
        path: the suite YAML.
        shared_dir: what ``${shared}`` in its paths stands for (relative:
            to the current directory).

    Raises:
        PlacerInputError: anything wrong with the suite, naming the file.
    """
    path = os.path.abspath(path)
    raw = _read_yaml(path, "suite file")
    raw = _check_keys(raw if raw is not None else {}, _SUITE_KEYS, "the suite",
                      path)
    base = os.path.dirname(path)
    shared_dir = os.path.abspath(os.path.expanduser(shared_dir))
    for key in ("designs", "placers"):
        if not isinstance(raw.get(key), list) or not raw[key]:
            raise PlacerInputError(f"the suite needs a non-empty list {key}:", path)
    seeds = raw.get("seeds", [0])
    if isinstance(seeds, int):
        seeds = [seeds]
    if not isinstance(seeds, list) or not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds):
        raise PlacerInputError(f"seeds must be a list of integers >= 0, got {seeds!r}",
                               path)
    if len(set(seeds)) != len(seeds):
        raise PlacerInputError(f"seeds repeat: {seeds}", path)
    weights = raw.get("weights", list(DEFAULT_WEIGHTS))
    if not isinstance(weights, list) or len(weights) != 3 or not all(
            isinstance(w, int | float) and not isinstance(w, bool) for w in weights):
        raise PlacerInputError(f"weights must be 3 numbers, got {weights!r}", path)

    setting_names = tuple(f.name for f in dataclasses.fields(Settings))
    designs = []
    for i, d in enumerate(raw["designs"]):
        where = f"designs[{i}]"
        d = _check_keys(d, _DESIGN_KEYS, where, path)
        name = d.get("name")
        if not isinstance(name, str) or not name:
            raise PlacerInputError(f"{where} needs a name", path)
        if "netlist" not in d:
            raise PlacerInputError(f"{where} ({name}) needs a netlist", path)
        settings = d.get("settings") or {}
        _check_keys(settings, setting_names, f"{where}.settings", path)
        designs.append(BenchDesign(
            name=name,
            netlist=_resolve(d["netlist"], base, shared_dir, f"{where}.netlist", path),
            placement=_resolve(d.get("placement"), base, shared_dir,
                               f"{where}.placement", path),
            settings=dict(settings), references=d.get("references")))
    placers = []
    for i, p in enumerate(raw["placers"]):
        where = f"placers[{i}]"
        p = _check_keys(p, _PLACER_KEYS, where, path)
        if "method" not in p:
            raise PlacerInputError(f"{where} needs a method", path)
        method = p["method"]
        try:
            get(str(method))
            options = p.get("options") or {}
            _check_keys(options, tuple(options), f"{where}.options", path)
            parse_options(method, dict(options), bool(p.get("refine", False)))
        except PlacerInputError as e:
            raise PlacerInputError(f"{where}: {e.reason}", path) from None
        budget = p.get("budget_s")
        if budget is not None and (isinstance(budget, bool) or not isinstance(
                budget, int | float) or not budget > 0):
            raise PlacerInputError(f"{where}.budget_s must be a positive number or "
                                   f"null, got {budget!r}", path)
        refine = p.get("refine", False)
        if not isinstance(refine, bool):
            raise PlacerInputError(f"{where}.refine must be true or false", path)
        soft = p.get("soft", "analytical")
        if soft not in SOFT_PLACERS:
            raise PlacerInputError(f"{where}.soft must be one of "
                                   f"{', '.join(SOFT_PLACERS)}, got {soft!r}", path)
        label = p.get("label") or _default_label(method, budget, refine)
        placers.append(BenchPlacer(str(label), method, refine,
                                   None if budget is None else float(budget),
                                   dict(options), soft))
    for what, names in (("design names", [d.name for d in designs]),
                        ("placer labels", [p.label for p in placers])):
        slugs = [_slug(n) for n in names]
        if len(set(slugs)) != len(slugs):
            raise PlacerInputError(f"{what} must be unique (in file names): {names}",
                                   path)
    return Suite(name=str(raw.get("name") or os.path.splitext(
        os.path.basename(path))[0]), path=path, designs=tuple(designs),
        placers=tuple(placers), seeds=tuple(seeds),
        weights=tuple(float(w) for w in weights),
        description=str(raw.get("description") or "").strip())


def select(suite: Suite, designs=(), placers=(), seeds=None) -> Suite:
    """The part of ``suite`` to run: only the named designs and placer
    labels (empty: all), and ``seeds`` instead of the suite's when given.

    Raises:
        PlacerInputError: a name that is not in the suite (with the closest).
    """
    for what, asked, known in (("design", designs, [d.name for d in suite.designs]),
                               ("placer", placers, [p.label for p in suite.placers])):
        for a in asked:
            if a not in known:
                raise PlacerInputError(
                    f"no {what} {a!r} in the suite{suggest(str(a), known)} (its "
                    f"{what}s: {', '.join(known)})", suite.path)
    if seeds is not None and (not seeds or not all(
            isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds)):
        raise PlacerInputError(f"seeds must be integers >= 0, got {list(seeds)!r}")
    return dataclasses.replace(
        suite,
        designs=tuple(d for d in suite.designs if not designs or d.name in designs),
        placers=tuple(p for p in suite.placers if not placers or p.label in placers),
        seeds=tuple(seeds) if seeds is not None else suite.seeds)


def _default_label(method: str, budget: float | None, refine: bool) -> str:
    s = method + (f" {budget:g}s" if budget else "") + (" + refine" if refine else "")
    return s


TERM_KEYS = ("wirelength", "density", "congestion")


def _number(x) -> bool:
    """A number, or a string of one (as published, trailing zeros kept)."""
    if isinstance(x, bool):
        return False
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def load_references(path: str | None = None) -> dict[str, dict]:
    """The published results: design key -> {"convention", "entries": [...]}.

    Each entry has label, proxy, source, and optionally wirelength, density,
    congestion, runtime, note.

    Raises:
        PlacerInputError: a malformed file.
    """
    path = os.path.abspath(path or REFERENCES)
    raw = _read_yaml(path, "references file")
    if not isinstance(raw, dict) or not isinstance(raw.get("designs"), dict):
        raise PlacerInputError("the references file needs a mapping designs:", path)
    out = {}
    for key, d in raw["designs"].items():
        entries = d.get("entries") if isinstance(d, dict) else None
        if not isinstance(entries, list):
            raise PlacerInputError(f"designs.{key} needs a list entries:", path)
        for j, e in enumerate(entries):
            ok = isinstance(e, dict) and isinstance(e.get("label"), str) and \
                isinstance(e.get("source"), str) and _number(e.get("proxy")) and \
                all(_number(e.get(k)) for k in TERM_KEYS if k in e)
            if not ok:
                raise PlacerInputError(
                    f"designs.{key}.entries[{j}] needs label, proxy (a number) and "
                    "source; wirelength, density, congestion must be numbers", path)
        out[str(key)] = {"convention": d.get("convention", ""), "entries": entries}
    return out


# ---------------------------------------------------------------- running


def run_stem(design: BenchDesign, placer: BenchPlacer, seed: int) -> str:
    """The file stem of one run: ``<design>__<placer>__s<seed>``."""
    return f"{_slug(design.name)}__{_slug(placer.label)}__s{seed}"


def run_key(design: BenchDesign, placer: BenchPlacer, seed: int,
            weights: tuple) -> str:
    """A hash of everything that decides a run's result (its files' paths
    excepted), so that a changed suite entry is not mistaken for done."""
    what = {"design": {**dataclasses.asdict(design),
                       "netlist": os.path.basename(design.netlist),
                       "placement": design.placement and
                       os.path.basename(design.placement)},
            "placer": dataclasses.asdict(placer), "seed": seed,
            "weights": list(weights)}
    return hashlib.sha256(json.dumps(what, sort_keys=True, default=str).encode()
                          ).hexdigest()[:16]


def _jsonable(x: Any) -> Any:
    if isinstance(x, dict):
        return {str(k): _jsonable(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_jsonable(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if x is None or isinstance(x, bool | int | float | str):
        return x
    return repr(x)


def write_json_atomic(obj: dict, path: str) -> None:
    """Writes ``obj`` to ``path`` through a temporary file and a rename, so
    ``path`` is either absent or complete."""
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(_jsonable(obj), f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise PlacerInputError(f"cannot write the output: {e.strerror or e}",
                               path) from None


def read_run(path: str) -> dict | None:
    """A complete run JSON, or None (unreadable, partial or another schema)."""
    try:
        with open(path, encoding="utf-8") as f:
            r = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(r, dict) or r.get("schema") != SCHEMA or not r.get("complete"):
        return None
    return r


def tilos_convention_available() -> bool:
    """Whether placer.Settings has the TILOS pin-orientation setting."""
    return TILOS_SETTING in {f.name for f in dataclasses.fields(Settings)}


def score(nl: Netlist, weights: tuple) -> tuple[Any, dict]:
    """(ProxyCost, the breakdowns by evaluator convention) of a placement.

    ``placer``: the netlist's own settings (pins turned by the .plc's
    orientation). ``tilos``: the public TILOS evaluator's convention, when
    the setting exists (see TILOS_SETTING).
    """
    cost = proxy_cost(nl, weights)
    out = {"placer": cost.as_dict()}
    if tilos_convention_available():
        tilos = nl.with_settings(**{TILOS_SETTING: True})
        out["tilos"] = proxy_cost(tilos, weights).as_dict()
    return cost, out


def run_one(nl: Netlist, design: BenchDesign, placer: BenchPlacer, seed: int,
            suite: Suite, runs_dir: str, config: dict, plot: bool = True) -> dict:
    """Places ``nl`` once, checks and scores it, writes .plc, .png and JSON
    into ``runs_dir``.

    Returns:
        the run's record (what the JSON holds).
    """
    base = os.path.join(runs_dir, run_stem(design, placer, seed))
    t0 = time.perf_counter()
    out = place(nl, method=placer.method, seed=seed, budget_s=placer.budget_s,
                refine=placer.refine, soft=placer.soft, **placer.options)
    seconds = time.perf_counter() - t0
    cost, conventions = score(out, suite.weights)
    violations = [dataclasses.asdict(v) for v in check_legality(out)]
    save_placement(out, base + ".plc", costs=cost.as_dict(),
                   info=f"placer-bench {suite.name}: {placer.label} "
                        f"(method={placer.method}) seed={seed}")
    files = {"plc": base + ".plc"}
    if plot:
        title = (f"{design.name}: {placer.label}, seed {seed}, proxy "
                 f"{cost.proxy:.4f}" + ("" if not violations else
                                        f", ILLEGAL ({len(violations)})"))
        plot_placement(out, base + ".png", cost, title=title)
        files["png"] = base + ".png"
    record = {
        "schema": SCHEMA, "complete": True,
        "key": run_key(design, placer, seed, suite.weights),
        "suite": {"name": suite.name, "path": suite.path},
        "design": dataclasses.asdict(design), "placer": dataclasses.asdict(placer),
        "seed": seed, **cost.as_dict(),
        "conventions": conventions,
        "tilos_convention": "computed" if "tilos" in conventions else
        f"not available (no setting {TILOS_SETTING} in placer.Settings)",
        "legal": not violations, "violations": violations,
        "seconds": seconds, "method_metadata": out.metadata.get("placer", {}),
        "settings": dataclasses.asdict(out.settings), "counts": out.counts(),
        "config": config, "files": files,
        "host": {"machine": platform.machine(), "cpus": os.cpu_count(),
                 "load_average": list(os.getloadavg()),
                 # a persistent compile cache shortens the compilation that
                 # "seconds" and the budgets include (placer.compile_cache)
                 "compile_cache": jax.config.jax_compilation_cache_dir,
                 "finished": datetime.datetime.now(datetime.timezone.utc)
                 .isoformat(timespec="seconds")},
    }
    write_json_atomic(record, base + ".json")
    return record


def rescore(record: dict, design: BenchDesign, base: str) -> dict:
    """Adds the TILOS convention's breakdown to a run made before that
    setting existed, from the run's .plc, and rewrites its JSON."""
    nl = load_netlist(design.netlist, base + ".plc", **design.settings)
    _, conventions = score(nl, tuple(record["weights"]))
    record["conventions"]["tilos"] = conventions["tilos"]
    record["tilos_convention"] = "computed later from the .plc"
    write_json_atomic(record, base + ".json")
    return record


def _load(design: BenchDesign) -> Netlist:
    return load_netlist(design.netlist, design.placement, **design.settings)


def run_bench(suite: Suite, out_dir: str, config: dict | None = None,
              resume: bool = True, plot: bool = True,
              references: dict | None = None,
              log: Callable[[str], None] = lambda m: None,
              command: str = "") -> dict:
    """Runs every (design, placer, seed) of the suite not already done, then
    writes the table and the plot from all the runs in ``out_dir/runs``.

    Args:
        suite: a checked suite (load_suite).
        out_dir: the output folder (created).
        config: the command's configuration, recorded in every JSON.
        resume: skip runs whose complete JSON exists with the same key.
        plot: draw each placement.
        references: load_references()'s result (None: the shipped file).
        log: progress lines.
        command: the command line, written at the top of the table.

    Returns:
        a summary: counts of runs done / skipped / illegal and the files.
    """
    references = load_references() if references is None else references
    runs_dir = os.path.join(out_dir, "runs")
    try:
        os.makedirs(runs_dir, exist_ok=True)
    except OSError as e:
        raise PlacerInputError(f"cannot create the output folder: {e.strerror or e}",
                               out_dir) from None
    grid = [(d, p, s) for d in suite.designs for p in suite.placers
            for s in suite.seeds]
    done = skipped = 0
    t_start = time.perf_counter()
    loaded: dict[str, Netlist] = {}
    for i, (d, p, s) in enumerate(grid, 1):
        stem = run_stem(d, p, s)
        tag = f"[{i}/{len(grid)}] {d.name} / {p.label} / seed {s}"
        old = read_run(os.path.join(runs_dir, stem + ".json")) if resume else None
        if old is not None and old.get("key") == run_key(d, p, s, suite.weights):
            skipped += 1
            log(f"{tag}: done before (proxy {old['proxy']:.4f}), skipped")
            if tilos_convention_available() and "tilos" not in old["conventions"]:
                rescore(old, d, os.path.join(runs_dir, stem))
                log(f"{tag}: scored under the TILOS convention from its .plc")
            continue
        if old is not None:
            log(f"{tag}: the suite entry changed since its JSON; running again")
        log(f"{tag}: running")
        if d.name not in loaded:
            loaded = {d.name: _load(d)}      # one design in memory at a time
        r = run_one(loaded[d.name], d, p, s, suite, runs_dir, config or {}, plot)
        done += 1
        log(f"{tag}: proxy {r['proxy']:.4f} in {r['seconds']:.1f} s"
            + ("" if r["legal"] else f", ILLEGAL: {len(r['violations'])} violations")
            + f" (elapsed {time.perf_counter() - t_start:.0f} s)")
    records = collect_runs(runs_dir)
    table = os.path.join(out_dir, "results.md")
    write_text_atomic(markdown_table(records, references, suite, command), table)
    summary = {"suite": suite.name, "output_dir": out_dir, "table": table,
               "runs": len(records), "ran": done, "skipped": skipped,
               "illegal": sum(not r["legal"] for r in records),
               "tilos_convention": tilos_convention_available()}
    if records:
        plot_path = os.path.join(out_dir, "proxy_vs_time.png")
        plot_proxy_time(records, references, plot_path, suite)
        summary["plot"] = plot_path
    return summary


def collect_runs(runs_dir: str) -> list[dict]:
    """Every complete run JSON in ``runs_dir``, by file name."""
    out = []
    for f in sorted(os.listdir(runs_dir)):
        if f.endswith(".json"):
            r = read_run(os.path.join(runs_dir, f))
            if r is not None:
                out.append(r)
    return out


def write_text_atomic(text: str, path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError as e:
        raise PlacerInputError(f"cannot write the output: {e.strerror or e}",
                               path) from None


# ---------------------------------------------------------------- reporting


def _ref_key(r: dict) -> str:
    return r["design"].get("references") or r["design"]["name"]


def _fmt(x: float | None, digits: int = 4) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) \
        else f"{x:.{digits}f}"


def _shown(path: str) -> str:
    """``path`` relative to the current directory when it lies below it."""
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


def _published(x: float | str | None) -> str:
    """A published number with the digits it was published with (the
    references file quotes numbers with trailing zeros, e.g. "0.820")."""
    return "-" if x is None else x if isinstance(x, str) else f"{x:g}"


def _group(records: list[dict]) -> dict[str, dict[str, list[dict]]]:
    """design -> placer label -> runs, in the order first seen."""
    out: dict[str, dict[str, list[dict]]] = {}
    for r in records:
        out.setdefault(r["design"]["name"], {}).setdefault(
            r["placer"]["label"], []).append(r)
    return out


def _order(records: list[dict], suite: Suite | None) -> list[dict]:
    """Runs in the suite's order of designs and placers (others after)."""
    if suite is None:
        return records
    d_rank = {d.name: i for i, d in enumerate(suite.designs)}
    p_rank = {p.label: i for i, p in enumerate(suite.placers)}
    big = 1 << 30
    return sorted(records, key=lambda r: (
        d_rank.get(r["design"]["name"], big), r["design"]["name"],
        p_rank.get(r["placer"]["label"], big), r["placer"]["label"], r["seed"]))


def placer_row(label: str, runs: list[dict], tilos: bool) -> str:
    """One table row: median / best proxy over the legal runs, median terms
    and time, and the legality of all runs."""
    legal = [r for r in runs if r["legal"]]
    illegal = len(runs) - len(legal)

    def med(key, rs=legal):
        return statistics.median(r[key] for r in rs) if rs else None

    if illegal == 0:
        legal_s = "yes"
    else:
        kinds = sorted({v["kind"] for r in runs for v in r["violations"]})
        legal_s = f"**NO: {illegal} of {len(runs)} illegal** ({', '.join(kinds)})"
    terms = " / ".join(_fmt(med(k)) for k in ("wirelength", "density", "congestion"))
    cells = [label, str(len(runs)), _fmt(med("proxy")),
             _fmt(min(r["proxy"] for r in legal) if legal else None)]
    if tilos:
        vals = [r["conventions"]["tilos"]["proxy"] for r in legal
                if "tilos" in r.get("conventions", {})]
        cells.append(_fmt(statistics.median(vals) if vals else None))
    cells += [terms, f"{statistics.median(r['seconds'] for r in runs):.1f}", legal_s]
    return "| " + " | ".join(cells) + " |"


def markdown_table(records: list[dict], references: dict, suite: Suite | None = None,
                   command: str = "") -> str:
    """The results file: per design, our placers' rows, then the published
    ones ("published: ..."). Proxy statistics count legal runs only."""
    records = _order(records, suite)
    tilos = any("tilos" in r.get("conventions", {}) for r in records)
    lines = [f"# placer-bench: {suite.name if suite else 'results'}", ""]
    if suite is not None and suite.description:
        lines += [suite.description, ""]
    if command:
        lines += ["    " + command, ""]
    loads = [r["host"]["load_average"][0] for r in records if "host" in r]
    machine = records[0]["host"] if records else {}
    weights = records[0]["weights"] if records else list(DEFAULT_WEIGHTS)
    lines += [
        f"{len(records)} runs on {machine.get('machine', '?')} with "
        f"{machine.get('cpus', '?')} CPUs (1-minute load average at the end of the "
        f"runs: median {statistics.median(loads):.1f}, max {max(loads):.1f})."
        if loads else "No runs.",
        f"Proxy = {weights[0]:g} x WL + {weights[1]:g} x density + {weights[2]:g} x "
        "congestion, float64 (`placer.proxy_cost`), lower is better. Median and "
        "best are over the seeds' legal placements; an illegal placement "
        "(`placer.check_legality`) is never counted, and its row says how many "
        "there were. WL / density / congestion and time are medians.",
        "Our proxy uses placer's (Circuit Training's) convention, pins turned by "
        "the placement's orientations" + (
            "; the TILOS column the public TILOS evaluator's, pins turned by the "
            "netlist's orientations (`netlist_pin_orientation=true`), the "
            "convention of the published rows."
                           if tilos else
                           "; the TILOS evaluator's convention is not available in "
                           "this version (see placer/bench.py, TILOS_SETTING)."),
        ""]
    head = ["placer", "runs", "proxy (median)", "proxy (best)"] + (
        ["proxy, TILOS convention (median; published rows)"] if tilos else []) + [
        "WL / density / congestion", "time (s)", "legal"]
    for design, by_placer in _group(records).items():
        first = next(iter(by_placer.values()))[0]
        c, st = first.get("counts", {}), first["settings"]
        lines += [f"## {design}", "",
                  f"`{_shown(first['design']['netlist'])}`: "
                  f"{c.get('hard_macros', '?')} hard macros, "
                  f"{c.get('soft_macros', '?')} soft macros, grid "
                  f"{st['grid_cols']} x {st['grid_rows']}.",
                  "", "| " + " | ".join(head) + " |",
                  "|" + "---|" * len(head)]
        lines += [placer_row(label, runs, tilos) for label, runs in by_placer.items()]
        ref = references.get(_ref_key(first))
        if ref:
            for e in ref["entries"]:
                # as published (their digits); in the TILOS column when there
                # is one, since that is the convention they were scored in
                terms = " / ".join(_published(e.get(k))
                                   for k in ("wirelength", "density", "congestion"))
                proxy = _published(e["proxy"])
                cells = [f"published: {e['label']}", "-"] + (
                    ["-", "-", proxy] if tilos else [proxy, "-"]) + [
                    terms, str(e.get("runtime", "-")), "-"]
                lines.append("| " + " | ".join(cells) + " |")
            lines += ["", f"Published numbers: {ref['convention']}", "Sources: "
                      + "; ".join(sorted({e['source'] for e in ref['entries']})) + "."]
        lines.append("")
    return "\n".join(lines)


def plot_proxy_time(records: list[dict], references: dict, path: str,
                    suite: Suite | None = None) -> str:
    """Writes the proxy-against-time plot: one panel per design, each run a
    point (seconds, proxy) coloured by placer (illegal runs as red x), the
    published results as dashed horizontal lines. Time is on a log axis when
    the runs span more than a factor of 10."""
    groups = _group(_order(records, suite))
    n = len(groups)
    fig = Figure(figsize=(10.5, 4.2 * n), dpi=110, layout="constrained")
    for i, (design, by_placer) in enumerate(groups.items()):
        ax = fig.add_subplot(n, 1, i + 1)
        for label, runs in by_placer.items():
            ok = [r for r in runs if r["legal"]]
            bad = [r for r in runs if not r["legal"]]
            ax.scatter([r["seconds"] for r in ok], [r["proxy"] for r in ok],
                             label=label, s=28)
            if bad:
                ax.scatter([r["seconds"] for r in bad], [r["proxy"] for r in bad],
                           marker="x", color="red", s=40,
                           label=f"{label} (illegal)")
        ref = references.get(_ref_key(next(iter(by_placer.values()))[0]))
        if ref:
            for j, e in enumerate(ref["entries"]):
                ax.axhline(float(e["proxy"]), ls="--", lw=0.9, color=f"C{(j + 3) % 10}",
                           alpha=0.8, label=f"published: {e['label']}")
        secs = [r["seconds"] for runs in by_placer.values() for r in runs]
        if max(secs) > 10 * min(secs) > 0:
            ax.set_xscale("log")
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("wall time (s)")
        ax.set_ylabel("proxy cost")
        ax.set_title(design)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.savefig(path)
    return path


__all__ = ["BenchDesign", "BenchPlacer", "Suite", "collect_runs", "load_references",
           "load_suite", "markdown_table", "plot_proxy_time", "read_run", "run_bench",
           "run_one", "run_stem", "score", "select", "suite_path", "write_json_atomic"]
