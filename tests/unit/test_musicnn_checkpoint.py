"""The TensorFlow tensor-bundle reader, on hand-built bundles and on musicnn's real checkpoint."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from services.embedder.models.checkpoint import (
    CheckpointError,
    TensorBundle,
    crc32c,
    iter_proto_fields,
    read_varint,
    unmask_crc,
)
from services.embedder.models.musicnn import checkpoint_prefix, default_checkpoint_dir

# --- a minimal, independent writer of the same format -----------------------------------------


def varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def mask_crc(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def field_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def field_bytes(number: int, value: bytes) -> bytes:
    return varint(number << 3 | 2) + varint(len(value)) + value


def entry_proto(dtype: int, shape: tuple[int, ...], offset: int, data: bytes) -> bytes:
    dims = b"".join(field_bytes(2, field_varint(1, size)) for size in shape)
    return (
        field_varint(1, dtype)
        + field_bytes(2, dims)
        + field_varint(4, offset)
        + field_varint(5, len(data))
        + varint(6 << 3 | 5)
        + struct.pack("<I", mask_crc(crc32c(data)))
    )


def block(records: list[tuple[bytes, bytes]]) -> bytes:
    """A table block with prefix-compressed keys and a single restart point."""
    out = bytearray()
    previous = b""
    for key, value in records:
        shared = 0
        while shared < min(len(key), len(previous)) and key[shared] == previous[shared]:
            shared += 1
        out += varint(shared) + varint(len(key) - shared) + varint(len(value))
        out += key[shared:] + value
        previous = key
    out += struct.pack("<II", 0, 1)
    return bytes(out)


def with_trailer(contents: bytes) -> bytes:
    return contents + b"\0" + struct.pack("<I", mask_crc(crc32c(contents + b"\0")))


def write_bundle(prefix: Path, tensors: dict[str, np.ndarray], records_per_block: int) -> None:
    """Write `tensors` as a TF bundle whose index spreads records over several data blocks."""
    dtype_codes = {np.dtype("<f4"): 1, np.dtype("<i8"): 9, np.dtype("<f8"): 2}
    data = bytearray()
    records = [(b"", field_varint(1, 1) + field_varint(2, 0))]  # header: 1 shard, little endian
    for name in sorted(tensors):
        raw = np.ascontiguousarray(tensors[name]).tobytes()
        records.append(
            (
                name.encode(),
                entry_proto(dtype_codes[tensors[name].dtype], tensors[name].shape, len(data), raw),
            )
        )
        data += raw
    table = bytearray()
    index_records = []
    for start in range(0, len(records), records_per_block):
        chunk = records[start : start + records_per_block]
        contents = block(chunk)
        index_records.append((chunk[-1][0], varint(len(table)) + varint(len(contents))))
        table += with_trailer(contents)
    meta_offset = len(table)
    table += with_trailer(block([]))
    index_offset = len(table)
    index_contents = block(index_records)
    table += with_trailer(index_contents)
    handles = varint(meta_offset) + varint(len(block([]))) + varint(index_offset)
    handles += varint(len(index_contents))
    footer = handles.ljust(40, b"\0") + struct.pack("<Q", 0xDB4775248B80FB57)
    Path(f"{prefix}.index").write_bytes(bytes(table) + footer)
    Path(f"{prefix}.data-00000-of-00001").write_bytes(bytes(data))


# --- primitives -------------------------------------------------------------------------------


def test_crc32c_matches_the_standard_check_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283
    assert crc32c(b"") == 0


def test_unmask_inverts_mask() -> None:
    for crc in (0, 1, 0xE3069283, 0xFFFFFFFF):
        assert unmask_crc(mask_crc(crc)) == crc


@pytest.mark.parametrize("value", [0, 1, 127, 128, 300, 2**32 + 5, 2**63 - 1])
def test_varint_round_trip(value: int) -> None:
    encoded = b"\x07" + varint(value)
    assert read_varint(encoded, 1) == (value, len(encoded))


def test_truncated_varint_is_an_error() -> None:
    with pytest.raises(CheckpointError, match="truncated varint"):
        read_varint(b"\x80\x80", 0)


def test_proto_fields_decode_each_wire_type() -> None:
    buf = field_varint(1, 150) + field_bytes(2, b"abc") + varint(6 << 3 | 5) + b"\x01\0\0\0"
    buf += varint(7 << 3 | 1) + struct.pack("<Q", 2**40)
    assert list(iter_proto_fields(buf)) == [(1, 150), (2, b"abc"), (6, 1), (7, 2**40)]


# --- hand-built bundles -----------------------------------------------------------------------


@pytest.fixture
def tensors() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(7)
    return {
        "dense/kernel": rng.standard_normal((5, 3)).astype(np.float32),
        "dense/bias": rng.standard_normal(3).astype(np.float32),
        "dense_1/kernel": rng.standard_normal((3, 2, 2)).astype(np.float64),
        "global_step": np.array(1234, dtype=np.int64),
        "scalar": np.array(2.5, dtype=np.float32),
    }


@pytest.mark.parametrize("records_per_block", [1, 2, 100])
def test_reads_back_what_was_written(
    tmp_path: Path, tensors: dict[str, np.ndarray], records_per_block: int
) -> None:
    write_bundle(tmp_path / "model", tensors, records_per_block)
    bundle = TensorBundle(tmp_path / "model")
    assert bundle.names() == sorted(tensors)
    for name, expected in tensors.items():
        got = bundle.read(name)
        assert got.dtype == expected.dtype
        assert got.shape == expected.shape
        np.testing.assert_array_equal(got, expected)


def test_corrupt_tensor_bytes_fail_the_crc(tmp_path: Path, tensors: dict[str, np.ndarray]) -> None:
    write_bundle(tmp_path / "model", tensors, 2)
    data_path = tmp_path / "model.data-00000-of-00001"
    data = bytearray(data_path.read_bytes())
    offset = TensorBundle(tmp_path / "model").entries["dense/bias"].offset
    data[offset] ^= 0xFF
    data_path.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="'dense/bias': CRC32C mismatch"):
        TensorBundle(tmp_path / "model").read("dense/bias")
    unchecked = TensorBundle(tmp_path / "model", verify_crc=False).read("dense/bias")
    assert not np.array_equal(unchecked, tensors["dense/bias"])


def test_corrupt_index_block_is_detected(tmp_path: Path, tensors: dict[str, np.ndarray]) -> None:
    write_bundle(tmp_path / "model", tensors, 100)
    index_path = tmp_path / "model.index"
    table = bytearray(index_path.read_bytes())
    table[10] ^= 0x01
    index_path.write_bytes(bytes(table))
    with pytest.raises(CheckpointError, match="CRC mismatch in block"):
        TensorBundle(tmp_path / "model")


def test_bad_magic_and_missing_files(tmp_path: Path, tensors: dict[str, np.ndarray]) -> None:
    with pytest.raises(CheckpointError, match="does not exist"):
        TensorBundle(tmp_path / "absent")
    write_bundle(tmp_path / "model", tensors, 100)
    (tmp_path / "other.index").write_bytes(b"\0" * 64)
    with pytest.raises(CheckpointError, match="bad table magic"):
        TensorBundle(tmp_path / "other")
    (tmp_path / "model.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match="data shard"):
        TensorBundle(tmp_path / "model")


def test_unknown_tensor_name_is_named_in_the_error(
    tmp_path: Path, tensors: dict[str, np.ndarray]
) -> None:
    write_bundle(tmp_path / "model", tensors, 100)
    with pytest.raises(CheckpointError, match="no tensor 'dense/nope'"):
        TensorBundle(tmp_path / "model").read("dense/nope")


# --- musicnn's real checkpoint ----------------------------------------------------------------


def test_reads_the_msd_musicnn_checkpoint() -> None:
    bundle = TensorBundle(checkpoint_prefix(default_checkpoint_dir()))
    assert bundle.header.num_shards == 1
    shapes = {name: bundle.entries[name].shape for name in bundle.names()}
    assert shapes["conv2d/kernel"] == (7, 38, 1, 204)
    assert shapes["conv2d_1/kernel"] == (7, 67, 1, 204)
    assert shapes["conv2d_5/kernel"] == (7, 561, 1, 64)
    assert shapes["dense/kernel"] == (1506, 200)
    assert shapes["dense_1/kernel"] == (200, 50)
    assert shapes["batch_normalization_10/moving_variance"] == (200,)
    kernel = bundle.read("dense_1/kernel")  # CRC-checked against the index
    assert kernel.dtype == np.float32 and np.all(np.isfinite(kernel))
    assert np.all(bundle.read("batch_normalization_9/moving_variance") > 0)


def test_a_copied_checkpoint_reads_the_same(tmp_path: Path) -> None:
    source = default_checkpoint_dir()
    copy = tmp_path / "MSD_musicnn"
    copy.mkdir()
    for name in (".index", ".data-00000-of-00001"):
        shutil.copyfile(source / name, copy / name)
    original = TensorBundle(checkpoint_prefix(source)).read("conv2d_2/kernel")
    np.testing.assert_array_equal(
        TensorBundle(checkpoint_prefix(copy)).read("conv2d_2/kernel"), original
    )
