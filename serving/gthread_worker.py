"""gunicorn's gthread worker, buffering each request's headers and body before a thread takes it.

Plain gthread hands a connection to a thread once its first bytes arrive and then reads the
headers and body with blocking reads: a client that sends one header line every 10 s, or
announces `Content-Length: 100` and sends nothing, holds that thread (gunicorn drains an unread
body in the request thread, for up to 5 s), and a few such clients a second held all of them
(measured: `/health` stopped answering). Here the worker's main thread reads without blocking,
from its poller, into a buffer (as nginx does), and only a request that has fully arrived
(headers, and the body its Content-Length or chunked framing announces) goes to a thread.

Bounds: headers must arrive within `GUNICORN_HEADER_TIMEOUT` seconds (default 30), then the
body within `GUNICORN_BODY_TIMEOUT` (default 30), else the connection is closed. A body larger
than `MAX_CONTENT_LENGTH` is not buffered: with Content-Length the app answers 413 without
reading it and the connection closes (never drained in a thread); a chunked one is answered
413 by the main thread itself. All connections of a worker together buffer at most
`BODY_BUFFER_BUDGET` bytes of bodies; past that a new body is answered 503. Slow clients cost a
file descriptor each (at most `worker_connections`, 1000 per worker), never a thread.
"""

from __future__ import annotations

import contextlib
import errno
import os
import selectors
import time
from functools import partial

from gunicorn.workers.gthread import TConn, ThreadWorker

from config import Config

HEADER_TIMEOUT_S = float(os.environ.get("GUNICORN_HEADER_TIMEOUT") or 30)
BODY_TIMEOUT_S = float(os.environ.get("GUNICORN_BODY_TIMEOUT") or 30)
# Past this many buffered bytes without a blank line, the parser gets them and answers 431/400.
MAX_BUFFERED_HEADER_BYTES = 64 * 1024
READ_SIZE = 16 * 1024
MAX_BODY_BYTES = Config.MAX_CONTENT_LENGTH
# Bodies buffered at once by one worker's connections (64 MiB: 32 bodies at the 2 MiB limit).
BODY_BUFFER_BUDGET = 64 * 1024 * 1024
UNKNOWN = -1  # a chunked body whose end has not arrived yet


class BufferedSocket:
    """A client socket whose first reads return the bytes the main thread already buffered."""

    def __init__(self, sock) -> None:
        self._sock = sock
        self.buffered = bytearray()
        self.body_start = -1  # offset of the body in `buffered` once the headers are complete
        self.body_size = 0  # Content-Length, or UNKNOWN for chunked
        self.body_complete = True  # False: the body was not buffered; close after the response

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


def expects_continue(head: bytes) -> bool:
    """Whether an HTTP/1.1 client waits for `100 Continue` before sending its body (curl does,
    for bodies over 1 KiB, for up to a second)."""
    lines = head.split(b"\r\n")
    if not lines[0].endswith(b"HTTP/1.1"):
        return False
    return any(
        name.strip().lower() == b"expect" and value.strip().lower() == b"100-continue"
        for name, _, value in (line.partition(b":") for line in lines[1:])
    )


def body_framing(head: bytes) -> int | None:
    """The announced body: its Content-Length, UNKNOWN for chunked, None when the parser must
    judge the headers (malformed or conflicting framing: gunicorn answers 400 without a body)."""
    lengths, chunked = [], False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            lengths.append(value.strip())
        elif name == b"transfer-encoding":
            chunked = chunked or value.strip().lower().endswith(b"chunked")
            if not value.strip().lower().endswith(b"chunked"):
                return None
    if chunked:
        return None if lengths else UNKNOWN
    if not lengths:
        return 0
    if len(set(lengths)) != 1 or not lengths[0].isdigit():
        return None
    return int(lengths[0])


def chunked_size(data: bytes | bytearray, start: int) -> tuple[int, bool]:
    """(decoded bytes so far, whether the last chunk and trailers have arrived) of a chunked body."""
    position, decoded = start, 0
    while True:
        line_end = data.find(b"\r\n", position)
        if line_end < 0:
            return decoded, False
        size_text = bytes(data[position:line_end]).split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return decoded, True  # malformed: the parser answers 400 from what it has
        position = line_end + 2
        if size == 0:
            trailers_end = data.find(b"\r\n", position)
            while trailers_end > position:  # each trailer line, up to the empty one
                position = trailers_end + 2
                trailers_end = data.find(b"\r\n", position)
            return decoded, trailers_end == position
        decoded += size
        if len(data) < position + size + 2:
            return decoded + max(0, len(data) - position - size), False
        position += size + 2


def canned(status: str, detail: str) -> bytes:
    """A complete JSON error response that closes the connection (the app's error shape)."""
    body = b'{"detail": "' + detail.encode() + b'"}'
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + body


TOO_LARGE = canned("413 Content Too Large", f"The request body is larger than {MAX_BODY_BYTES} bytes")
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
BUSY = canned("503 Service Unavailable", "Too many request bodies arriving at once; retry shortly")


