"""OpenL3's audio input pipeline in NumPy: resampling, 1 s framing, kapre mel spectrogram.

What openl3 0.4.2 does with its default "kapre" front end (openl3/core.py, openl3/models.py,
kapre 0.3.x `get_melspectrogram_layer`), step by step:

1. mono (mean of the channels), resampled to 48 kHz with resampy 0.2's `kaiser_best`
   filter (reproduced below; openl3 pins resampy < 0.3);
2. with `center`, 24000 zeros (half a frame) before the audio; zeros after it so that the
   1 s frames (48000 samples), `int(hop_s * 48000)` apart, cover every sample; frame i's
   timestamp is i * hop_s seconds;
3. per frame, `tf.signal.stft` with a 2048-sample periodic Hann window, hop 242, FFT size
   2048 and `pad_end=True` (the frame is zero-padded at its end, so 199 STFT frames);
4. magnitude |STFT| (power 1), then librosa's mel filterbank (Slaney mel scale, Slaney
   area normalisation, 0 Hz to 24 kHz, 256 or 128 bands);
5. kapre 0.1.4's decibel scaling, which openl3 re-creates for its v0_4_0 weights:
   10 * log10(max(S, 1e-10)), minus the frame's maximum, floored at -80 dB. (It is
   10 log10 of a magnitude, not 20: openl3 keeps kapre 0.1.4's convention.)

The network sees each frame as an image of (n_mels frequency rows, 199 time columns).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal.windows import kaiser

from services.common.errors import InvalidArgument
from services.embedder.models.frontend import mel_filterbank, periodic_hann, to_mono

MODEL_SAMPLE_RATE = 48000
FRAME_SAMPLES = MODEL_SAMPLE_RATE  # one-second frames
N_FFT = 2048
STFT_HOP = 242
N_STFT_FRAMES = -(-FRAME_SAMPLES // STFT_HOP)  # tf.signal.stft with pad_end: ceil(48000/242)
MEL_BANDS = {"mel256": 256, "mel128": 128}
DB_AMIN = 1e-10
DB_DYNAMIC_RANGE = 80.0

_SPECTROGRAM_FRAMES_PER_BLOCK = 8  # 1 s frames per FFT block: bounds the complex buffers


@dataclass(frozen=True)
class KapreParams:
    """Everything that determines the network input; stored with the model's metadata."""

    input_repr: str
    n_mels: int
    sample_rate: int = MODEL_SAMPLE_RATE
    frame_samples: int = FRAME_SAMPLES
    n_fft: int = N_FFT
    hop_length: int = STFT_HOP
    stft_frames: int = N_STFT_FRAMES
    window: str = "hann (periodic), 2048 samples"
    stft_padding: str = "zeros at the end of each 1 s frame (tf.signal.stft pad_end)"
    magnitude_power: float = 1.0
    fmin: float = 0.0
    fmax: float = MODEL_SAMPLE_RATE / 2
    mel_scale: str = "slaney"
    mel_norm: str = "slaney"
    decibel: str = "10*log10(max(S, 1e-10)) - max over the frame, floor -80 (kapre 0.1.4)"
    resampler: str = "resampy 0.2 kaiser_best (64 zero crossings, 512 steps, linear interp.)"
    centre_padding: str = "24000 zeros before the audio when center=True"

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def kapre_params(input_repr: str) -> KapreParams:
    if input_repr not in MEL_BANDS:
        raise InvalidArgument(f"input_repr must be one of {sorted(MEL_BANDS)}, got {input_repr!r}")
    return KapreParams(input_repr=input_repr, n_mels=MEL_BANDS[input_repr])


# --- resampling as resampy 0.2 `kaiser_best` --------------------------------------------------

# resampy/filters.py documents kaiser_best as this windowed sinc; its stored table equals
# what `kaiser_best_table` computes to within 2.3e-16.
_KAISER_BEST_ZEROS = 64
_KAISER_BEST_STEPS = 512  # table entries per zero crossing ("precision" 9 bits)
_KAISER_BEST_BETA = 14.769656459379492
_KAISER_BEST_ROLLOFF = 0.9475937167399596
_RESAMPLE_MAX_MATRIX = 1 << 23  # float32 elements of polyphase matrix built at once (32 MiB)
_RESAMPLE_ROWS_PER_BLOCK = 4096


