"""Train the Xception detector on cached crops: self-blended + labeled fakes, checkpoints, export.

`train(request, hook)` discovers labeled sources and folders of real faces, splits them by
identity, extracts crops (cached, resumable), then runs a seeded custom training loop:
every batch is half real crops and half fakes, the fakes self-blended on the fly from the
batch's own real faces plus a share of labeled fakes, all augmented the same way. It saves a
checkpoint every few minutes (weights, optimizer state, step; batches are a pure function of
(seed, step), so resuming replays the same data), validates on held-out identities each epoch,
and exports float16 weights plus a model spec that the analyzer loads.
"""

from __future__ import annotations

import json
import os
import platform
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.events import (
    CheckpointSaved,
    Evaluated,
    Message,
    ProgressHook,
    TrainFinished,
    TrainProgress,
    TrainStarted,
)
from deepfake_analyzer.models.spec import ModelSpec, spec_path_for
from deepfake_analyzer.models.xception import ARCHITECTURE
from deepfake_analyzer.training.augment import DEFAULT_AUGMENT, AugmentConfig, augment_batch
from deepfake_analyzer.training.checkpoint import (
    WEIGHTS_FILE,
    DivergenceGuard,
    TrainState,
    atomic_write_text,
    has_checkpoint,
    load_checkpoint,
    read_state,
    save_checkpoint,
)
from deepfake_analyzer.training.config import (
    TrainConfig,
    choose_precision,
    learning_rate_at,
    learning_rate_at_time,
)
from deepfake_analyzer.training.datalist import write_training_list
from deepfake_analyzer.training.extract import (
    CropCache,
    CropRecord,
    ExtractConfig,
    default_cache_dir,
    extract_crops,
    load_crop,
    source_key,
)
from deepfake_analyzer.training.metrics import roc_auc
from deepfake_analyzer.training.protocol import canonical_generator, family_of, split_protocol
from deepfake_analyzer.training.sbi import DEFAULT_SBI, SbiConfig, self_blend
from deepfake_analyzer.training.sources import (
    FAKE,
    REAL,
    LabeledItem,
    discover_labeled,
    discover_real,
    split_by_group,
)

Hook = ProgressHook
MODEL_NAME = "deepfake_xception"
WEIGHTS_SUFFIX = ".f16.npz"
TRAINING_LIST = MODEL_NAME + ".training-data.csv"


