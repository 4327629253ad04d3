"""Benchmarks for clientfolio: `python -m bench` (or `make bench`). See bench/README.md.

Every figure is printed next to a baseline measured in the same run, as a ratio; nothing here asserts a
time, so results are comparable across machines only through the ratios.
"""
