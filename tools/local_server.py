"""Serve a built site on a free local port (used by the browser tests and ``make audit``)."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


COMPRESSIBLE = {".html", ".css", ".js", ".json", ".svg", ".xml", ".txt", ".map"}


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    """A static file server that gzips text, like GitHub Pages and most static hosts do."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        path = Path(self.translate_path(self.path))
        if path.is_dir() and self.path.split("?")[0].endswith("/"):
            path = path / "index.html"
        accepts_gzip = "gzip" in self.headers.get("Accept-Encoding", "")
        if not (accepts_gzip and path.suffix in COMPRESSIBLE and path.is_file()):
            super().do_GET()
            return
        body = gzip.compress(path.read_bytes(), compresslevel=6)
        self.send_response(200)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def serve(site: Path) -> Iterator[str]:
    """Serve ``site`` on 127.0.0.1 in a background thread; yield its base URL."""
    handler = functools.partial(QuietHandler, directory=str(site))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def port_problem(text: str, host: str = "127.0.0.1") -> str | None:
    """Why ``make serve`` cannot use this port (not a number in 1..65535, or taken), or None."""
    if not text.isdigit() or not 0 < int(text) < 65536:
        return f"PORT must be a number from 1 to 65535, got {text!r}"
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the dev server binds
        try:
            probe.bind((host, int(text)))
        except OSError:
            hint = f"make serve PORT={int(text) % 65535 + 1}"
            return f"port {text} is in use on {host}: stop what uses it, or run `{hint}`"
    return None


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.local_server check-port PORT``: one line and exit 2 when it cannot be used."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(prog="python -m tools.local_server")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("check-port", help="check that `make serve` can use PORT").add_argument("port")
    args = parser.parse_args(argv)
    problem = port_problem(args.port)
    if problem:
        print(f"make serve: {problem}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
