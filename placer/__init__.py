"""placer: reinforcement-learning chip placement on JAX.

Public API (names are stable):
    load_netlist, save_netlist, save_placement  -- file I/O
    proxy_cost, batch_proxy_cost, ProxyCost      -- Circuit Training's proxy cost
    Netlist, Settings                            -- the design model
    PlacerInputError                             -- the one error for bad input
"""

from placer.cost.proxy import ProxyCost, batch_proxy_cost, proxy_cost
from placer.errors import PlacerInputError
from placer.netlist.io import load_netlist, save_netlist, save_placement
from placer.netlist.model import Netlist, Settings

__all__ = [
    "Netlist",
    "PlacerInputError",
    "ProxyCost",
    "Settings",
    "batch_proxy_cost",
    "load_netlist",
    "proxy_cost",
    "save_netlist",
    "save_placement",
]
__version__ = "0.1.0"
