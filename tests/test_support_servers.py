"""The test servers start even when the port chosen for them is taken before they bind it (a CI failure once)."""

from __future__ import annotations

import socket
from pathlib import Path

from tests.support.influx import InfluxServer, require_influxd
from tests.support.ports import _ephemeral_start, server_port
from tests.support.postgres import PostgresServer


def test_server_ports_lie_below_the_ephemeral_range_and_are_never_repeated() -> None:
    ports = [server_port() for _ in range(50)]
    assert len(set(ports)) == 50
    assert all(20000 <= p < _ephemeral_start() for p in ports)


def _occupy(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", port))
    sock.listen(1)
    return sock


def test_influxd_moves_to_fresh_ports_when_its_port_was_taken(tmp_path: Path) -> None:
    server = InfluxServer(tmp_path / "influxd", binary=require_influxd())
    taken = server.http_port
    with _occupy(taken):
        try:
            server.start()
            assert server.running and server.http_port != taken
        finally:
            server.close()


def test_postgres_moves_to_a_fresh_port_when_its_port_was_taken() -> None:
    server = PostgresServer()
    taken = server.port
    with _occupy(taken):
        try:
            server.start()
            assert server.port != taken
            import psycopg

            with psycopg.connect(f"host=127.0.0.1 port={server.port} user=caltrace dbname=postgres") as conn:
                assert conn.execute("select 1").fetchone() == (1,)
        finally:
            server.stop()
