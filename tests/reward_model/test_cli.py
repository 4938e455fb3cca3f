"""placer-dataset and placer-pretrain: typos fail when the config is composed
(tests/test_config.py checks that their YAML equals the schemas' defaults)."""

import pytest
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException

from placer.cli import CONFIG_DIR


def _compose(name, *overrides):
    with initialize_config_dir(config_dir=CONFIG_DIR, version_base=None):
        return compose(name, overrides=list(overrides))


@pytest.mark.parametrize("name,override", [
    ("dataset", "synthtic=3"), ("dataset", "mix.samples=many"),
    ("pretrain", "model.hiden=8"), ("pretrain", "steps=1.5")])
def test_dataset_and_pretrain__typos_fail_at_compose(name, override):
    first = "output_dir=d" if name == "dataset" else "dataset=d"
    with pytest.raises(ConfigCompositionException):
        _compose(name, first, override)
