"""One base error type with a few specific ones, each carrying the fix in its message.

Errors are translated once, at the CLI or HTTP edge, into an exit code or a status.
"No face in this frame" is a result, never an error.

Messages speak the library's vocabulary: an option is named as in `AnalyzeOptions` (or the
function's parameter), written in backticks and listed in `option`, e.g.
`UsageError("a file is in the way; pass `overwrite` to replace it", option="overwrite")`.
Each edge renders them in its own words with `message_for` (cli/arguments.py: flags such as
`--overwrite`; service/app.py: the form fields). `message` and `str()` give the bare names.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

EXIT_OK = 0
EXIT_INPUT_FAILED = 1
EXIT_USAGE = 2
EXIT_VERDICT_REACHED = 3


def _bare_name(option: str) -> str:
    return option


class AnalyzerError(Exception):
    """Base of every error the analyzer raises on purpose; `str()` is a one-line message."""

    exit_code: int = EXIT_INPUT_FAILED

    def __init__(
        self,
        message: str,
        path: Path | str | None = None,
        *,
        option: str | tuple[str, ...] = (),
    ) -> None:
        self.path = None if path is None else str(path)
        self.options: tuple[str, ...] = (option,) if isinstance(option, str) else option
        self.template = message
        self.message = self.message_for(_bare_name)
        super().__init__(self.describe(_bare_name))

    def message_for(self, name_of: Callable[[str], str]) -> str:
        """The message with each option it names (`name`, in backticks) written `name_of(name)`."""
        text = self.template
        for option in self.options:
            text = text.replace(f"`{option}`", name_of(option))
        return text

    def describe(self, name_of: Callable[[str], str]) -> str:
        """`message_for(name_of)`, after the path it is about."""
        message = self.message_for(name_of)
        return f"{self.path}: {message}" if self.path else message


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
    """No default model ships yet and none was given (`model_path`)."""


class ModelOutputError(ModelError):
    """The model gives scores that are not probabilities (NaN, inf, outside [0, 1]): its weights
    are broken; retrain or re-export it (exit 2)."""


class UnsafeModelError(ModelError):
    """The model file contains code (Lambda layers, custom objects); needs `trust_model`."""


class OutputExistsError(AnalyzerError):
    """A report would overwrite an existing file; needs `overwrite`."""

    exit_code = EXIT_USAGE


class ModelRuntimeWarning(UserWarning):
    """A note about the classifier's runtime: its faster LiteRT copy is being prepared (first
    use of these weights), or it cannot be and the model runs on Keras instead (slower)."""
