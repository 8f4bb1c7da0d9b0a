"""The smallest Hub that takes writes, for the tests of ``hubaudit publish``, the bot and ``train --push-to-hub`` (the
olah test Hub serves reads only).

It serves what :class:`huggingface_hub.HfApi` asks for when it reads a model's sha and card, creates a repository,
commits (``preupload``, then the ``commit`` endpoint; a commit without ``create_pr`` becomes the repository's new
files and sha, which :meth:`WriteHub.files` gives back), opens a pull request and posts a discussion, on 127.0.0.1,
and records every write as it arrived (:class:`Arrival`): the tests assert on those, not on what hubaudit says it
did. :attr:`WriteHub.refusals` makes it answer a repository's writes with an HTTP error, as the Hub does for a
read-only token (401/403), a missing repository (404) or a conflict (409/412).
"""

from __future__ import annotations

import base64
import hashlib
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
    parent_commit: str | None = None


@dataclass
class WriteHub:
    """The running server: its ``endpoint``; ``repos`` maps ``org/name`` to ``{"sha": ..., "files": {path: bytes}}``
    (what reads see; tests set it); ``arrivals`` lists the writes in order; ``validated`` the cards sent to
    ``/api/validate-yaml``; ``refusals`` maps ``org/name`` to the HTTP status its writes get (tests set it);
    ``moves`` maps ``org/name`` to a ``(sha, card)`` its main branch moves to once its card has been read (a
    concurrent change)."""

    endpoint: str
    repos: dict[str, dict] = field(default_factory=dict)
    arrivals: list[Arrival] = field(default_factory=list)
    validated: list[str] = field(default_factory=list)
    refusals: dict[str, int] = field(default_factory=dict)
    moves: dict[str, tuple[str, str]] = field(default_factory=dict)

    def add_repo(self, repo: str, sha: str, card: str | None) -> None:
        self.repos[repo] = {"sha": sha, "files": {} if card is None else {"README.md": card.encode("utf-8")}}

    def files(self, repo: str) -> dict[str, bytes]:
        """``repo``'s files as its commits (not its pull requests) left them: path -> bytes."""
        return dict(self.repos[repo]["files"])


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
                self._send(200, content, "text/plain; charset=utf-8")
                if "/".join(parts[4:]) == "README.md" and "/".join(parts[:2]) in hub.moves:
                    sha, card = hub.moves.pop("/".join(parts[:2]))
                    hub.add_repo("/".join(parts[:2]), sha, card)
                return None
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
            if parts == ["api", "repos", "create"]:
                return self._create_repo(json.loads(self._body()))
            if parts[:2] != ["api", "models"] or len(parts) < 5:
                return self._send(404, {"error": f"not served: {self.path}"})
            repo, action = "/".join(parts[2:4]), parts[4]
            if repo in hub.refusals:
                status = hub.refusals[repo]
                return self._send(status, {"error": f"refused by the test Hub with {status}"})
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
                        arrival.parent_commit = item["value"].get("parentCommit")
                    elif item["key"] == "file":
                        arrival.files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
                stored = hub.repos[repo]
                if not arrival.create_pr and arrival.parent_commit not in (None, stored["sha"]):
                    return self._send(412, {"error": "A commit has happened since. Please refresh and try again."})
                hub.arrivals.append(arrival)
                oid = hashlib.sha1(f"{len(hub.arrivals)}:{repo}".encode()).hexdigest()
                if not arrival.create_pr:  # a commit to the branch: its files and sha are what reads see next
                    stored["files"].update(arrival.files)
                    stored["sha"] = oid
                num = len(hub.arrivals)
                return self._send(
                    200,
                    {
                        "commitUrl": f"{hub.endpoint}/{repo}/commit/{oid}",
                        "commitOid": oid,
                        "pullRequestUrl": f"{hub.endpoint}/{repo}/discussions/{num}" if arrival.create_pr else None,
                    },
                )
            if action == "discussions":
                sent = json.loads(self._body())
                hub.arrivals.append(Arrival("discussion", repo, title=sent["title"], description=sent["description"]))
                return self._send(200, {"num": sum(a.kind == "discussion" for a in hub.arrivals)})
            return self._send(404, {"error": f"not served: {self.path}"})

        def _create_repo(self, sent: dict):
            repo = f"{sent['organization']}/{sent['name']}" if sent.get("organization") else sent["name"]
            if repo in hub.refusals:
                return self._send(hub.refusals[repo], {"error": f"refused by the test Hub with {hub.refusals[repo]}"})
            if repo in hub.repos:
                return self._send(
                    409, {"error": "You already created this model repo", "url": f"{hub.endpoint}/{repo}"}
                )
            hub.add_repo(repo, "0" * 40, None)
            return self._send(200, {"url": f"{hub.endpoint}/{repo}", "name": repo})

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
