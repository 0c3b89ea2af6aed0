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
5. Each model ranks the top 2k items for the user's seeds, seeds excluded (`k` = 10 by
   default; accuracy is measured at both cutoffs, k and 2k, everything else on the top k).
6. Metrics per user, averaged over the evaluated users (c is a cutoff, k or 2k):
   - Recall@c = hits in the top c / min(|held out|, c);
   - Precision@c = hits in the top c / c (a list shorter than c still divides by c);
   - nDCG@c: binary gains, DCG = sum over ranks r <= c of hit(r) / log2(r + 1), divided by
     the ideal DCG of min(|held out|, c) hits at the top;
   - MRR@2k: 1 / the rank of the first hit in the top 2k, 0 without one;
   - cold-start Recall@k and nDCG@k: the same, with the relevant set restricted to the
     held-out items that have no co-occurrence in the training data (no pair in the
     co-occurrence table trained on it), averaged over the users that hold out at least
     one such item; the recommended list is the same;
   - coverage (over all evaluated users, not averaged) = distinct items recommended in the
     top k / distinct items in the training data. Items a model recommends that the
     training data lacks (metadata can reach them) count too, so coverage can exceed 1;
   - diversity@k (intra-list diversity): the mean over pairs of top-k items of 1 - cosine
     of the items' profile vectors (tags in the harness), over the pairs whose items both
     have a profile, averaged over the lists that hold such a pair;
   - novelty@k: the mean self-information of the top-k items, -log2(share of training
     users who interacted with the item), an item no training user has counting as one
     user's; averaged over non-empty lists.
   Diversity and novelty need `ListMeasures` (item profiles, training popularity); without
   them they are NaN.

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

DEFAULT_K = 10
COVERAGE = "coverage"


def ndcg_name(cutoff: int) -> str:
    return f"ndcg@{cutoff}"


def recall_name(cutoff: int) -> str:
    return f"recall@{cutoff}"


def precision_name(cutoff: int) -> str:
    return f"precision@{cutoff}"


def mrr_name(cutoff: int) -> str:
    return f"mrr@{cutoff}"


def diversity_name(cutoff: int) -> str:
    return f"diversity@{cutoff}"


def novelty_name(cutoff: int) -> str:
    return f"novelty@{cutoff}"


def cold(name: str) -> str:
    return f"{name}_cold"


# The default protocol's headline metrics, by the names the promotion gates read.
NDCG = ndcg_name(DEFAULT_K)
RECALL = recall_name(DEFAULT_K)
NDCG_COLD = cold(NDCG)
RECALL_COLD = cold(RECALL)
HASH_VERSION = b"juke-evaluation-v1\n"

# seeds, items to exclude besides the seeds, k -> the top-k item ids, best first.
Model = Callable[[Sequence[str], Sequence[str], int], Sequence[str]]


@dataclass(frozen=True)
class Protocol:
    seed: int = 7
    holdout: float = 0.2
    min_items: int = 5
    k: int = DEFAULT_K

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise InvalidArgument(f"seed={self.seed!r} must be a non-negative integer")
        if not (math.isfinite(self.holdout) and 0.0 < self.holdout < 1.0):
            raise InvalidArgument(f"holdout={self.holdout!r} must be strictly between 0 and 1")
        if self.min_items < 2:
            raise InvalidArgument(f"min_items={self.min_items!r} must be >= 2 (a seed and a "
                                  "held-out item)")
        if isinstance(self.k, bool) or not isinstance(self.k, int) or self.k < 1:
            raise InvalidArgument(f"k={self.k!r} must be a positive integer")

    @property
    def cutoffs(self) -> tuple[int, int]:
        """Where accuracy is measured: k and 2k (10 and 20 by default)."""
        return self.k, 2 * self.k

    @property
    def depth(self) -> int:
        """How many items each model ranks: the deeper cutoff."""
        return self.cutoffs[-1]

    def metric_names(self) -> tuple[str, ...]:
        """Every metric `evaluate_models` reports under this protocol, in table order."""
        accuracy = [name(c) for c in self.cutoffs
                    for name in (ndcg_name, recall_name, precision_name)]
        return (*accuracy, mrr_name(self.depth), COVERAGE, diversity_name(self.k),
                novelty_name(self.k), cold(ndcg_name(self.k)), cold(recall_name(self.k)))

    def held_out_count(self, n_items: int) -> int:
        """floor(holdout * n), at least 1, leaving at least one seed."""
        return min(max(1, math.floor(self.holdout * n_items + 1e-9)), n_items - 1)


METRICS = Protocol().metric_names()  # the default protocol's


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


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int = 10) -> float:
    """hits in the top k / k."""
    return float(_hits(ranked, relevant, k).sum() / k)


def reciprocal_rank(ranked: Sequence[str], relevant: Collection[str], k: int = 20) -> float:
    """1 / the rank of the first relevant item in the top k, 0 when there is none."""
    for rank, item in enumerate(list(ranked)[:k], start=1):
        if item in relevant:
            return 1.0 / rank
    return 0.0


def intra_list_diversity(vectors: np.ndarray) -> float:
    """Mean 1 - cosine over the pairs of rows that are both non-zero (NaN: no such pair).

    Rows are the list's item profiles; an item without a profile (a zero row) says nothing
    about how alike the list is, so its pairs are left out rather than counted as unlike.
    """
    vectors = np.asarray(vectors, dtype=np.float64)
    norms = np.linalg.norm(vectors, axis=1)
    present = vectors[norms > 0] / norms[norms > 0, None]
    n = len(present)
    if n < 2:
        return float("nan")
    cosine = present @ present.T
    pairs = n * (n - 1) / 2
    return float(1.0 - (cosine.sum() - np.trace(cosine)) / 2 / pairs)


