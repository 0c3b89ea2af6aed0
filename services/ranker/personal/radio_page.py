"""How one page of a radio session is chosen: pure functions over CatalogFeatures, no I/O.

Feedback. The events posted with the session's id, per item the latest opinion: like and
complete are positive (the items join the seeds), skip and dislike negative; a play is
neutral (it only says a track started).

Skip penalty. Each skipped item s scales a candidate's final score by
`1 - strength(s) x closeness(candidate, s)` (skip 0.5, dislike 1.0: a dislike penalises
twice as hard, and an item by a disliked artist drops to zero). Closeness (0..1) is 1 when
the two share an artist, else the pool similarity MMR uses (`mmr.pool_similarity`: the
metadata rules between the two items, scaled to 0..1; same release 0.30, shared tags up to
0.19, same work 0.15). Multiplying rather than subtracting keeps a penalty in proportion to
the score it cuts: in a catalog where everything shares a tag, a few skips of one artist
demote that artist without wiping out the rest. Tags carry the sound too (musicnn's
internal tags); raw content cosines are not used, since an absolute cosine would have to be
calibrated per embedding model. The cut is one more explanation line (signal `radio`, rule
`skip_penalty`, naming the skipped items), so an item's contributions still add up to its
final score.

Artist limiter. At most `limit` items of one artist in any `window` consecutive items of the
session, pages before this one included: an item may come next only if none of its artists
already has `limit` items among the session's last `window - 1`. An item counts for every
artist it credits; items without an artist are never held back. The limiter is never
relaxed: a catalog that cannot fill a page within it gets a shorter page.

Selection. MMR (`mmr.mmr_select`, lambda from the active weight config) over the candidates
in tiers: the hybrid's candidates first, then popular items, then catalog items, and last
the items a dislike took to zero. Each step takes the best MMR
gain within the first tier that still has an item the limiter allows; relevance is the
score divided by the best of its tier, and redundancy is counted against every item already
picked for the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from services.ranker.core.features import CatalogFeatures
from services.ranker.core.hybrid import Contribution, ScoredItem
from services.ranker.core.mmr import mmr_select, pool_similarity

POSITIVE = ("like", "complete")
STRENGTH = {"skip": 0.5, "dislike": 1.0}
WIPED_OUT = 1e-9            # a final score at or below this is zero (a dislike's doing)
MIN_CUT = 0.01              # a skipped item that would cut less says nothing about a candidate
NAMED_SKIPS = 3             # skipped items named in one explanation line

# Candidate tiers, best first.
HYBRID, POPULAR, CATALOG, PENALISED = range(4)


@dataclass(frozen=True)
class Feedback:
    positives: tuple[str, ...]                 # liked or completed, most recent first
    negatives: tuple[tuple[str, str], ...]     # (item, skip | dislike), oldest opinion first
    negative_events: int                       # skip and dislike events posted

    @property
    def negative_ids(self) -> tuple[str, ...]:
        return tuple(item for item, _ in self.negatives)


def session_feedback(events: Sequence[tuple[str, str]]) -> Feedback:
    """`events`: (item juke_id, event type) of one session, oldest first."""
    latest: dict[str, str] = {}
    for item, kind in events:
        if kind in POSITIVE or kind in STRENGTH:
            latest.pop(item, None)  # re-insert: dict order becomes the order of opinions
            latest[item] = kind
    positives = tuple(reversed([i for i, k in latest.items() if k in POSITIVE]))
    negatives = tuple((i, k) for i, k in latest.items() if k in STRENGTH)
    return Feedback(positives, negatives, sum(1 for _, k in events if k in STRENGTH))


# ---- artists and the limiter ------------------------------------------------------------------


def artist_columns(features: CatalogFeatures, item_id: str,
                   stored_artist: str | None = None) -> np.ndarray:
    """An item's artists as artist-block columns: a track's or album's credited artists, an
    artist itself. An item the catalog no longer holds falls back to the artist stored with
    its play."""
    index = features.index.get(item_id)
    if index is not None:
        return np.sort(features.artists[index].indices)
    if stored_artist and stored_artist in features.index:
        return np.array([features.index[stored_artist] - features.offsets["artist"][0]])
    return np.zeros(0, dtype=np.int32)


def artist_columns_of(features: CatalogFeatures, item_ids: Sequence[str]) -> list[np.ndarray]:
    """`artist_columns` of many items at once: one slice of the artist profiles."""
    rows = [features.index.get(i) for i in item_ids]
    if any(r is None for r in rows) or not rows:
        return [artist_columns(features, i) for i in item_ids]
    block = features.artists[np.array(rows, dtype=np.int64)]
    block.sort_indices()
    return np.split(block.indices, block.indptr[1:-1])


def first_artist(features: CatalogFeatures, item_id: str) -> str | None:
    """The artist recorded with a play (the first credited one), if any."""
    columns = artist_columns(features, item_id)
    if not len(columns):
        return None
    return str(features.ids[features.offsets["artist"][0] + int(columns[0])])


@dataclass(frozen=True)
class ArtistLimit:
    limit: int     # at most this many items of one artist ...
    window: int    # ... in any run of this many consecutive items

    def blocked(self, recent: Sequence[np.ndarray], artists: int) -> np.ndarray:
        """Artists that may not come next: those with `limit` items among the last
        `window - 1` of `recent` (one more would make limit + 1 in a window)."""
        counts = np.zeros(artists, dtype=np.int64)
        for columns in recent[max(0, len(recent) - (self.window - 1)):]:
            counts[columns] += 1
        return counts >= self.limit

    def most_in(self, n: int) -> int:
        """The most items of one artist a run of n items can hold: `limit` in each of the
        ceil(n / window) windows that cover it."""
        return self.limit * -(-n // self.window)


# ---- the skip penalty ---------------------------------------------------------------------------


def closeness(features: CatalogFeatures, pool: np.ndarray, skipped: np.ndarray) -> np.ndarray:
    """(pool x skipped) closeness in 0..1 (see the module docstring); global indices."""
    similarity = pool_similarity(features, np.concatenate([pool, skipped]))
    near = similarity[:len(pool), len(pool):]
    same_artist = (features.artists[pool] @ features.artists[skipped].T).toarray() > 0
    return np.where(same_artist, 1.0, near)


def _relation(features: CatalogFeatures, candidate: int, skipped: int) -> str:
    """The words for the strongest relation between a candidate and a skipped item."""
    for label, profile in (("same artist", features.artists), ("same release", features.albums),
                           ("same work", features.works)):
        if profile[candidate].multiply(profile[skipped]).nnz:
            return label
    tags = features.top_tags(skipped, candidate)
    return f"shared tags: {', '.join(tags)}" if tags else "shared tags"


def skip_penalties(features: CatalogFeatures, items: Sequence[ScoredItem],
                   negatives: Sequence[tuple[str, str]]) -> list[Contribution | None]:
    """Per item, its skip-penalty explanation line (None: no penalty); the line's
    contribution is what the penalty takes off the item's final score."""
    known = [(i, k) for i, k in negatives if i in features.index]
    if not items or not known:
        return [None] * len(items)
    pool = np.array([features.lookup(i.id) for i in items], dtype=np.int64)
    skipped = np.array([features.lookup(i) for i, _ in known], dtype=np.int64)
    cut = closeness(features, pool, skipped) * np.array([STRENGTH[k] for _, k in known])
    cut[cut < MIN_CUT] = 0.0
    kept = np.prod(1.0 - cut, axis=1)
    out: list[Contribution | None] = []
    for row, item in enumerate(items):
        order = [int(s) for s in np.lexsort((np.arange(len(known)), -cut[row])) if cut[row, s] > 0]
        if not order:
            out.append(None)
            continue
        named = ", ".join(
            f"'{features.names[skipped[s]] or known[s][0]}' ({_verb(known[s][1])}; "
            f"{_relation(features, int(pool[row]), int(skipped[s]))})"
            for s in order[:NAMED_SKIPS])
        more = f" and {len(order) - NAMED_SKIPS} more" if len(order) > NAMED_SKIPS else ""
        removed = 1.0 - float(kept[row])
        out.append(Contribution(
            signal="radio", rule="skip_penalty", raw=removed, normalised=removed,
            weight=-item.final_score, contribution=-item.final_score * removed,
            reason=f"score x{kept[row]:.2f}: close to what this session skipped: {named}{more}",
            seed_ids=tuple(known[s][0] for s in order)))
    return out


