"""The normalized snapshot model and its canonical JSON files."""
