"""Multilevel coarsening of a cell hypergraph: known answers and invariants."""

import numpy as np
import pytest

from placer.cluster.coarsen import (
    coarsen,
    connectivity,
    dedupe_nets,
    hyperedge_cut,
    refine,
)
from placer.errors import PlacerInputError


def _csr(nets):
    ptr = np.zeros(len(nets) + 1, dtype=np.int64)
    np.cumsum([len(n) for n in nets], out=ptr[1:])
    ids = np.concatenate([np.asarray(n, dtype=np.int64) for n in nets])
    return ptr, ids


def _random_hypergraph(seed, n=400, nets=600):
    rng = np.random.default_rng(seed)
    deg = rng.integers(2, 7, size=nets)
    drv = rng.integers(0, n, size=nets)
    ids = np.clip(np.repeat(drv, deg) + rng.integers(-15, 16, size=deg.sum()), 0,
                  n - 1)
    ptr = np.zeros(nets + 1, dtype=np.int64)
    np.cumsum(deg, out=ptr[1:])
    return ptr, ids, rng.uniform(0.5, 2.0, size=nets), rng.uniform(0.5, 3.0, size=n)


def test_dedupe_nets__drops_repeats_and_single_vertex_nets():
    """Net [2, 0, 2] keeps {0, 2}; net [1, 1] has one vertex and goes."""
    ptr, ids = _csr([[2, 0, 2], [1, 1], [3, 1]])
    p, i, w = dedupe_nets(ptr, ids, np.array([1.0, 2.0, 3.0]))
    assert p.tolist() == [0, 2, 4]
    assert i.tolist() == [0, 2, 1, 3]
    assert w.tolist() == [1.0, 3.0]


def test_hyperedge_cut__known_answer():
    """Clusters {0, 1} and {2, 3}: net (0, 1) is inside, (1, 2) w=2 and
    (0, 2, 3) w=5 cross, (2, 3) is inside: cut = 2 + 5 = 7."""
    ptr, ids = _csr([[0, 1], [1, 2], [0, 2, 3], [2, 3]])
    w = np.array([1.0, 2.0, 5.0, 3.0])
    assert hyperedge_cut(ptr, ids, w, np.array([0, 0, 1, 1])) == 7.0


def test_coarsen__heaviest_pairs_merge_first():
    """Two triangles joined by a light edge, unit areas, target 2: the
    triangles become the clusters.

    Ratings w / (a_u a_v): inside each triangle the edges weigh 5, 5, 5 with
    areas 1 -> 5; the bridge (2, 3) weighs 1 -> 1. Level 1 pairs inside the
    triangles (e.g. {0,1}, {3,4}); then {0,1}+2 rates 10 / (2 x 1) = 5 over
    the bridge (1 / 2), so level 2 gives {0,1,2} and {3,4,5}.
    """
    nets = [[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5], [2, 3]]
    ptr, ids = _csr(nets)
    w = np.array([5.0] * 6 + [1.0])
    a, stats = coarsen(ptr, ids, w, np.ones(6), 2, max_area=3.0)
    assert a.tolist() == [0, 0, 0, 1, 1, 1]
    assert stats.vertices_per_level[0] == 6 and stats.vertices_per_level[-1] == 2
    assert stats.fallback_merges == 0


def test_coarsen__area_bound_holds():
    """No cluster exceeds max_area (every cell is smaller than it)."""
    ptr, ids, w, area = _random_hypergraph(0)
    bound = 2.0 * area.sum() / 20
    a, _ = coarsen(ptr, ids, w, area, 20, max_area=bound)
    assert np.bincount(a, weights=area).max() <= bound + 1e-9
    assert a.max() + 1 >= 20


def test_coarsen__every_vertex_in_exactly_one_cluster_and_target_reached():
    """The assignment covers every vertex with ids 0..k-1 and k equals the
    target when the area bound allows it."""
    ptr, ids, w, area = _random_hypergraph(1)
    a, _ = coarsen(ptr, ids, w, area, 25)
    assert a.shape == (len(area),)
    assert sorted(set(a.tolist())) == list(range(25))
    # clusters are numbered by their first vertex
    first = [int(np.flatnonzero(a == c)[0]) for c in range(25)]
    assert first == sorted(first)


def test_coarsen__deterministic_per_seed():
    """The same seed gives the same grouping; another seed may differ."""
    ptr, ids, w, area = _random_hypergraph(2)
    a1, _ = coarsen(ptr, ids, w, area, 30, seed=3)
    a2, _ = coarsen(ptr, ids, w, area, 30, seed=3)
    np.testing.assert_array_equal(a1, a2)


def test_coarsen__seed_breaks_ties():
    """A ring of 40 equal cells and equal nets: every rating ties, so the seed
    alone decides the pairs, and different seeds give different groupings."""
    ring = [[i, (i + 1) % 40] for i in range(40)]
    ptr, ids = _csr(ring)
    runs = [coarsen(ptr, ids, np.ones(40), np.ones(40), 10, seed=s)[0]
            for s in range(4)]
    assert any(not np.array_equal(runs[0], r) for r in runs[1:])


