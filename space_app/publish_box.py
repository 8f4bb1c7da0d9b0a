"""The Scan tab's *Publish* box: this page's last scan put on the model's Hub page by :func:`hubaudit.api.publish`
(the path of ``hubaudit publish``): a pull request adding the card's hubaudit section and the report, or a discussion.

Only with the visitor's own token: signed in with Hugging Face (:class:`gradio.LoginButton`, where ``gradio[oauth]`` is
installed; the Space's README sets ``hf_oauth: true`` with the ``write-repos`` and ``write-discussions`` scopes) or a
write token pasted in. The Space's own token is never used,
for reading the repository either. A visitor first previews what would be written (a dry run: the card diff and the
files, or the discussion's text); *Publish* then writes exactly what was previewed, and nothing else.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from hosting import Host, one_line_errors
from hubaudit.api import publish

SIGN_IN = "sign in with Hugging Face (or paste a token with write access to the model) to publish"
PREVIEW_FIRST = "preview first: Publish writes only what the last preview showed, for this scan, repository and kind"
MODES = {"pull request": "pr", "discussion": "discussion"}
"""The choice shown -> :func:`hubaudit.api.publish`'s ``mode``."""


@dataclass(frozen=True)
class Previewed:
    """What the visitor's last preview showed would be written: the scan folder, the repository and the mode."""

    folder: Path
    repo: str
    mode: str


def oauth_available() -> bool:
    """Whether Gradio can sign visitors in (``gradio[oauth]``: authlib and itsdangerous); else the box offers the
    token field alone."""
    return all(importlib.util.find_spec(name) is not None for name in ("authlib", "itsdangerous"))


def visitor_token(oauth_token: gr.OAuthToken | None, pasted_token: str | None) -> str:
    """The visitor's token: the signed-in one, else the one pasted; :data:`SIGN_IN` as an error without either."""
    token = (oauth_token.token if oauth_token is not None else "") or (pasted_token or "").strip()
    if not token:
        raise gr.Error(SIGN_IN, duration=None, print_exception=False)
    return token


def scanned_repo(session, repo: str | None) -> str:
    """The repository to publish to: the one typed in, else the model this page scanned (without its revision)."""
    return (repo or "").strip() or session.request.model.partition("@")[0]


def preview(
    host: Host,
    session,
    repo: str | None,
    kind: str,
    oauth_token: gr.OAuthToken | None,
    pasted_token: str | None,
    *,
    endpoint: str | None = None,
) -> tuple[str, Previewed]:
    """The dry run of publishing this page's scan (``session``, a ``scan_tab.ScanSession``) to ``repo`` as ``kind``:
    its Markdown (the card diff and files, or the discussion text) and what it previewed."""
    token = visitor_token(oauth_token, pasted_token)
    with one_line_errors("the preview"):
        folder = host.scan_folder(session.folder if session else None)
        target, mode = scanned_repo(session, repo), MODES[kind]
        record = publish(folder / "report.json", repo=target, mode=mode, dry_run=True, token=token, endpoint=endpoint)
    lines = [f"**Dry run: nothing written yet.** A {kind} on `{record.repo}` ({record.revision}): *{record.title}*"]
    if record.current_sha != record.audited_sha:
        lines.append(f"The repository is now at `{record.current_sha}`; the scan audited `{record.audited_sha}`.")
    if mode == "pr":
        lines += ["", "```diff", record.card_diff.rstrip("\n"), "```", "", "Adds:"]
        lines += [f"- `{path}`" for path in record.files]
    else:
        lines += ["", record.text]
    return "\n".join(lines), Previewed(folder, target, mode)


def publish_previewed(
    host: Host,
    session,
    previewed: Previewed | None,
    repo: str | None,
    kind: str,
    oauth_token: gr.OAuthToken | None,
    pasted_token: str | None,
    *,
    endpoint: str | None = None,
) -> str:
    """Publish this page's scan as the last :func:`preview` showed (refused if the scan, repository or kind changed
    since); a Markdown line linking to the pull request or discussion."""
    token = visitor_token(oauth_token, pasted_token)
    with one_line_errors("publishing"):
        folder = host.scan_folder(session.folder if session else None)
    target, mode = scanned_repo(session, repo), MODES[kind]
    if previewed != Previewed(folder, target, mode):
        raise gr.Error(PREVIEW_FIRST, duration=None, print_exception=False)
    with one_line_errors("publishing"):
        record = publish(folder / "report.json", repo=target, mode=mode, token=token, endpoint=endpoint)
    return f"Published: [{kind} on {record.repo}]({record.url})"


def build_publish_box(host: Host, session: gr.State, *, endpoint: str | None = None) -> None:
    """The *Publish* box, inside the current tab: sign-in, repository, kind, *Preview* and *Publish* (``endpoint``:
    the Hub written to, default ``HF_ENDPOINT``)."""
    with gr.Accordion("Publish this audit on the model's Hub page", open=False):
        gr.Markdown(
            "Opens a pull request adding the model card's hubaudit section and the report, or posts the summary as "
            "a discussion, with **your** Hugging Face account. Preview it first; nothing is written until you "
            "press *Publish*."
        )
        with gr.Row():
            if oauth_available():
                gr.LoginButton()
            pasted = gr.Textbox(label="Or a token with write access", type="password", elem_id="publish-token")
        with gr.Row():
            repo = gr.Textbox(label="Repository (default: the model scanned)", elem_id="publish-repo")
            kind = gr.Radio(list(MODES), value="pull request", label="As", elem_id="publish-kind")
        with gr.Row():
            preview_button = gr.Button("Preview (dry run)", elem_id="publish-preview")
            publish_button = gr.Button("Publish", variant="primary", elem_id="publish-now")
        shown = gr.Markdown(elem_id="publish-result")
        previewed = gr.State(None)

    def preview_publish(session, repo, kind, pasted, oauth_token: gr.OAuthToken | None = None):
        return preview(host, session, repo, kind, oauth_token, pasted, endpoint=endpoint)

    def publish_now(session, previewed, repo, kind, pasted, oauth_token: gr.OAuthToken | None = None):
        return publish_previewed(host, session, previewed, repo, kind, oauth_token, pasted, endpoint=endpoint), None

    preview_button.click(preview_publish, [session, repo, kind, pasted], [shown, previewed])
    publish_button.click(publish_now, [session, previewed, repo, kind, pasted], [shown, previewed])
