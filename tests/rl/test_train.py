"""The PPO training loop (checkpoints, resume, logs) and inference."""

import dataclasses
import json
import os

import jax
import numpy as np
import pytest

import placer
from placer.api import place_rl
from placer.config import FINE_TUNE_PPO, PPOConfig, TrainRLConfig
from placer.errors import PlacerInputError
from placer.legality import check_legality
from placer.rl.policy import load_policy
from placer.rl.train import train
from tests.rl.probe import BEST_CELL, PROBE_CFG, SMALL, probe_netlist


def _cfg(out, **kw):
    kw = {"model": SMALL, **kw}
    return TrainRLConfig(
        netlist="probe", output_dir=str(out), updates=4, eval_every=2,
        checkpoint_every=2, fd_steps=(1, 1, 1), progress=False, ppo=PROBE_CFG, **kw)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(tree)]


def test_train__resume_continues_the_same_run(tmp_path):
    """2 updates, then a resumed run to 4, equal 4 straight updates exactly
    (params, optimizer state, key and reward statistics)."""
    nl = probe_netlist()
    _, straight = train(_cfg(tmp_path / "a"), nl, log=lambda m: None)
    train(dataclasses.replace(_cfg(tmp_path / "b"), updates=2), nl,
          log=lambda m: None)
    msgs = []
    summary, resumed = train(_cfg(tmp_path / "b"), nl, log=msgs.append)
    assert msgs == ["resumed from update 2"]
    assert int(resumed.step) == 4 and summary["updates"] == 4
    for a, b in zip(_leaves(straight), _leaves(resumed), strict=True):
        np.testing.assert_array_equal(a, b)
    # a run that is already finished does no more updates
    lines = (tmp_path / "b" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["step"] for x in lines] == [2, 4]
    assert os.listdir(tmp_path / "b" / "logs")
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["updates"] == 4


