"""A spec's leave-generator-out metrics as `evaluate --protocol --write-spec` stores them, built
by the real `protocol_table` from a handful of scores (no model, no media)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from deepfake_analyzer.training.protocol import protocol_table
from deepfake_analyzer.training.sources import FAKE, REAL

THRESHOLDS = {"suspicious": 0.5, "fake": 0.7}


@dataclass(frozen=True)
class Scored:
    label: int
    kind: str
    method: str
    score: float
    group: str = "someone"
    face_width: float = math.nan
    raised_thresholds: tuple[float, float] | None = None


def evaluation_metrics(thresholds: dict[str, float] = THRESHOLDS) -> dict[str, Any]:
    """A spec's metrics as `evaluate --protocol --write-spec` stores them (through JSON)."""
    scored = [
        *(
            Scored(REAL, "video", "real", s, f"person-{i}")
            for i, s in enumerate((0.1, 0.2, 0.6, 0.8))
        ),
        Scored(FAKE, "video", "anitalker", 0.9),
        Scored(FAKE, "video", "hyperlips", 0.55),
        Scored(FAKE, "video", "liveportrait", 0.3),
        Scored(FAKE, "video", "liveportrait", 0.2),
        Scored(REAL, "image", "real", 0.1),
        Scored(FAKE, "image", "stylegan2", 0.75),
    ]
    table = protocol_table(scored, thresholds["fake"], thresholds["suspicious"])
    evaluation = {"created_utc": "2026-11-30T15:00:00Z", "leave_generator_out": table.to_dict()}
    return json.loads(json.dumps({"evaluation": evaluation}))


def face_size_metrics(thresholds: dict[str, float] = THRESHOLDS) -> dict[str, Any]:
    """Metrics whose table has face-size rows for photos: faces of 80 px, where fakes score
    as reals do (AUC 0.5), and of 400 px, where every fake outscores every real (AUC 1.0);
    only 5 fakes of 150 px, too few for a row."""
    scored = []
    for width, fakes in ((80.0, (0.4, 0.6)), (150.0, (0.9,)), (400.0, (0.9,))):
        scored += [Scored(REAL, "image", "real", (0.4, 0.6)[i % 2], f"p{width:.0f}-{i}", width)
                   for i in range(10)]  # fmt: skip
        count = 5 if width == 150.0 else 10
        scored += [Scored(FAKE, "image", "stylegan2", fakes[i % len(fakes)], f"f{i}", width)
                   for i in range(count)]  # fmt: skip
    table = protocol_table(scored, thresholds["fake"], thresholds["suspicious"])
    evaluation = {"created_utc": "2026-12-05T08:00:00Z", "leave_generator_out": table.to_dict()}
    return json.loads(json.dumps({"evaluation": evaluation}))
