"""Database engine and transactional sessions (SQLAlchemy 2 + psycopg 3)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import ARRAY, Engine, cast, create_engine, event, literal, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import NullType

log = logging.getLogger(__name__)


def sqlalchemy_url(url: str) -> str:
    """Pin the psycopg 3 driver for plain `postgresql://` URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def build_engine(url: str, *, pool_size: int = 10, application_name: str = "juke",
                 vectors: bool = False) -> Engine:
    """`vectors`: pgvector values come back as numpy arrays (binary), not text to parse."""
    engine = create_engine(
        sqlalchemy_url(url),
        pool_size=pool_size,
        max_overflow=pool_size,
        # A pooled connection that a database restart cut is replaced before use, so the
        # first request after the restart works.
        pool_pre_ping=True,
        connect_args={"application_name": application_name},
    )
    event.listen(engine, "connect", _register_binary_arrays)
    if vectors:
        event.listen(engine, "connect", _register_vector)
    return engine


class BinaryArray(list[Any]):
    """A list psycopg sends in the binary array format: for a batch's thousands of values
    several times cheaper to encode than the text form a plain list gets (which checks
    every element for quoting)."""


def bound_array(values: Iterable[Any], item_type: Any) -> Any:
    """One bound array parameter of `item_type` elements (for `= ANY(...)` and `unnest`):
    a batch's values cost one parameter, not one placeholder each."""
    return cast(literal(BinaryArray(values), NullType()), ARRAY(item_type))


def _register_binary_arrays(dbapi_connection: Any, _record: Any) -> None:
    from psycopg.types.array import ListBinaryDumper

    dbapi_connection.adapters.register_dumper(BinaryArray, ListBinaryDumper)


def _register_vector(dbapi_connection: Any, _record: Any) -> None:
    from pgvector.psycopg import register_vector

    try:
        register_vector(dbapi_connection)
    except Exception as err:  # before migrations create the extension: text still works
        log.warning("pgvector type not registered: %s", err)


class Database:
    """Owns the engine and hands out sessions that commit on success, roll back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._sessions() as session:
            yield session

    def check(self, schema: str) -> None:
        """Raise unless the database answers and the service's schema is migrated."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
            found = conn.execute(
                text("SELECT 1 FROM information_schema.tables WHERE table_schema = :s "
                     "AND table_name = 'alembic_version'"),
                {"s": schema},
            ).first()
            if found is None:
                raise RuntimeError(f"schema {schema!r} is not migrated (run `juke migrate`)")


_COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"


def copy_binary_rows(session: Session, query: Any, fields: list[tuple[str, Any, int]]
                     ) -> Any:
    """The rows of `query` (a psycopg `sql.Composable` SELECT) as one numpy structured array,
    through `COPY ... TO STDOUT (FORMAT BINARY)`: millions of rows without a Python object
    per row or per value.

    `fields`: (name, numpy dtype in network byte order, byte length) per column, every
    column fixed-width and NOT NULL (a NULL or another width is a ValueError naming it). A
    dtype may be structured, for a column with a binary layout of its own (pgvector's).
    """
    import numpy as np
    from psycopg import sql

    raw = session.connection().connection.driver_connection
    if raw is None:
        raise ValueError("the session has no open database connection")
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    chunks: list[bytes] = []
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for block in copy:
            chunks.append(bytes(block))
    data = b"".join(chunks)
    if not data.startswith(_COPY_SIGNATURE):
        raise ValueError("COPY output does not start with the binary signature")
    extension = int.from_bytes(data[15:19], "big")
    body = data[19 + extension:-2]  # after the header; before the -1 trailer
    layout = [("_columns", ">i2")]
    for name, dtype, width in fields:
        layout += [(f"_{name}_length", ">i4"), (name, dtype)]
        if np.dtype(dtype).itemsize != width:
            raise ValueError(f"column {name}: dtype {dtype} is not {width} bytes wide")
    rows = np.frombuffer(body, dtype=np.dtype(layout))
    if len(rows) and np.any(rows["_columns"] != len(fields)):
        raise ValueError(f"COPY rows do not all have {len(fields)} columns")
    for name, _dtype, width in fields:
        if len(rows) and np.any(rows[f"_{name}_length"] != width):
            raise ValueError(f"column {name} holds a NULL or a value not {width} bytes wide")
    return rows
