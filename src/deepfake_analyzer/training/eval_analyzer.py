"""Video scores as the analyzer gives them, for `evaluate --video-scores analyzer`.

The crop path of `evaluate` scores a video from a dozen evenly spaced frames of its largest
face. What a user gets is the analyzer's verdict: every sampled frame at the default rate,
every track, the highest eligible track, and the temporal evidence combined into it. Its
score runs higher on real clips with many faces or long tracks, so thresholds chosen on the
crop path flag more real videos in use than they did in evaluation.

`analyze_videos` runs the analyzer once per video with calibration switched off and keeps
what the verdict is made of (`AnalyzedVideo`): every face's raw probability and each track's
temporal score. `AnalyzedVideo.score(calibration, thresholds)` then rebuilds the verdict's
score under any calibration exactly as the analyzer would (`scoring.aggregate` with
`temporal.tracks.combine_scores`), so fitting a calibration never re-runs the analyzer.
Results are cached per classifier (and the crops and views its spec asks for), temporal model,
options and file (path, size, mtime).

What the analyzer saw of each video before its classifier is cached too, per crop geometry
(margin, input size, views), options and temporal model: every face crop the classifier was
given, in order, with the faces' frames, tracks and temporal scores (`FACES_FOLDER`). Another
classifier of the same geometry (a candidate against the shipped model) is then scored on those
crops alone (`rescored`): the same crops, so the same scores as analyzing the video again,
without decoding, detecting or following landmarks.
"""

from __future__ import annotations

import hashlib
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.events import Message, NullHook, ProgressHook, StageProgress
from deepfake_analyzer.models.base import (
    CropScores,
    MemberEvidenceClassifier,
    checked_probabilities,
)
from deepfake_analyzer.models.spec import Calibration, ModelSpec, Thresholds
from deepfake_analyzer.report.types import TemporalEvidence, Verdict
from deepfake_analyzer.scoring.aggregate import FaceScore, aggregate, track_score
from deepfake_analyzer.temporal.tracks import combine_scores

if TYPE_CHECKING:
    from deepfake_analyzer.faces.base import FaceDetector
    from deepfake_analyzer.models.base import Classifier
    from deepfake_analyzer.options import AnalyzeOptions
    from deepfake_analyzer.report.types import Report
    from deepfake_analyzer.temporal.model import TemporalModel
    from deepfake_analyzer.training.sources import LabeledItem

STAGE_ANALYZE = "analyze"
CACHE_FOLDER = "eval-analyzer"
FACES_FOLDER = "eval-faces"
_NOT_CROPPING = ("model_path", "trust_model", "batch_size", "explain")
"""Options that change what scores the crops, not which crops are cut."""
_CACHE_VERSION = 3
"""Bumped when what the analyzer computes changes without its options changing (2: the
decoder skips unreferenced frames when sampling sparsely, media/video.py; 3: the auto
detector probes large-face frames with full range, faces/detector.py)."""


