"""Synthetic 468-point face-mesh sequences with controllable motion (no media, no models).

A "real" talker opens the mouth at syllable rate with the jaw and cheeks following, blinks
every few seconds and sways the head smoothly; a "fake" one moves the lips alone (jaw frozen),
never blinks, and its lips jitter from frame to frame.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepfake_analyzer.temporal import features as F

UPPER_LIDS = (160, 158, 385, 387, 159, 386)


def base_shape(seed: int = 0) -> np.ndarray:
    """(468, 2) face in units of inter-ocular distance, eyes on y = 0, chin below."""
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(-0.7, 0.7, 468), rng.uniform(-0.4, 1.1, 468)])
    fixed = {
        33: (-0.5, 0.0), 133: (-0.15, 0.0), 160: (-0.38, -0.06), 158: (-0.27, -0.06),
        153: (-0.27, 0.06), 144: (-0.38, 0.06), 159: (-0.32, -0.07), 145: (-0.32, 0.07),
        362: (0.15, 0.0), 263: (0.5, 0.0), 385: (0.27, -0.06), 387: (0.38, -0.06),
        373: (0.38, 0.06), 380: (0.27, 0.06), 386: (0.32, -0.07), 374: (0.32, 0.07),
        168: (0.0, -0.05), 6: (0.0, 0.05), 197: (0.0, 0.15), 1: (0.0, 0.45),
        13: (0.0, 0.72), 14: (0.0, 0.74), 61: (-0.25, 0.73), 291: (0.25, 0.73),
        0: (0.0, 0.65), 17: (0.0, 0.82), 152: (0.0, 1.15), 234: (-0.75, 0.3),
        454: (0.75, 0.3), 132: (-0.6, 0.6), 361: (0.6, 0.6),
    }  # fmt: skip
    for i, xy in fixed.items():
        pts[i] = xy
    others = [i for i in F.LIPS if i not in fixed]
    for k, i in enumerate(others):
        x = -0.22 + 0.44 * (k % 10) / 9
        pts[i] = (x, 0.68 if k < len(others) // 2 else 0.78)
    return pts


@dataclass(frozen=True)
class Motion:
    jaw_gain: float = 0.8
    blink_every_s: float | None = 3.0
    lip_jitter: float = 0.0
    head_sway: float = 0.05
    fps: float = 8.0
    seconds: float = 10.0


def talking_face(
    motion: Motion,
    seed: int = 0,
    times_s: np.ndarray | None = None,
    scale_px: float = 120.0,
    centre_px: tuple[float, float] = (320.0, 240.0),
    angle_rad: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(points (N, 468, 3) in image pixels, timestamps_s (N,))."""
    rng = np.random.default_rng(seed + 1)
    times = (
        np.arange(0.0, motion.seconds, 1.0 / motion.fps)
        if times_s is None
        else np.asarray(times_s, dtype=np.float64)
    )
    base = base_shape(seed)
    lower = [i for i in F.LIPS if base[i, 1] > 0.73] + [14, 17]
    phase = rng.uniform(0, 2 * np.pi)
    frames = []
    for t in times:
        p = base.copy()
        mouth = 0.06 * (1 + np.sin(2 * np.pi * 3.2 * t + phase)) / 2 * (0.6 + 0.4 * np.sin(t))
        p[lower, 1] += mouth
        p[152, 1] += motion.jaw_gain * mouth
        p[[132, 361], 0] *= 1 - motion.jaw_gain * mouth
        if motion.blink_every_s:
            since = (t + 0.7) % motion.blink_every_s
            blink = max(0.0, 1.0 - abs(since - 0.15) / 0.15)
            p[list(UPPER_LIDS), 1] += 0.11 * blink
        if motion.lip_jitter:
            p[list(F.LIPS)] += rng.normal(0, motion.lip_jitter, (len(F.LIPS), 2))
        p[1, 0] += motion.head_sway * np.sin(2 * np.pi * 0.3 * t)
        roll = motion.head_sway * 0.5 * np.sin(2 * np.pi * 0.2 * t + 1.0)
        drift = np.array([np.sin(0.5 * t), 0.5 * np.cos(0.4 * t)]) * motion.head_sway
        face = p @ _rotation(roll).T + drift
        # the camera: one similarity for the whole track
        xy = (face @ _rotation(angle_rad).T) * scale_px + np.asarray(centre_px)
        z = np.zeros((468, 1))
        frames.append(np.hstack([xy, z]))
    return np.stack(frames), times


def _rotation(angle: float) -> np.ndarray:
    return np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])


REAL = Motion()
FAKE = Motion(jaw_gain=0.0, blink_every_s=None, lip_jitter=0.01, head_sway=0.0)
