"""Offline evaluation protocol and metrics (pure: no I/O, no ranker dependency).

Protocol (`Protocol()` is the default; every number below is one of its fields):

1. Interactions are (user, item, weight) triples; repeated (user, item) rows add up and rows
   whose summed weight is <= 0 are dropped (a listening count of 0 is no interaction).
2. Evaluated users are those with at least `min_items` = 5 distinct items (or a seeded
   sample of them, `split(..., users=N)`, for a quicker run).
3. Per evaluated user, `holdout` = 20% of their items (floor, at least 1) are held out, the
   rest are the seeds. The choice is random but seeded per user: the items, sorted by id,
   are permuted by `numpy.random.default_rng([seed, <64 bits of sha256(user id)>])`, so a
   user's split depends only on the seed and their own items, not on which other users
   are in the data or evaluated.
4. Training data = every interaction except the held-out ones (seeds of evaluated users and
   all interactions of the other users). Models are trained on it only; their tuning uses a
   validation split carved from it (`validation_split`), never the held-out items.
5. Each model ranks the top `k` = 10 items for the user's seeds, seeds excluded.
6. Metrics per user, averaged over the evaluated users:
   - Recall@k = hits / min(|held out|, k);
   - nDCG@k: binary gains, DCG = sum over ranks r <= k of hit(r) / log2(r + 1), divided by
     the ideal DCG of min(|held out|, k) hits at the top;
   - cold-start Recall@k and nDCG@k: the same, with the relevant set restricted to the
     held-out items that have no co-occurrence in the training data (no pair in the
     co-occurrence table trained on it), averaged over the users that hold out at least
     one such item; the recommended list is the same;
   - coverage (over all evaluated users, not averaged) = distinct recommended items /
     distinct items in the training data. Items a model recommends that the training data
     lacks (metadata can reach them) count too, so coverage can exceed 1.

`dataset_hash` identifies the exact split and protocol, so two models are compared on the
same data only when their hashes match.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from services.common.errors import InvalidArgument

NDCG = "ndcg@10"
RECALL = "recall@10"
COVERAGE = "coverage"
NDCG_COLD = "ndcg@10_cold"
RECALL_COLD = "recall@10_cold"
METRICS = (NDCG, RECALL, COVERAGE, NDCG_COLD, RECALL_COLD)
HASH_VERSION = b"juke-evaluation-v1\n"

# seeds, items to exclude besides the seeds, k -> the top-k item ids, best first.
Model = Callable[[Sequence[str], Sequence[str], int], Sequence[str]]


@dataclass(frozen=True)
class Protocol:
    seed: int = 7
    holdout: float = 0.2
    min_items: int = 5
    k: int = 10

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidArgument(f"seed={self.seed!r} must be a non-negative integer")
        if not (math.isfinite(self.holdout) and 0.0 < self.holdout < 1.0):
            raise InvalidArgument(f"holdout={self.holdout!r} must be strictly between 0 and 1")
        if self.min_items < 2:
            raise InvalidArgument(f"min_items={self.min_items!r} must be >= 2 (a seed and a "
                                  "held-out item)")
        if self.k != 10:
            # The metric names (ndcg@10, ...) and the gates are defined at 10.
            raise InvalidArgument(f"k={self.k!r}: the protocol is defined at k = 10")

    def held_out_count(self, n_items: int) -> int:
        """floor(holdout * n), at least 1, leaving at least one seed."""
        return min(max(1, math.floor(self.holdout * n_items + 1e-9)), n_items - 1)


@dataclass(frozen=True)
class Triples:
    """Interactions as parallel arrays; ids are compared as text."""

    users: np.ndarray
    items: np.ndarray
    weights: np.ndarray

    def __post_init__(self) -> None:
        if not len(self.users) == len(self.items) == len(self.weights):
            raise InvalidArgument(f"interaction arrays differ in length: {len(self.users)} "
                                  f"users, {len(self.items)} items, {len(self.weights)} weights")

    def __len__(self) -> int:
        return len(self.users)

    def item_set(self) -> frozenset[str]:
        return frozenset(str(i) for i in np.unique(self.items.astype(str)))


@dataclass(frozen=True)
class UserCase:
    user: str
    seeds: tuple[str, ...]  # sorted
    held_out: tuple[str, ...]  # sorted


@dataclass(frozen=True)
class EvalSplit:
    protocol: Protocol
    train: Triples  # canonical: sorted by (user, item), summed, positive
    cases: tuple[UserCase, ...]  # sorted by user


def canonical(triples: Triples) -> Triples:
    """Ids as text, sorted by (user, item), repeats summed, non-positive sums dropped."""
    users = np.asarray(triples.users).astype(str)
    items = np.asarray(triples.items).astype(str)
    weights = np.asarray(triples.weights, dtype=np.float64)
    if not np.all(np.isfinite(weights)):
        bad = int(np.flatnonzero(~np.isfinite(weights))[0])
        raise InvalidArgument(f"weight {weights[bad]!r} of ({users[bad]!r}, {items[bad]!r}) "
                              "is not finite")
    if len(users) == 0:
        return Triples(users, items, weights)
    order = np.lexsort((items, users))
    users, items, weights = users[order], items[order], weights[order]
    starts = np.flatnonzero(np.concatenate(
        ([True], (users[1:] != users[:-1]) | (items[1:] != items[:-1]))))
    summed = np.add.reduceat(weights, starts)
    keep = summed > 0
    return Triples(users[starts][keep], items[starts][keep], summed[keep])


def user_rng(seed: int, user: str) -> np.random.Generator:
    """The generator of one user's split: depends on the seed and the user id only."""
    key = int.from_bytes(hashlib.sha256(user.encode()).digest()[:8], "little")
    return np.random.default_rng([seed, key])


