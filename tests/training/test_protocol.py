"""Leave-generator-out protocol: coverage of the held-out set, the split rules, the table."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from deepfake_analyzer.training import protocol
from deepfake_analyzer.training.protocol import (
    FAMILIES,
    HELDOUT_GENERATORS,
    TRAINED_IDENTITIES,
    canonical_generator,
    family_of,
    hashed_heldout,
    person_of,
    protocol_table,
    split_protocol,
)
from deepfake_analyzer.training.sources import FAKE, REAL, LabeledItem


def item(name: str, label: int, group: str, method: str, kind: str = "video") -> LabeledItem:
    suffix = ".mp4" if kind == "video" else ".png"
    return LabeledItem(Path(name + suffix), label, group, "wild", method, kind)  # type: ignore[arg-type]


def test_heldout_generators_cover_every_family_and_at_least_30_percent() -> None:
    assert set(FAMILIES) >= HELDOUT_GENERATORS
    assert {FAMILIES[g] for g in HELDOUT_GENERATORS} == set(FAMILIES.values())
    assert len(HELDOUT_GENERATORS) >= 0.3 * len(FAMILIES)


def test_prose_method_names_map_to_generators() -> None:
    assert canonical_generator("LivePortrait portrait video editing") == "liveportrait"
    assert canonical_generator("roop face swap (inswapper)") == "roop-inswapper"
    assert canonical_generator("StyleGAN2") == "stylegan2"
    assert family_of("real") == "real"
    assert family_of("some-new-method") == "other"


def test_identity_coin_is_seeded_and_near_its_fraction() -> None:
    groups = [f"person-{i}" for i in range(2000)]
    share = np.mean([hashed_heldout(g) for g in groups])
    assert 0.25 < share < 0.35
    assert [hashed_heldout(g) for g in groups] == [hashed_heldout(g) for g in groups]


def _seen_group(prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(1000) if not hashed_heldout(f"{prefix}{i}"))


def _hidden_group(prefix: str) -> str:
    return next(f"{prefix}{i}" for i in range(1000) if hashed_heldout(f"{prefix}{i}"))


def test_split_holds_out_generators_their_people_and_hashed_people() -> None:
    seen, paired, hidden = _seen_group("a"), _seen_group("b"), _hidden_group("c")
    items = [
        item("seen_real", REAL, seen, "real"),
        item("seen_fake", FAKE, seen, "wav2lip"),  # seen generator, seen person: train
        item("heldout_fake", FAKE, paired, "anitalker"),  # held-out generator
        item("paired_real", REAL, paired, "real"),  # its input person: held out
        item("paired_other_fake", FAKE, paired, "wav2lip"),  # seen generator, that person
        item("hidden_real", REAL, hidden, "real"),
        item("hidden_fake", FAKE, hidden, "fsrt"),
    ]
    split = split_protocol(items)
    names = {k: {i.path.stem for i in getattr(split, k)} for k in ("train", "heldout", "excluded")}
    assert names["train"] == {"seen_real", "seen_fake"}
    assert names["heldout"] == {"heldout_fake", "paired_real", "hidden_real"}
    assert names["excluded"] == {"paired_other_fake", "hidden_fake"}
    assert not {i.group for i in split.train} & split.heldout_groups()
    assert set(split_protocol(list(reversed(items))).heldout) == set(split.heldout)


def test_a_person_a_shipped_model_trained_on_stays_on_the_training_side() -> None:
    trained = sorted(TRAINED_IDENTITIES)[0]
    assert not hashed_heldout(trained)
    items = [
        item("trained_real", REAL, trained, "real"),
        item("trained_seen_fake", FAKE, trained, "wav2lip"),
        item("trained_heldout_fake", FAKE, trained, "float"),  # held-out generator
    ]
    split = split_protocol(items)
    assert {i.path.stem for i in split.train} == {"trained_real", "trained_seen_fake"}
    assert {i.path.stem for i in split.excluded} == {"trained_heldout_fake"}
    assert not split.heldout


def test_one_person_under_several_names_is_on_one_side(monkeypatch: pytest.MonkeyPatch) -> None:
    seen, alias = _seen_group("d"), _hidden_group("e")  # one person: trained under `seen`
    hidden, other = _hidden_group("f"), _hidden_group("g")  # one person, both names held out
    paired, named = _seen_group("h"), _hidden_group("i")  # a held-out generator shows `paired`
    people = {seen: seen, alias: seen, hidden: hidden, other: hidden, paired: named, named: named}
    monkeypatch.setattr(protocol, "_same_people", lambda: people)
    monkeypatch.setattr(protocol, "_trained_people", frozenset)
    items = [
        item("seen_real", REAL, seen, "real"),
        item("alias_real", REAL, alias, "real"),  # held out by its name alone
        item("alias_seen_fake", FAKE, alias, "wav2lip"),
        item("alias_heldout_fake", FAKE, alias, "anitalker"),  # a person trained on
        item("hidden_real", REAL, hidden, "real"),
        item("other_real", REAL, other, "real"),
        item("paired_fake", FAKE, paired, "anitalker"),
        item("paired_real", REAL, paired, "real"),
        item("named_real", REAL, named, "real"),
    ]
    split = split_protocol(items)
    names = {k: {i.path.stem for i in getattr(split, k)} for k in ("train", "heldout", "excluded")}
    assert names["train"] == {"seen_real", "alias_real", "alias_seen_fake"}
    assert names["heldout"] == {"hidden_real", "other_real", "paired_fake", "paired_real",
                                "named_real"}  # fmt: skip
    assert names["excluded"] == {"alias_heldout_fake"}
    persons = {person_of(i.group) for i in split.train}
    assert not persons & {person_of(i.group) for i in split.heldout}
    monkeypatch.setattr(protocol, "_same_people", dict)  # by name alone, as before the table
    before = split_protocol(items)
    assert set(split.heldout) <= set(before.heldout)
    assert {i.path.stem for i in before.heldout} == names["heldout"] | {
        "alias_real",
        "alias_heldout_fake",
    }


def test_a_person_the_table_marks_trained_is_trained_without_its_folders(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    named, alias = _hidden_group("j"), _hidden_group("k")  # trained in a folder not given
    monkeypatch.setattr(protocol, "_same_people", lambda: {named: named, alias: named})
    monkeypatch.setattr(protocol, "_trained_people", lambda: frozenset({named}))
    items = [
        item("alias_real", REAL, alias, "real"),
        item("alias_heldout_fake", FAKE, alias, "anitalker"),
        item("stranger_real", REAL, _hidden_group("l"), "real"),
    ]
    split = split_protocol(items)
    assert {i.path.stem for i in split.heldout} == {"stranger_real"}
    assert {i.path.stem for i in split.train} == {"alias_real"}
    assert {i.path.stem for i in split.excluded} == {"alias_heldout_fake"}


def test_the_shipped_table_names_one_person_per_set_of_groups() -> None:
    people: dict[str, set[str]] = {}
    for group in protocol._same_people():
        people.setdefault(person_of(group), set()).add(group)
    assert len(people) > 100
    assert all(len(groups) >= 2 and person in groups for person, groups in people.items())
    assert person_of("obama") == person_of("barack-obama") == person_of("person-barack-obama")
    assert person_of("celebahq-00511") == person_of("celebahq-hfgi-00511")
    assert person_of("nobody-in-the-table") == "nobody-in-the-table"
    assert person_of("aflw2000-image02202") in protocol._trained_people()


def test_a_named_person_is_one_person_with_its_bare_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(protocol, "_same_people", dict)  # no table: by name alone
    assert person_of("person-ada-lovelace") == person_of("ada-lovelace") == "ada-lovelace"
    trained = sorted(TRAINED_IDENTITIES)[0]
    named = f"person-{trained}"
    items = [
        item("trained_real", REAL, trained, "real"),
        item("named_heldout_fake", FAKE, named, "float"),  # a held-out generator shows them
        item("named_seen_fake", FAKE, named, "wav2lip"),
    ]
    split = split_protocol(items)
    assert {i.path.stem for i in split.excluded} == {"named_heldout_fake"}
    assert {i.path.stem for i in split.train} == {"trained_real", "named_seen_fake"}


def test_table_people_apart_by_descriptor_are_joined_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = (
        {"group": "a-clip", "person": "a-clip", "trained": "yes"},
        {"group": "ada-lovelace", "person": "a-clip", "trained": "yes"},
        {"group": "b-photo", "person": "b-photo", "trained": "no"},
        {"group": "person-ada-lovelace", "person": "b-photo", "trained": "no"},
        {"group": "c-photo", "person": "c-photo", "trained": "no"},
        {"group": "c-still", "person": "c-photo", "trained": "no"},
    )
    monkeypatch.setattr(protocol, "_same_people_rows", lambda: rows)
    people = protocol._same_people.__wrapped__()
    assert {people[g] for g in ("a-clip", "ada-lovelace", "b-photo", "person-ada-lovelace")} == {
        "a-clip"
    }
    assert people["c-still"] == "c-photo"


def test_the_shipped_table_joins_named_people_the_descriptors_missed() -> None:
    assert person_of("person-donald-trump") == person_of("donald-trump")
    assert person_of("person-donald-trump") in protocol._trained_people()


@dataclass(frozen=True)
class Score:
    label: int
    kind: str
    method: str
    score: float
    group: str = "someone"
    face_width: float = math.nan
    raised_thresholds: tuple[float, float] | None = None


def test_table_compares_fakes_with_reals_of_the_same_medium() -> None:
    scored = [
        Score(REAL, "video", "real", 0.1, "ann"),
        Score(REAL, "video", "real", 0.8, "bob"),
        Score(FAKE, "video", "anitalker", 0.9),
        Score(FAKE, "video", "hyperlips", 0.5),
        Score(REAL, "image", "real", 0.2),
        Score(FAKE, "image", "stylegan2", 0.1),
    ]
    table = protocol_table(scored, fake_threshold=0.7, suspicious_threshold=0.5)
    video = table.row("video")
    assert video is not None and (video.num_real, video.num_fake) == (2, 2)
    assert video.auc == pytest.approx(0.75)  # 0.9 beats both reals, 0.5 beats one of two
    # two people and two generators say little: a resample of bob twice and hyperlips twice
    # gives 0, one of ann twice gives 1
    assert video.auc_low == pytest.approx(0.0) and video.auc_high == pytest.approx(1.0)
    assert table.row("video/talking-head").auc == pytest.approx(1.0)  # type: ignore[union-attr]
    assert table.row("video/hyperlips").auc == pytest.approx(0.5)  # type: ignore[union-attr]
    assert table.row("image").auc == pytest.approx(0.0)  # type: ignore[union-attr]
    assert table.real_fpr == {"video": 0.5, "image": 0.0}
    # ann's clip stays under 0.7, bob's reaches it: a resample holds 0, 1 or 2 of bob's
    interval = table.real_fpr_interval["video"]
    assert (interval.value, interval.low, interval.high) == (0.5, 0.0, 1.0)
    assert "reals 50.0% / 50.0% (95 %: 0.0%-100.0%)" in table.rates_text()
    video_rates = table.rates["video"]  # reals 0.1, 0.8; fakes 0.9, 0.5 at 0.5 and 0.7
    assert (video_rates.real_at_suspicious, video_rates.real_at_fake) == (0.5, 0.5)
    assert (video_rates.fake_at_suspicious, video_rates.fake_at_fake) == (1.0, 0.5)
    assert table.rates["image"].fake_at_suspicious == 0.0
    assert table.worst_family().name == "image/gan-face"  # type: ignore[union-attr]
    data = table.to_dict()
    assert data["rows"][0]["name"] == "video" and "heldout_generators" in data["protocol"]
    assert data["real_fpr_at_fake_interval"] == {"video": [0.0, 1.0], "image": [0.0, 0.0]}


def test_rates_read_the_thresholds_each_verdict_read() -> None:
    # a real video of several people whose verdict read raised thresholds (0.75, 0.85) is
    # not at fake at 0.8; its score and the AUC stay what they are
    scored = [
        Score(REAL, "video", "real", 0.8, "ann", raised_thresholds=(0.75, 0.85)),
        Score(REAL, "video", "real", 0.8, "bob"),
        Score(FAKE, "video", "anitalker", 0.9, raised_thresholds=(0.75, 0.95)),
    ]
    table = protocol_table(scored, fake_threshold=0.7, suspicious_threshold=0.5)
    rates = table.rates["video"]
    assert (rates.real_at_suspicious, rates.real_at_fake) == (1.0, 0.5)
    assert (rates.fake_at_suspicious, rates.fake_at_fake) == (1.0, 0.0)
    assert table.row("video").auc == pytest.approx(1.0)  # type: ignore[union-attr]


def test_face_size_rows_compare_fakes_and_reals_of_one_face_size() -> None:
    scored = [Score(FAKE, "image", "stylegan2", 0.95)]  # no face width: in no size row
    for width, count in ((60.0, 10), (99.9, 0), (150.0, 9), (200.0, 10), (800.0, 0)):
        scored += [Score(REAL, "image", "real", 0.2 + 0.05 * (i % 3), f"r{width}-{i}", width)
                   for i in range(12)]  # fmt: skip
        fake = 0.25 if width < 100 else 0.9  # small faces: fakes score as reals do
        scored += [Score(FAKE, "image", "stylegan2", fake, f"f{width}-{i}", width)
                   for i in range(count)]  # fmt: skip
    scored.append(Score(REAL, "video", "real", 0.5, "v", 60.0))
    table = protocol_table(scored, fake_threshold=0.7, suspicious_threshold=0.5)
    sizes = [r for r in table.rows if r.by == "face_size"]
    assert [r.name for r in sizes] == ["image/faces under 100 px", "image/faces 200 px or more"]
    small, large = sizes
    assert (small.num_real, small.num_fake, large.num_real, large.num_fake) == (24, 10, 24, 10)
    assert math.isnan(small.face_px_low) and small.face_px_high == 100.0
    assert large.face_px_low == 200.0 and math.isnan(large.face_px_high)
    assert small.auc == pytest.approx(0.5, abs=0.1) and large.auc == pytest.approx(1.0)
    assert table.row("image").num_fake == 30  # type: ignore[union-attr]
    data = table.to_dict()["rows"]
    assert [r["face_px_high"] for r in data if r["by"] == "face_size"] == [100.0, None]


def test_excluded_sources_are_neither_trained_nor_judged() -> None:
    items = [
        item("dfdc_fake", FAKE, "dfdc:abc", "DFDC full train set (part 0)"),
        item("dfdc_real", REAL, "dfdc:abc", "real"),
        item("other_real", REAL, "person-a", "real"),
    ]
    split = split_protocol(items)
    assert {i.path.stem for i in split.excluded} >= {"dfdc_fake", "dfdc_real"}
    assert not {i.path.stem for i in split.train + split.heldout} & {"dfdc_fake", "dfdc_real"}
