"""Performance benchmarks (not part of the pytest suite): see README.md."""
