"""The learned second stage: LambdaMART reranks the hybrid's top candidates, explained exactly.

The first stage (hybrid.py, MMR lambda 1) hands over its best N candidates with their
per-signal scores and per-rule explanations. Each (request, candidate) pair becomes one row
of FEATURES, each feature belonging to one GROUPS entry:

- content, metadata, cooccurrence, collaborative: the candidate's normalised signal score
  and the raw points of each of the signal's rules (same artist, same release, shared tags,
  shared work, PMI, ALS, cosine), read from the first stage's explanation;
- popularity: log(1 + training listeners) of the candidate (an item feature the caller
  supplies; unknown items have none);
- seed_types: the share of the seeds of each resource type and log(1 + number of seeds),
  the same for every candidate of a request (they act through interactions);
- first_stage: the hybrid's final score relative to the request's best, and the rank.

A LightGBM booster (objective lambdarank) scores the rows. It is an ensemble: `members`
boosters trained alike but with their own seeds (and, with more than one, each round on a
seeded share of the rows) are merged into one booster whose trees are all of theirs with
their leaf values divided by the member count, so it predicts their average; averaging
removes much of the variance of a ranker trained on a few thousand queries, and since
TreeSHAP is additive over trees the merged booster's explanations are exactly the members'
averaged. Explanations are exact: TreeSHAP
(`predict(..., pred_contrib=True)`) gives per feature a contribution and a bias column that
sum to the booster's raw score up to rounding; the contributions are summed per group, the
bias is the `reranker_bias` term, and `final_score` is defined as the sum of those grouped
terms, so an item's explanation adds up to its final score to float64 summation rounding,
and the order is that of final_score. A SHAP term has no weight: each is reported with
weight 1, `normalised` equal to its contribution and `raw` the group's lead feature value.

`Reranker.version` is `lambdamart-<first 12 hex of sha256 of the model text>`, the name
explanations carry. NumPy and LightGBM only: no I/O (the model text is read and written by
callers).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import lightgbm as lgb
import numpy as np

from services.common.errors import InvalidArgument
from services.common.resource_types import RESOURCE_TYPES
from services.ranker.core.hybrid import Contribution, Recommendation, ScoredItem
from services.ranker.core.signals import COLLABORATIVE, CONTENT, COOCCURRENCE, METADATA

POPULARITY = "popularity"
SEED_TYPES = "seed_types"
FIRST_STAGE = "first_stage"
BIAS = "reranker_bias"
GROUPS = (CONTENT, METADATA, COOCCURRENCE, COLLABORATIVE, POPULARITY, SEED_TYPES, FIRST_STAGE)
RULE = "lambdamart"  # the `rule` of every reranker contribution
DEFAULT_CANDIDATES = 100  # first-stage candidates the reranker sees


@dataclass(frozen=True)
class Feature:
    name: str
    group: str


# The order is the model's column order: changing it invalidates trained models.
_SIGNAL_FEATURES = (
    Feature("content_score", CONTENT), Feature("cosine", CONTENT),
    Feature("metadata_score", METADATA), Feature("same_artist", METADATA),
    Feature("same_album", METADATA), Feature("shared_tag", METADATA),
    Feature("shared_work", METADATA),
    Feature("cooccurrence_score", COOCCURRENCE), Feature("pmi", COOCCURRENCE),
    Feature("collaborative_score", COLLABORATIVE), Feature("als", COLLABORATIVE),
)
_RULES = ("cosine", "same_artist", "same_album", "shared_tag", "shared_work", "pmi", "als")
FEATURES = (
    *_SIGNAL_FEATURES,
    Feature("log_listeners", POPULARITY),
    *(Feature(f"seed_share_{t}", SEED_TYPES) for t in RESOURCE_TYPES),
    Feature("log_seeds", SEED_TYPES),
    Feature("relative_final", FIRST_STAGE), Feature("first_stage_rank", FIRST_STAGE),
)
FEATURE_NAMES = tuple(f.name for f in FEATURES)
_GROUP_OF_FEATURE = np.array([GROUPS.index(f.group) for f in FEATURES])
# The feature a group's contribution reports as `raw` (its first listed).
_LEAD = {g: next(k for k, f in enumerate(FEATURES) if f.group == g) for g in GROUPS}


def candidate_features(items: Sequence[ScoredItem], seed_types: Sequence[str],
                       listeners: Mapping[str, float]) -> np.ndarray:
    """(len(items), len(FEATURES)) float64 rows for first-stage items in first-stage order.

    `listeners`: item id -> training listeners (popularity); an id it lacks counts 0."""
    out = np.zeros((len(items), len(FEATURES)))
    if not items:
        return out
    column = {name: k for k, name in enumerate(FEATURE_NAMES)}
    best = max(item.final_score for item in items)
    shares = _seed_shares(seed_types)
    for row, item in enumerate(items):
        values = out[row]
        values[column["content_score"]] = item.content_score
        values[column["metadata_score"]] = item.metadata_score
        values[column["cooccurrence_score"]] = item.cooccurrence_score
        values[column["collaborative_score"]] = item.collaborative_score
        for c in item.explanation:
            if c.rule in _RULES:
                values[column[c.rule]] += c.raw
        values[column["log_listeners"]] = math.log1p(max(listeners.get(item.id, 0.0), 0.0))
        for t, share in shares.items():
            values[column[f"seed_share_{t}"]] = share
        values[column["log_seeds"]] = math.log1p(len(seed_types))
        values[column["relative_final"]] = item.final_score / best if best > 0 else 0.0
        values[column["first_stage_rank"]] = row
    return out


def _seed_shares(seed_types: Sequence[str]) -> dict[str, float]:
    n = max(len(seed_types), 1)
    return {t: sum(1 for s in seed_types if s == t) / n for t in RESOURCE_TYPES}


@dataclass(frozen=True)
class TrainingParams:
    """LambdaMART settings; deterministic single-threaded training by default.

    The defaults were chosen on validation queries (2-fold cross-validation over the
    validation users of Last.fm HetRec): five members of 150 rounds each, every round on a
    seeded 80% of the rows, beat one booster early-stopped on a fifth of the queries."""

    rounds: int = 150  # per member; the most kept when early stopping
    learning_rate: float = 0.02
    num_leaves: int = 15
    min_data_in_leaf: int = 50
    feature_fraction: float = 0.9
    lambda_l2: float = 1.0
    early_stopping: int = 0  # rounds without a gain on early-stopping queries; 0: none
    eval_at: int = 10
    seed: int = 7
    members: int = 5  # boosters averaged (seeds seed, seed + 1, ...)
    bagging_fraction: float = 0.8  # share of rows each round sees, with members > 1

    def __post_init__(self) -> None:
        if self.members < 1 or self.rounds < 1:
            raise InvalidArgument(f"members={self.members} and rounds={self.rounds} must "
                                  "be >= 1")
        if not 0.0 < self.bagging_fraction <= 1.0:
            raise InvalidArgument(f"bagging_fraction={self.bagging_fraction} must lie in "
                                  "(0, 1]")

    def lightgbm(self, member: int = 0) -> dict[str, object]:
        """The LightGBM parameters of ensemble member `member` (0: the only one when
        members is 1, exactly the single booster's parameters)."""
        params: dict[str, object] = {
            "objective": "lambdarank", "metric": "ndcg", "eval_at": [self.eval_at],
            "learning_rate": self.learning_rate, "num_leaves": self.num_leaves,
            "min_data_in_leaf": self.min_data_in_leaf,
            "feature_fraction": self.feature_fraction, "lambda_l2": self.lambda_l2,
            "seed": self.seed + member, "deterministic": True, "num_threads": 1,
            "force_row_wise": True, "verbosity": -1,
        }
        if self.members > 1 and self.bagging_fraction < 1.0:
            params.update(bagging_fraction=self.bagging_fraction, bagging_freq=1)
        return params


@dataclass(frozen=True)
class RankingSet:
    """Training queries: rows of FEATURES, binary labels, and the rows per query in order."""

    features: np.ndarray
    labels: np.ndarray
    groups: np.ndarray  # rows per query, summing to len(labels)

    def __post_init__(self) -> None:
        if self.features.ndim != 2 or self.features.shape[1] != len(FEATURES):
            raise InvalidArgument(f"features have shape {self.features.shape}, expected "
                                  f"(rows, {len(FEATURES)})")
        if int(np.sum(self.groups)) != len(self.labels) or len(self.labels) != len(
                self.features):
            raise InvalidArgument(f"{len(self.features)} rows, {len(self.labels)} labels and "
                                  f"groups summing to {int(np.sum(self.groups))} differ")

    @property
    def queries(self) -> int:
        return len(self.groups)

    def take(self, queries: np.ndarray) -> RankingSet:
        """The queries at the given positions (ascending), rows in their order."""
        starts = np.concatenate(([0], np.cumsum(self.groups)[:-1]))
        rows = np.concatenate([np.arange(starts[q], starts[q] + self.groups[q])
                               for q in queries]) if len(queries) else np.zeros(0, np.int64)
        return RankingSet(self.features[rows], self.labels[rows], self.groups[queries])


@dataclass(frozen=True)
class Scored:
    """Scores of candidate rows and their exact decomposition by group."""

    final: np.ndarray  # (n,) the sum of each row of `contributions`
    contributions: np.ndarray  # (n, len(GROUPS) + 1): GROUPS then reranker_bias
    raw: np.ndarray  # (n,) the booster's own raw prediction (equal to final to rounding)


class Reranker:
    """A trained LambdaMART booster over FEATURES."""

    def __init__(self, booster: lgb.Booster) -> None:
        names = tuple(booster.feature_name())
        if names != FEATURE_NAMES:
            raise InvalidArgument(f"reranker model features {list(names)} are not "
                                  f"{list(FEATURE_NAMES)}")
        self.booster = booster
        self.text = booster.model_to_string()
        self.version = "lambdamart-" + hashlib.sha256(self.text.encode()).hexdigest()[:12]

    @classmethod
    def train(cls, train: RankingSet, params: TrainingParams | None = None,
              valid: RankingSet | None = None) -> Reranker:
        """LambdaMART on `train`, `params.members` boosters merged into one (module
        docstring); with `valid` and `params.early_stopping` > 0, each member stops once
        `valid`'s nDCG stops improving for that many rounds and keeps its best round."""
        params = params or TrainingParams()
        if train.queries == 0 or not np.any(train.labels > 0):
            raise InvalidArgument("the reranker's training set has no relevant candidate")
        data = lgb.Dataset(train.features, train.labels, group=train.groups,
                           feature_name=list(FEATURE_NAMES), free_raw_data=False,
                           params={"verbosity": -1})
        stopping = valid is not None and valid.queries > 0 and params.early_stopping > 0
        texts = []
        for member in range(params.members):
            callbacks: list[Callable[..., Any]] = []
            valid_sets = []
            if stopping:
                assert valid is not None
                valid_sets = [lgb.Dataset(valid.features, valid.labels, group=valid.groups,
                                          reference=data)]
                callbacks.append(lgb.early_stopping(params.early_stopping, verbose=False))
            booster = lgb.train(params.lightgbm(member), data, num_boost_round=params.rounds,
                                valid_sets=valid_sets, callbacks=callbacks)
            texts.append(booster.model_to_string(
                num_iteration=booster.best_iteration if stopping else None))
        text = texts[0] if len(texts) == 1 else averaged_model(texts)
        return cls(lgb.Booster(model_str=text))

    @classmethod
    def from_text(cls, text: str) -> Reranker:
        try:
            booster = lgb.Booster(model_str=text)
        except lgb.basic.LightGBMError as error:
            raise InvalidArgument(f"not a LightGBM model: {error}") from error
        return cls(booster)

    def score(self, features: np.ndarray) -> Scored:
        """Grouped SHAP contributions per row; `final` is their row sum."""
        features = np.asarray(features, dtype=np.float64)
        if features.ndim != 2 or features.shape[1] != len(FEATURES):
            raise InvalidArgument(f"features have shape {features.shape}, expected "
                                  f"(rows, {len(FEATURES)})")
        if not len(features):
            return Scored(np.zeros(0), np.zeros((0, len(GROUPS) + 1)), np.zeros(0))
        shap = np.asarray(self.booster.predict(features, pred_contrib=True, num_threads=1),
                          dtype=np.float64)
        grouped = np.zeros((len(features), len(GROUPS) + 1))
        for k, g in enumerate(_GROUP_OF_FEATURE):
            grouped[:, g] += shap[:, k]
        grouped[:, -1] = shap[:, -1]
        return Scored(grouped.sum(axis=1), grouped, self.predict(features))

    def rerank(self, first: Recommendation, seed_types: Sequence[str],
               listeners: Mapping[str, float], limit: int) -> Recommendation:
        """The best `limit` of the first stage's items by the booster's score (ties:
        first-stage order), each explained by its grouped contributions and listed by
        final_score (see `reorder`)."""
        reordered = self.reorder(first, seed_types, listeners)
        out = reordered.explained(reordered.items[:limit])
        order = np.lexsort((np.arange(len(out)), -np.array([i.final_score for i in out])))
        return replace(first, items=tuple(out[k] for k in order))

    def reorder(self, first: Recommendation, seed_types: Sequence[str],
                listeners: Mapping[str, float],
                explain: Callable[[Sequence[ScoredItem]], Sequence[ScoredItem]] | None = None
                ) -> Reordered:
        """Every first-stage item by the booster's raw score (ties: first-stage order), not
        yet explained: for a caller that keeps some of them (`rerank`, or a playlist
        continuation's limiter and MMR) and then explains those only.

        TreeSHAP costs far more than a prediction (about 50 times at 300 trees), so items
        are ordered by the raw prediction and only the kept are explained; their final_score
        then equals the raw score to rounding. The features need only each rule's raw
        points; `explain`, where the first stage's items carry no more (a shortlist's), gives
        the kept ones their full first-stage explanations, whose seeds each group's term
        names."""
        features = candidate_features(first.items, seed_types, listeners)
        raw = self.predict(features)
        order = np.lexsort((np.arange(len(first.items)), -raw))
        items = tuple(replace(first.items[k], final_score=float(raw[k]),
                              mmr_score=float(raw[k])) for k in order)
        return Reordered(self, items, {i.id: features[k] for i, k in zip(items, order,
                                                                         strict=True)},
                         {i.id: first.items[k] for i, k in zip(items, order, strict=True)},
                         explain)

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The booster's raw scores (no explanation). One thread, here and for TreeSHAP: a
        serving process answers one request per core, and OpenMP threads spinning beside
        the other requests cost more than they save on a hundred rows."""
        if not len(features):
            return np.zeros(0)
        return np.asarray(self.booster.predict(np.asarray(features, dtype=np.float64),
                                               raw_score=True, num_threads=1),
                          dtype=np.float64)


_TREE_HEADER = re.compile(r"^Tree=\d+$", re.MULTILINE)
_SCALED_KEYS = ("leaf_value=", "internal_value=")


def averaged_model(texts: Sequence[str]) -> str:
    """One LightGBM model text predicting the average of the models `texts` (same
    features and objective): every model's trees in turn, renumbered, their leaf and
    internal values divided by the model count (`tree_sizes` recomputed). The first model
    gives the header and the trailer (parameters, importances)."""
    if not texts:
        raise InvalidArgument("no model to average")
    scale = float(len(texts))
    trees: list[str] = []
    for text in texts:
        start, end = text.find("\nTree="), text.find("end of trees")
        if start < 0 or end < 0:
            raise InvalidArgument("not a LightGBM tree model text")
        body = text[start + 1:end]
        trees.extend(b.strip("\n") for b in re.split(r"\n(?=Tree=\d+\n)", body)
                     if b.strip())
    blocks = [_scaled_tree(tree, n, scale) + "\n\n\n" for n, tree in enumerate(trees)]
    first = texts[0]
    head = first[:first.find("\nTree=") + 1]
    sizes = " ".join(str(len(block)) for block in blocks)
    head, count = re.subn(r"(?m)^tree_sizes=.*$", f"tree_sizes={sizes}", head)
    if count != 1:
        raise InvalidArgument("the model text has no tree_sizes line")
    return head + "".join(blocks) + first[first.find("end of trees"):]


def _scaled_tree(tree: str, number: int, scale: float) -> str:
    lines = tree.split("\n")
    if not _TREE_HEADER.match(lines[0]):
        raise InvalidArgument(f"unexpected tree header {lines[0]!r}")
    lines[0] = f"Tree={number}"
    for k, line in enumerate(lines):
        key = next((key for key in _SCALED_KEYS if line.startswith(key)), None)
        if key is not None:
            # repr is the shortest text that reads back as the same float64
            lines[k] = key + " ".join(repr(float(v) / scale)
                                      for v in line[len(key):].split())
    return "\n".join(lines)


def _explained(item: ScoredItem, features: np.ndarray, final: float,
               contributions: np.ndarray, version: str) -> ScoredItem:
    terms = []
    for g, name in enumerate((*GROUPS, BIAS)):
        value = float(contributions[g])
        raw = float(features[_LEAD[name]]) if name in _LEAD else 0.0
        seeds = tuple(dict.fromkeys(s for c in item.explanation if c.signal == name
                                    for s in c.seed_ids))
        terms.append(Contribution(signal=name, rule=RULE, raw=raw, normalised=value,
                                  weight=1.0, contribution=value,
                                  reason=_reason(name, value, version), seed_ids=seeds))
    return replace(item, final_score=float(final), mmr_score=float(final),
                   explanation=tuple(terms))


def _reason(group: str, value: float, version: str) -> str:
    if group == BIAS:
        return f"{version}: the model's base score"
    what = {POPULARITY: "its popularity", SEED_TYPES: "the kinds of seeds",
            FIRST_STAGE: "its hybrid first-stage score and rank"}.get(group,
                                                                      f"the {group} signal")
    direction = "raised" if value >= 0 else "lowered"
    return f"{version}: {what} {direction} the score by {abs(value):.3g}"


@dataclass(frozen=True)
class Reordered:
    """A first stage reordered by a reranker (`Reranker.reorder`): `items` by raw score,
    their first-stage explanations, and how to explain the ones a caller keeps."""

    reranker: Reranker
    items: tuple[ScoredItem, ...]
    _features: Mapping[str, np.ndarray]
    _first: Mapping[str, ScoredItem]
    _explain: Callable[[Sequence[ScoredItem]], Sequence[ScoredItem]] | None

    def by_relevance(self) -> tuple[ScoredItem, ...]:
        """`items` with final and MMR scores exp(raw - best raw): in (0, 1], the best at 1,
        the order kept. A raw LambdaMART score has no scale and may be negative, and a
        caller that picks by relevance (an artist limiter, MMR) reads a score at or below 0
        as wiped out; `explained` gives the kept items their true scores back."""
        if not self.items:
            return ()
        raw = np.array([i.final_score for i in self.items])
        relevance = np.exp(raw - raw.max()).tolist()
        return tuple(replace(i, final_score=r, mmr_score=r)
                     for i, r in zip(self.items, relevance, strict=True))

    def explained(self, picks: Sequence[ScoredItem]) -> list[ScoredItem]:
        """`picks` (items of this reordering, in the caller's order) with their grouped
        TreeSHAP terms, which add up to their final scores; each keeps its own
        `mmr_score`."""
        missing = [i.id for i in picks if i.id not in self._features]
        if missing:
            raise InvalidArgument(f"item {missing[0]!r} is not among the reranked items")
        if not picks:
            return []
        rows = np.stack([self._features[i.id] for i in picks])
        scored = self.reranker.score(rows)
        first = [self._first[i.id] for i in picks]
        if self._explain is not None:
            first = list(self._explain(first))
        return [replace(_explained(f, rows[k], scored.final[k], scored.contributions[k],
                                   self.reranker.version), mmr_score=pick.mmr_score)
                for k, (f, pick) in enumerate(zip(first, picks, strict=True))]
