"""Placeholder package docstring, replaced by its module owner."""
