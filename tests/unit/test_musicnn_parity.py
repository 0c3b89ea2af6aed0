"""Parity with TensorFlow: our NumPy MSD_musicnn against outputs stored by the original model.

The reference data (shared/data/musicnn-regression, read-only static data) holds, per track,
the exact model input `patches` and what TensorFlow 2.20 computed from them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.config import Settings
from services.embedder.models.musicnn import MusicnnModel, MusicnnOutput

TRACKS = ("hr-domina-mountain", "hr-savino-caribbean", "hr3-crossroads", "hr3-hell")


def regression_dir() -> Path:
    return Settings.from_env().shared_data_dir / "musicnn-regression"


@pytest.fixture(scope="module")
def model() -> MusicnnModel:
    return MusicnnModel.from_checkpoint()


@pytest.fixture(scope="module", params=TRACKS)
def case(request: pytest.FixtureRequest, model: MusicnnModel) -> tuple[dict, MusicnnOutput]:
    with np.load(regression_dir() / f"{request.param}.npz") as stored:
        reference = {name: stored[name] for name in stored.files}
    return reference, model.embed_patches(reference["patches"])


def test_reference_data_is_present() -> None:
    found = sorted(path.stem for path in regression_dir().glob("*.npz"))
    assert found == sorted(TRACKS)


def test_taggram_matches(case: tuple[dict, MusicnnOutput]) -> None:
    reference, ours = case
    assert ours.taggram.shape == reference["taggram"].shape
    np.testing.assert_allclose(ours.taggram, reference["taggram"], rtol=0, atol=1e-4)


def test_penultimate_matches(case: tuple[dict, MusicnnOutput]) -> None:
    reference, ours = case
    assert ours.penultimate.shape == (len(reference["patches"]), 200)
    np.testing.assert_allclose(ours.penultimate, reference["penultimate"], rtol=0, atol=1e-4)


def test_logits_match(case: tuple[dict, MusicnnOutput]) -> None:
    reference, ours = case
    np.testing.assert_allclose(ours.logits, reference["logits"], rtol=0, atol=1e-4)


def test_pools_match(case: tuple[dict, MusicnnOutput]) -> None:
    # Mid-end features reach ~125, where float32 summation-order differences are ~1e-5
    # relative: compare relatively, with 1e-4 absolute near zero.
    reference, ours = case
    np.testing.assert_allclose(ours.mean_pool, reference["mean_pool"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.max_pool, reference["max_pool"], rtol=1e-4, atol=1e-4)


def test_every_patch_gets_its_own_outputs(case: tuple[dict, MusicnnOutput]) -> None:
    # Upstream's extractor repeated the first patch's features past its first batch.
    _, ours = case
    assert len(np.unique(ours.penultimate.round(4), axis=0)) == len(ours.penultimate)
