"""Test media with provenance labels, made here: C2PA-signed images (a throw-away CA and signer
generated per session with `cryptography`), tampered and broken copies, EXIF/XMP-tagged images.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/"
SIGNER_NAME = "Deepfake Analyzer Test Signer"


@dataclass(frozen=True)
class Credentials:
    """A PEM certificate chain (signer, then CA) and the signer's PEM private key."""

    chain_pem: bytes
    key_pem: bytes


def make_credentials() -> Credentials:
    """A CA and an ES256 signing certificate with the extensions C2PA requires."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(common_name: str) -> x509.Name:
        return x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test Org"),
            ]
        )

    def usage(**flags: bool) -> x509.KeyUsage:
        names = ("digital_signature", "content_commitment", "key_encipherment",
                 "data_encipherment", "key_agreement", "key_cert_sign", "crl_sign",
                 "encipher_only", "decipher_only")  # fmt: skip
        return x509.KeyUsage(**{n: flags.get(n, False) for n in names})

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(name(SIGNER_NAME))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage(digital_signature=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return Credentials(
        chain_pem=leaf.public_bytes(pem) + ca.public_bytes(pem),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )


def face_jpeg_bytes(**save_options: object) -> bytes:
    """A 96x96 JPEG with one dim square "face" (`SquareFaceDetector` finds it)."""
    from PIL import Image

    image = np.full((96, 96, 3), 10, dtype=np.uint8)
    image[20:70, 20:70] = 90
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "JPEG", quality=90, **save_options)
    return buffer.getvalue()


def sign_jpeg(source: bytes, path: Path, creds: Credentials, source_type: str) -> Path:
    """Embed a signed C2PA manifest ("created", with `source_type`) into the JPEG `source`."""
    import c2pa

    manifest = {
        "claim_generator_info": [{"name": "deepfake-analyzer tests", "version": "1.0"}],
        "title": path.name,
        "assertions": [
            {
                "label": "c2pa.actions",
                "data": {
                    "actions": [{"action": "c2pa.created", "digitalSourceType": IPTC + source_type}]
                },
            }
        ],
    }
    info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, creds.chain_pem, creds.key_pem, None)
    signed = io.BytesIO()
    with c2pa.Signer.from_info(info) as signer, c2pa.Builder(manifest) as builder:
        builder.sign(signer, "image/jpeg", io.BytesIO(source), signed)
    path.write_bytes(signed.getvalue())
    return path


def tampered_copy(signed: Path, path: Path) -> Path:
    """The signed JPEG with two bytes of its compressed pixels flipped (the manifest intact)."""
    data = bytearray(signed.read_bytes())
    for offset in (-20, -30):  # entropy-coded data, just before the end-of-image marker
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def broken_manifest_copy(signed: Path, path: Path) -> Path:
    """The signed JPEG with 40 bytes inside its C2PA (JUMBF) box zeroed."""
    data = bytearray(signed.read_bytes())
    start = data.find(b"jumb") + 40
    data[start : start + 40] = bytes(40)
    path.write_bytes(bytes(data))
    return path


def xmp_packet(source_type: str, creator_tool: str) -> bytes:
    """An XMP packet with an IPTC digital source type and an XMP creator tool."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/" '
        f'Iptc4xmpExt:DigitalSourceType="{IPTC}{source_type}" xmp:CreatorTool="{creator_tool}"/>'
        "</rdf:RDF></x:xmpmeta>"
    ).encode()


def tagged_jpeg_bytes(make: str, model: str, software: str, xmp: bytes | None = None) -> bytes:
    """The face JPEG with EXIF make/model/software (and an XMP packet when given)."""
    from PIL import Image

    exif = Image.Exif()
    exif[271], exif[272], exif[305] = make, model, software
    options: dict[str, object] = {"exif": exif}
    if xmp is not None:
        options["xmp"] = xmp
    return face_jpeg_bytes(**options)
