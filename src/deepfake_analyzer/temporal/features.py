"""Named, size- and position-invariant motion features of one track's face-mesh sequence.

Contract: `compute_features(points, timestamps_s)` takes (N, 468, 2|3) MediaPipe face-mesh
points in image pixels and their decoder times in seconds (variable frame rate is fine: every
rate, velocity and spectrum uses the times, never index / fps) and returns either
`TemporalFeatures` (one float per name in `FEATURE_NAMES`, always finite) or `NoTemporalScore`
saying why there is none (fewer than `MIN_FRAMES` frames or less than `MIN_DURATION_S` of
time). Only x and y are used.

Invariance: every length is divided by that frame's inter-ocular distance (IOD, outer eye
corners 33-263), and jitter is measured after a similarity alignment (translation, rotation,
scale) of each frame onto the track's mean shape, so moving, scaling or rotating the face in
the image leaves the features unchanged (up to float rounding).

Why these: talking heads, lip-sync and reenactment fakes are rendered frame by frame, often
from a driving signal (audio or another face) that moves only part of the face. Their
mouth moves without the jaw, eyes blink too rarely or not at all, the head sways too
smoothly (or not at all), regenerated regions jitter from frame to frame, and a face that
should be rigid (eye corners to nose bridge) breathes in shape.

Features (units after the name):

- `mouth_open_mean`, `mouth_open_std`: inner-lip gap (13-14) / IOD.
- `mouth_speed_mean` (1/s): mean |d(mouth_open)/dt|.
- `mouth_speech_band`: share of the mouth-opening signal's power (mean removed, resampled onto
  a uniform grid at the median frame interval) between 1.5 Hz and min(6 Hz, Nyquist) among all
  frequencies above 0.2 Hz: syllable-rate motion.
- `mouth_width_std`: std of lip-corner distance (61-291) / IOD.
- `mouth_jaw_corr`: correlation of mouth-opening velocity with jaw-drop velocity (chin 152 to
  nose bridge 168, / IOD); real speech moves both.
- `mouth_cheek_corr`: correlation of mouth-opening velocity with lower-cheek width velocity
  (points 132-361, / IOD): an opening jaw pulls the cheeks in.
- `ear_mean`, `ear_std`: eye aspect ratio, mean of both eyes (6 points each, Soukupova-Cech).
- `ear_min_ratio`: the lowest EAR / median EAR (how far the eyes ever close).
- `blinks_per_s` (1/s): falls of EAR below 0.75 x its median, per second of track.
- `eye_sync_corr`: correlation of the left and right EAR (real blinks are synchronous).
- `yaw_std`, `pitch_std`, `roll_std`: head-pose proxies from landmark geometry: yaw is the
  nose tip's offset from the cheeks' midpoint along the eye line / face width; pitch the
  nose tip's offset from the eye line / eye-to-chin distance; roll the eye-line angle (rad).
- `pose_speed_mean` (1/s), `pose_accel_mean` (1/s^2): mean norm of the pose vector's first and
  second time derivatives.
- `head_speed_mean` (IOD/s): mean speed of the face centre (nose bridge 168) / IOD.
- `jitter_mouth`, `jitter_upper`: median over frames of the mean distance of each aligned point
  from the straight line through its neighbours in time (a centred second difference that uses
  the times), in IOD, for the lips / for brows, eyes and nose bridge; only frame triples whose
  gaps are at most 3 x the median interval count.
- `jitter_ratio`: log(jitter_mouth / jitter_upper).
- `shape_instability`: mean coefficient of variation of distances that should be rigid (eye
  corners to nose bridge 168, inner eye corners to each other, nose bridge to nose tip), / IOD.
- `mesh_presence_mean`: mean face-mesh presence probability (1 when not given).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MIN_FRAMES = 16
"""Fewer sampled frames with a face than this give no temporal score (2 s at 8 fps)."""
MIN_DURATION_S = 1.5
"""A track spanning less time than this gives no temporal score."""

FEATURE_NAMES: tuple[str, ...] = (
    "mouth_open_mean",
    "mouth_open_std",
    "mouth_speed_mean",
    "mouth_speech_band",
    "mouth_width_std",
    "mouth_jaw_corr",
    "mouth_cheek_corr",
    "ear_mean",
    "ear_std",
    "ear_min_ratio",
    "blinks_per_s",
    "eye_sync_corr",
    "yaw_std",
    "pitch_std",
    "roll_std",
    "pose_speed_mean",
    "pose_accel_mean",
    "head_speed_mean",
    "jitter_mouth",
    "jitter_upper",
    "jitter_ratio",
    "shape_instability",
    "mesh_presence_mean",
)

# MediaPipe face-mesh indices (the subject's right eye is on the image's left)
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_INNER, LEFT_EYE_OUTER = 362, 263
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)  # p1..p6
LEFT_EYE_EAR = (362, 385, 387, 263, 373, 380)
UPPER_LIP_INNER, LOWER_LIP_INNER = 13, 14
MOUTH_LEFT, MOUTH_RIGHT = 61, 291
NOSE_BRIDGE, NOSE_TIP, CHIN = 168, 1, 152
CHEEK_RIGHT, CHEEK_LEFT = 234, 454
LOWER_CHEEK_RIGHT, LOWER_CHEEK_LEFT = 132, 361
LIPS = (
    0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146, 178, 181, 185,
    191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318, 321, 324, 375, 402, 405, 409, 415,
)  # fmt: skip
UPPER_FACE = (
    33, 133, 144, 145, 153, 158, 159, 160, 263, 362, 373, 374, 380, 385, 386, 387,  # eyes
    46, 52, 53, 55, 65, 70, 276, 282, 283, 285, 295, 300,  # brows
    6, 168, 197,  # nose bridge
)  # fmt: skip
RIGID = (RIGHT_EYE_OUTER, RIGHT_EYE_INNER, LEFT_EYE_INNER, LEFT_EYE_OUTER, NOSE_BRIDGE, 6, 197)
RIGID_PAIRS = ((33, 168), (263, 168), (133, 362), (168, NOSE_TIP), (133, 168), (362, 168))
BLINK_FRACTION = 0.75
SPEECH_BAND_HZ = (1.5, 6.0)
SPECTRUM_FLOOR_HZ = 0.2
GAP_FACTOR = 3.0


@dataclass(frozen=True)
class TemporalFeatures:
    """One value per `FEATURE_NAMES` entry, from `frames` frames spanning `duration_s`."""

    values: tuple[float, ...]
    frames: int
    duration_s: float

    def __post_init__(self) -> None:
        if len(self.values) != len(FEATURE_NAMES):
            raise ValueError(f"expected {len(FEATURE_NAMES)} values, got {len(self.values)}")
        if not all(np.isfinite(v) for v in self.values):
            raise ValueError("feature values must be finite")

    def as_array(self) -> np.ndarray:
        return np.asarray(self.values, dtype=np.float64)

    def as_dict(self) -> dict[str, float]:
        return dict(zip(FEATURE_NAMES, self.values, strict=True))


@dataclass(frozen=True)
class NoTemporalScore:
    """Why a track has no temporal score: `reason` is `too-few-frames` or `too-short`."""

    reason: str
    frames: int
    duration_s: float

    @property
    def message(self) -> str:
        if self.reason == "too-few-frames":
            return f"{self.frames} frames with landmarks, need at least {MIN_FRAMES}"
        return f"track spans {self.duration_s:.2f} s, need at least {MIN_DURATION_S:g} s"


def compute_features(
    points: np.ndarray, timestamps_s: np.ndarray, presence: np.ndarray | None = None
) -> TemporalFeatures | NoTemporalScore:
    """Features of one track (see the module docstring), or why there are none."""
    pts = np.asarray(points, dtype=np.float64)
    times = np.asarray(timestamps_s, dtype=np.float64).reshape(-1)
    if pts.ndim != 3 or pts.shape[1] != 468 or pts.shape[2] not in (2, 3):
        raise ValueError(f"points must be (N, 468, 2|3), got {pts.shape}")
    if len(times) != len(pts):
        raise ValueError(f"{len(pts)} frames but {len(times)} timestamps")
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        raise ValueError("timestamps_s must strictly increase")
    frames = len(times)
    duration = float(times[-1] - times[0]) if frames > 1 else 0.0
    if frames < MIN_FRAMES:
        return NoTemporalScore("too-few-frames", frames, duration)
    if duration < MIN_DURATION_S:
        return NoTemporalScore("too-short", frames, duration)
    xy = pts[:, :, :2]
    iod = _dist(xy, RIGHT_EYE_OUTER, LEFT_EYE_OUTER)
    iod = np.maximum(iod, 1e-6)

    mouth = _dist(xy, UPPER_LIP_INNER, LOWER_LIP_INNER) / iod
    mouth_width = _dist(xy, MOUTH_LEFT, MOUTH_RIGHT) / iod
    jaw = _dist(xy, NOSE_BRIDGE, CHIN) / iod
    cheeks = _dist(xy, LOWER_CHEEK_RIGHT, LOWER_CHEEK_LEFT) / iod
    mouth_v = _derivative(mouth, times)

    ear_r, ear_l = _ear(xy, RIGHT_EYE_EAR), _ear(xy, LEFT_EYE_EAR)
    ear = (ear_r + ear_l) / 2.0
    ear_median = max(float(np.median(ear)), 1e-6)

    pose = _pose(xy)
    pose_v = _derivative(pose, times)
    pose_a = _derivative(pose_v, _midpoints(times))
    centre = xy[:, NOSE_BRIDGE] / iod[:, None]
    head_v = _derivative(centre, times)

    aligned = _align_to_mean(xy, RIGID + UPPER_FACE)
    jitter = _jitter(aligned, times)
    jitter_mouth = _region_median(jitter, LIPS)
    jitter_upper = _region_median(jitter, UPPER_FACE)

    rigid = np.stack([_dist(xy, a, b) / iod for a, b in RIGID_PAIRS], axis=1)
    rigid_cv = rigid.std(axis=0) / np.maximum(rigid.mean(axis=0), 1e-6)
    pres = np.ones(frames) if presence is None else np.asarray(presence, dtype=np.float64)

    values = {
        "mouth_open_mean": float(mouth.mean()),
        "mouth_open_std": float(mouth.std()),
        "mouth_speed_mean": float(np.abs(mouth_v).mean()),
        "mouth_speech_band": _band_share(mouth, times, SPEECH_BAND_HZ),
        "mouth_width_std": float(mouth_width.std()),
        "mouth_jaw_corr": _corr(mouth_v, _derivative(jaw, times)),
        "mouth_cheek_corr": _corr(mouth_v, _derivative(cheeks, times)),
        "ear_mean": float(ear.mean()),
        "ear_std": float(ear.std()),
        "ear_min_ratio": float(ear.min() / ear_median),
        "blinks_per_s": _count_falls(ear, BLINK_FRACTION * ear_median) / duration,
        "eye_sync_corr": _corr(ear_r, ear_l),
        "yaw_std": float(pose[:, 0].std()),
        "pitch_std": float(pose[:, 1].std()),
        "roll_std": float(pose[:, 2].std()),
        "pose_speed_mean": float(np.linalg.norm(pose_v, axis=1).mean()),
        "pose_accel_mean": float(np.linalg.norm(pose_a, axis=1).mean()) if len(pose_a) else 0.0,
        "head_speed_mean": float(np.linalg.norm(head_v, axis=1).mean()),
        "jitter_mouth": jitter_mouth,
        "jitter_upper": jitter_upper,
        "jitter_ratio": float(np.log((jitter_mouth + 1e-6) / (jitter_upper + 1e-6))),
        "shape_instability": float(rigid_cv.mean()),
        "mesh_presence_mean": float(pres.mean()) if len(pres) == frames else 1.0,
    }
    ordered = (values[name] for name in FEATURE_NAMES)
    cleaned = tuple(float(v) if np.isfinite(v) else 0.0 for v in ordered)
    return TemporalFeatures(cleaned, frames, duration)


# --- helpers ----------------------------------------------------------------------------------


def _dist(xy: np.ndarray, a: int, b: int) -> np.ndarray:
    distance: np.ndarray = np.linalg.norm(xy[:, a] - xy[:, b], axis=-1)
    return distance


def _region_median(jitter: np.ndarray, region: tuple[int, ...]) -> float:
    return float(np.median(jitter[:, list(region)].mean(axis=1))) if len(jitter) else 0.0


def _ear(xy: np.ndarray, idx: tuple[int, ...]) -> np.ndarray:
    p1, p2, p3, p4, p5, p6 = idx
    vertical = _dist(xy, p2, p6) + _dist(xy, p3, p5)
    ratio: np.ndarray = vertical / np.maximum(2.0 * _dist(xy, p1, p4), 1e-6)
    return ratio


def _midpoints(times: np.ndarray) -> np.ndarray:
    midpoints: np.ndarray = (times[1:] + times[:-1]) / 2.0
    return midpoints


def _derivative(series: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Finite differences over the actual time steps: (N-1, ...) per second."""
    dt = np.diff(times)
    shape = (-1,) + (1,) * (series.ndim - 1)
    return np.diff(series, axis=0) / dt.reshape(shape)


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denom = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denom) if denom > 1e-12 else 0.0


