"""Service settings: one validated dataclass, the source of the `serve` flags' defaults."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from deepfake_analyzer.errors import UsageError
from deepfake_analyzer.options import AnalyzeOptions, bounds_problem, option_specs

TOKEN_ENV = "DEEPFAKE_ANALYZER_TOKEN"
"""Environment variable read for the API token when `--token` is not given."""

DEFAULT_DATA_DIR = Path("~/.local/share/deepfake-analyzer/service")
DEFAULT_MAX_UPLOAD_MB = 500
DEFAULT_MAX_JOB_MEMORY_MB = 2048
"""A worker whose memory (RSS, its loaded model included) passes this while analyzing is
stopped and its job fails: one hostile upload cannot take the machine's memory."""
MB = 1024 * 1024

SERVICE_BOUNDS: dict[str, tuple[int, int]] = {
    "port": (0, 65535),
    "workers": (1, 64),
    "max_upload_mb": (1, 1_000_000),
    "keep_jobs": (1, 1_000_000),
    "max_job_memory_mb": (64, 1_000_000),
}
"""Inclusive bounds of the numeric settings (the `serve` flags use the same)."""

JOB_OPTION_NAMES: tuple[str, ...] = tuple(
    name for name, spec in option_specs().items() if spec.per_upload
)
"""`AnalyzeOptions` fields a client may set per upload (`OptionSpec.per_upload`); the rest
(model, detector kind, batch size, pixel limit) are the server's choice."""


@dataclass(frozen=True)
class ServiceSettings:
    """How the service runs. `token=None` leaves the API open (fine on loopback only).

    `classifier_factory` / `detector_factory` are `module:callable` paths called once in each
    worker process to build the classifier / face detector instead of loading them from
    `base_options` (plugins; the tests plug in a fake classifier this way).
    """

    data_dir: Path
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    token: str | None = None
    max_upload_mb: int = DEFAULT_MAX_UPLOAD_MB
    keep_jobs: int = 500
    max_job_memory_mb: int = DEFAULT_MAX_JOB_MEMORY_MB
    base_options: AnalyzeOptions = field(default_factory=AnalyzeOptions)
    classifier_factory: str | None = None
    detector_factory: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "data_dir", Path(self.data_dir).expanduser())
        for name, (low, high) in SERVICE_BOUNDS.items():
            problem = bounds_problem(getattr(self, name), low, high)
            if problem is not None:
                raise UsageError(f"`{name}` {problem}", option=name)
        if self.token is not None and not self.token.strip():
            raise UsageError(
                f"the API token is empty: pass a non-empty `token` or unset {TOKEN_ENV}",
                option="token",
            )
        for name in ("classifier_factory", "detector_factory"):
            value = getattr(self, name)
            if value is not None and ":" not in value:
                raise UsageError(
                    f"`{name}` must look like 'package.module:callable', got {value!r}",
                    option=name,
                )

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mb * MB

    @property
    def is_loopback(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "jobs.sqlite3"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and loopback addresses (127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def token_from_env() -> str | None:
    """The token from `DEEPFAKE_ANALYZER_TOKEN`, or None when unset or empty."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    return value or None
