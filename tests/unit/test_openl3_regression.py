"""Regression against openl3 0.4.2 itself: shared/data/openl3-regression/chirp_44k_kapre.npz.

The reference embeddings (16 x 6144: mel256, music, kapre front end, hop 0.1 s, centred)
were computed by the original package with the real weights. Those weights are not on our
machines: the test runs whenever JUKE_OPENL3_WEIGHTS points at verified mel256 weights and
is skipped with the registry's reason otherwise.

Tolerance: TensorFlow's and our float32 arithmetic differ in summation order and in the
convolution algorithm (Winograd here), and quiet spectrogram bins amplify rounding in the
decibel scaling, so values (which reach ~6.5) are compared to 0.02 absolute per element,
0.002 mean absolute error, and a cosine similarity of at least 0.9999 per frame.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from services.common.config import Settings
from services.embedder.models.openl3 import (
    OpenL3Model,
    openl3_availability,
    weights_path_from_env,
)


def regression_dir() -> Path:
    return Settings.from_env().shared_data_dir / "openl3-regression"


def test_reference_data_is_present() -> None:
    with np.load(regression_dir() / "chirp_44k_kapre.npz") as stored:
        assert stored["embedding"].shape == (16, 6144)
        np.testing.assert_allclose(stored["timestamps"], np.arange(16) * 0.1)
    assert soundfile.info(str(regression_dir() / "chirp_44k.wav")).samplerate == 44100


@pytest.fixture(scope="module")
def model() -> OpenL3Model:
    availability = openl3_availability(weights_path_from_env(), "mel256")
    if not availability.available:
        pytest.skip(availability.reason)
    return OpenL3Model.from_env("mel256")


def test_chirp_matches_openl3(model: OpenL3Model) -> None:
    with np.load(regression_dir() / "chirp_44k_kapre.npz") as stored:
        expected, expected_times = stored["embedding"], stored["timestamps"]
    audio, rate = soundfile.read(str(regression_dir() / "chirp_44k.wav"))  # float64, as openl3
    grid = model.embed_audio(audio, rate, hop_s=0.1, center=True, embedding_size=6144)
    pooled = model.embed_audio(audio, rate, hop_s=0.1, center=True)

    np.testing.assert_allclose(grid.timestamps, expected_times)
    assert grid.embeddings.shape == expected.shape
    difference = np.abs(grid.embeddings - expected)
    assert difference.max() <= 0.02, f"max abs difference {difference.max():.4g}"
    assert difference.mean() <= 0.002, f"mean abs difference {difference.mean():.4g}"
    cosine = np.sum(grid.embeddings * expected, axis=1) / (
        np.linalg.norm(grid.embeddings, axis=1) * np.linalg.norm(expected, axis=1)
    )
    assert cosine.min() >= 0.9999, f"lowest cosine similarity {cosine.min():.6f}"
    # the 512-d embedding is the maximum over the (4, 3) grid of the 6144-d one
    expected_512 = expected.reshape(16, 12, 512).max(axis=1)
    np.testing.assert_allclose(pooled.embeddings, expected_512, rtol=0, atol=0.02)
