"""``hubaudit publish`` and :func:`hubaudit.api.publish`: every write is a real HfApi call to the write Hub of
tests/write_hub.py, and the tests check what arrived there (the card, the files, the PR flag, the discussion)."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys

import pytest

from hubaudit.api import publish
from hubaudit.errors import (
    HubUnreachable,
    NoWriteAccess,
    PublishNeedsToken,
    StaleReport,
    WriteConflict,
    WriteTargetNotFound,
)
from hubaudit.report.card_section import BEGIN, END, card_section, split_front_matter, updated_card
from ports import free_port
from report_examples import full_report
from write_hub import serve_write_hub

SHA = "abc123" + "0" * 34
"""The audited commit: a full sha, as the Hub gives (huggingface_hub takes only those as a parent commit)."""
MOVED = "def456" + "0" * 34
REPO = "org/model"
TOKEN = "hf_test_token"

FRONT = "---\nlicense: mit\ntags:\n- diffusers\nhubaudit:\n  steps: 10\n---\n"
CARDS = {
    "with metadata": FRONT + "# A model\n\nTrained on digits.\n",
    "without metadata": "# A model\n\nNo metadata here.\n",
    "with an older hubaudit section": FRONT
    + f"# A model\n\n{BEGIN}\n## Privacy and fairness audit\n\nAn old audit of commit 000.\n{END}\n\n## Usage\n\nCall it.\n",
}


@pytest.fixture
def write_hub():
    with serve_write_hub() as hub:
        yield hub


@pytest.fixture
def report(tmp_path) -> dict:
    report = full_report(tmp_path)
    report["model"]["resolved_sha"] = SHA
    return report


@pytest.mark.parametrize("shape", list(CARDS))
def test_pull_request_changes_only_the_hubaudit_section_of_the_card(write_hub, report, shape):
    card = CARDS[shape]
    write_hub.add_repo(REPO, SHA, card)
    record = publish(report, repo=REPO, token=TOKEN, endpoint=write_hub.endpoint)
    (commit,) = write_hub.arrivals
    assert commit.kind == "commit" and commit.create_pr and commit.revision == "main" and commit.parent_commit == SHA
    assert set(commit.files) == {"README.md", f"hubaudit/{SHA}/report.json", f"hubaudit/{SHA}/report.html"}
    arrived = commit.files["README.md"].decode()
    assert split_front_matter(arrived)[0] == split_front_matter(card)[0]
    assert arrived.count(BEGIN) == arrived.count(END) == 1
    outside = arrived[: arrived.index(BEGIN)] + arrived[arrived.index(END) + len(END) :]
    expected = card[: card.index(BEGIN)] + card[card.index(END) + len(END) :] if BEGIN in card else card
    assert outside.replace("\n", "") == expected.replace("\n", "")
    section = arrived[arrived.index(BEGIN) : arrived.index(END)]
    assert "An old audit" not in section and f"commit `{SHA}`" in section and "hubaudit " in section
    assert "**finding**" in section and "n = " in section and f"hubaudit/{SHA}/report.html" in section
    assert json.loads(commit.files[f"hubaudit/{SHA}/report.json"])["model"]["resolved_sha"] == SHA
    assert commit.files[f"hubaudit/{SHA}/report.html"].startswith(b"<!")
    assert record.url == f"{write_hub.endpoint}/{REPO}/discussions/1" and not record.dry_run
    assert record.files == tuple(commit.files)


def test_card_without_readme_gets_the_section_alone(write_hub, report):
    write_hub.add_repo(REPO, SHA, None)
    publish(report, repo=REPO, token=TOKEN, endpoint=write_hub.endpoint)
    arrived = write_hub.arrivals[0].files["README.md"].decode()
    assert arrived.startswith(BEGIN) and arrived.endswith(END + "\n")


def test_refreshing_a_section_twice_gives_the_same_card(report):
    section = card_section(report, report_link="x.html")
    once = updated_card(CARDS["with metadata"], section)
    assert updated_card(once, section) == once


def test_discussion_posts_the_summary(write_hub, report):
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    record = publish(report, repo=REPO, mode="discussion", token=TOKEN, endpoint=write_hub.endpoint)
    (posted,) = write_hub.arrivals
    assert posted.kind == "discussion" and posted.title == record.title
    assert posted.title.startswith(f"hubaudit audit of commit {SHA[:12]}") and "finding" in posted.title
    assert BEGIN not in posted.description
    assert "## Privacy and fairness audit" in posted.description and f"commit `{SHA}`" in posted.description
    assert record.url == f"{write_hub.endpoint}/{REPO}/discussions/1" and record.files == ()


def test_published_reproduce_command_leaves_out_the_auditors_output_folder(write_hub, report, tmp_path):
    report["command"] += f" --out {shlex.quote(str(tmp_path / 'my audits'))} --class 3"
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    publish(report, repo=REPO, mode="discussion", token=TOKEN, endpoint=write_hub.endpoint)
    (posted,) = write_hub.arrivals
    assert str(tmp_path) not in posted.description and "--out" not in posted.description
    assert "--scheduler ddim --class 3\n" in posted.description


@pytest.mark.parametrize("mode", ["pr", "discussion"])
def test_dry_run_writes_nothing(write_hub, report, mode):
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    record = publish(report, repo=REPO, mode=mode, dry_run=True, endpoint=write_hub.endpoint)
    assert write_hub.arrivals == [] and record.dry_run and record.url is None
    if mode == "pr":
        assert record.card_diff.startswith("--- a/README.md\n+++ b/README.md\n")
        assert f"+{BEGIN}" in record.card_diff and "-license: mit" not in record.card_diff
        assert record.files == ("README.md", f"hubaudit/{SHA}/report.json", f"hubaudit/{SHA}/report.html")


def test_stale_report_is_refused_unless_allowed(write_hub, report):
    write_hub.add_repo(REPO, MOVED, CARDS["with metadata"])
    with pytest.raises(StaleReport, match=MOVED):
        publish(report, repo=REPO, token=TOKEN, endpoint=write_hub.endpoint)
    assert write_hub.arrivals == []
    record = publish(report, repo=REPO, token=TOKEN, endpoint=write_hub.endpoint, allow_stale=True)
    assert record.current_sha == MOVED and record.audited_sha == SHA
    assert f"hubaudit/{SHA}/report.json" in write_hub.arrivals[0].files


def test_no_token_is_refused_before_any_request(report):
    with pytest.raises(PublishNeedsToken):
        publish(report, repo=REPO, endpoint="http://127.0.0.1:9")


def _cli(*words: str, endpoint: str, token: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_ENDPOINT": endpoint}
    if token:
        env["HF_TOKEN"] = token
    return subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", "publish", *words], env=env, capture_output=True, text=True
    )


def test_cli_without_token_says_one_line_and_exits_2(write_hub, report, tmp_path):
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    done = _cli(str(path), "--repo", REPO, endpoint=write_hub.endpoint)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "needs a Hub token" in done.stderr and "--dry-run" in done.stderr
    assert write_hub.arrivals == []


def test_cli_opens_the_pull_request_and_dry_run_prints_the_diff(write_hub, report, tmp_path):
    write_hub.add_repo(REPO, SHA, CARDS["without metadata"])
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    dry = _cli(str(path), "--repo", REPO, "--dry-run", endpoint=write_hub.endpoint)
    assert dry.returncode == 0, dry.stderr
    assert f"+{BEGIN}" in dry.stdout and f"would add hubaudit/{SHA}/report.html" in dry.stdout
    assert write_hub.arrivals == []
    done = _cli(str(path), "--repo", REPO, endpoint=write_hub.endpoint, token=TOKEN)
    assert done.returncode == 0, done.stderr
    assert f"{write_hub.endpoint}/{REPO}/discussions/1" in done.stdout
    assert write_hub.arrivals[0].create_pr


def test_card_changed_after_it_was_read_is_not_overwritten(write_hub, report):
    """The pull request starts from the commit whose card was read (``parent_commit``): a card changed on main in
    between stays as it is on main, and the pull request's card is the one the diff was made against."""
    write_hub.add_repo(REPO, SHA, CARDS["without metadata"])
    write_hub.moves[REPO] = (MOVED, "# Rewritten by someone else\n")
    record = publish(report, repo=REPO, token=TOKEN, endpoint=write_hub.endpoint)
    (commit,) = write_hub.arrivals
    assert commit.parent_commit == SHA and write_hub.repos[REPO]["sha"] == MOVED
    assert "No metadata here." in commit.files["README.md"].decode() and "Rewritten" not in record.card_diff
    assert write_hub.files(REPO)["README.md"] == b"# Rewritten by someone else\n"


