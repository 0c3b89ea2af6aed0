"""OpenL3 throughput: x-realtime and peak memory of our NumPy implementation.

    .venv/bin/python -m bench.openl3_throughput [AUDIO] [--seconds 60] [--hop 0.5]
        [--input-repr mel256 --input-repr mel128] [--weights PATH] [--workers N] [--repeat 3]

Without --weights the network runs on STAND-IN weights: random (seeded) arrays of the real
shapes. They measure speed only; their embeddings mean nothing. With --weights, the real
verified `.h5.gz` is loaded. Without AUDIO, 60 s of synthetic music-like audio at 44.1 kHz
(so resampling to 48 kHz is included). x-realtime = seconds of audio embedded per second of
wall time, best of `--repeat` runs, decoding excluded. Peak memory: NumPy's allocations
traced by tracemalloc in a separate run, and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import os
import resource
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from bench.embed_throughput import Clip, best_time, decoded_clip, synthetic_clip, traced_peak_mib
from services.embedder.models.h5weights import (
    N_CONV_LAYERS,
    BatchNormParams,
    ConvParams,
    OpenL3AudioParams,
)
from services.embedder.models.kapre import kapre_params
from services.embedder.models.openl3 import (
    DEFAULT_BATCH_FRAMES,
    FILTERS,
    OpenL3Model,
    OpenL3ModelInfo,
    OpenL3Network,
    default_workers,
    model_name,
)

STANDIN_LABEL = "stand-in (random, seeded; speed only)"


def standin_params(seed: int = 0) -> OpenL3AudioParams:
    """Random parameters with the real layer shapes (He-normal kernels, mild batch norms)."""
    rng = np.random.default_rng(seed)

    def norm(channels: int) -> BatchNormParams:
        return BatchNormParams(
            gamma=rng.uniform(0.8, 1.2, channels).astype(np.float32),
            beta=rng.normal(0.0, 0.1, channels).astype(np.float32),
            moving_mean=rng.normal(0.0, 0.1, channels).astype(np.float32),
            moving_variance=rng.uniform(0.8, 1.2, channels).astype(np.float32),
        )

    convs, channels = [], 1
    for filters in FILTERS:
        kernel = rng.normal(0.0, np.sqrt(2.0 / (9 * channels)), (3, 3, channels, filters))
        convs.append(ConvParams(kernel.astype(np.float32), np.zeros(filters, np.float32)))
        channels = filters
    norms = tuple(norm(filters) for filters in FILTERS[: N_CONV_LAYERS - 1])
    return OpenL3AudioParams(norm(1), tuple(convs), norms, frontend_layers=())


def standin_model(
    input_repr: str, *, workers: int | None = None, batch_frames: int | None = None
) -> OpenL3Model:
    network = OpenL3Network(standin_params(), input_repr)
    info = OpenL3ModelInfo(
        name=model_name(input_repr) + " [stand-in weights]",
        source_model="openl3",
        source_version="0.4.2",
        input_repr=input_repr,
        content_type="music",
        embedding_dim=network.channels,
        license="none (random stand-in weights)",
        weights_file=STANDIN_LABEL,
        weights_sha256="",
        weights_blob_id=None,
        frontend=kapre_params(input_repr).as_dict(),
    )
    batch = DEFAULT_BATCH_FRAMES if batch_frames is None else batch_frames
    return OpenL3Model(network, info, workers=workers, batch_frames=batch)


def measure_openl3(
    audio_path: Path | None,
    seconds: float | None = 60.0,
    weights: Path | None = None,
    *,
    input_repr: str = "mel256",
    hop_s: float = 0.5,
    repeat: int = 3,
    workers: int | None = None,
    batch_frames: int | None = None,
) -> dict[str, object]:
    """Measure, print one line, and return the figures.

    audio_path: a file to embed (its first `seconds`, or all of it if `seconds` is None), or
    None for `seconds` of synthetic audio. weights: the real `.h5.gz`, or None for stand-in
    weights (speed only)."""
    clip = _clip(audio_path, seconds)
    batch = DEFAULT_BATCH_FRAMES if batch_frames is None else batch_frames

    def load() -> OpenL3Model:
        if weights is None:
            return standin_model(input_repr, workers=workers, batch_frames=batch)
        return OpenL3Model.from_weights(weights, input_repr, workers=workers, batch_frames=batch)

    model = load()
    weights_label = STANDIN_LABEL
    if weights is not None:
        weights_label = f"{weights.name} (verified, git blob id {model.info.weights_blob_id})"

    def embed() -> object:
        return model.embed_audio(clip.samples, clip.sample_rate, hop_s=hop_s)

    frames = len(embed().embeddings)  # type: ignore[attr-defined]
    total = best_time(embed, repeat)
    front = best_time(lambda: model.spectrograms(clip.samples, clip.sample_rate, hop_s), repeat)
    result: dict[str, object] = {
        "model": model.info.name,
        "input_repr": input_repr,
        "weights": weights_label,
        "audio": clip.name,
        "audio_seconds": round(clip.seconds, 3),
        "hop_s": hop_s,
        "frames": frames,
        "workers": model.workers,
        "batch_frames": model.batch_frames,
        "cpus": len(os.sched_getaffinity(0)),
        "wall_s": round(total.wall_s, 3),
        "x_realtime": round(clip.seconds / total.wall_s, 2),
        "x_realtime_per_cpu_second": round(clip.seconds / total.cpu_s, 2),
        "ms_per_frame": round(1000 * total.wall_s / frames, 1),
        "frontend_x_realtime": round(clip.seconds / front.wall_s, 1),
        # a fresh model, so that the scratch arrays its workers keep are counted too
        "peak_traced_mib": round(traced_peak_mib(lambda: _embed_fresh(load, clip, hop_s)), 1),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(
        f"{result['model']:38s} {clip.seconds:6.1f} s audio, hop {hop_s} s, {frames} frames: "
        f"{result['x_realtime']:5.2f}x realtime ({result['ms_per_frame']} ms/frame, "
        f"{result['x_realtime_per_cpu_second']}x per CPU-second), front end "
        f"{result['frontend_x_realtime']}x, peak traced {result['peak_traced_mib']} MiB, "
        f"RSS {result['peak_rss_mib']} MiB, workers {model.workers}, load "
        f"{result['load_average_1min']} [{weights_label}]",
        flush=True,
    )
    return result


def _embed_fresh(load: Callable[[], OpenL3Model], clip: Clip, hop_s: float) -> object:
    model = load()
    try:
        return model.embed_audio(clip.samples, clip.sample_rate, hop_s=hop_s)
    finally:
        model.close()


def _clip(audio_path: Path | None, seconds: float | None) -> Clip:
    if audio_path is None:
        return synthetic_clip(60.0 if seconds is None else seconds)
    clip = decoded_clip(audio_path)
    if seconds is None:
        return clip
    keep = int(seconds * clip.sample_rate)
    return Clip(clip.name, clip.samples[:keep], clip.sample_rate, clip.decode_s)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("audio", nargs="?", type=Path, help="audio file (default: synthetic)")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--hop", type=float, default=0.5)
    parser.add_argument("--input-repr", action="append", choices=["mel256", "mel128"])
    parser.add_argument("--weights", type=Path, help="real .h5.gz (default: stand-in)")
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--batch-frames", type=int, default=None)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"{len(os.sched_getaffinity(0))} CPUs, default workers {default_workers()}, "
        f"numpy {np.__version__}, started {time.strftime('%H:%M:%S')}"
    )
    for input_repr in args.input_repr or ["mel256", "mel128"]:
        measure_openl3(
            args.audio,
            args.seconds,
            args.weights,
            input_repr=input_repr,
            hop_s=args.hop,
            repeat=args.repeat,
            workers=args.workers,
            batch_frames=args.batch_frames,
        )


if __name__ == "__main__":
    main()
