"""Reading and validating what the user wrote: the TOML config and its secret references."""