def test_coarsen__beats_a_random_grouping_on_cut():
    """On local nets, the cut is far below that of a random balanced grouping."""
    ptr, ids, w, area = _random_hypergraph(4)
    a, _ = coarsen(ptr, ids, w, area, 20)
    rnd = np.random.default_rng(0).permutation(len(area)) % 20
    assert hyperedge_cut(ptr, ids, w, a) < 0.6 * hyperedge_cut(ptr, ids, w, rnd)


def test_coarsen__disconnected_cells_fall_back_to_area_pairs():
    """Eight cells and no nets: pairs are merged by area alone, smallest first.

    Areas 1..8, target 4, bound 15: sorted pairs (1,2) (3,4) (5,6) (7,8) have
    areas 3, 7, 11, 15, all within the bound, so one level gives four clusters
    and 4 fallback merges.
    """
    ptr = np.zeros(1, dtype=np.int64)
    area = np.arange(1.0, 9.0)
    a, stats = coarsen(ptr, np.zeros(0, np.int64), np.zeros(0), area, 4,
                       max_area=15.0)
    assert a.tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert stats.fallback_merges == 4


def test_coarsen__stops_above_target_when_the_area_bound_forbids_more():
    """Areas 1..8 with bound 9, no nets: level 1 merges (1,2) and (3,4) only
    ((5,6) = 11 > 9); level 2 sorts areas 3, 5, 6, 7, 7, 8 and merges (3,5) = 8;
    then 6+7 = 13 > 9 and nothing fits: 5 clusters, never fewer than asked."""
    ptr = np.zeros(1, dtype=np.int64)
    a, stats = coarsen(ptr, np.zeros(0, np.int64), np.zeros(0),
                       np.arange(1.0, 9.0), 4, max_area=9.0)
    assert a.max() + 1 == 5
    assert np.bincount(a, weights=np.arange(1.0, 9.0)).max() <= 9.0
    assert stats.vertices_per_level == (8, 6, 5)


def test_coarsen__wide_nets_are_used_when_nothing_else_connects():
    """Cells joined only by one 60-cell net (above max_net_degree=50): the
    degree limit is raised and the net's clique groups them, no fallback."""
    ptr, ids = _csr([list(range(60))])
    a, stats = coarsen(ptr, ids, np.ones(1), np.ones(60), 6)
    assert a.max() + 1 == 6
    assert stats.fallback_merges == 0


@pytest.mark.parametrize("kwargs", [{"num_clusters": 0}, {"num_clusters": 2.5},
                                    {"max_net_degree": 1}])
def test_coarsen__bad_arguments_raise_input_error(kwargs):
    """Bad counts are PlacerInputError."""
    ptr, ids = _csr([[0, 1]])
    args = {"num_clusters": 1, **kwargs}
    with pytest.raises(PlacerInputError):
        coarsen(ptr, ids, np.ones(1), np.ones(2), **args)


def test_connectivity__known_answer():
    """(lambda - 1) x w: net (0, 1, 2) w=2 over clusters {0}, {1, 2} -> 2 x 1;
    net (0, 3) w=1 over clusters 0 and 2 -> 1; net (1, 2) inside -> 0. Sum 3."""
    ptr, ids = _csr([[0, 1, 2], [0, 3], [1, 2]])
    assert connectivity(ptr, ids, np.array([2.0, 1.0, 5.0]),
                        np.array([0, 1, 1, 2])) == 3.0


def test_refine__moves_a_misplaced_cell_home():
    """Two triangles {0,1,2} and {3,4,5}, cell 2 put in the second cluster.

    Metric before: nets (1,2) and (0,2) each span both clusters -> 2. Moving
    cell 2 to cluster 0: gain = 2 (nets where it is alone in its cluster) - 2
    (all its nets) + 2 (its nets touching cluster 0) = 2 > 0, and cluster 0's
    area 2 + 1 fits the bound 4. No other move has a positive gain (cell 0
    to cluster 1: 1 - 2 + 1 = 0). After: 0.
    """
    ptr, ids = _csr([[0, 1], [1, 2], [0, 2], [3, 4], [4, 5], [3, 5]])
    a, history = refine(ptr, ids, np.ones(6), np.ones(6),
                        np.array([0, 0, 1, 1, 1, 1]), max_area=4.0, rounds=20)
    assert a.tolist() == [0, 0, 0, 1, 1, 1]
    assert history == [2.0, 0.0]


def test_refine__never_raises_the_metric_or_breaks_bounds():
    """On a random hypergraph the metric does not rise, the area bound holds
    and no cluster is emptied."""
    ptr, ids, w, area = _random_hypergraph(5)
    a0, _ = coarsen(ptr, ids, w, area, 20)
    bound = 2.0 * area.sum() / 20
    a, history = refine(ptr, ids, w, area, a0, bound)
    assert history[-1] <= history[0]
    assert history == sorted(history, reverse=True)
    assert connectivity(ptr, ids, w, a) == history[-1]
    assert np.bincount(a, weights=area, minlength=20).max() <= bound + 1e-9
    assert len(np.unique(a)) == 20
