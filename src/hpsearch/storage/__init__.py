"""Storages: where studies and their fold results are kept (being built)."""
