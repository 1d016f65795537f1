"""API sources behind one interface (:class:`icsbridge.daemon.sources.base.Source`): the
HTTP plumbing every API shares, and one folder per API. ``kinds`` maps config kinds to them.
"""
