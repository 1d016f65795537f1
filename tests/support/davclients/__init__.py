"""Real CalDAV clients driven headless, and a real CalDAV server to prove them on.

Each client is a small API over one program (``vdirsyncer``, Evolution's data server in
``eds``): given a base URL, a user, a password (and a CA file for TLS), list calendars and
events, create, update and delete one, and say what the client showed for a refusal.
``radicale`` serves a reference CalDAV server on loopback (filesystem storage), so the
clients are proven against a server other than ours before they are pointed at it.
"""
