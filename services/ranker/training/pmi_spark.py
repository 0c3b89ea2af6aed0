"""The PMI co-occurrence trainer on Apache Spark, for interaction sets beyond one machine.

`train_pmi_spark` computes exactly what `services.ranker.core.pmi.train_pmi` computes (see that
module for the algorithm) and returns the same `CooccurrenceTable`, row for row:

- On the driver, with the local trainer's own numpy code: ids canonicalised to text, repeated
  (user, item) rows summed, `input_hash`, positives only, and ids replaced by integer codes
  (an item's code is its rank among the sorted item ids, so "smaller item id" ties break
  the same way). This is O(n log n) over arrays the driver already holds; the part that
  outgrows one machine, the pair counts C = X^T X, runs in Spark.
- In Spark (DataFrames): the per-user cap (a window per user: weight desc, item code asc),
  n(a), the self-join per user (a < b, mirrored afterwards), pair counts and min_count,
  PMI, the top-k window per item and the symmetric union.
- PMI is `log(c U) - (log n(a) + log n(b))` in float64 as in `train_pmi`, with the
  logarithms taken from a table of k = 1..U computed on the driver by numpy's `np.log`
  (U = users with a positive; every count is at most U). The JVM's `StrictMath.log` and
  numpy's vectorised log may differ in the last bit, which would be within 1e-9 but could
  flip a tie in the top-k ranking or the PMI > 0 cut where PMI is exactly 0
  (c U = n(a) n(b)); with the table, Spark's PMI is bit-identical to the local trainer's.

Interactions reach Spark through a CSV file in a staging directory (temporary by default;
with a cluster master it must be a directory the driver and every executor see), which is
several times faster than `createDataFrame` from Python rows and needs neither pandas nor
pyarrow. The result is collected on the driver: the table is what gets stored.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from services.ranker.core.pmi import (
    CooccurrenceTable,
    PmiConfig,
    canonical_interactions,
    hash_canonical,
)
from services.ranker.training.spark_jvm import start_gateway

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "2g"
SHUFFLE_PARTITIONS = 8
_CHUNK = 1_000_000  # staging rows written per batch


def build_spark_session(
    master: str = DEFAULT_MASTER,
    *,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    shuffle_partitions: int = SHUFFLE_PARTITIONS,
    app_name: str = "juke-pmi",
) -> SparkSession:
    """A SparkSession for training: no UI, no Hive metastore, no packages (nothing is
    downloaded), and, for a local master, bound to the loopback interface. The caller
    stops it (or use `spark_session`). A session already running in this process is
    returned as it is."""
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    conf = (
        SparkConf().setMaster(master).setAppName(app_name)
        .set("spark.driver.memory", driver_memory)
        .set("spark.sql.shuffle.partitions", str(shuffle_partitions))
        .set("spark.default.parallelism", str(shuffle_partitions))
        .set("spark.ui.enabled", "false")
        .set("spark.ui.showConsoleProgress", "false")
        .set("spark.sql.catalogImplementation", "in-memory")
    )
    if master.startswith("local"):
        conf = conf.set("spark.driver.host", "127.0.0.1").set("spark.driver.bindAddress",
                                                               "127.0.0.1")
    if SparkContext._active_spark_context is None:
        # The JVM outlives a stopped context, as in pyspark; start it only once.
        gateway = SparkContext._gateway or start_gateway(conf)
        SparkContext(conf=conf, gateway=gateway)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


@contextmanager
def spark_session(
    master: str = DEFAULT_MASTER,
    *,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    shuffle_partitions: int = SHUFFLE_PARTITIONS,
) -> Iterator[SparkSession]:
    """`build_spark_session`, stopped on exit unless it was already running (a session
    someone else started in this process is used and left to them)."""
    from pyspark import SparkContext

    running = SparkContext._active_spark_context is not None
    spark = build_spark_session(
        master, driver_memory=driver_memory, shuffle_partitions=shuffle_partitions
    )
    try:
        yield spark
    finally:
        if not running:
            spark.stop()


def train_pmi_spark(
    user_ids: Sequence[object] | np.ndarray,
    item_ids: Sequence[object] | np.ndarray,
    weights: Sequence[float] | np.ndarray,
    config: PmiConfig | None = None,
    *,
    master: str = DEFAULT_MASTER,
    spark: SparkSession | None = None,
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    staging_dir: str | Path | None = None,
) -> CooccurrenceTable:
    """`train_pmi` on Spark: the same table (rows, counts, PMI, input_hash).

    With `spark` given it is used and left running; otherwise a session on `master` is
    started for this call and stopped afterwards (a session already running in this
    process is used instead, and left running).
    """
    config = config or PmiConfig()
    users, items, summed = canonical_interactions(
        np.asarray(user_ids), np.asarray(item_ids), np.asarray(weights)
    )
    input_hash = hash_canonical(users, items, summed)
    positive = summed > 0
    users, items, summed = users[positive], items[positive], summed[positive]
    user_codes = np.unique(users, return_inverse=True)[1]
    item_vocab, item_codes = np.unique(items, return_inverse=True)
    n_users = int(user_codes.max()) + 1 if len(user_codes) else 0
    if n_users == 0:
        empty = CooccurrenceTable.empty()
        return CooccurrenceTable(empty.item_a, empty.item_b, empty.co_count, empty.pmi_score,
                                 input_hash=input_hash, users=0, config=config)

    if spark is not None:
        a, b, c, pmi = _train(spark, user_codes, item_codes, summed, n_users, config,
                              staging_dir)
    else:
        with spark_session(master, driver_memory=driver_memory) as own:
            a, b, c, pmi = _train(own, user_codes, item_codes, summed, n_users, config,
                                  staging_dir)
    return CooccurrenceTable(
        item_a=item_vocab[a].astype(object),
        item_b=item_vocab[b].astype(object),
        co_count=c,
        pmi_score=pmi,
        input_hash=input_hash,
        users=n_users,
        config=config,
    )


def _train(
    spark: SparkSession,
    user_codes: np.ndarray,
    item_codes: np.ndarray,
    weights: np.ndarray,
    n_users: int,
    config: PmiConfig,
    staging_dir: str | Path | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Item codes (a, b), co_count, PMI of the table, sorted by (a, b)."""
    staging = Path(tempfile.mkdtemp(prefix="juke-pmi-", dir=staging_dir))
    try:
        interactions = _stage(spark, staging / "interactions.csv",
                              [("u", user_codes), ("i", item_codes), ("w", weights)])
        # log k and log(k U) for k = 1..U from numpy (see the module docstring).
        ks = np.arange(1, n_users + 1, dtype=np.float64)
        logs = _stage(spark, staging / "logs.csv",
                      [("k", ks.astype(np.int64)), ("log_k", np.log(ks)),
                       ("log_ku", np.log(ks * float(max(n_users, 1))))])
        kept = _capped(interactions, config.max_items_per_user).persist()
        try:
            rows = _pairs(kept, logs, config).collect()
        finally:
            kept.unpersist()
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    # One row per pair {lo, hi}; the table holds both directions with equal values.
    lo = np.fromiter((r[0] for r in rows), np.int64, len(rows))
    hi = np.fromiter((r[1] for r in rows), np.int64, len(rows))
    c = np.fromiter((r[2] for r in rows), np.int64, len(rows))
    pmi = np.fromiter((r[3] for r in rows), np.float64, len(rows))
    a, b = np.concatenate((lo, hi)), np.concatenate((hi, lo))
    c, pmi = np.concatenate((c, c)), np.concatenate((pmi, pmi))
    order = np.lexsort((b, a))
    return a[order], b[order], c[order], pmi[order]


