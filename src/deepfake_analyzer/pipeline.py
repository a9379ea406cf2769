"""The analysis pipeline: decode -> detect -> crop -> classify -> track -> aggregate.

`Analyzer` loads the detector and classifier once and analyzes many inputs (the CLI batch,
the web service's workers); `analyze` is the one-shot form behind `deepfake_analyzer.analyze`.
Decoding runs ahead in a thread through a bounded queue, so ffmpeg works while faces are
detected and classified. Progress goes to a hook; this module never imports a UI.
"""

from __future__ import annotations

import datetime as dt
import heapq
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer import __version__
from deepfake_analyzer.events import (
    Message,
    NullHook,
    ProgressHook,
    StageProgress,
    TrackUpdate,
)
from deepfake_analyzer.faces.base import FaceDetector
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.media.digest import FileDigest
from deepfake_analyzer.media.types import Frame, MediaInfo, SamplingOptions
from deepfake_analyzer.models.base import Classifier, checked_probabilities
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.provenance import ProvenanceReader
from deepfake_analyzer.report.types import (
    FaceResult,
    FrameResult,
    InputSummary,
    ModelSummary,
    Report,
    TemporalEvidence,
    Thumbnail,
)
from deepfake_analyzer.scoring.aggregate import track_score
from deepfake_analyzer.temporal.model import TemporalModel

DECODE_QUEUE_FRAMES = 8
THUMBNAILS_PER_END = 4
"""How many of the most and of the least suspicious crops the report keeps."""


