"""Command-line shells over the library: one module per subcommand, plus the dashboard."""
