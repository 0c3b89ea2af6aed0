"""Hybrid ranking: normalise the signals, weigh them, diversify, explain (design §7.4).

Per request and per output type, over the eligible candidates (every resource of that type
except the seeds, the `exclude_ids` and the tracks of a seed album, which the listener has
just heard as part of it):

    normalised_s(c) = raw_s(c) / max over eligible candidates of raw_s     (0 when that max is 0)
    final(c)        = w_content * normalised_content(c) + w_metadata * normalised_metadata(c)
                      + w_cooccurrence * normalised_cooccurrence(c)
                      + w_collaborative * normalised_collaborative(c)

The collaborative signal (collaborative.py: the seeds folded into a CF model's item
factors) joins only when the config weighs it and a `CollaborativeIndex` is given; it is
explained like content (one contribution, its seeds named by their positive shares).

Dividing by the best candidate puts every signal on 0..1 with its best item at 1, whatever
its raw scale (summed rule points, summed PMI, cosine) and however many seeds there are;
it keeps each signal's own spread (no min shift, so a zero stays zero); and because it is
per output type, the best artist and the best track both reach the weights' sum when one
request asks for several types. A signal with nothing to say (no table, no vectors, no
overlap) stays 0 and is listed in `empty_signals`; the others still answer.

Weighted seeds (a playlist continued with its latest items counting most): a seed of weight
w contributes w times its rows to the additive signals and w times its vector to the
content query; the per-type normalisation above is unchanged, so only the balance between
seeds moves. Without weights every seed weighs 1.

Items with final > 0 form the candidates; the best `pool_factor * limit` of them (ties by
type, then id) go to MMR (mmr.py) with relevance = final / best final in the pool and
lambda = `lambda_mmr`; the result lists the selected items in MMR order. Weights and
lambda come only from a `WeightConfig` (the active database row; no per-request override).
`shortlist` stops before MMR and explanations: the best `size` candidates by final score,
explained later, only those a caller that picks by rules of its own serves. At lambda 1
MMR is relevance alone, so the pool's pairwise similarity is not computed.

Explanations. Each item carries `Contribution`s whose `contribution` values add up to its
`final_score` (to rounding): metadata one per rule that fired (same artist, same release,
shared tags, shared work), co-occurrence and content one each; each says which seeds it
came from (strongest first) and why, in words. For a rule, `raw` is its points summed over
seeds, `normalised` is raw / (the signal's max), `contribution` = weight * normalised.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core import signals as sig
from services.ranker.core.collaborative import CollaborativeIndex, collaborative
from services.ranker.core.features import CatalogFeatures, SeedSet, check_type
from services.ranker.core.mmr import mmr_select, pool_similarity
from services.ranker.core.signals import (
    ALL_SIGNALS,
    COLLABORATIVE,
    CONTENT,
    COOCCURRENCE,
    METADATA,
    SIGNALS,
    CooccurrenceIndex,
    MetadataRules,
    SignalScores,
)
from services.ranker.core.sparse_ops import sorted_unique

DEFAULT_LIMIT = 10
DEFAULT_POOL_FACTOR = 5
_NAMED_SEEDS = 3


@dataclass(frozen=True)
class WeightConfig:
    """A ranking weight configuration (the active `ranking_weight_config` row)."""

    id: str
    w_content: float
    w_metadata: float
    w_cooccurrence: float
    lambda_mmr: float
    w_collaborative: float = 0.0  # folded-in CF item factors (collaborative.py)

    def __post_init__(self) -> None:
        for name in ("w_content", "w_metadata", "w_cooccurrence", "w_collaborative"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value >= 0):
                raise InvalidArgument(f"weight config {self.id!r}: {name}={value!r} must be >= 0")
        if self.w_content + self.w_metadata + self.w_cooccurrence + self.w_collaborative <= 0:
            raise InvalidArgument(f"weight config {self.id!r} has all weights 0")
        if not (np.isfinite(self.lambda_mmr) and 0.0 <= self.lambda_mmr <= 1.0):
            raise InvalidArgument(
                f"weight config {self.id!r}: lambda_mmr={self.lambda_mmr!r} is outside 0..1"
            )

    def weight(self, signal: str) -> float:
        return {
            CONTENT: self.w_content,
            METADATA: self.w_metadata,
            COOCCURRENCE: self.w_cooccurrence,
            COLLABORATIVE: self.w_collaborative,
        }[signal]

    def reported_signals(self) -> tuple[str, ...]:
        """The signals `empty_signals` and `silent_seeds` speak of: the three of every
        config, and the collaborative one where this config weighs it."""
        return ALL_SIGNALS if self.w_collaborative > 0 else SIGNALS

    @classmethod
    def single_signal(cls, signal: str, lambda_mmr: float = 1.0) -> WeightConfig:
        """All weight on one signal: the single-signal endpoints (design §7.1-7.3)."""
        if signal not in SIGNALS:
            raise InvalidArgument(f"signal {signal!r} is not one of {', '.join(SIGNALS)}")
        return cls(
            id=f"single-signal:{signal}",
            w_content=float(signal == CONTENT),
            w_metadata=float(signal == METADATA),
            w_cooccurrence=float(signal == COOCCURRENCE),
            lambda_mmr=lambda_mmr,
        )


@dataclass(frozen=True)
class Contribution:
    signal: str  # content | metadata | cooccurrence
    rule: str  # same_artist | same_album | shared_tag | shared_work | pmi | cosine
    raw: float
    normalised: float
    weight: float
    contribution: float  # weight * normalised; an item's contributions sum to final_score
    reason: str
    seed_ids: tuple[str, ...]  # the seeds it came from, strongest first


@dataclass(frozen=True)
class ScoredItem:
    id: str
    type: str
    name: str
    content_score: float  # normalised, 0..1
    metadata_score: float
    cooccurrence_score: float
    final_score: float  # sum of weight * normalised score
    mmr_score: float  # what MMR selected it on (relevance traded against redundancy)
    explanation: tuple[Contribution, ...]
    collaborative_score: float = 0.0  # normalised, 0..1


@dataclass(frozen=True)
class Recommendation:
    items: tuple[ScoredItem, ...]
    seed_ids: tuple[str, ...]
    out_types: tuple[str, ...]
    weight_config_id: str
    empty_signals: tuple[str, ...]  # signals that scored no eligible candidate
    silent_seeds: Mapping[str, tuple[str, ...]]  # signal -> seeds it found nothing for


def recommend(
    features: CatalogFeatures,
    seed_ids: Sequence[str],
    config: WeightConfig,
    *,
    out_types: Sequence[str] = ("track",),
    exclude_ids: Sequence[str] = (),
    limit: int = DEFAULT_LIMIT,
    cooccurrence: CooccurrenceIndex | None = None,
    seed_vectors: Mapping[str, np.ndarray] | None = None,
    candidate_ids: Sequence[str] = (),
    candidate_vectors: np.ndarray | None = None,
    rules: MetadataRules | None = None,
    pool_factor: int = DEFAULT_POOL_FACTOR,
    seed_weights: Mapping[str, float] | None = None,
    collaborative_index: CollaborativeIndex | None = None,
) -> Recommendation:
    """Compute every signal for the seeds and combine them (see the module docstring).

    Content needs `seed_vectors` (per seed, its tracks' vectors) and the candidate tracks
    with their vectors (from an ANN search around `signals.content_query(...).vector`).
    `seed_weights` (seed id -> weight > 0, 1 for a seed it omits) weigh each seed's part of
    the additive signals and its vector in the content query (see `weigh_seeds`).
    """
    out_types = _checked_types(out_types)
    seeds = features.expand_seeds(seed_ids)
    computed = _signals(features, seeds, config, out_types, cooccurrence, seed_vectors,
                        candidate_ids, candidate_vectors, rules, seed_weights,
                        collaborative_index)
    return combine(
        features,
        seeds,
        computed,
        config,
        out_types=out_types,
        exclude_ids=exclude_ids,
        limit=limit,
        rules=rules,
        pool_factor=pool_factor,
    )


def shortlist(
    features: CatalogFeatures,
    seed_ids: Sequence[str],
    config: WeightConfig,
    *,
    size: int,
    out_types: Sequence[str] = ("track",),
    exclude_ids: Sequence[str] = (),
    cooccurrence: CooccurrenceIndex | None = None,
    seed_vectors: Mapping[str, np.ndarray] | None = None,
    candidate_ids: Sequence[str] = (),
    candidate_vectors: np.ndarray | None = None,
    rules: MetadataRules | None = None,
    seed_weights: Mapping[str, float] | None = None,
    collaborative_index: CollaborativeIndex | None = None,
    with_rules: bool = False,
) -> Shortlist:
    """The `size` best candidates by final score, scored as `recommend` scores them but
    neither diversified nor explained (see `Shortlist`). `with_rules`: each item carries
    its contributions by rule without their reasons and seeds (what a learned second stage
    reads its features from), computed for the whole shortlist at once."""
    out_types = _checked_types(out_types)
    _check_size(size, "size")
    seeds = features.expand_seeds(seed_ids)
    computed = _signals(features, seeds, config, out_types, cooccurrence, seed_vectors,
                        candidate_ids, candidate_vectors, rules, seed_weights,
                        collaborative_index)
    by_type = _group(features, computed, out_types)
    excluded = _excluded(features, seeds, exclude_ids)
    ranked = [_TypeRanking.build(features, t, by_type[t], excluded, config) for t in out_types]
    pool = _pool(ranked, size)
    items = _scored(features, ranked, pool)
    if with_rules:
        items = tuple(replace(item, explanation=terms) for item, terms in
                      zip(items, _rule_terms(ranked, pool, config), strict=True))
    return Shortlist(items, _Explainer(features, seeds, ranked, pool, config))


def _rule_terms(ranked: Sequence[_TypeRanking], pool: _Pool, config: WeightConfig
                ) -> list[tuple[Contribution, ...]]:
    """Per pool item, its contributions as `_explain` lists them (same rules, order and
    numbers) less their reasons and seeds: each rule's column sums, gathered at once."""
    terms: list[list[Contribution]] = [[] for _ in range(len(pool))]
    for k, r in enumerate(ranked):
        members = np.flatnonzero(pool.ranking == k)
        if not len(members):
            continue
        local = pool.local[members]
        at = np.searchsorted(r.candidates, local)
        for name in ALL_SIGNALS:
            signal = r.signals.get(name)
            weight, best = config.weight(name), r.max_raw.get(name, 0.0)
            if signal is None or weight == 0 or best == 0:
                continue
            total = r.raw[name][at]
            for rule, part in signal.parts.items():
                raw = _columns(part, local).sum(axis=0) if signal.additive else total
                for m in np.flatnonzero((total != 0) & (raw > 0)).tolist():
                    value = float(raw[m])
                    terms[int(members[m])].append(Contribution(
                        signal=name, rule=rule, raw=value, normalised=value / best,
                        weight=weight, contribution=weight * value / best, reason="",
                        seed_ids=()))
    return [tuple(t) for t in terms]


def _scored(features: CatalogFeatures, ranked: Sequence[_TypeRanking], pool: _Pool
            ) -> tuple[ScoredItem, ...]:
    """The pool's items with their scores and no contributions, relevance as `mmr_score`:
    each type's scores gathered at once (a shortlist is hundreds of items)."""
    relevance = pool.final / pool.final.max() if len(pool) else pool.final
    normalised = np.zeros((len(pool), len(ALL_SIGNALS)))
    for k, r in enumerate(ranked):
        members = np.flatnonzero(pool.ranking == k)
        at = np.searchsorted(r.candidates, pool.local[members])
        for column, name in enumerate(ALL_SIGNALS):
            best = r.max_raw.get(name, 0.0)
            if name in r.raw and best > 0:
                normalised[members, column] = r.raw[name][at] / best
    scores = dict(zip(ALL_SIGNALS, normalised.T.tolist(), strict=True))
    types = [ranked[k].out_type for k in pool.ranking.tolist()]
    return tuple(
        ScoredItem(id=str(features.ids[g]), type=types[p], name=str(features.names[g]),
                   content_score=scores[CONTENT][p], metadata_score=scores[METADATA][p],
                   cooccurrence_score=scores[COOCCURRENCE][p], final_score=float(f),
                   mmr_score=float(m), explanation=(),
                   collaborative_score=scores[COLLABORATIVE][p])
        for p, (g, f, m) in enumerate(zip(pool.index.tolist(), pool.final.tolist(),
                                          relevance.tolist(), strict=True)))


def _signals(
    features: CatalogFeatures,
    seeds: SeedSet,
    config: WeightConfig,
    out_types: Sequence[str],
    cooccurrence: CooccurrenceIndex | None,
    seed_vectors: Mapping[str, np.ndarray] | None,
    candidate_ids: Sequence[str],
    candidate_vectors: np.ndarray | None,
    rules: MetadataRules | None,
    seed_weights: Mapping[str, float] | None,
    collaborative_index: CollaborativeIndex | None,
) -> list[SignalScores]:
    """Every signal's scores for the seeds, per output type, weighted by seed."""
    weights = seed_weight_array(seeds, seed_weights) if seed_weights else None
    query = sig.content_query(seeds, seed_vectors, weights) if seed_vectors else None
    computed: list[SignalScores] = []
    for out_type in out_types:
        computed.append(sig.metadata(seeds, features, out_type, rules))
        if cooccurrence is not None:
            computed.append(sig.cooccurrence(seeds, cooccurrence, out_type))
        if collaborative_index is not None and config.w_collaborative > 0:
            computed.append(collaborative(seeds, collaborative_index, out_type))
        if query is not None and len(candidate_ids) and candidate_vectors is not None:
            computed.append(
                sig.content(seeds, features, query, candidate_ids, candidate_vectors, out_type)
            )
    if weights is not None:
        computed = [weigh_seeds(scores, weights) for scores in computed]
    return computed


def _check_size(value: object, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InvalidArgument(f"{name}={value!r} must be a positive integer")


def combine(
    features: CatalogFeatures,
    seeds: SeedSet,
    computed: Sequence[SignalScores],
    config: WeightConfig,
    *,
    out_types: Sequence[str] = ("track",),
    exclude_ids: Sequence[str] = (),
    limit: int = DEFAULT_LIMIT,
    rules: MetadataRules | None = None,
    pool_factor: int = DEFAULT_POOL_FACTOR,
) -> Recommendation:
    """Normalise, weigh, diversify and explain precomputed signals (any may be missing)."""
    out_types = _checked_types(out_types)
    _check_size(limit, "limit")
    if pool_factor < 1:
        raise InvalidArgument(f"pool_factor={pool_factor!r} must be >= 1")
    by_type = _group(features, computed, out_types)
    excluded = _excluded(features, seeds, exclude_ids)
    ranked = [_TypeRanking.build(features, t, by_type[t], excluded, config) for t in out_types]

    pool = _pool(ranked, pool_factor * limit)
    items: list[ScoredItem] = []
    if len(pool):
        relevance = pool.final / pool.final.max()
        if config.lambda_mmr < 1.0:
            vectors, has_vector = _pool_vectors(pool, ranked)
            similarity = pool_similarity(features, pool.index, vectors, has_vector, rules)
        else:  # relevance alone: redundancy is weighed by 0, so it need not be computed
            similarity = np.zeros((len(pool), len(pool)))
        chosen, mmr_scores = mmr_select(relevance, similarity, config.lambda_mmr, limit)
        items = _explain(features, seeds, ranked, pool, chosen, mmr_scores, config)
    return Recommendation(
        items=tuple(items),
        seed_ids=seeds.ids,
        out_types=tuple(out_types),
        weight_config_id=config.id,
        empty_signals=tuple(s for s in config.reported_signals()
                            if all(r.max_raw.get(s, 0.0) == 0 for r in ranked)),
        silent_seeds=_silent_seeds(seeds, ranked, config.reported_signals()),
    )


def seed_weight_array(seeds: SeedSet, weights: Mapping[str, float]) -> np.ndarray:
    """The weights of `seeds` in seed order (1 where `weights` has none); each must be a
    finite number > 0, and every weighted id must be a seed."""
    unknown = sorted(set(weights) - set(seeds.ids))
    if unknown:
        raise InvalidArgument(f"seed weight given for {unknown[0]!r}, which is not a seed")
    out = np.array([float(weights.get(s, 1.0)) for s in seeds.ids])
    bad = np.flatnonzero(~np.isfinite(out) | (out <= 0))
    if len(bad):
        raise InvalidArgument(f"seed weight {out[bad[0]]!r} of {seeds.ids[bad[0]]!r} must be "
                              "a finite number > 0")
    return out


def weigh_seeds(scores: SignalScores, weights: np.ndarray) -> SignalScores:
    """An additive signal with each seed's row of every part scaled by its weight, and the
    scores summed again from them: a seed of weight 2 counts as that seed twice. Content is
    not additive; its weights act in the query vector (`signals.content_query`)."""
    if not scores.additive or not scores.parts:
        return scores
    # Positive weights keep every entry's sign, so the weighted scores live on the same
    # support: each part's entries are scaled by their row's weight and summed into it.
    support = scores.support
    values = np.zeros(len(support))
    parts: dict[str, sp.csr_matrix] = {}
    for rule, part in scores.parts.items():
        part = sp.csr_matrix(part)
        data = part.data * np.repeat(weights, np.diff(part.indptr))
        parts[rule] = sp.csr_matrix((data, part.indices, part.indptr), shape=part.shape)
        at = np.minimum(np.searchsorted(support, part.indices), max(len(support) - 1, 0))
        held = support[at] == part.indices if len(support) else np.zeros(0, dtype=bool)
        values += np.bincount(at[held], weights=data[held], minlength=len(support))
    return SignalScores.sparse(scores.signal, scores.out_type, scores.width, support, values,
                               parts, additive=True)


@dataclass(frozen=True)
class Shortlist:
    """The best candidates by final score (no MMR), scored but not explained: for a caller
    that picks from them by rules of its own (a playlist continuation's artist limiter and
    MMR) and then explains only the items it serves, which costs a fraction of explaining
    them all. `items` are in final-score order, each with `mmr_score` = its relevance
    (final / the best final) and no contributions."""

    items: tuple[ScoredItem, ...]
    explainer: _Explainer

    def recommendation(self) -> Recommendation:
        """The shortlist as a first stage's result, in final-score order (with the signals
        that found nothing and the seeds they found nothing for, worked out here)."""
        e = self.explainer
        reported = e.config.reported_signals()
        return Recommendation(
            self.items, e.seeds.ids, tuple(r.out_type for r in e.ranked), e.config.id,
            tuple(s for s in reported if all(r.max_raw.get(s, 0.0) == 0 for r in e.ranked)),
            _silent_seeds(e.seeds, e.ranked, reported))

    def explained(self, picks: Sequence[ScoredItem]) -> list[ScoredItem]:
        """`picks` (items of this shortlist) with their contributions, which add up to
        their final scores as `recommend`'s do; each keeps its own `mmr_score`."""
        return self.explainer.explain(picks)


@dataclass(frozen=True)
class _Explainer:
    features: CatalogFeatures
    seeds: SeedSet
    ranked: Sequence[_TypeRanking]
    pool: _Pool
    config: WeightConfig

    def explain(self, picks: Sequence[ScoredItem]) -> list[ScoredItem]:
        where = {str(self.features.ids[g]): p for p, g in enumerate(self.pool.index)}
        missing = [i.id for i in picks if i.id not in where]
        if missing:
            raise InvalidArgument(f"item {missing[0]!r} is not in the shortlist")
        positions = np.array([where[i.id] for i in picks], dtype=np.int64)
        scores = np.array([i.mmr_score for i in picks], dtype=np.float64)
        return _explain(self.features, self.seeds, self.ranked, self.pool, positions, scores,
                        self.config)


# ---- per-type scoring -------------------------------------------------------------------------


@dataclass(frozen=True)
class _TypeRanking:
    """One output type's candidates: the items some signal scores (ascending local
    indices), each signal's raw score and the final score aligned with them. Nothing here
    is as long as the catalog."""

    out_type: str
    start: int  # global index of the type's first item
    signals: Mapping[str, SignalScores]
    max_raw: Mapping[str, float]
    candidates: np.ndarray  # local indices, ascending
    raw: Mapping[str, np.ndarray]  # signal -> raw score per candidate
    eligible: np.ndarray  # per candidate
    final: np.ndarray  # per candidate

    @classmethod
    def build(
        cls,
        features: CatalogFeatures,
        out_type: str,
        computed: Mapping[str, SignalScores],
        excluded: np.ndarray,
        config: WeightConfig,
    ) -> _TypeRanking:
        start, _ = features.offsets[out_type]
        supports = [s.support for s in computed.values()]
        candidates = sorted_unique(np.concatenate(supports)) if supports else np.zeros(0, np.int64)
        eligible = ~np.isin(candidates + start, excluded)
        final = np.zeros(len(candidates))
        max_raw: dict[str, float] = {}
        raw: dict[str, np.ndarray] = {}
        for name, scores in computed.items():
            aligned = np.zeros(len(candidates))
            aligned[np.searchsorted(candidates, scores.support)] = scores.values
            raw[name] = aligned
            best = float(aligned[eligible].max()) if eligible.any() else 0.0
            max_raw[name] = best
            if best > 0 and config.weight(name) > 0:
                final += config.weight(name) * (aligned / best)
        final[~eligible] = 0.0
        return cls(out_type, start, computed, max_raw, candidates, raw, eligible, final)

    def position(self, local: int) -> int:
        return int(np.searchsorted(self.candidates, local))

    def raw_score(self, name: str, local: int) -> float:
        return float(self.raw[name][self.position(local)]) if name in self.raw else 0.0

    def normalised(self, name: str, local: int) -> float:
        best = self.max_raw.get(name, 0.0)
        return self.raw_score(name, local) / best if best > 0 else 0.0

    def final_score(self, local: int) -> float:
        return float(self.final[self.position(local)])


@dataclass(frozen=True)
class _Pool:
    index: np.ndarray  # global indices, best first
    ranking: np.ndarray  # position in the list of _TypeRanking
    local: np.ndarray  # local index within its type
    final: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def _pool(ranked: Sequence[_TypeRanking], size: int) -> _Pool:
    """The `size` best candidates over all types; ties at the cut are all considered."""
    parts = [(np.flatnonzero(r.final > 0), k) for k, r in enumerate(ranked)]
    local = np.concatenate([ranked[k].candidates[p] for p, k in parts]).astype(np.int64)
    ranking = np.concatenate([np.full(len(p), k, dtype=np.int64) for p, k in parts])
    final = np.concatenate([ranked[k].final[p] for p, k in parts])
    starts = np.array([r.start for r in ranked], dtype=np.int64)
    index = local + starts[ranking]
    if len(final) > size:
        threshold = np.partition(final, len(final) - size)[len(final) - size]
        near = final >= threshold
        local, ranking, final, index = local[near], ranking[near], final[near], index[near]
    order = np.lexsort((index, -final))[:size]
    return _Pool(index[order], ranking[order], local[order], final[order])


def _pool_vectors(
    pool: _Pool, ranked: Sequence[_TypeRanking]
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Unit content vectors of the pool items that have one (tracks from the ANN search)."""
    vectors: np.ndarray | None = None
    has = np.zeros(len(pool), dtype=bool)
    for k, r in enumerate(ranked):
        scores = r.signals.get(CONTENT)
        if scores is None or len(scores.vector_index) == 0:
            continue
        if vectors is None:
            vectors = np.zeros((len(pool), scores.vectors.shape[1]))
        by_index = np.argsort(scores.vector_index, kind="stable")
        sorted_index = scores.vector_index[by_index]
        in_type = np.flatnonzero(pool.ranking == k)
        wanted = pool.local[in_type]
        at = np.clip(np.searchsorted(sorted_index, wanted), 0, len(sorted_index) - 1)
        found = sorted_index[at] == wanted
        vectors[in_type[found]] = scores.vectors[by_index[at[found]]]
        has[in_type[found]] = True
    return (vectors, has) if vectors is not None else (None, None)


def _group(
    features: CatalogFeatures, computed: Sequence[SignalScores], out_types: Sequence[str]
) -> dict[str, dict[str, SignalScores]]:
    grouped: dict[str, dict[str, SignalScores]] = {t: {} for t in out_types}
    for scores in computed:
        if scores.out_type in grouped and scores.width != features.count(scores.out_type):
            raise InvalidArgument(
                f"{scores.signal} scores for {scores.out_type!r} have shape "
                f"({scores.width},), expected ({features.count(scores.out_type)},)"
            )
        if scores.out_type not in grouped:
            raise InvalidArgument(
                f"{scores.signal} scores for {scores.out_type!r}, which was not requested"
            )
        if scores.signal in grouped[scores.out_type]:
            raise InvalidArgument(f"two {scores.signal} signals for {scores.out_type!r}")
        if scores.signal not in ALL_SIGNALS:
            raise InvalidArgument(
                f"signal {scores.signal!r} is not one of {', '.join(ALL_SIGNALS)}")
        grouped[scores.out_type][scores.signal] = scores
    return grouped


def _excluded(features: CatalogFeatures, seeds: SeedSet, exclude_ids: Sequence[str]) -> np.ndarray:
    """Global indices (ascending) of the seeds, exclude_ids (unknown ones ignored) and the
    tracks of seed albums."""
    if isinstance(exclude_ids, str):
        raise InvalidArgument(f"exclude_ids must be a sequence of ids, got {exclude_ids!r}")
    known = [features.index[e] for e in exclude_ids if e in features.index]
    parts = [seeds.index, np.array(known, dtype=np.int64)]
    albums = [k for k, t in enumerate(seeds.types) if t == "album"]
    if albums:
        track_start = features.offsets["track"][0]
        parts.append(track_start + seeds.tracks[albums].indices.astype(np.int64))
    return sorted_unique(np.concatenate(parts))


def _checked_types(out_types: Sequence[str]) -> list[str]:
    if isinstance(out_types, str):
        out_types = [out_types]
    unique = list(dict.fromkeys(check_type(t) for t in out_types))
    if not unique:
        raise InvalidArgument("at least one output resource type is required")
    return unique


def _silent_seeds(seeds: SeedSet, ranked: Sequence[_TypeRanking],
                  names: Sequence[str] = SIGNALS) -> dict[str, tuple[str, ...]]:
    """Per signal, the seeds whose parts reach no eligible candidate of any requested type."""
    silent: dict[str, tuple[str, ...]] = {}
    for name in names:
        reach = np.zeros(len(seeds))
        for r in ranked:
            scores = r.signals.get(name)
            if scores is None:
                continue
            ineligible = r.candidates[~r.eligible]
            for part in scores.parts.values():
                part = sp.csr_matrix(part)
                rows = np.repeat(np.arange(part.shape[0]), np.diff(part.indptr))
                counted = ~np.isin(part.indices, ineligible)
                reach += np.bincount(rows[counted], weights=part.data[counted],
                                     minlength=len(seeds))
        silent[name] = tuple(s for s, hit in zip(seeds.ids, reach, strict=True) if hit <= 0)
    return silent


# ---- explanations ---------------------------------------------------------------------------


def _explain(
    features: CatalogFeatures,
    seeds: SeedSet,
    ranked: Sequence[_TypeRanking],
    pool: _Pool,
    chosen: np.ndarray,
    mmr_scores: np.ndarray,
    config: WeightConfig,
) -> list[ScoredItem]:
    columns: dict[tuple[int, str, str], dict[int, np.ndarray]] = {}
    for k, r in enumerate(ranked):
        locals_k = [int(pool.local[p]) for p in chosen if pool.ranking[p] == k]
        if not locals_k:
            continue
        for name, scores in r.signals.items():
            for rule, part in scores.parts.items():
                dense = _columns(part, np.array(locals_k, dtype=np.int64))
                columns[(k, name, rule)] = {j: dense[:, n] for n, j in enumerate(locals_k)}

    items = []
    for p, mmr_score in zip(chosen, mmr_scores, strict=True):
        k, local = int(pool.ranking[p]), int(pool.local[p])
        r = ranked[k]
        candidate = r.start + local
        contributions: list[Contribution] = []
        for name in ALL_SIGNALS:
            signal = r.signals.get(name)
            weight, best = config.weight(name), r.max_raw.get(name, 0.0)
            if signal is None or weight == 0 or best == 0 or r.raw_score(name, local) == 0:
                continue
            for rule in signal.parts:
                per_seed = columns[(k, name, rule)][local]
                raw = float(per_seed.sum()) if signal.additive else r.raw_score(name, local)
                if raw <= 0:
                    continue
                order = [
                    int(i)
                    for i in np.lexsort((np.arange(len(per_seed)), -per_seed))
                    if per_seed[i] > 0
                ]
                contributions.append(
                    Contribution(
                        signal=name,
                        rule=rule,
                        raw=raw,
                        normalised=raw / best,
                        weight=weight,
                        contribution=weight * raw / best,
                        reason=_reason(features, seeds, rule, order, per_seed, candidate),
                        seed_ids=tuple(seeds.ids[i] for i in order),
                    )
                )
        items.append(
            ScoredItem(
                id=str(features.ids[candidate]),
                type=r.out_type,
                name=str(features.names[candidate]),
                content_score=r.normalised(CONTENT, local) if CONTENT in r.signals else 0.0,
                metadata_score=r.normalised(METADATA, local) if METADATA in r.signals else 0.0,
                cooccurrence_score=(
                    r.normalised(COOCCURRENCE, local) if COOCCURRENCE in r.signals else 0.0
                ),
                final_score=r.final_score(local),
                mmr_score=float(mmr_score),
                explanation=tuple(contributions),
                collaborative_score=(
                    r.normalised(COLLABORATIVE, local) if COLLABORATIVE in r.signals else 0.0
                ),
            )
        )
    return items


def _columns(matrix: sp.csr_matrix, cols: np.ndarray) -> np.ndarray:
    """Dense (rows x len(cols)) slice of a CSR matrix, in one O(nnz) pass.

    Column slicing a CSR matrix in scipy converts or sorts it first, which costs more than
    the whole request when rows span the catalog.
    """
    matrix = sp.csr_matrix(matrix)
    position = np.full(matrix.shape[1], -1, dtype=np.int64)
    position[cols] = np.arange(len(cols))
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    where = position[matrix.indices]
    hit = where >= 0
    out = np.zeros((matrix.shape[0], len(cols)))
    np.add.at(out, (rows[hit], where[hit]), matrix.data[hit])
    return out


def _reason(
    features: CatalogFeatures,
    seeds: SeedSet,
    rule: str,
    order: list[int],
    per_seed: np.ndarray,
    candidate: int,
) -> str:
    """One sentence on why `candidate` got points from `rule`, naming the strongest seeds."""
    named = ", ".join(_label(features, seeds, i) for i in order[:_NAMED_SEEDS])
    if len(order) > _NAMED_SEEDS:
        named += f" and {len(order) - _NAMED_SEEDS} more"
    top = order[0] if order else None
    if rule == "same_artist":
        return f"shares an artist with {named}"
    if rule == "same_album":
        return f"on a release shared with {named}"
    if rule == "shared_work":
        return f"a recording of the same work as {named}"
    if rule == "shared_tag":
        tags = features.top_tags(int(seeds.index[top]), candidate) if top is not None else []
        shared = f" ({', '.join(tags)})" if tags else ""
        return f"shares tags with {named}{shared}"
    if rule == "pmi":
        return f"often listened to together with {named}"
    if rule == "als":
        return f"listeners of {named} play it too (collaborative filtering)"
    if rule == "cosine":
        if top is None:
            return "sounds like the seeds"
        return f"sounds like {named} (cosine {per_seed[top]:.2f})"
    return f"{rule} from {named}"


def _label(features: CatalogFeatures, seeds: SeedSet, k: int) -> str:
    name = str(features.names[seeds.index[k]]) or seeds.ids[k]
    return f"{seeds.types[k]} '{name}'"
