"""One base error type with a few specific ones, each carrying the fix in its message.

Errors are translated once, at the CLI or HTTP edge, into an exit code or a status.
"No face in this frame" is a result, never an error.
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_INPUT_FAILED = 1
EXIT_USAGE = 2
EXIT_VERDICT_REACHED = 3


class AnalyzerError(Exception):
    """Base of every error the analyzer raises on purpose; `str()` is a one-line message."""

    exit_code: int = EXIT_INPUT_FAILED

    def __init__(self, message: str, path: Path | str | None = None) -> None:
        self.path = None if path is None else str(path)
        self.message = message
        super().__init__(f"{self.path}: {message}" if self.path else message)


class UsageError(AnalyzerError):
    """The command line or options are wrong (exit 2)."""

    exit_code = EXIT_USAGE


class InputNotFoundError(AnalyzerError):
    """The path does not exist or the folder holds no media."""


class UnreadableInputError(AnalyzerError):
    """The file exists but cannot be opened (permissions, a directory where a file was expected)."""


class UnsupportedMediaError(AnalyzerError):
    """The file is not media we can decode (wrong content, audio only, unknown extension)."""


class DecodeError(AnalyzerError):
    """The media is corrupt or yields no decodable frames."""


class ImageTooLargeError(AnalyzerError):
    """The image is above the documented pixel limit."""


class ModelError(AnalyzerError):
    """The classifier cannot be loaded (missing, wrong shape, corrupt); fix the command (exit 2)."""

    exit_code = EXIT_USAGE


class ModelNotInstalledError(ModelError):
    """No default model ships yet and none was given with --model."""


class ModelOutputError(ModelError):
    """The model gives scores that are not probabilities (NaN, inf, outside [0, 1]): its weights
    are broken; retrain or re-export it (exit 2)."""


class UnsafeModelError(ModelError):
    """The model file contains code (Lambda layers, custom objects); needs --trust-model."""


class OutputExistsError(AnalyzerError):
    """A report would overwrite an existing file; pass --overwrite."""

    exit_code = EXIT_USAGE


class ModelRuntimeWarning(UserWarning):
    """A note about the classifier's runtime: its faster LiteRT copy is being prepared (first
    use of these weights), or it cannot be and the model runs on Keras instead (slower)."""
