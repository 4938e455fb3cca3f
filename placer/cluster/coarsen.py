"""Multilevel heavy-edge coarsening of a cell hypergraph with an area bound.

The standard cells and the nets between them form a hypergraph. Each level
builds the clique expansion of the nets of at most ``max_net_degree`` cells
(an edge of weight ``w / (d - 1) ** 0.5`` between every two cells of a net of
weight ``w`` and degree ``d``; the exponent is an argument), rates each edge
``w_uv / (a_u a_v)`` (the heavy-edge rating of hMETIS and KaHyPar, divided by
the areas so that small clusters merge first and sizes stay even), and
computes a matching by handshakes: every vertex proposes its best-rated
neighbour whose merged area stays within ``max_area``, mutual proposals are
matched, and the unmatched vertices propose again, a few rounds per level, now
only along edges rated at least half the best rating each end had (a leftover
waits for the next level rather than take a poor partner). Matched pairs
become the vertices of the next level, nets are rewritten to them (duplicates
and single-vertex nets dropped), and the levels repeat until ``num_clusters``
vertices remain. The last level keeps only its best-rated pairs so that the
count lands on the target.

When a level contracts almost nothing (cells joined only by nets above the
degree limit), the limit is raised four-fold, up to 1000; when nothing can be
contracted even then (disconnected cells), the smallest vertices are paired
by area, so the target is always reached when the area bound allows it.

``refine`` then moves single cells between clusters where that lowers the
(lambda - 1) connectivity (each net's weight times the clusters it spans, less
one), a vectorised, label-propagation form of the FM refinement that
multilevel partitioners run while uncoarsening (here only at the finest
level).

Everything is vectorised numpy: a level costs O(clique pairs log) for one
sort, and the number of levels is about log2(cells / clusters).
Ties are broken by a seeded random priority, so the result is deterministic
per seed.

Dimension names: n cells (hypergraph vertices), N nets, E net entries, m clique
edges, k clusters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from placer.errors import PlacerInputError

__all__ = ["CoarsenStats", "coarsen", "connectivity", "dedupe_nets", "hyperedge_cut",
           "refine"]

MATCH_ROUNDS = 4      # handshake rounds per level
# After the first round, an edge is matched only if its rating is at least this
# fraction of the best rating each end had when the level began: leftovers wait
# for the next level instead of taking a poor partner.
ACCEPT_FRACTION = 0.5
MAX_DEGREE_LIMIT = 1000   # the widest net ever clique-expanded (on a stall)


@dataclass(frozen=True)
class CoarsenStats:
    """What one call of ``coarsen`` did.

    Attributes:
        levels: coarsening levels run.
        fallback_merges: pairs merged by area alone (no connecting net).
        vertices_per_level: vertex count after each level (the first entry is
            the input count).
    """

    levels: int
    fallback_merges: int
    vertices_per_level: tuple[int, ...]


def dedupe_nets(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray,
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each net's distinct vertices, in increasing id order; nets with fewer
    than two vertices dropped.

    Args:
        ptr: (N + 1,) CSR offsets.
        ids: (E,) vertex of each entry.
        weight: (N,) net weights.

    Returns:
        (ptr, ids, weight) of the kept nets, in their original order.
    """
    n_nets = len(ptr) - 1
    net = np.repeat(np.arange(n_nets, dtype=np.int64), np.diff(ptr))
    order = np.lexsort((ids, net))
    net_s, ids_s = net[order], ids[order]
    keep = np.ones(len(net_s), dtype=bool)
    keep[1:] = (net_s[1:] != net_s[:-1]) | (ids_s[1:] != ids_s[:-1])
    net_s, ids_s = net_s[keep], ids_s[keep]
    deg = np.bincount(net_s, minlength=n_nets)
    good = deg >= 2
    m = good[net_s]
    new_deg = deg[good]
    new_ptr = np.zeros(len(new_deg) + 1, dtype=np.int64)
    np.cumsum(new_deg, out=new_ptr[1:])
    return new_ptr, ids_s[m], weight[good]


def hyperedge_cut(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray,
                  assignment: np.ndarray) -> float:
    """Total weight of the nets whose vertices lie in two or more clusters.

    Args:
        ptr, ids, weight: the hypergraph (CSR, vertex ids, net weights).
        assignment: (n,) cluster of each vertex.
    """
    _, _, w = dedupe_nets(ptr, np.asarray(assignment)[ids], weight)
    return float(np.sum(w))


