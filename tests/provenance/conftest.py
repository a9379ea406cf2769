"""Provenance fixtures: a session's signing credentials and the signed/tampered/tagged files."""

from __future__ import annotations

from pathlib import Path

import pytest
from c2pa_factory import (
    Credentials,
    broken_manifest_copy,
    face_jpeg_bytes,
    make_credentials,
    sign_jpeg,
    tampered_copy,
)


@pytest.fixture(scope="session")
def credentials() -> Credentials:
    return make_credentials()


@pytest.fixture(scope="session")
def provenance_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("provenance")


@pytest.fixture(scope="session")
def unlabeled_jpeg(provenance_dir: Path) -> Path:
    """The face JPEG with no C2PA, EXIF or XMP."""
    path = provenance_dir / "plain.jpg"
    path.write_bytes(face_jpeg_bytes())
    return path


@pytest.fixture(scope="session")
def ai_signed_jpeg(provenance_dir: Path, credentials: Credentials) -> Path:
    """The same pixels with a valid C2PA manifest saying trainedAlgorithmicMedia."""
    return sign_jpeg(
        face_jpeg_bytes(), provenance_dir / "signed.jpg", credentials, "trainedAlgorithmicMedia"
    )


@pytest.fixture(scope="session")
def tampered_signed_jpeg(ai_signed_jpeg: Path, provenance_dir: Path) -> Path:
    return tampered_copy(ai_signed_jpeg, provenance_dir / "tampered.jpg")


@pytest.fixture(scope="session")
def broken_manifest_jpeg(ai_signed_jpeg: Path, provenance_dir: Path) -> Path:
    return broken_manifest_copy(ai_signed_jpeg, provenance_dir / "broken.jpg")
