"""The training recipe's hyper-parameters (`TrainConfig`) and the learning-rate schedule they
define. Pure Python, no NumPy: `train --help` reads its defaults from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.errors import UsageError

PRECISIONS = ("auto", "float32", "mixed_bfloat16")
FAKE_STRATA = ("generator", "family")
SBI_LOWER_FACE_SHARE = 0.0
"""Default share of self-blended fakes blended over the lower face only (`SbiConfig`)."""

FRAMES_PER_VIDEO = 12
"""Frames sampled evenly from each video when its face crops are cut (train and evaluate)."""

CACHED_CROP_SIZE = 256
"""Side of the crops `train` caches (>= the model input; the crops are cut wider for jitter)."""


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
    fake_strata: str = "generator"  # labeled fakes drawn evenly per "generator" or "family"
    paired_share: float = 0.0  # of labeled fakes, drawn with a real crop of the same person
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
            raise UsageError("give `epochs` or `minutes`", option=("epochs", "minutes"))
        if self.epochs is not None and self.epochs < 1:
            raise UsageError("epochs must be at least 1")
        if self.minutes is not None and self.minutes <= 0:
            raise UsageError("minutes must be positive")
        if self.steps_per_epoch < 1:
            raise UsageError("steps per epoch must be at least 1")
        if not 0.0 <= self.labeled_fake_share <= 1.0:
            raise UsageError("labeled fake share must be in [0, 1]")
        if not 0.0 <= self.paired_share <= 1.0:
            raise UsageError("paired share must be in [0, 1]")
        if not 0.0 <= self.val_fraction < 1.0:
            raise UsageError("validation fraction must be in [0, 1)")
        if not 0.5 <= self.frame_scale[0] <= 1.0 <= self.frame_scale[1] <= 2.0:
            raise UsageError("frame scale must be (low, high) with 0.5 <= low <= 1 <= high <= 2")
        if not 0.0 <= self.frame_shift <= 0.25:
            raise UsageError("frame shift must be in [0, 0.25]")
        if self.fake_strata not in FAKE_STRATA:
            raise UsageError(f"fake strata must be one of {', '.join(FAKE_STRATA)}")
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


# --- schedule ---------------------------------------------------------------------------------


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
