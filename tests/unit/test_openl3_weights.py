"""Verifying OpenL3 weight files by git blob id, and what the model registry is told."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from services.embedder.models import h5weights
from services.embedder.models.h5weights import (
    KNOWN_WEIGHTS,
    KnownWeights,
    WeightsError,
    git_blob_id,
    identify_weights,
)
from services.embedder.models.openl3 import (
    OPENL3_WEIGHTS_ENV,
    OpenL3Model,
    openl3_availability,
    weights_path_from_env,
)

MEL256_V040 = "openl3_audio_mel256_music-v0_4_0.h5.gz"


def blob_id(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_blob_id_is_what_git_hash_object_prints(tmp_path: Path) -> None:
    empty, hello = tmp_path / "empty", tmp_path / "hello"
    empty.write_bytes(b"")
    hello.write_bytes(b"hello\n")
    # well-known ids: `git hash-object` of an empty file and of "hello\n"
    assert git_blob_id(empty) == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
    assert git_blob_id(hello) == "ce013625030ba8dba906f756967f9e9ca394464a"
    large = tmp_path / "large"
    large.write_bytes(bytes(range(256)) * 9000)  # more than one read chunk
    assert git_blob_id(large) == blob_id(large.read_bytes())


def test_the_four_distributed_files_are_known() -> None:
    assert {(k.file_name, k.blob_id) for k in KNOWN_WEIGHTS} == {
        (MEL256_V040, "15e483646fa3d4091a463f0affbb706e6bbbb098"),
        ("openl3_audio_mel128_music-v0_4_0.h5.gz", "73ff29de441865318c4b3a3f98c40763c4773e7c"),
        ("openl3_audio_mel256_music.h5.gz", "138dcc0a9c95ba3c08605944a2d74901f634dcf6"),
        ("openl3_audio_mel128_music.h5.gz", "93447b54001ec4c1df7f9a11946ba534908bbc19"),
    }


@pytest.fixture
def fake_known(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A small .h5.gz registered (for this test only) as the known mel256 file."""
    path = tmp_path / MEL256_V040
    path.write_bytes(gzip.compress(b"stand-in weights"))
    entry = KnownWeights(MEL256_V040, blob_id(path.read_bytes()), "mel256", "music", "v0_4_0")
    others = tuple(k for k in KNOWN_WEIGHTS if k.file_name != MEL256_V040)
    monkeypatch.setattr(h5weights, "KNOWN_WEIGHTS", (entry, *others))
    return path


def test_correct_id_is_accepted(fake_known: Path) -> None:
    known = identify_weights(fake_known, "mel256")
    assert known.file_name == MEL256_V040
    renamed = fake_known.with_name("weights.h5.gz")
    renamed.write_bytes(fake_known.read_bytes())
    assert identify_weights(renamed).input_repr == "mel256"  # recognised by id alone


def test_wrong_id_is_rejected_naming_both(tmp_path: Path) -> None:
    path = tmp_path / MEL256_V040
    path.write_bytes(gzip.compress(b"something else"))
    actual = blob_id(path.read_bytes())
    with pytest.raises(WeightsError) as error:
        identify_weights(path, "mel256")
    assert actual in error.value.message
    assert "15e483646fa3d4091a463f0affbb706e6bbbb098" in error.value.message


def test_unknown_renamed_file_lists_the_known_ids(tmp_path: Path) -> None:
    path = tmp_path / "my-weights.h5.gz"
    path.write_bytes(gzip.compress(b"unknown"))
    with pytest.raises(WeightsError, match="none of the known OpenL3 audio weights") as error:
        identify_weights(path)
    assert all(known.blob_id in error.value.message for known in KNOWN_WEIGHTS)


def test_weights_for_the_other_front_end_are_rejected(fake_known: Path) -> None:
    with pytest.raises(WeightsError, match="weights for mel256, not for 'mel128'"):
        identify_weights(fake_known, "mel128")


def test_uncompressed_or_missing_files_cannot_be_verified(tmp_path: Path) -> None:
    plain = tmp_path / "openl3_audio_mel256_music.h5"
    plain.write_bytes(b"x")
    with pytest.raises(WeightsError, match=r"not a distributed \.h5\.gz"):
        identify_weights(plain)
    with pytest.raises(WeightsError, match="does not exist"):
        identify_weights(tmp_path / "absent.h5.gz")


def test_availability_reports_the_reason(tmp_path: Path, fake_known: Path) -> None:
    unset = openl3_availability(None)
    assert not unset.available
    assert unset.reason == "OpenL3 weights not available (JUKE_OPENL3_WEIGHTS unset)"

    missing = openl3_availability(tmp_path / "nowhere.h5.gz")
    assert not missing.available and "is not a file" in missing.reason

    wrong = tmp_path / "openl3_audio_mel128_music-v0_4_0.h5.gz"
    wrong.write_bytes(gzip.compress(b"not the weights"))
    mismatch = openl3_availability(wrong, "mel128")
    assert not mismatch.available
    assert "73ff29de441865318c4b3a3f98c40763c4773e7c" in mismatch.reason

    other_repr = openl3_availability(fake_known, "mel128")
    assert not other_repr.available and "not for 'mel128'" in other_repr.reason

    verified = openl3_availability(fake_known, "mel256")
    assert verified.available and MEL256_V040 in verified.reason


def test_env_variable_and_loading_refuse_silently_missing_weights(tmp_path: Path) -> None:
    assert weights_path_from_env({}) is None
    assert weights_path_from_env({OPENL3_WEIGHTS_ENV: ""}) is None
    assert weights_path_from_env({OPENL3_WEIGHTS_ENV: "/w/x.h5.gz"}) == Path("/w/x.h5.gz")
    with pytest.raises(WeightsError, match=r"JUKE_OPENL3_WEIGHTS unset"):
        OpenL3Model.from_env("mel256", env={})
    with pytest.raises(WeightsError, match="is not a file"):
        OpenL3Model.from_env("mel256", env={OPENL3_WEIGHTS_ENV: str(tmp_path / "x.h5.gz")})
