"""Implicit-feedback ALS on Apache Spark (`pyspark.ml.recommendation.ALS`), for interaction
sets beyond one machine: the Spark counterpart of `services.ranker.core.cf.train_als`.

Same inputs, same model shape (`CfFactors`: item factors in sorted item-id order, the same
`input_hash`, `users` and `typical_weight`), computed like this:

- On the driver, with the local trainer's own numpy helpers: ids canonicalised to text,
  repeated (user, item) rows summed, `input_hash`, positives only, integer codes (an item's
  code is its rank among the sorted item ids) and the per-user cap, all by `cf.prepare_als`;
  then the confidence `1 + alpha * log1p(weight)`.
- The capped (user code, item code, r) rows go to Spark through a CSV staging file (as in
  `pmi_spark`), and Spark's ALS fits the factors with `implicitPrefs=True`. Spark's
  implicit formulation (Hu, Koren & Volinsky 2008) takes confidence c = 1 + alpha' * r, so
  r = alpha * log1p(weight) with alpha' = 1.0 gives exactly our confidence (preference 1,
  since every r > 0).
- The item factors are collected on the driver and ordered by the sorted item vocabulary.
  An item whose every interaction fell to the per-user cap gets no factors from Spark
  (it has no rating there) and is stored as a zero row: it scores 0 for everyone.

Not bit-identical to `train_als`, and not meant to be:

- Regularisation: Spark's ALS is ALS-WR, where `regParam` is multiplied, per user and per
  item, by that row's number of positive interactions (lambda * n_u, lambda * n_i);
  implicit's `regularization` is one constant lambda for every row. With the same
  `CfConfig.regularization`, Spark therefore regularises heavy users and popular items much
  more strongly. The knob is passed through unchanged, so that configuration means the
  same thing for either engine, and the two are compared on quality (nDCG on a held-out
  split, tests/integration/test_pmi_spark.py), not on factors.
- Initialisation, solver (Spark: exact Cholesky/NNLS per block; implicit: conjugate
  gradient) and float arithmetic differ, so factors differ even with the same seed.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from services.ranker.core.cf import CfConfig, CfFactors, prepare_als
from services.ranker.training.pmi_spark import (
    DEFAULT_DRIVER_MEMORY,
    DEFAULT_MASTER,
    _stage,
    spark_session,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

log = logging.getLogger(__name__)


def train_als_spark(
    user_ids: Sequence[object] | np.ndarray,
    item_ids: Sequence[object] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    config: CfConfig | None = None,
    *,
    master: str = DEFAULT_MASTER,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    spark: SparkSession | None = None,
    staging_dir: str | Path | None = None,
) -> CfFactors:
    """`train_als` on Spark (see the module docstring for what is and is not the same).

    With `spark` given it is used and left running; otherwise a session on `master` is
    started for this call and stopped afterwards (a session already running in this
    process is used instead, and left running).
    """
    config = config or CfConfig()
    data = prepare_als(user_ids, item_ids, weights, config)
    # Spark's confidence is 1 + 1.0 * r: r carries our alpha and the log.
    columns = [("user", data.user_codes.astype(np.int64)),
               ("item", data.item_codes.astype(np.int64)),
               ("rating", (config.alpha * data.log_weight).astype(np.float64))]
    if spark is not None:
        factors = _fit(spark, columns, len(data.item_vocab), config, staging_dir)
    else:
        with spark_session(master, driver_memory=driver_memory) as own:
            factors = _fit(own, columns, len(data.item_vocab), config, staging_dir)
    return data.factors(factors, config)


def _fit(spark: SparkSession, columns: list[tuple[str, np.ndarray]], n_items: int,
         config: CfConfig, staging_dir: str | Path | None) -> np.ndarray:
    """Item factors (float32, n_items x factors), row = item code; zeros where Spark has
    none."""
    from pyspark.ml.recommendation import ALS

    staging = Path(tempfile.mkdtemp(prefix="juke-als-", dir=staging_dir))
    try:
        ratings = _stage(spark, staging / "ratings.csv", columns)
        blocks = max(1, spark.sparkContext.defaultParallelism)
        als = ALS(rank=config.factors, maxIter=config.iterations,
                  regParam=config.regularization, implicitPrefs=True, alpha=1.0,
                  seed=config.seed, nonnegative=False, coldStartStrategy="drop",
                  userCol="user", itemCol="item", ratingCol="rating",
                  numUserBlocks=blocks, numItemBlocks=blocks)
        model = als.fit(ratings)
        rows = model.itemFactors.collect()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    out = np.zeros((n_items, config.factors), dtype=np.float32)
    if rows:
        codes = np.fromiter((r["id"] for r in rows), np.int64, len(rows))
        out[codes] = np.asarray([r["features"] for r in rows], dtype=np.float32)
    log.debug("ALS on Spark: %d of %d items with factors", len(rows), n_items)
    return out
