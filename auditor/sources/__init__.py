"""Sources: where sheets are read from (local files; Smartsheet comes in auditor.sources.api)."""
