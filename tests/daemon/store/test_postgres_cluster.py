"""The tests' own PostgreSQL: a unix socket in a temporary folder, no TCP, fresh databases."""

from __future__ import annotations

import psycopg
from support.postgres import Cluster


def test_the_test_cluster_listens_on_its_own_socket_only(postgres_cluster: Cluster) -> None:
    with psycopg.connect(postgres_cluster.dsn("postgres")) as db:
        assert db.execute("SHOW listen_addresses").fetchone() == ("",)
        assert db.execute("SHOW fsync").fetchone() == ("off",)
        socket_dir = db.execute("SHOW unix_socket_directories").fetchone()
    assert socket_dir == (postgres_cluster.socket_dir,)


def test_each_database_is_new_and_sorts_text_by_language(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as db:
        tables = db.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        assert tables.fetchone() == (0,)
        # A language collation by default: a key column without COLLATE "C" would be seen.
        order = db.execute("SELECT x FROM unnest(ARRAY['a1', '_z', 'B']) x ORDER BY x")
        assert [r[0] for r in order.fetchall()] != sorted(["a1", "_z", "B"])
