"""Supervised training of the reward predictor on a placement dataset.

The dataset's netlists are padded to one GraphSpec and stacked; a batch is
``netlists_per_batch`` netlists x ``batch_size / netlists_per_batch``
placements of each, drawn from a key folded with the step (so a resumed run
draws the same batches). The loss is the mean squared error of the
standardised terms plus ``rank_weight`` times the squared error of the
predictions and targets centred on each netlist's group, in units of that
netlist's own spread of the term: the second part is what teaches the ranking
of placements of one design, which the policy needs, rather than the level of
each design's cost.

One jitted update step (optax Adam with global-norm clipping); a thin Python
loop around it evaluates, logs (TensorBoard event files via tensorboardX, and
metrics.jsonl), saves orbax checkpoints and resumes from the newest one.

Output folder:
    checkpoints/   training checkpoints (params, optimizer state, step)
    model/         the final model (params + metadata): load_reward_model
    logs/          TensorBoard event files
    metrics.jsonl  one JSON line per evaluation

Dimensions: K netlists, N samples, Vp padded nodes, B batch, G groups.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from placer.checkpoint import CheckpointStore, save_checkpoint
from placer.config import PretrainConfig
from placer.errors import PlacerInputError
from placer.models.graph import (
    GraphSpec,
    NetlistGraph,
    netlist_graph,
    stack_graphs,
    take_graph,
)
from placer.reward_model.dataset import NetlistSamples, load_dataset, read_manifest
from placer.reward_model.metrics import prediction_report
from placer.reward_model.model import (
    TERMS,
    RewardModel,
    RewardPredictor,
    init_params,
    model_meta,
    netlist_grid,
)
from placer.run_log import RunLogger, progress


@dataclasses.dataclass
class Split:
    """Sample indices of the training and validation parts of a dataset."""

    train: list[np.ndarray]   # per netlist
    val: list[np.ndarray]


def split_dataset(data: list[NetlistSamples], val_fraction: float,
                  holdout: tuple[str, ...], seed: int) -> Split:
    """Holds out ``val_fraction`` of each netlist's samples, and every sample
    of the netlists in ``holdout``."""
    rng = np.random.default_rng(seed)
    train, val = [], []
    for d in data:
        perm = rng.permutation(len(d))
        if d.id in holdout:
            train.append(perm[:0])
            val.append(np.sort(perm))
            continue
        n_val = int(round(val_fraction * len(d)))
        val.append(np.sort(perm[:n_val]))
        train.append(np.sort(perm[n_val:]))
    return Split(train, val)


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class TrainData:
    """Device arrays of the training samples (padded to one GraphSpec)."""

    graphs: NetlistGraph     # stacked: leaves (K, ...)
    xy: jax.Array            # (N, Vp, 2)
    orient: jax.Array        # (N, Vp) int32
    target: jax.Array        # (N, 3) standardised
    start: jax.Array         # (K,) first sample of each netlist
    count: jax.Array         # (K,) samples of each netlist
    spread: jax.Array        # (K, 3) std of each netlist's standardised targets


def _pad_samples(d: NetlistSamples, idx: np.ndarray, vp: int):
    xy = np.zeros((len(idx), vp, 2), np.float32)
    xy[:, : d.netlist.num_nodes] = d.xy[idx]
    orient = np.zeros((len(idx), vp), np.int32)
    orient[:, : d.netlist.num_nodes] = d.orient[idx]
    return xy, orient


def make_train_data(data: list[NetlistSamples], split: Split, spec: GraphSpec,
                    mean: np.ndarray, std: np.ndarray) -> TrainData:
    keep = [k for k, idx in enumerate(split.train) if len(idx)]
    if not keep:
        raise PlacerInputError("no training samples (every netlist is held out)")
    graphs = stack_graphs([netlist_graph(data[k].netlist, spec) for k in keep])
    xs, os_, ts, counts, spreads = [], [], [], [], []
    for k in keep:
        idx = split.train[k]
        xy, orient = _pad_samples(data[k], idx, spec.max_nodes)
        xs.append(xy)
        os_.append(orient)
        ts.append((data[k].labels[idx] - mean) / std)
        counts.append(len(idx))
        spreads.append(np.maximum(ts[-1].std(0), 1e-3))
    counts = np.asarray(counts, np.int32)
    start = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int32)
    return TrainData(graphs=jax.tree.map(jnp.asarray, graphs),
                     xy=jnp.asarray(np.concatenate(xs)),
                     orient=jnp.asarray(np.concatenate(os_)),
                     target=jnp.asarray(np.concatenate(ts), jnp.float32),
                     start=jnp.asarray(start), count=jnp.asarray(counts),
                     spread=jnp.asarray(np.stack(spreads), jnp.float32))


def loss_fn(model: RewardPredictor, params: Any, data: TrainData, key: jax.Array,
            groups: int, per_group: int, rank_weight: float):
    """(loss, metrics) of one batch of ``groups`` netlists x ``per_group``
    samples drawn with ``key``."""
    k_net, k_smp = jax.random.split(key)
    n_net = data.start.shape[0]
    net = jax.random.randint(k_net, (groups,), 0, n_net)            # (G,)
    u = jax.random.uniform(k_smp, (groups, per_group))
    idx = data.start[net][:, None] + jnp.floor(
        u * data.count[net][:, None]).astype(jnp.int32)             # (G, S)

    def group(g, rows):
        graph = take_graph(data.graphs, g)
        return jax.vmap(lambda i: model.apply(params, graph, data.xy[i],
                                              data.orient[i]))(rows)

    pred = jax.vmap(group)(net, idx)                                 # (G, S, 3)
    y = data.target[idx]
    mse = jnp.mean((pred - y) ** 2)
    centred = (pred - pred.mean(1, keepdims=True)) - (y - y.mean(1, keepdims=True))
    # in units of each netlist's own spread of each term, so that ranking the
    # placements of a design counts alike for every term and design
    rank = jnp.mean((centred / data.spread[net][:, None, :]) ** 2)
    loss = mse + rank_weight * rank
    return loss, {"loss": loss, "mse": mse, "rank_mse": rank}


def make_step(model: RewardPredictor, optimizer, groups: int, per_group: int,
              rank_weight: float):
    """The jitted update: (params, opt_state, data, key) -> (params,
    opt_state, metrics)."""

    @jax.jit
    def step(params, opt_state, data, key):
        grads, metrics = jax.grad(
            lambda p: loss_fn(model, p, data, key, groups, per_group, rank_weight),
            has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return params, opt_state, metrics

    return step


def evaluate(model: RewardModel, data: list[NetlistSamples], indices: list[np.ndarray],
             max_samples: int | None = None, batch: int = 64) -> dict:
    """Per-netlist and pooled R^2 / Kendall tau / pairwise accuracy.

    Args:
        model: the predictor (in cost units).
        data: the dataset's netlists.
        indices: which samples of each netlist to score (empty: skip it).
        max_samples: score at most this many samples per netlist.
        batch: placements per prediction call.

    Returns:
        {"netlists": {id: {term: {r2, tau, pairwise}, "n": ...}},
         "mean": {term: {...}} (mean over netlists), "pooled": {...}}
    """
    per, ys, ps = {}, [], []
    for d, idx in zip(data, indices, strict=True):
        if not len(idx):
            continue
        if max_samples is not None:
            idx = idx[:max_samples]
        spec = GraphSpec.for_netlists([d.netlist])
        preds = []
        for i in range(0, len(idx), batch):
            rows = idx[i:i + batch]
            n = len(rows)
            pad = np.concatenate([rows, np.repeat(rows[-1:], batch - n)])
            out = model.predict_batch(d.netlist, d.xy[pad], d.orient[pad], spec=spec)
            preds.append(np.stack([out[t][:n] for t in TERMS], axis=1))
        pred = np.concatenate(preds)
        y = d.labels[idx]
        per[d.id] = {**prediction_report(y, pred, TERMS), "n": int(len(idx))}
        ys.append(y)
        ps.append(pred)
    if not per:
        return {"netlists": {}, "mean": {}, "pooled": {}}
    mean = {t: {m: float(np.nanmean([per[k][t][m] for k in per]))
                for m in ("r2", "tau", "pairwise")} for t in TERMS}
    pooled = prediction_report(np.concatenate(ys), np.concatenate(ps), TERMS)
    return {"netlists": per, "mean": mean, "pooled": pooled}


def _flat(report: dict) -> dict:
    return {f"{t}_{m}": v for t, d in report.items() for m, v in d.items()}


def train(cfg: PretrainConfig, log=progress) -> dict:
    """Trains a reward predictor as ``cfg`` says; returns the final summary.

    Raises:
        PlacerInputError: a bad dataset, or options that do not fit together.
    """
    if cfg.batch_size % cfg.netlists_per_batch:
        raise PlacerInputError(f"batch_size ({cfg.batch_size}) must be a multiple of "
                               f"netlists_per_batch ({cfg.netlists_per_batch})")
    if cfg.steps < 1 or cfg.eval_every < 1:
        raise PlacerInputError("steps and eval_every must be >= 1")
    t_start = time.perf_counter()
    out_dir = os.path.abspath(cfg.output_dir)
    os.makedirs(out_dir, exist_ok=True)
    manifest = read_manifest(cfg.dataset)
    data = load_dataset(cfg.dataset)
    unknown = set(cfg.holdout) - {d.id for d in data}
    if unknown:
        raise PlacerInputError(f"holdout names netlists not in the dataset: "
                               f"{', '.join(sorted(unknown))}", cfg.dataset)
    split = split_dataset(data, cfg.val_fraction, cfg.holdout, cfg.seed)
    labels = np.concatenate([d.labels[i]
                             for d, i in zip(data, split.train, strict=True)])
    mean = labels.mean(0)
    std = np.maximum(labels.std(0), 1e-6)
    train_nls = [d.netlist for d, i in zip(data, split.train, strict=True) if len(i)]
    if cfg.model.spatial:
        rm, cm = cfg.model.spatial_grid
        for d in data:
            rows, cols = netlist_grid(d.netlist)
            if rows > rm or cols > cm:
                raise PlacerInputError(
                    f"netlist {d.id!r} has a {rows} x {cols} grid, larger than "
                    f"model.spatial_grid ({rm} x {cm}); raise model.spatial_grid",
                    cfg.dataset)
    spec = GraphSpec.for_netlists(train_nls)
    tdata = make_train_data(data, split, spec, mean, std)

    module = RewardPredictor.from_config(cfg.model)
    key = jax.random.PRNGKey(cfg.seed)
    k_init, k_data = jax.random.split(key)
    params = init_params(module, k_init, netlist_graph(train_nls[0], spec))
    optimizer = optax.chain(optax.clip_by_global_norm(cfg.grad_clip),
                            optax.adam(cfg.learning_rate))
    opt_state = optimizer.init(params)
    groups = cfg.netlists_per_batch
    step_fn = make_step(module, optimizer, groups, cfg.batch_size // groups,
                        cfg.rank_weight)
    meta = model_meta(cfg.model, mean, std,
                      dataset={"path": os.path.abspath(cfg.dataset),
                               "netlists": [d.id for d in data],
                               "holdout": list(cfg.holdout),
                               "config": manifest.get("config")},
                      train={k: v for k, v in dataclasses.asdict(cfg).items()
                             if k not in ("model",)})
    store = CheckpointStore(os.path.join(out_dir, "checkpoints"), cfg.keep_checkpoints)
    step = 0
    if cfg.resume and store.latest_step() is not None:
        ck = store.restore(train_target={"opt_state": opt_state, "step": 0},
                           params_target=params)
        params, opt_state = ck.params, ck.train["opt_state"]
        step = int(ck.train["step"])
        log(f"resumed from step {step}")
    logger = RunLogger(out_dir)
    every_ckpt = cfg.checkpoint_every or cfg.eval_every
    bar = None
    if cfg.progress:
        from tqdm import tqdm
        bar = tqdm(total=cfg.steps, initial=step, desc="pretrain", unit="step",
                   dynamic_ncols=True)
    last_eval: dict = {}
    last_train: dict = {}
    t_loop = time.perf_counter()
    try:
        while step < cfg.steps:
            params, opt_state, m = step_fn(params, opt_state, tdata,
                                           jax.random.fold_in(k_data, step))
            step += 1
            if bar is not None:
                bar.update(1)
            if step % 50 == 0 or step == cfg.steps:
                last_train = {k: float(v) for k, v in jax.device_get(m).items()}
                logger.scalars(step, last_train, "train")
                if bar is not None:
                    bar.set_postfix(loss=f"{last_train['loss']:.4f}")
            if step % cfg.eval_every == 0 or step == cfg.steps:
                model = RewardModel(module, params, mean, std, meta)
                rep = evaluate(model, data, split.val, cfg.eval_max_samples)
                last_eval = rep
                logger.scalars(step, _flat(rep["mean"]), "val_mean")
                logger.scalars(step, _flat(rep["pooled"]), "val_pooled")
                for nid in cfg.holdout:
                    if nid in rep["netlists"]:
                        r = {k: v for k, v in rep["netlists"][nid].items() if k != "n"}
                        logger.scalars(step, _flat(r), f"holdout_{nid}")
                logger.record(step, {"train": last_train, "val_mean": rep["mean"],
                                     "val_pooled": rep["pooled"],
                                     "seconds": time.perf_counter() - t_start})
                taus = " ".join(f"{t[:4]} {rep['mean'][t]['tau']:.3f}" for t in TERMS)
                log(f"step {step}: val tau (mean over netlists) {taus}")
            if step % every_ckpt == 0 or step == cfg.steps:
                store.save(step, params, meta, {"opt_state": opt_state,
                                                "step": np.int64(step)})
    finally:
        if bar is not None:
            bar.close()
        logger.close()
        store.close()
    train_s = time.perf_counter() - t_loop
    meta = {**meta, "step": step, "validation": {"mean": last_eval.get("mean"),
                                                 "pooled": last_eval.get("pooled")}}
    save_checkpoint(os.path.join(out_dir, "model"), step, params, meta,
                    max_to_keep=1)
    summary = {"step": step, "seconds": time.perf_counter() - t_start,
               "train_loop_seconds": train_s, "validation": last_eval,
               "model": os.path.join(out_dir, "model")}
    with open(os.path.join(out_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=1, default=float)
    return summary


__all__ = ["evaluate", "make_step", "split_dataset", "train"]
