"""gunicorn's gthread worker, buffering each request's headers before a thread takes it.

Plain gthread hands a connection to a thread once its first bytes arrive and then reads the
headers with blocking reads: a client that sends one header line every 10 s holds that
thread, and 64 such clients held all of them (measured: `/health` stopped answering). Here
the worker's main thread reads headers without blocking, from its poller, into a buffer (as
nginx does), and only a connection whose headers are complete (or too long: the parser then
answers the error) goes to a thread. A connection that has not sent its headers within
`GUNICORN_HEADER_TIMEOUT` seconds (default 30) is closed. Slow clients cost a file
descriptor each (at most `worker_connections`, 1000 per worker), never a thread. Bodies are
read by the thread as before (writes only, bounded by MAX_CONTENT_LENGTH).
"""

from __future__ import annotations

import errno
import os
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

HEADER_TIMEOUT_S = float(os.environ.get("GUNICORN_HEADER_TIMEOUT") or 30)
# Past this many buffered bytes without a blank line, the parser gets them and answers 431/400.
MAX_BUFFERED_HEADER_BYTES = 64 * 1024
READ_SIZE = 16 * 1024


class BufferedSocket:
    """A client socket whose first reads return the bytes the main thread already buffered."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self.buffered = bytearray()

    def __getattr__(self, name: str):
        return getattr(self._sock, name)

    def recv(self, size: int, *flags: int) -> bytes:
        if self.buffered:
            data = bytes(self.buffered[:size])
            del self.buffered[:size]
            return data
        return self._sock.recv(size, *flags)

    def headers_complete(self) -> bool:
        return b"\r\n\r\n" in self.buffered or len(self.buffered) > MAX_BUFFERED_HEADER_BYTES


class HeaderBufferingWorker(ThreadWorker):
    """ThreadWorker whose threads only ever see requests whose headers have fully arrived."""

    def accept(self, listener) -> None:
        """As ThreadWorker.accept, but the connection waits in the poller for its headers."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            conn = TConn(self.cfg, BufferedSocket(client_sock), client_addr, listener.getsockname())
            self._await_headers(conn)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def on_client_socket_readable(self, conn, client) -> None:
        """A kept-alive connection's next request: buffer its headers too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_headers(conn)

    def _await_headers(self, conn) -> None:
        conn.sock.setblocking(False)
        conn.timeout = time.monotonic() + HEADER_TIMEOUT_S
        self.pending_conns.append(conn)  # murder_pending() closes it after the timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_header_bytes, conn))

    def _on_header_bytes(self, conn, client) -> None:
        """Main thread: read what arrived; hand the connection to a thread once headers are in."""
        try:
            data = conn.sock._sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            conn.sock.buffered += data
            if not conn.sock.headers_complete():
                return
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        if not data:  # the client left before sending its headers
            self.nr_conns -= 1
            conn.close()
            return
        conn.data_ready = True
        self.enqueue_req(conn)