def _clique_edges(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray,
                  max_degree: float, n: int, exponent: float = 1.0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The clique expansion of the nets of degree <= max_degree, summed:
    an edge of weight w / (d - 1) ** exponent per pair of a net's vertices.

    Returns:
        (u, v, w): (m,) vertex pairs with u < v and their summed weights.
    """
    deg = np.diff(ptr)
    small = (deg <= max_degree)
    entry_net = np.repeat(np.arange(len(deg), dtype=np.int64), deg)
    sel = small[entry_net]
    idx = np.flatnonzero(sel)
    if len(idx) == 0:
        return (np.zeros(0, np.int64),) * 2 + (np.zeros(0),)
    net_of = entry_net[idx]
    pos = idx - ptr[net_of]
    d = deg[net_of]
    later = d - 1 - pos                        # partners after this entry
    total = int(later.sum())
    src = np.repeat(idx, later)
    start = np.cumsum(later) - later
    dst = src + 1 + (np.arange(total, dtype=np.int64) - np.repeat(start, later))
    ew = np.repeat(weight[net_of] / (d - 1.0) ** exponent, later)
    a, b = ids[src].astype(np.int64), ids[dst].astype(np.int64)
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key, inv = np.unique(lo * n + hi, return_inverse=True)
    w = np.bincount(inv.ravel(), weights=ew, minlength=len(key))
    return key // n, key % n, w


def _handshake(u: np.ndarray, v: np.ndarray, r: np.ndarray, prio: np.ndarray,
               n: int) -> np.ndarray:
    """A matching by rounds of mutual best proposals.

    Args:
        u, v, r: (m,) undirected edges and their ratings.
        prio: (n,) distinct tie-break priority of each vertex.

    Returns:
        (n,) partner of each vertex, -1 if unmatched.
    """
    partner = np.full(n, -1, dtype=np.int64)
    src = np.concatenate([u, v])
    dst = np.concatenate([v, u])
    rat = np.concatenate([r, r])
    order = np.lexsort((-prio[dst], -rat, src))   # by src, best first
    src, dst, rat = src[order], dst[order], rat[order]
    best_rating = np.zeros(n)
    lead = np.ones(len(src), dtype=bool)
    lead[1:] = src[1:] != src[:-1]
    best_rating[src[lead]] = rat[lead]              # first = best of each src
    good = (rat >= ACCEPT_FRACTION * best_rating[src]) & (
        rat >= ACCEPT_FRACTION * best_rating[dst])
    for rnd in range(MATCH_ROUNDS):
        ok = (partner[src] < 0) & (partner[dst] < 0)
        if rnd:
            ok &= good
        s, t = src[ok], dst[ok]
        if len(s) == 0:
            break
        first = np.ones(len(s), dtype=bool)
        first[1:] = s[1:] != s[:-1]
        best = np.full(n, -1, dtype=np.int64)
        best[s[first]] = t[first]
        cand = np.flatnonzero(best >= 0)
        mutual = cand[best[best[cand]] == cand]
        if len(mutual) == 0:
            break
        partner[mutual] = best[mutual]
        keep = ok.copy()
        keep[ok] = (partner[s] < 0) & (partner[t] < 0)
        if rnd == 0:
            keep &= good
        src, dst, good = src[keep], dst[keep], good[keep]
    return partner


def _area_pairs(area: np.ndarray, prio: np.ndarray, max_area: float,
                ) -> np.ndarray:
    """Partners pairing the vertices in increasing area order, (0,1), (2,3),
    ..., where the merged area fits."""
    n = len(area)
    partner = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((prio, area))
    a, b = order[0:n - 1:2], order[1:n:2]
    fit = area[a] + area[b] <= max_area
    partner[a[fit]], partner[b[fit]] = b[fit], a[fit]
    return partner


def _contract(partner: np.ndarray, score: np.ndarray, excess: int
              ) -> np.ndarray:
    """The coarse id of each vertex after merging matched pairs.

    Only the ``excess`` best-scored pairs are merged when fewer suffice.
    """
    n = len(partner)
    first = np.flatnonzero(partner > np.arange(n))  # one end of each pair
    if len(first) > excess:
        keep = first[np.argsort(-score[first], kind="stable")[:excess]]
        drop = np.setdiff1d(first, keep)
        partner = partner.copy()
        partner[partner[drop]] = -1
        partner[drop] = -1
    rep = np.where(partner >= 0, np.minimum(np.arange(n), partner), np.arange(n))
    is_rep = rep == np.arange(n)
    cid = np.cumsum(is_rep) - 1
    return cid[rep]


def coarsen(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray,
            area: np.ndarray, num_clusters: int, max_area: float | None = None,
            seed: int = 0, max_net_degree: int = 50, clique_exponent: float = 0.5,
            ) -> tuple[np.ndarray, CoarsenStats]:
    """Groups the vertices of a hypergraph into about num_clusters clusters.

    Args:
        ptr: (N + 1,) CSR offsets of the nets.
        ids: (E,) vertex (cell) of each net entry, in [0, n).
        weight: (N,) net weights (> 0).
        area: (n,) vertex areas (>= 0).
        num_clusters: the target count k (reached unless the area bound
            forbids it; never undershot).
        max_area: the largest merged area; None: 2 x total / k. Single
            vertices above it stay alone.
        seed: tie-break seed.
        max_net_degree: nets with more vertices are left out of the clique
            expansion (clock and reset nets say nothing about locality).
        clique_exponent: a net of degree d and weight w gives each pair of its
            vertices w / (d - 1) ** clique_exponent. 1 is the classic weight
            (each vertex gets w in all); the default 0.5 weighs nets of 10-50
            cells more, which keeps buses together (on Ariane136 it cut the
            (lambda - 1) connectivity by 22 % for 46 % more cut nets, and
            lowered the proxy cost after SA; see experiments/).

    Returns:
        (assignment, stats): (n,) cluster id in [0, k') of each vertex, with
        k' >= min(k, n) and clusters numbered by their first vertex; and a
        CoarsenStats.

    Raises:
        PlacerInputError: on a bad argument.
    """
    area = np.asarray(area, dtype=np.float64)
    n = len(area)
    if isinstance(num_clusters, bool) or int(num_clusters) != num_clusters \
            or num_clusters < 1:
        raise PlacerInputError(f"num_clusters must be an integer >= 1, got "
                               f"{num_clusters!r}")
    if not max_net_degree >= 2:
        raise PlacerInputError(f"max_net_degree must be >= 2, got {max_net_degree!r}")
    if n and (not np.isfinite(area).all() or area.min() < 0):
        raise PlacerInputError("cell areas must be finite and >= 0")
    num_clusters = int(num_clusters)
    total = float(area.sum())
    if max_area is None:
        max_area = 2.0 * total / num_clusters
    eps = max(total / max(n, 1), 1e-12) * 1e-3     # zero-area cells still rate
    rng = np.random.default_rng(seed)
    assign = np.arange(n, dtype=np.int64)
    cur_ptr, cur_ids, cur_w = dedupe_nets(np.asarray(ptr, np.int64),
                                          np.asarray(ids, np.int64),
                                          np.asarray(weight, np.float64))
    cur_area = area.copy()
    counts = [n]
    fallback = 0
    degree_limit = float(max_net_degree)
    while len(cur_area) > num_clusters:
        nv = len(cur_area)
        prio = rng.permutation(nv)
        u, v, w = _clique_edges(cur_ptr, cur_ids, cur_w, degree_limit, nv,
                                clique_exponent)
        fit = cur_area[u] + cur_area[v] <= max_area
        u, v, w = u[fit], v[fit], w[fit]
        r = w / ((cur_area[u] + eps) * (cur_area[v] + eps))
        partner = _handshake(u, v, r, prio, nv)
        score = np.zeros(nv)
        if len(u):
            # the rating of each matched pair, found on its edge
            hit = partner[u] == v
            score[u[hit]] = r[hit]
        slow = int((partner >= 0).sum()) < 0.05 * (nv - num_clusters)
        if slow and degree_limit < MAX_DEGREE_LIMIT:
            degree_limit = min(4 * degree_limit, MAX_DEGREE_LIMIT)  # wider nets
            if not (partner >= 0).any():
                continue
        if not (partner >= 0).any():
            partner = _area_pairs(cur_area, prio, max_area)
            if not (partner >= 0).any():
                break                          # the area bound forbids more
            score = -cur_area                  # smallest pairs first
            fallback_now = True
        else:
            fallback_now = False
        coarse = _contract(partner, score, nv - num_clusters)
        merged = nv - int(coarse.max()) - 1
        if fallback_now:
            fallback += merged
        assign = coarse[assign]
        cur_area = np.bincount(coarse, weights=cur_area)
        cur_ptr, cur_ids, cur_w = dedupe_nets(cur_ptr, coarse[cur_ids], cur_w)
        counts.append(len(cur_area))
    return assign, CoarsenStats(levels=len(counts) - 1, fallback_merges=fallback,
                                vertices_per_level=tuple(counts))


def connectivity(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray,
                 assignment: np.ndarray) -> float:
    """The (lambda - 1) metric: each net's weight times the number of
    clusters it touches, less one, summed (hMETIS' SOED - cut, KaHyPar's
    km1)."""
    p, _, w = dedupe_nets(ptr, np.asarray(assignment)[ids], weight)
    return float(np.sum(w * (np.diff(p) - 1)))


def refine(ptr: np.ndarray, ids: np.ndarray, weight: np.ndarray, area: np.ndarray,
           assignment: np.ndarray, max_area: float, rounds: int = 8, seed: int = 0,
           max_net_degree: int = 50) -> tuple[np.ndarray, list[float]]:
    """Moves single cells between clusters to lower the (lambda - 1) metric.

    Each round, half of the cells (a seeded colouring) each find the cluster
    that lowers ``connectivity`` most if the cell alone moved there:
    ``gain = sum(w, nets where the cell is its cluster's only one) -
    sum(w, its nets) + sum(w, its nets that touch the target)``, with
    targets drawn from its nets of at most ``max_net_degree`` cells (wider
    nets count in the first two terms only, so the gain is never
    over-estimated). Moves with positive gain go, best first, while the
    target stays within ``max_area`` and the source keeps a cell. A round
    that does not lower the metric is undone and ends the refinement, as
    does a round without any positive gain.

    Args:
        ptr, ids, weight: the hypergraph (CSR offsets, vertex ids, weights).
        area: (n,) vertex areas.
        assignment: (n,) cluster ids in [0, k).
        max_area: the cluster area bound.
        rounds: at most this many rounds.
        seed: colouring seed.
        max_net_degree: the widest net whose clusters are move targets.

    Returns:
        (assignment, history): the refined (n,) ids (the same k clusters,
        none emptied) and the metric before and after each kept round.
    """
    p, i, w = dedupe_nets(np.asarray(ptr, np.int64), np.asarray(ids, np.int64),
                          np.asarray(weight, np.float64))
    a = np.asarray(assignment, dtype=np.int64).copy()
    n = len(a)
    k = int(a.max()) + 1 if n else 0
    rng = np.random.default_rng(seed)
    deg = np.diff(p)
    ent_net = np.repeat(np.arange(len(deg)), deg)
    ent_w = w[ent_net]
    total_w = np.bincount(i, weights=ent_w, minlength=n)
    small = deg[ent_net] <= max_net_degree
    history = [connectivity(p, i, w, a)]
    for _ in range(rounds):
        ca = a[i]
        key = ent_net * k + ca
        uk, inv, cnt = np.unique(key, return_inverse=True, return_counts=True)
        inv = inv.ravel()
        alone = np.bincount(i, weights=ent_w * (cnt[inv] == 1), minlength=n)
        # targets: every cluster of each small net, for each of its cells
        uk_net = uk // k
        first = np.searchsorted(uk_net, np.arange(len(deg)))
        lam = np.diff(np.append(first, len(uk)))
        e = np.flatnonzero(small)
        reps = lam[ent_net[e]]
        src = np.repeat(e, reps)
        off = np.arange(int(reps.sum())) - np.repeat(np.cumsum(reps) - reps, reps)
        tgt = uk[first[ent_net[src]] + off] % k
        v = i[src]
        keep = tgt != a[v]
        v, tgt, tw = v[keep], tgt[keep], ent_w[src[keep]]
        if len(v) == 0:
            break
        pk, pinv = np.unique(v * k + tgt, return_inverse=True)
        conn = np.bincount(pinv.ravel(), weights=tw)
        pv, pt = pk // k, pk % k
        gain = alone[pv] - total_w[pv] + conn
        if not (gain > 1e-12).any():
            break                                  # a local optimum
        colour = rng.integers(0, 2, size=n).astype(bool)
        ok = (gain > 1e-12) & colour[pv]
        pv, pt, gain = pv[ok], pt[ok], gain[ok]
        # best target per cell
        o = np.lexsort((pt, -gain, pv))
        pv, pt, gain = pv[o], pt[o], gain[o]
        lead = np.ones(len(pv), dtype=bool)
        lead[1:] = pv[1:] != pv[:-1]
        pv, pt, gain = pv[lead], pt[lead], gain[lead]
        # area: best gains first into each target
        c_area = np.bincount(a, weights=area, minlength=k)
        o = np.lexsort((-gain, pt))
        pv, pt, gain = pv[o], pt[o], gain[o]
        cum = np.cumsum(area[pv])
        start = np.searchsorted(pt, pt, side="left")
        before = np.concatenate([[0.0], cum])[start]
        fits = c_area[pt] + (cum - before) <= max_area
        pv, pt = pv[fits], pt[fits]
        # never empty a cluster: drop all moves out of one that would be
        size = np.bincount(a, minlength=k)
        out = np.bincount(a[pv], minlength=k)
        stay = out[a[pv]] < size[a[pv]]
        pv, pt = pv[stay], pt[stay]
        if len(pv) == 0:
            continue                               # none of this colour
        new = a.copy()
        new[pv] = pt
        metric = connectivity(p, i, w, new)
        if metric >= history[-1]:
            break
        a = new
        history.append(metric)
    return a, history
