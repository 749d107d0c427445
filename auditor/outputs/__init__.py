"""Renderings of diffs and snapshots: JSON, terminal tables and markdown."""
