"""B2CORE back-office events <-> RFC 5545 (``convert``), and the wire JSON's models."""
