"""Attributions of outfit scores to (item, feature group) pairs (not built yet)."""
