"""A blend: one classifier made of several, whose log-odds it adds with fitted weights.

Contract: a spec with `weights_format` "blend" names, as its weights file, a small JSON
(`Blend`): the member models' specs (file names beside it) with their weights' identity
(`weights_sha256`: `ModelSpec.weights_identity`, the weights file's sha256, or for a member
whose spec has a `weights_base`, the sha256 of both files'), one weight per member and a
bias. `BlendClassifier.predict` takes crops at the blend spec's input size and margin, gives
each member the crops cut to its own margin and resized to its own input size
(`member_crops`), and returns

    p = sigmoid(bias + sum_i weight_i * logit(p_i))

from the members' raw probabilities p_i (their own calibrations are not applied: the weights
were fitted on raw outputs, `train-texture`). The blend spec's calibration and
thresholds then apply to p as to any classifier's. No member may crop wider than the blend (the
blend's margin is its widest member's; a member with a narrower margin reads the centered
square of the blend's crop its margin covers, `member_square`). A member whose weights changed
since the blend was fitted is refused, since the weights no longer mean what they did, and so
is a member that is itself a blend (a blend naming itself would never finish loading).

Evidence per member (`Blend.evidence`): a member may carry a `center`, its mean logit on the
crops the blend was fitted on. Its evidence for a crop is weight x (logit(p_i) - center): how
far, in the blend's log-odds, that member pushed this face from a typical training face. When
bias = -sum_i weight_i * center_i (as `train-texture` fits them) the members' evidence adds up
to the blend's log-odds before calibration. Reports show each track's mean evidence per member.

A blend may also have a track head (`TrackHead`, the file's `track`): a linear read of the
face's texture statistics fitted on whole videos (scripts/track_probe.py). Members whose model
has one (models/texture.py, `TRACK_ARCHITECTURES`; two output columns) each give their part of
it from the backbone pass their probe already makes; a crop's value is the head's bias plus
those parts, and its contribution is weight x (value - center) / spread (the training videos'
mean and spread of the head, as a member's evidence is centred). The analyzer averages the
contributions over a track and adds the mean to the track's log-odds (scoring/aggregate.py):
the head is linear, so that is the head read on the track's mean statistics. It takes no part
in a single crop's probability.

Grad-CAM explains the first member (`BlendClassifier.explained`): the heatmaps show where that
member looked, not the blend.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models.base import (
    Classifier,
    ColumnsClassifier,
    CropScores,
    output_columns,
)
from deepfake_analyzer.models.keras_classifier import resize_crops
from deepfake_analyzer.models.spec import (
    ModelSpec,
    logits,
    read_json_object,
    verified_weights_file,
)

BLEND_FORMAT = "blend"
"""The `weights_format` of a spec whose weights file is a `Blend`."""
FORMAT = "deepfake-analyzer/blend"
MARGIN_TOLERANCE = 1e-9
"""Margins closer than this are the same margin."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BlendMember:
    """One member: its spec's file name (beside the blend file), its weights' identity, the
    weight of its logit and, when recorded, its `center` (module docstring)."""

    spec: str
    weights_sha256: str
    weight: float
    center: float | None = None

    def __post_init__(self) -> None:
        if not self.spec or Path(self.spec).name != self.spec:
            raise ModelError(f"blend member spec must be a file name, got {self.spec!r}")
        if not math.isfinite(self.weight):
            raise ModelError(f"blend member {self.spec}: weight must be finite")
        if self.center is not None and not math.isfinite(self.center):
            raise ModelError(f"blend member {self.spec}: center must be finite")

    @property
    def name(self) -> str:
        """The member model's name: its spec file's name without `.spec.json`."""
        return self.spec.removesuffix(".spec.json")


@dataclass(frozen=True)
class TrackHead:
    """The blend's track head (module docstring): a crop's contribution is `weight` x (`bias`
    + its members' parts - `center`) / `spread`; `training` says how it was fitted."""

    bias: float
    center: float
    spread: float
    weight: float
    training: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = (self.bias, self.center, self.spread, self.weight)
        if not all(math.isfinite(v) for v in values) or self.spread <= 0:
            raise ModelError("a track head needs finite values and a positive spread")

    def contribution(self, parts: np.ndarray) -> np.ndarray:
        """Each crop's contribution from the sum of its members' parts."""
        value = self.bias + np.asarray(parts, np.float64)
        return np.asarray(self.weight * (value - self.center) / self.spread)

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias,
            "center": self.center,
            "spread": self.spread,
            "weight": self.weight,
            "training": dict(self.training),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrackHead:
        return cls(
            float(data["bias"]), float(data["center"]), float(data["spread"]),
            float(data["weight"]), dict(data.get("training") or {}),
        )  # fmt: skip


