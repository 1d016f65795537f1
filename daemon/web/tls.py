"""The feed server's TLS certificate: checked before uvicorn loads it, renewed in place.

uvicorn serves HTTPS itself from ``[daemon].tls_certificate`` and ``tls_key``
(``binding.feed_server``). Its own loading fails with OpenSSL's words (``[SSL] PEM lib``)
or, for a key with a passphrase, asks for it on a terminal a service does not have; so
:func:`tls_problem` loads the pair first and says in one line which file is wrong and
how. ``check``, ``run`` and a reload call it alike (``service.preflight``).

A reload (SIGHUP, ``systemctl reload`` from a certificate renewal hook) loads the files
again without closing the socket: :func:`renew_certificate` builds a new context the
way uvicorn builds its own and points the serving context's SNI callback at it, which
OpenSSL calls for every handshake (with or without a server name), so each new
connection gets the new certificate and open ones keep theirs.
"""

from __future__ import annotations

import ssl
from pathlib import Path

from uvicorn.config import create_ssl_context

from icsbridge.config.errors import IcsbridgeError

_CERTIFICATE_MARK = b"-----BEGIN CERTIFICATE-----"
_KEY_MARK = b"PRIVATE KEY-----"


class TlsError(IcsbridgeError):
    """``[daemon].tls_certificate`` / ``tls_key`` cannot serve HTTPS; one line says why."""


class _Passphrase(Exception):
    """OpenSSL asked for the key's passphrase (it would prompt on a terminal)."""


def _refuse_passphrase() -> bytes:
    raise _Passphrase


def tls_problem(certificate: Path, key: Path) -> TlsError | None:
    """Why uvicorn could not serve HTTPS with ``certificate`` and ``key`` (PEM files),
    or None when they load as a pair."""
    cert_where = f"TLS certificate {certificate} ([daemon].tls_certificate)"
    key_where = f"TLS key {key} ([daemon].tls_key)"
    texts: list[bytes] = []
    for path, where in ((certificate, cert_where), (key, key_where)):
        try:
            texts.append(path.read_bytes())
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return TlsError(f"{where}: cannot be read ({reason}); check the path and permissions")
    if _CERTIFICATE_MARK not in texts[0]:
        return TlsError(
            f"{cert_where}: holds no PEM certificate; give the certificate file "
            "(with its chain, e.g. fullchain.pem)"
        )
    if _KEY_MARK not in texts[1]:
        return TlsError(f"{key_where}: holds no PEM private key; give the key file (privkey.pem)")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificate, key, password=_refuse_passphrase)
    except _Passphrase:
        return TlsError(
            f"{key_where}: is protected by a passphrase, which a service cannot type; give "
            "an unencrypted copy readable only by icsbridge's user"
        )
    except ssl.SSLError as exc:
        if exc.reason == "KEY_VALUES_MISMATCH":
            return TlsError(
                f"{key_where}: is not the key of {certificate}; give the key the "
                "certificate was issued for"
            )
        return TlsError(
            f"{cert_where} with {key_where}: OpenSSL cannot use them "
            f"({exc.reason or exc.strerror or exc}); check that both are PEM files of one pair"
        )
    return None


def check_tls(certificate: Path, key: Path) -> None:
    """Raise the :class:`TlsError` of :func:`tls_problem`, if any."""
    problem = tls_problem(certificate, key)
    if problem is not None:
        raise problem


def renew_certificate(serving: ssl.SSLContext, certificate: Path, key: Path) -> None:
    """Serve ``certificate`` and ``key`` from the next handshake on ``serving`` (the
    context uvicorn listens with), built as uvicorn builds its own: checked first, so a
    bad pair raises :class:`TlsError` and the old certificate stays."""
    check_tls(certificate, key)
    fresh = create_ssl_context(
        certfile=certificate,
        keyfile=key,
        password=None,
        ssl_version=ssl.PROTOCOL_TLS_SERVER,
        cert_reqs=ssl.CERT_NONE,
        ca_certs=None,
        ciphers="TLSv1",  # uvicorn's default, as the serving context has it
    )

    def pick(connection: ssl.SSLObject, _name: str | None, _context: ssl.SSLContext) -> None:
        connection.context = fresh

    serving.sni_callback = pick