@dataclass
class _StageClock:
    """Accumulates seconds per stage."""

    seconds: dict[str, float] = field(
        default_factory=lambda: dict.fromkeys(
            ("decode", "detect", "crop", "classify", "aggregate"), 0.0
        )
    )

    def add(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started


@dataclass(frozen=True)
class _PendingFace:
    frame_index: int
    timestamp_s: float
    track_id: int
    detection: FaceDetection


class Analyzer:
    """Holds a loaded detector and classifier and analyzes inputs one at a time.

    Pass `classifier` / `detector` to inject your own (tests use fakes); otherwise they are
    built from `options` on first use. Use as a context manager or call `close()`.
    """

    def __init__(
        self,
        options: AnalyzeOptions | None = None,
        *,
        classifier: Classifier | None = None,
        detector: FaceDetector | None = None,
        temporal_model: TemporalModel | None = None,
    ) -> None:
        self.options = options or AnalyzeOptions()
        self._classifier = classifier
        self._detector = detector
        self._owns_detector = detector is None
        self._explainer: Any = None
        self._temporal_model = temporal_model

    @property
    def classifier(self) -> Classifier:
        if self._classifier is None:
            from deepfake_analyzer.models.loader import load_classifier

            self._classifier = load_classifier(
                self.options.model_path,
                trust_model=self.options.trust_model,
                batch_size=self.options.batch_size,
                runtime="auto",  # --explain runs on LiteRT too (models/litert_cam.py)
            )
        return self._classifier

    @property
    def detector(self) -> FaceDetector:
        if self._detector is None:
            from deepfake_analyzer.faces.detector import create_detector

            self._detector = create_detector(
                self.options.detector,
                min_confidence=self.options.min_confidence,
                min_face_px=self.options.min_face,
            )
        return self._detector

    @property
    def temporal_model(self) -> TemporalModel:
        """The temporal (face-mesh motion) model, `models/temporal_v1.json` unless injected."""
        if self._temporal_model is None:
            from deepfake_analyzer.temporal.model import load_temporal_model

            self._temporal_model = load_temporal_model()
        return self._temporal_model

    def _with_heatmaps(
        self, kept: list[_KeptCrop], thumbnails: tuple[Thumbnail, ...]
    ) -> tuple[Thumbnail, ...]:
        """Grad-CAM overlays beside the report's crops (Keras and LiteRT classifiers)."""
        classifier = self.classifier
        if not thumbnails:
            return thumbnails
        from deepfake_analyzer.models.gradcam import overlay_heatmap

        if self._explainer is None:
            self._explainer = self._make_explainer()  # built once, reused for every file
        if self._explainer is False:
            return thumbnails  # a classifier without a model to explain (test fakes)
        crops = np.stack([crop for _, crop, _ in kept])
        heatmaps = self._explainer(classifier.spec.preprocess(crops))
        return tuple(
            replace(thumb, heatmap_jpeg=_encode_jpeg(overlay_heatmap(crop, heatmap)))
            for thumb, crop, heatmap in zip(thumbnails, crops, heatmaps, strict=True)
        )

    def _make_explainer(self) -> Any:
        """Grad-CAM for the loaded classifier: straight on its LiteRT model when the head
        allows (as fast as inference), else through Keras (loaded for this, traced once);
        False when the classifier has neither."""
        classifier = self.classifier
        tflite = getattr(classifier, "path", None)
        if tflite is not None and str(tflite).endswith(".tflite"):
            from deepfake_analyzer.errors import ModelError
            from deepfake_analyzer.models.litert_cam import LiteRTGradCam

            try:
                return LiteRTGradCam(tflite, num_threads=getattr(classifier, "num_threads", 1))
            except ModelError:
                from deepfake_analyzer.models.loader import load_classifier

                classifier = load_classifier(
                    self.options.model_path, trust_model=self.options.trust_model,
                    batch_size=self.options.batch_size, runtime="keras",
                )  # fmt: skip
        model = getattr(classifier, "model", None)
        if model is None:
            return False
        from deepfake_analyzer.models.gradcam import GradCam

        return GradCam(model)

    def close(self) -> None:
        if self._detector is not None and self._owns_detector:
            self._detector.close()
            self._detector = None

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def analyze(self, path: str | Path, hook: ProgressHook | None = None) -> Report:
        """Analyze one video or image file and return its report."""
        from deepfake_analyzer.media.open import open_media

        hook = hook or NullHook()
        path_str = str(path)
        options = self.options
        classifier = self.classifier  # load before decoding: a bad model fails fast
        detector = self.detector
        temporal_model = self.temporal_model if options.temporal != "off" else None
        started = time.perf_counter()
        spec = classifier.spec

        sampling = SamplingOptions(
            fps=options.fps,
            max_frames=options.max_frames,
            start_s=options.start_s,
            end_s=options.end_s,
        )
        source = open_media(Path(path), sampling, options.max_image_pixels)
        digest = FileDigest(Path(path))  # read beside the decoder, in a thread
        evidence = ProvenanceReader(Path(path), source.info.kind)  # likewise; never scored
        info: MediaInfo = source.info
        clock = _StageClock()
        expected = _expected_frames(info, sampling)

        from deepfake_analyzer.faces.crop import crop_face
        from deepfake_analyzer.faces.tracker import FaceTracker
        from deepfake_analyzer.temporal.tracks import LandmarkCollector

        tracker = FaceTracker()
        landmarks = LandmarkCollector()
        frame_times: dict[int, float] = {}
        frame_scales: dict[int, tuple[float, float]] = {}  # decoded pixels -> input pixels
        frame_order: list[int] = []
        pending: list[_PendingFace] = []
        pending_crops: list[np.ndarray] = []
        scored: list[tuple[_PendingFace, float]] = []
        thumbs = _ThumbnailKeeper(THUMBNAILS_PER_END)
        running: dict[int, list[float]] = {}

        def flush() -> None:
            if not pending:
                return
            hook(StageProgress(path_str, "classify", len(scored), len(scored) + len(pending)))
            t0 = time.perf_counter()
            raw = classifier.predict(np.stack(pending_crops))
            scores = spec.calibration.apply(
                checked_probabilities(raw, len(pending), f"model {spec.name!r}")
            )
            clock.add("classify", t0)
            for face, crop, score in zip(pending, pending_crops, scores, strict=True):
                scored.append((face, float(score)))
                thumbs.offer(face, crop, float(score))
                running.setdefault(face.track_id, []).append(float(score))
            pending.clear()
            pending_crops.clear()
            hook(StageProgress(path_str, "classify", len(scored), 0))
            hook(
                TrackUpdate(
                    path_str,
                    faces_found=len(scored),
                    track_scores={tid: track_score(vals) for tid, vals in running.items()},
                )
            )

        for frame in _decode_ahead(source, clock):
            frame_times[frame.index] = frame.timestamp_s
            size = source.info  # large inputs are decoded smaller: boxes go back to full size
            frame_scales[frame.index] = (size.width / frame.width, size.height / frame.height)
            frame_order.append(frame.index)
            hook(StageProgress(path_str, "decode", len(frame_order), expected))
            t0 = time.perf_counter()
            detections = detector.detect(frame.image)
            clock.add("detect", t0)
            track_ids = tracker.update(frame.timestamp_s, detections)
            t0 = time.perf_counter()
            for detection, track_id in zip(detections, track_ids, strict=True):
                pending.append(_PendingFace(frame.index, frame.timestamp_s, track_id, detection))
                landmarks.add(track_id, frame.timestamp_s, detection)
                pending_crops.append(
                    crop_face(frame.image, detection.box_xyxy, spec.crop_margin, spec.input_size)
                )
            clock.add("crop", t0)
            if len(pending) >= options.batch_size:
                flush()
        flush()

        warnings = list(info.warnings) + list(source.warnings())
        for text in warnings:
            hook(Message(path_str, text, level="warning"))

        temporal: dict[int, TemporalEvidence] = {}
        if temporal_model is not None and info.kind == "video":
            t0 = time.perf_counter()
            from deepfake_analyzer.temporal.tracks import track_evidence

            for track_id, values in running.items():
                temporal[track_id] = track_evidence(
                    landmarks.sequence(track_id),
                    track_score(values),
                    temporal_model,
                    combine=options.temporal == "combine",
                )
            clock.add("temporal", t0)

        t0 = time.perf_counter()
        from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate

        aggregation = aggregate(
            [
                FaceScore(face.frame_index, face.timestamp_s, face.track_id, score)
                for face, score in scored
            ],
            spec.thresholds,
            temporal=temporal,
        )
        frames = _frame_results(frame_order, frame_times, frame_scales, scored)
        clock.add("aggregate", t0)

        kept = thumbs.entries()
        thumbnails = _thumbnails(kept)
        if options.explain:
            t0 = time.perf_counter()
            hook(StageProgress(path_str, "explain", 0, len(kept)))
            thumbnails = self._with_heatmaps(kept, thumbnails)
            clock.add("explain", t0)
            hook(StageProgress(path_str, "explain", len(kept), len(kept)))

        timings = dict(clock.seconds)
        provenance = evidence.result()
        timings["provenance"] = evidence.seconds  # in a thread: overlaps the other stages
        timings["total"] = time.perf_counter() - started
        return Report(
            input=InputSummary(
                path=path_str,
                kind=info.kind,
                duration_s=info.duration_s,
                width=info.width,
                height=info.height,
                sha256=digest.hexdigest(),
            ),
            model=_model_summary(classifier),
            verdict=aggregation.verdict,
            tracks=tuple(aggregation.tracks),
            frames=frames,
            timings_s=timings,
            errors=tuple(warnings),
            warnings=tuple(aggregation.notes),
            options=options.to_dict(),
            thumbnails=thumbnails,
            created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            analyzer_version=__version__,
            provenance=provenance,
        )


def analyze(
    path: str | Path,
    options: AnalyzeOptions | None = None,
    *,
    hook: ProgressHook | None = None,
    classifier: Classifier | None = None,
    face_detector: FaceDetector | None = None,
    **overrides: Any,
) -> Report:
    """Analyze one file. `overrides` are `AnalyzeOptions` fields (e.g. `fps=4`,
    `detector="full"`); `classifier` / `face_detector` inject loaded models (tests use fakes)."""
    if overrides:
        base = (options or AnalyzeOptions()).to_dict()
        base.update(overrides)
        options = AnalyzeOptions.from_mapping(base)
    with Analyzer(options, classifier=classifier, detector=face_detector) as analyzer:
        return analyzer.analyze(path, hook=hook)


def _decode_ahead(source: Any, clock: _StageClock) -> Iterator[Frame]:
    """Yield the source's frames, decoded in a background thread a few frames ahead."""
    frames: queue.Queue[Any] = queue.Queue(maxsize=DECODE_QUEUE_FRAMES)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        iterator = source.frames()
        try:
            while not stop.is_set():
                t0 = time.perf_counter()
                try:
                    frame = next(iterator)
                except StopIteration:
                    break
                finally:
                    clock.add("decode", t0)
                frames.put(frame)
            frames.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            frames.put(exc)
        finally:
            close = getattr(iterator, "close", None)
            if close is not None and stop.is_set():
                close()

    worker = threading.Thread(target=produce, name="decode-ahead", daemon=True)
    worker.start()
    try:
        while True:
            item = frames.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():
            try:
                frames.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


_KeptCrop = tuple[_PendingFace, np.ndarray, float]
"""A crop kept for the report: where it came from, its pixels and its score."""


class _ThumbnailKeeper:
    """Keeps the k most and k least suspicious crops seen, without holding all crops."""

    def __init__(self, per_end: int) -> None:
        self.per_end = per_end
        self._high: list[tuple[float, int, _PendingFace, np.ndarray]] = []
        self._low: list[tuple[float, int, _PendingFace, np.ndarray]] = []
        self._counter = 0

    def offer(self, face: _PendingFace, crop: np.ndarray, score: float) -> None:
        self._counter += 1
        for heap, key in ((self._high, score), (self._low, -score)):
            item = (key, self._counter, face, crop)
            if len(heap) < self.per_end:
                heapq.heappush(heap, item)
            elif key > heap[0][0]:
                heapq.heapreplace(heap, item)

    def entries(self) -> list[_KeptCrop]:
        """Most suspicious first, then least suspicious; each crop once."""
        ordered = [(k, c, f, crop) for k, c, f, crop in sorted(self._high, reverse=True)]
        ordered += [(-k, c, f, crop) for k, c, f, crop in sorted(self._low, reverse=True)]
        seen: set[int] = set()
        result = []
        for score, counter, face, crop in ordered:
            if counter not in seen:
                seen.add(counter)
                result.append((face, crop, score))
        return result


def _thumbnails(kept: list[_KeptCrop]) -> tuple[Thumbnail, ...]:
    return tuple(
        Thumbnail(
            track_id=face.track_id,
            frame_index=face.frame_index,
            timestamp_s=face.timestamp_s,
            score=score,
            jpeg=_encode_jpeg(crop),
        )
        for face, crop, score in kept
    )


def _encode_jpeg(image_rgb: np.ndarray, quality: int = 85) -> bytes:
    import cv2

    ok, buffer = cv2.imencode(
        ".jpg", np.ascontiguousarray(image_rgb[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality]
    )
    return buffer.tobytes() if ok else b""


def _frame_results(
    frame_order: list[int],
    frame_times: dict[int, float],
    frame_scales: dict[int, tuple[float, float]],
    scored: list[tuple[_PendingFace, float]],
) -> tuple[FrameResult, ...]:
    faces_by_frame: dict[int, list[FaceResult]] = {index: [] for index in frame_order}
    for face, score in scored:
        sx, sy = frame_scales[face.frame_index]
        x0, y0, x1, y1 = face.detection.box_xyxy
        faces_by_frame[face.frame_index].append(
            FaceResult(
                track_id=face.track_id,
                box_xyxy=(float(x0) * sx, float(y0) * sy, float(x1) * sx, float(y1) * sy),
                score=score,
                detection_confidence=face.detection.confidence,
            )
        )
    return tuple(
        FrameResult(index=index, timestamp_s=frame_times[index], faces=tuple(faces_by_frame[index]))
        for index in frame_order
    )


def _model_summary(classifier: Classifier) -> ModelSummary:
    spec = classifier.spec
    provenance: dict[str, Any] = {}
    for key in ("data", "recipe", "trained_utc", "hardware", "minutes"):
        if key in spec.training:
            provenance[key] = spec.training[key]
    if spec.metrics:
        provenance["metrics"] = spec.metrics
    return ModelSummary(
        name=getattr(classifier, "name", spec.name),
        sha256=classifier.sha256,
        input_size=spec.input_size,
        thresholds={"suspicious": spec.thresholds.suspicious, "fake": spec.thresholds.fake},
        provenance=provenance,
    )


def _expected_frames(info: MediaInfo, sampling: SamplingOptions) -> int:
    """Roughly how many frames sampling will yield (0 when unknown), for progress bars."""
    if info.kind == "image":
        return 1
    end = info.duration_s if sampling.end_s is None else min(sampling.end_s, info.duration_s)
    span = max(0.0, end - sampling.start_s)
    rate = sampling.fps or info.fps or 0.0
    expected = int(round(span * rate)) if rate else 0
    if sampling.max_frames is not None:
        expected = min(expected, sampling.max_frames) if expected else sampling.max_frames
    return max(expected, 0)
