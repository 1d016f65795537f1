"""The pull direction: pull -> identity (diff against the state) -> render."""
