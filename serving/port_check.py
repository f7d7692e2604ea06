"""Before gunicorn binds: is the port free? One clear line instead of gunicorn's five retries.

`python -m serving.port_check [HOST]` prints `HOST:PORT` (PORT from the environment, else `.env`,
else 8000: the same reading as config.py) and exits 0 when the address can be bound; else one
`Error:` line naming the port and how to choose another, exit 1 (a bad setting: exit 78).
serving/start.sh runs it first.
"""

from __future__ import annotations

import errno
import socket
import sys


def address_in_use(host: str, port: int) -> bool:
    """Whether binding (host, port) fails because something listens there (SO_REUSEADDR as gunicorn)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                return True
            raise
    return False


def main(argv: list[str]) -> int:
    """Print the address to bind, or say once why it cannot be bound."""
    from config import SettingsError

    host = argv[1] if len(argv) > 1 else "0.0.0.0"
    try:
        from config import Config
    except SettingsError as error:
        error.show()
        return error.exit_code
    if address_in_use(host, Config.PORT):
        print(
            f"Error: port {Config.PORT} on {host} is already in use (another server running?): stop it, or "
            f"choose another port with `make run PORT={Config.PORT + 1}` or PORT in .env",
            file=sys.stderr,
        )
        return 1
    print(f"{host}:{Config.PORT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
