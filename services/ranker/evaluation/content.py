"""Offline evaluation of an embedding model on the production-eligible licensed corpus.

No listening data judges audio vectors here, so the catalog does: for each eligible track
with a vector, the model's nearest tracks (cosine) should be those of the same album and of
the same artist. Per relation (album, artist, and either, which the gates read) precision@k,
recall@k and nDCG@k (binary gains, ideal DCG over min(|relevant|, k)) are averaged over the
tracks that have at least one related track; coverage is the share of the eligible corpus the
model has a vector for. A candidate and the active model are measured on the same corpus,
named by a hash of its tracks and their relations, and stored like every other evaluation.
There is no cold-start split: every track is judged by its audio alone.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from services.common.db import Database
from services.ranker.evaluation.protocol import ndcg_at_k, recall_at_k
from services.ranker.evaluation.store import EvaluationInput, save_evaluations
from services.ranker.workflows.promotion_contracts import EvaluationPair

K = 10
RELATIONS = ("album", "artist", "any")  # "any": same album or a shared artist (the gates')


@dataclass(frozen=True)
class TrackFacts:
    album: str                  # "" when the catalog names none
    artists: frozenset[str]


def precision_at_k(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Share of the top k that is relevant (k, not the list's length, is the denominator)."""
    return sum(1 for item in ranked[:k] if item in relevant) / k


def _members(ids: list[str], facts: Mapping[str, TrackFacts]
             ) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """The measured tracks of each album and of each artist."""
    by_album: dict[str, set[str]] = defaultdict(set)
    by_artist: dict[str, set[str]] = defaultdict(set)
    for track in ids:
        if facts[track].album:
            by_album[facts[track].album].add(track)
        for artist in facts[track].artists:
            by_artist[artist].add(track)
    return by_album, by_artist


def _relevant(query: TrackFacts, relation: str, by_album: Mapping[str, set[str]],
              by_artist: Mapping[str, set[str]]) -> set[str]:
    album = set(by_album.get(query.album, ())) if query.album else set()
    artist = set().union(*(by_artist.get(a, ()) for a in query.artists))
    return {"album": album, "artist": artist, "any": album | artist}[relation]


def _unit(vectors: Mapping[str, np.ndarray], ids: list[str]) -> np.ndarray:
    matrix = np.stack([np.asarray(vectors[i], dtype=np.float64) for i in ids])
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1.0, norms)


def content_metrics(vectors: Mapping[str, np.ndarray], facts: Mapping[str, TrackFacts],
                    eligible: Collection[str], k: int = K) -> dict[str, float]:
    """The model's metrics on the eligible corpus (see the module docstring). The gates read
    `ndcg@k`, `recall@k` and `coverage`; per-relation figures are stored beside them."""
    ids = sorted(t for t in eligible if t in vectors and t in facts)
    metrics = {"coverage": len(ids) / len(eligible) if eligible else 0.0}
    if len(ids) < 2:
        return metrics | {"queries": 0.0}
    unit = _unit(vectors, ids)
    sims = unit @ unit.T
    np.fill_diagonal(sims, -np.inf)
    ranked = [[ids[j] for j in np.argsort(-sims[i], kind="stable")[:k]]
              for i in range(len(ids))]
    by_album, by_artist = _members(ids, facts)
    for relation in RELATIONS:
        scores = []
        for i, query in enumerate(ids):
            relevant = _relevant(facts[query], relation, by_album, by_artist) - {query}
            if relevant:
                scores.append((precision_at_k(ranked[i], relevant, k),
                               recall_at_k(ranked[i], relevant, k),
                               ndcg_at_k(ranked[i], relevant, k)))
        means = np.mean(scores, axis=0) if scores else np.zeros(3)
        suffix = "" if relation == "any" else f"_{relation}"
        metrics |= {f"precision@{k}{suffix}": float(means[0]),
                    f"recall@{k}{suffix}": float(means[1]),
                    f"ndcg@{k}{suffix}": float(means[2])}
        if relation == "any":
            metrics["queries"] = float(len(scores))
    return metrics


def corpus_hash(eligible: Collection[str], facts: Mapping[str, TrackFacts]) -> str:
    """Names the corpus both models are judged on: its tracks and their relations."""
    rows = [(t, facts[t].album, sorted(facts[t].artists)) if t in facts else (t, "", [])
            for t in sorted(eligible)]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


class ContentCorpus(Protocol):
    """What the content evaluation reads (filled from governance, identity and the
    embedder by the worker)."""

    def eligible_tracks(self) -> set[str]: ...
    def track_facts(self) -> dict[str, TrackFacts]: ...
    def vectors(self, model_id: str, track_ids: Collection[str]) -> dict[str, np.ndarray]: ...
    def active_model_id(self) -> str: ...


class ContentEvaluator:
    def __init__(self, db: Database, corpus: ContentCorpus, k: int = K) -> None:
        self._db = db
        self._corpus = corpus
        self._k = k

    def compare(self, candidate_id: str) -> EvaluationPair:
        eligible = self._corpus.eligible_tracks()
        facts = self._corpus.track_facts()
        if not eligible:
            return EvaluationPair("", {}, {}, unavailable_reason=(
                "no production-eligible track is linked to the catalog: there is no corpus "
                "to evaluate an embedding model on (`juke corpus ingest`)"))
        digest = corpus_hash(eligible, facts)
        active_id = self._corpus.active_model_id()
        scored = {"candidate": self._measure(candidate_id, eligible, facts)}
        if active_id and active_id != candidate_id:
            scored["active"] = self._measure(active_id, eligible, facts)
        with self._db.transaction() as session:
            save_evaluations(session, [
                EvaluationInput(model_id, scored[role], digest,
                                {"role": role, "kind": "embedding", "k": self._k,
                                 "protocol": "same-album/same-artist retrieval"})
                for role, model_id in (("candidate", candidate_id), ("active", active_id))
                if role in scored])
        return EvaluationPair(digest, scored["candidate"], scored.get("active", {}),
                              active_id if "active" in scored else "")

    def _measure(self, model_id: str, eligible: set[str], facts: dict[str, TrackFacts]
                 ) -> dict[str, float]:
        return content_metrics(self._corpus.vectors(model_id, eligible), facts, eligible,
                               self._k)
