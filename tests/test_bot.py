"""``hubaudit bot`` (:func:`hubaudit.api.bot`): the bot's real WebhooksServer runs in this process on a free port; the
tests POST webhook payloads as the Hub sends them for models of the read test Hub, and check what arrived on the
write Hub of tests/write_hub.py (where the bot publishes) and in the bot's state folder."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

import pytest
from huggingface_hub import WebhookPayload

from hubaudit import api
from hubaudit.bot import AuditBot, BotVerbs, read_bot_config
from hubaudit.errors import InvalidConfigFile
from ports import free_port
from write_hub import serve_write_hub

SECRET_ENV = "HUBAUDIT_TEST_WEBHOOK_SECRET"
SECRET = "webhook-secret"
WATCHED, MISSING, UNWATCHED = "tiny/ddpm", "tiny/no-such-model", "tiny/ddim"
MISSING_SHA = "f" * 40


def event(repo: str, sha: str, *, scope: str = "repo.content", repo_type: str = "model") -> dict:
    """A webhook payload as the Hub sends it (version 3) for a change of ``repo`` whose head is now ``sha``."""
    return {
        "event": {"action": "update", "scope": scope},
        "repo": {
            "type": repo_type,
            "name": repo,
            "id": "6" * 24,
            "private": False,
            "url": {"web": f"https://huggingface.co/{repo}", "api": f"https://huggingface.co/api/models/{repo}"},
            "owner": {"id": "5" * 24},
            "headSha": sha,
        },
        "webhook": {"id": "4" * 24, "version": 3},
    }


def config_text(state_dir, endpoint: str, *, publish: str = "pr", extra: str = "") -> str:
    return f"""
