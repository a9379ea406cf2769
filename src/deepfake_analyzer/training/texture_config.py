"""What `train-texture` fits and writes (`TextureRequest`), and the shipped recipe's defaults.

Light on purpose: the command line reads these defaults without importing the training code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from deepfake_analyzer.models.texture import REGIONS

BLEND_NAME = "deepfake_v4"
"""The blend `train-texture --output` writes unless named; its members are `<name>_<region>`."""
RESIDUAL = "residual"
"""The region name of the noise-residual probe (models/residual.py): the whole crop's noise
statistics, not a box of it; the other regions are `REGIONS`' EfficientNet-Lite0 probes."""
MEMBER_REGIONS = (*REGIONS, RESIDUAL)
"""What `--region` may name: one probe, one blend member, per region."""
DEFAULT_REGIONS = ("face", "mouth")
DEFAULT_COPIES = 1
"""Augmented copies of each training crop in the probes' fit (texture_v1 had none)."""


@dataclass(frozen=True)
class TextureRequest:
    """What `train_texture` fits on and where it writes (training/texture_train.py's module
    docstring says how)."""

    data: tuple[Path, ...]
    real: tuple[Path, ...] = ()
    train_real: tuple[Path, ...] = ()
    model: Path | None = None
    cache_dir: Path | None = None
    output: Path | None = None
    augmented_copies: int = DEFAULT_COPIES
    regions: tuple[str, ...] = DEFAULT_REGIONS
    name: str = BLEND_NAME
    weights_base: Path | None = None
    """An f16 texture model file in `output` whose frozen backbone the written models read
    instead of storing their own copy (e.g. texture_v1.f16.npz)."""
    kept: tuple[Path, ...] = ()
    """Specs of fitted texture models (e.g. an earlier blend's members, in `output`) that join
    the new blend as they are, beside the classifier: scored, not refitted."""
    classifier_member: bool = True
    """Whether the classifier (`model`) is the blend's first member; without it the blend is the
    kept models and the probes, and the classifier is scored as the reference only."""
    views: int = 1
    """How many views of a face (`models.views.VIEWS`) the written blend reads: its spec's
    `views`. The fit and its tables read the crop alone."""
    match_resolution: bool = False
    """Re-spread the real photos' training weight so their mix of resolutions (the source's
    short side, `texture_train.RESOLUTION_EDGES`) is the labeled fake photos' mix: most real
    photos are small web photos, most fake ones are not, and a probe learns the difference."""

    def __post_init__(self) -> None:
        if not self.data and not self.real:
            raise ValueError("give at least one DATA folder")
        if not 0 <= self.augmented_copies <= 8:
            raise ValueError("augmented copies must be 0 to 8")
        unknown = [r for r in self.regions if r not in MEMBER_REGIONS]
        if unknown or not self.regions or len(set(self.regions)) != len(self.regions):
            raise ValueError(f"regions must be distinct, among {', '.join(MEMBER_REGIONS)}")
        from deepfake_analyzer.models.views import check_count

        check_count(self.views)
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", self.name):
            raise ValueError(f"{self.name!r} is not a model name (letters, digits, _ . -)")


def member_name(blend: str, region: str) -> str:
    """The name of the texture model reading `region` in the blend `blend`."""
    return f"{blend}_{region}"
