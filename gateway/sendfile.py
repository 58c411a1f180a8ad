"""Zero-copy file bodies: cheroot's WSGI gateway, taught ``sendfile`` (issue 6).

cheroot writes every body chunk through its buffered writer, which copies it twice
before the ``send``; with the ``pread`` that made the chunk, a 1 GiB download is
copied three times in user space, holding the GIL for each copy. A body that can
send itself (``sendfile_to``: a ``gateway.delivery.CountingBody`` around a
``FileBlocks``) is handed the socket instead, once the headers are out, and the
kernel moves the bytes from the page cache to the socket.

Only where it cannot change the bytes on the wire: a plain TCP socket (not TLS),
a response with a Content-Length (not chunked), a GET. Everything else goes
through cheroot's own loop.
"""

from __future__ import annotations

from cheroot import wsgi


class SendfileGateway(wsgi.Gateway_10):
    """cheroot's WSGI 1.0 gateway; bodies with ``send_to`` go out by ``sendfile``."""

    def respond(self):
        response = self.req.server.wsgi_app(self.env, self.start_response)
        try:
            send = getattr(response, "sendfile_to", None)
            if send is not None and self._can_sendfile():
                self.req.ensure_headers_sent()  # written through, not buffered
                send(self.req.conn.socket)
            else:
                for chunk in filter(None, response):
                    if not isinstance(chunk, bytes):
                        raise ValueError("WSGI Applications must yield bytes")
                    self.write(chunk)
        finally:
            self.req.ensure_headers_sent()
            close = getattr(response, "close", None)
            if close is not None:
                close()

    def _can_sendfile(self) -> bool:
        req = self.req
        return (
            self.started_response
            and self.remaining_bytes_out is not None
            and not req.chunked_write
            and req.method == b"GET"
            and req.server.ssl_adapter is None
        )
