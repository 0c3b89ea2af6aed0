"""Daily mixes (services/ranker/personal/mixes.py): features, cluster choice, titles, and the whole
flow over a synthetic two-genre catalog with the real metadata hybrid."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import scipy.sparse as sp

from services.common.errors import InvalidArgument
from services.ranker.core.features import CatalogFeatures, ResourceRow, TagRow
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.personal import mixes as mixes_module
from services.ranker.personal.mixes import (
    DailyMixes,
    MixSettings,
    choose_clusters,
    cluster_tags,
    mix_points,
    mix_title,
)
from services.ranker.personal.user_history import History, unit_rows
from services.ranker.serving.ports import ActiveEmbedding
from services.ranker.serving.service import Bundle, Query, Result
from services.ranker.store.repository import WeightConfigRecord

GENRES = {"shoegaze": ("dreamy", "noise"), "bebop": ("saxophone", "swing")}


def _two_genre_points(seed: int = 1, n: int = 6, dim: int = 50
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Content rows near two (non-negative, musicnn-like) directions, tags of two genres."""
    rng = np.random.default_rng(seed)
    base = np.abs(rng.normal(size=(2, dim)))
    content = unit_rows(np.vstack([base[g] + 0.8 * np.abs(rng.normal(size=(n, dim)))
                                   for g in (0, 1)]))
    tags = np.zeros((2 * n, 4))
    tags[:n, :2] = (1.0, 0.5)
    tags[n:, 2:] = (1.0, 0.5)
    weights = rng.integers(1, 5, size=2 * n).astype(float)
    return content, unit_rows(tags), weights


def test_two_genres_make_two_clusters_even_when_four_are_allowed() -> None:
    content, tags, weights = _two_genre_points()
    points = mix_points(content, tags, weights, MixSettings())
    groups = choose_clusters(points, weights, 4, MixSettings())
    assert sorted(map(list, groups)) == [list(range(6)), list(range(6, 12))]
    heavier = 0 if weights[:6].sum() > weights[6:].sum() else 6
    assert groups[0][0] == heavier  # the cluster played most comes first
    # Content alone separates them as well.
    alone = choose_clusters(mix_points(content, np.zeros((12, 0)), weights, MixSettings()),
                            weights, 4, MixSettings())
    assert sorted(map(list, alone)) == [list(range(6)), list(range(6, 12))]


def test_clusters_are_deterministic() -> None:
    content, tags, weights = _two_genre_points(seed=5, n=9)
    points = mix_points(content, tags, weights, MixSettings())
    first = choose_clusters(points, weights, 6, MixSettings())
    again = choose_clusters(points.copy(), weights.copy(), 6, MixSettings())
    assert [list(g) for g in first] == [list(g) for g in again]


def test_one_sound_stays_one_mix() -> None:
    same = np.tile(unit_rows(np.array([[1.0, 2.0, 3.0]])), (10, 1))
    groups = choose_clusters(mix_points(same, np.zeros((10, 0)), np.ones(10), MixSettings()),
                             np.ones(10), 4, MixSettings())
    assert [list(g) for g in groups] == [list(range(10))]


def test_small_clusters_seed_no_mix() -> None:
    content, tags, weights = _two_genre_points()
    # Two far-off outliers: a cluster of their own would be smaller than min_items_per_mix.
    outliers = np.zeros((2, content.shape[1]))
    outliers[:, 0] = -1.0
    content = np.vstack([content, outliers])
    tags = np.vstack([tags, np.zeros((2, tags.shape[1]))])
    weights = np.append(weights, [1.0, 1.0])
    settings = MixSettings(min_items_per_mix=3)
    groups = choose_clusters(mix_points(content, tags, weights, settings), weights, 4, settings)
    assert {12, 13}.isdisjoint({int(i) for g in groups for i in g})
    assert sorted(len(g) for g in groups) == [6, 6]


def test_an_item_without_a_vector_clusters_by_its_tags() -> None:
    content, tags, weights = _two_genre_points()
    content[8] = 0.0  # genre 2 by its tags, no audio vector
    groups = choose_clusters(mix_points(content, tags, weights, MixSettings()), weights, 4,
                             MixSettings())
    assert any(set(range(6, 12)) == set(g.tolist()) for g in groups)


def test_feature_weights_scale_the_blocks() -> None:
    content = np.array([[1.0, 0.0], [0.0, 1.0]])
    tags = np.array([[1.0], [1.0]])
    points = mix_points(content, tags, np.ones(2), MixSettings(content_weight=0.64,
                                                               tag_weight=0.36))
    assert points == pytest.approx(np.array([[0.8, 0.0, 0.6], [0.0, 0.8, 0.6]]))
    # squared distance = w_content * |dc|^2 + w_tags * |dt|^2
    assert np.sum((points[0] - points[1]) ** 2) == pytest.approx(0.64 * 2)


