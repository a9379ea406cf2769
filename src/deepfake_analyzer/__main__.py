"""`python -m deepfake_analyzer` runs the command-line interface."""

from deepfake_analyzer.cli.main import main

raise SystemExit(main())
