"""Clustering flat netlists: standard cells grouped into soft macros."""
