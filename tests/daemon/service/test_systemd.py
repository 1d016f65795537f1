"""sd_notify against real unix datagram sockets: what systemd would read, byte for byte."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from icsbridge.daemon.service.systemd import Notifier


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.setblocking(False)  # a datagram is queued by the time sendto returns
    return sock


def _datagrams(sock: socket.socket) -> list[bytes]:
    received = []
    while True:
        try:
            received.append(sock.recv(4096))
        except BlockingIOError:
            return received


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = _receiver(path)
    yield sock, path
    sock.close()


@pytest.fixture
def notifier(listener: tuple[socket.socket, str]) -> Iterator[Notifier]:
    n = Notifier({"NOTIFY_SOCKET": listener[1]}, clock=lambda: 1234.5)
    yield n
    n.close()


def test_ready_with_status_is_one_datagram(
    listener: tuple[socket.socket, str], notifier: Notifier
) -> None:
    notifier.ready()
    notifier.ready("serving 3 feeds")
    assert notifier.enabled
    assert _datagrams(listener[0]) == [b"READY=1", b"READY=1\nSTATUS=serving 3 feeds"]


def test_reloading_carries_monotonic_usec(
    listener: tuple[socket.socket, str], notifier: Notifier
) -> None:
    notifier.reloading()
    assert _datagrams(listener[0]) == [b"RELOADING=1\nMONOTONIC_USEC=1234500000"]


def test_stopping_watchdog_and_status(
    listener: tuple[socket.socket, str], notifier: Notifier
) -> None:
    notifier.stopping()
    notifier.watchdog()
    notifier.status("sync hq: 2 errors\nretrying")
    assert _datagrams(listener[0]) == [
        b"STOPPING=1",
        b"WATCHDOG=1",
        b"STATUS=sync hq: 2 errors retrying",  # one line: a newline would start a new field
    ]


def test_status_is_utf8(listener: tuple[socket.socket, str], notifier: Notifier) -> None:
    notifier.status("Zürich: 1 feed")
    assert _datagrams(listener[0]) == ["STATUS=Zürich: 1 feed".encode()]


def test_abstract_namespace_socket() -> None:
    name = f"icsbridge-test-{uuid.uuid4().hex}"
    sock = _receiver("\0" + name)
    n = Notifier({"NOTIFY_SOCKET": "@" + name})
    try:
        n.ready("up")
        assert _datagrams(sock) == [b"READY=1\nSTATUS=up"]
    finally:
        n.close()
        sock.close()


def test_reads_os_environ_by_default(
    listener: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", listener[1])
    n = Notifier()
    monkeypatch.delenv("NOTIFY_SOCKET")  # a snapshot: later changes do not matter
    n.watchdog()
    n.close()
    assert _datagrams(listener[0]) == [b"WATCHDOG=1"]


def test_default_clock_is_clock_monotonic(listener: tuple[socket.socket, str]) -> None:
    # systemd compares MONOTONIC_USEC with its own CLOCK_MONOTONIC (not wall-clock time).
    n = Notifier({"NOTIFY_SOCKET": listener[1]})
    before = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    n.reloading()
    after = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
    n.close()
    (datagram,) = _datagrams(listener[0])
    head, usec = datagram.split(b"\nMONOTONIC_USEC=")
    assert head == b"RELOADING=1"
    assert before - 1 <= int(usec) <= after + 1


@pytest.mark.parametrize("env", [{}, {"NOTIFY_SOCKET": ""}], ids=["unset", "empty"])
def test_without_notify_socket_nothing_happens(
    env: dict[str, str],
    listener: tuple[socket.socket, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def no_socket(*_args: object) -> socket.socket:
        raise AssertionError("a socket was opened without NOTIFY_SOCKET")

    monkeypatch.setattr(socket, "socket", no_socket)
    n = Notifier({**env, "WATCHDOG_USEC": "60000000"})
    n.ready("up")
    n.reloading()
    n.status("x")
    n.watchdog()
    n.stopping()
    n.close()
    assert not n.enabled
    assert n.watchdog_interval() is None
    assert _datagrams(listener[0]) == []
    assert caplog.records == []


def test_relative_notify_socket_is_refused_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="icsbridge.daemon.service.systemd"):
        n = Notifier({"NOTIFY_SOCKET": "run/notify"})
    n.ready()
    assert not n.enabled
    assert caplog.messages == [
        "NOTIFY_SOCKET='run/notify' is neither an absolute path nor @name: "
        "systemd notifications are off"
    ]


def test_missing_socket_warns_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "gone"
    n = Notifier({"NOTIFY_SOCKET": str(path)})
    with caplog.at_level(logging.DEBUG, logger="icsbridge.daemon.service.systemd"):
        n.ready()
        n.watchdog()
        n.stopping()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"systemd notification READY=1 to {path} failed: No such file or directory "
        "(further failures are logged at debug)"
    ]
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.DEBUG, logging.DEBUG]

    # Once the socket exists, messages get through again.
    sock = _receiver(str(path))
    try:
        n.watchdog()
        assert _datagrams(sock) == [b"WATCHDOG=1"]
    finally:
        n.close()
        sock.close()


def test_a_full_queue_drops_the_message_instead_of_blocking(
    listener: tuple[socket.socket, str], notifier: Notifier, caplog: pytest.LogCaptureFixture
) -> None:
    # Nobody reads the listener; a blocking send would hang here once its queue is full.
    with caplog.at_level(logging.WARNING, logger="icsbridge.daemon.service.systemd"):
        for _ in range(100_000):
            notifier.watchdog()
            if caplog.records:
                break
    assert caplog.messages == [
        f"systemd notification WATCHDOG=1 to {listener[1]} failed: "
        "Resource temporarily unavailable (further failures are logged at debug)"
    ]


PID = str(os.getpid())


@pytest.mark.parametrize(
    ("watchdog_env", "expected"),
    [
        ({"WATCHDOG_USEC": "60000000", "WATCHDOG_PID": PID}, 30.0),
        ({"WATCHDOG_USEC": "60000000"}, 30.0),
        ({"WATCHDOG_USEC": "5000000", "WATCHDOG_PID": str(os.getpid() + 1)}, None),
        ({"WATCHDOG_PID": PID}, None),
        ({}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "60s"}, None),
    ],
    ids=["own-pid", "no-pid", "other-pid", "no-usec", "unset", "zero", "not-a-number"],
)
def test_watchdog_interval(
    watchdog_env: dict[str, str], expected: float | None, listener: tuple[socket.socket, str]
) -> None:
    n = Notifier({"NOTIFY_SOCKET": listener[1], **watchdog_env})
    assert n.watchdog_interval() == expected


def test_invalid_watchdog_usec_is_logged(
    listener: tuple[socket.socket, str], caplog: pytest.LogCaptureFixture
) -> None:
    n = Notifier({"NOTIFY_SOCKET": listener[1], "WATCHDOG_USEC": "60s"})
    with caplog.at_level(logging.WARNING, logger="icsbridge.daemon.service.systemd"):
        assert n.watchdog_interval() is None
    assert caplog.messages == ["ignoring WATCHDOG_USEC='60s': not a number of microseconds"]
