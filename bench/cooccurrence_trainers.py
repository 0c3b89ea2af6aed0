"""The two PMI co-occurrence trainers, and the two ALS trainers, on the same synthetic
interactions: time (and, for PMI, equality).

    .venv/bin/python -m bench.cooccurrence_trainers [--events 1000000] [--users 20000]
        [--items 50000] [--master local[2]] [--only pmi|als]

Events are seeded: users uniform, items by Zipf popularity (p ~ 1/rank^s), weights play
counts 1..50 (repeated (user, item) events add up, as in the trainers). Times
`train_pmi` (numpy/scipy, this process) and `train_pmi_spark` on `--master` with the
default PmiConfig. For Spark it prints the session start and the training on a fresh
session ("cold": JVM code paths not yet compiled) and again on the warm one; the engine
`auto` pays the start and a cold run each time it trains (it starts its own session).
Prints whether the two tables are equal (rows, counts, PMI within 1e-9, input_hash) and
the 1-minute load average, which shows other work on the machine.

ALS: `train_als` (implicit, one thread) and `train_als_spark` (on the warm session) with
CfConfig(factors=64, iterations=15). Their factors are not meant to be equal (see
services/ranker/training/als_spark.py); it prints whether the vocabulary and input_hash are.
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from services.ranker.core.cf import CfConfig, train_als
from services.ranker.core.pmi import CooccurrenceTable, PmiConfig, train_pmi
from services.ranker.training.als_spark import train_als_spark
from services.ranker.training.pmi_spark import spark_session, train_pmi_spark


def synthetic_events(events: int, users: int, items: int, zipf: float = 1.0, seed: int = 17
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1) ** zipf
    popularity /= popularity.sum()
    item_ids = rng.permutation(items)  # popularity unrelated to id order
    return (rng.integers(0, users, size=events),
            item_ids[rng.choice(items, size=events, p=popularity)],
            rng.integers(1, 51, size=events).astype(np.float64))


def same_table(a: CooccurrenceTable, b: CooccurrenceTable) -> bool:
    return (a.input_hash == b.input_hash and a.users == b.users
            and a.item_a.tolist() == b.item_a.tolist()
            and a.item_b.tolist() == b.item_b.tolist()
            and np.array_equal(a.co_count, b.co_count)
            and bool(np.all(np.abs(a.pmi_score - b.pmi_score) <= 1e-9)))


def run(args: argparse.Namespace) -> None:
    users, items, weights = synthetic_events(args.events, args.users, args.items, args.zipf)
    config = PmiConfig()
    distinct = len(np.unique(users.astype(np.int64) * args.items + items))
    print(f"events: {args.events} ({args.users} users, {args.items} items, Zipf s={args.zipf}; "
          f"{distinct} distinct user-item pairs, {len(np.unique(items))} items seen)")
    print(f"config: {config}")
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (1 min)")

    if args.only != "als":
        t0 = time.perf_counter()
        local = train_pmi(users, items, weights, config)
        local_s = time.perf_counter() - t0
        print(f"train_pmi (local):          {local_s:7.2f} s, {len(local)} pairs")

    t0 = time.perf_counter()
    with spark_session(args.master) as spark:
        start_s = time.perf_counter() - t0
        print(f"spark session start ({args.master}): {start_s:5.2f} s")
        if args.only != "als":
            results = []
            for run_name in ("cold", "warm"):
                t1 = time.perf_counter()
                table = train_pmi_spark(users, items, weights, config, spark=spark)
                seconds = time.perf_counter() - t1
                results.append(table)
                print(f"train_pmi_spark ({run_name}):     {seconds:7.2f} s, {len(table)} pairs")
            print(f"tables equal: {all(same_table(table, local) for table in results)}; "
                  f"load average {os.getloadavg()[0]:.1f}")
        if args.only != "pmi":
            als_config = CfConfig(factors=64, iterations=15)
            print(f"ALS config: {als_config}")
            t1 = time.perf_counter()
            als_local = train_als(users, items, weights, als_config)
            print(f"train_als (local):          {time.perf_counter() - t1:7.2f} s, "
                  f"{len(als_local)} items")
            t1 = time.perf_counter()
            als_spark = train_als_spark(users, items, weights, als_config, spark=spark)
            print(f"train_als_spark:            {time.perf_counter() - t1:7.2f} s, "
                  f"{len(als_spark)} items")
            same = (als_spark.item_ids.tolist() == als_local.item_ids.tolist()
                    and als_spark.input_hash == als_local.input_hash)
            print(f"same vocabulary and input_hash: {same}; "
                  f"load average {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=20_000)
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--zipf", type=float, default=1.0)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--only", choices=("pmi", "als"), default=None,
                        help="time only these trainers (default: both)")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