def eligible_users(interactions: Triples, protocol: Protocol) -> list[str]:
    """Users with at least `min_items` distinct items (positive summed weight), sorted."""
    data = canonical(interactions)
    users, counts = np.unique(data.users, return_counts=True)
    return [str(u) for u in users[counts >= protocol.min_items]]


def sample_users(users: Sequence[str], count: int | None, seed: int) -> list[str]:
    """A seeded sample of `count` users (all when None or >= len), sorted."""
    if count is None or count >= len(users):
        return sorted(users)
    if count < 1:
        raise InvalidArgument(f"users={count!r} must be >= 1")
    rng = np.random.default_rng(seed)
    return sorted(users[i] for i in rng.choice(len(users), size=count, replace=False))


def split(interactions: Triples, protocol: Protocol | None = None,
          users: int | None = None) -> EvalSplit:
    """Hold out a seeded share of each evaluated user's items (see the module docstring).

    `users`: evaluate a seeded sample of that many eligible users (None: all of them); the
    others keep all their interactions in the training data.
    """
    protocol = protocol or Protocol()
    data = canonical(interactions)
    chosen = set(sample_users(eligible_users(data, protocol), users,
                              derived_seed(protocol.seed, "users")))
    in_train = np.ones(len(data), dtype=bool)
    cases: list[UserCase] = []
    bounds = np.flatnonzero(np.concatenate(
        ([True], data.users[1:] != data.users[:-1], [True]))) if len(data) else np.array([0])
    for start, stop in itertools.pairwise(bounds):
        user = str(data.users[start])
        if user not in chosen:
            continue
        n = stop - start
        order = user_rng(protocol.seed, user).permutation(n)
        held = start + order[: protocol.held_out_count(n)]
        in_train[held] = False
        mine = data.items[start:stop]
        kept = in_train[start:stop]
        cases.append(UserCase(user, tuple(sorted(mine[kept].tolist())),
                              tuple(sorted(mine[~kept].tolist()))))
    train = Triples(data.users[in_train], data.items[in_train], data.weights[in_train])
    return EvalSplit(protocol, train, tuple(cases))


def short_history(data: EvalSplit, plays: int) -> EvalSplit:
    """The same test users as if each had listened to only `plays` of their seeds.

    A seeded choice of `plays` seeds per user stays (all of them when fewer); held-out items
    are unchanged. The training data is unchanged too: a short-history user joins a
    population with full histories, and removing every test user's other plays at once would
    leave no population (nearly every HetRec user is a test user); a user's other plays are
    one of ~1,900 users' in the counts the models learn.
    """
    if plays < 1:
        raise InvalidArgument(f"plays={plays!r} must be >= 1")
    seed = derived_seed(data.protocol.seed, "short-history")
    cases: list[UserCase] = []
    for case in data.cases:
        order = user_rng(seed, case.user).permutation(len(case.seeds))
        kept = sorted(case.seeds[i] for i in order[:plays])
        cases.append(replace(case, seeds=tuple(kept)))
    return EvalSplit(data.protocol, data.train, tuple(cases))


def validation_split(train: Triples, protocol: Protocol, users: int | None = None
                     ) -> EvalSplit:
    """A split carved from training data only (for tuning), with seeds of its own.

    `users`: hold out from a seeded sample of that many users only, so the validation
    co-occurrence table loses little data and stays close to the one tested.
    """
    return split(train, replace(protocol, seed=derived_seed(protocol.seed, "validation")), users)


