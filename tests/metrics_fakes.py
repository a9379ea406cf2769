"""A spec's leave-generator-out metrics as `evaluate --protocol --write-spec` stores them, built
by the real `protocol_table` from a handful of scores (no model, no media)."""

from __future__ import annotations

import json
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
