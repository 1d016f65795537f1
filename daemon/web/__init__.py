"""The ASGI app, split by route: feeds, writes, health, metrics; and the socket it is served on."""
