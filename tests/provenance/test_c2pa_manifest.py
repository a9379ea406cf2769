"""C2PA: signed, tampered, broken and absent manifests, read offline."""

from __future__ import annotations

from pathlib import Path

from c2pa_factory import IPTC, SIGNER_NAME

from deepfake_analyzer.provenance import read_provenance
from deepfake_analyzer.provenance.c2pa_manifest import read_c2pa


def test_valid_manifest_says_what_made_the_file(ai_signed_jpeg: Path) -> None:
    c2pa = read_c2pa(ai_signed_jpeg)
    assert c2pa.status == "valid", c2pa.problems  # good signature, signer on no trust list
    assert c2pa.signer == SIGNER_NAME and c2pa.issuer == "Test Org"
    assert c2pa.digital_source_types == (IPTC + "trainedAlgorithmicMedia",)
    assert "c2pa.created" in c2pa.actions
    assert c2pa.claim_generator == "deepfake-analyzer tests 1.0"
    assert c2pa.problems == ()
    provenance = read_provenance(ai_signed_jpeg, "image")
    assert provenance.generated_claims == ("c2pa",)
    assert provenance.summary().startswith(f"C2PA valid (signed by {SIGNER_NAME})")
    assert "trainedAlgorithmicMedia (created by a trained AI model)" in " ".join(
        provenance.findings()
    )


def test_tampered_file_fails_validation_with_the_reason(tampered_signed_jpeg: Path) -> None:
    c2pa = read_c2pa(tampered_signed_jpeg)
    assert c2pa.status == "invalid"
    assert any("dataHash.mismatch" in problem for problem in c2pa.problems), c2pa.problems
    provenance = read_provenance(tampered_signed_jpeg, "image")
    assert provenance.generated_claims == ("c2pa-invalid",), "a claim, but not a validated one"
    assert provenance.summary().startswith("C2PA invalid")


def test_broken_manifest_is_a_clear_result_not_a_crash(broken_manifest_jpeg: Path) -> None:
    provenance = read_provenance(broken_manifest_jpeg, "image")
    assert provenance.c2pa.status == "unreadable"
    assert len(provenance.c2pa.problems) == 1 and provenance.c2pa.problems[0].strip()
    assert provenance.errors == ()
    assert provenance.summary().startswith("C2PA unreadable")


def test_no_manifest(unlabeled_jpeg: Path) -> None:
    provenance = read_provenance(unlabeled_jpeg, "image")
    assert provenance.c2pa.status == "absent"
    assert provenance.generated_claims == ()
    assert provenance.summary() == "no C2PA; no camera or software labels"


def test_file_that_is_not_media_gives_errors_not_exceptions(tmp_path: Path) -> None:
    path = tmp_path / "notes.jpg"
    path.write_text("not an image\n")
    provenance = read_provenance(path, "image")
    assert provenance.c2pa.status in ("absent", "unreadable", "unsupported")
    assert provenance.errors and "metadata could not be read" in provenance.errors[0]


def test_a_remote_manifest_is_not_fetched(tmp_path: Path) -> None:
    """Offline by design: a manifest referenced by URL (XMP dcterms:provenance) is reported,
    never downloaded."""
    from c2pa_factory import face_jpeg_bytes

    url = "https://example.invalid/manifest.c2pa"
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        f'xmlns:dcterms="http://purl.org/dc/terms/" dcterms:provenance="{url}"/></rdf:RDF>'
        "</x:xmpmeta>"
    ).encode()
    path = tmp_path / "remote.jpg"
    path.write_bytes(face_jpeg_bytes(xmp=xmp))
    c2pa = read_c2pa(path)
    assert c2pa.status == "unreadable"
    assert url in c2pa.problems[0] and "fetch" in c2pa.problems[0]
