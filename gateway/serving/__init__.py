"""What both HTTP adapters share and the domain never needs.

The edge (client address, rate limits, header deadline, security headers), tracked
bodies, the small-file cache, database release between chunks and cheroot's
transport: ``dav_provider`` and ``webui`` import this package and the domain, never
each other (``tests/test_layers.py`` holds the table).
"""