@lru_cache(maxsize=1)
def kaiser_best_table() -> np.ndarray:
    """The right half of resampy's kaiser_best interpolation filter, 64*512 + 1 entries."""
    n = _KAISER_BEST_ZEROS * _KAISER_BEST_STEPS
    positions = np.linspace(0, _KAISER_BEST_ZEROS, num=n + 1, endpoint=True)
    sinc = _KAISER_BEST_ROLLOFF * np.sinc(_KAISER_BEST_ROLLOFF * positions)
    return sinc * kaiser(2 * n + 1, _KAISER_BEST_BETA)[n:]


class SincResampler:
    """resampy.resample(x, source, target, filter="kaiser_best") as a polyphase matrix product.

    resampy evaluates, for output t at input time t * source / target, a linearly
    interpolated table lookup per input sample (left wing x[n-i], right wing x[n+1+k]).
    Those weights only depend on t mod `up` (the rate ratio is up/down in lowest terms), so
    each of the `up` phases is one column of a (window, up) matrix, and blocks of `up`
    outputs, each reading a stride-`down` window of the input, become one matrix product.
    resampy accumulates the time in floating point; here it is exact (a difference of ~1e-12
    of a sample in where the filter is read), except where that drift changes the result:
    see `drift_column`. Odd rate pairs with a huge matrix get it built a group of phases at
    a time, on each call, instead of kept.
    """

    def __init__(self, source_rate: int, target_rate: int) -> None:
        divisor = math.gcd(source_rate, target_rate)
        self.source_rate, self.target_rate = source_rate, target_rate
        self.up, self.down = target_rate // divisor, source_rate // divisor
        self.taps = _WingTable(source_rate, target_rate)
        wings = [self.taps.phase(phase, self.up, self.down) for phase in range(self.up)]
        # Phase 0 as resampy computes it when its accumulated time falls just short of the
        # exact integer: from the sample before, at a fraction of one. When downsampling by
        # a ratio whose table step resampy truncates (e.g. 88.2 -> 48 kHz) that reads the
        # table at other points than the exact form; otherwise the two agree.
        drifts = self.taps.step != self.taps.scale * _KAISER_BEST_STEPS
        drift = (-1, self.taps.wing(self.taps.scale), self.taps.wing(0.0))
        extents = [(base - len(left) + 1, base + len(right)) for base, left, right in wings]
        if drifts:
            extents.append((drift[0] - len(drift[1]) + 1, drift[0] + len(drift[2])))
        self.first = min(low for low, _ in extents)  # input offset of matrix row 0
        self.window = max(high for _, high in extents) - self.first + 1  # inputs per block
        self.phases_per_matrix = max(1, _RESAMPLE_MAX_MATRIX // self.window)
        self.matrix = self.phase_matrix(0, self.up) if self.up <= self.phases_per_matrix else None
        self.drift_column = self._column(*drift).astype(np.float32) if drifts else None

    def _column(self, base: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
        """Weights by input offset (matrix row) of one output: left[i] for x[base - i],
        right[k] for x[base + 1 + k]."""
        column = np.zeros(self.window)
        row = base - self.first
        column[row - len(left) + 1 : row + 1] = left[::-1]
        column[row + 1 : row + 1 + len(right)] = right
        return column

    def drifted_blocks(self, n_out: int) -> np.ndarray:
        """Blocks whose phase-0 output resampy computes from the sample before (see
        `__init__`):
        its time register, summed one increment at a time, lands below the exact integer."""
        registers = np.zeros(n_out)
        np.cumsum(
            np.full(n_out - 1, 1.0 / (float(self.target_rate) / self.source_rate)),
            out=registers[1:],
        )
        blocks = np.arange(1, -(-n_out // self.up))
        return blocks[registers[blocks * self.up] < blocks * self.down]

    def output_length(self, n_in: int) -> int:
        # resampy: int(n * float(target) / source), float rounding included
        return int(n_in * (float(self.target_rate) / self.source_rate))

    def phase_matrix(self, start: int, stop: int) -> np.ndarray:
        """(window, stop - start) float32: column p holds phase p's weights by input offset."""
        columns = [
            self._column(*self.taps.phase(p, self.up, self.down)) for p in range(start, stop)
        ]
        return np.stack(columns, axis=1).astype(np.float32)

    def __call__(self, samples: np.ndarray) -> np.ndarray:
        samples = np.asarray(samples, dtype=np.float32)
        n_out = self.output_length(len(samples))
        if n_out < 1:
            raise InvalidArgument(
                f"{len(samples)} samples are too few to resample from {self.source_rate} Hz "
                f"to {self.target_rate} Hz"
            )
        blocks = -(-n_out // self.up)
        span = (blocks - 1) * self.down + self.window
        padded = np.zeros(span, dtype=np.float32)
        start = -self.first
        count = min(len(samples), span - start)
        padded[start : start + count] = samples[:count]
        rows = sliding_window_view(padded, self.window)[:: self.down]
        out = np.empty((blocks, self.up), dtype=np.float32)
        for first_phase in range(0, self.up, self.phases_per_matrix):
            last_phase = min(self.up, first_phase + self.phases_per_matrix)
            matrix = self.matrix
            if matrix is None:
                matrix = self.phase_matrix(first_phase, last_phase)
            for begin in range(0, blocks, _RESAMPLE_ROWS_PER_BLOCK):
                end = begin + _RESAMPLE_ROWS_PER_BLOCK
                out[begin:end, first_phase:last_phase] = rows[begin:end] @ matrix
        if self.drift_column is not None:
            drifted = self.drifted_blocks(n_out)
            out[drifted, 0] = rows[drifted] @ self.drift_column
        return out.reshape(-1)[:n_out]


class _WingTable:
    """resampy's interpolation table for one rate pair (scaled when downsampling)."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        ratio = float(target_rate) / source_rate
        self.scale = min(1.0, ratio)
        self.table = kaiser_best_table() * (ratio if ratio < 1 else 1.0)
        self.delta = np.zeros_like(self.table)
        self.delta[:-1] = np.diff(self.table)
        self.step = int(self.scale * _KAISER_BEST_STEPS)  # resampy truncates this too

    def phase(self, phase: int, up: int, down: int) -> tuple[int, np.ndarray, np.ndarray]:
        """Weights of output `phase` (< up): (n, weights for x[n - i], weights for
        x[n + 1 + k]), n being the input sample at or before the output's time."""
        base, remainder = divmod(phase * down, up)
        frac = self.scale * (remainder / up)
        return base, self.wing(frac), self.wing(self.scale - frac)

    def wing(self, fraction: float) -> np.ndarray:
        """Weights of successive input samples, the first `fraction` (scaled) away."""
        index_frac = fraction * _KAISER_BEST_STEPS
        offset = int(index_frac)
        eta = index_frac - offset
        count = (len(self.table) - offset) // self.step
        index = offset + self.step * np.arange(count)
        return self.table[index] + eta * self.delta[index]


@lru_cache(maxsize=8)
def sinc_resampler(source_rate: int, target_rate: int) -> SincResampler:
    return SincResampler(source_rate, target_rate)


def resample_to_model_rate(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float audio at `sample_rate` -> float32 at 48 kHz, as openl3 resamples it."""
    if not isinstance(sample_rate, int | np.integer) or sample_rate <= 0:
        raise InvalidArgument(f"sample rate must be a positive integer, got {sample_rate!r}")
    if sample_rate == MODEL_SAMPLE_RATE:
        return np.asarray(samples, dtype=np.float32)
    return sinc_resampler(int(sample_rate), MODEL_SAMPLE_RATE)(samples)


# --- framing ----------------------------------------------------------------------------------


def hop_samples(hop_s: float) -> int:
    """openl3's `int(hop_size * 48000)` (truncating, as openl3 does)."""
    if not isinstance(hop_s, int | float) or not math.isfinite(hop_s) or hop_s <= 0:
        raise InvalidArgument(f"hop_s must be a positive number of seconds, got {hop_s!r}")
    hop = int(hop_s * MODEL_SAMPLE_RATE)
    if hop < 1:
        raise InvalidArgument(f"hop_s {hop_s!r} is shorter than one sample at 48 kHz")
    return hop


def frame_audio(audio: np.ndarray, hop: int, center: bool) -> np.ndarray:
    """(n, 48000) read-only view of 1 s frames `hop` samples apart, padded as openl3 pads."""
    pad_before = FRAME_SAMPLES // 2 if center else 0
    length = pad_before + len(audio)
    n_frames = 1 if length < FRAME_SAMPLES else 1 + -(-(length - FRAME_SAMPLES) // hop)
    padded = np.zeros((n_frames - 1) * hop + FRAME_SAMPLES, dtype=np.float32)
    padded[pad_before : pad_before + len(audio)] = audio
    return sliding_window_view(padded, FRAME_SAMPLES)[::hop]


def prepare_audio(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """Validate decoded audio ((n,) or (n, channels) floats) and return mono 48 kHz float32."""
    samples = np.asarray(samples)
    if samples.ndim not in (1, 2):
        raise InvalidArgument(f"audio must be 1-D or (frames, channels), got shape {samples.shape}")
    if samples.size == 0:
        raise InvalidArgument("audio has no samples")
    if not np.issubdtype(samples.dtype, np.floating):
        raise InvalidArgument(f"audio samples must be floats in [-1, 1], got {samples.dtype}")
    if not np.all(np.isfinite(samples)):
        raise InvalidArgument("audio contains NaN or infinite samples")
    return resample_to_model_rate(to_mono(samples), sample_rate)


# --- the kapre mel spectrogram ----------------------------------------------------------------


class KapreMelSpectrogram:
    """1 s frames at 48 kHz -> (n, n_mels, 199) float32 decibel mel spectrograms."""

    def __init__(self, params: KapreParams) -> None:
        self.params = params
        filterbank = mel_filterbank(
            params.sample_rate, params.n_fft, params.n_mels, params.fmin, params.fmax
        )
        self.filterbank_t = np.ascontiguousarray(filterbank.T)  # (1025, n_mels)
        self.window = periodic_hann(params.n_fft)

    def __call__(self, frames: np.ndarray) -> np.ndarray:
        frames = np.asarray(frames, dtype=np.float32)
        if frames.ndim != 2 or frames.shape[1] != self.params.frame_samples:
            raise InvalidArgument(
                f"frames must have shape (n, {self.params.frame_samples}), got {frames.shape}"
            )
        out = np.empty((len(frames), self.params.n_mels, N_STFT_FRAMES), dtype=np.float32)
        for start in range(0, len(frames), _SPECTROGRAM_FRAMES_PER_BLOCK):
            block = frames[start : start + _SPECTROGRAM_FRAMES_PER_BLOCK]
            out[start : start + len(block)] = self._decibel_mel(block).transpose(0, 2, 1)
        return out

    def magnitude(self, frames: np.ndarray) -> np.ndarray:
        """(n, 199, 1025) |STFT| of each frame, zero-padded at its end as tf.signal.stft does."""
        p = self.params
        padded_length = (N_STFT_FRAMES - 1) * p.hop_length + p.n_fft
        padded = np.zeros((len(frames), padded_length), dtype=np.float32)
        padded[:, : frames.shape[1]] = frames
        windows = sliding_window_view(padded, p.n_fft, axis=1)[:, :: p.hop_length]
        spectrum = np.fft.rfft(windows * self.window, axis=2)
        return np.abs(spectrum).astype(np.float32, copy=False)

    def _decibel_mel(self, frames: np.ndarray) -> np.ndarray:
        mel = self.magnitude(frames) @ self.filterbank_t  # (n, 199, n_mels)
        decibel = np.log10(np.maximum(mel, np.float32(DB_AMIN)), out=mel)
        decibel *= np.float32(10.0)
        decibel -= decibel.max(axis=(1, 2), keepdims=True)
        return np.maximum(decibel, np.float32(-DB_DYNAMIC_RANGE), out=decibel)
