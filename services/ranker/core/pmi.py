"""Item co-occurrence with pointwise mutual information: the table type and its trainer.

Input: interactions as parallel arrays (user_id, item_id, weight): listening counts per
user and artist (Last.fm), play counts per playlist or session and track, and so on. Items
may be of any resource type; the table is at the level of whatever items it was given.

Training (`train_pmi`), deterministic for a given input and config:

1. Positives only: rows with weight <= 0 are dropped; repeated (user, item) rows add up.
2. Per-user cap: each user keeps at most `max_items_per_user` items, their heaviest (ties:
   smaller item id first), so a heavy user counts like any other instead of contributing
   the square of a long history to the pair counts.
3. X = binary user x item matrix; co-occurrence counts C = X^T X (users who have both a
   and b; the diagonal n(a) = users who have a).
4. PMI(a, b) = log(p(a, b) / (p(a) p(b))) with probabilities over users U (users with at
   least one positive): p(a, b) = C_ab / U, p(a) = n(a) / U, so PMI = log(C_ab U / (n(a)
   n(b))). Positive: a and b are shared more often than chance.
5. Pairs with C_ab < `min_count` are dropped: PMI from one or two shared users is noise
   (and its maximum, log U, goes to the rarest pairs).
6. Each item keeps its `top_k` partners, ranked by co_count (ties: higher PMI, then
   partner id) by default or by PMI (`rank_partners_by="pmi"`), and a pair is kept when
   either side keeps it, so the output is symmetric: (a, b) is present exactly when
   (b, a) is, with the same co_count and pmi_score. Pairs with PMI <= 0 are dropped unless
   `keep_nonpositive` (the ranker's signal uses positive PMI only).

Why partners are chosen by co_count while the score stays PMI: PMI is largest for the
rarest pairs, so keeping the top-K by PMI keeps mostly pairs seen a handful of times. On
Last.fm HetRec (one held-out artist per user with >= 5 artists, the others as seeds, sum of
positive PMI, recall@10): top-50 by co_count with min_count 5 scores 0.19; no pruning 0.17;
top-100 by PMI 0.14, and with min_count 2, 0.06.

The output `CooccurrenceTable` matches the ranker's `item_cooccurrence` rows (item_a,
item_b, co_count, pmi_score), sorted by (item_a, item_b), and carries `input_hash`, a
SHA-256 of the canonical interactions (sorted, summed, before the cap) so a trained table
can be tied to the data it came from; the config is recorded beside it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from services.common.errors import InvalidArgument


@dataclass(frozen=True, kw_only=True)
class PmiConfig:
    max_items_per_user: int | None = 500  # None: no cap
    min_count: int = 5
    top_k: int | None = 50  # partners kept per item (before symmetrising); None keeps all
    rank_partners_by: str = "co_count"  # co_count | pmi: how top_k chooses
    keep_nonpositive: bool = False  # keep pairs with PMI <= 0 (the signal ignores them)

    def __post_init__(self) -> None:
        if self.rank_partners_by not in ("co_count", "pmi"):
            raise InvalidArgument(
                f"rank_partners_by={self.rank_partners_by!r} is not co_count or pmi"
            )
        if self.max_items_per_user is not None and self.max_items_per_user < 1:
            raise InvalidArgument(f"max_items_per_user={self.max_items_per_user!r} must be >= 1")
        if self.min_count < 1:
            raise InvalidArgument(f"min_count={self.min_count!r} must be >= 1")
        if self.top_k is not None and self.top_k < 1:
            raise InvalidArgument(f"top_k={self.top_k!r} must be >= 1")


@dataclass(frozen=True)
class CooccurrenceTable:
    """Rows of the co-occurrence table: item_a, item_b, co_count, pmi_score (parallel)."""

    item_a: np.ndarray
    item_b: np.ndarray
    co_count: np.ndarray
    pmi_score: np.ndarray
    input_hash: str = ""
    users: int = 0
    config: PmiConfig | None = None

    def __post_init__(self) -> None:
        n = len(self.item_a)
        for name in ("item_b", "co_count", "pmi_score"):
            if len(getattr(self, name)) != n:
                raise InvalidArgument(f"{name} has {len(getattr(self, name))} rows, item_a {n}")
        if n and not np.all(np.isfinite(np.asarray(self.pmi_score, dtype=np.float64))):
            bad = int(np.flatnonzero(~np.isfinite(np.asarray(self.pmi_score, dtype=float)))[0])
            raise InvalidArgument(
                f"pmi_score of ({self.item_a[bad]!r}, {self.item_b[bad]!r}) is not finite"
            )

    @classmethod
    def from_rows(
        cls, rows: Sequence[tuple[str, str, int, float]], input_hash: str = ""
    ) -> CooccurrenceTable:
        """From database rows (item_a, item_b, co_count, pmi_score)."""
        if not rows:
            return cls.empty()
        a, b, count, score = zip(*rows, strict=True)
        return cls(
            item_a=np.array(a, dtype=object),
            item_b=np.array(b, dtype=object),
            co_count=np.array(count, dtype=np.int64),
            pmi_score=np.array(score, dtype=np.float64),
            input_hash=input_hash,
        )

    @classmethod
    def empty(cls) -> CooccurrenceTable:
        none = np.array([], dtype=object)
        return cls(none, none.copy(), np.array([], np.int64), np.array([], np.float64))

    def __len__(self) -> int:
        return len(self.item_a)

    def rows(self) -> list[tuple[str, str, int, float]]:
        return [
            (str(a), str(b), int(c), float(p))
            for a, b, c, p in zip(
                self.item_a, self.item_b, self.co_count, self.pmi_score, strict=True
            )
        ]


def interactions_hash(user_ids: np.ndarray, item_ids: np.ndarray, weights: np.ndarray) -> str:
    """SHA-256 of interactions made canonical: ids as text, sorted, duplicates summed."""
    return hash_canonical(*canonical_interactions(user_ids, item_ids, weights))


def hash_canonical(users: np.ndarray, items: np.ndarray, summed: np.ndarray) -> str:
    digest = hashlib.sha256()
    digest.update(b"juke-interactions-v1\n")
    for part in (users, items):
        digest.update("\x1f".join(part.tolist()).encode())
        digest.update(b"\x1e")
    digest.update(np.ascontiguousarray(summed, dtype="<f8").tobytes())
    return digest.hexdigest()


def train_pmi(
    user_ids: Sequence[object] | np.ndarray,
    item_ids: Sequence[object] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    config: PmiConfig | None = None,
) -> CooccurrenceTable:
    """Train the co-occurrence table from interactions (see the module docstring)."""
    config = config or PmiConfig()
    users, items, summed = canonical_interactions(
        np.asarray(user_ids), np.asarray(item_ids), np.asarray(weights)
    )
    input_hash = hash_canonical(users, items, summed)
    positive = summed > 0
    users, items, summed = users[positive], items[positive], summed[positive]

    user_codes = np.unique(users, return_inverse=True)[1]
    item_vocab, item_codes = np.unique(items, return_inverse=True)
    keep = per_user_cap(user_codes, item_codes, summed, config.max_items_per_user)
    n_users = int(user_codes.max()) + 1 if len(user_codes) else 0
    x = sp.csr_matrix(
        (np.ones(int(keep.sum())), (user_codes[keep], item_codes[keep])),
        shape=(n_users, len(item_vocab)),
    )
    counts = sp.csr_matrix(x.T @ x).tocoo()
    item_users = np.asarray(x.sum(axis=0)).ravel()

    a, b, c = counts.row, counts.col, counts.data
    pairs = (a != b) & (c >= config.min_count)
    a, b, c = a[pairs], b[pairs], c[pairs]
    log_users = np.log(item_users, out=np.zeros_like(item_users), where=item_users > 0)
    # (log n(a) + log n(b)) adds in either order to the same float: PMI stays symmetric.
    pmi = np.log(c * float(max(n_users, 1))) - (log_users[a] + log_users[b])
    if not config.keep_nonpositive:
        positive_pmi = pmi > 0
        a, b, c, pmi = a[positive_pmi], b[positive_pmi], c[positive_pmi], pmi[positive_pmi]
    a, b, c, pmi = _top_k_symmetric(
        a, b, c, pmi, len(item_vocab), config.top_k, by_pmi=config.rank_partners_by == "pmi"
    )
    return CooccurrenceTable(
        item_a=item_vocab[a].astype(object),
        item_b=item_vocab[b].astype(object),
        co_count=c.astype(np.int64),
        pmi_score=pmi,
        input_hash=input_hash,
        users=n_users,
        config=config,
    )


def canonical_interactions(
    user_ids: np.ndarray, item_ids: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item) sorted and unique, ids as str, weights summed over repeats."""
    if not (len(user_ids) == len(item_ids) == len(weights)):
        raise InvalidArgument(
            f"interaction arrays differ in length: {len(user_ids)} users, "
            f"{len(item_ids)} items, {len(weights)} weights"
        )
    values = np.asarray(weights, dtype=np.float64)
    if not np.all(np.isfinite(values)):
        bad = int(np.flatnonzero(~np.isfinite(values))[0])
        raise InvalidArgument(
            f"weight {values[bad]!r} of ({user_ids[bad]!r}, {item_ids[bad]!r}) is not finite"
        )
    users = np.asarray(user_ids).astype(str)
    items = np.asarray(item_ids).astype(str)
    if len(users) == 0:
        return users, items, values
    order = np.lexsort((items, users))
    users, items, values = users[order], items[order], values[order]
    starts = np.flatnonzero(
        np.concatenate(([True], (users[1:] != users[:-1]) | (items[1:] != items[:-1])))
    )
    return users[starts], items[starts], np.add.reduceat(values, starts)


