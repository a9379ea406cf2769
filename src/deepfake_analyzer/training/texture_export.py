"""Writing a fitted texture probe as a model version, and a blend of it with the classifier.

`write_texture_model` turns the probe `train-texture` fits (standardisation, weights,
bias) and the frozen ImageNet backbone into `models/texture.py`'s network and writes it as one
half-precision weights file with its spec (`<name>.f16.npz`, `<name>.spec.json`); it checks
that the written model gives the probe's own probabilities on the crops it is handed.
`write_probe_model` does the same for a probe on fixed features (models/feature_probe.py: the
noise-residual model, models/residual.py, or the face-mesh model, models/mesh_probe.py): its
weights file is the probe alone. `write_blend` writes a blend spec and its `Blend` file
(`models/blend.py`) beside the member specs it names. `add_track_head` writes a blend again with
a track head (models/blend.py, `TrackHead`): its whole-crop texture members rewritten as `-track`
models that also give their part of the head.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.blend import BLEND_FORMAT, Blend, BlendMember, TrackHead
from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT, save_weights_f16
from deepfake_analyzer.models.feature_probe import FeatureProbe
from deepfake_analyzer.models.runtime_cache import weights_key
from deepfake_analyzer.models.spec import ModelSpec, Thresholds, logits
from deepfake_analyzer.models.texture import (
    ARCHITECTURES,
    INPUT_SIZE,
    REGIONS,
    TRACK_ARCHITECTURES,
    backbone_of,
    build_texture_classifier,
    features_of,
    probe_of,
    set_probe,
    set_track_head,
)

AGREEMENT_TOLERANCE = 0.02
"""Largest difference allowed between the written model's probabilities and the probe's: the
backbone's kernels are stored in float16, which moves a probability by up to ~0.01."""


