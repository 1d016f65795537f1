"""The B2CORE simulator: the app, its data, event checks and the demo back office."""
