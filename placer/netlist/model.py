"""The in-memory design: host-side numpy arrays, nets in CSR form.

Dimension names used in comments: V nodes (ports, hard macros, soft macros,
standard cells), P pins (net endpoints), N nets, E net entries (sum of net
degrees), K blockages.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import numbers
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from placer.errors import PlacerInputError

# Orientation codes. Pin offsets in a netlist are given for "N"; an orientation
# maps an N-frame offset (x, y) to (a x + b y, c x + d y) with the matrix below
# (the mapping Circuit Training's and TILOS' evaluators apply).
ORIENTATIONS = ("N", "S", "E", "W", "FN", "FS", "FE", "FW")
ORIENT_INDEX = {o: i for i, o in enumerate(ORIENTATIONS)}
NO_ORIENT = -1
ORIENT_MATRICES = np.array(
    [
        [[1, 0], [0, 1]],    # N:  ( x,  y)
        [[-1, 0], [0, -1]],  # S:  (-x, -y)
        [[0, 1], [-1, 0]],   # E:  ( y, -x)
        [[0, -1], [1, 0]],   # W:  (-y,  x)
        [[-1, 0], [0, 1]],   # FN: (-x,  y)
        [[1, 0], [0, -1]],   # FS: ( x, -y)
        [[0, -1], [-1, 0]],  # FE: (-y, -x)
        [[0, 1], [1, 0]],    # FW: ( y,  x)
    ],
    dtype=np.float64,
)
# Orientations that turn a macro by 90 degrees swap its width and height.
ORIENT_SWAPS_WH = np.array([o in ("E", "W", "FE", "FW") for o in ORIENTATIONS])

# Node kinds.
PORT, HARD_MACRO, SOFT_MACRO, STDCELL = 0, 1, 2, 3
KIND_NAMES = ("port", "hard_macro", "soft_macro", "stdcell")

# Pin kinds. Ports and standard cells are net endpoints themselves: each gets
# one pin at its own position. IMPLICIT pins stand for a net endpoint that
# names a macro directly (at the macro centre).
PIN_PORT, PIN_HARD, PIN_SOFT, PIN_STDCELL, PIN_IMPLICIT = 0, 1, 2, 3, 4


@dataclass
class Settings:
    """Canvas, grid and routing settings (the names of proxy_cost.json)."""

    canvas_width: float = 0.0
    canvas_height: float = 0.0
    grid_cols: int = 10
    grid_rows: int = 10
    routes_per_micron_hor: float = 70.33
    routes_per_micron_ver: float = 74.51
    macro_routes_hor: float = 51.79
    macro_routes_ver: float = 51.79
    smoothing_range: int = 2
    overlap_threshold: float = 0.004
    soft_macros_squared: bool = False
    # True: hard-macro pin offsets are turned by the orientation the netlist
    # file gives each macro, not by the placement's (the TILOS evaluator's
    # convention: it rotates the pins once when reading the netlist and
    # ignores the .plc's orientation for them). False: Circuit Training's.
    netlist_pin_orientation: bool = False

    def validate(self, path: str | None = None) -> None:
        """Raises PlacerInputError on values no evaluator can use."""
        positive = ("canvas_width", "canvas_height", "routes_per_micron_hor",
                    "routes_per_micron_ver")
        for name in positive:
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise PlacerInputError(f"setting {name} must be a positive number, "
                                       f"got {v!r}", path)
        for name in ("grid_cols", "grid_rows"):
            v = getattr(self, name)
            if isinstance(v, (bool, np.bool_)) or not (
                    isinstance(v, (int, np.integer)) and v >= 1):
                raise PlacerInputError(f"setting {name} must be an integer >= 1, "
                                       f"got {v!r}", path)
        for name in ("macro_routes_hor", "macro_routes_ver", "overlap_threshold"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise PlacerInputError(f"setting {name} must be a number >= 0, "
                                       f"got {v!r}", path)
        v = self.smoothing_range
        if not (isinstance(v, (int, np.integer)) and v >= 0):
            raise PlacerInputError(f"setting smoothing_range must be an integer >= 0, "
                                   f"got {v!r}", path)


SETTING_NAMES = tuple(f.name for f in dataclasses.fields(Settings))
_INT_SETTINGS = frozenset({"grid_cols", "grid_rows", "smoothing_range"})


def coerce_setting(name: str, value: Any) -> Any:
    """``value`` as the type setting ``name`` holds (int, float or bool).

    Raises:
        PlacerInputError: for an unknown name or a value of the wrong kind.
    """
    if name not in SETTING_NAMES:
        raise PlacerInputError(
            f"unknown setting {name!r}; known: {', '.join(SETTING_NAMES)}")
    if name in ("soft_macros_squared", "netlist_pin_orientation"):
        if not isinstance(value, (bool, np.bool_)):
            raise PlacerInputError(f"setting {name} must be true or false, got "
                                   f"{value!r}")
        return bool(value)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise PlacerInputError(f"setting {name} must be a number, got {value!r}")
    value = float(value)
    if name in _INT_SETTINGS:
        if not math.isfinite(value) or value != int(value):
            raise PlacerInputError(f"setting {name} must be an integer, got {value!r}")
        return int(value)
    return value


@dataclass
class Netlist:
    """A design and one placement of it.

    Node arrays (V,): every port, hard macro, soft macro and standard cell in
    file order. Positions are centres in microns; sizes are as written in the
    netlist (for orientation N). Pin arrays (P,): every net endpoint. Nets are
    CSR: net i is ``net_pins[net_ptr[i]:net_ptr[i+1]]``, its driver first.
    """

    name: str
    node_names: list[str]
    node_kind: np.ndarray      # (V,) int8, PORT / HARD_MACRO / SOFT_MACRO / STDCELL
    node_xy: np.ndarray        # (V, 2) float64 centre
    node_size: np.ndarray      # (V, 2) float64 width, height (orientation N)
    node_orient: np.ndarray    # (V,) int8 index into ORIENTATIONS, -1 none
    node_fixed: np.ndarray     # (V,) bool
    node_index: np.ndarray     # (V,) int64 .plc index (file order, no metadata)
    pin_names: list[str]
    pin_node: np.ndarray       # (P,) int32 node the pin belongs to
    pin_offset: np.ndarray     # (P, 2) float64 offset from the centre, frame N
    pin_kind: np.ndarray       # (P,) int8 PIN_*
    pin_weight: np.ndarray     # (P,) float64 the pin's `weight` attribute (1)
    pin_index: np.ndarray      # (P,) int64 file index, -1 for implicit pins
    net_ptr: np.ndarray        # (N + 1,) int64
    net_pins: np.ndarray       # (E,) int32 pin indices, driver first
    net_weight: np.ndarray     # (N,) float64
    settings: Settings = field(default_factory=Settings)
    blockages: np.ndarray = field(
        default_factory=lambda: np.zeros((0, 5)))  # (K, 5) xmin ymin xmax ymax rate
    metadata: dict[str, Any] = field(default_factory=dict)
    # Attributes kept only to write the netlist back: per node / pin, the
    # attributes the model does not hold, as {key: (proto kind, value)}.
    node_extra: list[dict] | None = None
    pin_extra: list[dict] | None = None
    source: str | None = None

    # ----------------------------------------------------------------- sizes
    @property
    def num_nodes(self) -> int:
        return len(self.node_names)

    @property
    def num_pins(self) -> int:
        return len(self.pin_names)

    @property
    def num_nets(self) -> int:
        return len(self.net_weight)

    @property
    def net_degree(self) -> np.ndarray:
        return np.diff(self.net_ptr)

    def _where(self, kind: int) -> np.ndarray:
        return np.flatnonzero(self.node_kind == kind)

    @property
    def hard_macros(self) -> np.ndarray:
        return self._where(HARD_MACRO)

    @property
    def soft_macros(self) -> np.ndarray:
        return self._where(SOFT_MACRO)

    @property
    def ports(self) -> np.ndarray:
        return self._where(PORT)

    @property
    def stdcells(self) -> np.ndarray:
        return self._where(STDCELL)

    @property
    def movable_hard_macros(self) -> np.ndarray:
        return np.flatnonzero((self.node_kind == HARD_MACRO) & ~self.node_fixed)

    @property
    def canvas(self) -> tuple[float, float]:
        return self.settings.canvas_width, self.settings.canvas_height

    def total_area(self) -> float:
        """Area of every sized node (hard, soft macros and std cells)."""
        sized = self.node_kind != PORT
        return float(np.sum(self.node_size[sized, 0] * self.node_size[sized, 1]))

    def counts(self) -> dict[str, int]:
        pk = self.pin_kind
        return {
            "hard_macros": int(np.sum(self.node_kind == HARD_MACRO)),
            "soft_macros": int(np.sum(self.node_kind == SOFT_MACRO)),
            "ports": int(np.sum(self.node_kind == PORT)),
            "stdcells": int(np.sum(self.node_kind == STDCELL)),
            "hard_macro_pins": int(np.sum(pk == PIN_HARD)),
            "soft_macro_pins": int(np.sum(pk == PIN_SOFT)),
            "nets": self.num_nets,
        }

    # -------------------------------------------------------------- geometry
    def oriented_size(self) -> np.ndarray:
        """(V, 2) width and height after orientation (E/W families swap them)."""
        o = self.node_orient
        swap = np.where(o >= 0, ORIENT_SWAPS_WH[np.maximum(o, 0)], False)
        return np.where(swap[:, None], self.node_size[:, ::-1], self.node_size)

    def pin_xy(self) -> np.ndarray:
        """(P, 2) absolute pin positions: node centre + oriented offset."""
        o = self.node_orient[self.pin_node]
        mats = ORIENT_MATRICES[np.maximum(o, 0)]
        off = np.einsum("pij,pj->pi", mats, self.effective_pin_offset())
        return self.node_xy[self.pin_node] + off

    def effective_pin_offset(self) -> np.ndarray:
        """(P, 2) N-frame pin offsets that the placement's orientations turn.

        ``pin_offset`` itself, unless ``settings.netlist_pin_orientation`` is
        set and ``metadata["netlist_orient"]`` holds the orientations the
        netlist file gave (load_netlist keeps them): then each hard-macro pin
        offset is pre-turned so that the placement's orientation o yields
        M(o_netlist) @ offset, the position the TILOS evaluator uses:
        M(o)^T @ M(o_netlist) @ offset (the matrices are orthogonal).
        """
        o_net = self.metadata.get("netlist_orient")
        if not self.settings.netlist_pin_orientation or o_net is None \
                or len(o_net) != self.num_nodes:
            return self.pin_offset
        hard = self.pin_kind == PIN_HARD
        node = self.pin_node[hard]
        m_net = ORIENT_MATRICES[np.maximum(np.asarray(o_net)[node], 0)]
        m_cur = ORIENT_MATRICES[np.maximum(self.node_orient[node], 0)]
        turned = np.einsum("pji,pjk,pk->pi", m_cur, m_net, self.pin_offset[hard])
        out = self.pin_offset.copy()
        out[hard] = turned
        return out

    # ------------------------------------------------------------- placement
    def with_placement(self, xy: np.ndarray | None = None,
                       orient: np.ndarray | None = None) -> Netlist:
        """A copy with node centres and/or orientations replaced.

        The copy owns its placement arrays (node_xy, node_orient, node_fixed)
        and metadata dict; the netlist arrays (sizes, pins, nets) are shared.
        """
        new = dataclasses.replace(self)
        new.node_xy = self.node_xy.copy()
        new.node_orient = self.node_orient.copy()
        new.node_fixed = self.node_fixed.copy()
        new.metadata = dict(self.metadata)
        new.settings = dataclasses.replace(self.settings)
        if xy is not None:
            xy = np.asarray(xy, dtype=np.float64)
            if xy.shape != self.node_xy.shape:
                raise PlacerInputError(
                    f"placement has shape {xy.shape}, expected {self.node_xy.shape}")
            new.node_xy = xy.copy()
        if orient is not None:
            orient = np.asarray(orient, dtype=np.int8)
            if orient.shape != self.node_orient.shape:
                raise PlacerInputError(
                    f"orientations have shape {orient.shape}, expected "
                    f"{self.node_orient.shape}")
            new.node_orient = orient.copy()
        return new

    def with_settings(self, **overrides: Any) -> Netlist:
        """A copy whose settings are overridden by name (see Settings).

        Raises:
            PlacerInputError: for an unknown name or an invalid value.
        """
        values = {k: coerce_setting(k, v) for k, v in overrides.items()}
        new = self.with_placement()
        new.settings = dataclasses.replace(self.settings, **values)
        new.settings.validate()
        return new

    def copy(self) -> Netlist:
        """A copy that owns its placement arrays and settings."""
        return self.with_placement()

    # -------------------------------------------------------------- analysis
    def to_networkx(self):
        """A networkx MultiDiGraph: nodes are design nodes, one edge per driver ->
        sink connection of each net (pins folded into their nodes), with the
        net index and weight as edge attributes."""
        import networkx as nx

        g = nx.MultiDiGraph(name=self.name)
        size = self.node_size
        for v, name in enumerate(self.node_names):
            g.add_node(v, name=name, kind=KIND_NAMES[self.node_kind[v]],
                       x=float(self.node_xy[v, 0]), y=float(self.node_xy[v, 1]),
                       width=float(size[v, 0]), height=float(size[v, 1]),
                       fixed=bool(self.node_fixed[v]))
        owner = self.pin_node[self.net_pins]
        for n in range(self.num_nets):
            a, b = self.net_ptr[n], self.net_ptr[n + 1]
            src = int(owner[a])
            for s in owner[a + 1:b]:
                g.add_edge(src, int(s), net=n, weight=float(self.net_weight[n]))
        return g

    def __repr__(self) -> str:
        c = self.counts()
        return (f"Netlist({self.name!r}: {c['hard_macros']} hard macros, "
                f"{c['soft_macros']} soft macros, {c['ports']} ports, "
                f"{c['stdcells']} std cells, {c['nets']} nets, canvas "
                f"{self.settings.canvas_width:g} x {self.settings.canvas_height:g}, "
                f"grid {self.settings.grid_cols} x {self.settings.grid_rows})")


def build_nets(drivers: list[int], sinks: list[list[int]],
               weights: list[float]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR arrays from per-net driver pin, sink pins and weight."""
    deg = np.fromiter(map(len, sinks), dtype=np.int64, count=len(sinks)) + 1
    ptr = np.zeros(len(sinks) + 1, dtype=np.int64)
    np.cumsum(deg, out=ptr[1:])
    flat = np.fromiter(
        itertools.chain.from_iterable(
            itertools.chain((d,), s) for d, s in zip(drivers, sinks, strict=True)),
        dtype=np.int32, count=int(ptr[-1]))
    return ptr, flat, np.asarray(weights, dtype=np.float64)


def default_canvas(total_area: float) -> float:
    """Circuit Training's default square canvas side: sqrt(area / 0.6)."""
    return math.sqrt(total_area / 0.6) if total_area > 0 else 1.0