def test_cluster_tags_and_titles() -> None:
    tags = sp.csr_matrix(np.array([[0.8, 0.6, 0.0], [0.0, 0.6, 0.8], [0.0, 0.0, 0.0]]))
    names = np.array(["ambient", "drone", "noise"], dtype=object)
    # shares: item 1 (weight 3): ambient 3*4/7, drone 3*3/7; item 2 (weight 1): drone 3/7,
    # noise 4/7; the untagged item gives nothing.
    assert cluster_tags(tags, np.array([3.0, 1.0, 5.0]), names) == ["ambient", "drone",
                                                                     "noise"]
    assert cluster_tags(tags, np.array([1.0, 3.0, 5.0]), names, limit=2) == ["noise", "drone"]
    assert mix_title(2, ["ambient", "drone"], {"ambient"}, "") == "Mix 2: drone"
    assert mix_title(3, ["ambient"], {"ambient"}, "Artist X") == "Mix 3: Artist X"
    assert mix_title(4, [], set(), "") == "Mix 4"


def test_settings_are_checked() -> None:
    with pytest.raises(InvalidArgument, match="max_mixes 11"):
        MixSettings(max_mixes=11)
    with pytest.raises(InvalidArgument, match="mix_size 0"):
        MixSettings(mix_size=0)
    with pytest.raises(InvalidArgument, match="both be 0"):
        MixSettings(content_weight=0, tag_weight=0)


# --- the whole flow over a synthetic catalog ------------------------------------------------


def _catalog() -> CatalogFeatures:
    """Per genre: one artist, two albums of 5 tracks tagged with the genre's two tags."""
    rows = []
    for genre, (tag_a, tag_b) in GENRES.items():
        rows += [ResourceRow(f"g-{genre}", "genre", genre),
                 ResourceRow(f"ar-{genre}", "artist", f"{genre} artist", genre_ids=(f"g-{genre}",))]
        rows += [ResourceRow(f"al-{genre}-{k}", "album", f"{genre} album {k}",
                             artist_ids=(f"ar-{genre}",)) for k in range(2)]
        rows += [ResourceRow(f"tr-{genre}-{n}", "track", f"{genre} {n}",
                             artist_ids=(f"ar-{genre}",), album_id=f"al-{genre}-{n // 5}",
                             tags=(TagRow(tag_a, "musicbrainz", 1.0),
                                   TagRow(tag_b, "internal", 0.5)))
                 for n in range(10)]
    return CatalogFeatures.build(rows)


class FakeContent:
    """Tracks of a genre share a direction (plus a little per-track spread)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def vectors(self, ids: Sequence[str], model_id: str) -> dict[str, np.ndarray]:
        self.asked += list(ids)
        out = {}
        for item in ids:
            if item.startswith("tr-"):
                _, genre, n = item.split("-")
                vector = np.array([1.0, 0.0, 0.1 * int(n)]) if genre == "shoegaze" else \
                    np.array([0.0, 1.0, 0.1 * int(n)])
                out[item] = vector.astype(np.float32)
        return out


class FakeRanker:
    """The ranker's surface that DailyMixes uses, with the real metadata hybrid."""

    def __init__(self, features: CatalogFeatures) -> None:
        self.features = features
        self.queries: list[Query] = []
        self.content = FakeContent()
        config = WeightConfigRecord(uuid.uuid4(), 0.0, 1.0, 0.0, 1.0, True, "",
                                    datetime.now(UTC))
        self._bundle = Bundle(config, None, ActiveEmbedding("m1", "fake@1", 3))

    def catalog(self) -> CatalogFeatures:
        return self.features

    def bundle(self) -> Bundle:
        return self._bundle

    def recommend(self, query: Query) -> Result:
        self.queries.append(query)
        rec = recommend(self.features, query.seeds, WeightConfig.single_signal("metadata"),
                        out_types=query.resource_types, exclude_ids=query.exclude,
                        limit=query.limit)
        return Result(rec, self._bundle, ())


def _history(items: list[tuple[str, float]]) -> History:
    return History(ids=tuple(i for i, _ in items), types=tuple("track" for _ in items),
                   weights=np.array([w for _, w in items]), all_ids=tuple(i for i, _ in items))


