"""The ranker's schema (SQLAlchemy models) and repositories by aggregate.

Returns dataclasses or NumPy arrays; imports core's plain types only.
"""
