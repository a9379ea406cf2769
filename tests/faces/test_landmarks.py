"""Face mesh runner (real model) and the convex-hull mask helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from deepfake_analyzer.errors import ModelError
from deepfake_analyzer.faces.landmarks import FaceLandmarks, FaceMesh, face_hull_mask


@pytest.fixture(scope="module")
def face_mesh() -> Iterator[FaceMesh]:
    with FaceMesh() as mesh:
        yield mesh


def test_hull_mask_fills_the_convex_hull() -> None:
    points = np.array([[10, 10], [50, 10], [50, 30], [10, 30], [30, 20]], dtype=np.float32)
    mask = face_hull_mask((40, 60, 3), points)
    assert mask.shape == (40, 60) and mask.dtype == np.float32
    assert mask.min() == 0.0 and mask.max() == 1.0
    assert mask[20, 30] == 1.0 and mask[5, 5] == 0.0 and mask[35, 55] == 0.0
    # OpenCV puts pixel centres at integer coordinates: the rectangle covers 41 x 21 pixels.
    assert mask.sum() == pytest.approx(41 * 21, rel=0.05)


def test_hull_mask_of_too_few_points_is_empty() -> None:
    assert face_hull_mask((20, 20), np.array([[1.0, 1.0], [5.0, 5.0]])).sum() == 0


def test_landmarks_validate_their_shape() -> None:
    with pytest.raises(ValueError):
        FaceLandmarks(np.zeros((10, 2), np.float32), np.zeros(468, np.float32), 0.5)


def test_a_file_that_is_not_the_mesh_model_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "face_landmark.tflite"
    bogus.write_bytes(b"not a model")
    with pytest.raises(ModelError):
        FaceMesh(bogus)


@pytest.mark.real_models
def test_mesh_points_fall_inside_the_face_box(face_mesh, astronaut_rgb, astronaut_face_box):
    result = face_mesh.run(astronaut_rgb, astronaut_face_box)
    assert result.points.shape == (468, 2)
    assert result.presence > 0.9
    x0, y0, x1, y1 = astronaut_face_box
    w, h = x1 - x0, y1 - y0
    # The mesh spans forehead to chin: allow 15 % of the box beyond BlazeFace's tight box.
    px, py = result.points[:, 0], result.points[:, 1]
    assert (px > x0 - 0.15 * w).all() and (px < x1 + 0.15 * w).all()
    assert (py > y0 - 0.15 * h).all() and (py < y1 + 0.15 * h).all()
    # ... and fills most of it.
    assert np.ptp(px) > 0.8 * w and np.ptp(py) > 0.8 * h


@pytest.mark.real_models
def test_mesh_nose_tip_is_near_blazeface_nose(face_mesh, astronaut_rgb, short_detector) -> None:
    face = short_detector.detect(astronaut_rgb)[0]
    points = face_mesh.landmarks(astronaut_rgb, face.box_xyxy)
    nose_tip = points[1]  # mesh index 1 is the nose tip; BlazeFace keypoint 2 the nose
    assert np.linalg.norm(nose_tip - face.keypoints[2]) < 0.1 * face.width


@pytest.mark.real_models
def test_mesh_points_move_with_the_face(face_mesh, astronaut_rgb, astronaut_face_box) -> None:
    canvas = np.zeros((700, 800, 3), np.uint8)
    canvas[100:612, 200:712] = astronaut_rgb
    x0, y0, x1, y1 = astronaut_face_box
    moved = face_mesh.landmarks(canvas, (x0 + 200, y0 + 100, x1 + 200, y1 + 100))
    here = face_mesh.landmarks(astronaut_rgb, astronaut_face_box)
    np.testing.assert_allclose(moved - here, np.tile([200, 100], (468, 1)), atol=1.0)


@pytest.mark.real_models
def test_no_face_gives_a_low_presence(face_mesh, flat_grey_image) -> None:
    assert face_mesh.run(flat_grey_image, (200, 150, 300, 250)).presence < 0.1


@pytest.mark.real_models
def test_keypoints_level_the_eyes_so_tilted_faces_stay_accurate(
    face_mesh, astronaut_rgb, astronaut_face_box, short_detector
) -> None:
    upright = face_mesh.landmarks(astronaut_rgb, astronaut_face_box)
    turn = cv2.getRotationMatrix2D((224.5, 129.5), 50, 1.0)  # 50 degrees about the face
    tilted = cv2.warpAffine(astronaut_rgb, turn, (512, 512), borderMode=cv2.BORDER_REFLECT)
    expected = upright @ turn[:, :2].T + turn[:, 2]
    face = short_detector.detect(tilted)[0]
    aligned = face_mesh.landmarks(tilted, face.box_xyxy, face.keypoints)
    plain = face_mesh.landmarks(tilted, face.box_xyxy)
    assert np.abs(aligned - expected).mean() < 3.0  # pixels, on a ~95 px face
    assert np.abs(plain - expected).mean() > 2 * np.abs(aligned - expected).mean()


def test_stretch_contrast_lifts_a_dim_crop_and_leaves_a_lit_one() -> None:
    from deepfake_analyzer.faces.landmarks import MAX_STRETCH_GAIN, stretch_contrast

    ramp = np.linspace(0, 255, 192)
    lit = np.stack([np.tile(ramp, (192, 1))] * 3, axis=2).astype(np.uint8)
    np.testing.assert_allclose(stretch_contrast(lit), lit, atol=4)
    dim = (lit * 0.3).astype(np.uint8)  # 0-76: stretched back to the full range
    stretched = stretch_contrast(dim)
    assert stretched.dtype == np.uint8
    assert stretched.max() >= 250 and stretched.min() == 0
    very_dim = (lit * 0.05).astype(np.uint8)  # 0-12: the gain stops at its cap
    assert stretch_contrast(very_dim).max() <= 12 * MAX_STRETCH_GAIN + 1
