"""Reading what calendar apps send back: read (parse_upload), values, alarms, identity."""