@dataclass(frozen=True)
class TrainRequest:
    """What `train` works on: labeled roots, folders of real faces, where to write."""

    labeled: tuple[Path, ...] = ()
    real: tuple[Path, ...] = ()
    output_dir: Path = Path("trained-model")
    cache_dir: Path = field(default_factory=default_cache_dir)
    run_name: str | None = None
    resume: bool = False
    backbone: Path | None = None  # Xception base weights to start from (training/backbone.py)
    init: Path | None = None  # a model's spec whose weights the run fine-tunes (`check_init`)
    config: TrainConfig = field(default_factory=TrainConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    augment: AugmentConfig = DEFAULT_AUGMENT
    sbi: SbiConfig = DEFAULT_SBI

    def __post_init__(self) -> None:
        if self.backbone is not None and self.init is not None:
            raise UsageError(
                "start from a `backbone` or fine-tune a model (`init`), not both",
                option=("backbone", "init"),
            )

    @property
    def run_dir(self) -> Path:
        name = self.run_name or Path(self.output_dir).resolve().name
        return Path(self.cache_dir) / "runs" / name


# --- data ------------------------------------------------------------------------------------


@dataclass
class CropSet:
    """Crops held in memory at the model's input size, with their manifest records."""

    images: np.ndarray  # (N, S, S, 3) uint8
    records: list[CropRecord]
    landmarks: list[np.ndarray | None]

    def __len__(self) -> int:
        return len(self.records)

    def sampling_weights(
        self, key: Callable[[CropRecord], tuple[str, ...]], balance: float
    ) -> np.ndarray:
        """Sampling probabilities: each medium (video frames, photos) gets an equal share, so
        "video" never stands for one label. Within a medium `key` gives a path of levels
        (e.g. (dataset,), or (family, generator)): at every level but the last each value
        splits its parent's share equally; at the last each value (a group of crops) gets
        weight n**balance (0: equal per value), shared by its crops."""
        if not self.records:
            return np.zeros(0)
        paths = [(r.kind, *key(r)) for r in self.records]
        counts: dict[tuple[str, ...], int] = {}
        for path in paths:
            counts[path] = counts.get(path, 0) + 1
        children: dict[tuple[str, ...], set[str]] = {}
        leaf_totals: dict[tuple[str, ...], float] = {}
        for path, n in counts.items():
            for depth in range(1, len(path) - 1):
                children.setdefault(path[:depth], set()).add(path[depth])
            leaf_totals[path[:-1]] = leaf_totals.get(path[:-1], 0.0) + n**balance
        w = np.ones(len(paths), dtype=np.float64)
        for i, path in enumerate(paths):
            for depth in range(1, len(path) - 1):
                w[i] /= len(children[path[:depth]])
            w[i] *= counts[path] ** balance / counts[path] / leaf_totals[path[:-1]]
        weights: np.ndarray = w / w.sum()
        return weights


def load_crop_set(cache: CropCache, records: Sequence[CropRecord], size: int) -> CropSet:
    images = np.zeros((len(records), size, size, 3), dtype=np.uint8)
    landmarks: list[np.ndarray | None] = []
    for i, record in enumerate(records):
        crop = load_crop(cache, record, None)
        scale = size / crop.shape[0]
        if crop.shape[0] != size:
            from deepfake_analyzer.faces.crop import resize_square

            crop = resize_square(crop, size)
        images[i] = crop
        points = cache.landmarks_of(record)
        landmarks.append(None if points is None else points[:, :2] * scale)
    return CropSet(images, list(records), landmarks)


def fake_strata(name: str) -> Callable[[CropRecord], tuple[str, ...]]:
    """What labeled fakes are drawn evenly over, within a medium (`TrainConfig.fake_strata`):
    each generator, or each family and within it each generator (so a family's share does not
    shrink as other families gain generators)."""
    if name == "family":
        return lambda r: (family_of(r.method), canonical_generator(r.method))
    return lambda r: (canonical_generator(r.method),)


def same_person_reals(reals: CropSet, fakes: CropSet) -> dict[int, np.ndarray]:
    """For each labeled fake crop whose person (its `group`) has real crops in the training
    part, the indices of those real crops: of the fake's own medium where there are any, else
    of either. A lip-synced clip and its template video, a swap's result and its source photo,
    an edit and its input: real and fake of the same person side by side."""
    by_person: dict[tuple[str, str], list[int]] = {}
    for i, record in enumerate(reals.records):
        by_person.setdefault((record.group, record.kind), []).append(i)
    partners: dict[int, np.ndarray] = {}
    for j, record in enumerate(fakes.records):
        same = by_person.get((record.group, record.kind)) or [
            i for kind in ("video", "image") for i in by_person.get((record.group, kind), [])
        ]
        if same:
            partners[j] = np.asarray(same)
    return partners


class BatchMaker:
    """Training batches as a pure function of (seed, step): resuming replays the same data.

    Half of each batch is real crops; the other half fakes, `labeled_fake_share` of them
    labeled fakes (when any) and the rest self-blended from the batch's own real crops.
    `paired_share` of the labeled fakes come with a real crop of the same person, which takes
    one of the batch's real places (`same_person_reals`).
    """

    def __init__(
        self,
        reals: CropSet,
        fakes: CropSet,
        config: TrainConfig,
        augment: AugmentConfig,
        sbi: SbiConfig,
    ) -> None:
        self.reals, self.fakes, self.config = reals, fakes, config
        self.augment, self.sbi = augment, sbi
        self.blendable = np.array([lm is not None for lm in reals.landmarks], dtype=bool)
        if not self.blendable.any() and len(fakes) == 0:
            raise UsageError(
                "no fakes to train on: no labeled fakes and no real face with landmarks to "
                "self-blend; add real face images or labeled fakes"
            )
        self.real_p = reals.sampling_weights(lambda r: (r.dataset,), config.real_balance)
        self.fake_p = fakes.sampling_weights(fake_strata(config.fake_strata), 0.0)
        self.partners = same_person_reals(reals, fakes) if config.paired_share > 0 else {}
        self.pairable = np.asarray(sorted(self.partners), dtype=np.int64)
        pair_p = self.fake_p[self.pairable] if len(self.pairable) else np.zeros(0)
        self.pair_p = pair_p / pair_p.sum() if len(pair_p) else pair_p

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step])
        n_real = cfg.batch_size // 2
        n_fake = cfg.batch_size - n_real
        real_idx = rng.choice(len(self.reals), size=n_real, p=self.real_p)
        share = cfg.labeled_fake_share if len(self.fakes) else 0.0
        if not self.blendable.any():
            share = 1.0
        n_labeled = int(rng.binomial(n_fake, share))
        fake_idx = self._labeled_fakes(rng, n_labeled, real_idx)
        images = [self.reals.images[i] for i in real_idx]
        labels = [REAL] * n_real
        for i in fake_idx:
            images.append(self.fakes.images[i])
            labels.append(FAKE)
        sources = [i for i in real_idx if self.blendable[i]]
        if not sources:
            sources = list(np.flatnonzero(self.blendable))
        for k in range(n_fake - n_labeled):
            i = sources[k % len(sources)] if k < len(sources) else rng.choice(sources)
            blended = self_blend(self.reals.images[i], self.reals.landmarks[i], rng, self.sbi)
            images.append(blended.image)
            labels.append(FAKE)
        framed = [
            random_framing(img, cfg.context, cfg.frame_scale, cfg.frame_shift, cfg.input_size, rng)
            for img in images
        ]
        x = augment_batch(np.stack(framed), rng, self.augment)
        y = np.asarray(labels, dtype=np.float32)
        order = rng.permutation(len(y))
        return x[order], y[order]

    def _labeled_fakes(self, rng: np.random.Generator, n: int, real_idx: np.ndarray) -> np.ndarray:
        """`n` labeled fakes; `paired_share` of them drawn among those with a same-person real
        crop, each putting one such crop in a place of `real_idx` (changed in place). With no
        pairing it draws exactly what the runs before pairing drew."""
        none = np.zeros(0, np.int64)
        n_paired = 0
        if n and len(self.pairable):
            n_paired = min(int(rng.binomial(n, self.config.paired_share)), len(real_idx))
        paired = rng.choice(self.pairable, size=n_paired, p=self.pair_p) if n_paired else none
        for place, j in enumerate(paired):
            real_idx[place] = rng.choice(self.partners[int(j)])
        rest = (
            rng.choice(len(self.fakes), size=n - n_paired, p=self.fake_p) if n > n_paired else none
        )
        return np.concatenate([paired, rest]).astype(np.int64)


