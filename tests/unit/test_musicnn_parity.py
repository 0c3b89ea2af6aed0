"""Parity with TensorFlow: our NumPy MSD_musicnn against outputs stored by the original model.

The reference data (shared/data/musicnn-regression, read-only static data) holds, per track,
the exact model input `patches` and what TensorFlow 2.20 computed from them.

Tolerance: both sides are float32 evaluations of the same network from the same input, in
different summation orders (our BLAS kernels depend on the CPU too), so each output may differ
by the two evaluations' rounding: LAMBDA u sqrt(S_ours + S_tf), with S the rounding scale that
tests/unit/rounding.py derives for one evaluation, layer by layer, from the actual operands
(S_tf = S_ours: the same formula covers both, any summation order, TensorFlow's larger count
of roundings in its batch norms).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from services.common.config import Settings
from services.embedder.models.musicnn import MusicnnModel, MusicnnOutput
from tests.unit.rounding import assert_within, likely_bound, musicnn_rounding_scales

TRACKS = ("hr-domina-mountain", "hr-savino-caribbean", "hr3-crossroads", "hr3-hell")


def regression_dir() -> Path:
    return Settings.from_env().shared_data_dir / "musicnn-regression"


@pytest.fixture(scope="module")
def model() -> MusicnnModel:
    return MusicnnModel.from_checkpoint()


Case = tuple[dict[str, np.ndarray], MusicnnOutput, dict[str, np.ndarray]]


@pytest.fixture(scope="module", params=TRACKS)
def case(request: pytest.FixtureRequest, model: MusicnnModel) -> Case:
    """TensorFlow's outputs, ours, and the bound on their difference for each output."""
    with np.load(regression_dir() / f"{request.param}.npz") as stored:
        reference = {name: stored[name] for name in stored.files}
    scales = musicnn_rounding_scales(reference["patches"])
    bounds = {name: likely_bound(2 * scale) for name, scale in scales.items()}
    return reference, model.embed_patches(reference["patches"]), bounds


def test_reference_data_is_present() -> None:
    found = sorted(path.stem for path in regression_dir().glob("*.npz"))
    assert found == sorted(TRACKS)


def test_taggram_matches(case: Case) -> None:
    reference, ours, bounds = case
    assert ours.taggram.shape == reference["taggram"].shape
    assert_within(ours.taggram, reference["taggram"], bounds["taggram"], "taggram")


def test_penultimate_matches(case: Case) -> None:
    reference, ours, bounds = case
    assert ours.penultimate.shape == (len(reference["patches"]), 200)
    assert_within(ours.penultimate, reference["penultimate"], bounds["penultimate"], "penultimate")


def test_logits_match(case: Case) -> None:
    reference, ours, bounds = case
    assert_within(ours.logits, reference["logits"], bounds["logits"], "logits")


def test_pools_match(case: Case) -> None:
    # Mid-end features reach ~125 and come out of batch norms that subtract up to ~40:
    # their rounding is relative to those magnitudes, not to the (sometimes tiny) values,
    # which the per-value bound accounts for.
    reference, ours, bounds = case
    assert_within(ours.mean_pool, reference["mean_pool"], bounds["mean_pool"], "mean_pool")
    assert_within(ours.max_pool, reference["max_pool"], bounds["max_pool"], "max_pool")


def test_every_patch_gets_its_own_outputs(case: Case) -> None:
    # Upstream's extractor repeated the first patch's features past its first batch.
    _, ours, _ = case
    assert len(np.unique(ours.penultimate.round(4), axis=0)) == len(ours.penultimate)
