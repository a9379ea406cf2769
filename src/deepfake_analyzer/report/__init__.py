"""Reports: the typed analysis result and its JSON, CSV and HTML writers."""
