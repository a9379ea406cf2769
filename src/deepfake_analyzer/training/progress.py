"""Progress events of `train`: they are part of the one event model in `events.py`, and are
re-exported here under the names training code has always imported."""

from deepfake_analyzer.events import (
    CheckpointSaved,
    Evaluated,
    TrainEvent,
    TrainFinished,
    TrainProgress,
    TrainStarted,
)

__all__ = [
    "CheckpointSaved",
    "Evaluated",
    "TrainEvent",
    "TrainFinished",
    "TrainProgress",
    "TrainStarted",
]