def frame_crop(
    wide: np.ndarray, context: float, scale: float, dx: float, dy: float, size: int
) -> np.ndarray:
    """The `size`-px crop of a wide crop (cut `context` times wider than the analyzer's crop,
    same centre) whose side is `scale` times the analyzer's and whose centre is moved by
    (dx, dy) analyzer-crop sides: the crop a detector box scaled and shifted that way gives."""
    from deepfake_analyzer.faces.crop import resize_square

    full = wide.shape[0]
    base = full / context
    side = max(2, int(round(base * scale)))
    x0 = int(round(full / 2.0 + dx * base - side / 2.0))
    y0 = int(round(full / 2.0 + dy * base - side / 2.0))
    x0, y0 = min(max(x0, 0), full - side), min(max(y0, 0), full - side)
    return resize_square(np.ascontiguousarray(wide[y0 : y0 + side, x0 : x0 + side]), size)


def center_crops(wide: np.ndarray, config: TrainConfig) -> np.ndarray:
    """Wide crops cut to the analyzer's framing (scale 1, no shift) at the input size."""
    if len(wide) == 0:
        return np.zeros((0, config.input_size, config.input_size, 3), np.uint8)
    return np.stack([frame_crop(w, config.context, 1.0, 0.0, 0.0, config.input_size) for w in wide])


