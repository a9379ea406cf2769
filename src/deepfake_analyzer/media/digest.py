"""SHA-256 of an input file, streamed in a background thread while the pipeline decodes it.

The decoder (ffmpeg, or the image reader) and the hash both read the file; the hash runs
beside decoding, in 1 MiB chunks (hashlib releases the GIL), from the page cache the decoder
has just filled, so it adds no time to the analysis of any file that decodes faster than
about 1 GB/s can be hashed. `hexdigest()` waits for it; a file that cannot be read gives "".
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

CHUNK_BYTES = 1 << 20


class FileDigest:
    """Starts hashing `path` at once; `hexdigest()` returns the SHA-256 when it is done."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._hex = ""
        self._thread = threading.Thread(target=self._run, name="input-sha256", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        digest = hashlib.sha256()
        try:
            with self.path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    digest.update(chunk)
        except OSError:
            return
        self._hex = digest.hexdigest()

    def hexdigest(self) -> str:
        """The lowercase hex SHA-256 of the file, or "" when it could not be read."""
        self._thread.join()
        return self._hex
