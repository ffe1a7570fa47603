"""The Flask web front end (not built yet)."""
