"""placer: reinforcement-learning chip placement on JAX."""
from placer.errors import PlacerInputError
from placer.netlist.io import load_netlist, save_netlist, save_placement
from placer.netlist.model import Netlist, Settings
