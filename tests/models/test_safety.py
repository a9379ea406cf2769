"""Tests for finding code in Keras model configs before deserializing them."""

from __future__ import annotations

import pytest

from deepfake_analyzer.models.safety import find_code

KNOWN = frozenset({"InputLayer", "Conv2D", "Dense"})


def _layer(class_name, name, module=None, **config):
    node = {"class_name": class_name, "config": {"name": name, **config}}
    if module is not None:
        node["module"] = module
    return node


def _model(*layers):
    return {"class_name": "Functional", "config": {"name": "m", "layers": list(layers)}}


def test_plain_keras_model_has_no_code():
    config = _model(
        _layer("InputLayer", "in", "keras.layers"),
        _layer(
            "Dense",
            "d",
            "keras.layers",
            activation="sigmoid",
            kernel_initializer={
                "module": "keras.initializers",
                "class_name": "GlorotUniform",
                "config": {},
            },
        ),
    )
    assert find_code(config, KNOWN) == []


def test_lambda_layer_in_nested_model_is_found():
    inner = _model(
        _layer("Lambda", "scale", function={"class_name": "__lambda__", "config": {"code": "AAA"}})
    )
    inner["config"]["name"] = "inner"
    found = find_code(_model(_layer("InputLayer", "in"), inner), KNOWN)
    assert [f.describe() for f in found] == ["Lambda layer 'scale'"]


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (_layer("MyLayer", "x"), "custom object 'MyLayer'"),  # legacy h5: no module key
        (
            _layer("MyLayer", "x", "my_pkg.layers"),
            "custom object 'MyLayer' from module 'my_pkg.layers'",
        ),
        (_layer("Dense", "x", "kerasevil"), "custom object 'Dense' from module 'kerasevil'"),
        (
            _layer(
                "Dense",
                "x",
                "keras.layers",
                activation={"module": "__main__", "class_name": "function", "config": "swishy"},
            ),
            "custom function 'swishy' from module '__main__'",
        ),
    ],
)
def test_custom_objects_are_found(node, expected):
    assert [f.describe() for f in find_code(_model(node), KNOWN)] == [expected]
