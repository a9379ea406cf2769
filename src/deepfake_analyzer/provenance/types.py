"""Provenance evidence: what an input's own labels say about its origin (typed, frozen).

Evidence sits beside the model's verdict and never changes its score: a valid C2PA manifest
that says "made by a trained model" is strong evidence of generation, but a missing label
says nothing (most files carry none, and labels are easily stripped), and metadata other
than a validated C2PA manifest can be written by anyone.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal

C2paStatus = Literal["absent", "trusted", "valid", "invalid", "unreadable", "unsupported"]
C2PA_STATUS_MEANING: dict[str, str] = {
    "absent": "no C2PA manifest in the file",
    "trusted": "signature and content hashes valid, signer on a trust list",
    "valid": "signature and content hashes valid (signer not on a trust list)",
    "invalid": "manifest present but validation failed: the file changed after signing, or the "
    "signature is bad",
    "unreadable": "a C2PA manifest is present but could not be parsed",
    "unsupported": "file type the C2PA reader cannot check",
}

IPTC_SOURCE_PREFIX = "http://cv.iptc.org/newscodes/digitalsourcetype/"
DIGITAL_SOURCE_TYPES: dict[str, str] = {
    "trainedAlgorithmicMedia": "created by a trained AI model",
    "compositeWithTrainedAlgorithmicMedia": "composite including AI-generated parts",
    "algorithmicMedia": "created by an algorithm without training data",
    "compositeSynthetic": "composite including synthetic parts",
    "algorithmicallyEnhanced": "enhanced by an algorithm",
    "digitalCapture": "captured by a digital camera",
    "computationalCapture": "captured with computational photography",
    "negativeFilm": "scanned from negative film",
    "positiveFilm": "scanned from positive film",
    "print": "scanned from a print",
    "humanEdits": "edited by a person",
    "minorHumanEdits": "lightly edited by a person",
    "compositeCapture": "composite of captured elements",
    "composite": "composite",
    "screenCapture": "screen capture",
    "digitalArt": "digital art made by a person",
    "dataDrivenMedia": "rendered from data",
    "virtualRecording": "recording of a virtual event",
}
"""The IPTC Digital Source Type vocabulary (the terms C2PA and XMP use), with their meaning."""
GENERATED_SOURCE_TYPES = frozenset(
    {"trainedAlgorithmicMedia", "compositeWithTrainedAlgorithmicMedia", "algorithmicMedia",
     "compositeSynthetic"}
)  # fmt: skip
"""Terms that declare the content (or part of it) generated rather than captured."""


def source_term(value: str) -> str:
    """`http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia` -> the term."""
    return value.rstrip("/").rsplit("/", 1)[-1]


def _any_generated(values: tuple[str, ...]) -> bool:
    return any(source_term(v) in GENERATED_SOURCE_TYPES for v in values)


def describe_source(value: str) -> str:
    term = source_term(value)
    meaning = DIGITAL_SOURCE_TYPES.get(term)
    return f"{term} ({meaning})" if meaning else term


@dataclass(frozen=True)
class C2paEvidence:
    """The C2PA manifest (Content Credentials), as the C2PA reference library validated it."""

    status: C2paStatus = "absent"
    signer: str = ""
    issuer: str = ""
    signed_utc: str = ""
    claim_generator: str = ""
    actions: tuple[str, ...] = ()
    digital_source_types: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.status not in C2PA_STATUS_MEANING:
            raise ValueError(f"unknown C2PA status {self.status!r}")

    @property
    def signature_ok(self) -> bool:
        return self.status in ("trusted", "valid")

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "signer": self.signer,
            "issuer": self.issuer,
            "signed_utc": self.signed_utc,
            "claim_generator": self.claim_generator,
            "actions": list(self.actions),
            "digital_source_types": list(self.digital_source_types),
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class MetadataEvidence:
    """Unsigned labels in the file: EXIF, XMP/IPTC, container tags. Anyone can write them."""

    digital_source_types: tuple[str, ...] = ()
    camera_make: str = ""
    camera_model: str = ""
    software: str = ""
    creator_tool: str = ""
    encoder: str = ""
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "digital_source_types": list(self.digital_source_types),
            "camera_make": self.camera_make,
            "camera_model": self.camera_model,
            "software": self.software,
            "creator_tool": self.creator_tool,
            "encoder": self.encoder,
            "created": self.created,
        }

    def camera(self) -> str:
        """Make and model, e.g. "Canon EOS R5" ('' when neither is set)."""
        return " ".join(v for v in (self.camera_make, self.camera_model) if v)

    def tool_labels(self, with_created: bool = True) -> list[tuple[str, str]]:
        """The set software labels as (name, value): software, creator tool, encoder, created."""
        labels = [
            ("software", self.software),
            ("creator tool", self.creator_tool),
            ("encoder", self.encoder),
        ]
        if with_created:
            labels.append(("created", self.created))
        return [(name, value) for name, value in labels if value]


@dataclass(frozen=True)
class Provenance:
    """Everything the input says about its own origin; `errors` lists what could not be read."""

    c2pa: C2paEvidence = C2paEvidence()
    metadata: MetadataEvidence = MetadataEvidence()
    errors: tuple[str, ...] = ()

    @property
    def generated_claims(self) -> tuple[str, ...]:
        """Which sources declare the content generated: "c2pa" (only when its signature
        validated), "c2pa-invalid" (claimed by a manifest that failed validation), "xmp"."""
        claims = []
        if _any_generated(self.c2pa.digital_source_types):
            claims.append("c2pa" if self.c2pa.signature_ok else "c2pa-invalid")
        if _any_generated(self.metadata.digital_source_types):
            claims.append("xmp")
        return tuple(claims)

    def findings(self) -> tuple[str, ...]:
        """One sentence per finding, most weighty first."""
        out: list[str] = []
        c2pa, meta = self.c2pa, self.metadata
        if c2pa.status in ("trusted", "valid", "invalid"):
            who = f" signed by {c2pa.signer}" if c2pa.signer else ""
            who += f" ({c2pa.issuer})" if c2pa.issuer and c2pa.issuer != c2pa.signer else ""
            out.append(f"C2PA manifest{who}: {C2PA_STATUS_MEANING[c2pa.status]}")
            if c2pa.digital_source_types:
                says = ", ".join(describe_source(v) for v in c2pa.digital_source_types)
                out.append(f"C2PA says: {says}")
            if c2pa.claim_generator:
                out.append(f"C2PA claim generator: {c2pa.claim_generator}")
            out.extend(f"C2PA problem: {p}" for p in c2pa.problems)
        elif c2pa.status == "unreadable":
            out.append(f"C2PA: {C2PA_STATUS_MEANING['unreadable']}")
            out.extend(f"C2PA problem: {p}" for p in c2pa.problems)
        if meta.digital_source_types:
            says = ", ".join(describe_source(v) for v in meta.digital_source_types)
            out.append(f"XMP digital source type (unsigned): {says}")
        if meta.camera():
            out.append(f"camera (EXIF/container, unsigned): {meta.camera()}")
        out.extend(f"{name} (unsigned): {value}" for name, value in meta.tool_labels())
        return tuple(out)

    def summary(self) -> str:
        """One line for the dashboard and the report's top."""
        c2pa = self.c2pa
        if c2pa.status in ("trusted", "valid", "invalid", "unreadable"):
            head = f"C2PA {c2pa.status}"
            if c2pa.signer and c2pa.status != "unreadable":
                head += f" (signed by {c2pa.signer})"
            if c2pa.digital_source_types:
                head += ": " + ", ".join(source_term(v) for v in c2pa.digital_source_types)
        elif c2pa.status == "unsupported":
            head = "C2PA not checked (file type)"
        else:
            head = "no C2PA"
        rest = []
        if self.metadata.digital_source_types:
            terms = ", ".join(source_term(v) for v in self.metadata.digital_source_types)
            rest.append(f"XMP source {terms}")
        meta = self.metadata
        if meta.camera():
            rest.append(f"camera {meta.camera()}")
        rest.extend(f"{name} {value}" for name, value in meta.tool_labels(with_created=False))
        return "; ".join([head, *rest]) if rest else f"{head}; no camera or software labels"

    def to_dict(self) -> dict[str, Any]:
        return {
            "summary": self.summary(),
            "generated_claims": list(self.generated_claims),
            "c2pa": self.c2pa.to_dict(),
            "metadata": self.metadata.to_dict(),
            "errors": list(self.errors),
        }


def provenance_from_dict(data: dict[str, Any]) -> Provenance:
    """Rebuild `Provenance` from its JSON form (`Provenance.to_dict`); missing parts are empty."""
    c2pa = data.get("c2pa") or {}
    meta = data.get("metadata") or {}
    return Provenance(
        c2pa=C2paEvidence(
            status=c2pa.get("status", "absent"),
            signer=str(c2pa.get("signer", "")),
            issuer=str(c2pa.get("issuer", "")),
            signed_utc=str(c2pa.get("signed_utc", "")),
            claim_generator=str(c2pa.get("claim_generator", "")),
            actions=tuple(str(v) for v in c2pa.get("actions", [])),
            digital_source_types=tuple(str(v) for v in c2pa.get("digital_source_types", [])),
            problems=tuple(str(v) for v in c2pa.get("problems", [])),
        ),
        metadata=MetadataEvidence(
            digital_source_types=tuple(str(v) for v in meta.get("digital_source_types", [])),
            **{
                f.name: str(meta.get(f.name, ""))
                for f in fields(MetadataEvidence)
                if f.name != "digital_source_types"
            },
        ),
        errors=tuple(str(v) for v in data.get("errors", [])),
    )
