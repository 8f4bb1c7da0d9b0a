"""hubaudit as a Gradio app (a Hugging Face Space): audit a diffusion model on the Hub from a browser.

Four tabs, each a front end over :mod:`hubaudit.api`, one scan at a time (the queue runs one GPU job), every field
checked and every error shown as one line:

- **Scan** (:mod:`scan_tab`): ``hubaudit scan`` with CLIP attributes; checking a model (no weights loaded) shows its
  kind and the fields it takes. Its *Publish* box (:mod:`publish_box`) puts the scan on the model's Hub page
  (``hubaudit publish``) with the visitor's own token, after a dry-run preview.
- **Label samples** (:mod:`labelling_tab`): gold labels for a random subset of this page's scan, by hand, and the
  prediction-powered re-estimate they give (``hubaudit label``, ``hubaudit scan --gold``).
- **Fairness** (:mod:`fairness_tab`): the fairness signature, with the label read off prompts or classes.
- **Membership** (:mod:`membership_tab`): ``hubaudit membership`` on Hub data sets, calibrated on non-members.

Limits, so that visitors cannot turn the Space against its host (:mod:`form_checks`, :mod:`hosting`):

- Hub ids only: a model, revision or annotator id that is a path on this machine is refused
  (:class:`~hubaudit.errors.LocalPathRefused`), custom attribute names are plain names, and scans run with
  ``allow_local=False``. The labelling tab works on the folder of this page's own scan, held server-side.
- ``MAX_MODEL_BYTES``: the model and annotator repositories are sized on the Hub before a scan.
- ``MAX_SAMPLES``, ``MAX_STEPS`` (and the prompt, class, guidance and gold-label caps) bound the work.
- ``REPORT_MAX_AGE_SECONDS``: scan folders (reports, samples, gold labels) older than this are deleted at startup,
  before each scan and at each labelling step; Gradio's copies of outputs expire as fast.
- ``MAX_CACHE_BYTES``: after each scan the Hub cache is trimmed back under the cap, least recently used first.

:func:`build_demo` takes each of the three byte and second limits as a keyword argument (tests use small values).

Run locally: ``python space_app/app.py [--host 127.0.0.1] [--port 7860] [--work-dir DIR]``;
on Spaces, ``app.py`` is started as is (``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT`` apply). The modules beside it
are imported by their file names (this folder is on the import path when ``app.py`` runs).
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
from huggingface_hub import constants as hub_constants

from fairness_tab import build_fairness_tab
from hosting import MAX_CACHE_BYTES, MAX_MODEL_BYTES, REPORT_MAX_AGE_SECONDS, Host
from labelling_tab import build_labelling_tab
from membership_tab import build_membership_tab
from publish_box import build_publish_box
from scan_tab import build_scan_tab


def build_demo(
    *,
    work_root: Path | str | None = None,
    cache_dir: Path | str | None = None,
    max_model_bytes: int = MAX_MODEL_BYTES,
    report_max_age_seconds: int = REPORT_MAX_AGE_SECONDS,
    max_cache_bytes: int = MAX_CACHE_BYTES,
    publish_endpoint: str | None = None,
) -> gr.Blocks:
    """The app; scans write under ``work_root`` (default: a fresh temporary folder) and download into the Hub
    cache ``cache_dir`` (default: huggingface_hub's ``HF_HUB_CACHE``); the limits are in bytes and seconds; the
    *Publish* box writes to the Hub at ``publish_endpoint`` (default: ``HF_ENDPOINT``)."""
    work_root = Path(work_root) if work_root is not None else Path(tempfile.mkdtemp(prefix="hubaudit-space-"))
    work_root.mkdir(parents=True, exist_ok=True)
    host = Host(
        work_root.resolve(),
        Path(cache_dir if cache_dir is not None else hub_constants.HF_HUB_CACHE),
        max_model_bytes,
        report_max_age_seconds,
        max_cache_bytes,
    )
    host.prune()
    with gr.Blocks(title="hubaudit", delete_cache=(report_max_age_seconds, report_max_age_seconds)) as demo:
        gr.Markdown(
            "# hubaudit: audit a shared diffusion model\n"
            "Samples a diffusion model from the Hugging Face Hub, labels the samples with a CLIP model and "
            "estimates the share of each attribute value among the **generated** samples, with confidence intervals."
        )
        session = gr.State(None)  # this page's last scan (scan_tab.ScanSession): server-side, never typed in
        with gr.Tabs():
            with gr.Tab("Scan", id="scan"):
                scan = build_scan_tab(host, session)
                build_publish_box(host, session, endpoint=publish_endpoint)
            with gr.Tab("Label samples", id="label"):
                build_labelling_tab(host, session, scan)
            with gr.Tab("Fairness", id="fairness"):
                build_fairness_tab(host)
            with gr.Tab("Membership", id="membership"):
                build_membership_tab(host)
    demo.queue(default_concurrency_limit=1, max_size=32)
    return demo


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the app (host and port default to ``GRADIO_SERVER_NAME``/``GRADIO_SERVER_PORT``, then Gradio's)."""
    parser = argparse.ArgumentParser(description="Serve the hubaudit Gradio app.")
    parser.add_argument("--host", help="address to listen on (default 127.0.0.1; Spaces set 0.0.0.0)")
    parser.add_argument("--port", type=int, help="port (default 7860)")
    parser.add_argument("--work-dir", type=Path, help="where scans write (default: a temporary folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    theme = gr.themes.Default(
        font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"]
    )  # no web fonts
    allowed = [str(args.work_dir.resolve())] if args.work_dir else None
    build_demo(work_root=args.work_dir).launch(
        server_name=args.host, server_port=args.port, allowed_paths=allowed, theme=theme
    )


if __name__ == "__main__":
    main()
