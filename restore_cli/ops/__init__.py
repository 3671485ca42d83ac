"""Compute kernels, each behind one function with a reference implementation beside it."""

from .scan import select_backend, selective_scan, selective_scan_reference

__all__ = ["select_backend", "selective_scan", "selective_scan_reference"]
