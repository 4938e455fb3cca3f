"""placer: reinforcement-learning chip placement on JAX.

Public API (names are stable):
    load_netlist, save_netlist, save_placement  -- file I/O
    proxy_cost, batch_proxy_cost, ProxyCost      -- Circuit Training's proxy cost
    place, check_legality                        -- placers and the legality check
    place_soft_macros                            -- soft macros: fd or analytical
    polish_soft_macros                           -- soft macros: exact-cost polish
    choose_grid                                  -- Circuit Training's gridding
    cluster                                      -- flat netlist -> soft macros
    Netlist, Settings                            -- the design model
    load_reward_model                            -- the pretrained GNN cost predictor
    load_policy                                  -- a trained PPO placement policy
    quantize                                     -- its power-of-two quantized copy
    PlacerInputError                             -- the one error for bad input
    enable_compile_cache                         -- keep compiled programs on disk

The names are loaded on first use (PEP 562), so ``import placer`` does not
import JAX, Flax, optax or orbax until a function that needs them is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# public name -> the module that defines it
_EXPORTS = {
    "Netlist": "placer.netlist.model",
    "PlacerInputError": "placer.errors",
    "ProxyCost": "placer.cost.proxy",
    "Settings": "placer.netlist.model",
    "batch_proxy_cost": "placer.cost.proxy",
    "check_legality": "placer.legality",
    "choose_grid": "placer.gridding",
    "enable_compile_cache": "placer.compile_cache",
    "load_netlist": "placer.netlist.io",
    # placer.placers.rl also registers the quantized policy format
    "load_policy": "placer.placers.rl",
    "load_reward_model": "placer.reward_model.model",
    "place": "placer.api",
    "place_soft_macros": "placer.stdcell.api",
    "polish_soft_macros": "placer.stdcell.polish",
    "proxy_cost": "placer.cost.proxy",
    "quantize": "placer.quant.api",
    "save_netlist": "placer.netlist.io",
    "save_placement": "placer.netlist.io",
}

# Bound now, not lazily: the subpackage placer.cluster shares the function's
# name, and importing it (which is light: numpy and networkx) after this line
# no longer rebinds the package attribute.
from placer.cluster.api import cluster  # noqa: E402

__all__ = [
    "Netlist",
    "PlacerInputError",
    "ProxyCost",
    "Settings",
    "batch_proxy_cost",
    "check_legality",
    "choose_grid",
    "cluster",
    "enable_compile_cache",
    "load_netlist",
    "load_policy",
    "load_reward_model",
    "place",
    "place_soft_macros",
    "polish_soft_macros",
    "proxy_cost",
    "quantize",
    "save_netlist",
    "save_placement",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'placer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # for type checkers and IDEs; never run
    from placer.api import place
    from placer.compile_cache import enable_compile_cache
    from placer.cost.proxy import ProxyCost, batch_proxy_cost, proxy_cost
    from placer.errors import PlacerInputError
    from placer.gridding import choose_grid
    from placer.legality import check_legality
    from placer.netlist.io import load_netlist, save_netlist, save_placement
    from placer.netlist.model import Netlist, Settings
    from placer.placers.rl import load_policy
    from placer.quant.api import quantize
    from placer.reward_model.model import load_reward_model
    from placer.stdcell.api import place_soft_macros
    from placer.stdcell.polish import polish_soft_macros
