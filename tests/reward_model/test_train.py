"""Training the reward predictor: the loss falls, a resumed run is the same run,
the trained model loads and predicts; the ranking metrics' known answers."""

from pathlib import Path

import jax
import numpy as np
import pytest

import placer
from placer.config import DatasetConfig, PretrainConfig, RewardModelConfig, SampleMix
from placer.models.graph import GraphSpec, netlist_graph
from placer.reward_model.dataset import build_dataset, load_dataset
from placer.reward_model.metrics import kendall_tau, pairwise_accuracy, r2_score
from placer.reward_model.model import init_params, load_reward_model
from placer.reward_model.train import loss_fn, make_train_data, split_dataset, train

ROOT = Path(__file__).resolve().parents[2]
SYNTH = ROOT / "netlists" / "synth_small"
TINY_MODEL = RewardModelConfig(hidden=16, num_layers=2, head_hidden=(16,))
# the tiny dataset's grids: synth_small 10 x 10, design_11 30 x 22
TINY_SPATIAL = RewardModelConfig(hidden=16, num_layers=2, head_hidden=(16,),
                                 spatial=True, spatial_grid=(30, 24), map_channels=4,
                                 cnn_channels=(8, 8), cell_scores=2,
                                 physical_maps=True)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """synth_small and one small generated design, 16 placements each."""
    out = tmp_path_factory.mktemp("ds")
    cfg = DatasetConfig(output_dir=str(out), synthetic=1, first_seed=11, max_hard=16,
                        max_soft=120, netlists=(str(SYNTH / "netlist.pb.txt"),),
                        placements=(str(SYNTH / "initial.plc"),),
                        mix=SampleMix(samples=16, sa_chains=2, sa_steps_per_stage=50,
                                      rollout_batch=8), progress=False)
    build_dataset(cfg, log=lambda s: None)
    return out


def _cfg(dataset, out, steps, **kw):
    model = kw.pop("model", TINY_MODEL)
    return PretrainConfig(dataset=str(dataset), output_dir=str(out), model=model,
                          batch_size=8, netlists_per_batch=2, steps=steps,
                          eval_every=kw.pop("eval_every", steps), val_fraction=0.25,
                          progress=False, **kw)


def _losses(out):
    import json
    return [json.loads(line)["train"]["loss"]
            for line in (Path(out) / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_train__loss_falls_on_a_tiny_dataset(dataset, tmp_path):
    """Training loss over the first 50 steps is above that of the last 50."""
    train(_cfg(dataset, tmp_path / "a", 300, eval_every=50, learning_rate=3e-3),
          log=lambda s: None)
    losses = _losses(tmp_path / "a")
    assert len(losses) == 6
    assert losses[-1] < 0.7 * losses[0], losses


@pytest.mark.slow   # fast: test_train__loss_falls_on_a_tiny_dataset (graph readout)
def test_train__spatial_readout_loss_falls_and_loads(dataset, tmp_path):
    """With the spatial readout on, 150 steps lower the loss on fixed batches
    (the same 8 draws before and after), and the saved model (its config read
    back from the checkpoint) predicts a netlist."""
    cfg = _cfg(dataset, tmp_path / "s", 150, learning_rate=3e-3, model=TINY_SPATIAL)
    train(cfg, log=lambda s: None)
    model = load_reward_model(tmp_path / "s")
    assert model.module.cfg.spatial and model.module.cfg.spatial_grid == (30, 24)
    data = load_dataset(dataset)
    split = split_dataset(data, cfg.val_fraction, (), cfg.seed)
    spec = GraphSpec.for_netlists([d.netlist for d in data])
    tdata = make_train_data(data, split, spec, model.mean, model.std)
    k_init, _ = jax.random.split(jax.random.PRNGKey(cfg.seed))   # as train does
    initial = init_params(model.module, k_init, netlist_graph(data[0].netlist, spec))
    loss = jax.jit(lambda p, k: loss_fn(model.module, p, tdata, k, 2, 4, 1.0)[0])
    keys = [jax.random.PRNGKey(100 + i) for i in range(8)]
    before, after = (np.mean([loss(p, k) for k in keys])
                     for p in (initial, model.params))
    assert after < 0.8 * before, (before, after)
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")
    assert all(np.isfinite(v) for v in model.predict(nl).values())


def test_train__resume_continues_the_same_run(dataset, tmp_path):
    """20 steps, stopped at 10 and resumed, equal 20 steps in one go."""
    train(_cfg(dataset, tmp_path / "one", 20, eval_every=10), log=lambda s: None)
    train(_cfg(dataset, tmp_path / "two", 10), log=lambda s: None)
    msgs = []
    train(_cfg(dataset, tmp_path / "two", 20, eval_every=10), log=msgs.append)
    assert "resumed from step 10" in msgs
    a = load_reward_model(tmp_path / "one")
    b = load_reward_model(tmp_path / "two")
    jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7),
                 a.params, b.params)


def test_load_reward_model__predicts_a_netlist(dataset, tmp_path):
    """The trained model predicts one placement and a batch, in cost units."""
    train(_cfg(dataset, tmp_path / "m", 5), log=lambda s: None)
    model = load_reward_model(tmp_path / "m")
    nl = placer.load_netlist(SYNTH / "netlist.pb.txt", SYNTH / "initial.plc")
    one = model.predict(nl)
    assert set(one) == {"wirelength", "density", "congestion"}
    batch = model.predict_batch(nl, np.stack([nl.node_xy] * 3))
    for t, v in batch.items():
        assert v.shape == (3,) and v[0] == pytest.approx(one[t], rel=1e-5)
    with pytest.raises(placer.PlacerInputError, match="shape"):
        model.predict_batch(nl, nl.node_xy)
    with pytest.raises(placer.PlacerInputError):
        load_reward_model(tmp_path / "missing")


def test_train__rejects_bad_options(dataset, tmp_path):
    with pytest.raises(placer.PlacerInputError, match="multiple"):
        train(PretrainConfig(dataset=str(dataset), output_dir=str(tmp_path),
                             batch_size=10, netlists_per_batch=4, progress=False))
    with pytest.raises(placer.PlacerInputError, match="holdout"):
        train(_cfg(dataset, tmp_path, 1, holdout=("nope",)))
    small = RewardModelConfig(hidden=16, num_layers=2, head_hidden=(16,),
                              spatial=True, spatial_grid=(20, 20))
    with pytest.raises(placer.PlacerInputError, match="spatial_grid"):
        train(_cfg(dataset, tmp_path, 1, model=small))


def test_metrics__known_answers():
    """R^2: y = (1, 2, 3), pred = (1, 2, 4): 1 - 1 / 2 = 0.5.
    Pairwise: pred = (1, 3, 2) orders (1,2) and (1,3) right, (2,3) wrong: 2/3.
    Kendall tau of that pair of rankings: (2 - 1) / 3 = 1/3."""
    assert r2_score([1, 2, 3], [1, 2, 4]) == pytest.approx(0.5)
    assert pairwise_accuracy(np.array([1, 2, 3]), np.array([1, 3, 2])) == pytest.approx(
        2 / 3)
    assert kendall_tau([1, 2, 3], [1, 3, 2]) == pytest.approx(1 / 3)
    assert pairwise_accuracy(np.array([1, 2]), np.array([5, 5])) == 0.5
    assert np.isnan(r2_score([1, 1], [0, 2]))
