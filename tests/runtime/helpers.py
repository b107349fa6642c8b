"""For the registry and download tests: a voice mirror (a real HTTP server with faults on
demand) and the archives it serves."""

import io
import json
import tarfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class Server:
    """A real HTTP server on 127.0.0.1 serving a folder, with Range support and faults on demand."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.truncate_next = 0  # this many responses stop halfway
        self.stall_seconds = 0.0
        self.errors_next = 0  # this many responses are HTTP 503
        self.mode = "normal"  # or: endless (never stops sending), trickle (a byte a second), ignore-range, redirect
        self.redirect_to = ""
        self.ranges: list[str] = []
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests += 1
                if server.errors_next:
                    server.errors_next -= 1
                    self.send_error(503)
                    return
                if server.mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", server.redirect_to)
                    self.end_headers()
                    return
                path = server.folder / self.path.lstrip("/")
                if not path.is_file():
                    self.send_error(404)
                    return
                data = path.read_bytes()
                start = 0
                if "Range" in self.headers and server.mode != "ignore-range":
                    server.ranges.append(self.headers["Range"])
                    start = int(self.headers["Range"].split("=")[1].split("-")[0])
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
                else:
                    self.send_response(200)
                body = data[start:]
                if server.mode != "endless":
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.stall_seconds:
                    time.sleep(server.stall_seconds)
                try:
                    if server.mode == "endless":
                        while True:
                            self.wfile.write(b"\0" * 65536)
                    if server.mode == "trickle":
                        for byte in body:
                            self.wfile.write(bytes([byte]))
                            self.wfile.flush()
                            time.sleep(0.5)
                    if server.truncate_next:
                        server.truncate_next -= 1
                        self.wfile.write(body[: len(body) // 2])
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def write_manifest(path: Path, entries: list[dict]) -> None:
    path.write_text(json.dumps({"format": 1, "base_url": "http://127.0.0.1:9/unused", "voices": entries}))


def archive_of(
    path: Path, members, kinds: dict[str, bytes] | None = None, mode: str = "w:gz", link_to: str = "config.json"
):
    """A tar archive at `path` of `members` (name -> bytes, or (name, bytes) pairs in order,
    which may repeat a name); `kinds` (name -> tarfile type) makes some of them links to
    `link_to` (or folders); mode "w" leaves it uncompressed."""
    with tarfile.open(path, mode) as tar:
        for name, data in members.items() if isinstance(members, dict) else members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            if kinds and name in kinds:
                info.type, info.linkname, info.size = kinds[name], link_to, 0
                tar.addfile(info)
            else:
                tar.addfile(info, io.BytesIO(data))
    return path
