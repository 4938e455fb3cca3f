"""Datasets of netlist/placement pairs labelled with the proxy-cost terms.

A dataset is a folder:

    manifest.json                 format, config, one entry per netlist
    <id>/netlist.pb.txt.gz        the design (Circuit Training text format)
    <id>/settings.plc             its canvas, grid and routing (a .plc header,
                                  with the design's own positions)
    <id>/samples.npz              one shard: the placements and their labels

A shard holds B placements of its netlist: ``xy`` (B, V, 2) float32 node
centres, ``orient`` (B, V) int8 orientation codes, ``wirelength``,
``density``, ``congestion`` (B,) float32 labels from placer's proxy cost, and
``source`` (B,) int8 (SOURCES: how the placement was made).

Placements of varied quality come from the placers of the project, all from a
fair start (soft macros by force-directed placement):

* random: random legal macro placements (uniform over legal cells),
* greedy: the wire-mask greedy placement,
* sa: snapshots of simulated-annealing chains at the end of every stage, from
  hot (near random) to cold (good),
* perturbed: good placements (SA snapshots) with a random share of hard and
  soft macros displaced by Gaussian noise of a random size.

Generation is batched with JAX (vmapped rollouts, chains and costs) and shows
a progress bar; a netlist whose shard is already written is skipped, so an
interrupted build resumes.

Dimensions: V nodes, B placements, M movable hard macros.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import time
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np
from jax.tree_util import Partial

from placer.config import SAConfig, SampleMix
from placer.cost.proxy import cost_terms
from placer.cost.terms import TERMS
from placer.env.env import make_env, random_policy, rollout_fn, rollouts_fn
from placer.errors import PlacerInputError
from placer.gridding import grid_for
from placer.models.graph import graph_size
from placer.netlist.io import load_netlist, save_netlist, save_placement
from placer.netlist.model import Netlist
from placer.run_log import progress
from placer.search.greedy import greedy_policy
from placer.search.sa import make_sa
from placer.synth import random_design

FORMAT = "placer-dataset/1"
MANIFEST = "manifest.json"
SOURCES = ("random", "greedy", "sa", "perturbed")


def mix_counts(mix: SampleMix) -> tuple[int, int, int, int]:
    """(random, greedy, sa, perturbed) placement counts, summing to samples.

    Raises:
        PlacerInputError: for shares out of range or too few samples.
    """
    if mix.samples < 4:
        raise PlacerInputError(f"samples must be >= 4, got {mix.samples}")
    if not (mix.random >= 0 and mix.perturbed >= 0 and mix.random + mix.perturbed < 1):
        raise PlacerInputError("the random and perturbed shares must be >= 0 and sum "
                               f"to < 1, got {mix.random}, {mix.perturbed}")
    if mix.sa_chains < 1 or mix.sa_steps_per_stage < 1 or mix.rollout_batch < 1:
        raise PlacerInputError("sa_chains, sa_steps_per_stage and rollout_batch must "
                               "be >= 1")
    n_rand = max(1, int(round(mix.random * mix.samples)))
    n_pert = int(round(mix.perturbed * mix.samples))
    n_sa = mix.samples - 1 - n_rand - n_pert
    if n_sa < 1:
        raise PlacerInputError("no room left for SA snapshots in the sample mix")
    return n_rand, 1, n_sa, n_pert


def _cells_of(xy: np.ndarray, nodes: np.ndarray, canvas: np.ndarray, rows: int,
              cols: int) -> np.ndarray:
    """(B, M) grid cells of ``nodes`` in placements xy (B, V, 2)."""
    gw, gh = canvas[0] / cols, canvas[1] / rows
    col = np.clip(np.floor(xy[:, nodes, 0] / gw), 0, cols - 1).astype(np.int32)
    row = np.clip(np.floor(xy[:, nodes, 1] / gh), 0, rows - 1).astype(np.int32)
    return row * cols + col


def _label(arrays, xy: np.ndarray, orient: np.ndarray, chunk: int = 32) -> dict:
    """Cost terms (float32) of placements xy (B, Vc, 2), orient (B, Vc)."""
    fn = jax.jit(jax.vmap(lambda p, o: cost_terms(arrays, p, o)))
    out = {t: [] for t in TERMS}
    for i in range(0, len(xy), chunk):
        p = xy[i:i + chunk]
        o = orient[i:i + chunk]
        n = len(p)
        if n < chunk:   # one compiled shape: pad the last chunk
            p = np.concatenate([p, np.repeat(p[-1:], chunk - n, 0)])
            o = np.concatenate([o, np.repeat(o[-1:], chunk - n, 0)])
        r = jax.device_get(fn(jnp.asarray(p), jnp.asarray(o)))
        for t in TERMS:
            out[t].append(np.asarray(r[t][:n], np.float32))
    return {t: np.concatenate(v) for t, v in out.items()}


def placement_samples(netlist: Netlist, mix: SampleMix, seed: int = 0,
                      progress=None) -> dict[str, np.ndarray]:
    """Placements of varied quality of one netlist, with their cost terms.

    Args:
        netlist: a clustered design whose settings give the canvas and grid.
        mix: how many placements of each kind.
        seed: random seed (equal seeds give equal samples).
        progress: optional callable(str) told what is being made.

    Returns:
        dict of arrays: xy (B, V, 2) float32, orient (B, V) int8, wirelength,
        density, congestion (B,) float32, source (B,) int8 (index in SOURCES).
    """
    n_rand, n_greedy, n_sa, n_pert = mix_counts(mix)
    env, params = make_env(netlist)
    rows, cols = env.spec.grid_rows, env.spec.grid_cols
    v = netlist.num_nodes
    canvas = np.asarray(netlist.canvas, np.float64)
    order = np.asarray(params.order[: int(params.num_to_place)])
    m_pad = params.order.shape[0]
    base_orient = np.asarray(params.orient)
    key = jax.random.PRNGKey(seed)
    rng = np.random.default_rng(seed)
    say = progress or (lambda s: None)

    # random legal placements (and the SA chains' starts)
    say("random")
    n_roll = max(n_rand, mix.sa_chains)
    run = functools.partial(rollouts_fn(env.spec), params,
                            policy=Partial(random_policy))
    rand_xy = []
    while sum(len(x) for x in rand_xy) < n_roll:
        key, k = jax.random.split(key)
        out = jax.device_get(run(jax.random.split(k, mix.rollout_batch)))
        ok = ~(np.asarray(out["infeasible"]) | np.asarray(out["invalid"]))
        if not ok.any() and not rand_xy:
            raise PlacerInputError(f"no legal random placement of {netlist.name!r} "
                                   f"in {mix.rollout_batch} tries")
        rand_xy.append(np.asarray(out["xy"])[ok])
    rand_xy = np.concatenate(rand_xy)[:n_roll]

    say("greedy")
    g = jax.device_get(rollout_fn(env.spec)(params, key, greedy_policy(env, params)))
    greedy_xy = np.asarray(g["xy"])[None]

    # SA snapshots: every chain's state after every stage, hot to cold
    say("sa")
    cfg = SAConfig(chains=mix.sa_chains, steps_per_stage=mix.sa_steps_per_stage,
                   t_start=mix.sa_t_start, t_end=mix.sa_t_end)
    stage, refresh, _, orient_of = make_sa(env, params, cfg)
    stages = -(-n_sa // mix.sa_chains)
    cells = np.zeros((mix.sa_chains, m_pad), np.int32)
    cells[:, : len(order)] = _cells_of(rand_xy[: mix.sa_chains], order, canvas,
                                       rows, cols)
    orients = np.zeros((mix.sa_chains, m_pad), np.int32)
    orients[:, : len(order)] = base_orient[order]
    cells, orients = jnp.asarray(cells), jnp.asarray(orients)
    states = refresh(cells, orients)
    sa_xy, sa_or = [], []
    temps_all = mix.sa_t_start * (mix.sa_t_end / mix.sa_t_start) ** np.linspace(
        0, 1, stages * mix.sa_steps_per_stage)
    for s in range(stages):
        temps = jnp.asarray(temps_all[s * mix.sa_steps_per_stage:
                                      (s + 1) * mix.sa_steps_per_stage],
                            states.xy.dtype)
        key, k = jax.random.split(key)
        keys = jax.random.split(k, mix.sa_chains * mix.sa_steps_per_stage).reshape(
            (mix.sa_chains, mix.sa_steps_per_stage) + k.shape)
        cells, orients, states, _ = stage(keys, cells, orients, states, temps)
        states = refresh(cells, orients)
        sa_xy.append(np.asarray(states.xy))
        sa_or.append(np.asarray(jax.vmap(orient_of)(orients)))
        say(f"sa stage {s + 1}/{stages}")
    sa_xy = np.concatenate(sa_xy)[-n_sa:]
    sa_or = np.concatenate(sa_or)[-n_sa:]

    # perturbations of the colder half of the SA snapshots
    say("perturbed")
    good = np.arange(len(sa_xy) // 2, len(sa_xy))
    pick = good[rng.integers(len(good), size=n_pert)]
    pert_xy = sa_xy[pick].copy()
    pert_or = sa_or[pick].copy()
    sizes = np.asarray(params.cost.node_size)
    cell = canvas / [cols, rows]
    soft = np.flatnonzero(np.asarray(params.soft)[:v])
    for b in range(n_pert):
        share = rng.uniform(0.05, 0.5)
        sigma = rng.uniform(0.5, 3.0)
        moved = order[rng.random(len(order)) < share]
        pert_xy[b, moved] += rng.normal(0, sigma, (len(moved), 2)) * cell
        moved_soft = soft[rng.random(len(soft)) < share]
        pert_xy[b, moved_soft] += rng.normal(0, sigma / 2, (len(moved_soft), 2)) * cell
        half = sizes[:, :] / 2   # N-frame half sizes; rotated macros are rare here
        lo, hi = half, canvas - half
        idx = np.concatenate([moved, moved_soft])
        pert_xy[b, idx] = np.clip(pert_xy[b, idx], lo[idx], np.maximum(hi[idx],
                                                                       lo[idx]))

    rand_xy = rand_xy[:n_rand]
    xy = np.concatenate([rand_xy, greedy_xy, sa_xy, pert_xy]).astype(np.float32)
    orient = np.concatenate([
        np.broadcast_to(base_orient, (n_rand + n_greedy, len(base_orient))),
        sa_or, pert_or]).astype(np.int32)
    source = np.repeat(np.arange(4, dtype=np.int8), [n_rand, n_greedy, n_sa, n_pert])
    say("labels")
    labels = _label(params.cost, xy, orient)
    return {"xy": xy[:, :v], "orient": orient[:, :v].astype(np.int8),
            "source": source, **labels}


# ------------------------------------------------------------------ folders
def _write_manifest(out_dir: str, manifest: dict) -> None:
    tmp = os.path.join(out_dir, MANIFEST + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    os.replace(tmp, os.path.join(out_dir, MANIFEST))


def read_manifest(path: str | os.PathLike) -> dict:
    """The manifest of a dataset folder.

    Raises:
        PlacerInputError: no manifest there, or not a placer dataset.
    """
    file = os.path.join(os.fspath(path), MANIFEST)
    try:
        with open(file, encoding="utf-8") as f:
            manifest = json.load(f)
    except FileNotFoundError:
        raise PlacerInputError("no dataset manifest here", file) from None
    except (OSError, json.JSONDecodeError) as e:
        raise PlacerInputError(f"unreadable dataset manifest: {e}", file) from None
    if manifest.get("format") != FORMAT:
        got = manifest.get("format")
        raise PlacerInputError(f"not a placer dataset (format {got!r}, expected "
                               f"{FORMAT!r})", file)
    return manifest


def add_netlist(out_dir: str | os.PathLike, netlist_id: str, netlist: Netlist,
                mix: SampleMix, seed: int, manifest: dict, progress=None,
                **info) -> dict:
    """Makes one netlist's samples and writes its folder; returns its entry."""
    out_dir = os.fspath(out_dir)
    d = os.path.join(out_dir, netlist_id)
    os.makedirs(d, exist_ok=True)
    t0 = time.perf_counter()
    samples = placement_samples(netlist, mix, seed=seed, progress=progress)
    save_netlist(netlist, os.path.join(d, "netlist.pb.txt.gz"))
    save_placement(netlist, os.path.join(d, "settings.plc"))
    tmp = os.path.join(d, "samples.tmp.npz")
    np.savez_compressed(tmp, **samples)
    os.replace(tmp, os.path.join(d, "samples.npz"))
    entry = {
        "id": netlist_id,
        "name": netlist.name,
        "netlist": f"{netlist_id}/netlist.pb.txt.gz",
        "placement": f"{netlist_id}/settings.plc",
        "samples": f"{netlist_id}/samples.npz",
        "num_samples": int(len(samples["xy"])),
        "graph_size": list(graph_size(netlist)),
        "counts": netlist.counts(),
        "grid": [netlist.settings.grid_cols, netlist.settings.grid_rows],
        "sources": {s: int(np.sum(samples["source"] == i))
                    for i, s in enumerate(SOURCES)},
        "label_range": {t: [float(samples[t].min()), float(samples[t].max())]
                        for t in TERMS},
        "seed": int(seed),
        "seconds": round(time.perf_counter() - t0, 2),
        **info,
    }
    manifest["netlists"] = [e for e in manifest["netlists"] if e["id"] != netlist_id]
    manifest["netlists"].append(entry)
    _write_manifest(out_dir, manifest)
    return entry


