"""Read TensorFlow V2 checkpoints ("tensor bundles") without TensorFlow.

A bundle is `<prefix>.index` plus `<prefix>.data-NNNNN-of-MMMMM` shards. The index is a
LevelDB-style sorted string table: data blocks of prefix-compressed key/value records, an
index block pointing at them, and a fixed 48-byte footer. The value stored under the empty
key is a `BundleHeaderProto`; every other key is a tensor name whose value is a
`BundleEntryProto` (dtype, shape, shard, offset, size, masked CRC32C) locating the tensor's
raw little-endian bytes in a data shard. Both protobufs are decoded by hand below, so the
reader needs neither TensorFlow nor generated protobuf code.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from services.common.errors import FailedPrecondition

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two BlockHandles padded to 40 bytes, then the 8-byte magic
_BLOCK_TRAILER_SIZE = 5  # 1 byte compression type + 4 bytes masked CRC32C
_NO_COMPRESSION = 0

# tensorflow/core/framework/types.proto -> NumPy; bfloat16 and strings have no plain NumPy form.
_NUMPY_DTYPES: dict[int, np.dtype] = {
    1: np.dtype("<f4"),  # DT_FLOAT
    2: np.dtype("<f8"),  # DT_DOUBLE
    3: np.dtype("<i4"),  # DT_INT32
    4: np.dtype("u1"),  # DT_UINT8
    5: np.dtype("<i2"),  # DT_INT16
    6: np.dtype("i1"),  # DT_INT8
    9: np.dtype("<i8"),  # DT_INT64
    10: np.dtype("?"),  # DT_BOOL
    17: np.dtype("<u2"),  # DT_UINT16
    19: np.dtype("<f2"),  # DT_HALF
    22: np.dtype("<u4"),  # DT_UINT32
    23: np.dtype("<u8"),  # DT_UINT64
}


class CheckpointError(FailedPrecondition):
    """The checkpoint is missing, corrupt, or uses a feature this reader does not support."""


# --- CRC32C (Castagnoli), as LevelDB and TensorFlow store it ----------------------------------


def _crc32c_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC32C_TABLE = _crc32c_table()


def crc32c(data: bytes) -> int:
    """Plain CRC32C of `data`; pure Python, about 10 MB/s, so only used on what we load."""
    table = _CRC32C_TABLE
    crc = 0xFFFFFFFF
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def unmask_crc(masked: int) -> int:
    """Undo LevelDB's CRC masking (rotate right 15 bits, subtract a constant)."""
    rot = (masked - 0xA282EAD8) & 0xFFFFFFFF
    return ((rot >> 17) | (rot << 15)) & 0xFFFFFFFF


# --- varints and a minimal protobuf wire-format decoder ---------------------------------------


