"""Float32 rounding-error bounds for the embedder's numeric tests, derived per computation.

OpenBLAS picks its kernels by CPU (Haswell, SkylakeX, ...) and their blocking and summation
orders differ, as do NumPy's own loops and TensorFlow's; so two correct float32 evaluations
of the same thing differ by rounding, and only a bound on that rounding, worked out from the
computation and its actual operands, tells them from a bug. Tolerances come from here.

u = 2^-24 is float32's unit roundoff: fl(a op b) = (a op b)(1 + d) with |d| <= u.

Worst case, for single computations. A sum of n terms (a length-n dot product) evaluated in
any order, with or without fused multiply-adds, is within gamma_n * sum|a_i b_i| of the exact
sum, gamma_n = n u / (1 - n u): each term passes through at most n roundings.

Networks. Chained through a network's layers (musicnn's batch norms scale by up to ~120) the
worst case grows past the values themselves (it lets every error line up with the signs of
every later weight), so network outputs are compared with the probabilistic form of the same
analysis.
To first order an output's error is sum_r c_r d_r over every rounding r, c_r being the
rounded quantity times the output's derivative with respect to it. With the d_r independent
and zero-mean (the standard model of rounding), Hoeffding's inequality bounds it by
LAMBDA u sqrt(S), S = sum_r c_r^2, except with probability 2 exp(-LAMBDA^2 / 2) per value
(3e-8 for LAMBDA = 6). The tests carry S, in units of u^2, through a network next to its
values, by these rules:
- a dot product of n terms plus a bias, in any order: each of its n products and n
  additions rounds a quantity bounded by M = sum|a_i b_i| + |bias| (as is every partial sum),
  so it adds at most (n + 1) M^2; a weight rounded to float32 once adds M^2 more;
- an error S_j already in input j reaches the output through weight w_j: sum_j w_j^2 S_j.
  Errors of different inputs are taken as uncorrelated: the one assumption beyond the
  model of rounding itself;
- ReLU and max pooling pass the error of the selected input (see `relu_scale`,
  `max_with_scale`); a difference of two float32 evaluations has S = S_1 + S_2.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from services.embedder.models.checkpoint import TensorBundle
from services.embedder.models.musicnn import N_FRAMES, checkpoint_prefix, default_checkpoint_dir

U = 2.0**-24  # float32 unit roundoff
U64 = 2.0**-53  # float64's, for the float64 references
LAMBDA = 6.0  # standard scales in a bound that fails with probability 2 exp(-18) = 3e-8


def gamma(n: int, unit: float = U) -> float:
    """gamma_n = n u / (1 - n u), the worst-case relative error factor of n roundings."""
    return n * unit / (1 - n * unit)


def likely_bound(scale: np.ndarray | float) -> np.ndarray:
    """The error bound LAMBDA u sqrt(S) for rounding scales S (in units of u^2)."""
    return LAMBDA * U * np.sqrt(scale)


def relu_scale(pre_activation: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The rounding scale after ReLU: where the exact value lies below -LAMBDA u sqrt(S),
    both evaluations give 0 (within the bound's probability) and no error passes."""
    return np.where(pre_activation + likely_bound(scale) < 0, 0.0, scale)


def max_with_scale(
    values: np.ndarray, scale: np.ndarray, axis: int | tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """Maxima over `axis` and their rounding scales: |max a - max b| <= max |a_i - b_i| over
    the inputs that could be the maximum of either evaluation (those within the bounds of
    the largest), so the scale is the largest among those contenders'."""
    top = values.max(axis=axis, keepdims=True)
    reach = likely_bound(scale)
    contender = values + reach >= top - reach.max(axis=axis, keepdims=True)
    return values.max(axis=axis), np.where(contender, scale, 0.0).max(axis=axis)


def assert_within(
    actual: np.ndarray, expected: np.ndarray, bound: np.ndarray | float, what: str = "values"
) -> None:
    """Elementwise |actual - expected| <= bound, naming the worst offender otherwise."""
    actual64 = np.asarray(actual, dtype=np.float64)
    expected64 = np.asarray(expected, dtype=np.float64)
    assert actual64.shape == expected64.shape, f"{what}: {actual64.shape} != {expected64.shape}"
    bound64 = np.broadcast_to(np.asarray(bound, dtype=np.float64), actual64.shape)
    difference = np.abs(actual64 - expected64)
    bad = ~(difference <= bound64)  # NaN counts as bad
    if np.any(bad):
        worst = np.unravel_index(
            np.argmax(np.where(bad, difference / np.maximum(bound64, 1e-300), 0)), bad.shape
        )
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} differ by more than their rounding bound; "
            f"worst at {tuple(int(i) for i in worst)}: {actual64[worst]!r} vs "
            f"{expected64[worst]!r}, difference {difference[worst]:.3g} > bound "
            f"{bound64[worst]:.3g}"
        )


