"""Capacity on paper from numbers measured here: bench/capacity/measure.py, report.py."""