def per_user_cap(
    user_codes: np.ndarray, item_codes: np.ndarray, weights: np.ndarray, cap: int | None
) -> np.ndarray:
    """Mask of the rows kept: each user's `cap` heaviest items (ties: smaller item id)."""
    if cap is None or len(user_codes) == 0:
        return np.ones(len(user_codes), dtype=bool)
    order = np.lexsort((item_codes, -weights, user_codes))
    sorted_users = user_codes[order]
    first = np.concatenate(([True], sorted_users[1:] != sorted_users[:-1]))
    group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - group_start
    keep = np.zeros(len(order), dtype=bool)
    keep[order] = rank < cap
    return keep


def _top_k_symmetric(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray,
    pmi: np.ndarray,
    n_items: int,
    top_k: int | None,
    *,
    by_pmi: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Keep each item's top_k partners; a pair survives when either side keeps it.

    Input pairs come in both directions with equal values, so "either side keeps it" is
    the union of the kept (a, b) and their mirrors. Output sorted by (a, b).
    """
    if top_k is not None and len(a):
        keys = (b, -c, -pmi, a) if by_pmi else (b, -pmi, -c, a)
        order = np.lexsort(keys)
        sorted_a = a[order]
        first = np.concatenate(([True], sorted_a[1:] != sorted_a[:-1]))
        group_start = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
        kept = np.zeros(len(order), dtype=bool)
        kept[order] = (np.arange(len(order)) - group_start) < top_k
        pair_key = a.astype(np.int64) * n_items + b
        mirrored = b[kept].astype(np.int64) * n_items + a[kept]
        keep = kept | np.isin(pair_key, mirrored)
        a, b, c, pmi = a[keep], b[keep], c[keep], pmi[keep]
    order = np.lexsort((b, a))
    return a[order], b[order], c[order], pmi[order]
