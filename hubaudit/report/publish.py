"""Publish an audit to the model's Hub repository: a pull request that adds or refreshes the card's hubaudit section
and adds the report's files, or a discussion holding its Markdown summary. Nothing is written without a token, nor
when the repository has moved past the audited commit (unless allowed), nor in a dry run."""

from __future__ import annotations

from huggingface_hub import CommitOperationAdd, HfApi, get_token, hf_hub_url
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from hubaudit.errors import PublishNeedsToken, StaleReport
from hubaudit.hub.writes import hub_write_errors
from hubaudit.report.card_section import (
    PublishRecord,
    audit_folder,
    audit_title,
    card_diff,
    card_section,
    updated_card,
)
from hubaudit.report.markdown_report import render_markdown

CARD = "README.md"


def publish_audit(
    report: dict,
    *,
    report_json: bytes,
    report_html: str,
    repo: str,
    mode: str,
    dry_run: bool,
    allow_stale: bool,
    token: str | None,
    revision: str | None,
    endpoint: str | None,
) -> PublishRecord:
    """Write ``report`` (its ``report.json`` bytes and ``report.html`` text beside it) to ``repo`` as ``mode``
    (``"pr"`` or ``"discussion"``), or only say what would be written (``dry_run``); see :func:`hubaudit.api.publish`."""
    if mode not in ("pr", "discussion"):
        raise ValueError(f"mode must be 'pr' or 'discussion', not {mode!r}")
    token = token or get_token()
    if not dry_run and not token:
        raise PublishNeedsToken(repo)
    revision = revision or "main"
    api = HfApi(endpoint=endpoint, token=token)
    audited = (report.get("model") or {}).get("resolved_sha") or ""
    with hub_write_errors(repo, f"read the commit of {revision}"):
        current = api.model_info(repo, revision=revision, token=token).sha or ""
    if current != audited and not allow_stale:
        raise StaleReport(repo, revision, audited or "unknown", current)
    title = audit_title(report)
    common = dict(repo=repo, revision=revision, mode=mode, dry_run=dry_run, audited_sha=audited, current_sha=current)
    if mode == "discussion":
        text = render_markdown(report)
        url = None
        if not dry_run:
            with hub_write_errors(repo, "post a discussion"):
                url = api.create_discussion(repo, title, description=text, token=token).url
        return PublishRecord(**common, url=url, files=(), card_diff="", title=title, text=text)
    folder = audit_folder(report)
    section = card_section(report, report_link=f"{folder}/report.html")
    with hub_write_errors(repo, "read the model card"):
        old_card = _current_card(api, repo, current, token)  # the card of the commit the pull request starts from
    new_card = updated_card(old_card, section)
    contents = {
        CARD: new_card.encode("utf-8"),
        f"{folder}/report.json": report_json,
        f"{folder}/report.html": report_html.encode("utf-8"),
    }
    url = None
    if not dry_run:
        with hub_write_errors(repo, "open a pull request"):
            commit = api.create_commit(
                repo,
                operations=[CommitOperationAdd(path, content) for path, content in contents.items()],
                commit_message=title,
                commit_description="Adds or refreshes the model card's hubaudit section and adds the full report. "
                "Only the text between the hubaudit markers of README.md changes.",
                create_pr=True,
                revision=revision,
                # The pull request starts from the commit whose card was read: a change to the card made since
                # is never overwritten (the Hub refuses to merge a pull request that conflicts with it).
                parent_commit=current,
                token=token,
            )
        url = commit.pr_url
    return PublishRecord(
        **common, url=url, files=tuple(contents), card_diff=card_diff(old_card, new_card), title=title, text=section
    )


def _current_card(api: HfApi, repo: str, revision: str, token: str | None) -> str:
    """The text of ``repo``'s README.md at ``revision`` (a commit sha); empty when it has none."""
    url = hf_hub_url(repo, CARD, revision=revision, endpoint=api.endpoint)
    response = get_session().get(url, headers=build_hf_headers(token=token), follow_redirects=True)
    if response.status_code == 404:
        return ""
    hf_raise_for_status(response)
    return response.content.decode("utf-8")
