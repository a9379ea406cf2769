"""Mutated images (bit flips, bytes, truncation, splices): a picture or a one-line
AnalyzerError, never another exception (Pillow raises SyntaxError, TypeError, OSError, ...
on hostile files). A seeded, in-process cousin of `benchmarks/fuzz_media.py`."""

from __future__ import annotations

import random
from pathlib import Path

import media_factory as mf
import pytest

from deepfake_analyzer.errors import AnalyzerError
from deepfake_analyzer.media.image import ImageSource

pytestmark = pytest.mark.slow

MUTANTS_PER_FORMAT = 150


def _mutant(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(out))
        kind = rng.randrange(4)
        if kind == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif kind == 1:
            out[at] = rng.choice((0x00, 0xFF, 0x7F, 0x80))
        elif kind == 2:
            del out[max(1, at) :]
        else:
            start = rng.randrange(len(data))
            out[at:at] = data[start : start + rng.randint(1, 64)]
    return bytes(out)


@pytest.mark.parametrize(
    ("name", "mode"),
    [("m.png", "RGBA"), ("m.tiff", "I;16"), ("m.jpg", "RGB"), ("m.webp", "RGB"), ("m.bmp", "P")],
)
def test_mutated_images_decode_or_fail_with_one_line(tmp_path: Path, name: str, mode: str) -> None:
    seed = mf.make_image(tmp_path / f"seed-{name}", (48, 32), mode).read_bytes()
    rng = random.Random(name)
    case = tmp_path / name
    for index in range(MUTANTS_PER_FORMAT):
        case.write_bytes(_mutant(seed, rng))
        try:
            frames = list(ImageSource(case).frames())
        except AnalyzerError as exc:
            assert "\n" not in str(exc) and str(case) in str(exc)
            continue
        except Exception as exc:  # noqa: BLE001 - what this test exists to catch
            pytest.fail(f"mutant {index} of {name}: {type(exc).__name__}: {exc}")
        assert frames[0].image.ndim == 3
