"""Benchmarks: scripts that print figures (and ratios against bare Temporal where one applies); not tests."""