@dataclass(frozen=True)
class ProbeFit:
    """A fitted linear probe: logit = ((features - mean) / scale) . weights + bias."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    bias: float
    l2: float

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, np.float64) - self.mean) / self.scale @ self.weights + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(z, -60, 60))))


def write_texture_model(
    backbone: Any,
    probe: ProbeFit,
    folder: Path,
    name: str,
    crop_margin: float,
    training: Mapping[str, Any],
    check_crops: np.ndarray,
    check_probabilities: np.ndarray,
    region: str = "face",
    base: Path | None = None,
) -> Path:
    """Write `<name>.f16.npz` and `<name>.spec.json` into `folder`: the texture model reading
    `region` (`models.texture.REGIONS`) of the crop; returns the spec's path. With `base` (an
    f16 texture model file in `folder` with the same backbone), the weights file holds only
    what differs from it: the probe and its standardisation.

    `check_crops` (uint8 RGB at `INPUT_SIZE`) must score `check_probabilities` (the probe's)
    within `AGREEMENT_TOLERANCE` once written and read back, or UsageError (and both files are
    removed)."""
    from deepfake_analyzer.models.loader import load_keras_from_spec

    model = build_texture_classifier(INPUT_SIZE, REGIONS[region])
    backbone_of(model).set_weights(backbone.get_weights())
    set_probe(model, probe.mean, probe.scale, probe.weights, probe.bias)
    folder.mkdir(parents=True, exist_ok=True)
    if base is not None and base.resolve().parent != folder.resolve():
        raise UsageError(f"{base}: a base weights file must lie in {folder}, beside the model")
    weights_path = save_weights_f16(model, folder / f"{name}.f16.npz", base)
    spec, spec_path = _saved_spec(
        name, crop_margin, training, ARCHITECTURES[region], F16_NPZ_FORMAT, weights_path, base
    )
    return _checked(spec, spec_path, weights_path, load_keras_from_spec(spec_path),
                    check_crops, check_probabilities)  # fmt: skip


def write_probe_model(
    probe_class: type[FeatureProbe],
    probe: ProbeFit,
    folder: Path,
    name: str,
    crop_margin: float,
    training: Mapping[str, Any],
    check_crops: np.ndarray,
    check_probabilities: np.ndarray,
) -> Path:
    """Write `<name>.npz` and `<name>.spec.json` into `folder`: the model of `probe_class`
    (models/feature_probe.py: `ResidualProbe`, the noise-residual model, or `MeshProbe`, the
    face-mesh model) with `probe`; returns the spec's path. Checked as `write_texture_model`
    checks its model (the probe is stored in float64: they agree to rounding)."""
    from deepfake_analyzer.models.loader import load_classifier

    folder.mkdir(parents=True, exist_ok=True)
    stored = probe_class(probe.mean, probe.scale, probe.weights, probe.bias)
    weights_path = stored.save(folder / f"{name}.npz")
    spec, spec_path = _saved_spec(
        name, crop_margin, training, probe_class.architecture, probe_class.weights_format,
        weights_path,
    )  # fmt: skip
    return _checked(spec, spec_path, weights_path, load_classifier(spec_path),
                    check_crops, check_probabilities)  # fmt: skip


def _saved_spec(
    name: str,
    crop_margin: float,
    training: Mapping[str, Any],
    architecture: str,
    weights_format: str,
    weights_path: Path,
    base: Path | None = None,
) -> tuple[ModelSpec, Path]:
    """The spec of a probe model written to `weights_path` (224 px unit-scaled crops, default
    thresholds for `evaluate --calibrate`), saved beside it as `<name>.spec.json`."""
    spec = ModelSpec(
        name=name,
        input_size=INPUT_SIZE,
        scaling="unit",
        crop_margin=crop_margin,
        architecture=architecture,
        weights_format=weights_format,
        thresholds=Thresholds(),
        training=dict(training),
    ).with_weights(weights_path, base)
    spec_path = weights_path.parent / f"{name}.spec.json"
    spec.save(spec_path)
    return spec, spec_path


def _checked(
    spec: ModelSpec,
    spec_path: Path,
    weights_path: Path,
    written: Classifier,
    check_crops: np.ndarray,
    check_probabilities: np.ndarray,
) -> Path:
    """`spec_path` once the `written` model, read back, scores `check_crops` within
    `AGREEMENT_TOLERANCE` of `check_probabilities` (its largest difference recorded in the
    spec); else both files are removed and UsageError."""
    got = np.asarray(written.predict(check_crops), np.float64).reshape(-1)
    worst = float(np.max(np.abs(got - np.asarray(check_probabilities)), initial=0.0))
    if worst > AGREEMENT_TOLERANCE:  # not kept: a model that is not the probe
        spec_path.unlink()
        weights_path.unlink()
        raise UsageError(f"{weights_path}: the written model differs from the probe by {worst:.4f}")
    spec = replace(
        spec, training={**spec.training, "largest_difference_from_probe": round(worst, 6)}
    )
    spec.save(spec_path)
    return spec_path


def blend_of(members: Sequence[tuple[str, str]], fitted: Sequence[tuple[float, float]]) -> Blend:
    """The `Blend` of members (spec file name, weights' sha256), each with its (weight,
    center) from `texture_train.fit_blend`, and the bias that centres them: minus the sum of
    weight x center, so the members' evidence adds up to the blend's log-odds."""
    pairs = zip(members, fitted, strict=True)
    return Blend(
        tuple(BlendMember(spec, sha, w, c) for (spec, sha), (w, c) in pairs),
        -sum(w * c for w, c in fitted),
    )


def write_blend(
    folder: Path,
    name: str,
    members: Sequence[tuple[Path, tuple[float, float]]],
    training: Mapping[str, Any],
    views: int = 1,
    track: TrackHead | None = None,
) -> Path:
    """Write `<name>.blend.json` and `<name>.spec.json` into `folder` (where every member's
    spec must lie); `members`: each member's spec path with its (weight, center) from
    `fit_blend` (the bias centres them, `blend_of`); returns the spec's path. Crops are cut at
    the widest member's margin, large enough that each member's own margin covers its input
    size (models/blend.py, `member_crops`), and read through `views` views; calibration and
    thresholds are left at their defaults for `evaluate --calibrate` to fit."""
    specs = []
    for spec_path, _ in members:
        if spec_path.parent.resolve() != folder.resolve():
            raise UsageError(f"{spec_path}: a blend's members must lie beside it, in {folder}")
        specs.append(ModelSpec.load(spec_path))
    margin = max(s.crop_margin for s in specs)
    named = [
        (path.name, weights_key(spec, path.parent / spec.weights_file))
        for (path, _), spec in zip(members, specs, strict=True)
    ]
    blend = replace(
        blend_of(named, [fit for _, fit in members]), training=dict(training), track=track
    )
    blend_path = blend.save(folder / f"{name}.blend.json")
    spec = replace(
        ModelSpec(name=name, views=views),
        input_size=max(round(s.input_size * margin / s.crop_margin) for s in specs),
        scaling="unit",
        crop_margin=margin,
        architecture=BLEND_FORMAT,
        weights_format=BLEND_FORMAT,
        training={"recipe": "blend of " + ", ".join(s.name for s in specs), **training},
    ).with_weights(blend_path)
    spec_path = folder / f"{name}.spec.json"
    spec.save(spec_path)
    return spec_path


FUSE_CHECK_SEED = 2026
"""Seed of the noise crops a fused model is checked on (`fuse_blend`)."""


def fused_probe(probes: Sequence[tuple[ProbeFit, float]]) -> ProbeFit:
    """One probe whose logit is the sum of `probes`' logits, each times its weight, on the same
    features; standardised as the first (a linear probe's weighted logits add up exactly)."""
    first = probes[0][0]
    raw = sum(w * p.weights / p.scale for p, w in probes)  # on unstandardised features
    const = sum(w * (p.bias - float((p.mean / p.scale) @ p.weights)) for p, w in probes)
    bias = const + float(first.mean @ raw)
    return ProbeFit(first.mean, first.scale, raw * first.scale, bias, 0.0)


def fuse_blend(spec_path: Path, name: str) -> Path:
    """Write the blend `name` beside the blend `spec_path`: the same function of the crop with
    fewer networks to run. Members that are texture models of one region on one backbone
    (`models.texture.ARCHITECTURES`, the same backbone: the same `weights_base`, or the model
    that is that base; two models each holding their own are never fused) at one margin become
    one model
    `<name>_<region>`
    (`fused_probe` of their probes, each times its blend weight; weight 1, center their weighted
    centers), the rest stay as they are; calibration, thresholds and views carry over. Each
    fused model is checked against its members' weighted logits on noise crops
    (`write_texture_model`'s check); returns the new spec's path. A blend with nothing to fuse
    is refused (UsageError)."""
    from deepfake_analyzer.models.loader import load_keras_from_spec

    spec, folder, blend = _blend_to_rewrite(spec_path, name, "only a blend's members can be fused")
    groups: dict[tuple[str, str, float], list[BlendMember]] = {}
    for member in blend.members:
        member_spec = ModelSpec.load(folder / member.spec)
        backbone = member_spec.weights_base_sha256 or member_spec.weights_sha256  # own: alone
        texture = member_spec.architecture in ARCHITECTURES.values()
        key = (member_spec.architecture, backbone, member_spec.crop_margin)
        key = key if texture else ("", member.spec, 0.0)
        groups.setdefault(key, []).append(member)
    if all(len(g) == 1 for g in groups.values()):
        raise UsageError(f"{spec_path}: no two members read one region through one backbone")
    rng = np.random.default_rng(FUSE_CHECK_SEED)
    crops = rng.integers(0, 256, (8, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    crops[:4] //= 3  # dark and bright noise
    members: list[tuple[Path, tuple[float, float]]] = []
    for (architecture, _, _), group in groups.items():
        if len(group) == 1:
            only = group[0]
            members.append((folder / only.spec, (only.weight, _center(only))))
            continue
        models = [load_keras_from_spec(folder / m.spec) for m in group]
        weighted = list(zip(models, [m.weight for m in group], strict=True))
        probe = fused_probe([(ProbeFit(*probe_of(c.model), 0.0), w) for c, w in weighted])
        expected = sum(w * logits(c.predict(crops)) for c, w in weighted)
        region = next(r for r, a in ARCHITECTURES.items() if a == architecture)
        first = ModelSpec.load(folder / group[0].spec)
        fused = write_texture_model(
            backbone_of(models[0].model), probe, folder, f"{name}_{region}", first.crop_margin,
            {"recipe": "fused: " + " + ".join(f"{m.weight:.6g} x {m.name}" for m in group),
             "fused_from": [m.spec for m in group]},
            crops, 1.0 / (1.0 + np.exp(-np.asarray(expected, np.float64))), region,
            folder / first.weights_base if first.weights_base else None,
        )  # fmt: skip
        members.append((fused, (1.0, sum(m.weight * _center(m) for m in group))))
    written = write_blend(
        folder, name, members, {**blend.training, "fused_from": spec_path.name}, spec.views
    )
    fused_spec = ModelSpec.load(written)
    replace(fused_spec, calibration=spec.calibration, thresholds=spec.thresholds).save(written)
    if abs(Blend.load(folder / fused_spec.weights_file).bias - blend.bias) > 1e-9:
        raise UsageError(f"{spec_path}: its bias is not minus its weighted centers: not fused")
    return written


TRACK_TOLERANCE = 0.02
"""Largest difference allowed between a written `-track` model's second column and its head
part computed on the features (float16 kernels, as `AGREEMENT_TOLERANCE`)."""


def add_track_head(
    spec_path: Path, name: str, parts: Mapping[str, np.ndarray], head: TrackHead
) -> Path:
    """Write the blend `name` beside the blend `spec_path`: the same members, weights, centers
    and bias, with `head` as its track head. Each member named in `parts` (its spec file name:
    a whole-crop or mouth texture model, `TRACK_ARCHITECTURES`) is written again as the `-track`
    model `<name>_<its last name part>` (e.g. `deepfake_v18_face` -> `<name>_face`, of
    architecture `-track` or `-mouth-track`): the same probe, and a second column
    features . parts[member] (the head's part on its raw features; the head's bias is
    `head.bias`). Each is checked on noise crops: its probability against the original's, its
    second column against the part computed on the features (`TRACK_TOLERANCE`). Calibration,
    thresholds and views carry over; returns the new spec's path."""
    from deepfake_analyzer.models.loader import load_keras_from_spec

    spec, folder, blend = _blend_to_rewrite(spec_path, name, "a track head is added to a blend")
    unknown = set(parts) - {m.spec for m in blend.members}
    if unknown or not parts:
        raise UsageError(f"{spec_path}: the head's parts name no member or another blend's")
    rng = np.random.default_rng(FUSE_CHECK_SEED)
    crops = rng.integers(0, 256, (8, INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
    crops[:4] //= 3
    members: list[tuple[Path, tuple[float, float]]] = []
    rewritten: dict[str, str] = {}
    for member in blend.members:
        if member.spec not in parts:
            members.append((folder / member.spec, (member.weight, _center(member))))
            continue
        member_spec = ModelSpec.load(folder / member.spec)
        region = next(
            (r for r in TRACK_ARCHITECTURES if ARCHITECTURES[r] == member_spec.architecture), None
        )
        if region is None:
            raise UsageError(
                f"{member.spec}: a track head part needs a whole-crop or mouth texture model"
            )
        original = load_keras_from_spec(folder / member.spec)
        model = build_texture_classifier(INPUT_SIZE, REGIONS[region], track=True)
        backbone_of(model).set_weights(backbone_of(original.model).get_weights())
        mean, scale, weights, bias = probe_of(original.model)
        set_probe(model, mean, scale, weights, bias)
        part = np.asarray(parts[member.spec], np.float64)
        set_track_head(model, part, 0.0)
        own = f"{name}_{member.name.rsplit('_', 1)[-1]}"
        base = folder / member_spec.weights_base if member_spec.weights_base else None
        weights_path = save_weights_f16(model, folder / f"{own}.f16.npz", base)
        training = {"recipe": f"{member.name} with a track head part", "from": member.spec}
        track_spec, written_path = _saved_spec(
            own, member_spec.crop_margin, training, TRACK_ARCHITECTURES[region], F16_NPZ_FORMAT,
            weights_path, base,
        )  # fmt: skip
        check = load_keras_from_spec(written_path)
        expected_part = features_of(original.model, member_spec.preprocess(crops)) @ part
        worst = float(np.abs(check.predict_outputs(crops)[:, 1] - expected_part).max())
        if worst > TRACK_TOLERANCE:
            written_path.unlink()
            weights_path.unlink()
            raise UsageError(f"{weights_path}: its track part differs from the head's by {worst}")
        _checked(track_spec, written_path, weights_path, check, crops, original.predict(crops))
        members.append((written_path, (member.weight, _center(member))))
        rewritten[member.spec] = written_path.name
    track_training = {**head.training, "parts": rewritten}
    written = write_blend(
        folder, name, members, {**blend.training, "track_head_added_to": spec_path.name},
        spec.views, replace(head, training=track_training),
    )  # fmt: skip
    new_spec = ModelSpec.load(written)
    replace(new_spec, calibration=spec.calibration, thresholds=spec.thresholds).save(written)
    if abs(Blend.load(folder / new_spec.weights_file).bias - blend.bias) > 1e-9:
        raise UsageError(f"{spec_path}: its bias is not minus its weighted centers")
    return written


def _blend_to_rewrite(spec_path: Path, name: str, why: str) -> tuple[ModelSpec, Path, Blend]:
    """The blend `spec_path`'s spec, folder and `Blend`, to be written again as the new model
    `name` beside it; UsageError when it is not a blend (`why`) or `name` is taken."""
    spec = ModelSpec.load(spec_path)
    folder = spec_path.parent
    if spec.weights_format != BLEND_FORMAT:
        raise UsageError(f"{spec_path}: not a blend: {why}")
    if Path(name).name != name or (folder / f"{name}.spec.json").exists():
        raise UsageError(f"{folder / name}: give a new model name (it is not overwritten)")
    return spec, folder, Blend.load(folder / spec.weights_file)


def _center(member: BlendMember) -> float:
    return 0.0 if member.center is None else member.center
