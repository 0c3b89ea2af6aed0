"""Taste analysis (services/ranker/personal/taste.py): shares, centroid, diversity, flow."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures
from services.ranker.personal import taste as taste_module
from services.ranker.personal.taste import TasteAnalyser, centroid, diversity, shares
from services.ranker.personal.user_history import History, unit_rows
from services.ranker.serving.ports import ActiveEmbedding, Candidates
from tests.unit.ranker_catalog import catalog


def test_shares_split_each_items_weight_and_sum_to_at_most_one() -> None:
    membership = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 0]], dtype=float))
    weights = np.array([2.0, 1.0, 1.0])
    got = shares(weights, membership)
    # item 0 gives 1 to each of its two columns, item 1 gives 1, item 2 (no column) nothing
    assert got == pytest.approx([1 / 4, 2 / 4, 0.0])
    assert got.sum() == pytest.approx(0.75)
    # proportional rows (tag profiles): 0.8/0.6 splits 4/7 and 3/7
    tags = sp.csr_matrix(np.array([[0.8, 0.6]]))
    assert shares(np.array([7.0]), tags) == pytest.approx([4 / 7, 3 / 7])
    assert shares(np.array([7.0]), tags).sum() == pytest.approx(1.0)


def test_centroid_is_listening_weighted() -> None:
    vectors = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert centroid(vectors, np.array([3.0, 1.0])) == pytest.approx([0.75, 0.25])


def test_diversity_is_zero_for_one_sound_and_grows_with_spread() -> None:
    rng = np.random.default_rng(0)
    one = unit_rows(np.tile(rng.normal(size=(1, 8)), (5, 1)))
    close = unit_rows(one + 0.05 * rng.normal(size=one.shape))
    apart = unit_rows(rng.normal(size=(5, 8)))
    weights = np.array([5.0, 1.0, 1.0, 2.0, 1.0])
    assert diversity(one, weights, 2.0) == pytest.approx(0.0, abs=1e-12)
    assert 0 < diversity(close, weights, 2.0) < 0.01 < diversity(apart, weights, 2.0)
    # by hand: orthogonal pair, distance 1 of a possible 2; opposite pair, 2 of 2
    assert diversity(np.eye(2), np.ones(2), 2.0) == pytest.approx(0.5)
    assert diversity(np.array([[1.0, 0.0], [-1.0, 0.0]]), np.ones(2), 2.0) == pytest.approx(1)
    assert diversity(np.eye(2)[:1], np.ones(1), 2.0) == 0.0  # a single item has no spread


def test_diversity_weights_pairs_by_listening() -> None:
    """Two identical items and a third orthogonal one: the more the odd one is played, the
    more of the listening pairs cross sounds."""
    vectors = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    low = diversity(vectors, np.array([5.0, 5.0, 1.0]), 1.0)
    high = diversity(vectors, np.array([1.0, 1.0, 5.0]), 1.0)
    # sum over distinct pairs p_i p_j d_ij / sum p_i p_j with d = 1 across sounds, 0 within
    p = np.array([5, 5, 1]) / 11
    expected = 2 * (2 * p[0] * p[2]) / (1 - np.sum(p ** 2))
    assert low == pytest.approx(expected)
    assert low < high


class FakeContent:
    def __init__(self, vectors: dict[str, list[float]], model: ActiveEmbedding | None) -> None:
        self._vectors = {k: np.array(v, dtype=np.float32) for k, v in vectors.items()}
        self._model = model
        self.excluded: list[str] = []

    def active(self) -> ActiveEmbedding | None:
        return self._model

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        return {i: self._vectors[i] for i in ids if i in self._vectors}

    def neighbors(self, query: np.ndarray, k: int, model_id: str,
                  exclude: Sequence[str]) -> Candidates:
        self.excluded = list(exclude)
        ranked = sorted((i for i in self._vectors if i not in exclude),
                        key=lambda i: -float(unit_rows(self._vectors[i][None])[0] @ query))
        ids = ranked[:k]
        return Candidates(ids, np.array([self._vectors[i] for i in ids]))


class FakeRanker:
    def __init__(self) -> None:
        self.features = catalog()

    def catalog(self) -> CatalogFeatures:
        return self.features


MODEL = ActiveEmbedding("m", "fake@1", 3)
VECTORS = {"tr-teen": [1, 0, 0], "tr-lithium": [0.9, 0.1, 0], "tr-dive": [0.8, 0.2, 0],
           "tr-everlong": [0.7, 0.3, 0], "tr-sowhat": [0, 0, 1], "tr-bluegreen": [0, 0.1, 1]}


def _analyser(monkeypatch: pytest.MonkeyPatch, played: list[tuple[str, float]],
              model: ActiveEmbedding | None = MODEL) -> tuple[TasteAnalyser, FakeContent]:
    history = History(ids=tuple(i for i, _ in played), types=tuple("track" for _ in played),
                      weights=np.array([w for _, w in played]),
                      all_ids=tuple(i for i, _ in played))
    monkeypatch.setattr(taste_module, "load_history", lambda db, features, user: history)
    content = FakeContent(VECTORS, model)
    return TasteAnalyser(None, FakeRanker(), content), content  # type: ignore[arg-type]


def test_taste_of_a_grunge_listener(monkeypatch: pytest.MonkeyPatch) -> None:
    analyser, content = _analyser(monkeypatch, [("tr-teen", 3.0), ("tr-lithium", 2.0),
                                                ("tr-sowhat", 1.0)])
    got = analyser.taste("u1", limit=5)
    assert got.qualifying == 3 and got.embedded_items == 3 and got.embedding_model == "fake@1"
    # genres: Nirvana's tracks are Rock through their artist (5 of 6), So What is Jazz (1)
    assert [(g.name, round(g.weight, 4)) for g in got.top_genres] == [("Rock", 0.8333),
                                                                       ("Jazz", 0.1667)]
    assert [(a.name, round(a.weight, 4)) for a in got.top_artists] == [("Nirvana", 0.8333),
                                                                        ("Miles Davis", 0.1667)]
    assert got.top_tags[0][0] == "grunge"
    assert sum(w for _, w in got.top_tags) <= 1 + 1e-9
    # the centroid leans to the grunge sound: its nearest unplayed tracks are Nirvana's and
    # Foo Fighters', with their cosine; the history is excluded
    names = [n.id for n in got.neighbourhood]
    assert names[:2] == ["tr-dive", "tr-everlong"]
    assert not {"tr-teen", "tr-lithium", "tr-sowhat"} & set(names)
    assert {"tr-teen", "tr-lithium", "tr-sowhat"} <= set(content.excluded)
    centre = centroid(unit_rows(np.array([VECTORS[i] for i in ("tr-teen", "tr-lithium",
                                                               "tr-sowhat")], float)),
                      np.array([3.0, 2.0, 1.0]))
    centre /= np.linalg.norm(centre)
    dive = unit_rows(np.array([VECTORS["tr-dive"]], float))[0]
    assert got.neighbourhood[0].weight == pytest.approx(float(dive @ centre), rel=1e-6)
    assert got.diversity_basis == "content" and 0 < got.diversity < 0.5


def test_without_vectors_diversity_falls_back_to_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    analyser, _ = _analyser(monkeypatch, [("tr-teen", 1.0), ("tr-sowhat", 1.0)], model=None)
    got = analyser.taste("u1")
    assert got.diversity_basis == "tags" and got.embedded_items == 0
    assert got.neighbourhood == () and got.embedding_model == ""
    assert got.diversity > 0.5  # grunge and jazz share no tag


def test_no_history_is_an_empty_answer_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    analyser, _ = _analyser(monkeypatch, [])
    got = analyser.taste("nobody")
    assert got.qualifying == 0 and got.top_genres == () and got.top_tags == ()
    assert got.neighbourhood == () and got.diversity == 0 and got.diversity_basis == "none"
    with pytest.raises(InvalidArgument, match="limit 51"):
        analyser.taste("nobody", limit=51)
    with pytest.raises(InvalidArgument, match="user_id is empty"):
        analyser.taste(" ")
