"""Tests for the architecture registry."""

from __future__ import annotations

import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models import registry


def test_xception_is_registered():
    assert "xception" in registry.list_architectures()


@pytest.mark.slow
def test_each_texture_region_is_registered_and_builds_its_cut():
    from deepfake_analyzer.models.texture import ARCHITECTURES

    assert {"efficientnet-lite0-texture", "efficientnet-lite0-texture-mouth"} <= set(
        registry.list_architectures()
    )
    layers = {
        region: {layer.name for layer in registry.create_architecture(name, 64).layers}
        for region, name in ARCHITECTURES.items()
    }
    assert "region_cut" in layers["mouth"] and "region_cut" not in layers["face"]


def test_unknown_architecture_suggests_a_name():
    with pytest.raises(ModelError, match="did you mean 'xception'"):
        registry.create_architecture("xceptoin", 96)


def test_register_and_create(monkeypatch, make_tiny):
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    registry.register_architecture("tiny", make_tiny)
    model = registry.create_architecture("tiny", 48)
    assert tuple(model.input.shape) == (None, 48, 48, 3)
    with pytest.raises(ValueError, match="already registered"):
        registry.register_architecture("tiny", lambda size: None)


def test_invalid_input_size_is_a_model_error():
    with pytest.raises(ModelError, match="between 71"):
        registry.create_architecture("xception", 64)
