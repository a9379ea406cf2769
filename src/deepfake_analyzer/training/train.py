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
import math
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
from deepfake_analyzer.events import Message
from deepfake_analyzer.models.spec import ModelSpec, spec_path_for
from deepfake_analyzer.training.augment import DEFAULT_AUGMENT, AugmentConfig, augment_batch
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
from deepfake_analyzer.training.progress import (
    CheckpointSaved,
    Evaluated,
    TrainFinished,
    TrainProgress,
    TrainStarted,
)
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

Hook = Callable[[Any], None]
MODEL_NAME = "deepfake_xception"
WEIGHTS_SUFFIX = ".f16.npz"
TRAINING_LIST = MODEL_NAME + ".training-data.csv"
PRECISIONS = ("auto", "float32", "mixed_bfloat16")


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run. Either `epochs` or `minutes` bounds it (`epochs` wins)."""

    input_size: int = 160
    batch_size: int = 32
    epochs: int | None = None
    minutes: float | None = 60.0
    steps_per_epoch: int = 150
    learning_rate: float = 1e-3
    warmup_fraction: float = 0.03
    final_lr_fraction: float = 0.02
    label_smoothing: float = 0.02
    clip_norm: float = 1.0  # global gradient norm clip
    dropout: float = 0.3
    bn_momentum: float = 0.9
    labeled_fake_share: float = 0.35
    real_balance: float = 0.5  # within a medium, real datasets get weight n**balance
    val_fraction: float = 0.1
    frame_scale: tuple[float, float] = (0.9, 1.5)  # crop side / the analyzer's crop side
    frame_shift: float = 0.1  # crop centre shift, fraction of the analyzer's crop side
    max_val_crops: int = 400
    seed: int = 0
    precision: str = "auto"
    checkpoint_minutes: float = 5.0
    scaling: str = "symmetric"

    def __post_init__(self) -> None:
        if not 71 <= self.input_size <= 1024:
            raise UsageError(
                f"input size must be 71..1024 pixels for Xception, got {self.input_size}"
            )
        if self.batch_size < 2:
            raise UsageError("batch size must be at least 2 (half real, half fake)")
        if self.epochs is None and self.minutes is None:
            raise UsageError("give --epochs or --minutes")
        if self.epochs is not None and self.epochs < 1:
            raise UsageError("epochs must be at least 1")
        if self.minutes is not None and self.minutes <= 0:
            raise UsageError("minutes must be positive")
        if self.steps_per_epoch < 1:
            raise UsageError("steps per epoch must be at least 1")
        if not 0.0 <= self.labeled_fake_share <= 1.0:
            raise UsageError("labeled fake share must be in [0, 1]")
        if not 0.0 <= self.val_fraction < 1.0:
            raise UsageError("validation fraction must be in [0, 1)")
        if not 0.5 <= self.frame_scale[0] <= 1.0 <= self.frame_scale[1] <= 2.0:
            raise UsageError("frame scale must be (low, high) with 0.5 <= low <= 1 <= high <= 2")
        if not 0.0 <= self.frame_shift <= 0.25:
            raise UsageError("frame shift must be in [0, 0.25]")
        if self.precision not in PRECISIONS:
            raise UsageError(f"precision must be one of {', '.join(PRECISIONS)}")
        if self.scaling not in ("unit", "symmetric"):
            raise UsageError("scaling must be unit or symmetric")

    @property
    def context(self) -> float:
        """How much wider than the analyzer's crop the cached training crops are: room for
        the largest framing jitter (scale and shift) without padding."""
        return round(self.frame_scale[1] + 2.0 * self.frame_shift, 3)

    @property
    def wide_size(self) -> int:
        """Pixels of the wide crops held in memory (the input size times the context)."""
        return int(round(self.input_size * self.context))


@dataclass(frozen=True)
class TrainRequest:
    """What `train` works on: labeled roots, folders of real faces, where to write."""

    labeled: tuple[Path, ...] = ()
    real: tuple[Path, ...] = ()
    output_dir: Path = Path("trained-model")
    cache_dir: Path = field(default_factory=default_cache_dir)
    run_name: str | None = None
    resume: bool = False
    config: TrainConfig = field(default_factory=TrainConfig)
    extract: ExtractConfig = field(default_factory=ExtractConfig)
    augment: AugmentConfig = DEFAULT_AUGMENT
    sbi: SbiConfig = DEFAULT_SBI

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

    def sampling_weights(self, key: Callable[[CropRecord], str], balance: float) -> np.ndarray:
        """Sampling probabilities: each medium (video frames, photos) gets an equal share, so
        "video" never stands for one label; within a medium each `key` value (dataset or
        generator) gets weight n**balance (0: equal per value), shared by its crops."""
        if not self.records:
            return np.zeros(0)
        strata = [(r.kind, key(r)) for r in self.records]
        counts: dict[tuple[str, str], int] = {}
        for s in strata:
            counts[s] = counts.get(s, 0) + 1
        kind_totals: dict[str, float] = {}
        for (kind, _), n in counts.items():
            kind_totals[kind] = kind_totals.get(kind, 0.0) + n**balance
        w = np.array(
            [counts[s] ** balance / counts[s] / kind_totals[s[0]] for s in strata],
            dtype=np.float64,
        )
        return w / w.sum()


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


class BatchMaker:
    """Training batches as a pure function of (seed, step): resuming replays the same data.

    Half of each batch is real crops; the other half fakes, `labeled_fake_share` of them
    labeled fakes (when any) and the rest self-blended from the batch's own real crops.
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
        self.real_p = reals.sampling_weights(lambda r: r.dataset, config.real_balance)
        self.fake_p = fakes.sampling_weights(lambda r: canonical_generator(r.method), 0.0)

    def batch(self, step: int) -> tuple[np.ndarray, np.ndarray]:
        cfg = self.config
        rng = np.random.default_rng([cfg.seed, step])
        n_real = cfg.batch_size // 2
        n_fake = cfg.batch_size - n_real
        real_idx = rng.choice(len(self.reals), size=n_real, p=self.real_p)
        images = [self.reals.images[i] for i in real_idx]
        labels = [REAL] * n_real
        share = cfg.labeled_fake_share if len(self.fakes) else 0.0
        if not self.blendable.any():
            share = 1.0
        n_labeled = int(rng.binomial(n_fake, share))
        for i in rng.choice(len(self.fakes), size=n_labeled, p=self.fake_p) if n_labeled else []:
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
        framed = [random_framing(img, cfg, rng) for img in images]
        x = augment_batch(np.stack(framed), rng, self.augment)
        y = np.asarray(labels, dtype=np.float32)
        order = rng.permutation(len(y))
        return x[order], y[order]


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


