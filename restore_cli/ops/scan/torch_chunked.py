"""Placeholder: replaced by the chunked scan."""

from .reference import selective_scan_reference as selective_scan_chunked

__all__ = ["selective_scan_chunked"]
