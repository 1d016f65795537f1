"""The long-running service: the run loop, one scheduled job per source, sd_notify."""
