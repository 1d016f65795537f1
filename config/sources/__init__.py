"""Per-kind source settings: what every source shares (``base``) and one module per API."""
