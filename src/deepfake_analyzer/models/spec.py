"""The model spec: the preprocessing contract saved beside a model's weights.

Training and inference read the same spec, so crop margin, input size, scaling and
thresholds cannot drift apart. The spec is a JSON file `<weights stem>.spec.json`.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT
from deepfake_analyzer.models.xception import ARCHITECTURE
from deepfake_analyzer.text import did_you_mean

Scaling = Literal["unit", "symmetric"]  # [0, 1] or [-1, 1] (Keras Xception's preprocess_input)
ChannelOrder = Literal["RGB", "BGR"]
CalibrationMethod = Literal["none", "temperature", "platt"]

SPEC_SUFFIX = ".spec.json"
DEFAULT_CROP_MARGIN = 1.3
"""Face crops are this many times the detected box (training's crop cache uses it too)."""


PROBABILITY_CLIP = 1e-7
"""Probabilities are clipped to [PROBABILITY_CLIP, 1 - PROBABILITY_CLIP] before log-odds."""


_NORMAL = NormalDist()
_HIGHEST_THRESHOLD = 1.0 - 1e-6
"""Raised thresholds stay below 1 (a score of exactly 1 can still reach them)."""


def clipped(probabilities: Any) -> np.ndarray:
    """Probabilities as float64 (shape kept) clipped by `PROBABILITY_CLIP`."""
    return np.clip(
        np.asarray(probabilities, dtype=np.float64), PROBABILITY_CLIP, 1 - PROBABILITY_CLIP
    )


def logits(probabilities: Any) -> np.ndarray:
    """log(p / (1 - p)) elementwise (shape kept) of `clipped` p: the one log-odds of
    calibration, its fitting and blends."""
    p = clipped(probabilities)
    return np.asarray(np.log(p / (1.0 - p)))


@dataclass(frozen=True)
class Calibration:
    """Maps the model's raw probability p to a calibrated one.

    `temperature`: sigmoid(logit(p) / t). `platt`: sigmoid(a * logit(p) + b). `none`: p.
    """

    method: CalibrationMethod = "none"
    temperature: float = 1.0
    a: float = 1.0
    b: float = 0.0

    def __post_init__(self) -> None:
        if self.method not in ("none", "temperature", "platt"):
            raise ValueError(f"unknown calibration method {self.method!r}")
        if self.temperature <= 0:
            raise ValueError("calibration temperature must be positive")

    def apply(self, probabilities: np.ndarray) -> np.ndarray:
        if self.method == "none":
            return clipped(probabilities)
        logit = logits(probabilities)
        z = logit / self.temperature if self.method == "temperature" else self.a * logit + self.b
        return 1.0 / (1.0 + np.exp(-z))

    @property
    def log_odds_scale(self) -> float:
        """How much a change of the raw log-odds moves the calibrated log-odds (1 / t, a or
        1), e.g. to state a blend member's evidence on the calibrated scale."""
        if self.method == "temperature":
            return 1.0 / self.temperature
        return self.a if self.method == "platt" else 1.0


@dataclass(frozen=True)
class Thresholds:
    """Calibrated-score thresholds: >= `fake` is fake, >= `suspicious` is suspicious.

    `real_mean` and `real_std` (both or neither) describe the real videos the thresholds were
    chosen on: the mean and standard deviation of their calibrated log-odds. With them, a
    verdict that follows the most suspicious of several faces reads raised thresholds
    (`for_faces`); without them (older specs) every verdict reads these two.
    """

    suspicious: float = 0.5
    fake: float = 0.7
    real_mean: float | None = None
    real_std: float | None = None

    def __post_init__(self) -> None:
        if not 0.0 < self.suspicious <= self.fake < 1.0:
            raise ValueError("thresholds need 0 < suspicious <= fake < 1")
        if self.real_mean is None or self.real_std is None:
            if (self.real_mean is None) != (self.real_std is None):
                raise ValueError("real_mean and real_std go together")
        elif not (math.isfinite(self.real_mean) and math.isfinite(self.real_std)):
            raise ValueError("real_mean and real_std must be finite")
        elif self.real_std <= 0:
            raise ValueError("real_std must be positive")

    def for_faces(self, count: int) -> Thresholds:
        """The thresholds for a verdict that follows the most suspicious of `count` faces.

        Each extra face is another chance for a real video to cross a threshold: with
        `count` people a real video reaches `fake` about `count` times as often as with one.
        So each threshold t is raised to the t_k a real face crosses with probability
        1 - (1 - p)^(1/k), where p is the chance it crosses t (Sidak), both read from a normal
        model of the real log-odds (`real_mean`, `real_std`): a real video of k people then
        reaches each label about as often as one of one person. One face, or no real
        statistics: these thresholds unchanged.
        """
        if count <= 1 or self.real_mean is None or self.real_std is None:
            return self
        mean, std = self.real_mean, self.real_std

        def raised(threshold: float) -> float:
            below = _NORMAL.cdf((math.log(threshold / (1.0 - threshold)) - mean) / std)
            quantile = min(below ** (1.0 / count), 1.0 - 1e-12)
            log_odds = mean + std * _NORMAL.inv_cdf(quantile)
            return max(threshold, min(1.0 / (1.0 + math.exp(-log_odds)), _HIGHEST_THRESHOLD))

        return replace(self, suspicious=raised(self.suspicious), fake=raised(self.fake))

    def pair(self) -> dict[str, float]:
        """The two thresholds by name, as reports carry them."""
        return {"suspicious": self.suspicious, "fake": self.fake}

    def label(self, score: float) -> str:
        if score >= self.fake:
            return "fake"
        if score >= self.suspicious:
            return "suspicious"
        return "real"


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to feed a model and read its output.

    `weights_file` is relative to the spec's folder. `weights_sha256` is checked on load when
    set. `weights_base` (with its `weights_base_sha256`, always checked) names another weights
    file of the same format beside it holding the weights `weights_file` leaves out (an
    f16-npz file stores only the arrays that differ from its base's: the texture models share
    one frozen backbone, models/f16_weights.py). `training` and `metrics` are free-form
    summaries written by `train`/`evaluate`.
    """

    name: str
    input_size: int = 299
    scaling: Scaling = "unit"
    channel_order: ChannelOrder = "RGB"
    crop_margin: float = DEFAULT_CROP_MARGIN
    architecture: str = ARCHITECTURE
    weights_file: str = ""
    weights_sha256: str = ""
    weights_format: str = "keras"
    weights_base: str = ""
    weights_base_sha256: str = ""
    thresholds: Thresholds = field(default_factory=Thresholds)
    calibration: Calibration = field(default_factory=Calibration)
    training: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    spec_version: int = 1
    views: int = 1
    """How many of `models.views.VIEWS` a face is scored through (1: the crop alone)."""
    runtime_files: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Optional converted copies of the weights for faster runtimes, by runtime name, e.g.
    `{"litert": {"file": "x.tflite", "sha256": "...", "weights_dtype": "float16"}}`; the file
    is relative to the spec's folder. Empty: the Keras weights are the only runtime."""

    def __post_init__(self) -> None:
        if not 32 <= self.input_size <= 1024:
            raise ValueError(f"input_size {self.input_size} outside 32..1024")
        if self.scaling not in ("unit", "symmetric"):
            raise ValueError(f"scaling must be 'unit' or 'symmetric', got {self.scaling!r}")
        if self.channel_order not in ("RGB", "BGR"):
            raise ValueError(f"channel_order must be RGB or BGR, got {self.channel_order!r}")
        if not 1.0 <= self.crop_margin <= 3.0:
            raise ValueError(f"crop_margin {self.crop_margin} outside 1.0..3.0")
        from deepfake_analyzer.models.views import check_count

        check_count(self.views)
        if bool(self.weights_base) != bool(self.weights_base_sha256):
            raise ValueError("weights_base and weights_base_sha256 go together")
        if self.weights_base and self.weights_format != F16_NPZ_FORMAT:
            raise ValueError(f"weights_base needs weights_format {F16_NPZ_FORMAT!r}")
        if not isinstance(self.runtime_files, dict) or not all(
            isinstance(entry, dict) for entry in self.runtime_files.values()
        ):
            raise ValueError("runtime_files must map runtime names to objects")

    def preprocess(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB crops -> float32 model input per this spec."""
        x = np.asarray(crops_rgb_uint8)
        if self.channel_order == "BGR":
            x = x[..., ::-1]
        x = x.astype(np.float32) / 255.0
        if self.scaling == "symmetric":
            x = x * 2.0 - 1.0
        return x

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "spec") -> ModelSpec:
        known = {f.name for f in fields(cls)}
        for key in data:
            if key not in known:
                raise ModelError(
                    f"unknown key {key!r} in model spec{did_you_mean(key, known)}", source
                )
        values = dict(data)
        try:
            if isinstance(values.get("thresholds"), dict):
                values["thresholds"] = Thresholds(**values["thresholds"])
            if isinstance(values.get("calibration"), dict):
                values["calibration"] = Calibration(**values["calibration"])
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ModelError(f"invalid model spec: {exc}", source) from None

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> ModelSpec:
        data = read_json_object(path, "model spec")
        return cls.from_dict(data, str(path))

    def weights_identity(self, own_sha256: str) -> str:
        """What identifies this model's weights, given its weights file's sha256: that sha256,
        or with a `weights_base`, the sha256 of both files' (the weights are both files').
        Classifiers report it (`sha256`), blends pin their members by it, and LiteRT copies
        are cached under it."""
        if not self.weights_base:
            return own_sha256.lower()
        both = f"{own_sha256.lower()}+{self.weights_base_sha256.lower()}"
        return hashlib.sha256(both.encode()).hexdigest()

    def with_weights(self, weights_path: Path, base: Path | None = None) -> ModelSpec:
        """A copy pointing at `weights_path` (and its `base`, if any: relative names) with
        their sha256 filled in."""
        return replace(
            self,
            weights_file=Path(weights_path).name,
            weights_sha256=sha256_of(weights_path),
            weights_base=base.name if base else "",
            weights_base_sha256=sha256_of(base) if base else "",
        )


def verified_weights_file(spec: ModelSpec, spec_path: Path, what: str) -> tuple[Path, str]:
    """The file `spec.weights_file` names beside `spec_path`, and its sha256; ModelError naming
    `what` (e.g. "blend file") when the spec names none, the file is missing, or its sha256 is
    not the one the spec records."""
    if not spec.weights_file:
        raise ModelError(f"the model spec names no weights_file (its {what})", spec_path)
    path = spec_path.parent / spec.weights_file
    if not path.is_file():
        raise ModelError(f"{what} {spec.weights_file!r} named by the spec not found", spec_path)
    sha = sha256_of(path)
    if spec.weights_sha256 and spec.weights_sha256.lower() != sha:
        raise ModelError(
            f"{what} {path.name!r} has sha256 {sha[:16]}..., but the spec expects "
            f"{spec.weights_sha256[:16]}...",
            spec_path,
        )
    return path, sha


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """The JSON object in `path`; ModelError naming `what` (e.g. "model spec") and the file
    when it cannot be read, is not JSON, or is not an object."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ModelError(f"cannot read {what}: {exc.strerror}", path) from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{what} is not valid JSON: {exc.msg}", path) from None
    if not isinstance(data, dict):
        raise ModelError(f"{what} must be a JSON object", path)
    return data


def spec_path_for(weights_path: Path) -> Path:
    """`models/foo.keras` -> `models/foo.spec.json`."""
    weights_path = Path(weights_path)
    stem = weights_path.name.split(".")[0]
    return weights_path.with_name(stem + SPEC_SUFFIX)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


SEED_STYLE_SPEC = ModelSpec(
    name="user-model",
    input_size=299,
    scaling="unit",
    channel_order="RGB",
    crop_margin=DEFAULT_CROP_MARGIN,
    thresholds=Thresholds(suspicious=0.5, fake=0.5),
)
"""Defaults for a user's model given without a spec: RGB 299x299 in [0, 1], >= 0.5 is fake."""
