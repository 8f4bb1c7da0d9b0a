"""``hubaudit bot CONFIG.toml`` (:func:`hubaudit.api.bot`): a webhook bot that audits each new commit of the model
repositories it watches and publishes the audit, as ``hubaudit scan`` then ``hubaudit publish`` would.

It runs huggingface_hub's :class:`~huggingface_hub.WebhooksServer` (a Gradio app with the route
``POST /webhooks/hubaudit``) with the webhook secret of the environment variable its config names: a request without
the secret's ``X-Webhook-Secret`` header is answered 401, one with another secret 403, and neither is read. A model
repository's content update (``event.scope == "repo.content"``, ``repo.type == "model"``) of a watched repository or
author is queued as ``(repo, repo.headSha)`` and answered at once; one worker thread scans the queue one commit at a
time (:func:`hubaudit.fleet.scan_fleet_model`, scan-many's per-model path; with ``ray = true`` through
:func:`hubaudit.api.scan_many` on Ray) into ``STATE/scans/<org>--<name>@<sha>/`` and publishes the report
(:func:`hubaudit.api.publish`). Every (repo, sha) taken is kept in ``STATE/seen.json``, so neither a second event for
the same commit nor a restart scans it again. A failed scan or publish posts nothing and logs its one error line.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubaudit import fleet
from hubaudit.declarations import SCAN_OPTIONS, BotConfig, ScanSettings
from hubaudit.declarations.config_file import checked_options
from hubaudit.errors import BotNeedsSecret, BotUnavailable, CannotRead, HubAuditError, InvalidConfigFile, first_line
from hubaudit.files import write_atomically, writing

LOG = logging.getLogger("hubaudit.bot")

WEBHOOK_NAME = "hubaudit"
"""The webhook's route is ``POST /webhooks/hubaudit``: the URL to give the Hub's webhook settings."""

SEEN_FILE = "seen.json"
SCANS_FOLDER = "scans"

_SCAN_KEYS_REFUSED = {
    "model": "is not read by the bot: it scans the repository and commit of each webhook event",
    "out_dir": "is not read by the bot: its scans go to [bot] state_dir/scans",
}


@dataclass(frozen=True)
class BotVerbs:
    """What the bot runs, passed in by :mod:`hubaudit.api` (which this module sits beside and does not import):
    ``scan`` and ``scan_command`` (as :func:`hubaudit.fleet.scan_fleet_model` takes them), ``scan_many`` (the Ray
    path) and ``publish``."""

    scan: fleet.ScanFunction
    scan_command: Callable[..., str]
    scan_many: Callable[..., list[fleet.FleetRow]]
    publish: Callable[..., Any]


@dataclass(frozen=True)
class BotOutcome:
    """What became of one commit the bot took: ``status`` ``published`` (``url``: the pull request or discussion),
    ``scanned`` (``publish = "none"``) or ``failed`` (``error``: the one line it logged); ``report``: its report.json."""

    repo: str
    sha: str
    status: str
    url: str | None = None
    error: str | None = None
    report: Path | None = None


def read_bot_config(path: str | Path) -> tuple[BotConfig, dict[str, object]]:
    """The ``[bot]`` table of the TOML file ``path`` as a :class:`BotConfig`, and its ``[scan]`` table as the keyword
    arguments of :func:`hubaudit.api.scan` (keys and values as a ``scan --config`` file's).

    Raises:
        CannotRead: the file cannot be read.
        InvalidConfigFile: not TOML, a table other than ``[bot]`` and ``[scan]``, an unknown key, a wrong value.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        table = tomllib.loads(text)
    except (OSError, UnicodeDecodeError) as err:
        raise CannotRead(path, getattr(err, "strerror", None) or "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as err:
        raise InvalidConfigFile(path, f"not valid TOML: {err}") from None
    unknown = sorted(set(table) - {"bot", "scan"})
    if unknown:
        raise InvalidConfigFile(
            path, f"unknown table or key {unknown[0]!r}: the file holds a [bot] and a [scan] table"
        )
    bot = BotConfig(**checked_options(table.get("bot", {}), BotConfig, source=path, text=text, prefix="bot."))
    if not bot.repos and not bot.authors:
        raise InvalidConfigFile(path, "the bot watches nothing: give [bot] repos and/or authors")
    options = checked_options(
        table.get("scan", {}), ScanSettings, source=path, text=text, refused=_SCAN_KEYS_REFUSED, prefix="scan."
    )
    quiet = options.pop("quiet", True)
    scan_options = {name: value for name, value in options.items() if SCAN_OPTIONS[name].in_api}
    return bot, {"allow_local": False, **scan_options, "progress": not quiet}


class SeenCommits:
    """The (repo, sha) pairs the bot has taken, kept in the JSON file ``path`` (a list of ``[repo, sha]``)."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        try:
            self._seen = {tuple(pair) for pair in json.loads(path.read_text())}
        except FileNotFoundError:
            self._seen = set()
        except (OSError, ValueError) as err:
            raise CannotRead(path, f"not the bot's list of seen commits ({first_line(err)}): delete it") from None

    def add(self, repo: str, sha: str) -> bool:
        """Record ``(repo, sha)``; False if it was recorded already (by this run or an earlier one)."""
        with self._lock:
            if (repo, sha) in self._seen:
                return False
            self._seen.add((repo, sha))
            with writing(self.path):
                write_atomically(self.path, json.dumps(sorted(self._seen), indent=1).encode())
            return True


class AuditBot:
    """The bot's state and worker: :meth:`take` decides on an event, a daemon thread scans and publishes the queue.

    Attributes:
        config: the ``[bot]`` table; scan_options: :func:`hubaudit.api.scan`'s keyword arguments (``[scan]``);
            verbs: the API functions it runs.
        outcomes: one :class:`BotOutcome` per commit taken, in the order the worker finished them.
        url: where the server listens, once :meth:`serve` has started it.
    """

    def __init__(self, config: BotConfig, scan_options: dict[str, object], verbs: BotVerbs):
        self.config, self.scan_options, self.verbs = config, scan_options, verbs
        self.state_dir = Path(config.state_dir)
        with writing(self.state_dir):
            (self.state_dir / SCANS_FOLDER).mkdir(parents=True, exist_ok=True)
        self.seen = SeenCommits(self.state_dir / SEEN_FILE)
        self.outcomes: list[BotOutcome] = []
        self.url: str | None = None
        self._queue: queue.Queue[tuple[str, str] | None] = queue.Queue()
        self._ui = None
        self._worker = threading.Thread(target=self._work, name="hubaudit-bot", daemon=True)
        self._worker.start()

    def watches(self, repo: str) -> bool:
        """Whether ``repo`` (``org/name``) is one of the config's repos or belongs to one of its authors."""
        return repo in self.config.repos or repo.split("/")[0] in self.config.authors

    def take(self, payload, head_sha: str | None) -> dict[str, str]:
        """Decide on one webhook event (a :class:`huggingface_hub.WebhookPayload`; ``head_sha``: its repository's
        ``headSha``): queue its commit, or say why not; the answer is the webhook's JSON response."""
        repo = payload.repo.name
        if payload.event.scope != "repo.content" or payload.repo.type != "model":
            return self._answer("ignored", repo, f"not a model repository's content update ({payload.event.scope})")
        if not self.watches(repo):
            return self._answer("ignored", repo, "not watched")
        sha = head_sha or payload.repo.head_sha
        if not sha:
            return self._answer("ignored", repo, "the event has no headSha")
        if not self.seen.add(repo, sha):
            return self._answer("seen", f"{repo}@{sha}", "taken before")
        self._queue.put((repo, sha))
        return self._answer("queued", f"{repo}@{sha}", "")

    @staticmethod
    def _answer(status: str, what: str, reason: str) -> dict[str, str]:
        LOG.info("%-9s %s%s", status, what, f": {reason}" if reason else "")
        return {"status": status, "repo": what, **({"reason": reason} if reason else {})}

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every queued commit is scanned and published (or failed); False if ``timeout_s`` passed first."""
        with self._queue.all_tasks_done:
            return self._queue.all_tasks_done.wait_for(lambda: not self._queue.unfinished_tasks, timeout=timeout_s)

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self.outcomes.append(self.audit(*item))
            finally:
                self._queue.task_done()
        self._queue.task_done()

    def audit(self, repo: str, sha: str) -> BotOutcome:
        """Scan ``repo`` at ``sha`` and publish its report as configured; a failure is logged and posts nothing."""
        model = f"{repo}@{sha}"
        scans = self.state_dir / SCANS_FOLDER
        if self.config.ray:
            (row,) = self.verbs.scan_many([model], out_dir=scans, address=self.config.ray_address, **self.scan_options)
        else:
            folder = str((scans / fleet.model_folder(model)).resolve())
            row = fleet.scan_fleet_model(
                model, folder, self.scan_options, scan=self.verbs.scan, command=self.verbs.scan_command
            )
        if row.status == "error":
            return self._failed(repo, sha, f"scan failed: {row.error}", None)
        report = scans / row.folder / "report.json"
        if self.config.publish == "none":
            LOG.info("scanned   %s: %s", model, report)
            return BotOutcome(repo, sha, "scanned", report=report)
        try:
            record = self.verbs.publish(
                report, repo=repo, mode=self.config.publish, endpoint=self.config.publish_endpoint
            )
        except HubAuditError as err:
            return self._failed(repo, sha, f"publish failed: {err}", report)
        LOG.info("published %s: %s", model, record.url)
        return BotOutcome(repo, sha, "published", url=record.url, report=report)

    @staticmethod
    def _failed(repo: str, sha: str, error: str, report: Path | None) -> BotOutcome:
        LOG.error("failed    %s@%s: %s", repo, sha, error)
        return BotOutcome(repo, sha, "failed", error=error, report=report)

    def serve(self, *, secret: str, host: str, port: int, block: bool) -> None:
        """Start the webhook server on ``host:port`` with ``secret``; with ``block``, serve until interrupted."""
        try:
            import gradio as gr
            from fastapi import Request
            from huggingface_hub import WebhookPayload, WebhooksServer
        except ImportError:
            raise BotUnavailable() from None

        async def hubaudit(payload: WebhookPayload, request: Request) -> dict[str, str]:
            # The Hub sends the commit as repo.headSha, which WebhookPayload (its field head_sha) does not read.
            return self.take(payload, (await request.json()).get("repo", {}).get("headSha"))

        # FastAPI reads the body's model from the annotations (this module's are strings: see its __future__ import)
        hubaudit.__annotations__.update(payload=WebhookPayload, request=Request)
        with gr.Blocks(title="hubaudit bot") as self._ui:
            gr.Markdown(self.description())
        server = WebhooksServer(ui=self._ui, webhook_secret=secret)
        server.add_webhook(WEBHOOK_NAME)(hubaudit)
        server.launch(prevent_thread_lock=True, share=False, server_name=host, server_port=port, quiet=True)
        self.url = f"http://{host}:{port}"
        LOG.info("listening %s/webhooks/%s", self.url, WEBHOOK_NAME)
        if block:
            self._ui.block_thread()
            self.close()

    def description(self) -> str:
        """The bot's page: what it watches and does."""
        watched = ", ".join([*self.config.repos, *(f"{author}/*" for author in self.config.authors)])
        publish = {"pr": "a pull request to the model card", "discussion": "a discussion", "none": "nothing"}
        return (
            f"# hubaudit bot\n\nWatches {watched}. Each new commit is scanned once and published as "
            f"{publish[self.config.publish]}. Webhook: `POST /webhooks/{WEBHOOK_NAME}` with the secret.\n"
        )

    def close(self) -> None:
        """Stop the server (if started) and the worker, after the commit it is on."""
        if self._ui is not None:
            self._ui.close()
        if self._worker.is_alive():
            self._queue.put(None)
            self._worker.join()


def start_bot(config: str | Path, verbs: BotVerbs, *, host: str, port: int, block: bool) -> AuditBot:
    """Read ``config``, check the webhook secret is set, and serve (see :func:`hubaudit.api.bot`)."""
    settings, scan_options = read_bot_config(config)
    secret = os.environ.get(settings.secret_env)
    if not secret:
        raise BotNeedsSecret(settings.secret_env)
    bot = AuditBot(settings, scan_options, verbs)
    bot.serve(secret=secret, host=host, port=port, block=block)
    return bot
