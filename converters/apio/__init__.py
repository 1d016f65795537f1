"""APIO (BroadWorks) schedules <-> RFC 5545 (``convert``, ``advanced``), and their wire models."""
