#!/usr/bin/env bash
# Set up (virtualenv + install, first run only) and analyze the bundled manipulated sample clip.
# Extra arguments go to `deepfake-analyzer analyze`.
EXTRAS=""
source "$(dirname "$0")/scripts/_bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/deepfake-analyzer" analyze sample_media/manipulated_pan_zoom.mp4 \
  --output deepfake-reports --overwrite "$@"
