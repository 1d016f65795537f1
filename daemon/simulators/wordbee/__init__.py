"""The Wordbee simulator: the app, its calendar data and the demo company."""
