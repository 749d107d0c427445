"""Sources: where sheets are read from: local files, and Smartsheet through its API."""