[bot]
repos = ["{WATCHED}", "{MISSING}"]
publish = "{publish}"
secret_env = "{SECRET_ENV}"
state_dir = "{state_dir}"
publish_endpoint = "{endpoint}"
{extra}
[scan]
n = 2
steps = 2
batch_size = 2
device = "cpu"
"""


@pytest.fixture(scope="module")
def write_hub():
    with serve_write_hub() as hub:
        yield hub


@pytest.fixture(scope="module")
def bot(test_hub, write_hub, tmp_path_factory):
    """The running bot, watching tiny/ddpm (and a repository that does not exist), publishing pull requests."""
    write_hub.add_repo(WATCHED, test_hub.sha("ddpm"), "# A tiny DDPM\n")
    folder = tmp_path_factory.mktemp("bot")
    config = folder / "bot.toml"
    config.write_text(config_text(folder / "state", write_hub.endpoint))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        patch.setenv("HF_TOKEN", "hf_test_token")
        patch.setenv("GRADIO_ANALYTICS_ENABLED", "False")
        running = api.bot(config, port=free_port(), block=False)
        yield running
        running.close()


def post(bot: AuditBot, body: dict, secret: str | None = SECRET) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{bot.url}/webhooks/hubaudit",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **({"X-Webhook-Secret": secret} if secret else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def seen(bot: AuditBot) -> list[list[str]]:
    path = bot.state_dir / "seen.json"
    return json.loads(path.read_text()) if path.exists() else []


def test_missing_or_wrong_secret_is_refused_and_scans_nothing(bot, test_hub):
    assert post(bot, event(WATCHED, test_hub.sha("ddpm")), secret=None)[0] == 401
    assert post(bot, event(WATCHED, test_hub.sha("ddpm")), secret="guessed")[0] == 403
    assert bot.wait_idle(5) and seen(bot) == [] and bot.outcomes == []


def test_unwatched_repo_and_other_events_are_acknowledged_and_ignored(bot, test_hub):
    assert post(bot, event(UNWATCHED, test_hub.sha("ddim"))) == (
        200,
        {"status": "ignored", "repo": UNWATCHED, "reason": "not watched"},
    )
    status, answer = post(bot, event(WATCHED, test_hub.sha("ddpm"), scope="discussion"))
    assert status == 200 and answer["status"] == "ignored"
    status, answer = post(bot, event(WATCHED, test_hub.sha("ddpm"), repo_type="dataset"))
    assert status == 200 and answer["status"] == "ignored"
    assert bot.wait_idle(5) and seen(bot) == [] and bot.outcomes == []


def test_signed_event_is_scanned_once_and_published_as_a_pull_request(bot, test_hub, write_hub):
    sha = test_hub.sha("ddpm")
    assert post(bot, event(WATCHED, sha)) == (200, {"status": "queued", "repo": f"{WATCHED}@{sha}"})
    assert post(bot, event(WATCHED, sha))[1]["status"] == "seen"  # while the first is still scanning
    assert bot.wait_idle(300)
    (outcome,) = bot.outcomes
    assert outcome.status == "published" and outcome.error is None, outcome
    (commit,) = [arrival for arrival in write_hub.arrivals if arrival.repo == WATCHED]
    assert commit.create_pr and commit.parent_commit == sha and outcome.url.endswith("/discussions/1")
    assert json.loads(commit.files[f"hubaudit/{sha}/report.json"])["model"]["resolved_sha"] == sha
    assert f"commit `{sha}`" in commit.files["README.md"].decode()
    assert post(bot, event(WATCHED, sha))[1]["status"] == "seen"  # after it was published
    assert bot.wait_idle(5) and len(bot.outcomes) == 1 and seen(bot) == [[WATCHED, sha]]


def test_failed_scan_posts_nothing_and_logs_its_error_line(bot, write_hub, caplog):
    before = len(write_hub.arrivals)
    with caplog.at_level(logging.ERROR, logger="hubaudit.bot"):
        assert post(bot, event(MISSING, MISSING_SHA))[1]["status"] == "queued"
        assert bot.wait_idle(120)
    failed = bot.outcomes[-1]
    assert failed.status == "failed" and failed.error.startswith("scan failed: ") and failed.url is None
    assert len(write_hub.arrivals) == before and failed.report is None
    (line,) = [record.getMessage() for record in caplog.records if record.name == "hubaudit.bot"]
    assert line == f"failed    {MISSING}@{MISSING_SHA}: {failed.error}" and "\n" not in line


def test_a_restarted_bot_does_not_take_a_commit_again(bot, test_hub):
    """seen.json outlives the bot: a new one on the same state folder answers "seen" (and never starts a scan)."""
    restarted = AuditBot(bot.config, bot.scan_options, bot.verbs)
    try:
        payload = WebhookPayload(**event(WATCHED, test_hub.sha("ddpm")))
        assert restarted.take(payload, test_hub.sha("ddpm"))["status"] == "seen"
        assert restarted.wait_idle(5) and restarted.outcomes == []
    finally:
        restarted.close()


def test_on_ray_the_scan_takes_scan_many_path(bot, test_hub):
    """``ray = true``: the commit is scanned by scan-many's Ray task, into the same folder (its report, current,
    is reused there) and nothing is published with ``publish = "none"``."""
    pytest.importorskip("ray")
    sha = test_hub.sha("ddpm")
    on_ray = AuditBot(replace(bot.config, ray=True, publish="none"), bot.scan_options, bot.verbs)
    try:
        outcome = on_ray.audit(WATCHED, sha)
    finally:
        on_ray.close()
    assert outcome.status == "scanned" and outcome.url is None
    assert json.loads(outcome.report.read_text())["model"]["resolved_sha"] == sha
    assert (bot.state_dir / "scans" / "fleet.json").exists()


def bot_verbs() -> BotVerbs:
    return BotVerbs(scan=api.scan, scan_command=api.scan_command, scan_many=api.scan_many, publish=api.publish)


def test_authors_watch_every_model_of_their_owner(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(f'[bot]\nauthors = ["tiny"]\nstate_dir = "{tmp_path / "state"}"\n')
    settings, options = read_bot_config(config)
    assert options == {"allow_local": False, "progress": False}
    watcher = AuditBot(settings, options, bot_verbs())
    try:
        assert watcher.watches("tiny/anything") and not watcher.watches("other/ddpm")
    finally:
        watcher.close()


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[bot]\npublish = "pr"\n', "watches nothing"),
        ('[bot]\nrepos = ["a/b"]\npublish = "tweet"\n', "'bot.publish' must be one of"),
        ('[bot]\nrepos = ["a/b"]\n[scan]\nmodel = "a/b"\n', "'scan.model' is not read by the bot"),
        ('[bot]\nrepos = ["a/b"]\n[scan]\nstep = 2\n', "did you mean 'steps'"),
        ('[bots]\nrepos = ["a/b"]\n', "unknown table or key 'bots'"),
    ],
)
def test_config_mistakes_are_one_line_naming_the_key(tmp_path, text, says):
    config = tmp_path / "bot.toml"
    config.write_text(text)
    with pytest.raises(InvalidConfigFile, match=says):
        read_bot_config(config)


def test_the_config_the_guide_shows_is_read_as_it_says(tmp_path):
    guide = (Path(__file__).resolve().parents[1] / "docs" / "user-guide-bot.md").read_text()
    (block,) = re.findall(r"```toml\n(.*?)```", guide, re.DOTALL)
    (tmp_path / "bot.toml").write_text(block)
    settings, options = read_bot_config(tmp_path / "bot.toml")
    assert settings.repos == ("my-org/ddpm-faces",) and settings.authors == ("my-org",) and settings.publish == "pr"
    assert settings.secret_env == "WEBHOOK_SECRET" and not settings.ray
    api.scan_options("my-org/ddpm-faces", **{**options, "device": "cpu"})  # valid scan options together


def test_cli_refuses_to_start_without_the_secret(tmp_path):
    config = tmp_path / "bot.toml"
    config.write_text(config_text(tmp_path / "state", "http://127.0.0.1:9"))
    env = {name: value for name, value in os.environ.items() if name != SECRET_ENV}
    done = subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", "bot", str(config), "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert SECRET_ENV in done.stderr and "secret_env" in done.stderr