def _count_falls(series: np.ndarray, level: float) -> int:
    below = series < level
    return int(np.count_nonzero(below[1:] & ~below[:-1]) + (1 if below[0] else 0))


def _pose(xy: np.ndarray) -> np.ndarray:
    """(N, 3) yaw, pitch, roll proxies (see the module docstring)."""
    right, left = xy[:, RIGHT_EYE_OUTER], xy[:, LEFT_EYE_OUTER]
    eye_mid = (right + left) / 2.0
    axis = left - right
    roll = np.arctan2(axis[:, 1], axis[:, 0])
    unit = axis / np.maximum(np.linalg.norm(axis, axis=1, keepdims=True), 1e-6)
    normal = np.stack([-unit[:, 1], unit[:, 0]], axis=1)  # points down the face
    nose = xy[:, NOSE_TIP]
    cheek_mid = (xy[:, CHEEK_RIGHT] + xy[:, CHEEK_LEFT]) / 2.0
    width = np.maximum(_dist(xy, CHEEK_RIGHT, CHEEK_LEFT), 1e-6)
    yaw = ((nose - cheek_mid) * unit).sum(axis=1) / width
    height = np.maximum(((xy[:, CHIN] - eye_mid) * normal).sum(axis=1), 1e-6)
    pitch = ((nose - eye_mid) * normal).sum(axis=1) / height
    return np.stack([yaw, pitch, roll], axis=1)


