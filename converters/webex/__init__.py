"""Webex Calling schedules <-> RFC 5545 (``convert``), and the wire JSON's models."""