def random_framing(wide: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """A randomly scaled and shifted framing of a wide crop (see `frame_crop`), so a face's
    score learns not to depend on which detector drew its box."""
    scale = float(rng.uniform(*config.frame_scale))
    dx, dy = rng.uniform(-config.frame_shift, config.frame_shift, size=2)
    return frame_crop(wide, config.context, scale, float(dx), float(dy), config.input_size)


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


# --- model, schedule, checkpoints ----------------------------------------------------------------


def choose_precision(requested: str, input_size: int) -> str:
    """`auto`: mixed_bfloat16 on a CPU with AVX-512 BF16 at >= 128 px (~1.3x at 224), else fp32."""
    if requested != "auto":
        return requested
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return "float32"
    return "mixed_bfloat16" if "avx512_bf16" in flags and input_size >= 128 else "float32"


def learning_rate_at(step: int, total_steps: int, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to `final_lr_fraction` of the peak, by step."""
    total = max(1, total_steps)
    warmup = max(1, int(total * config.warmup_fraction))
    if step < warmup:
        return config.learning_rate * (step + 1) / warmup
    return _cosine((step - warmup) / max(1, total - warmup), config)


def learning_rate_at_time(elapsed_s: float, budget_s: float, config: TrainConfig) -> float:
    """The same schedule over wall-clock time (`--minutes`): it reaches its floor at the end
    of the budget whatever the machine's speed (not bit-reproducible: it depends on timing)."""
    fraction = min(1.0, max(0.0, elapsed_s / max(budget_s, 1e-9)))
    warmup = max(config.warmup_fraction, 1e-9)
    if fraction < warmup:
        return config.learning_rate * max(fraction / warmup, 0.01)
    return _cosine((fraction - warmup) / max(1e-9, 1.0 - warmup), config)


def _cosine(t: float, config: TrainConfig) -> float:
    t = min(1.0, max(0.0, t))
    floor = config.final_lr_fraction
    return config.learning_rate * (floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * t)))


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(run_dir: Path, model: Any, optimizer: Any, state: dict[str, Any]) -> Path:
    """Weights, optimizer variables and `state` (step, totals, history) written atomically."""
    run_dir.mkdir(parents=True, exist_ok=True)
    if not all(np.isfinite(w).all() for w in model.get_weights()):
        raise UsageError(f"refusing to checkpoint non-finite weights over {run_dir}")
    weights = run_dir / "checkpoint.weights.h5"
    tmp = run_dir / "checkpoint.tmp.weights.h5"
    model.save_weights(tmp)
    os.replace(tmp, weights)
    arrays = {f"v{i:04d}": np.asarray(v.numpy()) for i, v in enumerate(optimizer.variables)}
    with open(run_dir / "optimizer.tmp.npz", "wb") as handle:
        np.savez(handle, **arrays)
    os.replace(run_dir / "optimizer.tmp.npz", run_dir / "optimizer.npz")
    _atomic_write_text(run_dir / "state.json", json.dumps(state, indent=1) + "\n")
    return weights


