"""Pipeline benchmark: speed per clip and stage, inference runtimes, the machine's ceiling.

Run:  .venv/bin/python benchmarks/bench_pipeline.py [--quick] [--json out.json] [--no-ray]

In one run it measures
  * the machine's float32 matmul ceiling (GFLOP/s), interleaved with
  * classifier runtimes on the same crops: Keras (`tf.function`), LiteRT/XNNPACK (float16
    and float32 weights, batch 16 and 1): crops/s, GFLOP/s, fraction of the ceiling, and
    the largest score difference from Keras;
  * for generated 720p/1080p 10 s clips with one and three faces, plus `sample_media/*.mp4`:
    wall time cold (a new process: import, model load, first clip) and warm (model loaded),
    seconds of video per wall second, sampled frames/s, face crops/s, time per stage
    (decode, detect, crop, classify, aggregate, report) and peak RSS;
  * the same clip on the Keras runtime, on LiteRT with TensorFlow kept out of the process,
    with a no-cost fake classifier (the floor set by decode and detection), and with
    `--temporal off` (no dense landmark window: what the temporal evidence costs), and with
    every frame decoded (what skipping unreferenced frames saves, media/video.py);
  * `batch --engine ray` throughput with 1 and 2 local workers (when Ray is installed).

The model is the shipped default when installed; otherwise an Xception with random weights
built at `--input-size`, for speed only (it detects nothing). Clips and converted models are
cached in `--cache-dir` (default ~/.cache/deepfake-analyzer/bench), never in the repository.
Shared machines are noisy: runtimes are compared interleaved, medians are reported, and the
ratios are steadier than the absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # synthetic_clips, when imported as a module too

STAGES = ("decode", "detect", "crop", "classify", "landmarks", "temporal", "aggregate", "report")
DEFAULT_CACHE = Path.home() / ".cache" / "deepfake-analyzer" / "bench"
TARGET_CLIP = "1080p_1face_10s"


# --- the model under test -------------------------------------------------------------------


def prepare_model(
    cache: Path, input_size: int, log: Any, default: Path | None = None
) -> tuple[Path, Path, str]:
    """(the spec the pipeline runs, the spec whose runtimes are compared, a label).

    Uses the shipped model (`default`: its spec) when installed, else a random stand-in; the
    compared spec lies in the cache with float16 and float32 LiteRT copies. A blend runs as
    it ships (its members' copies built into the user cache, as on first use); its runtimes
    are compared on its first member (models/blend.py).
    """
    from deepfake_analyzer import paths
    from deepfake_analyzer.models.blend import BLEND_FORMAT, Blend
    from deepfake_analyzer.models.runtime_cache import needs_runtime_copy, prepare_runtime
    from deepfake_analyzer.models.spec import ModelSpec

    default = default or paths.DEFAULT_CLASSIFIER_SPEC
    if default.is_file():
        spec = ModelSpec.load(default)
        label = f"model {spec.name!r} ({default})"
        if spec.weights_format == BLEND_FORMAT and (default.parent / spec.weights_file).is_file():
            members = [
                default.parent / m.spec
                for m in Blend.load(default.parent / spec.weights_file).members
            ]
            for member in members:
                if needs_runtime_copy(ModelSpec.load(member)):
                    prepare_runtime(member)
            first = ModelSpec.load(members[0])
            folder = cache / f"model-{first.weights_sha256[:12] or 'default'}"
            return default, _with_litert_copy(members[0], folder, log), label
        if (default.parent / spec.weights_file).is_file():
            folder = cache / f"model-{spec.weights_sha256[:12] or 'default'}"
            compared = _with_litert_copy(default, folder, log)
            return compared, compared, label
    folder = cache / f"random-xception-{input_size}"
    spec_path = folder / "random_xception.spec.json"
    if not spec_path.is_file():
        log(f"building a random-weights Xception at {input_size} px (speed only)")
        _random_xception(spec_path, input_size)
    compared = _with_litert_copy(spec_path, folder, log)
    label = f"RANDOM-weights Xception {input_size} px (speed measurement only, not a detector)"
    return compared, compared, label


def _random_xception(spec_path: Path, input_size: int) -> None:
    import keras
    import numpy as np

    from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT, save_weights_f16
    from deepfake_analyzer.models.spec import ModelSpec
    from deepfake_analyzer.models.xception import HEAD_DENSE_NAME, build_xception

    keras.utils.set_random_seed(0)
    model = build_xception(input_size)
    rng = np.random.default_rng(0)
    # Random weights make activations fade layer by layer, so every crop scores the same and
    # "same scores" between runtimes would check nothing. Set batch-norm statistics from one
    # batch of crops (momentum 0, one training-mode pass) so features vary, then scale the
    # head so logits spread (std ~2) over these crops.
    from deepfake_analyzer.models.convert import agreement_crops

    probe = np.concatenate([face_crops(input_size, 8), agreement_crops(input_size, 8)])
    probe = probe.astype(np.float32) / 255.0
    norms = [la for la in model.layers if isinstance(la, keras.layers.BatchNormalization)]
    momenta = [la.momentum for la in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(probe, training=True)
    for layer, momentum in zip(norms, momenta, strict=True):
        layer.momentum = momentum
    head = model.get_layer(HEAD_DENSE_NAME)
    feats = np.asarray(keras.Model(model.input, head.input)(probe, training=False), np.float64)
    direction = rng.standard_normal((feats.shape[1], 1)) / np.sqrt(feats.shape[1])
    logits = (feats - feats.mean(axis=0)) @ direction
    kernel = direction * (2.0 / max(float(logits.std()), 1e-12))
    head.kernel.assign(kernel.astype(np.float32))
    head.bias.assign(np.array([-float((feats.mean(axis=0) @ kernel)[0])], np.float32))
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    weights = save_weights_f16(model, spec_path.with_name("random_xception.npz"))
    spec = ModelSpec(
        name="random-xception", input_size=input_size, weights_format=F16_NPZ_FORMAT
    ).with_weights(weights)
    spec.save(spec_path)


def _with_litert_copy(spec_path: Path, folder: Path, log: Any) -> Path:
    """A spec in `folder` whose runtime_files name float16 and float32 LiteRT copies."""
    from dataclasses import replace

    from deepfake_analyzer.models.convert import (
        agreement_crops,
        convert_to_tflite,
        max_abs_difference,
        with_litert_runtime,
    )
    from deepfake_analyzer.models.litert_classifier import litert_file
    from deepfake_analyzer.models.spec import ModelSpec

    spec = replace(ModelSpec.load(spec_path), runtime_files={})
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / spec_path.name
    if target.is_file():
        cached = ModelSpec.load(target)
        copy = litert_file(cached, folder)
        if copy is not None and copy.is_file() and cached.weights_sha256 == spec.weights_sha256:
            return target
    if spec_path.parent != folder:
        shutil.copy(spec_path.parent / spec.weights_file, folder / spec.weights_file)
        if spec.weights_base:  # a probe's f16 weights stored against a base file beside it
            shutil.copy(spec_path.parent / spec.weights_base, folder / spec.weights_base)
        spec.save(target)
    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.loader import load_from_spec

    keras_classifier = load_from_spec(target, runtime="keras")
    stem = target.name.split(".")[0]
    for dtype in ("float32", "float16"):
        log(f"converting to LiteRT ({dtype} weights)")
        convert_to_tflite(
            keras_classifier.model, folder / f"{stem}.{dtype}.tflite", dtype, max_bytes=None
        )
    f16 = folder / f"{stem}.float16.tflite"
    crops = agreement_crops(spec.input_size)
    diff = max_abs_difference(
        keras_classifier.predict(crops), LiteRTClassifier(f16, spec).predict(crops)
    )
    with_litert_runtime(spec, f16, "float16", diff).save(target)
    return target


# --- the machine's ceiling and the runtimes ---------------------------------------------------


def matmul_gflops(n: int = 4096, repeats: int = 3) -> dict[str, float]:
    """Best-of-`repeats` float32 n x n matmul rate (GFLOP/s) through numpy's OpenBLAS and
    TensorFlow's oneDNN (which uses AVX-512 here: about twice numpy's rate), every core."""
    import numpy as np
    import tensorflow as tf

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    ta, tb = tf.constant(a), tf.constant(b)
    tf_matmul = tf.function(lambda: tf.linalg.matmul(ta, tb))
    backends = {"numpy": lambda: a @ b, "onednn": lambda: tf_matmul().numpy()}
    rates = {}
    for name, run in backends.items():
        run()
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            run()
            best = min(best, time.perf_counter() - t0)
        rates[name] = 2 * n**3 / best / 1e9
    return rates


def face_crops(input_size: int, count: int) -> Any:
    """`count` realistic crops: the astronaut's face at slightly different framings."""
    import cv2
    import numpy as np
    from skimage import data

    photo = data.astronaut()
    crops = []
    for i in range(count):
        d = 4 * (i % 5)
        face = photo[20 + d : 240 + d, 130 + d : 350 + d]
        crops.append(cv2.resize(face, (input_size, input_size), interpolation=cv2.INTER_AREA))
    return np.stack(crops)


