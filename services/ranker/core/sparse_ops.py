"""Sparse operations whose cost follows the entries they touch, never the catalog's width.

A request scores a few seeds against catalog-wide relation matrices. Library routines
(scipy's sparse product, numpy's unique) sweep or hash arrays as wide as the catalog or pay
a fixed overhead that dominates at this size; these do the same arithmetic on the entries a
request meets, so a request costs the same at 100k items as at 1M. Pure numpy/scipy.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.sparse as sp


def sorted_unique(values: np.ndarray) -> np.ndarray:
    """The distinct values, ascending (a sort and a comparison, no hash table)."""
    ordered = np.sort(np.asarray(values), kind="stable")
    if len(ordered) < 2:
        return ordered
    return ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]


def column_sums(parts: Iterable[sp.csr_matrix]) -> tuple[np.ndarray, np.ndarray]:
    """The columns the matrices reach (ascending) and each column's sum over all of them."""
    matrices = list(parts)
    columns = np.concatenate([m.indices for m in matrices] or [np.zeros(0, np.int64)])
    weights = np.concatenate([m.data for m in matrices] or [np.zeros(0)])
    if not len(columns):
        return np.zeros(0, np.int64), np.zeros(0)
    order = np.argsort(columns, kind="stable")
    ordered = columns[order]
    starts = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
    return ordered[starts].astype(np.int64), np.add.reduceat(weights[order], starts)


def slice_positions(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The positions of the slices [start, start + length), one after another: how a run of
    CSR rows (or posting lists) is gathered without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    firsts = np.concatenate(([0], np.cumsum(lengths)[:-1])).astype(np.int64)
    return np.repeat(np.asarray(starts, dtype=np.int64) - firsts, lengths) + np.arange(total)


def gathered_product(left: sp.csr_matrix, right: sp.csr_matrix) -> sp.csr_matrix:
    """left @ right for a few sparse rows on the left, by gathering the right's rows that
    the left's entries name: the work follows the entries met, where a library product
    also sweeps the right's full width for every call."""
    left = sp.csr_matrix(left)
    counts = np.diff(left.indptr)
    left_rows = np.repeat(np.arange(left.shape[0]), counts)
    starts = right.indptr[left.indices]
    lengths = right.indptr[left.indices + 1] - starts
    shape = (left.shape[0], right.shape[1])
    if int(lengths.sum()) == 0:
        return sp.csr_matrix(shape)
    taken = slice_positions(starts, lengths)
    values = np.repeat(left.data, lengths) * right.data[taken]
    out = sp.csr_matrix((values, (np.repeat(left_rows, lengths), right.indices[taken])),
                        shape=shape)
    out.sum_duplicates()
    return out


def rows_of(matrix: sp.csr_matrix, rows: np.ndarray) -> sp.csr_matrix:
    """matrix[rows] (repeats allowed), built straight from the row slices: the library's
    fancy indexing validates and converts far more than a pool of rows needs."""
    rows = np.asarray(rows, dtype=np.int64)
    starts = matrix.indptr[rows]
    lengths = matrix.indptr[rows + 1] - starts
    indptr = np.concatenate(([0], np.cumsum(lengths))).astype(np.int64)
    taken = slice_positions(starts, lengths)
    return sp.csr_matrix((matrix.data[taken], matrix.indices[taken], indptr),
                         shape=(len(rows), matrix.shape[1]))


def pairwise_products(matrix: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Dense (len(rows) x len(rows)) inner products of the given rows: a pool's pairwise
    overlaps, at the size of the pool rather than of the catalog."""
    picked = rows_of(matrix, rows)
    return np.asarray((picked @ picked.T).toarray())
