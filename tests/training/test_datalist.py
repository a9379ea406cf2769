"""Training-data list: provenance from the nearest manifest, hashes, labels."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from deepfake_analyzer.training.datalist import write_training_list
from deepfake_analyzer.training.sources import FAKE, REAL, LabeledItem, discover_labeled


def test_identity_manifest_layout_and_training_list(tmp_path: Path) -> None:
    root = tmp_path / "wild"
    (root / "videos").mkdir(parents=True)
    (root / "videos" / "a.mp4").write_bytes(b"fake bytes")
    (root / "videos" / "b.mp4").write_bytes(b"real bytes")
    (root / "manifest.csv").write_text(
        "file,label,kind,source,commit_or_version,source_path,how_label_known,identity,generator\n"
        "videos/a.mp4,fake,video,o/r,abc,out/a.mp4,README says so,p1,Wav2Lip\n"
        "videos/b.mp4,real,video,o/r,abc,in/b.mp4,input clip,p1,real\n"
    )
    items = discover_labeled(root)
    assert [(i.label, i.group, i.method, i.kind) for i in items] == [
        (FAKE, "p1", "Wav2Lip", "video"),
        (REAL, "p1", "real", "video"),
    ]
    other = tmp_path / "loose.png"
    other.write_bytes(b"png")
    items.append(LabeledItem(other, REAL, "loose", "x", "real", "image"))
    out = tmp_path / "list.csv"
    assert write_training_list(items, out) == 3
    rows = {r["file"]: r for r in csv.DictReader(out.open())}
    a = rows["wild/videos/a.mp4"]
    assert a["sha256"] == hashlib.sha256(b"fake bytes").hexdigest()
    assert (a["label"], a["generator"], a["family"]) == ("fake", "wav2lip", "lip-sync")
    assert (a["source"], a["commit"], a["source_path"]) == ("o/r", "abc", "out/a.mp4")
    assert a["how_label_known"] == "README says so"
    assert rows["loose.png"]["source"] == ""
