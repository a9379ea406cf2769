"""Read and validate an input's C2PA manifest (Content Credentials) with `c2pa-python`.

Offline by design: remote manifests and OCSP are never fetched (the reader's settings turn
both off), so a manifest is judged only on what the file holds: the claim signature, the
certificate's validity period and the hashes that bind the manifest to the content. The
library's own trust list is empty here, so a good signature is `valid`, not `trusted`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from deepfake_analyzer.provenance.types import C2paEvidence, C2paStatus

OFFLINE_SETTINGS: dict[str, Any] = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}
MAX_PROBLEMS = 8
VALIDATION_STATES: dict[str, C2paStatus] = {"trusted": "trusted", "valid": "valid"}
"""The reader's validation states we report as they are; any other state is `invalid`."""


def read_c2pa(path: Path) -> C2paEvidence:
    """The file's C2PA evidence; a broken manifest is a result (`unreadable`), not an error."""
    import c2pa

    try:
        context = c2pa.Context(c2pa.Settings.from_dict(OFFLINE_SETTINGS))
        reader = c2pa.Reader.try_create(str(path), context=context)
    except c2pa.C2paError.NotSupported:
        return C2paEvidence(status="unsupported")
    except c2pa.C2paError as exc:
        return C2paEvidence(status="unreadable", problems=(_one_line(str(exc)),))
    if reader is None:
        return C2paEvidence(status="absent")
    with reader:
        return _evidence(reader)


def _evidence(reader: Any) -> C2paEvidence:
    state = (reader.get_validation_state() or "").lower()
    status = VALIDATION_STATES.get(state, "invalid")
    results = reader.get_validation_results() or {}
    failures = (results.get("activeManifest") or {}).get("failure") or []
    # no trust list is configured (offline): "untrusted signer" is every signer, said by status
    failures = [f for f in failures if f.get("code") != "signingCredential.untrusted"]
    problems = tuple(
        _one_line(f"{item.get('code', '?')}: {item.get('explanation', '')}".rstrip(": "))
        for item in failures[:MAX_PROBLEMS]
    )
    manifest = reader.get_active_manifest() or {}
    if status == "invalid" and not problems:
        problems = ("the manifest did not validate",)
    signature = manifest.get("signature_info") or {}
    actions: list[str] = []
    sources: list[str] = []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if action.get("action"):
                actions.append(str(action["action"]))
            if action.get("digitalSourceType"):
                sources.append(str(action["digitalSourceType"]))
    return C2paEvidence(
        status=status,
        signer=str(signature.get("common_name") or ""),
        issuer=str(signature.get("issuer") or ""),
        signed_utc=str(signature.get("time") or ""),
        claim_generator=_claim_generator(manifest),
        actions=tuple(dict.fromkeys(actions)),
        digital_source_types=tuple(dict.fromkeys(sources)),
        problems=problems,
    )


def _claim_generator(manifest: dict[str, Any]) -> str:
    info = manifest.get("claim_generator_info") or []
    if info and isinstance(info[0], dict):
        return " ".join(str(info[0].get(k, "")) for k in ("name", "version")).strip()
    return str(manifest.get("claim_generator") or "")


def _one_line(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."