def read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    """Decode one base-128 varint at `pos`; return (value, position after it)."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise CheckpointError(f"truncated varint at byte {pos}")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise CheckpointError(f"varint longer than 10 bytes ending at byte {pos}")


def iter_proto_fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    """Yield (field number, value) pairs: ints for varint/fixed fields, bytes for messages."""
    pos = 0
    while pos < len(buf):
        tag, pos = read_varint(buf, pos)
        field, wire_type = tag >> 3, tag & 7
        value: int | bytes
        if wire_type == 0:
            value, pos = read_varint(buf, pos)
        elif wire_type == 1:
            (value,) = struct.unpack_from("<Q", buf, pos)
            pos += 8
        elif wire_type == 2:
            length, pos = read_varint(buf, pos)
            value = bytes(buf[pos : pos + length])
            pos += length
        elif wire_type == 5:
            (value,) = struct.unpack_from("<I", buf, pos)
            pos += 4
        else:
            raise CheckpointError(f"unsupported protobuf wire type {wire_type} (field {field})")
        yield field, value


def _int_field(value: int | bytes, what: str) -> int:
    if not isinstance(value, int):
        raise CheckpointError(f"{what} is length-delimited, expected an integer")
    return value


def _bytes_field(value: int | bytes, what: str) -> bytes:
    if not isinstance(value, bytes):
        raise CheckpointError(f"{what} is an integer, expected a message")
    return value


# --- the sorted string table ------------------------------------------------------------------


@dataclass(frozen=True)
class _BlockHandle:
    offset: int
    size: int

    @classmethod
    def decode(cls, buf: bytes, pos: int = 0) -> tuple[_BlockHandle, int]:
        offset, pos = read_varint(buf, pos)
        size, pos = read_varint(buf, pos)
        return cls(offset, size), pos


def _read_block(table: bytes, handle: _BlockHandle, source: Path) -> bytes:
    end = handle.offset + handle.size
    if end + _BLOCK_TRAILER_SIZE > len(table):
        raise CheckpointError(f"{source}: block at {handle.offset} runs past the end of the file")
    contents = table[handle.offset : end]
    compression = table[end]
    if compression != _NO_COMPRESSION:
        raise CheckpointError(f"{source}: block at {handle.offset} uses compression {compression}")
    (masked,) = struct.unpack_from("<I", table, end + 1)
    if crc32c(table[handle.offset : end + 1]) != unmask_crc(masked):
        raise CheckpointError(f"{source}: CRC mismatch in block at {handle.offset}")
    return contents


def _iter_block(block: bytes, source: Path) -> Iterator[tuple[bytes, bytes]]:
    """Yield the (key, value) records of one block; keys share prefixes with their predecessor."""
    if len(block) < 4:
        raise CheckpointError(f"{source}: block of {len(block)} bytes has no restart array")
    (num_restarts,) = struct.unpack_from("<I", block, len(block) - 4)
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise CheckpointError(f"{source}: block claims {num_restarts} restart points")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = read_varint(block, pos)
        non_shared, pos = read_varint(block, pos)
        value_length, pos = read_varint(block, pos)
        if shared > len(key) or pos + non_shared + value_length > limit:
            raise CheckpointError(f"{source}: corrupt record at byte {pos} of a block")
        key = key[:shared] + block[pos : pos + non_shared]
        pos += non_shared
        yield key, block[pos : pos + value_length]
        pos += value_length


def iter_table(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """Yield every (key, value) record of a LevelDB-format table file, in key order."""
    table = path.read_bytes()
    if len(table) < _FOOTER_SIZE:
        raise CheckpointError(f"{path}: {len(table)} bytes is too short for a table")
    footer = table[-_FOOTER_SIZE:]
    (magic,) = struct.unpack_from("<Q", footer, _FOOTER_SIZE - 8)
    if magic != _TABLE_MAGIC:
        raise CheckpointError(f"{path}: bad table magic {magic:#x}")
    _metaindex, pos = _BlockHandle.decode(footer)
    index_handle, _ = _BlockHandle.decode(footer, pos)
    for _last_key, handle_bytes in _iter_block(_read_block(table, index_handle, path), path):
        handle, _ = _BlockHandle.decode(handle_bytes)
        yield from _iter_block(_read_block(table, handle, path), path)


# --- bundle entries ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor lives in the data shards (decoded `BundleEntryProto`)."""

    name: str
    dtype_code: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int  # unmasked CRC32C of the tensor's bytes

    @property
    def dtype(self) -> np.dtype:
        try:
            return _NUMPY_DTYPES[self.dtype_code]
        except KeyError:
            raise CheckpointError(
                f"tensor {self.name!r} has TensorFlow dtype code {self.dtype_code}, "
                "which this reader cannot convert"
            ) from None


def _decode_shape(buf: bytes, name: str) -> tuple[int, ...]:
    dims = []
    for field, value in iter_proto_fields(buf):
        if field == 2:  # repeated Dim { int64 size = 1; string name = 2; }
            size = 0
            for dim_field, dim_value in iter_proto_fields(_bytes_field(value, f"{name} dim")):
                if dim_field == 1:
                    size = _int_field(dim_value, f"{name} dim size")
            dims.append(size)
        elif field == 3 and value:
            raise CheckpointError(f"tensor {name!r} has an unknown rank")
    return tuple(dims)


