"""The texture models: linear probes on a frozen ImageNet EfficientNet-Lite0, one per region of
the crop, fitted and judged by the leave-generator-out protocol, and their blend with the
classifier (`train-texture`).

- Crops: the evaluation's (`evaluate`'s extractor: 12 frames per video, one face per frame, the
  classifier's margin), cut at 224 px; the classifier reads them resized to its input size.
- Features: `training/texture_backbone.py` (channel means and spreads of four blocks), one set
  per region (`--region`, `models.texture.REGIONS`: the whole crop, `face`, and its mouth box,
  `mouth`, cut inside the network as the written model cuts it). Each region has its own
  probe. The region `residual` reads no network: the crop's noise-residual co-occurrences
  (models/residual.py), written as a probe file. Features and the classifier's scores are
  kept in the crop cache's feature store (training/feature_store.py): a refit on the same
  crops runs no network.
- Training part (`SHARES` of the weight): real crops (video frames and photos, a quarter
  each), labeled fakes (35 %, each generator alike) and a self-blended twin of every real crop
  with landmarks (15 %; v4 gave both a quarter); the residual probe has no self-blends
  (`RESIDUAL_SHARES`). L2 strength by 5-fold leave-generator-out
  cross-validation on the training part (`probe_folds`: a labeled fake's fold is its
  generator's, every other crop's its person's), judged on labeled fakes against reals, as
  the protocol judges: on generators a fit never saw. (Up to v4 the folds were grouped by
  person alone, which let a fake's generator sit on both sides and chose the weakest L2.)
  `L2_GRID` reaches 100000: every probe of the v5 candidate chose 3000, then its top.
- Resolution (`--match-resolution`, `resolution_matched`): the real photos' weight re-spread
  over `RESOLUTION_EDGES` bins of the source's short side to the labeled fake photos' mix.
  Most training real photos are 160-px web photos and few fake ones are, so without it a probe
  can read photo size (v9's residual probe did: the 21st session's finding in its card).
- Augmented copies (`--augmented-copies`, default `DEFAULT_COPIES`; texture_v1 had none): each
  training crop also enters the fit that many times reframed (zoomed 1-1/0.72x, shifted up to
  10 %) and degraded (`DEGRADE`: JPEG, H.264, mild noise), its weight split over its copies;
  a region's box is cut from the reframed copy; judged on clean crops only. Each copy draws
  from its own seed (`augmented_features`; through v5: one stream per copy), so it can be
  stored and reused alone.
- Judged: each held-out file's score is the top-quarter mean of its crop scores, as `evaluate`
  does; the classifier, each region's probe and their blend (equal-weight mean of the logits,
  each z-scored on the training crops) are tabled per medium and family, all after the first
  paired against the classifier.
- Written (with an output folder holding the classifier's spec): per region `<name>_<region>`
  (the probe and its backbone, one half-precision weights file; with `--weights-base`, the
  probe alone, the backbone read from that file), the blend `<name>` (default
  `BLEND_NAME`) of the classifier, the kept models (`--keep`: fitted models joining the blend
  as they are, scored like the classifier) and them, and the probes' training-data list
  `<name>.training-data.csv` (training/texture_export.py, models/blend.py). With `--region
  face --augmented-copies 0` the probe is texture_v1's recipe (models/deepfake_v3.md).
  `--without-classifier` leaves the classifier out of the blend (`fixed_scores`): it is
  still scored and tabled first, the reference every other row is paired against. `--views N`
  writes the blend's spec to read each face through N views (models/views.py); the tables
  read the crop alone.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from PIL import UnidentifiedImageError

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import Message, NullHook, ProgressHook, StageProgress
from deepfake_analyzer.faces.crop import resize_square
from deepfake_analyzer.media.image import open_image_header
from deepfake_analyzer.models.base import Classifier
from deepfake_analyzer.models.blend import BLEND_FORMAT
from deepfake_analyzer.models.loader import load_classifier
from deepfake_analyzer.models.residual import FEATURE_SIZE as RESIDUAL_FEATURE_SIZE
from deepfake_analyzer.models.residual import FEATURES_VERSION, ResidualProbe, residual_features
from deepfake_analyzer.models.spec import SPEC_SUFFIX, ModelSpec, logits, sha256_of
from deepfake_analyzer.models.texture import FEATURE_SIZE, INPUT_SIZE, REGIONS, TAPS
from deepfake_analyzer.scoring.aggregate import track_score
from deepfake_analyzer.temporal.model import fit_logistic, standardise
from deepfake_analyzer.temporal.train import cross_validate, generator_folds
from deepfake_analyzer.training.augment import AugmentConfig, augment, h264_roundtrip
from deepfake_analyzer.training.bootstrap import pair_matrix
from deepfake_analyzer.training.bootstrap import weighted_auc as bootstrap_auc
from deepfake_analyzer.training.datalist import write_training_list
from deepfake_analyzer.training.eval_compare import BaselineFile, compare
from deepfake_analyzer.training.eval_crops import (
    SELF_BLENDED_SUFFIX,
    CropLoader,
    crop_loader,
    discover_items,
    extract_for_evaluation,
    self_blended_records,
)
from deepfake_analyzer.training.evaluate import EvaluateConfig
from deepfake_analyzer.training.extract import (
    CropCache,
    CropRecord,
    default_cache_dir,
    source_key,
)
from deepfake_analyzer.training.feature_store import (
    FEATURES_FOLDER,
    Chunk,
    Compute,
    FeatureStore,
    cached_values,
    crop_key,
    set_name,
)
from deepfake_analyzer.training.protocol import protocol_table, split_protocol
from deepfake_analyzer.training.sources import LabeledItem
from deepfake_analyzer.training.texture_backbone import (
    WHEEL,
    WHEEL_SHA256,
    default_backbone_path,
    feature_model,
    load_backbone,
    texture_features,
)
from deepfake_analyzer.training.texture_config import RESIDUAL, TextureRequest, member_name
from deepfake_analyzer.training.texture_export import (
    ProbeFit,
    blend_of,
    write_blend,
    write_probe_model,
    write_texture_model,
)

CACHE_FOLDER = "texture-crops"
"""Crops are cached under `<cache>/texture-crops` unless a cache folder is given."""
STAGE_FEATURES = "features"
STAGE_AUGMENTED = "augmented copies"

L2_GRID = (3.0, 10.0, 30.0, 100.0, 300.0, 1000.0, 3000.0, 10000.0, 30000.0, 100000.0)
SHARES = {"real video": 0.25, "real image": 0.25, "labeled fake": 0.35, "self-blended": 0.15}
"""Each part's share of the training weight. Chosen between four splits of the fakes' half by
leave-generator-out CV on the training part alone (labeled fakes 0.25-0.5, self-blends the rest;
v4 had 0.25 each): 0.35 / 0.15 read best or equal on both media."""
RESOLUTION_EDGES = (140, 200, 300, 600)
"""Bin edges of a photo's short side (px) for `resolution_matched`: the 160-px web photos fall
in one bin, and each other bin holds a fair share of the labeled fake photos."""
RESIDUAL_SHARES = {"real video": 0.25, "real image": 0.25, "labeled fake": 0.5, "self-blended": 0.0}
"""The residual probe's shares: no self-blends. A self-blend pastes a face's own pixels back
into it, so its noise is the camera's: leave-generator-out CV on the training part read 0.763
without them against 0.751 with `SHARES` (L2 300-3000, 2026-12-03)."""
DEGRADE = AugmentConfig(
    flip_p=0.5,
    color_p=0.0,
    resize_p=0.0,
    blur_p=0.0,
    noise_p=0.25,
    noise_sigma=(1.0, 8.0),
    jpeg_p=0.5,
    jpeg_quality=(60, 100),
    h264_p=0.3,
    h264_crf=(23, 35),
)
"""How augmented copies are degraded: the compression and noise uploads carry (no blur, no
resizing, no colour change)."""
FRAMING_ZOOM = (0.72, 1.0)
"""Augmented copies' crop side as a fraction of the cached crop's (the cache holds the analyzer's
framing only, so copies can zoom in, not out: 1/0.72 spans the framing check's 1.0-1.4x)."""
FRAMING_SHIFT = 0.1
AUGMENT_SEED = 100
AUGMENT_RECIPE = repr((DEGRADE, FRAMING_ZOOM, FRAMING_SHIFT, AUGMENT_SEED))
"""Everything an augmented copy's draws depend on besides its crop, copy and chunk."""
CHUNK = 256
"""Crops whose features are computed (and stored) together."""
SCORED = "scored:"
"""Prefix of the classifier's and the kept models' entries among the per-crop values."""


@dataclass(frozen=True)
class Crop:
    """One crop's labels and which part of the protocol its file is in."""

    source: str
    label: int
    kind: str
    method: str
    group: str
    part: str  # "train", "heldout" or "" (used by neither)
    blended: bool
    augmented: bool = False
    short_side: int = 0
    """A photo's source short side in pixels (0: a video frame, or a photo that did not open)."""


@dataclass(frozen=True)
class TextureResult:
    """Per region the fitted probe and its leave-generator-out CV AUC per L2; the tables (the
    classifier, each probe, the blend); the files written."""

    fits: dict[str, ProbeFit]
    cv_auc: dict[str, dict[float, float]]
    tables: dict[str, Any]
    written: tuple[Path, ...] = ()


@dataclass(frozen=True)
class TextureInputs:
    """What the probes are fitted and judged on: every crop's labels (`crops`), each region's
    features (`x`) and the classifier's probability; the augmented copies' crops and features;
    and what writing the models needs (the crops' records and cache, the files trained on,
    the classifier, the backbone)."""

    crops: list[Crop]
    x: dict[str, np.ndarray]
    classifier_p: np.ndarray
    copies: list[Crop]
    x_copies: dict[str, np.ndarray]
    records: list[CropRecord]
    cache: CropCache
    trained: list[LabeledItem]
    classifier: Classifier
    backbone: Any
    kept: tuple[Classifier, ...] = ()
    kept_p: tuple[np.ndarray, ...] = ()
    """`request.kept`'s models and their probability per crop of `crops`."""


def train_texture(request: TextureRequest, hook: ProgressHook | None = None) -> TextureResult:
    """Fit one probe per region on the protocol's training part, judge them on the held-out
    part beside the classifier and the blend of them all, and (with `request.output`) write
    the models."""
    hook = hook or NullHook()
    check_kept(request)  # before any crop is read
    inputs = texture_inputs(request, hook)
    crops, x = inputs.crops, inputs.x
    fits, cv_auc = {}, {}
    for region in request.regions:
        both = np.concatenate([x[region], inputs.x_copies[region]])
        fits[region], cv_auc[region] = fit_probe(
            both, [*crops, *inputs.copies], shares_of(region), request.match_resolution
        )
        l2 = fits[region].l2
        _say(
            hook,
            f"{region}: L2 {l2:g} chosen by leave-generator-out CV (AUC {cv_auc[region][l2]:.3f})",
        )
    probes = {r: fits[r].probability(x[r]) for r in request.regions}
    fixed = fixed_scores(request, inputs)
    scores = {
        inputs.classifier.spec.name: inputs.classifier_p,
        **{c.spec.name: p for c, p in zip(inputs.kept, inputs.kept_p, strict=True)},
        **{member_name(request.name, r): p for r, p in probes.items()},
        request.name: combine([*fixed, *probes.values()], crops),
    }
    tables = table_report({name: file_scores(s, crops) for name, s in scores.items()})
    written: tuple[Path, ...] = ()
    if request.output is not None:
        written = write_models(request.output, request, inputs, fits, probes)
    return TextureResult(fits, cv_auc, tables, written)


def fixed_scores(request: TextureRequest, inputs: TextureInputs) -> list[np.ndarray]:
    """The scores of the blend's members fitted elsewhere, in the blend's order: the
    classifier's (unless `request.classifier_member` is off), then the kept models'."""
    return [*([inputs.classifier_p] if request.classifier_member else []), *inputs.kept_p]


def check_kept(request: TextureRequest) -> None:
    """UsageError unless every kept model is a single model (a blend's members are kept, not
    the blend) and, with an output folder, lies in it (the blend's members lie beside it)
    and would not be overwritten by a model this request writes."""
    for kept in request.kept:
        is_spec = kept.name.endswith(SPEC_SUFFIX) and kept.is_file()
        if is_spec and ModelSpec.load(kept).weights_format == BLEND_FORMAT:
            raise UsageError(f"{kept}: a blend cannot be kept as a member; keep its members")
    folder = request.output
    if folder is None:
        return
    new = {
        (folder / f"{member_name(request.name, r)}.spec.json").resolve() for r in request.regions
    }
    for kept in request.kept:
        if kept.parent.resolve() != folder.resolve():
            raise UsageError(f"{kept}: a kept model must lie in {folder}, beside the blend")
        if kept.resolve() in new:
            raise UsageError(f"{kept}: a kept model cannot be rewritten by this fit: use --name")


def texture_inputs(request: TextureRequest, hook: ProgressHook | None = None) -> TextureInputs:
    """The protocol's crops of `request`'s data (cut and cached first where missing), with
    their features and classifier scores (from the feature store, computed where missing)."""
    hook = hook or NullHook()
    backbone = load_backbone()  # first: it needs get_texture_backbone.sh
    extractors = {r: feature_model(backbone, REGIONS[r]) for r in request.regions if r in REGIONS}
    items = discover_items(request.data, real=[*request.real, *request.train_real])
    split = split_protocol(items)
    found = discover_items([], real=request.train_real) if request.train_real else []
    train_only = {source_key(i.path) for i in found}
    part = {source_key(i.path): "train" for i in split.train}
    part.update({source_key(i.path): "heldout" for i in split.heldout})
    part.update({k: "" for k in train_only if part.get(k) == "heldout"})
    judged = sum(1 for v in part.values() if v == "heldout")
    _say(hook, f"{len(split.train)} training files, {judged} held-out files judged")
    classifier = load_classifier(request.model)
    spec: ModelSpec = classifier.spec
    used = [i for i in (*split.heldout, *split.train) if part.get(source_key(i.path))]
    cache_root = request.cache_dir or default_cache_dir() / CACHE_FOLDER
    cache, records = extract_for_evaluation(
        used, spec, EvaluateConfig(crop_size=INPUT_SIZE), cache_root, hook
    )
    training = [r for r in records if part.get(source_key(r.source)) == "train"]
    records = [*records, *self_blended_records(training)]
    store = FeatureStore(cache.root / FEATURES_FOLDER)
    backbone_id = sha256_of(default_backbone_path())
    computes: dict[str, tuple[str, Compute]] = {
        r: (
            set_name(f"texture-{r}", backbone_id, REGIONS[r], TAPS, INPUT_SIZE),
            partial(texture_features, e),
        )
        for r, e in extractors.items()
    }
    if RESIDUAL in request.regions:
        computes[RESIDUAL] = (
            set_name(RESIDUAL, FEATURES_VERSION, INPUT_SIZE),
            residual_features,
        )
    kept = tuple(load_classifier(path) for path in request.kept)
    for c in (classifier, *kept):
        computes[_scored(c)] = (
            set_name("classifier", c.sha256, c.spec.input_size, INPUT_SIZE),
            partial(_classifier_probability, c),
        )
    keys = [crop_key(cache, r, _variant(r)) for r in records]
    load = crop_loader(0)
    chunks = [
        Chunk(tuple(keys[s : s + CHUNK]), partial(_load_some, load, cache, records[s : s + CHUNK]))
        for s in range(0, len(records), CHUNK)
    ]
    values = cached_values(
        store, computes, chunks,
        lambda n: hook(StageProgress("", STAGE_FEATURES, n, len(records))),
    )  # fmt: skip
    sides: dict[str, int] = {}
    crops = [
        Crop(
            r.source, int(r.label), "video" if r.kind == "video" else "image", str(r.method),
            str(r.group), part.get(source_key(r.source.removesuffix(SELF_BLENDED_SUFFIX)), ""),
            r.source.endswith(SELF_BLENDED_SUFFIX),
            short_side=0 if r.kind == "video" else _short_side(sides, r.source),
        )
        for r in records
    ]  # fmt: skip
    x_copies, copies = augmented_features(
        {r: computes[r] for r in request.regions}, store, cache, records, keys, crops,
        request.augmented_copies, hook,
    )  # fmt: skip
    return TextureInputs(
        crops=crops,
        x={r: _rows(values[r], r) for r in request.regions},
        classifier_p=np.asarray(values[_scored(classifier)], np.float64),
        copies=copies,
        x_copies=x_copies,
        records=records,
        cache=cache,
        trained=[i for i in used if part.get(source_key(i.path)) == "train"],
        classifier=classifier,
        backbone=backbone,
        kept=kept,
        kept_p=tuple(np.asarray(values[_scored(c)], np.float64) for c in kept),
    )


def _short_side(known: dict[str, int], source: str) -> int:
    """A photo's short side in pixels from its header (its self-blend's is its own), 0 if it
    does not open; `known` keeps each source's."""
    path = source.removesuffix(SELF_BLENDED_SUFFIX)
    if path not in known:
        try:
            with open_image_header(path) as image:
                known[path] = min(image.size)
        except (OSError, UnidentifiedImageError):
            known[path] = 0
    return known[path]


def _scored(classifier: Classifier) -> str:
    """A fixed model's entry among the per-crop values (regions name the others)."""
    return f"{SCORED}{classifier.sha256}"


def _say(hook: ProgressHook, text: str) -> None:
    hook(Message("", text))


def augmented_features(
    computes: dict[str, tuple[str, Compute]],
    store: FeatureStore,
    cache: CropCache,
    records: list[CropRecord],
    keys: list[str],
    crops: list[Crop],
    copies: int,
    hook: ProgressHook,
) -> tuple[dict[str, np.ndarray], list[Crop]]:
    """Per region of `computes`, the features of `copies` augmented copies (`augment_copy`) of
    every training crop, each region read from the same copy, through the feature store; and
    the copies' `Crop`s (marked `augmented`). Copy k of a crop draws from seed (`AUGMENT_SEED`,
    k, its cached file's name), and its key names the crop, k and the recipe
    (`AUGMENT_RECIPE`): a stored copy is reused whatever the order of the data, and a new file
    costs only its own copies."""
    chosen = [i for i, c in enumerate(crops) if c.part == "train"] if copies else []
    recipe = hashlib.sha1(AUGMENT_RECIPE.encode()).hexdigest()[:12]
    load = crop_loader(0)
    chunks = [
        Chunk(
            tuple(f"{keys[i]}|copy{k}:{recipe}" for i in part),
            partial(_augmented, load, cache, [records[i] for i in part], k),
        )
        for k in range(copies)
        for part in (chosen[s : s + CHUNK] for s in range(0, len(chosen), CHUNK))
    ]
    values = cached_values(
        store, computes, chunks,
        lambda n: hook(StageProgress("", STAGE_AUGMENTED, n, copies * len(chosen))),
    )  # fmt: skip
    marked = [replace(crops[i], augmented=True) for _ in range(copies) for i in chosen]
    return {r: _rows(v, r) for r, v in values.items()}, marked


def _variant(record: CropRecord) -> str:
    return SELF_BLENDED_SUFFIX if record.source.endswith(SELF_BLENDED_SUFFIX) else ""


def _load_some(
    load: CropLoader, cache: CropCache, records: Sequence[CropRecord], positions: Sequence[int]
) -> np.ndarray:
    return np.stack([load(cache, records[j], INPUT_SIZE) for j in positions])


def _augmented(
    load: CropLoader,
    cache: CropCache,
    records: Sequence[CropRecord],
    copy: int,
    positions: Sequence[int],
) -> np.ndarray:
    out = []
    for j in positions:
        name = records[j].crop.encode()
        rng = np.random.default_rng([AUGMENT_SEED, copy, zlib.crc32(name)])
        out.append(augment_copy(load(cache, records[j], INPUT_SIZE), rng))
    return np.stack(out)


def _classifier_probability(classifier: Classifier, images: np.ndarray) -> np.ndarray:
    small = np.stack([resize_square(im, classifier.spec.input_size) for im in images])
    return np.asarray(classifier.predict(small), np.float64)


def _rows(values: np.ndarray, region: str) -> np.ndarray:
    """`region`'s feature rows as float64, (0, its feature size) when there are none."""
    size = RESIDUAL_FEATURE_SIZE if region == RESIDUAL else FEATURE_SIZE
    return np.asarray(values, np.float64).reshape(-1, size)


def augment_copy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """An (S, S, 3) crop reframed within `FRAMING_ZOOM` and `FRAMING_SHIFT`, then degraded by
    `DEGRADE`: with probability `h264_p` through its own H.264 round trip (an intra-coded
    frame; through v5 a share of 256 crops went through one clip together)."""
    from deepfake_analyzer.training.train import random_framing

    size = image.shape[0]
    framed = random_framing(image, 1.0, FRAMING_ZOOM, FRAMING_SHIFT, size, rng)
    out = augment(framed, rng, DEGRADE)
    if rng.random() < DEGRADE.h264_p:
        crf = int(rng.integers(*DEGRADE.h264_crf, endpoint=True))
        out = h264_roundtrip(out[None], crf)[0]
    return out


def write_models(
    folder: Path,
    request: TextureRequest,
    inputs: TextureInputs,
    fits: dict[str, ProbeFit],
    probes: dict[str, np.ndarray],
) -> tuple[Path, ...]:
    """Per region `<name>_<region>` (its probe, with its backbone or reading it from
    `request.weights_base`), the probes' training-data list and the blend `<name>` of the
    classifier and them, in `folder` beside the classifier's spec (`probes`: each probe's
    probability per crop of `inputs`). The kept models (`request.kept`, `check_kept`) join
    the blend after the classifier. Returns the texture specs', the list's and
    the blend spec's paths."""
    classifier, backbone, crops = inputs.classifier, inputs.backbone, inputs.crops
    records, cache = inputs.records, inputs.cache
    name = request.name
    spec_path = folder / f"{classifier.spec.name}.spec.json"
    if request.classifier_member and not spec_path.is_file():
        raise UsageError(f"{folder}: the classifier's spec {spec_path.name} must lie here")
    counts = {share: int(sum(1 for c in crops if _share_of(c) == share)) for share in SHARES}
    order = [i for i, c in enumerate(crops) if c.part == "heldout" and not c.blended][:32]
    check = np.stack([crop_loader(0)(cache, records[i], INPUT_SIZE) for i in order])
    texture_specs = []
    for region, fit in fits.items():
        kind: dict[str, Any] = (
            {"recipe": "linear probe on noise-residual co-occurrences (models/residual.py)",
             "features_version": FEATURES_VERSION}
            if region == RESIDUAL
            else {"recipe": "linear probe on frozen ImageNet EfficientNet-Lite0 block statistics",
                  "backbone": {"wheel": WHEEL, "sha256": WHEEL_SHA256}}
        )  # fmt: skip
        training: dict[str, Any] = {
            **kind,
            "region": {"name": region, "box": REGIONS.get(region)},
            "l2": fit.l2,
            "shares": shares_of(region),
            **(
                {"resolution_matched": {"short_side_edges": RESOLUTION_EDGES}}
                if request.match_resolution
                else {}
            ),
            "crops": counts,
            "files": len(inputs.trained),
            "training_data": f"{name}.training-data.csv",
        }
        if request.augmented_copies:
            training["augmented_copies"] = {
                "copies": request.augmented_copies, "framing_zoom": FRAMING_ZOOM,
                "framing_shift": FRAMING_SHIFT, "degrade": asdict(DEGRADE),
            }  # fmt: skip
        member = member_name(name, region)
        margin, expected = classifier.spec.crop_margin, probes[region][order]
        if region == RESIDUAL:
            written = write_probe_model(
                ResidualProbe, fit, folder, member, margin, training, check, expected
            )
        else:
            written = write_texture_model(
                backbone, fit, folder, member, margin, training, check, expected, region,
                request.weights_base,
            )  # fmt: skip
        texture_specs.append(written)
    listed = folder / f"{name}.training-data.csv"
    write_training_list(inputs.trained, listed)
    fitted = fit_blend([*fixed_scores(request, inputs), *probes.values()], crops)
    members = (*([spec_path] if request.classifier_member else []), *request.kept, *texture_specs)
    blend_spec = write_blend(
        folder, name, list(zip(members, fitted, strict=True)),
        {
            "fitted_on": "z-scored logits of the protocol's training crops (self-blends left out)",
            **({"kept_as_fitted": [p.name for p in request.kept]} if request.kept else {}),
            **({} if request.classifier_member else {"left_out": classifier.spec.name}),
        },
        request.views,
    )  # fmt: skip
    return (*texture_specs, listed, blend_spec)


def shares_of(region: str) -> dict[str, float]:
    """The training shares of `region`'s probe."""
    return RESIDUAL_SHARES if region == RESIDUAL else SHARES


def weights_of(
    crops: list[Crop], shares: dict[str, float] = SHARES, match_resolution: bool = False
) -> np.ndarray:
    """Training weights: each of `shares` split evenly (labeled fakes per generator); a share
    of 0 leaves its crops out. With `match_resolution`, then `resolution_matched`."""
    w = np.zeros(len(crops))
    kinds = np.array([_share_of(c) for c in crops])
    for share, total in shares.items():
        idx = np.nonzero(kinds == share)[0]
        if not len(idx):
            continue
        if share == "labeled fake":
            methods = np.array([crops[i].method for i in idx])
            for m in sorted(set(methods)):
                chosen = idx[methods == m]
                w[chosen] = total / len(set(methods)) / len(chosen)
        else:
            w[idx] = total / len(idx)
    if match_resolution:
        w = resolution_matched(crops, w)
    return np.asarray(w * np.count_nonzero(w), dtype=np.float64)


def resolution_matched(crops: list[Crop], w: np.ndarray) -> np.ndarray:
    """`w` with the real photos' weight re-spread so each `RESOLUTION_EDGES` bin of their short
    side holds the labeled fake photos' share of it (over the bins real photos fill, so a bin
    without fake photos gets none); within a bin in proportion to `w`. Real photos' total
    weight and every other crop's are kept; photos of unknown size (0) are left as they are."""
    photo = np.array([c.kind == "image" and c.short_side > 0 and not c.blended for c in crops])
    label = np.array([c.label for c in crops])
    real, fake = photo & (label == 0) & (w > 0), photo & (label == 1) & (w > 0)
    if not real.any() or not fake.any():
        return w
    bins = np.searchsorted(RESOLUTION_EDGES, [c.short_side for c in crops], side="right")
    filled = [k for k in range(len(RESOLUTION_EDGES) + 1) if (real & (bins == k)).any()]
    mix = np.array([w[fake & (bins == k)].sum() for k in filled])
    if not mix.sum():
        return w
    out, total = w.copy(), w[real].sum()
    for k, share in zip(filled, mix / mix.sum(), strict=True):
        chosen = real & (bins == k)
        out[chosen] = w[chosen] / w[chosen].sum() * total * share
    return out


def _share_of(c: Crop) -> str:
    if c.part != "train":  # augmented copies count in their original's share
        return ""
    if c.blended:
        return "self-blended"
    return "labeled fake" if c.label else f"real {c.kind}"


def weighted_auc(y: np.ndarray, s: np.ndarray, w: np.ndarray) -> float:
    """The AUC with each crop counted `w` times (ties half), as the bootstrap weighs files."""
    real, fake = y == 0, y == 1
    pairs = pair_matrix(s[real], s[fake])
    return float(bootstrap_auc(pairs, w[real][None], w[fake][None])[0])


def fit_probe(
    x: np.ndarray,
    crops: list[Crop],
    shares: dict[str, float] = SHARES,
    match_resolution: bool = False,
    l2: float | None = None,
) -> tuple[ProbeFit, dict[float, float]]:
    """The probe fitted on the training crops (weighted by `weights_of`), L2 chosen by
    `probe_folds`' CV among `L2_GRID`; and the CV AUC of each L2 (labeled fakes against reals:
    self-blends train, they are not judged). A given `l2` is used as it is, with no CV (the
    returned dict is then empty)."""
    w = weights_of(crops, shares, match_resolution)
    idx = np.nonzero(w > 0)[0]
    y = np.array([c.label for c in crops])
    cv_auc = {}
    if l2 is None:
        folds = probe_folds([crops[i] for i in idx])
        judged = w[idx] * np.array([not crops[i].blended for i in idx])
        for candidate in L2_GRID:
            out = cross_validate(x[idx], y[idx], w[idx], folds, candidate, clip_z=np.inf)
            cv_auc[candidate] = weighted_auc(y[idx], out, judged)
    best = l2 if l2 is not None else max(L2_GRID, key=lambda c: (cv_auc[c], c))
    mean, scale = standardise(x[idx])
    coef, bias = fit_logistic((x[idx] - mean) / scale, y[idx], l2=best, sample_weight=w[idx])
    return ProbeFit(mean, scale, coef, bias, best), cv_auc


def probe_folds(crops: Sequence[Crop], folds: int = 5) -> np.ndarray:
    """Leave-generator-out fold per crop (`generator_folds`): a labeled fake is grouped by its
    generator, a real crop and its self-blended twin by their person."""
    fakes = [bool(c.label) and not c.blended for c in crops]
    return generator_folds(fakes, [c.method for c in crops], [c.group for c in crops], folds)


def fit_blend(scores: list[np.ndarray], crops: list[Crop]) -> list[tuple[float, float]]:
    """(weight, center) per score for the equal-weight mean of the scores' logits, each
    z-scored on the training part's crops (self-blends and augmented copies left out): the
    center is the mean logit, the weight 1 / (count x its spread). `blend_of` adds the bias."""
    ref = np.array([c.part == "train" and not (c.blended or c.augmented) for c in crops])
    fitted = []
    for p in scores:
        logit = logits(p)[ref]
        fitted.append((1.0 / (len(scores) * float(logit.std())), float(logit.mean())))
    return fitted


def combine(scores: Sequence[np.ndarray], crops: list[Crop]) -> np.ndarray:
    """The blend of the scores `fit_blend` fits, as the shipped blend computes it."""
    members = [(f"m{k}.spec.json", "") for k in range(len(scores))]
    return blend_of(members, fit_blend(list(scores), crops)).probability(list(scores))


def file_scores(scores: np.ndarray, crops: list[Crop]) -> list[BaselineFile]:
    """One score per held-out file (self-blends left out): a video's top-quarter mean."""
    by: dict[str, tuple[Crop, list[float]]] = {}
    for c, s in zip(crops, scores, strict=True):
        if c.part == "heldout" and not (c.blended or c.augmented):
            by.setdefault(c.source, (c, []))[1].append(float(s))
    return [
        BaselineFile(c.source, c.label, c.kind, c.method, c.group, track_score(v))
        for c, v in by.values()
    ]


def table_report(tables: dict[str, list[BaselineFile]]) -> dict[str, Any]:
    """Each score's medium and family rows; after the first, the paired difference from it."""
    names = list(tables)
    report: dict[str, Any] = {}
    for name in names:
        rows = [
            r for r in protocol_table(tables[name], 0.5, 0.5).rows if r.by in ("medium", "family")
        ]
        paired = {} if name == names[0] else {
            r.name: r for r in compare(tables[names[0]], tables[name], names[0]).rows
        }  # fmt: skip
        report[name] = {
            "rows": [r.to_dict() for r in rows],
            "against_first": [r.to_dict() for r in paired.values()],
        }
    return report
