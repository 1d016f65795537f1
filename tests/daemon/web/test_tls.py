"""HTTPS on the daemon's own listener (issue 15, item 7: Apple will not talk CalDAV over
plain http): ``[daemon].tls_certificate`` and ``tls_key`` are both given or neither, the
pair is checked by ``check`` and ``run`` in the same one line each problem, and uvicorn
serves it to a client that verifies it against a CA made here."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from support.config_files import config_problems, load_config
from support.loopback import WAIT, ServedApp
from support.tls import ServerFiles, TestCa, served_common_name

from icsbridge.daemon.cli.demo import free_port
from icsbridge.daemon.cli.main import main
from icsbridge.daemon.web.binding import QuietServer, bind, feed_server, wait_started
from icsbridge.daemon.web.health import health_route
from icsbridge.daemon.web.limits import ServerLimits
from icsbridge.daemon.web.tls import renew_certificate, tls_problem

SOURCE = """
[[sources]]
name = "hq"
kind = "webex"
interval = "15m"
token = "env:ICSBRIDGE_TEST_WEBEX_TOKEN"
people = ["person-1"]
"""


@pytest.fixture
def ca(tmp_path: Path) -> TestCa:
    return TestCa(tmp_path)


def test_a_certificate_without_its_key_is_one_config_line(tmp_path: Path) -> None:
    text = f'[daemon]\ntls_certificate = "fullchain.pem"\n{SOURCE}'
    assert config_problems(tmp_path, text) == [
        'daemon: field "tls_key": missing while "tls_certificate" is given: HTTPS needs both '
        "PEM files (or neither, for plain HTTP)"
    ]
    text = f'[daemon]\ntls_key = "privkey.pem"\n{SOURCE}'
    assert config_problems(tmp_path, text) == [
        'daemon: field "tls_certificate": missing while "tls_key" is given: HTTPS needs both '
        "PEM files (or neither, for plain HTTP)"
    ]


def test_tls_files_are_relative_to_the_config_and_make_the_derived_public_url_https(
    tmp_path: Path,
) -> None:
    text = (
        '[daemon]\nlisten = "0.0.0.0:8443"\n'
        f'tls_certificate = "tls/fullchain.pem"\ntls_key = "tls/privkey.pem"\n{SOURCE}'
    )
    daemon = load_config(tmp_path, text).daemon
    assert daemon.tls == (tmp_path / "tls" / "fullchain.pem", tmp_path / "tls" / "privkey.pem")
    assert daemon.public_url == "https://0.0.0.0:8443"
    assert load_config(tmp_path, SOURCE).daemon.tls is None


def _missing(ca: TestCa, folder: Path) -> tuple[Path, Path, str]:
    files = ca.issue("server")
    gone = folder / "nowhere.pem"
    line = (
        f"TLS certificate {gone} ([daemon].tls_certificate): cannot be read "
        "(No such file or directory); check the path and permissions"
    )
    return gone, files.key, line


def _not_a_certificate(ca: TestCa, folder: Path) -> tuple[Path, Path, str]:
    files = ca.issue("server")
    return (
        files.key,
        files.key,
        f"TLS certificate {files.key} ([daemon].tls_certificate): holds no PEM certificate; "
        "give the certificate file (with its chain, e.g. fullchain.pem)",
    )


def _not_a_key(ca: TestCa, folder: Path) -> tuple[Path, Path, str]:
    files = ca.issue("server")
    return (
        files.certificate,
        files.certificate,
        f"TLS key {files.certificate} ([daemon].tls_key): holds no PEM private key; "
        "give the key file (privkey.pem)",
    )


def _another_certificates_key(ca: TestCa, folder: Path) -> tuple[Path, Path, str]:
    one, other = ca.issue("one"), ca.issue("other")
    return (
        one.certificate,
        other.key,
        f"TLS key {other.key} ([daemon].tls_key): is not the key of {one.certificate}; "
        "give the key the certificate was issued for",
    )


def _key_with_a_passphrase(ca: TestCa, folder: Path) -> tuple[Path, Path, str]:
    files = ca.issue("server", passphrase=b"secret words")
    return (
        files.certificate,
        files.key,
        f"TLS key {files.key} ([daemon].tls_key): is protected by a passphrase, which a "
        "service cannot type; give an unencrypted copy readable only by icsbridge's user",
    )


BAD_PAIRS: dict[str, Callable[[TestCa, Path], tuple[Path, Path, str]]] = {
    "missing file": _missing,
    "key as certificate": _not_a_certificate,
    "certificate as key": _not_a_key,
    "another certificate's key": _another_certificates_key,
    "key with a passphrase": _key_with_a_passphrase,
}


@pytest.mark.parametrize("case", sorted(BAD_PAIRS))
def test_check_and_run_refuse_unusable_tls_files_in_the_same_line(
    case: str,
    ca: TestCa,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    certificate, key, line = BAD_PAIRS[case](ca, tmp_path)
    assert str(tls_problem(certificate, key)) == line
    path = tmp_path / "config.toml"
    path.write_text(
        f'[daemon]\nlisten = "127.0.0.1:{free_port()}"\n'
        f'tls_certificate = "{certificate}"\ntls_key = "{key}"\n{SOURCE}'
    )
    said = []
    for command in ("check", "run"):
        code = main([command, "--config", str(path)])
        said.append((code, capsys.readouterr().err.splitlines()))
    assert said == [(1, [f"icsbridge: {line}"]), (1, [f"icsbridge: {line}"])]


def _https_app() -> Starlette:
    return Starlette(routes=[health_route(lambda: (200, {"status": "ok"}))])


def _serving(files: ServerFiles) -> Callable[[Starlette], object]:
    """Serve as the daemon does (``bind`` + ``feed_server``) with ``files``."""

    async def serve(app: Starlette) -> tuple[QuietServer, object, int]:
        import asyncio

        sock = bind("127.0.0.1", 0)
        server = feed_server(
            app, ServerLimits.for_open_files(1024), tls=(files.certificate, files.key)
        )
        task = asyncio.create_task(server.serve(sockets=[sock]))
        await wait_started(server, task)
        return server, task, int(sock.getsockname()[1])

    return serve


def _common_name(url: str, ca: TestCa) -> str:
    with httpx.Client(verify=ca.client_context(), timeout=WAIT, trust_env=False) as client:
        answer = client.get(url)
        assert answer.json() == {"status": "ok"}
        return served_common_name(answer.extensions["network_stream"])


def test_the_feed_server_serves_https_that_a_client_verifies_and_renews_it_in_place(
    ca: TestCa,
) -> None:
    first = ca.issue("first")
    served = ServedApp(_https_app(), _serving(first))  # type: ignore[arg-type]
    try:
        url = f"https://127.0.0.1:{served.port}/healthz"
        assert _common_name(url, ca) == "first"
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(url, timeout=WAIT, trust_env=False)  # the system CAs do not know ours
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.get(url.replace("https:", "http:"), timeout=WAIT, trust_env=False)

        # Renewal: new files; the next connection gets them, the socket stays open.
        renewed = ca.issue("renewed")
        serving = served.server.config.ssl
        served.call(lambda: renew_certificate(serving, renewed.certificate, renewed.key))
        assert _common_name(url, ca) == "renewed"

        # A renewal that is not a pair changes nothing.
        broken = ca.issue("broken")
        line = str(tls_problem(broken.certificate, first.key))
        with pytest.raises(Exception, match="is not the key of"):
            served.call(lambda: renew_certificate(serving, broken.certificate, first.key))
        assert "is not the key of" in line
        assert _common_name(url, ca) == "renewed"
    finally:
        served.stop()


def test_check_recognises_a_running_icsbridge_that_serves_https_on_its_address(
    ca: TestCa, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ICSBRIDGE_TEST_WEBEX_TOKEN", "demo-token")
    files = ca.issue("server")
    report = {"status": "ok", "sources": {"hq": {}}, "feeds": {}}
    app = Starlette(routes=[health_route(lambda: (200, report))])
    served = ServedApp(app, _serving(files))  # type: ignore[arg-type]
    try:
        path = tmp_path / "config.toml"
        path.write_text(
            f'[daemon]\nlisten = "127.0.0.1:{served.port}"\n'
            f'tls_certificate = "{files.certificate}"\ntls_key = "{files.key}"\n{SOURCE}'
        )
        assert main(["check", "--config", str(path)]) == 0
    finally:
        served.stop()
    captured = capsys.readouterr()
    assert captured.err == ""
    assert f"  note: a running icsbridge holds 127.0.0.1:{served.port}" in captured.out
