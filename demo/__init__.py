"""The demo: a sample billing sheet, several scheduled snapshots, edits between them."""
