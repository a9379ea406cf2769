"""Crop geometry: centre, margin, padding at borders, output size, determinism."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from deepfake_analyzer.faces.crop import (
    PAD_VALUE,
    SquareRegion,
    crop_face,
    crop_faces,
    cut_region,
    square_region,
)
from deepfake_analyzer.faces.types import FaceDetection


def coordinate_image(height: int = 200, width: int = 300) -> np.ndarray:
    """R = column, G = row (mod 256), B = 255: every pixel says where it came from."""
    rows, cols = np.mgrid[0:height, 0:width]
    image = np.zeros((height, width, 3), dtype=np.uint8)
    image[..., 0] = cols % 256
    image[..., 1] = rows % 256
    image[..., 2] = 255
    return image


def test_square_region_is_centred_and_scaled_by_margin() -> None:
    region = square_region((100, 50, 140, 110), margin=1.5)  # w=40, h=60, centre (120, 80)
    assert region.side == 90  # max(w, h) * margin
    assert region.x0 + region.side / 2 == 120
    assert region.y0 + region.side / 2 == 80


def test_crop_with_margin_one_and_native_size_is_the_exact_pixels() -> None:
    image = coordinate_image()
    crop = crop_face(image, (50, 40, 90, 80), margin=1.0, size=40)
    np.testing.assert_array_equal(crop, image[40:80, 50:90])


def test_crop_centre_pixel_comes_from_the_box_centre() -> None:
    image = coordinate_image()
    crop = crop_face(image, (100, 60, 150, 130), margin=1.3, size=91)  # centre (125, 95)
    centre = crop[45, 45]
    assert abs(int(centre[0]) - 125) <= 1
    assert abs(int(centre[1]) - 95) <= 1


def test_margin_widens_the_crop() -> None:
    image = coordinate_image()
    tight = crop_face(image, (100, 60, 140, 100), margin=1.0, size=64)
    wide = crop_face(image, (100, 60, 140, 100), margin=2.0, size=64)
    # Column span seen by the crop: 40 px vs 80 px.
    assert int(tight[32, -1, 0]) - int(tight[32, 0, 0]) == pytest.approx(39, abs=1)
    assert int(wide[32, -1, 0]) - int(wide[32, 0, 0]) == pytest.approx(79, abs=1)


def test_padding_at_the_top_left_border_is_black_and_keeps_the_face_centred() -> None:
    image = coordinate_image()
    # Box (0, 0)-(20, 20), margin 2: square of 40 px from (-10, -10).
    region = square_region((0, 0, 20, 20), margin=2.0)
    assert (region.x0, region.y0, region.side) == (-10, -10, 40)
    cut = cut_region(image, region)
    assert cut.shape == (40, 40, 3)
    assert (cut[:10] == PAD_VALUE).all() and (cut[:, :10] == PAD_VALUE).all()
    np.testing.assert_array_equal(cut[10:, 10:], image[0:30, 0:30])


def test_padding_at_the_bottom_right_border() -> None:
    image = coordinate_image(100, 120)
    cut = cut_region(image, SquareRegion(x0=100, y0=90, side=30))
    np.testing.assert_array_equal(cut[:10, :20], image[90:100, 100:120])
    assert (cut[10:] == PAD_VALUE).all() and (cut[:, 20:] == PAD_VALUE).all()


def test_box_entirely_outside_the_image_gives_a_black_crop() -> None:
    crop = crop_face(coordinate_image(), (1000, 1000, 1050, 1050), margin=1.3, size=32)
    assert crop.shape == (32, 32, 3) and (crop == 0).all()


@pytest.mark.parametrize("size", [1, 17, 64, 299])
def test_output_size_and_dtype(size: int) -> None:
    crop = crop_face(coordinate_image(), (10.3, 20.7, 77.1, 101.9), margin=1.3, size=size)
    assert crop.shape == (size, size, 3)
    assert crop.dtype == np.uint8
    assert crop.flags["C_CONTIGUOUS"]


def test_shrinking_uses_inter_area_and_enlarging_inter_linear() -> None:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, size=(300, 300, 3), dtype=np.uint8)
    box = (50, 50, 250, 250)
    square = image[50:250, 50:250]
    np.testing.assert_array_equal(
        crop_face(image, box, 1.0, 64), cv2.resize(square, (64, 64), interpolation=cv2.INTER_AREA)
    )
    np.testing.assert_array_equal(
        crop_face(image, box, 1.0, 299),
        cv2.resize(square, (299, 299), interpolation=cv2.INTER_LINEAR),
    )


def test_crop_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, size=(240, 320, 3), dtype=np.uint8)
    box = (33.3, 44.4, 120.9, 150.2)
    np.testing.assert_array_equal(crop_face(image, box, 1.3, 160), crop_face(image, box, 1.3, 160))


def test_crop_faces_stacks_and_handles_no_faces() -> None:
    image = coordinate_image()
    detections = [
        FaceDetection((10, 10, 50, 50), 0.9, np.zeros((0, 2))),
        FaceDetection((100, 60, 160, 130), 0.8, np.zeros((0, 2))),
    ]
    crops = crop_faces(image, detections, 1.3, 48)
    assert crops.shape == (2, 48, 48, 3)
    np.testing.assert_array_equal(crops[1], crop_face(image, (100, 60, 160, 130), 1.3, 48))
    assert crop_faces(image, [], 1.3, 48).shape == (0, 48, 48, 3)


def test_region_maps_crop_points_back_to_the_image() -> None:
    region = square_region((100, 60, 140, 100), margin=1.5)  # side 60 from (90, 50)
    points = region.to_image(np.array([[0.0, 0.0], [192.0, 192.0], [96.0, 96.0]]), 192)
    np.testing.assert_allclose(points, [[90, 50], [150, 110], [120, 80]])


@pytest.mark.parametrize(
    ("box", "margin", "size"),
    [((10, 10, 10, 20), 1.3, 32), ((10, 10, 20, 20), 0.0, 32), ((10, 10, 20, 20), 1.3, 0)],
)
def test_bad_arguments_raise(box: tuple[float, ...], margin: float, size: int) -> None:
    with pytest.raises(ValueError):
        crop_face(coordinate_image(), box, margin, size)


def test_non_rgb_image_is_refused() -> None:
    with pytest.raises(ValueError, match="uint8 RGB"):
        crop_face(np.zeros((50, 50), np.uint8), (10, 10, 20, 20), 1.3, 32)
