"""Tests for the architecture registry."""

from __future__ import annotations

import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.models import registry


def test_xception_is_registered():
    assert "xception" in registry.list_architectures()


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
