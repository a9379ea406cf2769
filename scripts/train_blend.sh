#!/usr/bin/env bash
# A texture-blend candidate, from the data to its paired verdict against the shipped default, in
# one resumable command (each finished step is skipped on a rerun).
#
# Usage: scripts/train_blend.sh NAME OUT_DIR [train-texture flags, e.g. --region face --region mouth]
# The shipped v12: scripts/train_blend.sh deepfake_v12 DIR --region residual
#   --keep DIR/deepfake_v4_face.spec.json --keep DIR/deepfake_v4_mouth.spec.json
#   --match-resolution --without-classifier --views 5
# (v9: the same without the last three flags.)
#
# Steps, each the documented command (README, "Training and evaluation"):
#   1. train-texture on ../shared/data and the gathered /work/extra-data* (rebuild them first with
#      scripts/restore_gathered_data.py), blending the shipped Xception (and v4's texture probes,
#      copied into OUT_DIR, where --keep names them); writes OUT_DIR/NAME*;
#   2. prepare-model (the LiteRT copies);
#   3. evaluate the shipped default through the analyzer -> OUT_DIR/eval-default/;
#   4. evaluate NAME with --calibrate (thresholds from held-out real videos) -> OUT_DIR/eval-cal/;
#   5. evaluate NAME again, paired against step 3 (--baseline) -> OUT_DIR/eval/ (comparison.json).
# Ship NAME only if step 5 says `better` on the video or image row and neither is `worse` (the
# shipping rule, models/README.md). On 2 cores with no caches (measured 2026-12-02, three
# regions): crops 5 min; features 45 min (14,904 crops with self-blends), augmented copies 29
# (11,236), fits 20; each analyzer evaluation 10-20 min. Features and copies are kept in the
# crop cache's feature store, so another candidate on the same data (other flags, another
# NAME and OUT_DIR) starts at the fits. Needs scripts/get_texture_backbone.sh once.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: scripts/train_blend.sh NAME OUT_DIR [train-texture flags]" >&2; exit 2; }
NAME="$1" OUT="$2"
shift 2
A="${DEEPFAKE_ANALYZER:-.venv/bin/deepfake-analyzer}"
D="${DATA_ROOT:-../shared/data}"
mapfile -t GATHERED < <("${PYTHON:-.venv/bin/python}" scripts/restore_gathered_data.py --list)
[ ${#GATHERED[@]} -gt 0 ] || { echo "restore_gathered_data.py --list named no folder" >&2; exit 2; }
DATA=("$D/wild" "$D/dev" "${GATHERED[@]}")
for folder in "${DATA[@]}"; do
  [ -d "$folder" ] || { echo "missing data folder $folder" >&2; exit 2; }
done
EVAL=(evaluate "${DATA[@]}" --real "$D/train_real/videos" --protocol --video-scores analyzer
      --crop-size 224)
mkdir -p "$OUT"
for f in deepfake_xception.spec.json deepfake_xception.f16.npz texture_v1.f16.npz \
         deepfake_v4_face.spec.json deepfake_v4_face.f16.npz deepfake_v4_mouth.spec.json \
         deepfake_v4_mouth.f16.npz; do
  [ -f "$OUT/$f" ] || cp "models/$f" "$OUT/"
done
SPEC="$OUT/$NAME.spec.json"
[ -f "$SPEC" ] || "$A" train-texture "${DATA[@]}" --real "$D/train_real/videos" \
  --train-real "$D/train_real/images" --train-real "$D/train_real/images_web160" \
  --train-real "$D/train_real/images_studio" --model "$OUT/deepfake_xception.spec.json" \
  --weights-base "$OUT/texture_v1.f16.npz" --name "$NAME" -o "$OUT" --json "$OUT/tables.json" "$@"
"$A" prepare-model --model "$SPEC"
[ -f "$OUT/eval-default/evaluation.json" ] || "$A" "${EVAL[@]}" -o "$OUT/eval-default/"
[ -f "$OUT/eval-cal/evaluation.json" ] || "$A" "${EVAL[@]}" --model "$SPEC" --calibrate \
  --suspicious-fpr 0.10 --fake-fpr 0.05 --threshold-level video --write-spec "$SPEC" \
  --overwrite -o "$OUT/eval-cal/"
[ -f "$OUT/eval/evaluation.json" ] || "$A" "${EVAL[@]}" --model "$SPEC" \
  --baseline "$OUT/eval-default/" --write-spec "$SPEC" --overwrite -o "$OUT/eval/"
echo "done: $OUT/eval/comparison.json"
