"""The face-mesh model: what MediaPipe's face-mesh network sees in a crop, read by a linear probe.

Contract: a spec with `architecture` `ARCHITECTURE` and `weights_format` `WEIGHTS_FORMAT` names a
small `.npz` (`MeshProbe`: the features' standardisation, the probe's weights and bias) beside
it; its classifier takes (N, S, S, 3) uint8 RGB crops and returns the probability that each
face was generated. The network is the analyzer's own `face_landmark.tflite` (models/, checked
against its sha256 in faces/model_files.py): a small network trained on faces, which the
analyzer already runs on every face it verifies. Nothing else is loaded or downloaded.

Features (`MeshFeatures`, `FEATURE_SIZE` = 1,248 per crop): the crop resized to the network's
192 px input (scaled to [0, 1], as the mesh reads faces), and of each of the `TAPS` (the last
PReLU of each of the six stages of its trunk, 96 to 3 px, and the first of its face-presence
branch) the mean and the standard deviation of every channel over the map. About 4 ms a crop.

A texture blend holds it as a member beside the EfficientNet-Lite0 probes (ImageNet statistics)
and the residual probe (camera noise): this one reads the statistics of a face-trained network.
Fitted by `scripts/mesh_feature_probe.py` (the model card of the blend that ships it says how).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.crop import resize_square
from deepfake_analyzer.faces.landmarks import MESH_INPUT_SIZE, load_interpreter
from deepfake_analyzer.faces.model_files import MEDIAPIPE_MODEL_FILES, model_file
from deepfake_analyzer.models.feature_probe import FeatureProbe, ProbeClassifier, load_probe_model
from deepfake_analyzer.models.spec import ModelSpec, sha256_of

ARCHITECTURE = "face-mesh-probe"
"""The `architecture` name of the face-mesh model in model specs."""
WEIGHTS_FORMAT = "mesh-probe"
"""The `weights_format` of a face-mesh model's spec: its weights file is a `MeshProbe`."""
FEATURES_VERSION = 1
"""Bumped whenever `MeshFeatures` changes: a probe fitted on other features is refused."""
MESH_FILE = "face_landmark.tflite"
TAPS = (
    ("p_re_lu_3", 16),
    ("p_re_lu_6", 32),
    ("p_re_lu_9", 64),
    ("p_re_lu_12", 128),
    ("p_re_lu_15", 128),
    ("p_re_lu_17", 128),
    ("p_re_lu_26", 128),
)
"""The network's tensors read, with their channels: the trunk's six stage ends (96, 48, 24, 12,
6 and 3 px) and the presence branch's first block (3 px)."""
FEATURE_SIZE = 2 * sum(channels for _, channels in TAPS)


class MeshFeatures:
    """`TAPS`' channel means and standard deviations of crops (module docstring)."""

    def __init__(self, models_dir: Path | None = None) -> None:
        path = model_file(MESH_FILE, models_dir)
        if sha256_of(path) != MEDIAPIPE_MODEL_FILES[MESH_FILE].sha256:
            raise ModelError(
                "the face mesh model is not the shipped one; restore it from git or run "
                "`python scripts/extract_mediapipe_models.py`",
                path=path,
            )
        self._interpreter: Any = load_interpreter(path, 1, preserve_all_tensors=True)
        by_name = {d["name"]: d for d in self._interpreter.get_tensor_details()}
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._taps = []
        for name, channels in TAPS:
            detail = by_name.get(name)
            if detail is None or int(detail["shape"][-1]) != channels:
                raise ModelError(f"the face mesh model has no {name} of {channels} channels", path)
            self._taps.append(int(detail["index"]))

    def __call__(self, crops_rgb_uint8: np.ndarray) -> np.ndarray:
        """(N, S, S, 3) uint8 RGB crops -> (N, `FEATURE_SIZE`) float64."""
        crops = np.asarray(crops_rgb_uint8)
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.shape[1] != crops.shape[2]:
            raise ValueError(f"expected (N, S, S, 3) RGB crops, got shape {crops.shape}")
        return (
            np.stack([self._one(c) for c in crops]) if len(crops) else np.zeros((0, FEATURE_SIZE))
        )

    def _one(self, crop: np.ndarray) -> np.ndarray:
        small = resize_square(np.ascontiguousarray(crop, np.uint8), MESH_INPUT_SIZE)
        self._interpreter.set_tensor(self._input, (small.astype(np.float32) / 255.0)[None])
        self._interpreter.invoke()
        pooled = []
        for index in self._taps:
            values = self._interpreter.get_tensor(index)
            flat = values.reshape(-1, values.shape[-1]).astype(np.float64)
            pooled += [flat.mean(0), flat.std(0)]
        return np.concatenate(pooled)


class MeshProbe(FeatureProbe):
    """The probe on `MeshFeatures` (models/feature_probe.py)."""

    size = FEATURE_SIZE
    version = FEATURES_VERSION
    features = "face-mesh"
    architecture = ARCHITECTURE
    weights_format = WEIGHTS_FORMAT


def load_mesh_probe(spec: ModelSpec, spec_path: Path) -> ProbeClassifier:
    """The face-mesh model `spec` (read from `spec_path`) describes (`load_probe_model`); also
    ModelError when the face mesh model is missing or changed."""
    return load_probe_model(spec, spec_path, MeshProbe, MeshFeatures)