def random_framing(
    wide: np.ndarray,
    context: float,
    scale_range: tuple[float, float],
    shift: float,
    size: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """A framing of a wide crop (see `frame_crop`) scaled uniformly within `scale_range` and
    shifted by up to `shift` each way, so a face's score learns not to depend on which
    detector drew its box."""
    scale = float(rng.uniform(*scale_range))
    dx, dy = rng.uniform(-shift, shift, size=2)
    return frame_crop(wide, context, scale, float(dx), float(dy), size)


def make_sbi_fakes(reals: CropSet, seed: int, sbi: SbiConfig) -> np.ndarray:
    """One self-blended fake of each held-out real crop that has landmarks (no augmentation)."""
    rng = np.random.default_rng([seed, 7_777_777])
    fakes = [
        self_blend(img, lm, rng, sbi).image
        for img, lm in zip(reals.images, reals.landmarks, strict=True)
        if lm is not None
    ]
    size = reals.images.shape[1]
    return np.stack(fakes) if fakes else np.zeros((0, size, size, 3), np.uint8)


@dataclass
class ValidationData:
    """Validation crops scored once per evaluation; each named set is (real idx, fake idx)."""

    images: np.ndarray
    sets: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    @classmethod
    def build(cls, parts: dict[str, np.ndarray]) -> tuple[ValidationData, dict[str, np.ndarray]]:
        """Concatenate named image arrays; returns the data and each part's indices."""
        index: dict[str, np.ndarray] = {}
        start = 0
        arrays = []
        for name, images in parts.items():
            index[name] = np.arange(start, start + len(images))
            start += len(images)
            arrays.append(images)
        return cls(np.concatenate(arrays) if arrays else np.zeros((0, 1, 1, 3), np.uint8)), index

    def add(self, name: str, real_idx: np.ndarray, fake_idx: np.ndarray) -> None:
        if len(real_idx) and len(fake_idx):
            self.sets[name] = (real_idx, fake_idx)


# --- model and export ------------------------------------------------------------------------


def hardware_summary() -> dict[str, Any]:
    import tensorflow as tf

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {"cpu": cpu, "cpu_count": os.cpu_count(), "gpus": gpus, "tensorflow": tf.__version__}


def export_model(
    model: Any,
    output_dir: Path,
    config: TrainConfig,
    extract: ExtractConfig,
    training: dict[str, Any],
    metrics: dict[str, Any] | None = None,
) -> Path:
    """Write `<output_dir>/deepfake_xception.f16.npz` and its `.spec.json`; return the spec path."""
    from deepfake_analyzer.models.f16_weights import F16_NPZ_FORMAT, save_weights_f16

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    weights = save_weights_f16(model, output_dir / (MODEL_NAME + WEIGHTS_SUFFIX))
    spec = ModelSpec(
        name=MODEL_NAME,
        input_size=config.input_size,
        scaling=config.scaling,  # type: ignore[arg-type]
        channel_order="RGB",
        crop_margin=extract.margin,
        architecture=ARCHITECTURE,
        weights_format=F16_NPZ_FORMAT,
        training=training,
        metrics=metrics or {},
    ).with_weights(weights)
    spec_path = spec_path_for(weights)
    spec.save(spec_path)
    return spec_path


# --- the loop ------------------------------------------------------------------------------------


@dataclass
class PreparedData:
    train_reals: CropSet
    train_fakes: CropSet
    val: ValidationData
    counts: dict[str, int]
    heldout_sources: list[str]
    used_items: tuple[LabeledItem, ...] = ()  # every file the run trains or validates on


def prepare_data(request: TrainRequest, hook: Hook) -> PreparedData:
    """Discover, drop the protocol's held-out part, split the rest by group for monitoring,
    extract wide crops and load them (`TrainConfig.wide_size`)."""
    cfg = request.config
    labeled = [i for root in request.labeled for i in discover_labeled(root)]
    reals = [i for root in request.real for i in discover_real(root)]
    if not labeled and not reals:
        raise UsageError(
            "no media found: pass labeled folders and/or `real` folders", option="real"
        )
    # held-out generators and people (training.protocol) are never trained on
    split = split_protocol(labeled + reals)
    train_items, val_items = split_by_group(split.train, cfg.val_fraction, cfg.seed)
    extract = replace(request.extract, context=cfg.context)
    cache = extract_crops(train_items + val_items, request.cache_dir / "crops", extract, hook)
    by_source: dict[str, list[CropRecord]] = {}
    for record in cache.records:
        by_source.setdefault(source_key(record.source), []).append(record)

    def records(items: list[LabeledItem], label: int | None = None) -> list[CropRecord]:
        out = [r for i in items for r in by_source.get(source_key(i.path), [])]
        return [r for r in out if label is None or r.label == label]

    size = cfg.wide_size
    train_reals = load_crop_set(cache, records(train_items, REAL), size)
    train_fakes = load_crop_set(cache, records(train_items, FAKE), size)
    rng = np.random.default_rng([cfg.seed, 99])
    val_real_records = records(val_items, REAL)
    if len(val_real_records) > cfg.max_val_crops:
        keep = sorted(rng.choice(len(val_real_records), cfg.max_val_crops, replace=False))
        val_real_records = [val_real_records[i] for i in keep]
    val_reals = load_crop_set(cache, val_real_records, size)
    val_fake_records = records(val_items, FAKE)
    parts = {
        "val_real": center_crops(val_reals.images, cfg),
        "sbi": center_crops(make_sbi_fakes(val_reals, cfg.seed, request.sbi), cfg),
    }
    families = sorted({family_of(r.method) for r in val_fake_records})
    for family in families:
        chosen = [r for r in val_fake_records if family_of(r.method) == family]
        parts["fake:" + family] = center_crops(load_crop_set(cache, chosen, size).images, cfg)
    val, index = ValidationData.build(parts)
    val.add("sbi", index["val_real"], index["sbi"])
    for family in families:
        val.add(f"val/{family}", index["val_real"], index["fake:" + family])
    counts = {
        "train_real_crops": len(train_reals),
        "train_real_video_crops": sum(r.kind == "video" for r in train_reals.records),
        "train_real_blendable": int(sum(lm is not None for lm in train_reals.landmarks)),
        "train_labeled_fake_crops": len(train_fakes),
        "train_fake_generators": len({canonical_generator(r.method) for r in train_fakes.records}),
        "train_fake_crops_paired": len(same_person_reals(train_reals, train_fakes)),
        "val_real_crops": len(val_reals),
        "val_fake_crops": len(val_fake_records),
        "train_files": len(train_items),
        "val_files": len(val_items),
        "protocol_heldout_files": len(split.heldout),
        "protocol_excluded_files": len(split.excluded),
    }
    heldout_sources = sorted(str(i.path) for i in split.heldout)
    return PreparedData(
        train_reals, train_fakes, val, counts, heldout_sources, tuple(train_items + val_items)
    )


def _copy_training_list(request: TrainRequest) -> None:
    """Put the run's training-data list beside the exported weights."""
    source = request.run_dir / TRAINING_LIST
    if source.is_file():
        atomic_write_text(Path(request.output_dir) / TRAINING_LIST, source.read_text())


def _write_heldout(request: TrainRequest, data: PreparedData) -> None:
    text = json.dumps({"heldout_files": data.heldout_sources}, indent=1) + "\n"
    request.run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(request.run_dir / "heldout.json", text)
    atomic_write_text(Path(request.cache_dir) / "heldout.json", text)


def _prefetch(maker: BatchMaker, start: int, stop: int, depth: int = 3) -> queue.Queue[Any]:
    """Batches for steps start..stop-1, made ahead in a daemon thread."""
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)

    def work() -> None:
        for step in range(start, stop):
            try:
                out.put((step, *maker.batch(step)))
            except Exception as exc:  # surfaced in the training thread
                out.put((step, exc, None))
                return

    threading.Thread(target=work, daemon=True, name="batch-maker").start()
    return out


