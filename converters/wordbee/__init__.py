"""Wordbee person calendars -> RFC 5545 (``convert``, ``appointments``), and their wire models."""
