"""Git-backed snapshot auditor for Smartsheet billing sheets.

The library reads sources into normalized snapshots, stores them as commits on a
snapshots branch and diffs any two of them; `auditor.cli` is a thin layer over it.
"""

__version__ = "0.1.0"
