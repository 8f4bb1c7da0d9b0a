"""The model card's hubaudit section: a fenced block of README.md between :data:`BEGIN` and :data:`END`, added or
refreshed without touching anything else of the card (its YAML front matter above all)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from hubaudit.report.content import checks, outcome_counts_text
from hubaudit.report.markdown_report import render_markdown

BEGIN = "<!-- hubaudit:begin -->"
END = "<!-- hubaudit:end -->"
"""The markers around the section hubaudit owns in a model card; nothing outside them is changed."""


@dataclass(frozen=True)
class PublishRecord:
    """What :func:`hubaudit.api.publish` wrote to a model's Hub repository, or would write (``dry_run``).

    Attributes:
        repo: the model's repository, ``org/name``.
        revision: the branch the pull request targets (and whose commit was checked against the report's).
        mode: ``"pr"`` (a pull request) or ``"discussion"``.
        dry_run: True when nothing was written.
        audited_sha: the commit the report audited (its ``model.resolved_sha``).
        current_sha: the commit ``revision`` is at on the Hub.
        url: the pull request's or discussion's address; None for a dry run.
        files: the repository paths the pull request adds or changes (none for a discussion).
        card_diff: the model card's change as a unified diff (empty for a discussion).
        title: the pull request's or discussion's title.
        text: the discussion's Markdown, or the card's hubaudit section.
    """

    repo: str
    revision: str
    mode: str
    dry_run: bool
    audited_sha: str
    current_sha: str
    url: str | None
    files: tuple[str, ...]
    card_diff: str
    title: str
    text: str


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(?:.*?\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


def audit_folder(report: dict) -> str:
    """The repository folder of the report's files: ``hubaudit/<audited sha>``."""
    return f"hubaudit/{(report.get('model') or {}).get('resolved_sha') or 'unknown'}"


def card_section(report: dict, *, report_link: str | None) -> str:
    """The card's hubaudit section for ``report``: the markers around its Markdown summary (outcomes, intervals,
    sample counts, hubaudit version, audited sha) and, given ``report_link`` (a path in the repository, or an
    address), a link to the full report."""
    lines = [BEGIN, render_markdown(report).rstrip("\n"), ""]
    if report_link:
        lines += [f"Full report: [{report_link}]({report_link}).", ""]
    return "\n".join([*lines, END]) + "\n"


def audit_title(report: dict) -> str:
    """One line naming the audited commit and counting the outcomes, e.g. ``hubaudit audit of abc123: 1 finding``."""
    counts = outcome_counts_text(checks(report))
    sha = (report.get("model") or {}).get("resolved_sha") or "unknown"
    return f"hubaudit audit of commit {sha[:12]}: {counts or 'no verdicts'}"


def split_front_matter(card: str) -> tuple[str, str]:
    """``card`` as its YAML front matter (with both ``---`` lines, verbatim; empty when it has none) and its body."""
    found = _FRONT_MATTER.match(card)
    return (card[: found.end()], card[found.end() :]) if found else ("", card)


def updated_card(card: str, section: str) -> str:
    """``card`` (README.md text, possibly empty) with its hubaudit section replaced by ``section``, or ``section``
    appended when it has none; the front matter and the rest of the body are kept byte for byte."""
    front, body = split_front_matter(card)
    start = body.find(BEGIN)
    end = body.find(END, start) if start >= 0 else -1
    if start >= 0 and end >= 0:
        rest = body[end + len(END) :]
        rest = rest[1:] if rest.startswith("\n") else rest
        return front + body[:start] + section + rest
    if not body.strip():
        return front + section
    return front + body.rstrip("\n") + "\n\n" + section


def card_diff(old: str, new: str, *, path: str = "README.md") -> str:
    """The change from ``old`` to ``new`` as a unified diff (empty when equal)."""
    lines = difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True), fromfile=f"a/{path}", tofile=f"b/{path}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
