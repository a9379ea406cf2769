"""The model `scripts/train_default.sh` produced: a smoke test on the generated sample media."""

from __future__ import annotations

import pytest

from deepfake_analyzer import paths
from deepfake_analyzer.models.spec import ModelSpec

pytestmark = [pytest.mark.real_models, pytest.mark.slow]


@pytest.fixture(scope="module")
def scores() -> dict[str, tuple[str, float]]:
    if not paths.DEFAULT_CLASSIFIER_SPEC.is_file():
        pytest.skip("no default model is shipped in models/ yet")
    from deepfake_analyzer.pipeline import Analyzer

    analyzer = Analyzer()
    out = {}
    for name in ("astronaut.jpg", "real_pan_zoom.mp4", "manipulated_pan_zoom.mp4"):
        report = analyzer.analyze(paths.SAMPLE_MEDIA_DIR / name)
        out[name] = (report.verdict.label, float(report.verdict.score))
        texture = report.tracks[0].texture if report.tracks else None
        if texture is not None and not texture.reason:  # the crops' score before the head
            out[f"{name} before the track head"] = ("", float(texture.before))
    return out


def test_spec_records_the_training_run() -> None:
    """`train_default.sh` writes the Xception, the first member of the v3-v9 blends."""
    xception = paths.MODELS_DIR / "deepfake_xception.spec.json"
    if not xception.is_file():
        pytest.skip("no default model is shipped in models/ yet")
    spec = ModelSpec.load(xception)
    assert spec.architecture == "xception" and spec.crop_margin == 1.3
    assert spec.training["steps"] > 0 and spec.training["counts"]["train_real_crops"] > 0


def test_sample_media_real_faces_stay_below_fake_and_self_blended_scores_higher(scores) -> None:
    assert scores["astronaut.jpg"][0] == "real"
    # The real clip pans over one still photo: every frame is the same face, resampled. The
    # track head reads its mean texture as generated (what image-animation generators make),
    # and from deepfake_v23 on (head weight 0.5) it carries the clip to `fake` at the threshold
    # (0.826; models/deepfake_v23.md). Its faces themselves must stay below `fake`.
    fake = ModelSpec.load(paths.DEFAULT_CLASSIFIER_SPEC).thresholds.fake
    assert (
        scores.get("real_pan_zoom.mp4 before the track head", scores["real_pan_zoom.mp4"])[1] < fake
    )
    # v2 and v3 rank the self-blended twin above the real clip but only just (models/README.md):
    # its verdict is judged on the leave-generator-out table, not on this synthetic pair
    assert scores["manipulated_pan_zoom.mp4"][1] > scores["real_pan_zoom.mp4"][1]
