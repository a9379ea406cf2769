"""Tests for the Xception builder and its multiply-accumulate count."""

from __future__ import annotations

import numpy as np
import pytest

from deepfake_analyzer.models.xception import (
    HEAD_DENSE_NAME,
    build_xception,
    count_macs,
    validate_xception_args,
    xception_macs,
)

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"input_size": 70}, "between 71"),
        ({"input_size": 2000}, "between 71"),
        ({"input_size": 96.0}, "must be an int"),
        ({"input_size": 96, "dropout": 1.0}, "dropout"),
        ({"input_size": 96, "bn_momentum": 1.0}, "bn_momentum"),
    ],
)
def test_bad_arguments_are_refused_before_building(kwargs, match):
    with pytest.raises(ValueError, match=match):
        validate_xception_args(**kwargs)
    with pytest.raises(ValueError, match=match):
        build_xception(**kwargs)


def test_xception_builds_with_sigmoid_head_and_bn_momentum():
    import keras

    model = build_xception(71, dropout=0.3, bn_momentum=0.8)
    assert tuple(model.input.shape) == (None, 71, 71, 3)
    assert tuple(model.output.shape) == (None, 1)
    head = model.get_layer(HEAD_DENSE_NAME)
    assert head.activation.__name__ == "sigmoid"
    assert head.dtype_policy.compute_dtype == "float32"
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) > 30
    assert {layer.momentum for layer in norms} == {0.8}
    assert model.count_params() == 20_863_529
    x = np.random.default_rng(0).uniform(0, 1, (2, 71, 71, 3)).astype(np.float32)
    y = np.asarray(model(x, training=False))
    assert y.shape == (2, 1)
    assert np.all((y > 0) & (y < 1))
    assert xception_macs(71) == count_macs(model)


def test_xception_macs_match_published_flops():
    # NOTES.md: 16.8 GFLOP per crop at 299 px, 9.1 at 224, 4.6 at 160 (1 MAC = 2 FLOP).
    assert xception_macs(299) == 8_355_357_544
    assert 2 * xception_macs(224) / 1e9 == pytest.approx(9.1, abs=0.05)
    assert 2 * xception_macs(160) / 1e9 == pytest.approx(4.6, abs=0.05)
    assert xception_macs(73) > xception_macs(72) == xception_macs(71)
