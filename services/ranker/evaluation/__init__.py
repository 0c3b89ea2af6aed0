"""Offline evaluation: protocol and metrics, the baselines, the harness of compared models, its
data, stored runs and the promotion evaluator.

May import core, datasets, training's data sources, store and the pure modules of playlists
(continuation seeds).
"""
