"""The library behind each CLI command: callable and testable without the CLI."""
