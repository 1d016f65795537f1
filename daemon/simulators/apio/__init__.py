"""The APIO simulator: the app, its data and the demo tenant."""