def new_manifest(out_dir: str | os.PathLike, config: dict) -> dict:
    """The folder's manifest: read when it exists (to resume), else a new one."""
    out_dir = os.fspath(out_dir)
    os.makedirs(out_dir, exist_ok=True)
    if os.path.exists(os.path.join(out_dir, MANIFEST)):
        manifest = read_manifest(out_dir)
        if manifest.get("config") != config:
            raise PlacerInputError(
                "this folder holds a dataset built with another configuration; "
                "use a new output_dir (or delete it)", out_dir)
        return manifest
    manifest = {"format": FORMAT, "config": config, "netlists": []}
    _write_manifest(out_dir, manifest)
    return manifest


@dataclass
class NetlistSamples:
    """One netlist of a dataset and its samples (see the module docstring)."""

    id: str
    netlist: Netlist
    xy: np.ndarray
    orient: np.ndarray
    labels: np.ndarray       # (B, 3) wirelength, density, congestion
    source: np.ndarray
    entry: dict = dataclasses.field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.xy)


def load_dataset(path: str | os.PathLike, ids=None) -> list[NetlistSamples]:
    """Reads a dataset folder (every netlist, or those in ``ids``).

    Raises:
        PlacerInputError: a missing or malformed manifest, netlist or shard.
    """
    path = os.fspath(path)
    manifest = read_manifest(path)
    out = []
    for e in manifest["netlists"]:
        if ids is not None and e["id"] not in ids:
            continue
        nl = load_netlist(os.path.join(path, e["netlist"]),
                          os.path.join(path, e["placement"]))
        shard = os.path.join(path, e["samples"])
        try:
            with np.load(shard) as z:
                s = {k: z[k] for k in ("xy", "orient", "source", *TERMS)}
        except (OSError, KeyError, ValueError) as err:
            raise PlacerInputError(f"unreadable shard: {err}", shard) from None
        if s["xy"].shape[1:] != (nl.num_nodes, 2):
            raise PlacerInputError(f"shard holds placements of {s['xy'].shape[1]} "
                                   f"nodes; its netlist has {nl.num_nodes}", shard)
        labels = np.stack([s[t] for t in TERMS], axis=1).astype(np.float32)
        out.append(NetlistSamples(e["id"], nl, s["xy"], s["orient"], labels,
                                  s["source"], e))
    if ids is not None:
        missing = set(ids) - {n.id for n in out}
        if missing:
            raise PlacerInputError(f"netlists not in the dataset: "
                                   f"{', '.join(sorted(missing))}", path)
    return out


