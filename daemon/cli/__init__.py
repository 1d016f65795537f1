"""The ``icsbridge`` command: one module per command, ``main`` reads the arguments."""
