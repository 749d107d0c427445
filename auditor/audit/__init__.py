"""Audit: change events and billing-rule violations between two snapshots."""
