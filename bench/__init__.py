"""Synthetic data generator and benchmarks (not part of the installed package)."""
