"""What a shared feed shows: detail levels, windows and effective hours, on rendered
events (pure: "now" is an argument)."""
