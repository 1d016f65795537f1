"""CalDAV for calendar apps: xandikos\x27s DAV layer over the feed store and the push service."""
