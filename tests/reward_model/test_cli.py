"""placer-dataset and placer-pretrain: their YAML equals the schemas' defaults,
and typos fail when the config is composed."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

from placer.cli import CONFIG_DIR
from placer.config import DatasetConfig, PretrainConfig


def _compose(name, *overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose(name, overrides=list(overrides))


def test_dataset_and_pretrain_yaml__match_schema_defaults():
    assert OmegaConf.to_object(_compose("dataset", "output_dir=d")) == DatasetConfig(
        output_dir="d")
    assert OmegaConf.to_object(_compose("pretrain", "dataset=d")) == PretrainConfig(
        dataset="d")


@pytest.mark.parametrize("name,override", [
    ("dataset", "synthtic=3"), ("dataset", "mix.samples=many"),
    ("pretrain", "model.hiden=8"), ("pretrain", "steps=1.5")])
def test_dataset_and_pretrain__typos_fail_at_compose(name, override):
    first = "output_dir=d" if name == "dataset" else "dataset=d"
    with pytest.raises(ConfigCompositionException):
        _compose(name, first, override)
