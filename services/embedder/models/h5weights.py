"""Read the OpenL3 audio weights from their Keras HDF5 files, and verify the files first.

The weights (CC BY 4.0, `models` branch of marl/openl3) are distributed as gzip-compressed
Keras `save_weights` files. Such a file lists its layers in the root attribute
`layer_names`; each layer group lists its variables in `weight_names` ("conv2d_1/kernel:0",
...), each stored as a dataset at that path inside the group. A whole-model save keeps the
same structure under `model_weights`. Keras assigns weights by position among the layers
that have any (not by name), so we do the same and check every shape.

Verification: a file is trusted only if its git blob id (what `git hash-object FILE` prints:
sha1 of b"blob <size>\\0" + contents) is one of the ids the shared README records for the
distributed `.h5.gz` files. An uncompressed `.h5` cannot be checked against those ids (gzip
output is not reproducible), so it loads only when verification is explicitly turned off.
"""

from __future__ import annotations

import gzip
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from services.common.errors import FailedPrecondition

if TYPE_CHECKING:
    import h5py

_READ_CHUNK = 1 << 20


class WeightsError(FailedPrecondition):
    """The weights file is missing, unverified, corrupt, or not an OpenL3 audio model."""


@dataclass(frozen=True)
class KnownWeights:
    """One of the distributed OpenL3 audio weight files."""

    file_name: str
    blob_id: str
    input_repr: str  # "mel256" or "mel128"
    content_type: str
    version: str  # "v0_4_0": spectrogram layers removed; "v0_2_0": kapre 0.1.x layers kept


# From ../shared/README.md (openl3-regression): `git hash-object` of each distributed file.
KNOWN_WEIGHTS: tuple[KnownWeights, ...] = (
    KnownWeights(
        "openl3_audio_mel256_music-v0_4_0.h5.gz",
        "15e483646fa3d4091a463f0affbb706e6bbbb098",
        "mel256",
        "music",
        "v0_4_0",
    ),
    KnownWeights(
        "openl3_audio_mel128_music-v0_4_0.h5.gz",
        "73ff29de441865318c4b3a3f98c40763c4773e7c",
        "mel128",
        "music",
        "v0_4_0",
    ),
    KnownWeights(
        "openl3_audio_mel256_music.h5.gz",
        "138dcc0a9c95ba3c08605944a2d74901f634dcf6",
        "mel256",
        "music",
        "v0_2_0",
    ),
    KnownWeights(
        "openl3_audio_mel128_music.h5.gz",
        "93447b54001ec4c1df7f9a11946ba534908bbc19",
        "mel128",
        "music",
        "v0_2_0",
    ),
)