def _verb(kind: str) -> str:
    return "skipped" if kind == "skip" else "disliked"


# ---- choosing the page -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    item: ScoredItem
    tier: int      # HYBRID, POPULAR or CATALOG


def choose_page(features: CatalogFeatures, candidates: Sequence[Candidate],
                recent: Sequence[np.ndarray], n: int, limit: ArtistLimit, lambda_mmr: float,
                negatives: Sequence[tuple[str, str]], *, allow_penalised: bool) -> list[ScoredItem]:
    """Up to n items for the next page (see the module docstring).

    `candidates` must already leave out what the session served and its seeds; an item
    listed twice keeps its first (best-tier) entry. `recent`: the artist columns of the
    items the session served, in order. `allow_penalised`: whether items a dislike took
    to zero may fill the page (the last resort).
    """
    unique = list({c.item.id: c for c in reversed(candidates)}.values())[::-1]
    penalties = skip_penalties(features, [c.item for c in unique], negatives)
    items, tiers, before = [], [], []
    for candidate, penalty in zip(unique, penalties, strict=True):
        item = candidate.item
        if penalty is not None:
            item = replace(item, final_score=item.final_score + penalty.contribution,
                           explanation=(*item.explanation, penalty))
        tier = candidate.tier if item.final_score > WIPED_OUT else PENALISED
        if tier != PENALISED or allow_penalised:
            items.append(item)
            tiers.append(tier)
            before.append(candidate.item.final_score)
    if not items or n < 1:
        return []
    tier_of = np.array(tiers)
    pool = np.array([features.lookup(i.id) for i in items], dtype=np.int64)
    relevance = _relevance(np.array([i.final_score for i in items]), np.array(before), tier_of)
    artists = artist_columns_of(features, [i.id for i in items])
    allowed = _limiter(features, artists, recent, tier_of, limit)
    chosen, gains = mmr_select(relevance, pool_similarity(features, pool), lambda_mmr, n,
                               allowed)
    return [replace(items[int(k)], mmr_score=float(g)) for k, g in zip(chosen, gains, strict=True)]