def predict(
    model_forward: Callable[[Any], Any], spec: ModelSpec, x: np.ndarray, batch: int = 32
) -> np.ndarray:
    scores = [
        np.asarray(model_forward(spec.preprocess(x[i : i + batch])), dtype=np.float32).reshape(-1)
        for i in range(0, len(x), batch)
    ]
    return np.concatenate(scores) if scores else np.zeros(0, dtype=np.float32)


class NonFiniteScores(Exception):
    """The model scored some validation crops NaN or infinite (its weights diverged)."""


def evaluate_sets(
    forward: Callable[[Any], Any], spec: ModelSpec, val: ValidationData
) -> dict[str, float]:
    """AUC of every validation set, scoring each crop once (`NonFiniteScores` when the model
    gives a score that is not finite)."""
    if not val.sets:
        return {}
    scores = predict(forward, spec, val.images)
    if not np.isfinite(scores).all():
        raise NonFiniteScores(int((~np.isfinite(scores)).sum()))
    out = {}
    for name, (real_idx, fake_idx) in val.sets.items():
        y = np.concatenate([np.zeros(len(real_idx)), np.ones(len(fake_idx))])
        out[name] = round(roc_auc(y, scores[np.concatenate([real_idx, fake_idx])]), 4)
    return out


class StopRequest:
    """A flag the trainer checks after every step; `stop()` is safe to call from a signal handler.

    Raising from a signal handler is unreliable while TensorFlow runs (the exception can land
    inside library code), so the CLI's SIGINT/SIGTERM handler only sets this flag, and the
    loop then saves a checkpoint and raises `KeyboardInterrupt` itself. A file named `STOP` in
    the run folder has the same effect (for runs started without a terminal).
    """

    def __init__(self) -> None:
        self.requested = False

    def stop(self, *_: object) -> None:
        self.requested = True


@dataclass
class _Model:
    """The network, its optimizer and compiled step functions, built for one run."""

    model: Any
    optimizer: Any
    train_step: Callable[[np.ndarray, np.ndarray], float]  # (raw crops, labels) -> loss
    forward: Callable[[Any], Any]
    spec: ModelSpec
    precision: str


def check_init(spec_path: Path, config: TrainConfig, extract: ExtractConfig) -> ModelSpec:
    """The spec of the model a run fine-tunes (`init`), refused unless it is an Xception fed
    the way this run feeds its crops (input size, scaling, crop margin), before any work."""
    spec = ModelSpec.load(spec_path)
    wanted = (
        ("architecture", spec.architecture, ARCHITECTURE, ""),
        ("input size", spec.input_size, config.input_size, "input_size"),
        ("scaling", spec.scaling, config.scaling, ""),
        ("crop margin", spec.crop_margin, extract.margin, ""),
    )
    for what, theirs, ours, option in wanted:
        if theirs != ours:
            hint = f": pass `{option}` {theirs}" if option else ""
            raise UsageError(
                f"the model's {what} is {theirs}, this run's {ours}{hint}",
                spec_path,
                option=option or (),
            )
    return spec


def _load_init(model: Any, spec_path: Path) -> None:
    """Copy the weights of the model `spec_path` describes into `model` (same network)."""
    from deepfake_analyzer.models.loader import load_keras_from_spec

    source = load_keras_from_spec(spec_path).model
    try:
        model.set_weights(source.get_weights())
    except ValueError as exc:
        raise UsageError(f"its weights do not fit this run's network: {exc}", spec_path) from None


def _build_model(
    cfg: TrainConfig, backbone: Path | None = None, init: Path | None = None
) -> _Model:
    import keras
    import tensorflow as tf

    from deepfake_analyzer.models.xception import build_xception

    precision = choose_precision(cfg.precision, cfg.input_size)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(cfg.seed)
    model = build_xception(
        cfg.input_size, dropout=cfg.dropout, bn_momentum=cfg.bn_momentum, backbone=backbone
    )
    if init is not None:
        _load_init(model, init)
    optimizer = keras.optimizers.Adam(
        learning_rate=cfg.learning_rate, global_clipnorm=cfg.clip_norm
    )
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy(label_smoothing=cfg.label_smoothing)

    def step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            loss = loss_fn(tf.reshape(y, (-1, 1)), p)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    compiled_step = tf.function(step, jit_compile=False)
    forward = tf.function(lambda x: model(x, training=False), jit_compile=False)
    spec = ModelSpec(name=MODEL_NAME, input_size=cfg.input_size, scaling=cfg.scaling)  # type: ignore[arg-type]

    def train_step(x: np.ndarray, y: np.ndarray) -> float:
        return float(compiled_step(tf.constant(spec.preprocess(x)), tf.constant(y)))

    return _Model(model, optimizer, train_step, forward, spec, precision)


