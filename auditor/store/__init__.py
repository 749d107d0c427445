"""The snapshots branch: git objects written directly, the branch moved by compare-and-swap."""
