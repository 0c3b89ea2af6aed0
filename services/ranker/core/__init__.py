"""Pure scoring: catalog features, signals, hybrid ranking, MMR, the co-occurrence table, CF math,
clustering.

NumPy/SciPy only (and LightGBM for the learned second stage, rerank.py: its boosted trees and
their exact SHAP contributions): no I/O, no gRPC, SQLAlchemy or Temporal; imports nothing else
of the ranker.
"""