def _service(monkeypatch: pytest.MonkeyPatch, history: History,
             personal: Any = None) -> tuple[DailyMixes, FakeRanker]:
    ranker = FakeRanker(_catalog())
    monkeypatch.setattr(mixes_module, "load_history", lambda db, features, user: history)
    service = DailyMixes(None, ranker, ranker.content, personal, MixSettings())  # type: ignore[arg-type]
    return service, ranker


def test_two_genre_listener_gets_two_separate_non_overlapping_mixes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    played = [(f"tr-shoegaze-{n}", 3.0) for n in range(4)] + \
        [(f"tr-bebop-{n}", 1.0) for n in range(4)]
    service, ranker = _service(monkeypatch, _history(played))
    result = service.mixes("u1", max_mixes=4, mix_size=3)
    assert result.path == "clusters" and result.history_items == 8
    assert [m.index for m in result.mixes] == [1, 2]
    first, second = result.mixes
    assert {s[1] for s in first.seeds} == {i for i, _ in played[:4]}   # heaviest cluster first
    assert {s[1] for s in second.seeds} == {i for i, _ in played[4:]}
    assert first.title == "Mix 1: dreamy" and first.top_tags[:2] == ("dreamy", "shoegaze")
    assert second.title.startswith("Mix 2: ")
    firsts = [i.id for i in first.result.recommendation.items]
    seconds = [i.id for i in second.result.recommendation.items]
    assert len(firsts) == 3 and len(seconds) == 3
    assert all(i.startswith("tr-shoegaze") for i in firsts)
    assert all(i.startswith("tr-bebop") for i in seconds)
    assert not set(firsts) & set(seconds)
    assert not (set(firsts) | set(seconds)) & {i for i, _ in played}
    # the second mix was asked to exclude the history and the first mix's items
    assert set(ranker.queries[1].exclude) == {i for i, _ in played} | set(firsts)


def test_albums_and_artists_in_the_history_use_their_tracks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    played = [("al-shoegaze-0", 5.0), ("tr-shoegaze-1", 2.0), ("tr-shoegaze-2", 2.0),
              ("ar-bebop", 4.0), ("tr-bebop-3", 1.0), ("tr-bebop-4", 1.0)]
    service, ranker = _service(monkeypatch, _history(played))
    result = service.mixes("u1", max_mixes=2, mix_size=2)
    # the album stands for its tracks' vectors, the artist for (up to 10 of) its tracks'
    assert {f"tr-shoegaze-{n}" for n in range(5)} <= set(ranker.content.asked)
    assert {f"tr-bebop-{n}" for n in range(10)} <= set(ranker.content.asked)
    assert [{s[1] for s in m.seeds} for m in result.mixes] == [
        {"al-shoegaze-0", "tr-shoegaze-1", "tr-shoegaze-2"},
        {"ar-bebop", "tr-bebop-3", "tr-bebop-4"}]
    assert [m.seeds[0][0] for m in result.mixes] == ["album", "artist"]
    # the album seed's own tracks are not served back (the hybrid leaves them out)
    assert all(i.id.startswith("tr-shoegaze-") and int(i.id[-1]) >= 5
               for i in result.mixes[0].result.recommendation.items)


def test_too_little_history_gets_one_fallback_mix(monkeypatch: pytest.MonkeyPatch) -> None:
    fallback = Result(recommend(_catalog(), ["tr-bebop-0"], WeightConfig.single_signal(
        "metadata"), limit=2), FakeRanker(_catalog()).bundle(), ())
    asked: list[tuple[str, int]] = []

    def personal(user: str, limit: int) -> Any:
        asked.append((user, limit))
        return SimpleNamespace(result=fallback, path="popularity")

    service, _ = _service(monkeypatch, _history([("tr-bebop-1", 1.0)]),
                          SimpleNamespace(recommend=personal))
    result = service.mixes(" new-user ", mix_size=7)
    assert asked == [("new-user", 7)]
    assert result.path == "popularity" and result.history_items == 1
    assert len(result.mixes) == 1 and result.mixes[0].title.startswith("Popular right now")
    assert result.mixes[0].seeds == ()


def test_bad_requests_name_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    service, _ = _service(monkeypatch, _history([]))
    with pytest.raises(InvalidArgument, match=r"max_mixes 11 is outside 1\.\.10"):
        service.mixes("u1", max_mixes=11)
    with pytest.raises(InvalidArgument, match=r"mix_size 51 is outside 1\.\.50"):
        service.mixes("u1", mix_size=51)
    with pytest.raises(InvalidArgument, match="mix_size -1"):
        service.mixes("u1", mix_size=-1)
    with pytest.raises(InvalidArgument, match="user_id is empty"):
        service.mixes("  ")
    with pytest.raises(InvalidArgument, match="longer than 256"):
        service.mixes("u" * 257)