def load_checkpoint(run_dir: Path, model: Any, optimizer: Any) -> dict[str, Any]:
    """Restore what `save_checkpoint` wrote; the optimizer must already be built."""
    state_path = run_dir / "state.json"
    if not state_path.is_file():
        raise UsageError(f"nothing to resume: no checkpoint in {run_dir}")
    model.load_weights(run_dir / "checkpoint.weights.h5")
    with np.load(run_dir / "optimizer.npz", allow_pickle=False) as data:
        variables = optimizer.variables
        if len(data.files) != len(variables):
            raise UsageError("checkpoint optimizer state does not match this model; start afresh")
        for i, variable in enumerate(variables):
            variable.assign(data[f"v{i:04d}"])
    return json.loads(state_path.read_text())


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
        architecture="xception",
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


def discover(request: TrainRequest) -> list[LabeledItem]:
    items: list[LabeledItem] = []
    for root in request.labeled:
        items.extend(discover_labeled(root))
    for root in request.real:
        items.extend(discover_real(root))
    if not items:
        raise UsageError("no media found in the given folders")
    return items


def prepare_data(request: TrainRequest, hook: Hook) -> PreparedData:
    """Discover, drop the protocol's held-out part, split the rest by group for monitoring,
    extract wide crops and load them (`TrainConfig.wide_size`)."""
    cfg = request.config
    labeled = [i for root in request.labeled for i in discover_labeled(root)]
    reals = [i for root in request.real for i in discover_real(root)]
    if not labeled and not reals:
        raise UsageError("no media found: pass labeled folders and/or --real folders")
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
        _atomic_write_text(Path(request.output_dir) / TRAINING_LIST, source.read_text())


def _write_heldout(request: TrainRequest, data: PreparedData) -> None:
    text = json.dumps({"heldout_files": data.heldout_sources}, indent=1) + "\n"
    request.run_dir.mkdir(parents=True, exist_ok=True)
    _atomic_write_text(request.run_dir / "heldout.json", text)
    _atomic_write_text(Path(request.cache_dir) / "heldout.json", text)


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