def test_place_rl__returns_legal_placement(tmp_path):
    """A trained policy places the probe legally (greedy + 4 samples), on the
    best cell, through place_rl and placer.place(method="rl")."""
    nl = probe_netlist()
    cfg = dataclasses.replace(_cfg(tmp_path), updates=12)
    summary, _ = train(cfg, nl, log=lambda m: None)
    policy = load_policy(tmp_path)
    assert policy.meta["grid_rows"] == 4
    out = place_rl(nl, policy, samples=4, greedy=True, seed=0)
    assert check_legality(out) == []
    assert out.metadata["placer"]["method"] == "rl"
    again = placer.place(nl, method="rl", policy=str(tmp_path / "policy"),
                         samples=4, soft="fd")    # place_rl's soft placer
    np.testing.assert_array_equal(again.node_xy, out.node_xy)
    # the macro (node 1) sits on a cell centre; the best cell is the corner
    x, y = out.node_xy[1]
    assert (x - 0.5) % 1.0 == 0 and (y - 0.5) % 1.0 == 0
    assert int(y // 1) * 4 + int(x // 1) == BEST_CELL
    assert np.array_equal(out.node_xy[0], nl.node_xy[0])


# compiles a deconv-head run; fast: test_place_rl__returns_legal_placement
@pytest.mark.slow
def test_place_rl__deconv_rejects_other_grid_and_no_episodes(tmp_path):
    """For a deconv-head policy a netlist on another grid is bad input (at
    placement and at fine-tuning); so is asking for no episode."""
    from placer.rl.train import build_session, initial_params

    nl = probe_netlist()
    deconv = dataclasses.replace(SMALL, head="deconv", wire_mask=False,
                                 encoder_input="placement")
    train(dataclasses.replace(_cfg(tmp_path), updates=1, model=deconv), nl,
          log=lambda m: None)
    policy = load_policy(tmp_path / "policy")
    with pytest.raises(PlacerInputError, match="4 x 2"):
        place_rl(nl.with_settings(grid_cols=2), policy)
    with pytest.raises(PlacerInputError, match="2 x 2"):
        cfg = _cfg(tmp_path / "x", init_checkpoint=str(tmp_path), model=deconv)
        initial_params(cfg, build_session(cfg, nl.with_settings(grid_rows=2,
                                                                grid_cols=2)),
                       jax.random.PRNGKey(0))
    with pytest.raises(PlacerInputError, match="conv head"):
        train(dataclasses.replace(_cfg(tmp_path / "y"), model=deconv),
              [nl, nl.with_settings(grid_cols=2)], log=lambda m: None)
    with pytest.raises(PlacerInputError):
        place_rl(nl, policy, samples=0, greedy=False)
    with pytest.raises(PlacerInputError, match="unknown option"):
        placer.place(nl, method="greedy", samples=3)


def test_load_policy__rejects_missing_checkpoint(tmp_path):
    """A folder without a checkpoint is a PlacerInputError."""
    with pytest.raises(PlacerInputError):
        load_policy(tmp_path / "nothing")


def test_initial_params__pretrained_encoder_and_fine_tuning(tmp_path):
    """encoder_checkpoint drops a reward model's encoder into a fresh policy
    (heads stay random); init_checkpoint starts from a saved policy exactly."""
    from placer.checkpoint import save_checkpoint
    from placer.config import RewardModelConfig
    from placer.models.graph import netlist_graph
    from placer.reward_model.model import RewardPredictor, init_params, model_meta
    from placer.rl.train import build_session, initial_params

    nl = probe_netlist()
    rm_cfg = RewardModelConfig(hidden=SMALL.hidden, num_layers=SMALL.num_layers,
                               mlp_layers=SMALL.mlp_layers)
    rm = RewardPredictor.from_config(rm_cfg)
    rm_params = jax.jit(lambda k, g: init_params(rm, k, g))(jax.random.PRNGKey(7),
                                                            netlist_graph(nl))
    save_checkpoint(tmp_path / "rm", 1, rm_params,
                    model_meta(rm_cfg, np.zeros(3), np.ones(3)))
    cfg = _cfg(tmp_path / "run", encoder_checkpoint=str(tmp_path / "rm"))
    session = build_session(cfg, nl)
    key = jax.random.PRNGKey(0)
    fresh = initial_params(dataclasses.replace(cfg, encoder_checkpoint=None),
                           session, key)
    pre = initial_params(cfg, session, key)
    for a, b in zip(_leaves(pre["params"]["encoder"]),
                    _leaves(rm_params["params"]["encoder"]), strict=True):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(_leaves(pre["params"]["policy_head"]),
                    _leaves(fresh["params"]["policy_head"]), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not all(np.array_equal(a, b) for a, b in zip(
        _leaves(pre["params"]["encoder"]), _leaves(fresh["params"]["encoder"]),
        strict=True))
    # fine-tuning: a policy saved by a run is the next run's start
    _, done = train(dataclasses.replace(cfg, updates=1), nl, log=lambda m: None)
    tuned = initial_params(_cfg(tmp_path / "ft", init_checkpoint=str(tmp_path / "run")),
                           session, jax.random.PRNGKey(5))
    for a, b in zip(_leaves(tuned), _leaves(done.params), strict=True):
        np.testing.assert_array_equal(a, b)
    # the conv head's parameters fit any grid: fine-tuning on a 2 x 2 grid
    other = initial_params(_cfg(tmp_path / "x", init_checkpoint=str(tmp_path / "run")),
                           build_session(_cfg(tmp_path / "x"),
                                         nl.with_settings(grid_rows=2, grid_cols=2)),
                           key)
    for a, b in zip(_leaves(other), _leaves(done.params), strict=True):
        np.testing.assert_array_equal(a, b)


# two runs; fast: test_initial_params__pretrained_encoder_and_fine_tuning
@pytest.mark.slow
def test_train__fine_tuning_keeps_the_checkpoints_network(tmp_path):
    """A policy trained without the wire mask fine-tunes under a config that
    asks for it (the default): the checkpoint's network is kept, and the run
    says so; freeze_encoder still comes from the config."""
    from placer.rl.train import checkpoint_model

    nl = probe_netlist()
    plain = dataclasses.replace(SMALL, wire_mask=False)
    train(dataclasses.replace(_cfg(tmp_path / "run"), updates=1, model=plain), nl,
          log=lambda m: None)
    lines = []
    cfg = dataclasses.replace(
        _cfg(tmp_path / "ft", init_checkpoint=str(tmp_path / "run"),
             model=dataclasses.replace(SMALL, wire_mask=True, freeze_encoder=True)),
        updates=1)
    got = checkpoint_model(cfg, lines.append).model
    assert got.wire_mask is False and got.freeze_encoder is True
    assert any("model.wire_mask=False" in m for m in lines)
    train(cfg, nl, log=lambda m: None)
    assert load_policy(tmp_path / "ft").net.wire_mask is False


def test_conv_policy__places_another_grid(tmp_path):
    """A conv-head policy trained on the 4 x 4 probe places the same design on
    a 3 x 5 grid legally, on that grid's cell centres."""
    nl = probe_netlist()
    train(dataclasses.replace(_cfg(tmp_path), updates=1), nl, log=lambda m: None)
    other = nl.with_settings(grid_rows=3, grid_cols=5)
    out = place_rl(other, load_policy(tmp_path), samples=2)
    assert check_legality(out) == []
    x, y = out.node_xy[1]
    gw, gh = 4 / 5, 4 / 3                     # a 4 x 4 canvas on 3 rows x 5 cols
    col, row = round(x / gw - 0.5), round(y / gh - 0.5)
    assert np.isclose(x, (col + 0.5) * gw) and np.isclose(y, (row + 0.5) * gh)


@pytest.mark.slow   # three runs; fast: test_train__resume_continues_the_same_run
def test_train__several_netlists_in_turn_and_resume(tmp_path):
    """Two designs (4 x 4 and 3 x 5 grids) train one policy in turn, each with
    its own reward statistics; the greedy evaluation is logged per design;
    a run stopped at 2 updates and resumed equals 4 straight updates."""
    a = probe_netlist()
    b = dataclasses.replace(a.with_settings(grid_rows=3, grid_cols=5), name="probe_b")
    _, straight = train(_cfg(tmp_path / "s"), [a, b], log=lambda m: None)
    train(dataclasses.replace(_cfg(tmp_path / "r"), updates=2), [a, b],
          log=lambda m: None)
    _, resumed = train(_cfg(tmp_path / "r"), [a, b], log=lambda m: None)
    for x, y in zip(_leaves(straight), _leaves(resumed), strict=True):
        np.testing.assert_array_equal(x, y)
    last = json.loads((tmp_path / "s" / "metrics.jsonl").read_text().splitlines()[-1])
    assert set(last["netlists"]) == {"tiny", "probe_b"}
    meta = load_policy(tmp_path / "s").meta
    assert meta["netlists"] == ["tiny", "probe_b"]


@pytest.mark.slow
def test_keep_updating__the_first_update_is_no_estimate():
    """Known answers (seconds): no update yet -> run one, whatever the time.
    After one update of 46 s, at 70 s of a 120 s budget: run another (the
    first update's time is compilation; the old rule, 70 + 46 = 116 <= 120,
    would also run, but at 80 s: 80 + 46 > 120 stops, where now 80 + 0 runs).
    At 130 s: stop. After updates of 46 and 10 s: at 105 s, 105 + 10 = 115
    <= 120 runs; at 112 s, 122 > 120 stops."""
    from placer.rl.train import keep_updating

    assert keep_updating(500.0, [], 120.0)
    assert keep_updating(70.0, [46.0], 120.0)
    assert keep_updating(80.0, [46.0], 120.0)
    assert not keep_updating(130.0, [46.0], 120.0)
    assert keep_updating(105.0, [46.0, 10.0], 120.0)
    assert not keep_updating(112.0, [46.0, 10.0], 120.0)


def _check_better_of_before_and_after(nl, policy, monkeypatch):
    """With a budget, the policy's episodes before fine-tuning compete with
    those after it: when fine-tuning made the policy's best episode worse
    (here scripted: proxy 0.7 after against 0.5 before), the zero-shot
    episode is returned, and the metadata says so; when it made it better,
    the fine-tuned one."""
    import placer.placers.rl as rl_placer

    real = rl_placer.best_episode
    for costs, want in (((0.5, 0.7), "zero-shot"), ((0.7, 0.5), "fine-tuned")):
        calls = []

        def scripted(*a, costs=costs, calls=calls, **k):
            xy, _, _ = real(*a, **k)
            calls.append(len(calls))
            return xy, costs[len(calls) - 1], 10 * len(calls)   # episode 10, 20

        monkeypatch.setattr(rl_placer, "best_episode", scripted)
        monkeypatch.setattr(rl_placer, "fine_tune",
                            lambda pol, *a, **k: (pol, {"updates": 0}))
        meta = placer.place(nl, method="rl", policy=policy, budget_s=1.0, samples=2,
                            soft="fd").metadata["placer"]
        assert len(calls) == 2
        assert meta["episode_from"] == want
        assert meta["episode"] == (10 if want == "zero-shot" else 20)
        assert (meta["proxy_zero_shot"], meta["proxy_fine_tuned"]) == costs
    monkeypatch.undo()


def test_place_rl__budget_fine_tunes_first(tmp_path, monkeypatch):
    """place(method="rl", budget_s=...) fine-tunes the policy on the netlist
    (at least one PPO update, here exactly one: the budget is shorter than
    the compilation), then places legally; the result records it."""
    from placer.rl.train import fine_tune

    nl = probe_netlist()
    train(dataclasses.replace(_cfg(tmp_path), updates=1), nl, log=lambda m: None)
    policy = load_policy(tmp_path)
    out = placer.place(nl, method="rl", policy=policy, budget_s=1e-3, samples=2,
                       soft="fd")
    assert check_legality(out) == []
    meta = out.metadata["placer"]
    assert meta["fine_tune"]["updates"] == 1
    assert meta["fine_tune"]["soft"] == "fd"
    # the better of the episodes before and after fine-tuning is returned
    best = min(meta["proxy_zero_shot"], meta["proxy_fine_tuned"])
    assert meta["episode_from"] == ("fine-tuned" if meta["proxy_fine_tuned"] == best
                                    else "zero-shot")
    _check_better_of_before_and_after(nl, policy, monkeypatch)
    # (the same design under another name: the lineage gains that name)
    tuned, info = fine_tune(policy, dataclasses.replace(nl, name="probe_b"),
                            budget_s=1e-3, seed=1)
    assert info["updates"] == 1 and tuned.meta["fine_tune_updates"] == 1
    assert policy.meta["training_designs"] == ["tiny"]
    assert tuned.meta["training_designs"] == ["tiny", "probe_b"]
    # called directly, the episodes' soft placer is the policy's own
    assert policy.meta["soft"] == "fd" and info["soft"] == tuned.meta["soft"] == "fd"
    # fine-tuning uses today's PPO defaults with the fine-tuning ones over
    # them, not the policy's saved ones (the probe policy was trained without
    # imitation), and says what it replaced
    assert policy.meta["ppo"]["imitation_coef"] == 0.0
    assert tuned.meta["ppo"] == {**dataclasses.asdict(PPOConfig()), **FINE_TUNE_PPO,
                                 "num_envs": policy.meta["ppo"]["num_envs"]}
    assert info["replaced_settings"]["imitation_elite"] == {"saved": False,
                                                           "used": True}
    assert info["replaced_settings"]["imitation_coef"] == {
        "saved": 0.0, "used": PPOConfig().imitation_coef}
    changed = [not np.array_equal(a, b) for a, b in
               zip(_leaves(policy.params), _leaves(tuned.params), strict=True)]
    assert any(changed)
    with pytest.raises(PlacerInputError, match="positive"):
        fine_tune(policy, nl, budget_s=0)
    with pytest.raises(ValueError, match="soft must be one of"):
        dataclasses.replace(_cfg(tmp_path), soft="force")
    for bad in (0, 2.5, True):
        with pytest.raises(PlacerInputError, match="envs must be a positive integer"):
            fine_tune(policy, nl, budget_s=1.0, num_envs=bad)
    with pytest.raises(PlacerInputError, match="float policy"):
        fine_tune(dataclasses.replace(policy, meta={**policy.meta,
                                                    "format": "placer-policy-quant/1"}),
                  nl, budget_s=1.0)
    # bad ppo= settings fail before any work (the settings applied: below)
    from placer.config import ppo_overrides

    assert ppo_overrides(PPOConfig(num_envs=2)) == dataclasses.asdict(
        PPOConfig(num_envs=2))
    for bad, match in (({"imitation_coeff": 0.1}, "unknown PPO setting"),
                       ({"num_envs": 2.5}, "ppo.num_envs must be int"),
                       ({"imitation_elite": 1}, "must be bool"),
                       ("imitation_coef=0", "PPOConfig or a dict")):
        with pytest.raises(PlacerInputError, match=match):
            placer.place(nl, method="rl", policy=policy, budget_s=1.0, ppo=bad)


# its own compilation of the update (20-25 s): slow
@pytest.mark.slow
def test_place_rl__ppo_settings_replace_the_defaults(tmp_path):
    """ppo= replaces the fine-tuning defaults (FINE_TUNE_PPO, here the elite
    is off again: imitation needs imitation_coef > 0) over PPOConfig's: the
    policy's saved imitation_coef 0 kept here (so not listed as replaced),
    and the learning rate changed (listed)."""
    nl = probe_netlist()
    train(dataclasses.replace(_cfg(tmp_path), updates=1), nl, log=lambda m: None)
    policy = load_policy(tmp_path)
    out = placer.place(nl, method="rl", policy=policy, budget_s=1e-3, samples=2,
                       soft="fd", ppo={"imitation_coef": 0.0, "learning_rate": 1e-3})
    info = out.metadata["placer"]["fine_tune"]
    assert "imitation_coef" not in info["replaced_settings"]
    assert info["replaced_settings"]["learning_rate"] == {
        "saved": policy.meta["ppo"]["learning_rate"], "used": 1e-3}


def test_training_designs__lineage_of_a_policy():
    """training_designs: the recorded list, else (policies written before the
    key) the run's netlists and the design it was fine-tuned on; policy_meta
    puts the starting checkpoint's designs first, each name once."""
    from placer.rl.policy import training_designs
    from placer.rl.train import policy_meta

    assert training_designs({"netlist": "a"}) == ["a"]
    assert training_designs({"netlists": ["a", "b"], "fine_tuned_on": "c"}) == \
        ["a", "b", "c"]
    assert training_designs({"training_designs": ["x", "y"], "netlists": ["y"]}) == \
        ["x", "y"]
    meta = policy_meta(TrainRLConfig(), [probe_netlist()], prior=["a", "tiny"])
    assert meta["training_designs"] == ["a", "tiny"] and meta["netlists"] == ["tiny"]


def test_shipped_policy__never_saw_the_ariane_family():
    """Ariane133, Ariane136 and the LEF/DEF CT Ariane are one RTL: the
    shipped policy's training designs (its metadata) include none of them,
    so Ariane133 is an unseen design for it (issue 18, item 3)."""
    from placer.rl.policy import training_designs

    names = training_designs(load_policy().meta)
    assert names, "the shipped policy records no training designs"
    assert not [n for n in names if "ariane" in n.lower()], names


def test_place_rl__fine_tunes_on_place_soft_placer(monkeypatch):
    """place(method="rl", budget_s=..., soft=S) fine-tunes on the proxy after
    S (the reward), and placer-train's soft= reaches the environment (the
    wiring; the fine-tuning itself is tested above, with fd)."""
    import placer.placers.rl as rl_placer
    from placer.rl.train import build_session

    seen = {}

    def fake_fine_tune(policy, netlist, budget_s, **kw):
        seen.update(kw)
        return policy, {"updates": 0, "soft": kw["soft"]}

    monkeypatch.setattr(rl_placer, "fine_tune", fake_fine_tune)
    nl = probe_netlist()
    out = placer.place(nl, method="rl", budget_s=10.0, samples=0)
    # place()'s default, not the shipped policy's training one (fd)
    assert seen["soft"] == "analytical"
    assert out.metadata["placer"]["fine_tune"]["soft"] == "analytical"
    for soft in ("fd", "analytical"):
        se = build_session(_cfg("unused", soft=soft), nl)
        assert se.env.spec.soft == soft