def compare_runtimes(spec_path: Path, rounds: int, batch: int, log: Any) -> dict[str, Any]:
    """Crops/s of each runtime, interleaved round by round, and each one's max score difference."""
    import numpy as np

    from deepfake_analyzer.models.litert_classifier import LiteRTClassifier
    from deepfake_analyzer.models.loader import load_from_spec
    from deepfake_analyzer.models.spec import ModelSpec
    from deepfake_analyzer.models.xception import xception_macs

    spec = ModelSpec.load(spec_path)
    stem = spec_path.name.split(".")[0]
    runtimes: dict[str, Any] = {"keras tf.function": load_from_spec(spec_path, runtime="keras")}
    runtimes["keras tf.function"].batch_size = batch
    for dtype in ("float16", "float32"):
        path = spec_path.with_name(f"{stem}.{dtype}.tflite")
        runtimes[f"litert {dtype} b{batch}"] = LiteRTClassifier(path, spec, batch_size=batch)
    runtimes["litert float16 b1"] = LiteRTClassifier(
        spec_path.with_name(f"{stem}.float16.tflite"), spec, batch_size=1
    )
    onnx_note = _onnx_note()
    crops = face_crops(spec.input_size, batch)
    reference = runtimes["keras tf.function"].predict(crops)
    diffs = {}
    for name, classifier in runtimes.items():  # also warms every runtime up
        diffs[name] = float(np.max(np.abs(classifier.predict(crops) - reference)))
    rates: dict[str, list[float]] = {name: [] for name in runtimes}
    ceilings: list[float] = []
    per_backend: list[dict[str, float]] = []
    gflop_per_crop = 2 * xception_macs(spec.input_size) / 1e9
    for r in range(rounds):
        matmul = matmul_gflops()
        ceilings.append(max(matmul.values()))
        per_backend.append(matmul)
        order = list(runtimes) if r % 2 == 0 else list(reversed(runtimes))
        for name in order:
            t0 = time.perf_counter()
            runtimes[name].predict(crops)
            rates[name].append(len(crops) / (time.perf_counter() - t0))
        text = ", ".join(f"{k} {v:.0f}" for k, v in matmul.items())
        log(f"runtime round {r + 1}/{rounds}: matmul GFLOP/s {text}")
    keras_rate = statistics.median(rates["keras tf.function"])
    ceiling = max(ceilings)  # the ceiling is what the machine reached at its best
    rows = []
    for name in runtimes:
        rate = statistics.median(rates[name])
        rows.append(
            {
                "runtime": name,
                "crops_per_s": rate,
                "speedup_vs_keras": rate / keras_rate,
                "gflops": rate * gflop_per_crop,
                "fraction_of_matmul": rate * gflop_per_crop / ceiling,
                "crops_per_s_all": rates[name],
                "max_abs_diff_vs_keras": diffs[name],
            }
        )
    return {
        "input_size": spec.input_size,
        "batch": batch,
        "rounds": rounds,
        "gflop_per_crop": gflop_per_crop,
        "matmul_gflops_max": ceiling,
        "matmul_gflops_median": statistics.median(ceilings),
        "matmul_gflops_all": per_backend,
        "rows": rows,
        "onnx": onnx_note,
    }