class HeaderBufferingWorker(ThreadWorker):
    """ThreadWorker whose threads only ever see requests that have fully arrived."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.buffered_body_bytes = 0

    def accept(self, listener) -> None:
        """As ThreadWorker.accept, but the connection waits in the poller for its request."""
        try:
            client_sock, client_addr = listener.accept()
            self.nr_conns += 1
            conn = TConn(self.cfg, BufferedSocket(client_sock), client_addr, listener.getsockname())
            self._await_request(conn)
        except OSError as error:
            if error.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise

    def on_client_socket_readable(self, conn, client) -> None:
        """A kept-alive connection's next request: buffer it too."""
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._await_request(conn)

    def _keepalive_after(self, conn, keepalive) -> bool:
        """Reuse the connection only when its body was buffered: an unread remainder is never
        drained in this thread (gunicorn would wait up to 5 s for a body that may never come).
        Bytes of a next, pipelined request go back to the buffer, so the main thread waits for
        the rest of it instead of a thread."""
        if not conn.sock.body_complete:
            return False
        reuse = super()._keepalive_after(conn, keepalive)
        if reuse:
            conn.sock.buffered[:0] = conn.parser.unreader.take_buffered()
        return reuse

    def finish_request(self, conn, fs) -> None:
        """As ThreadWorker's; a kept-alive connection holding pipelined bytes is served from them."""
        super().finish_request(conn, fs)
        if conn.sock.buffered and conn in self.keepalived_conns:
            self.on_client_socket_readable(conn, conn.sock)

    def _await_request(self, conn) -> None:
        sock = conn.sock
        sock.setblocking(False)
        sock.body_start, sock.body_size, sock.body_complete = -1, 0, True
        conn.timeout = time.monotonic() + HEADER_TIMEOUT_S
        self.pending_conns.append(conn)
        self.poller.register(sock, selectors.EVENT_READ, partial(self._on_request_bytes, conn))
        if sock.buffered:
            self._progress(conn, sock)

    def murder_pending(self) -> None:
        """Close the connections whose headers or body did not arrive in time (any position:
        header and body deadlines differ, so the deque is not sorted by timeout)."""
        now = time.monotonic()
        for conn in [conn for conn in self.pending_conns if conn.timeout <= now]:
            self._release_body(conn)
            self._stop_waiting(conn, conn.sock)
            self.nr_conns -= 1
            conn.close()

    def _release_body(self, conn) -> None:
        if conn.sock.body_start >= 0:
            self.buffered_body_bytes -= max(0, len(conn.sock.buffered) - conn.sock.body_start)
            conn.sock.body_start = -1

    def _on_request_bytes(self, conn, client) -> None:
        """Main thread: read what arrived; hand the connection to a thread once it all has."""
        sock = conn.sock
        try:
            data = sock._sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:  # the client left before its request had arrived
            self._release_body(conn)
            self._stop_waiting(conn, client)
            self.nr_conns -= 1
            conn.close()
            return
        sock.buffered += data
        if sock.body_start >= 0:
            self.buffered_body_bytes += len(data)
        self._progress(conn, client)

    def _progress(self, conn, client) -> None:
        """Dispatch, answer or keep waiting, from what the buffer now holds."""
        sock = conn.sock
        waiting_for_headers = sock.body_start < 0
        if waiting_for_headers and (not sock.headers_complete() or not self._headers_arrived(conn, client)):
            return
        verdict = self._body_verdict(sock)
        if verdict is None:
            if self.buffered_body_bytes > BODY_BUFFER_BUDGET:
                self._answer_and_close(conn, client, BUSY)
            return
        if verdict is TOO_LARGE:
            self._answer_and_close(conn, client, TOO_LARGE)
            return
        self._dispatch(conn, client)

    def _headers_arrived(self, conn, client) -> bool:
        """Note where the body starts and how it is framed; False when the connection was handed on."""
        sock = conn.sock
        end = sock.buffered.find(b"\r\n\r\n")
        size = body_framing(bytes(sock.buffered[:end])) if end >= 0 else None
        if size is None or size == 0 or size > MAX_BODY_BYTES:
            # No body, or framing the parser must judge, or a body the app refuses unread (413).
            sock.body_complete = size is not None and size == 0
            self._dispatch(conn, client)
            return False
        sock.body_start, sock.body_size = end + 4, size
        if len(sock.buffered) == sock.body_start and expects_continue(bytes(sock.buffered[:end])):
            # The body is buffered here, so the interim answer is sent here too (gunicorn sends its
            # own later; RFC 9110 15.2: a client accepts more than one 1xx).
            with contextlib.suppress(OSError):
                sock._sock.send(CONTINUE)
        self.buffered_body_bytes += len(sock.buffered) - sock.body_start
        conn.timeout = time.monotonic() + BODY_TIMEOUT_S
        return True

    @staticmethod
    def _body_verdict(sock: BufferedSocket):
        """True when the body has arrived, TOO_LARGE for an oversized chunked one, None to wait."""
        if sock.body_size != UNKNOWN:
            return True if len(sock.buffered) - sock.body_start >= sock.body_size else None
        decoded, complete = chunked_size(sock.buffered, sock.body_start)
        if decoded > MAX_BODY_BYTES:
            return TOO_LARGE
        return True if complete else None

    def _stop_waiting(self, conn, client) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)

    def _answer_and_close(self, conn, client, response: bytes) -> None:
        self._release_body(conn)
        self._stop_waiting(conn, client)
        with contextlib.suppress(OSError):  # the client is gone: nothing to answer
            conn.sock._sock.send(response)  # a few hundred bytes: fits the empty send buffer
        self.nr_conns -= 1
        conn.close()

    def _dispatch(self, conn, client) -> None:
        self._release_body(conn)
        self._stop_waiting(conn, client)
        conn.data_ready = True
        self.enqueue_req(conn)
