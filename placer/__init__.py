"""placer: reinforcement-learning chip placement on JAX.

Public API (names are stable):
    load_netlist, save_netlist, save_placement  -- file I/O
    proxy_cost, batch_proxy_cost, ProxyCost      -- Circuit Training's proxy cost
    place, check_legality                        -- placers and the legality check
    place_soft_macros                            -- soft macros: force-directed or analytical
    choose_grid                                  -- Circuit Training's gridding
    cluster                                      -- flat netlist -> soft macros
    Netlist, Settings                            -- the design model
    load_reward_model                            -- the pretrained GNN cost predictor
    load_policy                                  -- a trained PPO placement policy
    quantize                                     -- its power-of-two quantized copy
    PlacerInputError                             -- the one error for bad input
"""

from placer.api import place
from placer.cluster.api import cluster
from placer.cost.proxy import ProxyCost, batch_proxy_cost, proxy_cost
from placer.errors import PlacerInputError
from placer.gridding import choose_grid
from placer.legality import check_legality
from placer.netlist.io import load_netlist, save_netlist, save_placement
from placer.netlist.model import Netlist, Settings
from placer.quant.api import quantize
from placer.reward_model.model import load_reward_model
from placer.rl.policy import load_policy
from placer.stdcell.api import place_soft_macros

__all__ = [
    "Netlist",
    "PlacerInputError",
    "ProxyCost",
    "Settings",
    "batch_proxy_cost",
    "check_legality",
    "choose_grid",
    "cluster",
    "load_netlist",
    "load_policy",
    "load_reward_model",
    "place",
    "place_soft_macros",
    "proxy_cost",
    "quantize",
    "save_netlist",
    "save_placement",
]
__version__ = "0.1.0"