def build_dataset(cfg, log=progress) -> dict:
    """Builds (or resumes) the dataset a DatasetConfig describes.

    Generated designs get ids ``design_<seed>``; further netlists get their
    file's stem (``netlist.pb.txt.gz`` files take their folder's name). Netlist
    ``j`` of the list is labelled with placement seed ``cfg.seed + j``.

    Returns:
        the manifest.

    Raises:
        PlacerInputError: bad options, unreadable inputs, or a folder that
            holds a dataset of another configuration.
    """
    if cfg.synthetic < 0:
        raise PlacerInputError(f"synthetic must be >= 0, got {cfg.synthetic}")
    if cfg.placements and len(cfg.placements) != len(cfg.netlists):
        raise PlacerInputError(f"placements must be empty or one per netlist "
                               f"({len(cfg.netlists)}), got {len(cfg.placements)}")
    mix_counts(cfg.mix)
    config = dataclasses.asdict(cfg)
    for k in ("output_dir", "progress"):
        config.pop(k)
    config["netlists"] = [os.path.abspath(p) for p in cfg.netlists]
    config["placements"] = [os.path.abspath(p) for p in cfg.placements]
    out_dir = os.path.abspath(cfg.output_dir)
    manifest = new_manifest(out_dir, config)
    done = {e["id"] for e in manifest["netlists"]}

    jobs = [(f"design_{cfg.first_seed + i}", ("synthetic", cfg.first_seed + i))
            for i in range(cfg.synthetic)]
    for j, path in enumerate(cfg.netlists):
        base = os.path.basename(path)
        stem = base.split(".")[0]
        if stem in ("netlist", "netlist_flat"):
            stem = os.path.basename(os.path.dirname(os.path.abspath(path))) or stem
        plc = cfg.placements[j] if cfg.placements else None
        jobs.append((stem, ("file", path, plc)))
    ids = [j[0] for j in jobs]
    if len(set(ids)) != len(ids):
        raise PlacerInputError(f"two netlists would share a dataset id: {ids}")

    bar = None
    if cfg.progress:
        from tqdm import tqdm
        bar = tqdm(total=len(jobs), initial=len(done & set(ids)), desc="dataset",
                   unit="netlist", dynamic_ncols=True)
    t0 = time.perf_counter()
    try:
        for j, (nid, job) in enumerate(jobs):
            if nid in done:
                continue
            if job[0] == "synthetic":
                nl = random_design(job[1], cfg.max_hard, cfg.max_soft)
                info = {"origin": "synthetic", "design_seed": job[1]}
            else:
                nl = load_netlist(job[1], job[2])
                if not nl.metadata.get("grid_given", True):
                    nl = grid_for(nl)
                info = {"origin": os.path.abspath(job[1])}
            report = None
            if bar is not None:
                bar.set_description(f"dataset {nid}")
                report = lambda s: bar.set_postfix_str(s)  # noqa: B023, E731
            add_netlist(out_dir, nid, nl, cfg.mix, cfg.seed + j, manifest, report,
                        **info)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    manifest["seconds_this_run"] = round(time.perf_counter() - t0, 1)
    _write_manifest(out_dir, manifest)
    log(f"dataset {out_dir}: {len(manifest['netlists'])} netlists, "
        f"{sum(e['num_samples'] for e in manifest['netlists'])} placements")
    return manifest
