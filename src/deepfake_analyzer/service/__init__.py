"""The upload service: a web page and REST API over the same `Analyzer` as the CLI."""
