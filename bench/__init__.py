"""The benchmark: immoshare beside copyparty, stock WsgiDAV and nginx.

``python -m bench`` generates its data under ``bench/.work/``, starts every server on
loopback over the same folder, runs each case several times alternating the servers
and prints a table of medians with the ratio immoshare / peer. ``--smoke`` does the
same on tiny data in seconds, so ``make test`` keeps the harness working.
"""