def evaluate_sets(
    forward: Callable[[Any], Any], spec: ModelSpec, val: ValidationData
) -> dict[str, float]:
    """AUC of every validation set, scoring each crop once."""
    if not val.sets:
        return {}
    scores = predict(forward, spec, val.images)
    out = {}
    for name, (real_idx, fake_idx) in val.sets.items():
        y = np.concatenate([np.zeros(len(real_idx)), np.ones(len(fake_idx))])
        out[name] = round(roc_auc(y, scores[np.concatenate([real_idx, fake_idx])]), 4)
    return out


class DivergenceGuard:
    """Keeps an in-memory copy of the last good weights and optimizer state (every `every`
    steps) and restores it when a step's loss is not finite, so one bad step (an overflow
    under mixed precision) costs at most `every` steps instead of the run. More than
    `max_restores` restores stop the run with a clear error (lower the learning rate)."""

    def __init__(self, model: Any, optimizer: Any, every: int = 50, max_restores: int = 5) -> None:
        self.model, self.optimizer = model, optimizer
        self.every, self.max_restores = every, max_restores
        self.restores = 0
        self.step = -1
        self._weights: list[np.ndarray] = []
        self._slots: list[np.ndarray] = []

    def _snapshot(self, step: int) -> None:
        self._weights = [np.array(w) for w in self.model.get_weights()]
        self._slots = [np.array(v.numpy()) for v in self.optimizer.variables]
        self.step = step

    def after_step(self, step: int, loss: float) -> bool:
        """False when the step diverged and the last good state was restored."""
        if math.isfinite(loss):
            if self.step < 0 or step - self.step >= self.every:
                self._snapshot(step)
            return True
        self.restores += 1
        if self.restores > self.max_restores or self.step < 0:
            raise UsageError(
                f"training diverged (loss {loss} at step {step}, {self.restores} times): "
                "lower --learning-rate or use --precision float32"
            )
        self.model.set_weights(self._weights)
        for variable, value in zip(self.optimizer.variables, self._slots, strict=True):
            variable.assign(value)
        return False


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


