"""The policy that ships in placer/rl/checkpoint: it loads without a path
and places designs it was not trained on, on their own grids."""

from pathlib import Path

import pytest

import placer
from placer.legality import check_legality
from placer.rl.policy import DEFAULT_POLICY

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not Path(DEFAULT_POLICY).is_dir(),
                                reason="no policy checkpoint in placer/rl/checkpoint")


def test_shipped_policy__loads_without_a_path():
    pol = placer.load_policy()
    assert pol.net.grid_free                 # the conv head: any grid
    assert pol.meta["model"]["encoder_input"] == "netlist"
    assert "design_2" not in pol.meta["netlists"]   # held out


# the README's design_2 block (tests/test_readme.py) places it legally in the
# default run, with the default 16 samples
@pytest.mark.slow
def test_shipped_policy__places_a_held_out_design_legally():
    d = ROOT / "netlists" / "design_2"
    nl = placer.load_netlist(d / "netlist.pb.txt", placement=d / "initial.plc")
    out = placer.place(nl, method="rl", samples=2)   # policy=None: the shipped one
    assert check_legality(out) == []
    assert 0.0 < placer.proxy_cost(out).proxy < 5.0


def test_shipped_policy__records_its_training_designs_and_no_ariane():
    """The shipped policy's metadata names every design it was trained on,
    and none is of the Ariane family (Ariane133, Ariane136 and CT's Ariane are
    one RTL): Ariane133 stays an unseen design for the zero-shot figures."""
    meta = placer.load_policy().meta
    names = [meta["netlist"], *meta["netlists"]]
    assert names and all(isinstance(n, str) and n for n in names)
    assert not [n for n in names if "ariane" in n.lower()], names


def test_shipped_policy__was_trained_with_todays_defaults():
    """The shipped policy's saved settings are today's defaults (its network's
    and PPO's, but for the episodes per update the README's command sets),
    so the README's command makes it again and no older default (e.g. the
    prior's linear scale, or gae_lambda) hides in it."""
    import dataclasses

    from placer.config import PolicyConfig, PPOConfig

    meta = placer.load_policy().meta
    assert meta["model"] == json_like(dataclasses.asdict(PolicyConfig()))
    want = json_like(dataclasses.asdict(PPOConfig(num_envs=8)))
    # options added after the policy was trained, whose defaults are the code
    # it was trained with (the descent search was the only one then; the
    # rollouts sampled the policy's own distribution, temperature 1)
    added = {"imitation_search", "imitation_anneal_steps", "imitation_anneal_temp",
             "temperature"}
    assert set(want) - set(meta["ppo"]) <= added
    assert meta["ppo"] == {k: v for k, v in want.items() if k in meta["ppo"]}
    assert meta["soft"] == "analytical"


def json_like(d: dict) -> dict:
    """Tuples as lists, as the JSON metadata stores them."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}
