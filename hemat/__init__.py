"""hemat: savings analytics for Indonesian e-procurement."""

__version__ = "0.1.0"