def _start_state(request: TrainRequest, net: _Model, hook: Hook) -> TrainState:
    """A fresh state, or the checkpoint's with `--resume`; refuses to start over a checkpoint."""
    run_dir = request.run_dir
    state = TrainState()
    if request.resume:
        state = load_checkpoint(run_dir, net.model, net.optimizer)
        hook(Message(str(run_dir), f"resumed at step {state.step}"))
    elif has_checkpoint(run_dir):
        raise UsageError(
            f"a checkpoint already exists in {run_dir}: pass `resume` to continue it, "
            "or a `run_name` to start another run",
            option=("resume", "run_name"),
        )
    cfg = request.config
    if cfg.epochs is not None:
        state.total_steps = cfg.epochs * cfg.steps_per_epoch
    state.precision = net.precision
    return state


class _RateMeter:
    """Images per second over the last `window` steps."""

    def __init__(self, batch_size: int, window: int = 30) -> None:
        self.batch_size, self.window = batch_size, window
        self._marks: list[tuple[float, int]] = []

    def add(self, now: float, step: int) -> float:
        self._marks = [*self._marks, (now, step)][-self.window :]
        if len(self._marks) < 2:
            return 0.0
        (t0, s0), (t1, s1) = self._marks[0], self._marks[-1]
        return (s1 - s0) * self.batch_size / max(t1 - t0, 1e-6)