@dataclass(frozen=True)
class Blend:
    """The members, the bias, a free-form summary of how the weights were fitted and, when
    it has one, the track head."""

    members: tuple[BlendMember, ...]
    bias: float = 0.0
    training: Mapping[str, Any] = field(default_factory=dict)
    track: TrackHead | None = None

    def __post_init__(self) -> None:
        if not self.members:
            raise ModelError("a blend needs at least one member")
        if not math.isfinite(self.bias):
            raise ModelError("blend bias must be finite")

    def probability(self, member_probabilities: list[np.ndarray]) -> np.ndarray:
        """sigmoid(bias + sum of weight x logit), member by member (module docstring)."""
        if len(member_probabilities) != len(self.members):
            raise ValueError(
                f"expected {len(self.members)} members' scores, got {len(member_probabilities)}"
            )
        z = np.full(np.asarray(member_probabilities[0]).shape, self.bias, dtype=np.float64)
        for member, p in zip(self.members, member_probabilities, strict=True):
            z = z + member.weight * logits(p)
        return np.asarray(0.5 * (1.0 + np.tanh(0.5 * z)))

    @property
    def has_evidence(self) -> bool:
        """Whether every member has a center, so `evidence` can be computed."""
        return all(m.center is not None for m in self.members)

    def evidence(self, member_probabilities: list[np.ndarray]) -> np.ndarray:
        """(members, N): weight x (logit(p_i) - center) per member and crop (module docstring);
        ValueError when a member has no center."""
        rows = []
        for member, p in zip(self.members, member_probabilities, strict=True):
            if member.center is None:
                raise ValueError(f"blend member {member.spec} has no center: no evidence")
            rows.append(member.weight * (logits(p) - member.center))
        return np.stack(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "members": [
                {"spec": m.spec, "weights_sha256": m.weights_sha256, "weight": m.weight}
                | ({} if m.center is None else {"center": m.center})
                for m in self.members
            ],
            "bias": self.bias,
            "training": dict(self.training),
        } | ({} if self.track is None else {"track": self.track.to_dict()})

    def save(self, path: Path) -> Path:
        """Write the JSON atomically; returns the path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=1) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def from_dict(cls, data: Any, source: str | Path = "blend") -> Blend:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelError("not a blend file (format tag missing)", source)
        if data.get("version") != FORMAT_VERSION:
            raise ModelError(
                f"blend version {data.get('version')!r} is not supported (this code reads "
                f"version {FORMAT_VERSION}); upgrade deepfake-analyzer",
                source,
            )
        try:
            members = tuple(
                BlendMember(
                    str(m["spec"]), str(m["weights_sha256"]), float(m["weight"]),
                    None if m.get("center") is None else float(m["center"]),
                )
                for m in data["members"]
            )  # fmt: skip
            track = data.get("track")
            return cls(
                members, float(data.get("bias", 0.0)), dict(data.get("training") or {}),
                None if track is None else TrackHead.from_dict(track),
            )  # fmt: skip
        except ModelError as exc:
            raise ModelError(exc.message, source) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"blend file has a bad member ({exc})", source) from None

    @classmethod
    def load(cls, path: Path) -> Blend:
        return cls.from_dict(read_json_object(path, "blend file"), path)


class BlendClassifier:
    """The `Classifier` a blend spec describes (module docstring)."""

    def __init__(
        self, spec: ModelSpec, sha256: str, blend: Blend, members: list[Classifier]
    ) -> None:
        self.spec = spec
        self.sha256 = sha256
        self.name = spec.name
        self.blend = blend
        self.members = members

    def with_threads(self, threads: int) -> BlendClassifier:
        """The blend with each member capped at `threads` where it can be (LiteRT's
        `with_threads`; a member without it is kept as it is)."""
        members = []
        for member in self.members:
            cap = getattr(member, "with_threads", None)
            members.append(member if cap is None else cap(threads))
        if all(a is b for a, b in zip(members, self.members, strict=True)):
            return self
        return BlendClassifier(self.spec, self.sha256, self.blend, members)

    @property
    def explained(self) -> Classifier:
        """The member Grad-CAM explains."""
        return self.members[0]

    def member_scores(self, crops_rgb_uint8: np.ndarray) -> list[np.ndarray]:
        """Each member's raw probabilities for the crops, cut and resized for it
        (`member_crops`)."""
        return self._run(crops_rgb_uint8)[0]

    def _run(self, crops_rgb_uint8: np.ndarray) -> tuple[list[np.ndarray], np.ndarray | None]:
        """`member_scores`, and the sum of the track parts of the members that give one (None
        when the blend has no track head)."""
        crops = np.asarray(crops_rgb_uint8)
        scores, parts = [], None
        for member in self.members:
            own = member_crops(crops, self.spec.crop_margin, member.spec)
            if (
                self.blend.track is not None
                and isinstance(member, ColumnsClassifier)
                and member.columns == 2
            ):
                outputs = np.asarray(member.predict_outputs(own), np.float64)
                scores.append(outputs[:, 0])
                parts = outputs[:, 1] if parts is None else parts + outputs[:, 1]
            else:
                scores.append(np.asarray(member.predict(own), dtype=np.float64).reshape(-1))
        return scores, parts

    def predict(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        return self.blend.probability(self.member_scores(crops_rgb_uint8))

    @property
    def evidence_names(self) -> tuple[str, ...]:
        """The members' names, in `scores`' evidence order; () when the blend file records no
        centers."""
        return tuple(m.name for m in self.blend.members) if self.blend.has_evidence else ()

    @property
    def has_track_head(self) -> bool:
        return self.blend.track is not None

    def scores(self, crops_rgb_uint8: np.ndarray) -> CropScores:
        """`predict`'s probabilities, the members' evidence (`Blend.evidence`; (0, N) when
        `evidence_names` is empty) and the crops' track contributions (`TrackHead`; None
        without one), from one run of each member."""
        scores, parts = self._run(crops_rgb_uint8)
        p = self.blend.probability(scores)
        evidence = self.blend.evidence(scores) if self.blend.has_evidence else np.zeros((0, len(p)))
        track = self.blend.track
        if track is None:
            return CropScores(p, evidence)
        if parts is None:
            raise ModelError(f"blend {self.name!r} has a track head but no member gives its parts")
        return CropScores(p, evidence, track.contribution(parts))


def member_square(size: int, margin: float, member: ModelSpec) -> tuple[int, int]:
    """(start, side) of the centered square of a `size`-px crop cut at `margin` that `member`
    reads: the part its own (narrower or equal) margin covers; (0, size) at the same margin."""
    if member.crop_margin >= margin - MARGIN_TOLERANCE:
        return 0, size
    side = int(round(size * member.crop_margin / margin))
    return (size - side) // 2, side


def member_crops(crops: np.ndarray, margin: float, member: ModelSpec) -> np.ndarray:
    """(N, S, S, 3) crops cut at `margin` as the blend `member` reads them: its
    `member_square`, resized to its input size."""
    start, side = member_square(crops.shape[1], margin, member)
    if side != crops.shape[1]:
        crops = np.ascontiguousarray(crops[:, start : start + side, start : start + side])
    return resize_crops(crops, member.input_size)


def load_blend(
    spec: ModelSpec, spec_path: Path, load_member: Callable[[Path], Classifier]
) -> BlendClassifier:
    """The blend `spec` (read from `spec_path`) describes, its members loaded by `load_member`
    (given each member's spec path). ModelError when a file is missing or changed, or a
    member crops wider than the blend."""
    blend_path, sha = verified_weights_file(spec, spec_path, "blend file")
    blend = Blend.load(blend_path)
    members: list[Classifier] = []
    for member in blend.members:
        member_path = blend_path.parent / member.spec
        if not member_path.is_file():
            raise ModelError(f"blend member {member.spec!r} not found beside it", blend_path)
        if ModelSpec.load(member_path).weights_format == BLEND_FORMAT:  # no nesting, no loops
            raise ModelError(
                f"blend member {member.spec!r} is itself a blend: members must be single models",
                blend_path,
            )
        classifier = load_member(member_path)
        if classifier.sha256 != member.weights_sha256:
            raise ModelError(
                f"blend member {member.spec!r} has other weights than the blend was fitted on "
                f"(sha256 {classifier.sha256[:16]}..., expected {member.weights_sha256[:16]}...)",
                blend_path,
            )
        if classifier.spec.crop_margin > spec.crop_margin + MARGIN_TOLERANCE:
            raise ModelError(
                f"blend member {member.spec!r} crops with margin {classifier.spec.crop_margin}, "
                f"wider than the blend's {spec.crop_margin}",
                blend_path,
            )
        members.append(classifier)
    if blend.track is not None and not any(output_columns(m) == 2 for m in members):
        raise ModelError("the blend has a track head but no member gives its parts", blend_path)
    return BlendClassifier(spec, sha, blend, members)