def _relevance(scores: np.ndarray, before: np.ndarray, tiers: np.ndarray) -> np.ndarray:
    """Each score over the best of its tier (0..1); the penalised tier, whose scores are
    zero, by the scores the items had before the penalty."""
    out = np.zeros(len(scores))
    for tier in np.unique(tiers):
        members = tiers == tier
        values = before[members] if tier == PENALISED else scores[members]
        best = values.max()
        out[members] = values / best if best > 0 else 1.0
    return out


def _limiter(features: CatalogFeatures, artists: list[np.ndarray],
             recent: Sequence[np.ndarray], tiers: np.ndarray, limit: ArtistLimit
             ) -> Callable[[np.ndarray], np.ndarray]:
    """The `allowed` mask for mmr_select: limiter-compliant items of the best open tier."""
    n_artists = features.count("artist")
    rows = np.repeat(np.arange(len(artists)), [len(a) for a in artists])
    columns = np.concatenate(artists) if artists else np.zeros(0, dtype=np.int64)
    credits = sp.csr_matrix((np.ones(len(rows)), (rows, columns)),
                            shape=(len(artists), n_artists))
    history = list(recent)

    def allowed(chosen: np.ndarray) -> np.ndarray:
        blocked = limit.blocked(history + [artists[int(k)] for k in chosen], n_artists)
        ok = (credits @ blocked.astype(np.float64)) == 0
        ok[chosen] = False
        if not ok.any():
            return ok
        return ok & (tiers == tiers[ok].min())

    return allowed
