"""The delta between two snapshots: rows, cells, formulas and columns."""