@pytest.mark.parametrize(
    ("status", "error", "fix"),
    [
        (401, NoWriteAccess, "token with write access"),
        (403, NoWriteAccess, "token with write access"),
        (404, WriteTargetNotFound, "check the repository name"),
        (409, WriteConflict, "run the command again"),
        (412, WriteConflict, "run the command again"),
    ],
)
@pytest.mark.parametrize("mode", ["pr", "discussion"])
def test_refused_write_is_one_typed_line_naming_the_fix(write_hub, report, status, error, fix, mode):
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    write_hub.refusals[REPO] = status
    with pytest.raises(error, match=f"HTTP {status}") as raised:
        publish(report, repo=REPO, mode=mode, token=TOKEN, endpoint=write_hub.endpoint)
    assert fix in str(raised.value) and "\n" not in str(raised.value) and write_hub.arrivals == []


def test_unreachable_hub_is_one_line(report):
    with pytest.raises(HubUnreachable, match="HF_ENDPOINT"):
        publish(report, repo=REPO, token=TOKEN, endpoint=f"http://127.0.0.1:{free_port()}")


def test_cli_refused_write_exits_2_with_one_line(write_hub, report, tmp_path):
    write_hub.add_repo(REPO, SHA, CARDS["with metadata"])
    write_hub.refusals[REPO] = 403
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report))
    done = _cli(str(path), "--repo", REPO, "--as", "discussion", endpoint=write_hub.endpoint, token=TOKEN)
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert "cannot post a discussion on org/model: HTTP 403" in done.stderr and "write access" in done.stderr
