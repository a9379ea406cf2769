"""The analysis pipeline: decode -> detect -> crop -> classify -> track -> aggregate.

`Analyzer` loads the detector and classifier once and analyzes many inputs (the CLI batch,
the web service's workers); `analyze` is the one-shot form behind `deepfake_analyzer.analyze`.
Decoding runs ahead in a thread through a bounded queue, so ffmpeg works while faces are
detected and classified. Each decoded `Frame` goes through `_detect_and_crop`; faces are
scored a batch at a time by `_classify_pending`; then temporal evidence, aggregation
(scoring/aggregate.py) and the report's pictures (report/pictures.py). One input's state lives
in an `_InputRun`. Progress goes to a hook; this module never imports a UI.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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
from deepfake_analyzer.faces.base import FaceDetector, begin_media
from deepfake_analyzer.faces.crop import crop_face, resize_square
from deepfake_analyzer.faces.tracker import FaceTracker
from deepfake_analyzer.faces.types import FaceDetection
from deepfake_analyzer.media.base import MediaSource
from deepfake_analyzer.media.digest import FileDigest
from deepfake_analyzer.media.types import Frame, MediaInfo, SamplingOptions
from deepfake_analyzer.models import views
from deepfake_analyzer.models.base import (
    Classifier,
    MemberEvidenceClassifier,
    checked_probabilities,
)
from deepfake_analyzer.options import AnalyzeOptions
from deepfake_analyzer.provenance import ProvenanceReader
from deepfake_analyzer.report.pictures import CropPicker, ScoredCrop, thumbnails
from deepfake_analyzer.report.reliability import report_metrics
from deepfake_analyzer.report.types import (
    FaceResult,
    FrameResult,
    InputSummary,
    Members,
    ModelSummary,
    Report,
    TemporalEvidence,
    Thumbnail,
)
from deepfake_analyzer.scoring.aggregate import Aggregation, FaceScore, aggregate, track_score
from deepfake_analyzer.temporal.follow import LandmarkFollower
from deepfake_analyzer.temporal.model import TemporalModel
from deepfake_analyzer.temporal.tracks import SPARSE_FACTOR, LandmarkCollector

DECODE_QUEUE_FRAMES = 8

Explainer = Callable[[np.ndarray], np.ndarray]
"""Grad-CAM: preprocessed crops (N, S, S, 3) -> heatmaps (N, S, S) in [0, 1]."""


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
class _SampledFrame:
    """A decoded frame's index and time, and the scale from its pixels to the input's."""

    index: int
    timestamp_s: float
    scale_xy: tuple[float, float]


@dataclass(frozen=True)
class _Face:
    """One detected face: where and when it was seen, and the track it joined."""

    frame_index: int
    timestamp_s: float
    track_id: int
    detection: FaceDetection


@dataclass
class _InputRun:
    """What one input's analysis has gathered so far; `Analyzer`'s stage steps fill it."""

    path: str
    hook: ProgressHook
    expected_frames: int
    clock: _StageClock = field(default_factory=_StageClock)
    tracker: FaceTracker = field(default_factory=FaceTracker)
    landmarks: LandmarkCollector = field(default_factory=LandmarkCollector)
    frames: list[_SampledFrame] = field(default_factory=list)
    pending: list[tuple[_Face, np.ndarray, tuple[int, ...]]] = field(default_factory=list)
    """Faces cropped and waiting for the next classifier batch, with their crops and the
    views (models/views.py) each is scored through."""
    seen_per_track: dict[int, int] = field(default_factory=dict)
    """How many faces of each track were cropped so far (a video face's view)."""
    scored: list[tuple[_Face, float]] = field(default_factory=list)
    members: list[Members] = field(default_factory=list)
    """A blended model's evidence per member for each face of `scored` (() for one model)."""
    textures: list[float | None] = field(default_factory=list)
    """Each face of `scored`'s value of the model's track head (None without one)."""
    track_faces: dict[int, list[float]] = field(default_factory=dict)
    """Each track's face scores so far, tracks in the order they were first scored."""
    picker: CropPicker = field(default_factory=CropPicker)
    follower: LandmarkFollower | None = None
    """Carries meshes through the dense window's landmark-only frames (temporal/follow.py);
    None when the decoder samples no dense window."""

    def track_scores(self) -> dict[int, float]:
        return {tid: track_score(values) for tid, values in self.track_faces.items()}


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
        self._explainer: Explainer | None = None
        self._explainer_built = False
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

    @property
    def explainer(self) -> Explainer | None:
        """Grad-CAM for the loaded classifier, built on first use and reused for every file;
        None for a classifier without a model to explain (test fakes)."""
        if not self._explainer_built:
            self._explainer = self._make_explainer()
            self._explainer_built = True
        return self._explainer

    def _make_explainer(self) -> Explainer | None:
        """Straight on the classifier's LiteRT model when the head allows (as fast as
        inference), else through Keras (loaded for this, traced once). A blend explains its
        first member (models/blend.py)."""
        classifier = _explained(self.classifier)
        tflite = getattr(classifier, "path", None)
        if tflite is not None and str(tflite).endswith(".tflite"):
            from deepfake_analyzer.errors import ModelError
            from deepfake_analyzer.models.litert_cam import LiteRTGradCam

            try:
                return LiteRTGradCam(tflite, num_threads=getattr(classifier, "num_threads", 1))
            except ModelError:
                from deepfake_analyzer.models.loader import load_classifier

                classifier = _explained(load_classifier(
                    self.options.model_path, trust_model=self.options.trust_model,
                    batch_size=self.options.batch_size, runtime="keras",
                ))  # fmt: skip
        model = getattr(classifier, "model", None)
        if model is None:
            return None
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

        options = self.options
        self._load_models()
        started = time.perf_counter()
        follower = self._landmark_follower()
        dense_fps, dense_s = (
            (self.temporal_model.fps, options.temporal_seconds) if follower else (None, 0.0)
        )
        sampling = SamplingOptions(
            fps=options.fps,
            max_frames=options.max_frames,
            start_s=options.start_s,
            end_s=options.end_s,
            dense_fps=dense_fps,
            dense_seconds=dense_s,
        )
        source = open_media(Path(path), sampling, options.max_image_pixels)
        digest = FileDigest(Path(path))  # read beside the decoder, in a thread
        evidence = ProvenanceReader(Path(path), source.info.kind)  # likewise; never scored
        info = source.info
        run = _InputRun(str(path), hook or NullHook(), _expected_frames(info, sampling))
        begin_media(self.detector)
        if sampling.dense and info.kind == "video":
            run.follower = follower

        for frame in _decode_ahead(source, run.clock):
            if frame.landmarks_only:
                self._follow_landmarks(run, frame)
                continue
            self._detect_and_crop(run, frame, source)
            if len(run.pending) >= options.batch_size:
                self._classify_pending(run)
        self._classify_pending(run)

        warnings = list(info.warnings) + list(source.warnings())
        for text in warnings:
            run.hook(Message(run.path, text, level="warning"))
        temporal = self._temporal_evidence(run, info)
        aggregation, frames = self._aggregate(run, temporal)
        pictures = self._thumbnails(run)

        timings = dict(run.clock.seconds)
        provenance = evidence.result()
        timings["provenance"] = evidence.seconds  # in a thread: overlaps the other stages
        timings["total"] = time.perf_counter() - started
        return Report(
            input=InputSummary(
                path=run.path,
                kind=info.kind,
                duration_s=info.duration_s,
                width=info.width,
                height=info.height,
                sha256=digest.hexdigest(),
            ),
            model=_model_summary(self.classifier),
            verdict=aggregation.verdict,
            tracks=aggregation.tracks,
            frames=frames,
            timings_s=timings,
            errors=tuple(warnings),
            warnings=aggregation.notes,
            options=options.to_dict(),
            thumbnails=pictures,
            created_utc=dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
            analyzer_version=__version__,
            provenance=provenance,
        )

    def _load_models(self) -> None:
        """Load every model this analysis uses before decoding, so a bad one fails fast."""
        _ = self.classifier, self.detector
        if self.options.temporal != "off":
            _ = self.temporal_model

    def _landmark_follower(self) -> LandmarkFollower | None:
        """A follower when the temporal model needs denser landmarks than the sampling gives
        (temporal/follow.py) and the detector has a face mesh to follow with; else None."""
        options = self.options
        if options.temporal == "off" or options.fps is None:
            return None
        model = self.temporal_model
        mesh = getattr(self.detector, "mesh", None)
        if mesh is None or options.fps * SPARSE_FACTOR >= model.fps:
            return None
        return LandmarkFollower(mesh)

    def _follow_landmarks(self, run: _InputRun, frame: Frame) -> None:
        """Carry the tracks' meshes through a landmark-only frame of the dense window."""
        if run.follower is None:
            return
        t0 = time.perf_counter()
        run.follower.follow(run.landmarks, frame.image, frame.timestamp_s)
        run.clock.add("landmarks", t0)

    def _detect_and_crop(self, run: _InputRun, frame: Frame, source: MediaSource) -> None:
        """Detect the frame's faces, track them, and crop each for the classifier."""
        size = source.info  # large inputs are decoded smaller: boxes go back to full size
        scale = (size.width / frame.width, size.height / frame.height)
        run.frames.append(_SampledFrame(frame.index, frame.timestamp_s, scale))
        run.hook(StageProgress(run.path, "decode", len(run.frames), run.expected_frames))
        t0 = time.perf_counter()
        detections = self.detector.detect(frame.image)
        run.clock.add("detect", t0)
        track_ids = run.tracker.update(frame.timestamp_s, detections)
        t0 = time.perf_counter()
        spec = self.classifier.spec
        for detection, track_id in zip(detections, track_ids, strict=True):
            run.landmarks.add(track_id, frame.timestamp_s, detection)
            crop = crop_face(frame.image, detection.box_xyxy, spec.crop_margin, spec.input_size)
            face = _Face(frame.index, frame.timestamp_s, track_id, detection)
            run.pending.append((face, crop, _views_of(run, track_id, spec.views, source.info.kind)))
        run.clock.add("crop", t0)

    def _classify_pending(self, run: _InputRun) -> None:
        """Score the faces waiting for a batch and offer their crops to the report's picker."""
        if not run.pending:
            return
        done, count = len(run.scored), len(run.pending)
        run.hook(StageProgress(run.path, "classify", done, done + count))
        t0 = time.perf_counter()
        spec = self.classifier.spec
        raw, members, textures = _predict_with_members(
            self.classifier,
            np.stack([crop for _, crop, _ in run.pending]),
            [planned for _, _, planned in run.pending],
            f"model {spec.name!r}",
        )
        scores = spec.calibration.apply(raw)
        run.clock.add("classify", t0)
        readings = zip(run.pending, scores, members, textures, strict=True)
        for (face, crop, _), value, evidence, texture in readings:
            score = float(value)
            run.scored.append((face, score))
            run.members.append(evidence)
            run.textures.append(texture)
            run.track_faces.setdefault(face.track_id, []).append(score)
            run.picker.offer(
                ScoredCrop(face.track_id, face.frame_index, face.timestamp_s, score, crop)
            )
        run.pending.clear()
        run.hook(StageProgress(run.path, "classify", len(run.scored), 0))
        run.hook(
            TrackUpdate(run.path, faces_found=len(run.scored), track_scores=run.track_scores())
        )

    def _temporal_evidence(self, run: _InputRun, info: MediaInfo) -> dict[int, TemporalEvidence]:
        """The temporal model's evidence per track (videos only, unless the option is off)."""
        if self.options.temporal == "off" or info.kind != "video":
            return {}
        from deepfake_analyzer.temporal.tracks import track_evidence

        t0 = time.perf_counter()
        start = self.options.start_s
        span = (start, start + self.options.temporal_seconds) if run.follower else None
        evidence = {
            track_id: track_evidence(
                run.landmarks.sequence(track_id),
                score,
                self.temporal_model,
                combine=self.options.temporal == "combine",
                span_s=span,
            )
            for track_id, score in run.track_scores().items()
        }
        run.clock.add("temporal", t0)
        return evidence

    def _aggregate(
        self, run: _InputRun, temporal: dict[int, TemporalEvidence]
    ) -> tuple[Aggregation, tuple[FrameResult, ...]]:
        """Tracks and the verdict (scoring/aggregate.py), and every sampled frame's faces."""
        t0 = time.perf_counter()
        aggregation = aggregate(
            [
                FaceScore(f.frame_index, f.timestamp_s, f.track_id, s, m, t)
                for (f, s), m, t in zip(run.scored, run.members, run.textures, strict=True)
            ],
            self.classifier.spec.thresholds,
            temporal=temporal,
        )
        frames = _frame_results(run.frames, run.scored, run.members, run.textures)
        run.clock.add("aggregate", t0)
        return aggregation, frames

    def _thumbnails(self, run: _InputRun) -> tuple[Thumbnail, ...]:
        """The picked crops as thumbnails; with `explain`, their Grad-CAM heatmaps too."""
        picked = run.picker.picked()
        if not self.options.explain:
            return thumbnails(picked)
        t0 = time.perf_counter()
        run.hook(StageProgress(run.path, "explain", 0, len(picked)))
        explainer = self.explainer if picked else None
        heatmaps = None
        if explainer is not None:
            heatmaps = _explain(explainer, self.classifier, [crop.pixels for crop in picked])
        pictures = thumbnails(picked, heatmaps)
        run.clock.add("explain", t0)
        run.hook(StageProgress(run.path, "explain", len(picked), len(picked)))
        return pictures


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


def _decode_ahead(source: MediaSource, clock: _StageClock) -> Iterator[Frame]:
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


def _frame_results(
    frames: list[_SampledFrame],
    scored: list[tuple[_Face, float]],
    members: list[Members],
    textures: list[float | None],
) -> tuple[FrameResult, ...]:
    """Every sampled frame with its faces, boxes in the input's full-size pixels."""
    faces_by_frame: dict[int, list[FaceResult]] = {frame.index: [] for frame in frames}
    scales = {frame.index: frame.scale_xy for frame in frames}
    for (face, score), evidence, texture in zip(scored, members, textures, strict=True):
        sx, sy = scales[face.frame_index]
        x0, y0, x1, y1 = face.detection.box_xyxy
        faces_by_frame[face.frame_index].append(
            FaceResult(
                track_id=face.track_id,
                box_xyxy=(float(x0) * sx, float(y0) * sy, float(x1) * sx, float(y1) * sy),
                score=score,
                detection_confidence=face.detection.confidence,
                members=evidence,
                texture=texture,
            )
        )
    return tuple(
        FrameResult(frame.index, frame.timestamp_s, tuple(faces_by_frame[frame.index]))
        for frame in frames
    )


def _views_of(run: _InputRun, track_id: int, count: int, kind: str) -> tuple[int, ...]:
    """The views a new face of `track_id` is scored through (`views.face_views`); counts it."""
    seen = run.seen_per_track.get(track_id, 0)
    run.seen_per_track[track_id] = seen + 1
    return views.face_views(kind, count, seen)


def _predict_with_members(
    classifier: Classifier, crops: np.ndarray, plan: list[tuple[int, ...]], model_name: str
) -> tuple[np.ndarray, list[Members], list[float | None]]:
    """The classifier's raw probabilities, checked, for crops seen through their views in
    `plan` (one tuple per crop; several views: their mean, models/views.py); for a blend whose
    file records its members' centers, each face's member evidence (() per face otherwise);
    for a blend with a track head, each face's value of it (None otherwise). Evidence and
    values are on the calibrated log-odds scale (models/blend.py), means over the views."""
    seen = views.crops_through_views(crops, plan)
    if not isinstance(classifier, MemberEvidenceClassifier) or not (
        classifier.evidence_names or classifier.has_track_head
    ):
        checked = checked_probabilities(classifier.predict(seen), len(seen), model_name)
        return views.mean_over_views(checked, plan), [()] * len(crops), [None] * len(crops)
    read = classifier.scores(seen)
    checked = checked_probabilities(read.probability, len(seen), model_name)
    scale = classifier.spec.calibration.log_odds_scale
    scaled = views.mean_evidence_over_views(read.evidence, plan) * scale
    names = classifier.evidence_names
    members = [tuple(zip(names, map(float, column), strict=True)) for column in scaled.T]
    textures: list[float | None] = [None] * len(crops)
    if read.track is not None:
        track = views.mean_evidence_over_views(read.track[None, :], plan)[0] * scale
        textures = [float(v) for v in track]
    return views.mean_over_views(checked, plan), members, textures


def _explain(explainer: Explainer, classifier: Classifier, crops: list[np.ndarray]) -> np.ndarray:
    """Grad-CAM heatmaps of `crops` (the classifier's crops), each as large as its crop: the
    explained member reads the middle square its margin covers (models/blend.py,
    `member_square`), so its heatmap lies there and the rest of the crop reads 0."""
    from deepfake_analyzer.models.blend import member_crops, member_square

    size, margin = classifier.spec.input_size, classifier.spec.crop_margin
    spec = _explained(classifier).spec
    whole = np.stack([resize_square(crop, size) for crop in crops])
    heatmaps = np.asarray(explainer(spec.preprocess(member_crops(whole, margin, spec))))
    start, side = member_square(size, margin, spec)
    if side == size:
        return heatmaps
    import cv2

    framed = np.zeros((len(crops), size, size), np.float32)
    for out, heat in zip(framed, heatmaps, strict=True):
        out[start : start + side, start : start + side] = cv2.resize(
            np.asarray(heat, np.float32), (side, side), interpolation=cv2.INTER_LINEAR
        )
    return framed


def _explained(classifier: Classifier) -> Classifier:
    """The classifier Grad-CAM explains: a blend's first member (models/blend.py), else itself."""
    explained: Classifier = getattr(classifier, "explained", classifier)
    return explained


def _model_summary(classifier: Classifier) -> ModelSummary:
    spec = classifier.spec
    provenance: dict[str, Any] = {}
    for key in ("data", "recipe", "trained_utc", "hardware", "minutes"):
        if key in spec.training:
            provenance[key] = spec.training[key]
    if spec.metrics:
        provenance["metrics"] = report_metrics(spec.metrics)
    return ModelSummary(
        name=getattr(classifier, "name", spec.name),
        sha256=classifier.sha256,
        input_size=spec.input_size,
        thresholds=spec.thresholds.pair(),
        provenance=provenance,
        views=spec.views,
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
