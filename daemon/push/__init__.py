"""Edits back to the APIs: upload, diff, plan (whole or nothing), journal, send, re-read."""
