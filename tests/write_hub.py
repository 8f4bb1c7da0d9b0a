"""The smallest Hub that takes writes, for the tests of ``hubaudit publish`` (the olah test Hub serves reads only).

It serves what :class:`huggingface_hub.HfApi` asks for when it reads a model's sha and card, opens a pull request
(``preupload``, then the ``commit`` endpoint with ``create_pr``) and posts a discussion, on 127.0.0.1, and records
every write as it arrived (:class:`Arrival`): the tests assert on those, not on what hubaudit says it did.
"""

from __future__ import annotations

import base64
import json
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from ports import free_port


@dataclass
class Arrival:
    """One write as it reached the server: ``kind`` ``"commit"`` or ``"discussion"``; for a commit its ``files``
    (path -> bytes), ``create_pr`` and ``header`` (summary, description); for a discussion its ``title`` and
    ``description``."""

    kind: str
    repo: str
    revision: str = ""
    create_pr: bool = False
    header: dict = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)
    title: str = ""
    description: str = ""


@dataclass
class WriteHub:
    """The running server: its ``endpoint``; ``repos`` maps ``org/name`` to ``{"sha": ..., "files": {path: bytes}}``
    (what reads see; tests set it); ``arrivals`` lists the writes in order; ``validated`` the cards sent to
    ``/api/validate-yaml``."""

    endpoint: str
    repos: dict[str, dict] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)

    def add_repo(self, repo: str, sha: str, card: str | None) -> None:
        self.repos[repo] = {"sha": sha, "files": {} if card is None else {"README.md": card.encode("utf-8")}}


def _handler(hub: WriteHub):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet
            pass

        def _send(self, status: int, body: bytes | dict = b"", content_type: str = "application/json") -> None:
            data = json.dumps(body).encode() if isinstance(body, dict) else body
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _route(self) -> tuple[list[str], dict]:
            url = urlsplit(self.path)
            return [part for part in url.path.split("/") if part], parse_qs(url.query)

        def do_GET(self):
            parts, _ = self._route()
            if parts[:2] == ["api", "models"] and len(parts) == 6 and parts[4] == "discussions":
                return self._discussion("/".join(parts[2:4]), int(parts[5]))
            if parts[:2] == ["api", "models"] and (len(parts) == 4 or (len(parts) >= 6 and parts[4] == "revision")):
                repo = hub.repos.get("/".join(parts[2:4]))
                if repo is None:
                    return self._send(404, {"error": "Repository not found"})
                siblings = [{"rfilename": path} for path in repo["files"]]
                return self._send(200, {"id": "/".join(parts[2:4]), "sha": repo["sha"], "siblings": siblings})
            if len(parts) >= 5 and parts[2] == "resolve":
                repo = hub.repos.get("/".join(parts[:2]))
                content = (repo or {}).get("files", {}).get("/".join(parts[4:]))
                if content is None:
                    return self._send(404, {"error": "Entry not found"})
                return self._send(200, content, "text/plain; charset=utf-8")
            return self._send(404, {"error": f"not served: {self.path}"})

        do_HEAD = do_GET

        def _discussion(self, repo: str, num: int):
            found = [a for a in hub.arrivals if a.kind == "discussion"][num - 1]
            return self._send(
                200,
                {
                    "title": found.title,
                    "num": num,
                    "author": {"name": "tester"},
                    "createdAt": "2026-01-01T00:00:00.000Z",
                    "status": "open",
                    "repo": {"name": repo, "type": "model"},
                    "isPullRequest": False,
                    "events": [],
                },
            )

        def do_POST(self):
            parts, query = self._route()
            if parts == ["api", "validate-yaml"]:  # create_commit checks a README.md's front matter first
                hub.validated.append(json.loads(self._body())["content"])
                return self._send(200, {"errors": [], "warnings": []})
            if parts[:2] != ["api", "models"] or len(parts) < 5:
                return self._send(404, {"error": f"not served: {self.path}"})
            repo, action = "/".join(parts[2:4]), parts[4]
            if repo not in hub.repos:
                return self._send(404, {"error": "Repository not found"})
            if action == "preupload":
                files = json.loads(self._body())["files"]
                return self._send(
                    200,
                    {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]},
                )
            if action == "commit":
                arrival = Arrival("commit", repo, revision="/".join(parts[5:]), create_pr="create_pr" in query)
                for line in self._body().splitlines():
                    item = json.loads(line)
                    if item["key"] == "header":
                        arrival.header = item["value"]
                    elif item["key"] == "file":
                        arrival.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                hub.arrivals.append(arrival)
                num = len(hub.arrivals)
                return self._send(
                    200,
                    {
                        "commitUrl": f"{hub.endpoint}/{repo}/commit/{num:040x}",
                        "commitOid": f"{num:040x}",
                        "pullRequestUrl": f"{hub.endpoint}/{repo}/discussions/{num}" if arrival.create_pr else None,
                    },
                )
            if action == "discussions":
                sent = json.loads(self._body())
                hub.arrivals.append(Arrival("discussion", repo, title=sent["title"], description=sent["description"]))
                return self._send(200, {"num": sum(a.kind == "discussion" for a in hub.arrivals)})
            return self._send(404, {"error": f"not served: {self.path}"})

    return Handler


@contextmanager
def serve_write_hub():
    """A :class:`WriteHub` listening on a free port of 127.0.0.1 for the block."""
    port = free_port()
    hub = WriteHub(endpoint=f"http://127.0.0.1:{port}")
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(hub))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hub
    finally:
        server.shutdown()
        server.server_close()
