"""MusicnnModel's public API: loading, metadata, per-patch and per-track embeddings."""

from __future__ import annotations

import ast
import hashlib
import sys
from pathlib import Path

import numpy as np
import pytest

from services.common.errors import InvalidArgument
from services.embedder.models import (
    EMBEDDING_DIM,
    MSD_TAGS,
    CheckpointError,
    MusicnnModel,
    default_checkpoint_dir,
)
from services.embedder.models.musicnn import forward
from tests.unit.rounding import assert_within, gamma, likely_bound, musicnn_rounding_scales


@pytest.fixture(scope="module")
def model() -> MusicnnModel:
    return MusicnnModel.from_checkpoint()


def music_like(seconds: float, rate: int, seed: int = 0) -> np.ndarray:
    """A few decaying harmonic notes over noise: enough structure to give distinct patches."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = 0.02 * rng.standard_normal(len(t))
    for onset in np.arange(0, seconds, 0.5):
        f0 = rng.choice([110.0, 165.0, 220.0, 330.0, 440.0])
        env = np.where(t >= onset, np.exp(-(t - onset) * 4), 0)
        out += env * sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
    return (0.3 * out / np.abs(out).max()).astype(np.float32)


def test_checkpoint_is_found_without_importing_musicnn() -> None:
    directory = default_checkpoint_dir(env={})
    assert directory.name == "MSD_musicnn"
    assert (directory / ".index").is_file()
    assert "musicnn" not in sys.modules  # importing it would need TensorFlow


def test_env_override_and_missing_directory(tmp_path: Path) -> None:
    assert default_checkpoint_dir(env={"JUKE_MUSICNN_DIR": str(tmp_path)}) == tmp_path
    with pytest.raises(CheckpointError, match="does not exist"):
        MusicnnModel.from_checkpoint(tmp_path / "nowhere")
    with pytest.raises(CheckpointError, match="index"):
        MusicnnModel.from_checkpoint(tmp_path)  # a directory without checkpoint files


def test_metadata(model: MusicnnModel) -> None:
    info = model.info
    assert (info.name, info.source_model, info.embedding_dim, info.license) == (
        "msd-musicnn",
        "musicnn",
        200,
        "ISC",
    )
    directory = default_checkpoint_dir()
    for name in (".index", ".data-00000-of-00001"):
        expected = hashlib.sha256((directory / name).read_bytes()).hexdigest()
        assert info.weight_files_sha256[name] == expected
    assert len(info.weights_sha256) == 64
    assert info.frontend["sample_rate"] == 16000 and info.frontend["n_mels"] == 96
    assert info.tags == MSD_TAGS and len(MSD_TAGS) == 50


def test_embed_audio_gives_a_track_vector_and_tags(model: MusicnnModel) -> None:
    track = model.embed_audio(music_like(10.0, 44100), 44100)
    assert track.n_patches == 3
    assert track.vector.shape == (EMBEDDING_DIM,) and track.vector.dtype == np.float32
    assert np.all(np.isfinite(track.vector))
    assert [tag for tag, _ in track.tags] == list(MSD_TAGS)
    assert all(0.0 < p < 1.0 for _, p in track.tags)
    top = track.top_tags(5)
    assert len(top) == 5 and top[0][1] == max(p for _, p in track.tags)
    # the vector is the mean of the per-patch penultimate layer
    patches = model.patches(music_like(10.0, 44100), 44100)
    per_patch = model.embed_patches(patches).penultimate
    # two float32 means of the same 3 rows, each within gamma_3 * mean|x| (2 additions and
    # a division, in any order) of the exact one
    bound = 2 * gamma(len(per_patch)) * np.abs(per_patch).mean(axis=0)
    assert_within(track.vector, per_patch.mean(axis=0), bound, "track vector")


def test_clips_shorter_than_a_patch_work(model: MusicnnModel) -> None:
    track = model.embed_audio(music_like(1.0, 16000), 16000)
    assert track.n_patches == 1
    assert np.all(np.isfinite(track.vector))


def test_results_do_not_depend_on_batching(model: MusicnnModel) -> None:
    patches = model.patches(music_like(15.0, 22050, seed=3), 22050)
    assert len(patches) == 5
    one_by_one = np.concatenate([forward(model.weights, p[None]).penultimate for p in patches])
    batched = MusicnnModel(model.weights, model.info, batch_size=2).embed_patches(patches)
    # Batch shapes change the BLAS blocking, so the two may round differently: within both
    # evaluations' rounding bound (tests/unit/rounding.py), derived from these patches.
    bound = likely_bound(2 * musicnn_rounding_scales(patches)["penultimate"])
    assert_within(batched.penultimate, one_by_one, bound, "penultimate")
    assert len(np.unique(batched.penultimate.round(4), axis=0)) == len(patches)


def test_different_music_gives_different_embeddings(model: MusicnnModel) -> None:
    a = model.embed_audio(music_like(6.0, 16000, seed=1), 16000).vector
    b = model.embed_audio(music_like(6.0, 16000, seed=1), 16000).vector
    c = model.embed_audio(np.zeros(6 * 16000, np.float32), 16000).vector
    np.testing.assert_array_equal(a, b)  # deterministic
    assert np.abs(a - c).max() > 0.1


@pytest.mark.parametrize(
    ("patches", "message"),
    [
        (np.zeros((2, 187, 95), np.float32), r"\(n, 187, 96\), got \(2, 187, 95\)"),
        (np.zeros((187, 96), np.float32), r"got \(187, 96\)"),
        (np.zeros((0, 187, 96), np.float32), "no patches"),
        (np.full((1, 187, 96), np.inf, np.float32), "NaN or infinite"),
    ],
)
def test_bad_patches_are_rejected(model: MusicnnModel, patches: np.ndarray, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        model.embed_patches(patches)


def test_batch_size_must_be_positive(model: MusicnnModel) -> None:
    with pytest.raises(InvalidArgument, match="batch_size must be at least 1, got 0"):
        MusicnnModel(model.weights, model.info, batch_size=0)


def test_tag_names_are_musicnns_msd_labels() -> None:
    # Parsed, not imported: importing the musicnn package needs TensorFlow.
    source = (default_checkpoint_dir(env={}).parent / "configuration.py").read_text()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "MSD_LABELS":
            assert tuple(ast.literal_eval(node.value)) == MSD_TAGS
            return
    pytest.fail("MSD_LABELS not found in musicnn/configuration.py")
