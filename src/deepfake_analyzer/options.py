"""Analysis options: the one definition of every analysis default, bound and choice.

Each `AnalyzeOptions` field carries an `OptionSpec` (its help, CLI flag, bounds, choices and
whether web clients may set it per upload). The CLI builds its flags from them
(cli/arguments.py), the web service its form fields (service/core.py), and `__post_init__`
checks every value against them: adding an option means adding a field here and using it.
Face detector names come from the detector registry (faces/detector.py) once it is loaded, and
from registry.py's built-in names before, so that reading the options imports no detector.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import Field, asdict, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.registry import DETECTOR_NAMES
from deepfake_analyzer.text import did_you_mean

TemporalChoice = Literal["combine", "report", "off"]
"""`combine`: the temporal model's score enters each track's score (temporal/tracks.py);
`report`: it is computed and reported, the track score stays the frame score; `off`: not run."""

OptionValue = float | int | str | bool | None

DEFAULT_MAX_IMAGE_PIXELS = 100_000_000
"""Images above this many pixels (e.g. 10000 x 10000) are refused; smaller ones that are
larger than `DETECT_MAX_SIDE` are downscaled for detection."""

MAX_ASPECT_RATIO = 25
"""Images and videos whose long side is more than this many times their short side (a
1 x 100,000,000 strip) are refused: they cannot hold a face, and decoding them costs memory."""

DECODE_MAX_PIXELS = 16_000_000
"""Larger images are decoded at a reduced size (JPEG: in the decoder; other formats: reduced
right after decoding, before any copy), so an input under the limits stays under 1 GB."""

DECODE_MAX_SIDE = 4096
"""Video frames are scaled down by ffmpeg so that neither side exceeds this (8K -> 4096)."""

TEMPORAL_WINDOW_S = 5.0
"""Seconds of the dense window (`temporal_seconds`): below 5.3 fps, the face meshes are followed
8 times a second over this many seconds from `start_s`. The motion model trained on 10 s
windows; read over 5 s its held-out AUC alone moved from 0.544 to 0.538, and the 10 s clip of
the benchmark analyzes in 0.84x the time (models/temporal_v1.md, "A shorter window")."""

T = TypeVar("T")
_SPEC_KEY = "option"
_NONE_WORDS = ("none", "all")
_TRUE_WORDS = ("1", "true", "yes", "on")
_FALSE_WORDS = ("0", "false", "no", "off")


def _detector_names() -> Sequence[str]:
    """The registered face detectors: the registry's names once faces/detector.py is loaded (a
    caller may have registered more), else the built-in names, without loading it."""
    detector = sys.modules.get("deepfake_analyzer.faces.detector")
    return detector.list_detectors() if detector is not None else DETECTOR_NAMES


@dataclass(frozen=True)
class OptionSpec:
    """How one option is presented and checked.

    `group` is its CLI help section; `flag` its CLI flag (default `--name-with-dashes`);
    `bounds` inclusive; `choices` a tuple or a function that asks a registry; `none_flag` a
    CLI switch that sets the option to None (`--every-frame`); `per_upload`: web clients may
    set it on each upload (the others are the server's choice).
    """

    help: str
    group: str
    flag: str | None = None
    metavar: str | None = None
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | Callable[[], Sequence[str]] | None = None
    none_flag: str | None = None
    none_help: str = ""
    per_upload: bool = False

    def choice_names(self) -> Sequence[str] | None:
        return self.choices() if callable(self.choices) else self.choices

    def problem(self, value: OptionValue) -> str | None:
        """What is wrong with `value` ("must be between 1 and 256"), or None."""
        if value is None or isinstance(value, bool):
            return None
        if self.bounds is not None and isinstance(value, int | float):
            problem = bounds_problem(value, *self.bounds)
            if problem is not None:
                return problem
        names = self.choice_names()
        if names is not None and value not in names:
            return f"must be one of {', '.join(names)}, not {value!r}" + did_you_mean(
                str(value), names
            )
        return None


def _option(default: T, spec: OptionSpec) -> T:
    """A dataclass field with `default` and its `OptionSpec`."""
    made: T = field(default=default, metadata={_SPEC_KEY: spec})
    return made


@dataclass(frozen=True)
class AnalyzeOptions:
    """How to analyze one input. `fps=None` samples every frame of a video."""

    fps: float | None = _option(
        2.0,
        OptionSpec(
            "frames per second to sample from videos (default: %(default)s)",
            "sampling",
            bounds=(0.01, 240.0),
            none_flag="--every-frame",
            none_help="analyze every frame",
            per_upload=True,
        ),
    )
    max_frames: int | None = _option(
        300,
        OptionSpec(
            "at most this many frames per video (default: %(default)s)",
            "sampling",
            bounds=(1, 100_000),
            per_upload=True,
        ),
    )
    start_s: float = _option(
        0.0,
        OptionSpec(
            "start time in the video",
            "sampling",
            flag="--start",
            metavar="SECONDS",
            bounds=(0.0, 1e7),
            per_upload=True,
        ),
    )
    end_s: float | None = _option(
        None,
        OptionSpec(
            "end time in the video",
            "sampling",
            flag="--end",
            metavar="SECONDS",
            bounds=(0.0, 1e7),
            per_upload=True,
        ),
    )
    detector: str = _option(
        "auto",
        OptionSpec(
            "BlazeFace short range, full range (small/distant faces), or auto (default)",
            "faces",
            choices=_detector_names,
        ),
    )
    min_face: int = _option(
        40,
        OptionSpec(
            "ignore faces narrower than this (default: %(default)s)",
            "faces",
            metavar="PX",
            bounds=(8, 4096),
            per_upload=True,
        ),
    )
    min_confidence: float = _option(
        0.5,
        OptionSpec(
            "detector confidence threshold (default: %(default)s)",
            "faces",
            bounds=(0.05, 0.99),
            per_upload=True,
        ),
    )
    batch_size: int = _option(
        16,
        OptionSpec(
            "face crops per classifier batch (default: %(default)s)", "model", bounds=(1, 256)
        ),
    )
    model_path: str | None = _option(
        None,
        OptionSpec("a .keras/.h5 model or a .spec.json", "model", flag="--model", metavar="PATH"),
    )
    trust_model: bool = _option(
        False,
        OptionSpec("allow a model that contains code (Lambda layers, custom objects)", "model"),
    )
    explain: bool = _option(
        False,
        OptionSpec("Grad-CAM heatmaps for the report's crops", "model", per_upload=True),
    )
    max_image_pixels: int = _option(
        DEFAULT_MAX_IMAGE_PIXELS,
        OptionSpec(
            "refuse images above this many pixels (default: %(default)s)",
            "model",
            bounds=(1, 1_000_000_000),
        ),
    )
    temporal: TemporalChoice = _option(
        "combine",
        OptionSpec(
            "face-mesh motion model per track: combine its score into the track score, only "
            "report it, or skip it (faster: below 5.3 fps, the default included, it adds 8 "
            "frames a second over --temporal-seconds for the face meshes) (default: "
            "%(default)s)",
            "model",
        ),
    )
    temporal_seconds: float = _option(
        TEMPORAL_WINDOW_S,
        OptionSpec(
            "below 5.3 fps, the motion model reads the faces of this many seconds from the "
            "start (the dense window; longer: more motion evidence, slower) (default: "
            "%(default)s)",
            "model",
            metavar="SECONDS",
            bounds=(1.5, 3600.0),
        ),
    )

    def __post_init__(self) -> None:
        for name, spec in option_specs().items():
            problem = spec.problem(getattr(self, name))
            if problem is not None:
                raise UsageError(f"`{name}` {problem}", option=name)
        if self.end_s is not None and self.end_s <= self.start_s:
            raise UsageError("`end_s` must be after `start_s`", option=("end_s", "start_s"))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        if data["model_path"] is not None:
            data["model_path"] = str(Path(data["model_path"]))
        return data

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> AnalyzeOptions:
        """Build from user-supplied keys, with a "did you mean" for unknown ones."""
        known = list(option_specs())
        for key in values:
            if key not in known:
                raise UsageError(f"unknown option {key!r}" + did_you_mean(key, known))
        try:
            return cls(**values)
        except TypeError as exc:
            raise UsageError(str(exc)) from None


def bounds_problem(value: float, low: float, high: float) -> str | None:
    """`"must be between 1 and 256"` when `value` is outside [low, high], else None."""
    if low <= value <= high:
        return None
    return f"must be between {_show(low)} and {_show(high)}"


def _show(bound: float) -> str:
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


@cache
def option_specs() -> dict[str, OptionSpec]:
    """Every `AnalyzeOptions` field's spec, in field order; `Literal` types give the choices."""
    specs: dict[str, OptionSpec] = {}
    for item in fields(AnalyzeOptions):
        spec: OptionSpec = item.metadata[_SPEC_KEY]
        if spec.choices is None and get_origin(_hint(item)) is Literal:
            spec = OptionSpec(**{**vars(spec), "choices": get_args(_hint(item))})
        specs[item.name] = spec
    return specs


@cache
def _hints() -> dict[str, Any]:
    return get_type_hints(AnalyzeOptions)


def _hint(item: Field[Any]) -> Any:
    return _hints()[item.name]


def option_type(name: str) -> tuple[type, bool]:
    """The option's value type (`float`, `int`, `str`, `bool`) and whether it may be None."""
    hint = _hints()[name]
    members = get_args(hint) if get_origin(hint) in (Union, types.UnionType) else (hint,)
    nullable = type(None) in members
    (kind,) = [m for m in members if m is not type(None)]
    if get_origin(kind) is Literal:
        kind = type(get_args(kind)[0])
    return kind, nullable


def parse_option(name: str, text: str) -> OptionValue:
    """An option's value from text (a form field): typed by the dataclass, checked against its
    spec. `none`/`all` give None where the option allows it (`fps=all`: every frame)."""
    kind, nullable = option_type(name)
    lowered = text.strip().lower()
    value: OptionValue
    if nullable and lowered in _NONE_WORDS:
        return None
    if kind is bool:
        if lowered not in _TRUE_WORDS + _FALSE_WORDS:
            raise UsageError(f"`{name}` must be true or false, not {text!r}", option=name)
        return lowered in _TRUE_WORDS
    try:
        value = kind(text.strip())
    except ValueError:
        raise UsageError(f"`{name}` must be a {kind.__name__}, not {text!r}", option=name) from None
    problem = option_specs()[name].problem(value)
    if problem is not None:
        raise UsageError(f"`{name}` {problem}", option=name)
    return value
