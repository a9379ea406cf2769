"""Provenance evidence: C2PA Content Credentials and unsigned metadata labels of an input.

`read_provenance(path, kind)` never raises: whatever cannot be read is noted in `errors`.
`ProvenanceReader` runs it in a thread beside decoding. The evidence is reported next to the
model's verdict (report `provenance` section) and never enters the score.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

from deepfake_analyzer.provenance.types import C2paEvidence, MetadataEvidence, Provenance

__all__ = ["Provenance", "ProvenanceReader", "read_provenance"]


def read_provenance(path: Path, kind: str) -> Provenance:
    """C2PA manifest and metadata labels of an image or video file."""
    errors: list[str] = []
    try:
        from deepfake_analyzer.provenance.c2pa_manifest import read_c2pa

        c2pa = read_c2pa(path)
    except Exception as exc:  # a reader bug must not cost the analysis
        c2pa = C2paEvidence(status="unsupported")
        errors.append(f"C2PA could not be read: {type(exc).__name__}: {exc}")
    try:
        from deepfake_analyzer.provenance.metadata import read_container_tags, read_image_metadata

        reader = read_image_metadata if kind == "image" else read_container_tags
        metadata = reader(path)
    except Exception as exc:  # a corrupt EXIF block is evidence of nothing
        metadata = MetadataEvidence()
        errors.append(f"metadata could not be read: {type(exc).__name__}: {exc}")
    return Provenance(c2pa=c2pa, metadata=metadata, errors=tuple(errors))


class ProvenanceReader:
    """Starts `read_provenance` in a thread; `result()` waits for it. `seconds` is its time."""

    def __init__(self, path: Path, kind: str) -> None:
        self.seconds = 0.0
        self._result = Provenance()
        self._thread = threading.Thread(
            target=self._run, args=(path, kind), name="provenance", daemon=True
        )
        self._thread.start()

    def _run(self, path: Path, kind: str) -> None:
        started = time.perf_counter()
        self._result = read_provenance(path, kind)
        self.seconds = time.perf_counter() - started

    def result(self) -> Provenance:
        self._thread.join()
        return self._result
