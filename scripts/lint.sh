#!/usr/bin/env bash
# Static checks, run by CI before the tests: ruff lint, ruff format check, and mypy (strict over
# src/, configured in pyproject.toml). Exits non-zero on the first check with findings.
# Uses the project virtualenv; EXTRAS are test.sh's, so both share one install.
EXTRAS="test,ray,serve,train"
source "$(dirname "$0")/_bootstrap.sh"
cd "$ROOT"
"$VENV/bin/ruff" check src tests
"$VENV/bin/ruff" format --check src tests
"$VENV/bin/mypy"
