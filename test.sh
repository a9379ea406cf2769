#!/usr/bin/env bash
# Set up (virtualenv + install with test extras, first run only) and run the whole test suite.
# Extra arguments go to pytest.
EXTRAS="test,ray,serve,train"
source "$(dirname "$0")/scripts/_bootstrap.sh"
cd "$ROOT"
exec "$VENV/bin/python" -m pytest "$@"