class _Loop:
    """One run of the training loop: steps, progress events, validation and checkpoints.

    The run ends after `epochs * steps_per_epoch` steps, or when `--minutes` of training
    time (counted across resumes) are spent; the learning rate follows the matching schedule.
    """

    def __init__(
        self,
        request: TrainRequest,
        hook: Hook,
        net: _Model,
        val: ValidationData,
        state: TrainState,
    ) -> None:
        cfg = request.config
        self.request, self.cfg, self.hook, self.net, self.val = request, cfg, hook, net, val
        self.state = state
        self.run_dir = request.run_dir
        self.step = state.step
        self.budget_s = None if cfg.epochs is not None or cfg.minutes is None else cfg.minutes * 60
        self._elapsed_before = state.elapsed_s
        self._started = time.monotonic()
        self._last_checkpoint = self._started
        self._rate = _RateMeter(cfg.batch_size)
        self._losses: list[float] = []
        self._guard = DivergenceGuard(net.model, net.optimizer)

    def elapsed(self) -> float:
        """Training seconds, this session's and those before a resume."""
        return self._elapsed_before + time.monotonic() - self._started

    def done(self) -> bool:
        if self.budget_s is not None:
            return self.elapsed() >= self.budget_s
        return self.step >= self.state.total_steps

    def checkpoint(self) -> None:
        self.state.step, self.state.elapsed_s = self.step, self.elapsed()
        path = save_checkpoint(self.run_dir, self.net.model, self.net.optimizer, self.state)
        self.hook(CheckpointSaved(self.step, str(path)))
        self._last_checkpoint = time.monotonic()

    def validate(self, train_loss: bool = True) -> None:
        """Score the validation sets, add a history row and report it. Scores that are not
        finite mean the weights diverged: the last good state is restored (as for a
        non-finite loss) and scored instead."""
        while True:
            try:
                metrics = evaluate_sets(self.net.forward, self.net.spec, self.val)
                break
            except NonFiniteScores:  # restore raises a clear error when it cannot help
                self._guard.restore(self.step, "validation scores that are not finite")
                self.state.skipped_steps += 1
                restored = f"restored step {self._guard.step}"
                self.hook(Message(str(self.run_dir),
                                  f"step {self.step}: validation scores not finite; {restored}",
                                  level="warning"))  # fmt: skip
        if train_loss:
            recent = self._losses[-self.cfg.steps_per_epoch :]
            metrics["train_loss"] = round(float(np.mean(recent)), 4)
        row = {"step": self.step, "elapsed_s": round(self.elapsed(), 1), **metrics}
        self.state.history.append(row)
        self.hook(Evaluated(self.step, self.step // self.cfg.steps_per_epoch, metrics))

    def run(self, maker: BatchMaker, stop: StopRequest) -> None:
        """Train until done; on a stop request (or KeyboardInterrupt) checkpoint and re-raise."""
        batches = _prefetch(maker, self.step, 10**9)
        try:
            while not self.done():
                self._train_one(batches)
                if stop.requested or (self.run_dir / "STOP").exists():
                    (self.run_dir / "STOP").unlink(missing_ok=True)
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            self.checkpoint()
            raise
        if not self.state.history or self.state.history[-1]["step"] != self.step:
            self.validate(train_loss=False)
        if self.state.step != self.step:
            self.checkpoint()

    def _learning_rate(self) -> float:
        if self.budget_s is not None:
            return learning_rate_at_time(self.elapsed(), self.budget_s, self.cfg)
        return learning_rate_at(self.step, self.state.total_steps, self.cfg)

    def _train_one(self, batches: queue.Queue[Any]) -> None:
        got_step, x, y = batches.get()
        if isinstance(x, Exception):
            raise x
        assert got_step == self.step
        self.net.optimizer.learning_rate.assign(self._learning_rate())
        loss = self.net.train_step(x, y)
        self.step += 1
        if not self._guard.after_step(self.step, loss):
            self.state.skipped_steps += 1
            self.hook(Message(str(self.run_dir),
                              f"step {self.step}: loss {loss}; restored step {self._guard.step}",
                              level="warning"))  # fmt: skip
            return
        self._losses.append(loss)
        self.hook(self._progress(self._rate.add(time.monotonic(), self.step)))
        if self.step % self.cfg.steps_per_epoch == 0 or self.done():
            self.validate()
            self.checkpoint()
        elif time.monotonic() - self._last_checkpoint >= self.cfg.checkpoint_minutes * 60.0:
            self.checkpoint()

    def _progress(self, rate: float) -> TrainProgress:
        cfg, step = self.cfg, self.step
        if self.budget_s is not None:  # under --minutes the step count is only an estimate
            left_s = max(0.0, self.budget_s - self.elapsed())
            total = step + int(left_s * rate / cfg.batch_size) if rate else 0
            eta = left_s
        else:
            total = self.state.total_steps
            eta = (total - step) * cfg.batch_size / rate if rate else 0.0
        return TrainProgress(
            step, total, step // cfg.steps_per_epoch, float(np.mean(self._losses[-50:])),
            float(self.net.optimizer.learning_rate.numpy()), rate, self.elapsed(), max(0.0, eta),
        )  # fmt: skip


def train(request: TrainRequest, hook: Hook, stop: StopRequest | None = None) -> Path:
    """Run training per `request`; returns the exported spec path.

    When `stop` is set (or `<run_dir>/STOP` appears) the loop checkpoints and raises
    `KeyboardInterrupt`; `--resume` continues from there.
    """
    cfg = request.config
    started_wall = time.monotonic()
    check_resume(request)
    data = prepare_data(request, hook)
    _write_heldout(request, data)
    write_training_list(data.used_items, request.run_dir / TRAINING_LIST)
    if len(data.train_reals) == 0:
        raise UsageError("no real face crops to train on: check the folders and face detection")
    if request.resume:  # the weights come from the checkpoint
        net = _build_model(cfg)
    else:
        net = _build_model(cfg, backbone=request.backbone, init=request.init)
    state = _start_state(request, net, hook)
    state.counts = data.counts
    atomic_write_text(
        request.run_dir / "config.json", json.dumps(_config_dict(request), indent=1) + "\n"
    )
    maker = BatchMaker(data.train_reals, data.train_fakes, cfg, request.augment, request.sbi)
    hook(
        TrainStarted(
            str(request.run_dir), state.step, state.total_steps, data.counts, net.precision,
            cfg.input_size, cfg.batch_size,
        )
    )  # fmt: skip
    loop = _Loop(request, hook, net, data.val, state)
    loop.run(maker, stop or StopRequest())
    final = state.final_metrics()
    spec_path = _export(request, net.model, state, final)
    hook(TrainFinished(loop.step, str(spec_path), time.monotonic() - started_wall, final))
    return spec_path


def _export(request: TrainRequest, model: Any, state: TrainState, final: dict[str, float]) -> Path:
    training = training_summary(request, state)
    spec_path = export_model(
        model, request.output_dir, request.config, request.extract, training, final
    )
    _copy_training_list(request)
    return spec_path


def _config_dict(request: TrainRequest) -> dict[str, Any]:
    return {
        "labeled": [str(p) for p in request.labeled],
        "real": [str(p) for p in request.real],
        "train": asdict(request.config),
        "extract": asdict(request.extract),
        "augment": asdict(request.augment),
        "sbi": asdict(request.sbi),
        "backbone": _backbone_summary(request),
        "init": _init_summary(request),
    }


RESUME_MAY_CHANGE = frozenset({"minutes", "epochs", "checkpoint_minutes"})
"""Settings of `config.json`'s `train` section a resumed run may change: its budget."""


def check_resume(request: TrainRequest) -> None:
    """A resumed run goes on with the recipe it started with: refuses, in one line naming
    them, data folders or settings (training, extraction, augmentation, self-blending) that
    differ from what its config.json recorded, except the budget (`RESUME_MAY_CHANGE`).
    A run without a readable config.json is not checked."""
    recorded = _recorded_config(request)
    if recorded is None:
        return
    now = json.loads(json.dumps(_config_dict(request)))  # tuples as lists, as recorded
    changed: list[str] = []
    for key in ("labeled", "real"):
        before = [str(Path(p).resolve()) for p in recorded.get(key) or []]
        after = [str(Path(p).resolve()) for p in now[key]]
        if key in recorded and before != after:
            changed.append(f"{key} folders {recorded[key]}, now {now[key]}")
    for section in ("train", "extract", "augment", "sbi"):
        started = recorded.get(section)
        if not isinstance(started, dict):
            continue
        for key, value in now[section].items():
            if section == "train" and key in RESUME_MAY_CHANGE:
                continue
            if key in started and started[key] != value:
                changed.append(f"{key} {started[key]}, now {value}")
    if changed:
        raise UsageError(
            f"{request.run_dir} was started with other settings ({'; '.join(changed)}): resume "
            "it with those, or start another run under a new `run_name`",
            option="run_name",
        )


def _recorded_config(request: TrainRequest) -> dict[str, Any] | None:
    """A resumed run's config.json as it was written when the run started; None for a new
    run, or one without a readable config.json."""
    path = request.run_dir / "config.json"
    if not request.resume or not path.is_file():
        return None
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def _recorded_start(request: TrainRequest, key: str) -> dict[str, str] | None:
    """What a resumed run's config.json recorded under `key` when it started (else None)."""
    previous: dict[str, str] | None = (_recorded_config(request) or {}).get(key)
    return previous


def _backbone_summary(request: TrainRequest) -> dict[str, str] | None:
    """What the run started from: the backbone file given now, else (a resumed run) the one
    its config.json recorded when it started, else None (random initialisation)."""
    if request.backbone is None:
        return _recorded_start(request, "backbone")
    from deepfake_analyzer.models.spec import sha256_of

    return {"file": Path(request.backbone).name, "sha256": sha256_of(Path(request.backbone))}


def _init_summary(request: TrainRequest) -> dict[str, str] | None:
    """The model the run fine-tunes: its spec (path, name, weights sha256), kept on resume
    as `_backbone_summary` keeps the backbone."""
    if request.init is None:
        return _recorded_start(request, "init")
    spec = ModelSpec.load(request.init)
    return {"spec": str(request.init), "name": spec.name, "weights_sha256": spec.weights_sha256}


def training_summary(request: TrainRequest, state: TrainState) -> dict[str, Any]:
    """The `training` block of the exported spec: recipe, data, counts, steps and history."""
    cfg = request.config
    backbone, init = _backbone_summary(request), _init_summary(request)
    if init is not None:
        start = f"fine-tuned from {init['name']} (weights {init['weights_sha256'][:12]})"
    else:
        start = "from " + ("scratch" if backbone is None else "ImageNet weights (backbone)")
    lower = request.sbi.lower_face_share
    blends = f"SBI, {lower:.0%} over the lower face only" if lower > 0 else "SBI"
    labeled = "labeled fakes"
    if cfg.paired_share > 0:
        labeled += f" ({cfg.paired_share:.0%} beside a real of the same person)"
    return {
        "recipe": f"Xception {start}; self-blended fakes ({blends}) + {labeled}; augmentation",
        "backbone": backbone,
        "init": init,
        "sbi": asdict(request.sbi),
        "data": [Path(p).name for p in (*request.labeled, *request.real)],
        "counts": state.counts,
        "steps": state.step,
        "images_seen": state.step * cfg.batch_size,
        "minutes": round(state.elapsed_s / 60.0, 1),
        "precision": state.precision,
        "config": asdict(cfg),
        "hardware": hardware_summary(),
        "history": state.history[-20:],
    }


def export_checkpoint(request: TrainRequest, hook: Hook) -> Path:
    """Export the run's latest checkpoint (as `train` would at the end) without training.

    Useful to ship or evaluate a long run while it still trains: the checkpoint files are
    replaced atomically, so reading them mid-run is safe.
    """
    run_dir = request.run_dir
    if not has_checkpoint(run_dir):
        raise UsageError(f"no checkpoint to export in {run_dir}")
    state = read_state(run_dir)
    if not state.counts:
        state.counts = prepare_data(request, hook).counts
    import keras

    from deepfake_analyzer.models.xception import build_xception

    keras.mixed_precision.set_global_policy("float32")
    cfg = request.config
    model = build_xception(cfg.input_size, dropout=cfg.dropout, bn_momentum=cfg.bn_momentum)
    model.load_weights(run_dir / WEIGHTS_FILE)
    final = state.final_metrics()
    spec_path = _export(request, model, state, final)
    hook(TrainFinished(state.step, str(spec_path), 0.0, final))
    return spec_path