def git_blob_id(path: Path) -> str:
    """What `git hash-object PATH` prints: sha1 over b"blob <size>\\0" and the bytes."""
    digest = hashlib.sha1(f"blob {path.stat().st_size}\0".encode(), usedforsecurity=False)
    with path.open("rb") as handle:
        while chunk := handle.read(_READ_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def identify_weights(path: Path, input_repr: str | None = None) -> KnownWeights:
    """The known weight file that `path` is, by git blob id; an error names both ids otherwise.

    A file carrying a distributed name must have that name's id. A renamed file must have one
    of the four ids. With `input_repr`, the identified file must also be for that front end.
    """
    if not path.is_file():
        raise WeightsError(f"OpenL3 weights file {str(path)!r} does not exist")
    if not path.name.endswith(".h5.gz"):
        raise WeightsError(
            f"OpenL3 weights file {str(path)!r} is not a distributed .h5.gz file: only those "
            "can be verified against the known git blob ids"
        )
    actual = git_blob_id(path)
    by_name = {known.file_name: known for known in KNOWN_WEIGHTS}
    if path.name in by_name:
        known = by_name[path.name]
        if actual != known.blob_id:
            raise WeightsError(
                f"OpenL3 weights file {str(path)!r} has git blob id {actual}, "
                f"but {known.file_name} must have {known.blob_id}"
            )
    else:
        matches = [known for known in KNOWN_WEIGHTS if known.blob_id == actual]
        if not matches:
            expected = ", ".join(f"{k.blob_id} ({k.file_name})" for k in KNOWN_WEIGHTS)
            raise WeightsError(
                f"OpenL3 weights file {str(path)!r} has git blob id {actual}, "
                f"which is none of the known OpenL3 audio weights: {expected}"
            )
        known = matches[0]
    if input_repr is not None and known.input_repr != input_repr:
        raise WeightsError(
            f"OpenL3 weights file {str(path)!r} is {known.file_name} (git blob id "
            f"{known.blob_id}), weights for {known.input_repr}, not for {input_repr!r}"
        )
    return known


# --- reading Keras HDF5 weights ---------------------------------------------------------------


@dataclass(frozen=True)
class KerasLayer:
    """A layer with weights: its name and its variables in stored order ("kernel", "bias"...)."""

    name: str
    weights: dict[str, np.ndarray]  # short name (no layer prefix, no ":0") -> array

    def kind(self) -> str:
        names = set(self.weights)
        if names == {"gamma", "beta", "moving_mean", "moving_variance"}:
            return "batch_norm"
        if names == {"kernel", "bias"} and self.weights["kernel"].ndim == 4:
            return "conv2d"
        return "other"


def _text(value: object) -> str:
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _short_name(weight_name: str) -> str:
    """ "batch_normalization_1/moving_mean:0" -> "moving_mean"."""
    return weight_name.rsplit("/", 1)[-1].split(":", 1)[0]


def read_keras_layers(path: Path) -> list[KerasLayer]:
    """The layers that have weights, in the file's order, from a Keras .h5 or .h5.gz file."""
    import h5py  # imported here: only loading weights needs it

    if not path.is_file():
        raise WeightsError(f"Keras weights file {str(path)!r} does not exist")
    try:
        if path.name.endswith(".gz"):
            with gzip.open(path, "rb") as compressed:
                source: Path | io.BytesIO = io.BytesIO(compressed.read())
        else:
            source = path
        with h5py.File(source, "r") as handle:
            return _layers(handle, path)
    except (OSError, EOFError, gzip.BadGzipFile, KeyError) as exc:  # KeyError: h5 object missing
        raise WeightsError(f"cannot read Keras weights file {str(path)!r}: {exc}") from exc


def _layers(root: h5py.Group, path: Path) -> list[KerasLayer]:
    if "layer_names" not in root.attrs and "model_weights" in root:
        root = root["model_weights"]  # a whole-model save
    if "layer_names" not in root.attrs:
        raise WeightsError(f"{str(path)!r} is not a Keras weights file (no layer_names)")
    layers = []
    for layer_name in (_text(name) for name in root.attrs["layer_names"]):
        group = root[layer_name]
        weight_names = [_text(name) for name in group.attrs.get("weight_names", [])]
        if not weight_names:
            continue
        weights = {_short_name(name): np.asarray(group[name]) for name in weight_names}
        layers.append(KerasLayer(layer_name, weights))
    return layers


# --- the OpenL3 audio network's parameters ----------------------------------------------------


@dataclass(frozen=True)
class BatchNormParams:
    gamma: np.ndarray
    beta: np.ndarray
    moving_mean: np.ndarray
    moving_variance: np.ndarray

    @classmethod
    def from_layer(cls, layer: KerasLayer) -> BatchNormParams:
        w = layer.weights
        return cls(w["gamma"], w["beta"], w["moving_mean"], w["moving_variance"])


@dataclass(frozen=True)
class ConvParams:
    kernel: np.ndarray  # Keras layout (kernel height, kernel width, in channels, out channels)
    bias: np.ndarray

    @classmethod
    def from_layer(cls, layer: KerasLayer) -> ConvParams:
        return cls(layer.weights["kernel"], layer.weights["bias"])


N_CONV_LAYERS = 8


@dataclass(frozen=True)
class OpenL3AudioParams:
    """The trained parameters of `_construct_mel{128,256}_audio_network` (openl3 0.4.2).

    input_norm: BatchNormalization on the spectrogram; convs[i] is the i-th Conv2D; norms[i]
    is the BatchNormalization after convs[i] (the last conv, `audio_embedding_layer`, has
    none, so there are 7).
    """

    input_norm: BatchNormParams
    convs: tuple[ConvParams, ...]
    norms: tuple[BatchNormParams, ...]
    frontend_layers: tuple[str, ...]  # v0_2_0 files: kapre 0.1.x layers we skipped

    @classmethod
    def from_layers(cls, layers: list[KerasLayer], source: Path) -> OpenL3AudioParams:
        kinds = [layer.kind() for layer in layers]
        start = next((i for i, kind in enumerate(kinds) if kind != "other"), len(kinds))
        # The older files keep kapre 0.1.x's spectrogram layer (its DFT kernels and mel
        # matrix as weights) ahead of the network; our front end computes those itself.
        skipped = tuple(layer.name for layer in layers[:start])
        body, body_kinds = layers[start:], kinds[start:]
        expected = ["batch_norm"] + ["conv2d", "batch_norm"] * (N_CONV_LAYERS - 1) + ["conv2d"]
        if body_kinds != expected:
            found = ", ".join(
                f"{layer.name} ({kind})" for layer, kind in zip(body, body_kinds, strict=False)
            )
            raise WeightsError(
                f"{str(source)!r} does not have the OpenL3 audio network's layers "
                f"(batch norm, then 8 conv2d each followed by a batch norm but the last); "
                f"found: {found or 'no layers with weights'}"
            )
        return cls(
            input_norm=BatchNormParams.from_layer(body[0]),
            convs=tuple(ConvParams.from_layer(layer) for layer in body[1::2]),
            norms=tuple(BatchNormParams.from_layer(layer) for layer in body[2::2]),
            frontend_layers=skipped,
        )

    def check_consistent(self, source: Path) -> None:
        """Each layer's shapes agree with its neighbours' (3x3 kernels, channel counts)."""
        channels = 1
        if self.input_norm.gamma.shape != (1,):
            raise WeightsError(
                f"{str(source)!r}: input batch norm has shape {self.input_norm.gamma.shape}, "
                "expected (1,) for a one-channel spectrogram"
            )
        for index, conv in enumerate(self.convs):
            height, width, in_channels, out_channels = conv.kernel.shape
            if (height, width, in_channels) != (3, 3, channels):
                raise WeightsError(
                    f"{str(source)!r}: conv {index} kernel has shape {conv.kernel.shape}, "
                    f"expected (3, 3, {channels}, filters)"
                )
            if conv.bias.shape != (out_channels,):
                raise WeightsError(
                    f"{str(source)!r}: conv {index} bias has shape {conv.bias.shape}, "
                    f"expected ({out_channels},)"
                )
            if index < len(self.norms):
                norm = self.norms[index]
                shapes = {a.shape for a in (norm.gamma, norm.beta, norm.moving_mean)}
                shapes.add(norm.moving_variance.shape)
                if shapes != {(out_channels,)}:
                    raise WeightsError(
                        f"{str(source)!r}: batch norm after conv {index} has shapes "
                        f"{sorted(shapes)}, expected ({out_channels},)"
                    )
            channels = out_channels


def read_openl3_params(path: Path) -> OpenL3AudioParams:
    """The OpenL3 audio network's parameters from a Keras .h5 / .h5.gz (not verified here)."""
    params = OpenL3AudioParams.from_layers(read_keras_layers(path), path)
    params.check_consistent(path)
    return params
