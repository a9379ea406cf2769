"""The shipped default model (when `models/` has one): size budget, hash, and sane scores."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer import paths
from deepfake_analyzer.models.loader import load_classifier
from deepfake_analyzer.models.spec import ModelSpec

WEIGHTS_BUDGET_BYTES = 50 * 1000 * 1000

pytestmark = [pytest.mark.real_models, pytest.mark.slow]


@pytest.fixture(scope="module")
def default_spec() -> ModelSpec:
    if not paths.DEFAULT_CLASSIFIER_SPEC.is_file():
        pytest.skip("no default model is shipped in models/ yet")
    return ModelSpec.load(paths.DEFAULT_CLASSIFIER_SPEC)


def test_default_weights_fit_the_budget_and_have_a_hash(default_spec, shipped_single_models):
    weights = paths.DEFAULT_CLASSIFIER_SPEC.parent / default_spec.weights_file
    assert weights.stat().st_size <= WEIGHTS_BUDGET_BYTES
    assert len(default_spec.weights_sha256) == 64
    for spec_path in shipped_single_models:  # a blend's members: each file within the budget
        member = ModelSpec.load(spec_path)
        assert (spec_path.parent / member.weights_file).stat().st_size <= WEIGHTS_BUDGET_BYTES
        assert len(member.weights_sha256) == 64


def test_default_model_scores_are_probabilities(default_spec):
    classifier = load_classifier(None, batch_size=4)
    assert classifier.sha256 == default_spec.weights_sha256
    size = default_spec.input_size
    crops = np.random.default_rng(0).integers(0, 256, (6, size, size, 3), dtype=np.uint8)
    scores = classifier.predict(crops)
    assert scores.shape == (6,)
    assert np.all(np.isfinite(scores)) and np.all((scores >= 0) & (scores <= 1))


def test_default_thresholds_rise_for_several_faces(default_spec):
    # v12's real videos: log-odds std ~0.5 -> fake 0.77 for one face, ~0.81 for four
    thresholds = default_spec.thresholds
    assert thresholds.real_std is not None and 0.2 < thresholds.real_std < 2.0
    four = thresholds.for_faces(4)
    assert thresholds.fake < four.fake < 0.9 and thresholds.suspicious < four.suspicious


def test_the_default_track_head_reads_each_crop_beside_its_score(default_spec):
    from deepfake_analyzer.models.base import MemberEvidenceClassifier

    classifier = load_classifier(None, batch_size=4)
    if not isinstance(classifier, MemberEvidenceClassifier) or not classifier.has_track_head:
        pytest.skip("the shipped default has no track head")
    size = default_spec.input_size
    crops = np.random.default_rng(1).integers(0, 256, (6, size, size, 3), dtype=np.uint8)
    crops[:3] //= 2  # darker noise: another texture, another head value
    read = classifier.scores(crops)
    assert read.track is not None and read.track.shape == (6,)
    assert np.all(np.isfinite(read.track)) and np.ptp(read.track) > 0
    np.testing.assert_allclose(read.probability, classifier.predict(crops), atol=1e-6)