def train(request: TrainRequest, hook: Hook, stop: StopRequest | None = None) -> Path:
    """Run training per `request`; returns the exported spec path.

    When `stop` is set (or `<run_dir>/STOP` appears) the loop checkpoints and raises
    `KeyboardInterrupt`; `--resume` continues from there.
    """
    stop = stop or StopRequest()
    cfg = request.config
    started_wall = time.monotonic()
    data = prepare_data(request, hook)
    _write_heldout(request, data)
    write_training_list(data.used_items, request.run_dir / TRAINING_LIST)
    if len(data.train_reals) == 0:
        raise UsageError("no real face crops to train on: check the folders and face detection")

    import keras
    import tensorflow as tf

    precision = choose_precision(cfg.precision, cfg.input_size)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(cfg.seed)
    from deepfake_analyzer.models.xception import build_xception

    model = build_xception(cfg.input_size, dropout=cfg.dropout, bn_momentum=cfg.bn_momentum)
    optimizer = keras.optimizers.Adam(
        learning_rate=cfg.learning_rate, global_clipnorm=cfg.clip_norm
    )
    optimizer.build(model.trainable_variables)
    loss_fn = keras.losses.BinaryCrossentropy(label_smoothing=cfg.label_smoothing)
    spec = ModelSpec(name=MODEL_NAME, input_size=cfg.input_size, scaling=cfg.scaling)  # type: ignore[arg-type]

    state: dict[str, Any] = {"step": 0, "total_steps": 0, "elapsed_s": 0.0, "history": []}
    run_dir = request.run_dir
    if request.resume:
        state = load_checkpoint(run_dir, model, optimizer)
        hook(Message(str(run_dir), f"resumed at step {state['step']}"))
    elif (run_dir / "state.json").is_file():
        raise UsageError(
            f"a checkpoint already exists in {run_dir}: pass --resume to continue it, "
            "or --run-name to start another run"
        )
    if cfg.epochs is not None:
        state["total_steps"] = cfg.epochs * cfg.steps_per_epoch
    state["counts"], state["precision"] = data.counts, precision
    _atomic_write_text(run_dir / "config.json", json.dumps(_config_dict(request), indent=1) + "\n")

    @tf.function(jit_compile=False)
    def train_step(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            loss = loss_fn(tf.reshape(y, (-1, 1)), p)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    forward = tf.function(lambda x: model(x, training=False), jit_compile=False)
    maker = BatchMaker(data.train_reals, data.train_fakes, cfg, request.augment, request.sbi)
    step = int(state["step"])
    budget_s = None if cfg.epochs is not None or cfg.minutes is None else cfg.minutes * 60.0
    hook(
        TrainStarted(
            str(run_dir), step, int(state["total_steps"]), data.counts, precision,
            cfg.input_size, cfg.batch_size,
        )
    )  # fmt: skip
    batches = _prefetch(maker, step, 10**9)
    elapsed_before = float(state["elapsed_s"])
    loop_started = time.monotonic()
    last_ckpt = loop_started
    rate_window: list[tuple[float, int]] = []
    losses: list[float] = []
    guard = DivergenceGuard(model, optimizer)

    def elapsed() -> float:
        return elapsed_before + time.monotonic() - loop_started

    def checkpoint() -> None:
        state["step"], state["elapsed_s"] = step, elapsed()
        path = save_checkpoint(run_dir, model, optimizer, state)
        hook(CheckpointSaved(step, str(path)))

    def done() -> bool:
        if budget_s is not None:
            return elapsed() >= budget_s
        return step >= int(state["total_steps"])

    try:
        while not done():
            got_step, x, y = batches.get()
            if isinstance(x, Exception):
                raise x
            assert got_step == step
            if budget_s is not None:
                lr = learning_rate_at_time(elapsed(), budget_s, cfg)
            else:
                lr = learning_rate_at(step, int(state["total_steps"]), cfg)
            optimizer.learning_rate.assign(lr)
            loss = float(train_step(tf.constant(spec.preprocess(x)), tf.constant(y)))
            step += 1
            if not guard.after_step(step, loss):
                state["skipped_steps"] = state.get("skipped_steps", 0) + 1
                hook(Message(str(run_dir), f"step {step}: loss {loss}; restored step {guard.step}",
                             level="warning"))  # fmt: skip
                continue
            losses.append(loss)
            now = time.monotonic()
            rate_window.append((now, step))
            rate_window = rate_window[-30:]
            rate = 0.0
            if len(rate_window) > 1:
                (t0, s0), (t1, s1) = rate_window[0], rate_window[-1]
                rate = (s1 - s0) * cfg.batch_size / max(t1 - t0, 1e-6)
            if budget_s is not None:  # under --minutes the step count is only an estimate
                left_s = max(0.0, budget_s - elapsed())
                total = step + int(left_s * rate / cfg.batch_size) if rate else 0
                eta = left_s
            else:
                total = int(state["total_steps"])
                eta = (total - step) * cfg.batch_size / rate if rate else 0.0
            hook(
                TrainProgress(
                    step, total, step // cfg.steps_per_epoch, float(np.mean(losses[-50:])),
                    float(optimizer.learning_rate.numpy()), rate, elapsed(), max(0.0, eta),
                )
            )  # fmt: skip
            if step % cfg.steps_per_epoch == 0 or done():
                metrics = evaluate_sets(forward, spec, data.val)
                metrics["train_loss"] = round(float(np.mean(losses[-cfg.steps_per_epoch :])), 4)
                state["history"].append({"step": step, "elapsed_s": round(elapsed(), 1), **metrics})
                hook(Evaluated(step, step // cfg.steps_per_epoch, metrics))
                checkpoint()
                last_ckpt = time.monotonic()
            elif time.monotonic() - last_ckpt >= cfg.checkpoint_minutes * 60.0:
                checkpoint()
                last_ckpt = time.monotonic()
            if stop.requested or (run_dir / "STOP").exists():
                (run_dir / "STOP").unlink(missing_ok=True)
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        checkpoint()
        raise
    if not state["history"] or state["history"][-1]["step"] != step:
        metrics = evaluate_sets(forward, spec, data.val)
        state["history"].append({"step": step, "elapsed_s": round(elapsed(), 1), **metrics})
        hook(Evaluated(step, step // cfg.steps_per_epoch, metrics))
    if state["step"] != step:
        checkpoint()
    final = {k: v for k, v in state["history"][-1].items() if k not in ("step", "elapsed_s")}
    training = training_summary(request, data.counts, step, state, precision)
    spec_path = export_model(model, request.output_dir, cfg, request.extract, training, final)
    _copy_training_list(request)
    hook(TrainFinished(step, str(spec_path), time.monotonic() - started_wall, final))
    return spec_path


def _config_dict(request: TrainRequest) -> dict[str, Any]:
    return {
        "labeled": [str(p) for p in request.labeled],
        "real": [str(p) for p in request.real],
        "train": asdict(request.config),
        "extract": asdict(request.extract),
        "augment": asdict(request.augment),
        "sbi": asdict(request.sbi),
    }


def training_summary(
    request: TrainRequest, counts: dict[str, int], step: int, state: dict[str, Any], precision: str
) -> dict[str, Any]:
    cfg = request.config
    return {
        "recipe": "Xception from scratch; self-blended fakes (SBI) + labeled fakes; augmentation",
        "data": [Path(p).name for p in (*request.labeled, *request.real)],
        "counts": counts,
        "steps": step,
        "images_seen": step * cfg.batch_size,
        "minutes": round(float(state["elapsed_s"]) / 60.0, 1),
        "precision": precision,
        "config": asdict(cfg),
        "hardware": hardware_summary(),
        "history": state["history"][-20:],
    }


def export_checkpoint(request: TrainRequest, hook: Hook) -> Path:
    """Export the run's latest checkpoint (as `train` would at the end) without training.

    Useful to ship or evaluate a long run while it still trains: the checkpoint files are
    replaced atomically, so reading them mid-run is safe.
    """
    run_dir = request.run_dir
    state_path = run_dir / "state.json"
    if not state_path.is_file():
        raise UsageError(f"no checkpoint to export in {run_dir}")
    state = json.loads(state_path.read_text())
    counts = state.get("counts") or prepare_data(request, hook).counts
    precision = state.get("precision", "float32")
    import keras

    from deepfake_analyzer.models.xception import build_xception

    keras.mixed_precision.set_global_policy("float32")
    cfg = request.config
    model = build_xception(cfg.input_size, dropout=cfg.dropout, bn_momentum=cfg.bn_momentum)
    model.load_weights(run_dir / "checkpoint.weights.h5")
    step = int(state["step"])
    history = state.get("history") or [{}]
    final = {k: v for k, v in history[-1].items() if k not in ("step", "elapsed_s")}
    training = training_summary(request, counts, step, state, precision)
    spec_path = export_model(model, request.output_dir, cfg, request.extract, training, final)
    _copy_training_list(request)
    hook(TrainFinished(step, str(spec_path), 0.0, final))
    return spec_path


def benchmark_input_sizes(
    sizes: Sequence[int], batch_size: int = 16, steps: int = 4, precision: str = "auto"
) -> dict[int, float]:
    """Training images/s of the full network per input size, on random data (a quick check)."""
    import keras
    import tensorflow as tf

    from deepfake_analyzer.models.xception import build_xception

    results: dict[int, float] = {}
    for size in sizes:
        keras.mixed_precision.set_global_policy(choose_precision(precision, size))
        model = build_xception(size)
        optimizer = keras.optimizers.Adam(1e-3)
        loss_fn = keras.losses.BinaryCrossentropy()

        @tf.function(jit_compile=False)
        def step(
            x: Any, y: Any, model: Any = model, optimizer: Any = optimizer, loss_fn: Any = loss_fn
        ) -> Any:
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
            return loss

        x = tf.random.uniform((batch_size, size, size, 3))
        y = tf.cast(tf.random.uniform((batch_size, 1)) > 0.5, tf.float32)
        float(step(x, y))
        float(step(x, y))
        t0 = time.monotonic()
        for _ in range(steps):
            float(step(x, y))
        results[size] = steps * batch_size / (time.monotonic() - t0)
    return results
