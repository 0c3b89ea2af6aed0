"""The content evaluation of embedding models: same-album / same-artist retrieval on the
eligible corpus, and how the gates read it."""

from __future__ import annotations

import numpy as np
import pytest

from services.ranker.evaluation.content import TrackFacts, content_metrics, corpus_hash
from services.ranker.workflows.promotion import gate_failures
from services.ranker.workflows.promotion_contracts import Gates

ALBUMS = 4
PER_ALBUM = 5


def _corpus() -> tuple[dict[str, TrackFacts], list[str]]:
    """Four albums of five tracks; albums 0-1 by artist A, 2-3 by artist B."""
    facts = {f"t{a}{i}": TrackFacts(f"album{a}", frozenset({"A" if a < 2 else "B"}))
             for a in range(ALBUMS) for i in range(PER_ALBUM)}
    return facts, sorted(facts)


def _vectors(ids: list[str], spread: float, seed: int = 3) -> dict[str, np.ndarray]:
    """Each album around its own centre; `spread` is how far tracks stray from it."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((ALBUMS, 16))
    return {t: centres[int(t[1])] + spread * rng.standard_normal(16) for t in ids}


def test_an_album_aware_model_retrieves_its_albums_and_artists() -> None:
    facts, ids = _corpus()
    good = content_metrics(_vectors(ids, 0.05), facts, ids, k=4)
    noise = content_metrics(_vectors(ids, 50.0), facts, ids, k=4)
    assert good["coverage"] == 1.0 and good["queries"] == len(ids)
    # the four nearest of each track are its album's other four: perfect album retrieval
    assert good["precision@4_album"] == pytest.approx(1.0)
    assert good["ndcg@4_album"] == pytest.approx(1.0)
    assert good["precision@4"] == pytest.approx(1.0)  # same album counts for "any" too
    assert good["recall@4_artist"] == pytest.approx(4 / 4)  # min(|relevant|, k) = 4
    assert noise["ndcg@4"] < good["ndcg@4"] and noise["precision@4_album"] < 0.9


def test_coverage_is_the_share_of_the_eligible_corpus_with_a_vector() -> None:
    facts, ids = _corpus()
    vectors = _vectors(ids[:10], 0.05)
    metrics = content_metrics(vectors, facts, ids, k=4)
    assert metrics["coverage"] == pytest.approx(0.5)
    assert content_metrics({}, facts, ids) == {"coverage": 0.0, "queries": 0.0}


def test_tracks_without_a_related_track_are_not_queries() -> None:
    facts = {"a": TrackFacts("x", frozenset({"p"})), "b": TrackFacts("y", frozenset({"q"})),
             "c": TrackFacts("y", frozenset({"q"}))}
    vectors = {t: np.ones(4) + i for i, t in enumerate(facts)}
    assert content_metrics(vectors, facts, list(facts), k=2)["queries"] == 2


def test_the_corpus_hash_names_tracks_and_relations() -> None:
    facts, ids = _corpus()
    assert corpus_hash(ids, facts) == corpus_hash(list(reversed(ids)), facts)
    moved = {**facts, ids[0]: TrackFacts("album9", facts[ids[0]].artists)}
    assert corpus_hash(ids, moved) != corpus_hash(ids, facts)


def test_the_gates_judge_a_candidate_against_the_active_model() -> None:
    facts, ids = _corpus()
    candidate = content_metrics(_vectors(ids, 0.05), facts, ids, k=10)
    active = content_metrics(_vectors(ids, 50.0), facts, ids, k=10)
    assert gate_failures(Gates(), candidate, active) == []
    assert [f.split()[0] for f in gate_failures(Gates(), active, candidate)] == \
        ["ndcg@10", "recall@10"]
    sparse = content_metrics(_vectors(ids[:5], 0.05), facts, ids, k=10)
    assert gate_failures(Gates(), sparse, {})[0].startswith("coverage 0.250 < 0.30")