def _align_to_mean(xy: np.ndarray, anchor: tuple[int, ...]) -> np.ndarray:
    """Each frame mapped by the similarity transform that best fits its `anchor` points onto
    the track's mean anchor shape (itself scaled to unit IOD), so results are in IOD units."""
    idx = list(dict.fromkeys(anchor))
    first = xy[0]
    iod0 = max(float(np.linalg.norm(first[LEFT_EYE_OUTER] - first[RIGHT_EYE_OUTER])), 1e-6)
    reference = (first - first[idx].mean(axis=0)) / iod0
    for _ in range(2):  # Procrustes to the first frame, then to the mean of the aligned frames
        aligned = np.stack([_similarity_fit(frame, reference, idx) for frame in xy])
        mean = aligned.mean(axis=0)
        scale = np.linalg.norm(mean[LEFT_EYE_OUTER] - mean[RIGHT_EYE_OUTER])
        reference = (mean - mean[idx].mean(axis=0)) / max(float(scale), 1e-6)
    return np.stack([_similarity_fit(frame, reference, idx) for frame in xy])


def _similarity_fit(frame: np.ndarray, reference: np.ndarray, idx: list[int]) -> np.ndarray:
    """`frame` (468, 2) mapped by the least-squares similarity taking frame[idx] onto
    reference[idx]."""
    src, dst = frame[idx], reference[idx]
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - src_mean, dst - dst_mean
    # complex form: d ~ z * s with z = a + ib
    a = (s * d).sum()
    b = (s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()
    norm = max(float((s * s).sum()), 1e-12)
    a, b = a / norm, b / norm
    centred = frame - src_mean
    mapped = np.stack(
        [a * centred[:, 0] - b * centred[:, 1], b * centred[:, 0] + a * centred[:, 1]], axis=1
    )
    aligned: np.ndarray = mapped + dst_mean
    return aligned


def _jitter(aligned: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(M, 468) distance of each middle point from the time-interpolated line through its
    neighbours, for frame triples without a long gap."""
    if len(times) < 3:
        return np.zeros((0, aligned.shape[1]))
    dt = np.diff(times)
    limit = GAP_FACTOR * float(np.median(dt))
    ok = (dt[:-1] <= limit) & (dt[1:] <= limit)
    w = (dt[:-1] / (dt[:-1] + dt[1:]))[:, None, None]
    predicted = aligned[:-2] + w * (aligned[2:] - aligned[:-2])
    residual: np.ndarray = np.linalg.norm(aligned[1:-1] - predicted, axis=-1)
    return residual[ok]


def _band_share(series: np.ndarray, times: np.ndarray, band_hz: tuple[float, float]) -> float:
    """Share of `series`' power in `band_hz` among frequencies above `SPECTRUM_FLOOR_HZ`,
    after linear resampling onto a uniform grid at the median frame interval."""
    step = float(np.median(np.diff(times)))
    if step <= 0:
        return 0.0
    grid = np.arange(times[0], times[-1] + 1e-9, step)
    if len(grid) < 8:
        return 0.0
    signal = np.interp(grid, times, series)
    signal = (signal - signal.mean()) * np.hanning(len(signal))
    power = np.abs(np.fft.rfft(signal)) ** 2
    freqs = np.fft.rfftfreq(len(signal), d=step)
    nyquist = 0.5 / step
    low, high = band_hz[0], min(band_hz[1], nyquist)
    considered = freqs > SPECTRUM_FLOOR_HZ
    total = float(power[considered].sum())
    if total <= 1e-18 or high <= low:
        return 0.0
    in_band = considered & (freqs >= low) & (freqs <= high)
    return float(power[in_band].sum() / total)