# --- MSD_musicnn -----------------------------------------------------------------------------

# Batch norm in inference mode, y = (x - mean) * gamma / sqrt(var + eps) + beta, evaluated in
# float32 as TensorFlow does it (var + eps, rsqrt: a hardware estimate refined by a Newton
# step, counted as 4 roundings, times gamma, then (x - mean) * scale + beta or x * scale +
# (beta - mean * scale)), or as ours does (x * scale + shift, both rounded from float64):
# at most 10 roundings, each of a quantity bounded by |x scale| + |mean scale| + |beta|.
_NORM_ROUNDINGS = 10
# The sigmoid (a library exp, or TensorFlow's rational approximation): within 16 u of it.
_SIGMOID_ROUNDINGS = 16


@dataclass(frozen=True)
class _Norm:
    scale: np.ndarray
    shift: np.ndarray
    rest: np.ndarray  # |mean * scale| + |beta|

    @classmethod
    def read(cls, name: str) -> _Norm:
        gamma_, beta, mean, variance = (
            _checkpoint(f"{name}/{part}").astype(np.float64)
            for part in ("gamma", "beta", "moving_mean", "moving_variance")
        )
        scale = gamma_ / np.sqrt(variance + 1e-3)
        return cls(scale, beta - mean * scale, np.abs(mean * scale) + np.abs(beta))

    def apply(self, x: np.ndarray, scale: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Values and rounding scales after the batch norm."""
        local = _NORM_ROUNDINGS * (np.abs(x * self.scale) + self.rest) ** 2
        return x * self.scale + self.shift, self.scale**2 * scale + local


def _dense(
    x: np.ndarray, scale: np.ndarray, kernel: np.ndarray, bias: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """x @ kernel + bias (rows of x are windows or feature vectors), with rounding scales."""
    n = kernel.shape[0]
    magnitude = np.abs(x) @ np.abs(kernel) + np.abs(bias)
    return x @ kernel + bias, (n + 1) * magnitude**2 + scale @ (kernel * kernel)


def musicnn_rounding_scales(patches: np.ndarray, chunk: int = 4) -> dict[str, np.ndarray]:
    """Rounding scales S (units of u^2) of one float32 evaluation of MSD_musicnn on (n, 187,
    96) patches, by the rules in the module docstring, for each output: "max_pool",
    "mean_pool", "penultimate", "logits", "taggram". Either implementation (ours or
    TensorFlow's) is covered: any summation order, the larger count of roundings.

    Computed in float32 next to the values (the bound needs magnitudes to a few digits),
    `chunk` patches at a time; the checkpoint is read here, independently of the model."""
    parts = [
        _musicnn_scales(patches[start : start + chunk]) for start in range(0, len(patches), chunk)
    ]
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


@lru_cache(maxsize=64)
def _checkpoint(name: str) -> np.ndarray:
    """One tensor of the MSD_musicnn checkpoint (read once)."""
    return _bundle().read(name)


@lru_cache(maxsize=1)
def _bundle() -> TensorBundle:
    return TensorBundle(checkpoint_prefix(default_checkpoint_dir()))


def _musicnn_scales(patches: np.ndarray) -> dict[str, np.ndarray]:
    def norm(index: int) -> _Norm:
        return _Norm.read("batch_normalization" + (f"_{index}" if index else ""))

    def conv(index: int) -> tuple[np.ndarray, np.ndarray]:
        name = f"conv2d_{index}" if index else "conv2d"
        return _checkpoint(f"{name}/kernel")[:, :, 0, :], _checkpoint(f"{name}/bias")

    batch = len(patches)
    x, x_scale = norm(0).apply(patches.astype(np.float64), np.zeros(1))
    x32 = x.astype(np.float32)
    # Front end: conv -> ReLU -> batch norm -> max over frequency. The conv's local term
    # uses M <= max|x| * sum|w| + |bias|, one bound for every position of a patch.
    x_max = np.abs(x).max(axis=(1, 2))[:, None, None]  # (b, 1, 1)
    x_scale_max = x_scale.max(axis=(1, 2))[:, None, None]
    front, front_scale = [], []
    for index in range(5):
        kernel, bias = conv(index)
        height, width, filters = kernel.shape
        if index < 2:  # timbral: valid over (time, mel) of the input padded by 3 frames
            padded = np.pad(x32, ((0, 0), (3, 3), (0, 0)))
            windows = sliding_window_view(padded, (height, width), axis=(1, 2))
        else:  # temporal: (k x 1) along time, TensorFlow "same" padding
            before = (height - 1) // 2
            padded = np.pad(x32, ((0, 0), (before, height - 1 - before), (0, 0)))
            windows = sliding_window_view(padded, (height, 1), axis=(1, 2))
        shape = windows.shape[:3]
        columns = windows.reshape(-1, height * width)
        conv_out = (columns @ kernel.reshape(-1, filters)).reshape(*shape, filters)
        n = height * width
        w64 = kernel.reshape(-1, filters).astype(np.float64)
        magnitude = x_max * np.abs(w64).sum(axis=0) + np.abs(bias)
        conv_scale = (n + 1) * magnitude**2 + x_scale_max * (w64 * w64).sum(axis=0)
        # max and min over frequency of the pre-activation (float64 from here)
        high = conv_out.max(axis=2).astype(np.float64) + bias
        low = conv_out.min(axis=2).astype(np.float64) + bias
        block_norm = norm(index + 1)
        # the largest value after batch norm comes from the largest pre-activation where the
        # scale is positive, the smallest where negative; ReLU passes no error where even the
        # largest pre-activation is certainly negative
        chosen = np.where(block_norm.scale >= 0, high, low)
        relu_in_scale = relu_scale(high, np.broadcast_to(conv_scale, high.shape))
        value, _ = block_norm.apply(np.maximum(chosen, 0), 0.0)
        _, scale = block_norm.apply(np.maximum(high, 0), relu_in_scale)
        front.append(value)
        front_scale.append(scale)
    features = [np.concatenate(front, axis=2)]
    scales = [np.concatenate(front_scale, axis=2)]

    def midend(index: int, x: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        kernel, bias = conv(index)  # (7, channels, 64)
        height, channels, filters = kernel.shape
        weights = kernel.transpose(1, 0, 2).reshape(channels * height, filters)

        def columns(a: np.ndarray) -> np.ndarray:
            padded = np.pad(a, ((0, 0), (3, 3), (0, 0))).astype(np.float32)
            return sliding_window_view(padded, height, axis=1).reshape(-1, channels * height)

        pre, pre_scale = _dense(columns(x), columns(scale), weights, bias)
        pre64 = pre.astype(np.float64)
        value, out_scale = norm(index + 1).apply(
            np.maximum(pre64, 0), relu_scale(pre64, pre_scale.astype(np.float64))
        )
        return value.reshape(batch, N_FRAMES, -1), out_scale.reshape(batch, N_FRAMES, -1)

    conv1, conv1_scale = midend(5, features[0], scales[0])
    out2, out2_scale = midend(6, conv1, conv1_scale)
    res2, res2_scale = conv1 + out2, conv1_scale + out2_scale + (conv1 + out2) ** 2
    out3, out3_scale = midend(7, res2, res2_scale)
    res3, res3_scale = res2 + out3, res2_scale + out3_scale + (res2 + out3) ** 2
    features += [conv1, res2, res3]
    scales += [conv1_scale, res2_scale, res3_scale]
    feature = np.concatenate(features, axis=2)  # (b, 187, 753)
    feature_scale = np.concatenate(scales, axis=2)

    max_pool, max_scale = max_with_scale(feature, feature_scale, axis=1)
    # The mean over time: a rounding of one batch-norm parameter is common to every time
    # step, so the errors of the 187 summands are added as if aligned (sqrt S averages);
    # the summation itself, whose summands can all be equal (so their roundings need not be
    # independent), at its worst case: n - 1 additions and a division, each rounding a
    # partial sum / n bounded by mean|x|, so n mean|x| in units of u.
    mean_pool = feature.mean(axis=1)
    mean_scale = (
        np.sqrt(feature_scale).mean(axis=1) + N_FRAMES * np.abs(feature).mean(axis=1)
    ) ** 2
    pooled = np.stack([max_pool, mean_pool], axis=2).reshape(batch, -1)  # interleaved
    pooled_scale = np.stack([max_scale, mean_scale], axis=2).reshape(batch, -1)
    pooled, pooled_scale = norm(9).apply(pooled, pooled_scale)

    def read_dense(name: str) -> tuple[np.ndarray, np.ndarray]:
        return (
            _checkpoint(f"{name}/kernel").astype(np.float64),
            _checkpoint(f"{name}/bias").astype(np.float64),
        )

    hidden, hidden_scale = _dense(pooled, pooled_scale, *read_dense("dense"))
    penultimate, penultimate_scale = norm(10).apply(
        np.maximum(hidden, 0), relu_scale(hidden, hidden_scale)
    )
    logits, logits_scale = _dense(penultimate, penultimate_scale, *read_dense("dense_1"))
    sigmoid = 1 / (1 + np.exp(-logits))
    # sigmoid' <= 1/4, so the logits' error reaches the tags at most a quarter as large
    taggram_scale = logits_scale / 16 + _SIGMOID_ROUNDINGS**2 * sigmoid**2
    return {
        "max_pool": max_scale,
        "mean_pool": mean_scale,
        "penultimate": penultimate_scale,
        "logits": logits_scale,
        "taggram": taggram_scale,
    }