def self_information(train: Triples) -> dict[str, float]:
    """-log2(share of training users who interacted with the item), per training item."""
    data = canonical(train)
    users = len(np.unique(data.users))
    items, listeners = np.unique(data.items, return_counts=True)
    return {str(i): float(-np.log2(n / users)) for i, n in zip(items, listeners, strict=True)}


@dataclass(frozen=True)
class ListMeasures:
    """What diversity and novelty need beyond the held-out items."""

    # item ids -> their profile vectors, one row each (zero row: no profile)
    profiles: Callable[[Sequence[str]], np.ndarray]
    self_information: Mapping[str, float]  # per training item
    unseen_information: float  # an item no training user has: one user's worth

    @classmethod
    def build(cls, train: Triples, profiles: Callable[[Sequence[str]], np.ndarray]
              ) -> ListMeasures:
        users = len(np.unique(np.asarray(train.users).astype(str)))
        return cls(profiles, self_information(train), float(np.log2(max(users, 1))))

    def novelty(self, ranked: Sequence[str]) -> float:
        """Mean self-information of the list's items (NaN: empty list)."""
        if not ranked:
            return float("nan")
        return float(np.mean([self.self_information.get(i, self.unseen_information)
                              for i in ranked]))

    def diversity(self, ranked: Sequence[str]) -> float:
        return intra_list_diversity(self.profiles(ranked)) if len(ranked) > 1 else float("nan")


# ---- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalResult:
    metrics: dict[str, float]  # protocol.metric_names(); NaN where nothing was measured
    users: int
    cold_users: int
    # nDCG@k of each evaluated user, in case order: two models' results on one split pair up
    # user by user, so their difference can be judged against its own noise.
    ndcg_per_user: tuple[float, ...] = ()


def _mean(values: list[float]) -> float:
    """The mean of the measured values (NaN stands for not measured), NaN if none."""
    measured = [v for v in values if not math.isnan(v)]
    return float(np.mean(measured)) if measured else float("nan")


class _Accumulator:
    def __init__(self, protocol: Protocol, measures: ListMeasures | None) -> None:
        self.protocol = protocol
        self.measures = measures
        self.values: dict[str, list[float]] = {name: [] for name in protocol.metric_names()
                                               if name != COVERAGE}
        self.users = 0
        self.cold_users = 0
        self.recommended: set[str] = set()

    def add(self, ranked: Sequence[str], held_out: Collection[str], cold_items: Collection[str]
            ) -> None:
        k, depth = self.protocol.k, self.protocol.depth
        top = list(ranked)[:k]
        self.users += 1
        self.recommended.update(top)
        for c in self.protocol.cutoffs:
            self.values[ndcg_name(c)].append(ndcg_at_k(ranked, held_out, c))
            self.values[recall_name(c)].append(recall_at_k(ranked, held_out, c))
            self.values[precision_name(c)].append(precision_at_k(ranked, held_out, c))
        self.values[mrr_name(depth)].append(reciprocal_rank(ranked, held_out, depth))
        if self.measures is not None:
            self.values[diversity_name(k)].append(self.measures.diversity(top))
            self.values[novelty_name(k)].append(self.measures.novelty(top))
        if cold_items:
            self.cold_users += 1
            self.values[cold(ndcg_name(k))].append(ndcg_at_k(ranked, cold_items, k))
            self.values[cold(recall_name(k))].append(recall_at_k(ranked, cold_items, k))

    def result(self, train_items: Collection[str]) -> EvalResult:
        metrics = {name: _mean(values) for name, values in self.values.items()}
        metrics[COVERAGE] = coverage(self.recommended, train_items)
        return EvalResult(metrics={name: metrics[name] for name in self.protocol.metric_names()},
                          users=self.users, cold_users=self.cold_users,
                          ndcg_per_user=tuple(self.values[ndcg_name(self.protocol.k)]))


def evaluate_models(models: Mapping[str, Model], data: EvalSplit,
                    train_items: Collection[str], cooc_items: Collection[str],
                    measures: ListMeasures | None = None) -> dict[str, EvalResult]:
    """Every model on every case; user by user, so models may share per-user work."""
    if not data.cases:
        raise InvalidArgument("the split has no evaluated users (none has "
                              f"{data.protocol.min_items} or more items)")
    depth = data.protocol.depth
    totals = {name: _Accumulator(data.protocol, measures) for name in models}
    for case in data.cases:
        held = frozenset(case.held_out)
        cold_items = frozenset(i for i in held if i not in cooc_items)
        for name, model in models.items():
            ranked = list(model(case.seeds, case.seeds, depth))[:depth]
            if len(set(ranked)) != len(ranked) or set(ranked) & set(case.seeds):
                raise InvalidArgument(f"model {name!r} returned a repeated item or a seed "
                                      f"for user {case.user!r}")
            totals[name].add(ranked, held, cold_items)
    return {name: acc.result(train_items) for name, acc in totals.items()}


def evaluate(model: Model, data: EvalSplit, train_items: Collection[str],
             cooc_items: Collection[str], measures: ListMeasures | None = None) -> EvalResult:
    return evaluate_models({"model": model}, data, train_items, cooc_items,
                           measures)["model"]