def _onnx_note() -> str:
    import importlib.util

    missing = [m for m in ("onnxruntime", "tf2onnx") if importlib.util.find_spec(m) is None]
    if missing:
        return (
            f"ONNX Runtime skipped: {', '.join(missing)} not installed (tf2onnx does not "
            "support Keras 3 models cleanly; LiteRT is the TF-free runtime we ship)"
        )
    return "ONNX Runtime skipped: conversion not attempted in this benchmark"


# --- pipeline runs in child processes ----------------------------------------------------------


def child_main(args: argparse.Namespace) -> int:
    """In a fresh process: import, load, analyze the clip cold, then warm; print JSON."""
    spawn = float(args.spawn_time)
    if args.block_tf:
        sys.modules["tensorflow"] = None  # type: ignore[assignment]
    if args.decode_all:  # what skipping unreferenced frames saves (media/video.py)
        import deepfake_analyzer.media.video as video

        video.SKIP_NONREF_FACTOR = float("inf")
    t0 = time.perf_counter()
    from deepfake_analyzer.models.loader import load_classifier
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.pipeline import Analyzer
    from deepfake_analyzer.report.writers import write_reports

    import_s = time.perf_counter() - t0
    chosen = {"temporal": args.temporal} if args.temporal else {}
    options = AnalyzeOptions(model_path=str(args.spec), **chosen)
    t0 = time.perf_counter()
    if args.runtime == "fake":  # the pipeline's floor: every stage but the classifier's cost
        from dataclasses import replace

        from deepfake_analyzer.models.fake_classifier import FAKE_SPEC, FakeClassifier
        from deepfake_analyzer.models.spec import ModelSpec

        size = ModelSpec.load(args.spec).input_size
        classifier = FakeClassifier(replace(FAKE_SPEC, input_size=size))
    else:
        classifier = load_classifier(args.spec, runtime=args.runtime)
    model_load_s = time.perf_counter() - t0
    analyzer = Analyzer(options, classifier=classifier)
    t0 = time.perf_counter()
    analyzer.detector  # noqa: B018 - load it now (imports mediapipe)
    detector_load_s = time.perf_counter() - t0
    load_s = model_load_s + detector_load_s
    runs = []
    with tempfile.TemporaryDirectory() as out:
        for i in range(1 + args.repeats):
            report = analyzer.analyze(args.clip)
            t0 = time.perf_counter()
            write_reports(report, out, overwrite=True)
            timings = dict(report.timings_s)
            timings["report"] = time.perf_counter() - t0
            timings["wall"] = timings["total"] + timings["report"]
            if i == 0:
                cold_s = time.time() - spawn
                rss_after_cold = peak_rss_mb()
            runs.append(
                {
                    "timings": timings,
                    "frames": len(report.frames),
                    "faces": sum(len(f.faces) for f in report.frames),
                    "duration_s": report.input.duration_s,
                    "verdict": report.verdict.label,
                }
            )
    analyzer.close()
    result = {
        "clip": str(args.clip),
        "runtime": type(classifier).__name__,
        "block_tf": bool(args.block_tf),
        "temporal": options.temporal,
        "decode_all": bool(args.decode_all),
        "tensorflow_imported": bool(sys.modules.get("tensorflow")),
        "import_s": import_s,
        "load_s": load_s,
        "model_load_s": model_load_s,
        "detector_load_s": detector_load_s,
        "cold_s": cold_s,
        "peak_rss_mb_cold": rss_after_cold,
        "peak_rss_mb": peak_rss_mb(),
        "runs": runs,
    }
    print("BENCH-RESULT " + json.dumps(result))
    return 0