def decode_entry(name: str, buf: bytes) -> TensorEntry:
    """Decode a BundleEntryProto; sliced (partitioned) tensors are not supported."""
    fields: dict[str, int] = {"dtype": 0, "shard_id": 0, "offset": 0, "size": 0, "crc32c": 0}
    numbered = {1: "dtype", 3: "shard_id", 4: "offset", 5: "size", 6: "crc32c"}
    shape: tuple[int, ...] = ()
    for field, value in iter_proto_fields(buf):
        if field in numbered:
            fields[numbered[field]] = _int_field(value, f"{name} field {field}")
        elif field == 2:
            shape = _decode_shape(_bytes_field(value, f"{name} shape"), name)
        elif field == 7:
            raise CheckpointError(f"tensor {name!r} is stored in slices, which is not supported")
    return TensorEntry(
        name=name,
        dtype_code=fields["dtype"],
        shape=shape,
        shard_id=fields["shard_id"],
        offset=fields["offset"],
        size=fields["size"],
        crc32c=unmask_crc(fields["crc32c"]),
    )


@dataclass(frozen=True)
class BundleHeader:
    num_shards: int
    little_endian: bool


def _decode_header(buf: bytes) -> BundleHeader:
    num_shards, endianness = 1, 0
    for field, value in iter_proto_fields(buf):
        if field == 1:
            num_shards = _int_field(value, "header num_shards")
        elif field == 2:
            endianness = _int_field(value, "header endianness")
    return BundleHeader(num_shards=num_shards, little_endian=endianness == 0)


class TensorBundle:
    """A TensorFlow checkpoint opened for reading: `bundle.read("dense/kernel")`."""

    def __init__(self, prefix: str | Path, *, verify_crc: bool = True) -> None:
        self.prefix = str(prefix)
        self.verify_crc = verify_crc
        self.index_path = Path(self.prefix + ".index")
        if not self.index_path.is_file():
            raise CheckpointError(f"checkpoint index {self.index_path} does not exist")
        header: BundleHeader | None = None
        entries: dict[str, TensorEntry] = {}
        for key, value in iter_table(self.index_path):
            if key == b"":
                header = _decode_header(value)
            else:
                name = key.decode("utf-8")
                entries[name] = decode_entry(name, value)
        if header is None:
            raise CheckpointError(f"{self.index_path}: no bundle header record")
        if not header.little_endian:
            raise CheckpointError(f"{self.index_path}: big-endian bundles are not supported")
        self.header = header
        self.entries = entries
        self.data_paths = [
            Path(f"{self.prefix}.data-{shard:05d}-of-{header.num_shards:05d}")
            for shard in range(header.num_shards)
        ]
        for path in self.data_paths:
            if not path.is_file():
                raise CheckpointError(f"checkpoint data shard {path} does not exist")

    @property
    def files(self) -> list[Path]:
        """Every file the bundle consists of, index first."""
        return [self.index_path, *self.data_paths]

    def names(self) -> list[str]:
        return sorted(self.entries)

    def read(self, name: str) -> np.ndarray:
        """The tensor `name` as a NumPy array (a fresh, writable copy), CRC-checked by default."""
        try:
            entry = self.entries[name]
        except KeyError:
            raise CheckpointError(f"checkpoint {self.prefix!r} has no tensor {name!r}") from None
        dtype = entry.dtype
        expected = dtype.itemsize * int(np.prod(entry.shape, dtype=np.int64))
        if entry.size != expected:
            raise CheckpointError(
                f"tensor {name!r}: {entry.size} bytes stored, shape {entry.shape} "
                f"of {dtype} needs {expected}"
            )
        with self.data_paths[entry.shard_id].open("rb") as handle:
            handle.seek(entry.offset)
            raw = handle.read(entry.size)
        if len(raw) != entry.size:
            raise CheckpointError(f"tensor {name!r} runs past the end of its data shard")
        if self.verify_crc and crc32c(raw) != entry.crc32c:
            raise CheckpointError(f"tensor {name!r}: CRC32C mismatch, the data file is corrupt")
        return np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