@dataclass(frozen=True)
class AnalyzedVideo:
    """What the analyzer's verdict on one video is made of, before calibration.

    `faces` carry raw classifier probabilities; `temporal` maps each track whose temporal
    score was combined into its verdict to that score; `prior` is the temporal model's.
    """

    faces: tuple[FaceScore, ...]
    temporal: Mapping[int, float]
    prior: float

    def score(
        self, calibration: Calibration, thresholds: Thresholds, temporal: bool = True
    ) -> float | None:
        """The verdict's score under `calibration`, None when the analyzer found no face.
        `thresholds` only decide which short tracks may carry the verdict, as in the analyzer;
        `temporal` False leaves the temporal evidence out (the frame scores alone)."""
        return self.verdict(calibration, thresholds, temporal).score

    def verdict(
        self, calibration: Calibration, thresholds: Thresholds, temporal: bool = True
    ) -> Verdict:
        """The analyzer's verdict under `calibration` (`score`), with its deciding track;
        without `temporal`, the verdict of `analyze --temporal report`. The faces' texture
        values (a track head's, raw) are scaled as the analyzer scales them."""
        if not self.faces:
            return Verdict("no-face", None)
        calibrated = calibration.apply(np.array([f.score for f in self.faces]))
        scale = calibration.log_odds_scale
        faces = [
            replace(f, score=float(s), texture=None if f.texture is None else f.texture * scale)
            for f, s in zip(self.faces, calibrated, strict=True)
        ]
        evidence: dict[int, TemporalEvidence] = {}
        for track_id, temporal_score in (self.temporal if temporal else {}).items():
            own = np.array([f.score for f in faces if f.track_id == track_id])
            frame = track_score(own)
            evidence[track_id] = TemporalEvidence(
                score=temporal_score,
                frame_score=frame,
                track_score=combine_scores(frame, temporal_score, self.prior),
                frames=0,
                combined=True,
            )
        return aggregate(faces, thresholds, temporal=evidence).verdict

    def to_dict(self) -> dict[str, Any]:
        return {
            "faces": [
                [f.frame_index, f.timestamp_s, f.track_id, f.score]
                + ([] if f.texture is None else [f.texture])
                for f in self.faces
            ],
            "temporal": {str(k): v for k, v in self.temporal.items()},
            "prior": self.prior,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalyzedVideo:
        return cls(
            faces=tuple(
                FaceScore(int(i), float(t), int(k), float(s), (), _texture(rest))
                for i, t, k, s, *rest in data["faces"]
            ),
            temporal={int(k): float(v) for k, v in data["temporal"].items()},
            prior=float(data["prior"]),
        )


def _texture(rest: Sequence[Any]) -> float | None:
    """A stored face's texture value (its fifth element, absent without a track head)."""
    return float(rest[0]) if rest else None


def analyzed_from_report(report: Report, prior: float) -> AnalyzedVideo:
    """The verdict's ingredients from a report made with calibration off."""
    faces = tuple(
        FaceScore(frame.index, frame.timestamp_s, face.track_id, face.score, (), face.texture)
        for frame in report.frames
        for face in frame.faces
    )
    temporal = {
        t.id: t.temporal.score
        for t in report.tracks
        if t.temporal is not None and t.temporal.combined and t.temporal.score is not None
    }
    return AnalyzedVideo(faces=faces, temporal=temporal, prior=prior)


class _Uncalibrated:
    """`classifier` with its spec's calibration switched off: reports carry raw scores (and,
    for a blend with a track head, raw texture values: `scores`). Member evidence is not
    passed on: no verdict reads it."""

    evidence_names: tuple[str, ...] = ()

    def __init__(self, classifier: Classifier) -> None:
        self._inner = classifier
        self.spec: ModelSpec = replace(classifier.spec, calibration=Calibration())
        self.sha256 = classifier.sha256
        self.has_track_head = (
            isinstance(classifier, MemberEvidenceClassifier) and classifier.has_track_head
        )

    def _seen(self, crops_rgb_uint8: np.ndarray) -> None:
        """Called with every batch of crops it is given."""

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        self._seen(crops_rgb_uint8)
        return self._inner.predict(crops_rgb_uint8)

    def scores(self, crops_rgb_uint8: np.ndarray) -> CropScores:
        self._seen(crops_rgb_uint8)
        read = _read(self._inner, crops_rgb_uint8)
        return CropScores(read.probability, np.zeros((0, len(read.probability))), read.track)


def _read(classifier: Classifier, crops: np.ndarray) -> CropScores:
    """The classifier's raw probabilities for `crops`, with its track contributions when it
    has a track head (models/blend.py)."""
    if isinstance(classifier, MemberEvidenceClassifier) and classifier.has_track_head:
        return classifier.scores(crops)
    p = np.asarray(classifier.predict(crops))
    return CropScores(p, np.zeros((0, len(p))))


class _Recording(_Uncalibrated):
    """`_Uncalibrated`, keeping every crop it is given, in order (`crops`)."""

    def __init__(self, classifier: Classifier) -> None:
        super().__init__(classifier)
        self.crops: list[np.ndarray] = []

    def _seen(self, crops_rgb_uint8: np.ndarray) -> None:
        self.crops.append(np.asarray(crops_rgb_uint8, dtype=np.uint8))

    def taken(self) -> np.ndarray:
        """The crops given since the last call, as one (N, S, S, 3) array."""
        size = self.spec.input_size
        crops = np.concatenate(self.crops) if self.crops else np.zeros((0, size, size, 3), np.uint8)
        self.crops = []
        return crops


def _digest(parts: Sequence[object]) -> str:
    """A cache key's name: the sha256 of `parts` as sorted JSON (str() for other values)."""
    key = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def _cache_path(
    cache_dir: Path, classifier: Classifier, options: AnalyzeOptions, temporal: TemporalModel
) -> Path:
    parts = [
        _CACHE_VERSION,
        classifier.sha256,
        classifier.spec.views,
        classifier.spec.crop_margin,  # a spec can cut other crops for the same weights
        classifier.spec.input_size,
        options.to_dict(),
        temporal.to_dict(),
    ]
    return cache_dir / CACHE_FOLDER / f"{_digest(parts)}.json"


def _faces_folder(
    cache_dir: Path, spec: ModelSpec, options: AnalyzeOptions, temporal: TemporalModel
) -> Path:
    cropping = {k: v for k, v in options.to_dict().items() if k not in _NOT_CROPPING}
    parts = [_CACHE_VERSION, spec.crop_margin, spec.input_size, spec.views, cropping,
             temporal.to_dict()]  # fmt: skip
    return cache_dir / FACES_FOLDER / _digest(parts)


def _faces_file(folder: Path, file_key: str) -> Path:
    return folder / f"{hashlib.sha256(file_key.encode()).hexdigest()[:24]}.npz"


def _store_faces(path: Path, crops: np.ndarray, video: AnalyzedVideo) -> None:
    """Keep a video's crops (in the order the classifier was given them) and its faces."""
    if len(crops) != len(video.faces):  # not one crop per face: nothing to rescore from
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial.npz")
    np.savez_compressed(partial, crops=crops, video=np.array(json.dumps(video.to_dict())))
    os.replace(partial, path)


def rescored(path: Path, classifier: Classifier) -> AnalyzedVideo | None:
    """The `AnalyzedVideo` of the video whose crops `path` holds (`_store_faces`), its faces
    scored by `classifier` (raw probabilities, as the analyzer gives them with calibration
    off); None when the file is missing or unreadable. ModelError when the classifier gives
    no valid probabilities."""
    try:
        with np.load(path, allow_pickle=False) as data:
            crops = np.asarray(data["crops"], dtype=np.uint8)
            video = AnalyzedVideo.from_dict(json.loads(str(data["video"])))
    except (OSError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    if len(crops) != len(video.faces):
        return None
    if not len(crops):
        return video
    read = _read(classifier, crops)
    checked = checked_probabilities(read.probability, len(crops), f"model {classifier.spec.name!r}")
    scores = Calibration().apply(checked)  # as the analyzer's report gives them, calibration off
    textures = [None] * len(crops) if read.track is None else [float(v) for v in read.track]
    faces = tuple(
        replace(face, score=float(s), texture=t)
        for face, s, t in zip(video.faces, scores, textures, strict=True)
    )
    return replace(video, faces=faces)


def _file_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"


def analyze_videos(
    items: Sequence[LabeledItem],
    classifier: Classifier,
    options: AnalyzeOptions,
    cache_dir: Path,
    hook: ProgressHook | None = None,
    detector: FaceDetector | None = None,
    temporal_model: TemporalModel | None = None,
) -> dict[str, AnalyzedVideo]:
    """Each video item's `AnalyzedVideo`, keyed by `str(item.path)`; a video the analyzer
    cannot read is left out with a message on `hook`. A video whose crops another classifier
    of the same geometry left in the cache is scored on them alone (module docstring)."""
    from deepfake_analyzer.pipeline import Analyzer

    hook = hook or NullHook()
    videos = [i for i in items if i.kind == "video"]
    result: dict[str, AnalyzedVideo] = {}
    if not videos:
        return result
    recorder = _Recording(classifier)
    with Analyzer(
        options, classifier=recorder, detector=detector, temporal_model=temporal_model
    ) as analyzer:
        model = analyzer.temporal_model
        path = _cache_path(cache_dir, classifier, options, model)
        faces = _faces_folder(cache_dir, classifier.spec, options, model)
        cached: dict[str, Any] = json.loads(path.read_text()) if path.is_file() else {}
        for done, item in enumerate(videos):
            hook(StageProgress(str(item.path), STAGE_ANALYZE, done, len(videos)))
            key = _file_key(item.path)
            if key not in cached:
                kept = _faces_file(faces, key)
                try:
                    analyzed = rescored(kept, classifier)
                    if analyzed is None:
                        report = analyzer.analyze(item.path)
                        analyzed = analyzed_from_report(report, model.prior)
                        _store_faces(kept, recorder.taken(), analyzed)
                except AnalyzerError as exc:
                    recorder.taken()
                    hook(Message(str(item.path), f"left out of the analyzer's scores: {exc}"))
                    continue
                cached[key] = analyzed.to_dict()
                _write_atomically(path, cached)
            result[str(item.path)] = AnalyzedVideo.from_dict(cached[key])
        hook(StageProgress("", STAGE_ANALYZE, len(videos), len(videos)))
    return result


def _write_atomically(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.partial")
    partial.write_text(json.dumps(data) + "\n")
    os.replace(partial, path)
