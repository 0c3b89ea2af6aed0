"""The collaborative signal (services.ranker.core.collaborative) and its place in the hybrid."""

from __future__ import annotations

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.ranker.core.cf import CfConfig, CfFactors
from services.ranker.core.collaborative import CollaborativeIndex, collaborative
from services.ranker.core.features import CatalogFeatures, ResourceRow
from services.ranker.core.hybrid import WeightConfig, recommend
from services.ranker.core.signals import COLLABORATIVE, METADATA
from tests.unit.rounding import U64, gamma

ARTISTS = [f"a{k}" for k in range(6)]


def features() -> CatalogFeatures:
    rows = [ResourceRow(a, "artist", f"artist {a}") for a in ARTISTS]
    # t0 is a track of a0 (a seed the artist-level model does not hold), g0 a genre
    rows.append(ResourceRow("t0", "track", "track zero", artist_ids=("a0",)))
    return CatalogFeatures.build(rows)


def factors(items: list[str] | None = None) -> CfFactors:
    items = items or ARTISTS[:5]  # a5 is not in the model
    rng = np.random.default_rng(3)
    return CfFactors(np.array(items, dtype=object),
                     rng.normal(size=(len(items), 4)).astype(np.float32), CfConfig(factors=4),
                     typical_weight=3.0)


def test_an_artist_seed_scores_as_the_fold_in_of_the_model() -> None:
    feats, model = features(), factors()
    index = CollaborativeIndex(feats, model)
    scores = collaborative(feats.expand_seeds(["a0", "a1"]), index, "artist").dense()
    folded = index.fold_in(feats.expand_seeds(["a0", "a1"]))
    assert folded is not None
    x = folded[0]  # the listener of model.user_vector (see the next test)
    y = model.item_factors.astype(np.float64)
    expected = y @ x
    start = feats.offsets["artist"][0]
    held = np.array([feats.index[a] - start for a in ARTISTS[:5]])
    # The same float64 product of float32 factors, summed in any order: a 4-term dot product.
    bound = gamma(len(x), U64) * (np.abs(y) @ np.abs(x))
    assert np.all(np.abs(scores[held] - np.clip(expected, 0, None)) <= bound)
    assert scores[feats.index["a5"] - start] == 0.0  # neither held nor with held neighbours


def test_per_seed_shares_name_the_seeds_and_the_folded_vector_splits_exactly() -> None:
    feats, model = features(), factors()
    index = CollaborativeIndex(feats, model)
    seeds = feats.expand_seeds(["a0", "a1", "a2"])
    folded = index.fold_in(seeds)
    assert folded is not None
    x, per_seed = folded
    assert per_seed.shape == (3, 4)
    assert np.array_equal(per_seed.sum(axis=0), x)  # x is that very sum
    reference = model.user_vector(["a0", "a1", "a2"])
    assert reference is not None
    # Two backward-stable solves of the same system (one split by seed and summed): each
    # within cond(A) * gamma_3d of x, relative to |x|.
    y = model.item_factors[:3].astype(np.float64)
    conf = model.confidence(model.typical_weight)
    a = index.gram + (conf - 1.0) * (y.T @ y) + model.config.regularization * np.eye(4)
    bound = 2 * np.linalg.cond(a) * gamma(3 * 4 + 3, U64) * np.linalg.norm(reference)
    assert np.linalg.norm(x - reference) <= bound
    signal = collaborative(seeds, index, "artist")
    assert not signal.additive
    assert set(signal.parts) == {"als"}


def test_a_track_seed_stands_for_its_artist_in_an_artist_level_model() -> None:
    feats, model = features(), factors()
    index = CollaborativeIndex(feats, model)
    via_track = collaborative(feats.expand_seeds(["t0"]), index, "artist").dense()
    via_artist = collaborative(feats.expand_seeds(["a0"]), index, "artist").dense()
    np.testing.assert_allclose(via_track, via_artist, rtol=1e-12)
    # and a track candidate takes its artist's score
    tracks = collaborative(feats.expand_seeds(["a1"]), index, "track").dense()
    artists = collaborative(feats.expand_seeds(["a1"]), index, "artist").dense()
    assert tracks[0] == artists[feats.index["a0"] - feats.offsets["artist"][0]]


def test_seeds_the_model_cannot_reach_give_an_empty_signal() -> None:
    feats = features()
    index = CollaborativeIndex(feats, factors(["a3", "a4"]))
    signal = collaborative(feats.expand_seeds(["a5"]), index, "artist")
    assert len(signal.support) == 0


def test_the_budget_keeps_the_best_candidates() -> None:
    feats, model = features(), factors()
    full = collaborative(feats.expand_seeds(["a0"]), CollaborativeIndex(feats, model), "artist")
    kept = collaborative(feats.expand_seeds(["a0"]), CollaborativeIndex(feats, model, budget=1),
                         "artist")
    assert len(kept.support) == 1
    assert kept.values[0] == full.values.max()


def test_the_hybrid_weighs_it_explains_it_and_reports_it_only_when_weighed() -> None:
    feats, model = features(), factors()
    index = CollaborativeIndex(feats, model)
    config = WeightConfig("c", 0.0, 0.3, 0.0, 1.0, w_collaborative=0.7)
    rec = recommend(feats, ["a0", "a1"], config, out_types=("artist",),
                    collaborative_index=index)
    assert rec.items
    for item in rec.items:
        total = sum(c.contribution for c in item.explanation)
        parts = [c.contribution for c in item.explanation]
        # Both sides sum the same weighted terms in float64, each term after a division
        # and a product: 2 roundings per term and n additions, on either side.
        bound = 2 * gamma(3 * len(parts) + 2, U64) * sum(abs(p) for p in parts)
        assert abs(total - item.final_score) <= bound
        collab = [c for c in item.explanation if c.signal == COLLABORATIVE]
        if item.collaborative_score > 0:
            assert collab and collab[0].rule == "als" and collab[0].weight == 0.7
            # weight * raw / best against weight * (raw / best): two roundings apart
            assert abs(collab[0].contribution - 0.7 * item.collaborative_score) <= \
                gamma(2, U64) * collab[0].contribution
    assert COLLABORATIVE in WeightConfig("c", 0, 1, 0, 1, 0.5).reported_signals()
    plain = recommend(feats, ["a0"], WeightConfig.single_signal(METADATA),
                      out_types=("artist",), collaborative_index=index)
    assert COLLABORATIVE not in plain.empty_signals
    assert all(i.collaborative_score == 0.0 for i in plain.items)


def test_a_weight_config_checks_the_collaborative_weight() -> None:
    with pytest.raises(InvalidArgument, match="w_collaborative"):
        WeightConfig("c", 0.0, 0.5, 0.5, 1.0, w_collaborative=-0.1)
    assert WeightConfig("c", 0.0, 0.0, 0.0, 1.0, w_collaborative=1.0).weight(COLLABORATIVE) == 1
