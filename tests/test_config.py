"""The config schemas (placer.config) and their YAML (conf/): one test for
every command, and the documentation every option's --help line comes from."""

import dataclasses

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

import placer.config as config
from placer.cli import CONFIG_DIR
from placer.cli_help import field_docs, undocumented

# config name -> (schema, the overrides that fill its required values)
COMMANDS = {
    "evaluate": (config.EvaluateConfig, "netlist=a.pb.txt"),
    "place": (config.PlaceConfig, "netlist=a.pb.txt"),
    "cluster": (config.ClusterConfig, "netlist=a.pb.txt"),
    "dataset": (config.DatasetConfig, "output_dir=d"),
    "pretrain": (config.PretrainConfig, "dataset=d"),
    "train_rl": (config.TrainRLConfig, "netlist=a.pb.txt"),
    "quantize": (config.QuantizeConfig, "policy=a"),
    "convert": (config.ConvertConfig, "input=a.def", "output=b.pb.txt"),
    "bench": (config.BenchConfig, "suite=small"),
}
SCHEMAS = [c for c in vars(config).values() if isinstance(c, type)
           and dataclasses.is_dataclass(c) and c.__module__ == config.__name__]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_yaml__composes_into_the_schema_defaults(name):
    """conf/<name>.yaml, composed with only the required value set, is the
    schema's defaults: the YAML states no default of its own."""
    schema, *required = COMMANDS[name]
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        cfg = OmegaConf.to_object(compose(name, overrides=required))
    assert type(cfg) is schema
    assert cfg == schema(**dict(r.split("=") for r in required))


@pytest.mark.parametrize("schema", SCHEMAS, ids=lambda c: c.__name__)
def test_schema__every_field_has_a_description(schema):
    """Every field (nested ones included) is described in the Attributes
    section of its dataclass's docstring: what --help shows."""
    assert undocumented(schema) == []


def test_schemas__all_commands_covered():
    """Every schema of a command is in COMMANDS (a new command gets the YAML test)."""
    commands = {c for c in SCHEMAS if (c.__doc__ or "").startswith("``placer-")}
    assert commands == {s for s, *_ in COMMANDS.values()}


def test_field_docs__known_answer():
    """Entries, shared entries ("a, b: ...") and continuation lines are read;
    another section ends the Attributes section."""

    @dataclasses.dataclass
    class Example:
        """Summary line.

        Attributes:
            alpha: first line
                continued here.
            beta, gamma: shared text.
            delta: last one (with: a colon).

        Note:
            epsilon: not an attribute.
        """

        alpha: int = 0
        beta: int = 0
        gamma: int = 0
        delta: int = 0

    assert field_docs(Example) == {
        "alpha": "first line continued here.",
        "beta": "shared text.",
        "gamma": "shared text.",
        "delta": "last one (with: a colon).",
    }