def peak_rss_mb() -> float:
    """This process's peak resident memory. /proc's VmHWM, not getrusage: after fork + exec,
    ru_maxrss keeps the parent's peak, so a child of a big parent would report the parent's."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def run_child(
    clip: Path,
    spec: Path,
    runtime: str,
    repeats: int,
    block_tf: bool = False,
    temporal: str | None = None,
    decode_all: bool = False,
) -> dict[str, Any]:
    """Analyze `clip` in a new process; `temporal` None keeps the option's default;
    `decode_all` decodes every frame (no skipping of unreferenced ones)."""
    cmd = [
        sys.executable, str(Path(__file__).resolve()), "--child", "--clip", str(clip),
        "--spec", str(spec), "--runtime", runtime, "--repeats", str(repeats),
        "--spawn-time", repr(time.time()), *(("--temporal", temporal) if temporal else ()),
    ]  # fmt: skip
    if block_tf:
        cmd.append("--block-tf")
    if decode_all:
        cmd.append("--decode-all")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", GLOG_minloglevel="3")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    for line in proc.stdout.splitlines():
        if line.startswith("BENCH-RESULT "):
            return _summarize_child(json.loads(line[len("BENCH-RESULT ") :]))
    raise RuntimeError(f"benchmark child failed ({proc.returncode}):\n{proc.stderr[-3000:]}")


def _summarize_child(raw: dict[str, Any]) -> dict[str, Any]:
    warm = raw["runs"][1:] or raw["runs"]
    med = {k: statistics.median(r["timings"].get(k, 0.0) for r in warm) for k in warm[0]["timings"]}
    first = warm[0]
    wall = med["wall"]
    return {
        **{k: raw[k] for k in raw if k != "runs"},
        "warm_s": wall,
        "warm_runs": len(warm),
        "stages_s": {k: med.get(k, 0.0) for k in STAGES},
        "frames": first["frames"],
        "faces": first["faces"],
        "duration_s": first["duration_s"],
        "verdict": first["verdict"],
        "video_s_per_wall_s": first["duration_s"] / wall if wall else 0.0,
        "frames_per_s": first["frames"] / wall if wall else 0.0,
        "crops_per_s": first["faces"] / wall if wall else 0.0,
        "classifier_crops_per_s": first["faces"] / med["classify"] if med["classify"] else 0.0,
    }


# --- batch on Ray -----------------------------------------------------------------------------


def ray_throughput(clips: list[Path], spec: Path, workers: int) -> dict[str, Any]:
    from deepfake_analyzer.batch.engine import EngineOptions, create_engine
    from deepfake_analyzer.batch.jobs import AnalyzerFactory
    from deepfake_analyzer.batch.runner import run_batch
    from deepfake_analyzer.options import AnalyzeOptions

    factory = AnalyzerFactory(AnalyzeOptions(model_path=str(spec)))
    from deepfake_analyzer.models.litert_classifier import available_cores

    cpus = max(1.0, available_cores() / workers)  # the machine's cores, split between workers
    engine = create_engine("ray", EngineOptions(workers=workers, cpus_per_worker=cpus))
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        result = run_batch(clips, out, engine, factory, formats=("json",))
        wall = time.perf_counter() - t0
    return {
        "workers": workers,
        "cpus_per_worker": cpus,
        "clips": result.analyzed,
        "failed": result.failed,
        "wall_s": wall,
        "clips_per_s": result.analyzed / wall,
        "video_s_per_wall_s": result.video_s / wall,
    }


# --- output -----------------------------------------------------------------------------------


def render(results: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, shutil.get_terminal_size((120, 40)).columns))
    console.print(f"[bold]deepfake-analyzer benchmark[/bold]  {results['machine']}")
    console.print(f"model: {results['model']}")
    console.print(f"[dim]{results['note']}[/dim]")
    rt = results["runtimes"]
    table = Table(
        title=(
            f"classifier runtimes at {rt['input_size']} px, batch {rt['batch']}: median of "
            f"{rt['rounds']} interleaved rounds; ceiling: 4096^2 float32 matmul "
            f"{rt['matmul_gflops_max']:.0f} GFLOP/s (best of numpy and oneDNN, best round; median "
            f"{rt['matmul_gflops_median']:.0f}); "
            f"{rt['gflop_per_crop']:.1f} GFLOP per crop"
        )
    )
    for col in ("runtime", "crops/s", "vs keras", "GFLOP/s", "of matmul", "max |diff|"):
        table.add_column(col, justify="left" if col == "runtime" else "right")
    for row in rt["rows"]:
        table.add_row(
            row["runtime"],
            f"{row['crops_per_s']:.1f}",
            f"{row['speedup_vs_keras']:.2f}x",
            f"{row['gflops']:.0f}",
            f"{row['fraction_of_matmul']:.0%}",
            f"{row['max_abs_diff_vs_keras']:.1e}",
        )
    console.print(table)
    console.print(rt["onnx"])

    table = Table(title="pipeline per clip, default options (warm: median of runs, model loaded)")
    cols = ("clip", "runtime", "cold s", "import+load s", "warm s", "video s/s", "frames/s")
    for col in (*cols, "crops/s", "faces", "peak RSS MB", "TF in process"):
        table.add_column(col, justify="left" if col in ("clip", "runtime") else "right")
    for row in results["clips"]:
        table.add_row(
            Path(row["clip"]).stem,
            _runtime_label(row),
            f"{row['cold_s']:.2f}",
            f"{row['import_s'] + row['load_s']:.2f}",
            f"{row['warm_s']:.2f}",
            f"{row['video_s_per_wall_s']:.1f}",
            f"{row['frames_per_s']:.1f}",
            f"{row['crops_per_s']:.1f}",
            str(row["faces"]),
            f"{row['peak_rss_mb']:.0f}",
            "yes" if row["tensorflow_imported"] else "no",
        )
    console.print(table)
    table = Table(title="seconds per stage (warm, median); load = classifier + detector")
    for col in ("clip", "runtime", *STAGES, "model load", "detector load"):
        table.add_column(col, justify="left" if col in ("clip", "runtime") else "right")
    for row in results["clips"]:
        table.add_row(
            Path(row["clip"]).stem,
            _runtime_label(row),
            *(f"{row['stages_s'][s]:.2f}" for s in STAGES),
            f"{row['model_load_s']:.2f}",
            f"{row['detector_load_s']:.2f}",
        )
    console.print(table)
    console.print(
        "Decode runs ahead in a thread, so stages overlap and can add up to more than the warm "
        "time. Cold = new process start to first report written (imports, model and detector "
        "load, the clip)."
    )
    if results.get("ray"):
        table = Table(title="batch --engine ray over the clips above (local Ray, this machine)")
        for col in ("workers", "clips", "wall s", "clips/s", "video s/s"):
            table.add_column(col, justify="right")
        for row in results["ray"]:
            table.add_row(
                str(row["workers"]),
                str(row["clips"]),
                f"{row['wall_s']:.1f}",
                f"{row['clips_per_s']:.2f}",
                f"{row['video_s_per_wall_s']:.1f}",
            )
        console.print(table)
    elif results.get("ray_note"):
        console.print(results["ray_note"])
    table = Table(title="issue 5 targets (default runtime, 2-core machine, warm)")
    for col in ("target", "goal", "measured", "met"):
        table.add_column(col)
    for row in results.get("targets", []):
        table.add_row(row["target"], row["goal"], row["measured"], "yes" if row["met"] else "NO")
    console.print(table)


def _runtime_label(row: dict[str, Any]) -> str:
    label = row["runtime"].replace("Classifier", "").replace("Fake", "none (floor)")
    label += " (TF blocked)" if row["block_tf"] else ""
    from deepfake_analyzer.options import AnalyzeOptions

    default = row["temporal"] == AnalyzeOptions.temporal
    label += "" if default else f", temporal {row['temporal']}"
    return label + (", every frame decoded" if row.get("decode_all") else "")


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    from deepfake_analyzer.options import AnalyzeOptions

    rows = []
    runs = [
        r
        for r in results["clips"]
        if Path(r["clip"]).stem == TARGET_CLIP
        and r["runtime"] == "LiteRTClassifier"
        and r["temporal"] == AnalyzeOptions.temporal
        and not r.get("decode_all")
    ]
    default = next((r for r in runs if not r["block_tf"]), None)
    light = next((r for r in runs if r["block_tf"]), None)
    if default is not None:
        extra = f"; {light['warm_s']:.2f} s with TF kept out" if light else ""
        rows.append(
            {
                "target": f"{TARGET_CLIP} warm wall time",
                "goal": "<= 2.0 s",
                "measured": f"{default['warm_s']:.2f} s{extra}",
                "met": default["warm_s"] <= 2.0,
            }
        )
        cold = default["import_s"] + default["load_s"]
        extra = f"; {light['import_s'] + light['load_s']:.2f} s with TF kept out" if light else ""
        rows.append(
            {
                "target": "cold start (import + model and detector load)",
                "goal": "<= 3.0 s",
                "measured": f"{cold:.2f} s{extra}",
                "met": cold <= 3.0,
            }
        )
        extra = f"; {light['peak_rss_mb']:.0f} MB with TF kept out" if light else ""
        rows.append(
            {
                "target": "peak RSS",
                "goal": "<= 1536 MB",
                "measured": f"{default['peak_rss_mb']:.0f} MB{extra}",
                "met": default["peak_rss_mb"] <= 1536,
            }
        )
    best = max(results["runtimes"]["rows"], key=lambda r: r["fraction_of_matmul"])
    rows.append(
        {
            "target": "classifier FLOP rate / matmul ceiling",
            "goal": ">= 70 %",
            "measured": f"{best['fraction_of_matmul']:.0%} ({best['runtime']})",
            "met": best["fraction_of_matmul"] >= 0.7,
        }
    )
    return rows


# --- main -------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--input-size", type=int, default=299, help="for the random stand-in")
    parser.add_argument(
        "--model", type=Path, help="a .spec.json to benchmark (default: the shipped model)"
    )
    parser.add_argument("--quick", action="store_true", help="one clip, fewer rounds")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved runtime rounds")
    parser.add_argument("--batch", type=int, default=16, help="crops per classifier batch")
    parser.add_argument("--repeats", type=int, default=3, help="warm runs per clip")
    parser.add_argument("--no-ray", action="store_true", help="skip the Ray batch throughput")
    parser.add_argument("--json", type=Path, help="also write the results as JSON here")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--spec", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--runtime", default="auto", help=argparse.SUPPRESS)
    parser.add_argument("--block-tf", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--temporal", help=argparse.SUPPRESS)
    parser.add_argument("--decode-all", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--spawn-time", default="0", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(args)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    started = time.perf_counter()

    def log(text: str) -> None:
        print(f"[{time.perf_counter() - started:6.1f} s] {text}", file=sys.stderr, flush=True)

    import synthetic_clips as sc

    from deepfake_analyzer import paths

    recipes = [sc.ClipRecipe("1080p", 1)]
    if not args.quick:
        recipes += [sc.ClipRecipe("720p", 1), sc.ClipRecipe("720p", 3), sc.ClipRecipe("1080p", 3)]
    clips = []
    for recipe in recipes:
        log(f"clip {recipe.name}")
        clips.append(sc.make_clip(recipe, args.cache_dir / "clips"))
    if not args.quick:
        clips += sorted(paths.SAMPLE_MEDIA_DIR.glob("*.mp4"))
    if args.model is not None and not args.model.is_file():
        raise SystemExit(f"--model {args.model}: no such spec file")
    spec_path, compared, model_label = prepare_model(
        args.cache_dir, args.input_size, log, args.model
    )
    results: dict[str, Any] = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}",
        "model": model_label,
        "spec": str(spec_path),
        "runtimes_compared_on": str(compared),
        "note": "shared machine: absolute figures are noisy, ratios are steadier",
    }
    log("comparing runtimes")
    rounds = 3 if args.quick else args.rounds
    results["runtimes"] = compare_runtimes(compared, rounds, args.batch, log)

    results["clips"] = []
    repeats = 2 if args.quick else args.repeats
    target = clips[0]
    for runtime, block in (("auto", False), ("keras", False), ("auto", True), ("fake", True)):
        log(f"pipeline {target.stem}: runtime {runtime}{' (TF blocked)' if block else ''}")
        results["clips"].append(run_child(target, spec_path, runtime, repeats, block))
    log(f"pipeline {target.stem}: temporal off (no dense landmark window)")
    results["clips"].append(run_child(target, spec_path, "auto", repeats, True, "off"))
    log(f"pipeline {target.stem}: every frame decoded (no skipping of unreferenced frames)")
    results["clips"].append(run_child(target, spec_path, "auto", repeats, True, decode_all=True))
    for clip in clips[1:]:
        log(f"pipeline {clip.stem}")
        results["clips"].append(run_child(clip, spec_path, "auto", repeats))

    if not args.no_ray and not args.quick:
        try:
            import ray  # noqa: F401
        except ImportError:
            results["ray_note"] = "Ray throughput skipped: pip install 'deepfake-analyzer[ray]'"
        else:
            results["ray"] = []
            for workers in (1, 2):
                log(f"ray batch with {workers} worker(s)")
                results["ray"].append(ray_throughput(clips, spec_path, workers))
    results["targets"] = targets(results)
    results["bench_wall_s"] = time.perf_counter() - started
    render(results)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
