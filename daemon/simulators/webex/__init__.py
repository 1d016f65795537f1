"""The Webex Calling simulator: the app, its data, event checks and the demo org."""
