"""The version of hpsearch, in one place."""

__version__ = "0.1.0"
