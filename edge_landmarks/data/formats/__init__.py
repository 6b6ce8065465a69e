"""Readers for the published landmark formats, one module each; each exposes ``sniff(path)`` and ``read(path)``."""
