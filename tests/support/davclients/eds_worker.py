"""Evolution's data server driven from Debian's python3 (python3-gi), for ``eds.py``.

One JSON command per line on stdin, one JSON answer per line on stdout. ``eds.py`` runs
this inside ``dbus-run-session`` with an unlocked gnome-keyring-daemon, HOME and the XDG
folders in a scratch directory. It imports nothing of icsbridge: this interpreter is not
the venv's.

Commands (``op`` plus arguments):
- ``discover`` (url, user, password): EDS's own CalDAV discovery (what Evolution's "Find
  calendars" does): ``[{"href", "name"}]``;
- ``open`` (uid, url, user, password, name): a source added to the registry (which
  writes its ``.source`` file, ``BackendName=caldav``), the password in the keyring
  where EDS's credentials provider looks, then an
  ``ECal.Client`` on it, waited for until it is writable (or read-only for good);
- ``list`` (present, absent: UIDs): the events as EDS holds them (.ics text), once it
  has fetched what the caller knows the server holds; ``refresh``: fetch from the server;
- ``create`` (ics: one VEVENT) -> its UID; ``modify`` (ics); ``remove`` (uid);
- ``quit``.
Each answer is ``{"ok": ...}`` or ``{"error": "<the text EDS gives>", "code": <n>}``.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import urlsplit

import gi

gi.require_version("ECal", "2.0")
gi.require_version("EDataServer", "1.2")
gi.require_version("ICalGLib", "3.0")
from gi.repository import ECal, EDataServer, GLib, GObject, ICalGLib  # noqa: E402

TIMEOUT = 30  # seconds EDS may take to open a backend and reach the server
NO_WAIT = 0xFFFFFFFF  # connect_sync's "(guint32) -1": return at once, we wait below


def _credentials(user: str, password: str) -> Any:
    credentials = EDataServer.NamedParameters.new()
    credentials.set(EDataServer.SOURCE_CREDENTIAL_USERNAME, user)
    credentials.set(EDataServer.SOURCE_CREDENTIAL_PASSWORD, password)
    return credentials


def _new_source(uid: str, url: str, user: str, name: str) -> Any:
    """The ESource Evolution's "New calendar: CalDAV" dialog makes; the registry writes
    it as ``<uid>.source`` (``[Calendar] BackendName=caldav``, ``[Authentication]``,
    ``[WebDAV Backend] ResourcePath``)."""
    parts = urlsplit(url)
    secure = parts.scheme == "https"
    source = EDataServer.Source.new_with_uid(uid, None)
    source.set_display_name(name)
    source.set_parent(None)
    source.get_extension(EDataServer.SOURCE_EXTENSION_CALENDAR).set_backend_name("caldav")
    auth = source.get_extension(EDataServer.SOURCE_EXTENSION_AUTHENTICATION)
    auth.set_host(parts.hostname)
    auth.set_port(parts.port or (443 if secure else 80))
    auth.set_user(user)
    auth.set_method("plain/password")
    auth.set_remember_password(True)
    security = source.get_extension(EDataServer.SOURCE_EXTENSION_SECURITY)
    security.set_method("tls" if secure else "none")
    webdav = source.get_extension(EDataServer.SOURCE_EXTENSION_WEBDAV_BACKEND)
    webdav.set_resource_path(parts.path or "/")
    source.get_extension(EDataServer.SOURCE_EXTENSION_OFFLINE).set_stay_synchronized(False)
    source.get_extension(EDataServer.SOURCE_EXTENSION_REFRESH).set_enabled(False)
    return source


class Session:
    def __init__(self) -> None:
        self.registry: Any = None
        self.client: Any = None
        self.rejected: str | None = None

    def _registry(self) -> Any:
        if self.registry is None:
            self.registry = EDataServer.SourceRegistry.new_sync(None)
        return self.registry

    def discover(self, url: str, user: str, password: str) -> list[dict[str, str]]:
        source = EDataServer.Source.new(None, None)
        webdav = source.get_extension(EDataServer.SOURCE_EXTENSION_WEBDAV_BACKEND)
        webdav.set_uri(GLib.Uri.parse(url, GLib.UriFlags.NONE))
        source.get_extension(EDataServer.SOURCE_EXTENSION_AUTHENTICATION).set_user(user)
        found = EDataServer.webdav_discover_sources_sync(
            source,
            url,
            EDataServer.WebDAVDiscoverSupports.EVENTS,
            _credentials(user, password),
            None,
        )
        sources = found[3] if isinstance(found, tuple) else []
        return [{"href": s.href, "name": s.display_name} for s in sources]

    def open(self, uid: str, url: str, user: str, password: str, name: str) -> str:
        registry = self._registry()
        if registry.ref_source(uid) is None:
            registry.create_sources_sync([_new_source(uid, url, user, name)], None)
        EDataServer.secret_store_store_sync(uid, password, f"icsbridge test {uid}", True, None)
        source = registry.ref_source(uid)
        if source is None:
            raise RuntimeError(f"the source registry did not add {uid}")
        credentials = _credentials(user, password)

        def required(src: Any, reason: Any, _pem: Any, _errors: Any, error: Any) -> None:
            # What a person is asked for in Evolution's password prompt: answered once
            # with the password; a rejection is kept for the caller.
            if reason == EDataServer.SourceCredentialsReason.REJECTED or self.rejected:
                self.rejected = error.message if error is not None else str(reason)
                return
            src.invoke_authenticate(credentials, None, None, None)

        source.connect("credentials-required", required)
        self.client = ECal.Client.connect_sync(source, ECal.ClientSourceType.EVENTS, NO_WAIT, None)
        last = source.get_last_credentials_required_arguments_sync(None)
        if last[1] == EDataServer.SourceCredentialsReason.REQUIRED:  # asked before we listened
            source.invoke_authenticate_sync(credentials, None)
        self._wait_connected(source)
        return str(source.get_display_name())

    def _wait_connected(self, source: Any) -> None:
        """Until the backend says it is connected to the server (the source's
        connection-status), the password is rejected, or TIMEOUT; on the GLib loop, which
        delivers EDS's signals. Before that, EDS keeps a change in its cache to upload
        later, and a refusal would reach the caller only as a background error."""
        connected = EDataServer.SourceConnectionStatus.CONNECTED

        def done() -> bool:
            return bool(
                self.rejected
                or (source.get_connection_status() == connected and not self.client.is_readonly())
            )

        if done():
            return
        loop = GLib.MainLoop()

        def changed(*_: Any) -> None:
            if done():
                loop.quit()

        source.connect("notify::connection-status", changed)
        # ECal.Client.connect is EDS's constructor; GObject's signal connect is under it.
        GObject.Object.connect(self.client, "notify::readonly", changed)
        GLib.timeout_add_seconds(TIMEOUT, loop.quit)
        loop.run()
        if self.rejected:
            raise RuntimeError(f"EDS could not log in: {self.rejected}")

    def _events(self) -> dict[str, str]:
        _ok, comps = self.client.get_object_list_as_comps_sync("#t", None)
        return {str(comp.get_uid()): str(comp.get_as_string()) for comp in comps}

    def list(self, present: list[str], absent: list[str]) -> list[str]:
        """The events in EDS's cache once the UIDs ``present`` are there and ``absent``
        are not (or after TIMEOUT): a refresh only schedules the fetch, so this waits on
        a view's signals for what the caller knows the server holds."""

        def settled() -> bool:
            uids = self._events().keys()
            return set(present) <= uids and not set(absent) & uids

        if not settled():
            _ok, view = self.client.get_view_sync("#t", None)
            loop = GLib.MainLoop()

            def changed(*_: Any) -> None:
                if settled():
                    loop.quit()

            for signal in ("objects-added", "objects-modified", "objects-removed", "complete"):
                view.connect(signal, changed)
            view.start()
            GLib.timeout_add_seconds(TIMEOUT, loop.quit)
            self.refresh()
            if not settled():
                loop.run()
            view.stop()
        return sorted(self._events().values())

    def readonly(self) -> bool:
        return bool(self.client.is_readonly())

    def refresh(self) -> bool:
        if self.client.check_refresh_supported():
            self.client.refresh_sync(None)
        return True

    def create(self, ics: str) -> str:
        comp = ICalGLib.Component.new_from_string(ics)
        _ok, uid = self.client.create_object_sync(comp, ECal.OperationFlags.NONE, None)
        return str(uid)

    def modify(self, ics: str) -> bool:
        comp = ICalGLib.Component.new_from_string(ics)
        self.client.modify_object_sync(comp, ECal.ObjModType.ALL, ECal.OperationFlags.NONE, None)
        return True

    def remove(self, uid: str) -> bool:
        self.client.remove_object_sync(
            uid, None, ECal.ObjModType.ALL, ECal.OperationFlags.NONE, None
        )
        return True


def main() -> None:
    session = Session()
    print(json.dumps({"ok": "ready"}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command.pop("op")
        if op == "quit":
            print(json.dumps({"ok": True}), flush=True)
            return
        try:
            answer: dict[str, Any] = {"ok": getattr(session, op)(**command)}
        except GLib.Error as exc:
            answer = {"error": exc.message, "code": exc.code}
        except Exception as exc:  # the test reads it; the worker serves on
            answer = {"error": f"{type(exc).__name__}: {exc}", "code": -1}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
