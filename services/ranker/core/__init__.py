"""Pure scoring: catalog features, signals, hybrid ranking, MMR, the co-occurrence table, CF math,
clustering.

NumPy/SciPy only: no I/O, no gRPC, SQLAlchemy or Temporal; imports nothing else of the ranker.
"""