def derived_seed(seed: int, purpose: str) -> int:
    digest = hashlib.sha256(f"{seed}:{purpose}".encode()).digest()
    return int.from_bytes(digest[:4], "little")


def dataset_hash(data: EvalSplit) -> str:
    """SHA-256 of the protocol, the training triples and every case's seeds and held out."""
    digest = hashlib.sha256(HASH_VERSION)
    digest.update(json.dumps(asdict(data.protocol), sort_keys=True).encode() + b"\n")
    for part in (data.train.users, data.train.items):
        digest.update("\x1f".join(part.astype(str).tolist()).encode() + b"\x1e")
    digest.update(np.ascontiguousarray(data.train.weights, dtype="<f8").tobytes() + b"\x1e")
    for case in data.cases:
        digest.update("\x1f".join((case.user, "\x1d".join(case.seeds),
                                   "\x1d".join(case.held_out))).encode() + b"\x1e")
    return digest.hexdigest()


# ---- metrics ---------------------------------------------------------------------------------


def _hits(ranked: Sequence[str], relevant: Collection[str], k: int) -> np.ndarray:
    return np.array([item in relevant for item in list(ranked)[:k]], dtype=np.float64)


def recall_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """hits in the top k / min(|relevant|, k)."""
    if not relevant:
        raise InvalidArgument("recall needs at least one relevant item")
    return float(_hits(ranked, relevant, k).sum() / min(len(relevant), k))


def ndcg_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """Binary-gain DCG over the top k / the ideal DCG of min(|relevant|, k) hits."""
    if not relevant:
        raise InvalidArgument("nDCG needs at least one relevant item")
    hits = _hits(ranked, relevant, k)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(len(relevant), k)].sum()
    return float((hits * discounts[: len(hits)]).sum() / ideal)


def coverage(recommended: Iterable[str], train_items: Collection[str]) -> float:
    """distinct recommended items / distinct training items."""
    if not train_items:
        raise InvalidArgument("coverage needs at least one training item")
    return len(set(recommended)) / len(train_items)


# ---- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalResult:
    metrics: dict[str, float]  # METRICS; cold metrics are NaN when no user has a cold item
    users: int
    cold_users: int


class _Accumulator:
    def __init__(self) -> None:
        self.ndcg: list[float] = []
        self.recall: list[float] = []
        self.ndcg_cold: list[float] = []
        self.recall_cold: list[float] = []
        self.recommended: set[str] = set()

    def add(self, ranked: Sequence[str], held_out: Collection[str], cold: Collection[str],
            k: int) -> None:
        self.recommended.update(ranked[:k])
        self.ndcg.append(ndcg_at_k(ranked, held_out, k))
        self.recall.append(recall_at_k(ranked, held_out, k))
        if cold:
            self.ndcg_cold.append(ndcg_at_k(ranked, cold, k))
            self.recall_cold.append(recall_at_k(ranked, cold, k))

    def result(self, train_items: Collection[str]) -> EvalResult:
        def mean(values: list[float]) -> float:
            return float(np.mean(values)) if values else float("nan")

        return EvalResult(
            metrics={NDCG: mean(self.ndcg), RECALL: mean(self.recall),
                     COVERAGE: coverage(self.recommended, train_items),
                     NDCG_COLD: mean(self.ndcg_cold), RECALL_COLD: mean(self.recall_cold)},
            users=len(self.ndcg), cold_users=len(self.ndcg_cold))


def evaluate_models(models: Mapping[str, Model], data: EvalSplit,
                    train_items: Collection[str], cooc_items: Collection[str]
                    ) -> dict[str, EvalResult]:
    """Every model on every case; user by user, so models may share per-user work."""
    if not data.cases:
        raise InvalidArgument("the split has no evaluated users (none has "
                              f"{data.protocol.min_items} or more items)")
    k = data.protocol.k
    totals = {name: _Accumulator() for name in models}
    for case in data.cases:
        held = frozenset(case.held_out)
        cold = frozenset(i for i in held if i not in cooc_items)
        for name, model in models.items():
            ranked = list(model(case.seeds, case.seeds, k))
            if len(set(ranked)) != len(ranked) or set(ranked) & set(case.seeds):
                raise InvalidArgument(f"model {name!r} returned a repeated item or a seed "
                                      f"for user {case.user!r}")
            totals[name].add(ranked, held, cold, k)
    return {name: acc.result(train_items) for name, acc in totals.items()}


def evaluate(model: Model, data: EvalSplit, train_items: Collection[str],
             cooc_items: Collection[str]) -> EvalResult:
    return evaluate_models({"model": model}, data, train_items, cooc_items)["model"]