def _stage(spark: SparkSession, path: Path, columns: list[tuple[str, np.ndarray]]
           ) -> DataFrame:
    """Parallel integer/float64 columns as a DataFrame read from a CSV file at `path`.

    Floats are written with `repr`, which parses back (Java's Double.parseDouble) to the
    same double."""
    from pyspark.sql import types as T

    n = len(columns[0][1])
    with open(path, "w", encoding="ascii") as out:
        for start in range(0, n, _CHUNK):
            parts = [values[start:start + _CHUNK].tolist() for _, values in columns]
            out.writelines(",".join(map(repr, row)) + "\n" for row in zip(*parts, strict=True))
    schema = T.StructType([
        T.StructField(name, T.DoubleType() if values.dtype.kind == "f" else T.LongType(), False)
        for name, values in columns
    ])
    return spark.read.csv(str(path), schema=schema, mode="FAILFAST")


def _capped(interactions: DataFrame, cap: int | None) -> DataFrame:
    """(u, i) kept: each user's `cap` heaviest items (ties: smaller item code)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    if cap is not None:
        heaviest = Window.partitionBy("u").orderBy(F.col("w").desc(), F.col("i").asc())
        interactions = (interactions.withColumn("rank", F.row_number().over(heaviest))
                        .where(F.col("rank") <= cap))
    return interactions.select("u", "i")


def _pairs(kept: DataFrame, logs: DataFrame, config: PmiConfig) -> DataFrame:
    """(lo, hi, c, pmi): the table's pairs, one row per unordered pair (lo < hi)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    item_logs = (kept.groupBy("i").agg(F.count(F.lit(1)).alias("n"))
                 .join(logs, F.col("n") == F.col("k"))
                 .select("i", "log_k"))
    left, right = kept.alias("l"), kept.alias("r")
    counts = (left.join(right, (F.col("l.u") == F.col("r.u")) & (F.col("l.i") < F.col("r.i")))
              .groupBy(F.col("l.i").alias("lo"), F.col("r.i").alias("hi"))
              .agg(F.count(F.lit(1)).alias("c"))
              .where(F.col("c") >= config.min_count))
    l_lo, l_hi = item_logs.alias("l_lo"), item_logs.alias("l_hi")
    # As in train_pmi: log(c U) - (log n(a) + log n(b)); the sum is the same in either order.
    scored = (counts.join(l_lo, F.col("lo") == F.col("l_lo.i"))
              .join(l_hi, F.col("hi") == F.col("l_hi.i"))
              .join(logs, F.col("c") == F.col("k"))
              .select("lo", "hi", "c",
                      (F.col("log_ku") - (F.col("l_lo.log_k") + F.col("l_hi.log_k")))
                      .alias("pmi")))
    if not config.keep_nonpositive:
        scored = scored.where(F.col("pmi") > 0)
    if config.top_k is None:
        return scored
    # Rank each item's partners over both directions; a pair stays when either side keeps it.
    directed = scored.select(
        "c", "pmi",
        F.explode(F.array(
            F.struct(F.col("lo").alias("a"), F.col("hi").alias("b")),
            F.struct(F.col("hi").alias("a"), F.col("lo").alias("b")),
        )).alias("pair"),
    ).select("pair.a", "pair.b", "c", "pmi")
    first, second = ("pmi", "c") if config.rank_partners_by == "pmi" else ("c", "pmi")
    partners = Window.partitionBy("a").orderBy(
        F.col(first).desc(), F.col(second).desc(), F.col("b").asc())
    return (directed.withColumn("rank", F.row_number().over(partners))
            .where(F.col("rank") <= config.top_k)
            .groupBy(F.least("a", "b").alias("lo"), F.greatest("a", "b").alias("hi"))
            .agg(F.min("c").alias("c"), F.min("pmi").alias("pmi")))
