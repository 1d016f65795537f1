"""ASGI fakes of the scheduling APIs icsbridge talks to.

Each simulator behaves like the documented API (auth, paging, errors, id changes on
rename) and keeps its data in memory. Tests drive them through ``httpx.ASGITransport``;
``icsbridge demo`` serves them with uvicorn on loopback. What they share (request log,
fault injection, clock, request plumbing) lives in :mod:`icsbridge.daemon.simulators.common`.
"""
