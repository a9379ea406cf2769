"""Grad-CAM on the LiteRT runtime, without TensorFlow: `--explain` at the speed of inference.

Our classifiers end in global average pooling and a one-unit sigmoid dense layer (Xception:
`block14_sepconv2_act` -> MEAN -> FULLY_CONNECTED -> LOGISTIC in the `.tflite`). For such a
head the gradient of the logit with respect to the last activation A is w_k / (H W) at every
position, so Grad-CAM of the logit (what `gradcam.GradCam` computes through Keras) is exactly
ReLU(sum_k w_k A_k) up to a constant that the per-crop scaling to [0, 1] removes: the class
activation map. A is not an output of the model, so a copy of the flatbuffer whose one output
index is pointed at A (one int32 changed in place) runs on the same XNNPACK delegate as
classification; w is read from the flatbuffer. A model with another head is refused
(`ModelError`), and the caller falls back to Keras Grad-CAM.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.native_logs import quiet_native_stderr
from deepfake_analyzer.models.gradcam import _normalise

DEFAULT_BATCH_SIZE = 8
_NUMPY_TYPES = {0: np.float32, 1: np.float16}
"""TensorType FLOAT32 and FLOAT16: the weight types a float model stores."""


class LiteRTGradCam:
    """Heatmaps (N, H, W) in [0, 1] for preprocessed crops, from a `.tflite` classifier."""

    def __init__(
        self, tflite_path: Path | str, num_threads: int = 1, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> None:
        from ai_edge_litert.interpreter import Interpreter

        self.path = Path(tflite_path)
        self.batch_size = batch_size
        content, self.weights = activation_model(self.path.read_bytes())
        with quiet_native_stderr():
            self._interpreter: Any = Interpreter(model_content=content, num_threads=num_threads)
        self._input = self._interpreter.get_input_details()[0]
        self._output_index = int(self._interpreter.get_output_details()[0]["index"])
        self._planned = 0

    def __call__(self, crops_preprocessed: np.ndarray) -> np.ndarray:
        x_all = np.asarray(crops_preprocessed, dtype=np.float32)
        if x_all.ndim != 4 or x_all.shape[-1] != 3:
            raise ValueError(f"crops must be (N, H, W, 3), got {x_all.shape}")
        n, height, width = x_all.shape[:3]
        heatmaps = np.zeros((n, height, width), dtype=np.float32)
        for start in range(0, n, self.batch_size):
            batch = x_all[start : start + self.batch_size]
            for i, cam in enumerate(self._cams(batch)):
                heatmaps[start + i] = _normalise(cv2.resize(cam, (width, height)))
        return heatmaps

    def _cams(self, batch: np.ndarray) -> np.ndarray:
        if len(batch) != self._planned:
            self._interpreter.resize_tensor_input(self._input["index"], list(batch.shape))
            with quiet_native_stderr():  # the XNNPACK delegate announces itself here
                self._interpreter.allocate_tensors()
            self._planned = len(batch)
        self._interpreter.set_tensor(self._input["index"], batch)
        self._interpreter.invoke()
        activation = self._interpreter.get_tensor(self._output_index)  # (B, h, w, C)
        cams: np.ndarray = np.maximum(np.einsum("bhwc,c->bhw", activation, self.weights), 0.0)
        return cams


def activation_model(content: bytes) -> tuple[bytes, np.ndarray]:
    """(a copy of the model that outputs the activation before its global average pool, the
    dense head's weights (C,)); ModelError when the graph does not end in GAP + Dense(1)."""
    from ai_edge_litert import schema_py_generated as schema

    buf = bytearray(content)
    model = schema.Model.GetRootAs(buf, 0)
    graph = model.Subgraphs(0)
    ops = [graph.Operators(i) for i in range(graph.OperatorsLength())]
    names = [_op_name(schema, model.OperatorCodes(op.OpcodeIndex())) for op in ops]
    tail = names[-3:] if names[-1:] == ["LOGISTIC"] else names[-2:]
    if tail[:2] != ["MEAN", "FULLY_CONNECTED"] or graph.OutputsLength() != 1:
        raise ModelError(
            f"the LiteRT model ends in {' -> '.join(names[-3:])}, not a global average pool and "
            "a dense layer: Grad-CAM needs its Keras model"
        )
    mean, dense = ops[len(names) - len(tail)], ops[len(names) - len(tail) + 1]
    activation = int(mean.InputsAsNumpy()[0])
    weights = _constant(schema, model, graph, ops, int(dense.InputsAsNumpy()[1])).reshape(-1)
    channels = int(graph.Tensors(activation).ShapeAsNumpy()[-1])
    if weights.shape != (channels,):
        raise ModelError(
            f"the LiteRT model's dense head has {weights.size} weights for {channels} channels: "
            "Grad-CAM needs a one-unit head"
        )
    outputs_at = graph._tab.Vector(graph._tab.Offset(8))  # Subgraph.outputs (field 2)
    np.frombuffer(buf, np.int32, 1, outputs_at)[:] = activation
    return bytes(buf), weights.astype(np.float32)


def _op_name(schema: Any, code: Any) -> str:
    number = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    for name, value in vars(schema.BuiltinOperator).items():
        if value == number and not name.startswith("_"):
            return str(name)
    return str(number)


def _constant(schema: Any, model: Any, graph: Any, ops: list[Any], index: int) -> np.ndarray:
    """A constant tensor's values: its own buffer, or the f16 buffer a DEQUANTIZE expands."""
    tensor = graph.Tensors(index)
    data = model.Buffers(tensor.Buffer()).DataAsNumpy()
    if isinstance(data, np.ndarray) and data.size:
        dtype = _NUMPY_TYPES.get(tensor.Type())
        if dtype is None:
            raise ModelError("the LiteRT model's dense weights are not float: cannot explain")
        return np.frombuffer(data.tobytes(), dtype=dtype).astype(np.float32)
    for op in ops:  # produced at run time: follow a DEQUANTIZE back to its stored input
        if int(index) in op.OutputsAsNumpy().tolist():
            name = _op_name(schema, model.OperatorCodes(op.OpcodeIndex()))
            if name == "DEQUANTIZE":
                return _constant(schema, model, graph, ops, int(op.InputsAsNumpy()[0]))
    raise ModelError("the LiteRT model's dense weights are not constant: cannot explain")
