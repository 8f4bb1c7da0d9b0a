"""A local Hugging Face Hub for tests: tiny model git repositories served over the Hub HTTP API by olah.

``serve_test_hub`` builds the repositories of :data:`REPO_BUILDERS` as plain git repositories at
``<mirrors>/models/tiny/<name>``, starts ``olah-cli`` (offline, serving only those mirrors) on
127.0.0.1, and stops it by its process id on exit. Clients point ``HF_ENDPOINT`` at
:attr:`ServedHub.endpoint` before importing huggingface_hub (it reads the variable at import).

Revisions: ``tiny/ddpm`` has two commits; tag ``v1`` and branch ``dev`` point at the first
(other weights), branch ``main`` at the second (same weights re-seeded, plus a README.md).

What olah 0.5.4 answers (offline, local mirrors), as huggingface_hub 2.x exceptions
(asserted in tests/test_test_hub.py; the hub-loading code must map these):

- ``model_info(repo)`` without revision needs ``<repos-path>/api/models/<org>/<name>/revision/<sha>/
  meta_head.json`` = ``{"sha", "lastModified"}`` (olah takes the newest as the head); a branch, tag,
  full or short sha revision is answered from the git repository. :func:`build_repos` writes the
  file, and ``revision/<ref>/resolved_commit.json`` for each branch and tag (see below).
- unknown repository, with or without revision, API or file download: HTTP 401
  ``X-Error-Code: RepoNotFound`` -> ``huggingface_hub.errors.RepositoryNotFoundError``.
- unknown branch, tag or short sha of an existing repository: ALSO 401 -> ``RepositoryNotFoundError`` (the real
  Hub answers 404 ``RevisionNotFoundError``). To tell the two apart, ask ``model_info(repo)``
  without revision: it succeeds when only the revision is wrong.
- unknown full 40-hex sha: HTTP 500 -> plain ``HfHubHTTPError`` (``.response.status_code == 500``);
  olah then drops the connection, so call ``huggingface_hub.close_session()`` before the next request.
  ``hf_hub_download`` at such a sha retries the 500 five times (~25 s) and ends in
  ``LocalEntryNotFoundError``: check a sha with ``model_info`` before downloading at it.
- missing file at an existing branch, tag or sha: 404 EntryNotFound ->
  ``RemoteEntryNotFoundError`` (a subclass of ``EntryNotFoundError``), as on the real Hub. Without
  the ``resolved_commit.json`` files olah would answer 401 RepoNotFound at a branch or tag.
- ``DiffusionPipeline.from_pretrained`` turns an unknown repository or revision into an ``OSError``
  ("... not fully cached locally ..."), so resolve the reference with ``HfApi`` first.
- a ``_class_name: ["pipeline", "MyPipeline"]`` repository: ``from_pretrained`` without
  ``trust_remote_code=True`` raises ``ValueError`` ("... contains custom code ...").
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import adapter_models
import family_models
import tiny_models

ORG = "tiny"
"""Owner of every repository on the test Hub."""

CLASSIFIER_LABELS = {0: "female", 1: "male"}
"""Labels of the ``tiny/classifier`` image classifier."""

REPO_BUILDERS: dict[str, Callable[[Path], Path]] = {
    **{name: family.save for name, family in family_models.FAMILIES.items()},
    "pickle-only": tiny_models.save_pickle_only_ddpm,
    "remote-code": tiny_models.save_remote_code_pipeline,
    "unsupported": tiny_models.save_unsupported_pipeline,
    "misspelt-class": tiny_models.save_misspelt_pipeline,
    "malformed-index": tiny_models.save_malformed_model_index,
    "lora": adapter_models.save_diffusers_lora,
    "lora-kohya": adapter_models.save_kohya_lora,
    "textual-inversion": adapter_models.save_textual_inversion,
    "single-file": adapter_models.save_single_file_checkpoint,
    "classifier": partial(tiny_models.save_tiny_image_classifier, id2label=CLASSIFIER_LABELS),
    "clip": tiny_models.save_tiny_clip,
}
"""Repository name -> function writing its files into a folder."""

REFUSED_REPOS = {
    "not-diffusers": "classifier",
    "pickle-only": "pickle-only",
    "remote-code": "remote-code",
    "unsupported": "unsupported",
    "unknown-class": "misspelt-class",
    "malformed-index": "malformed-index",
}
"""Failure kind hubaudit must report -> repository name showing it (``classifier`` has no model_index.json)."""

OLAH_REPOS_DIR = "olah-repos"
"""olah's ``repos-path`` (its metadata cache), next to the ``mirrors`` folder in the served work folder."""

_AUTHOR = {"GIT_AUTHOR_NAME": "Tiny Models", "GIT_AUTHOR_EMAIL": "tiny@example.invalid"}
_FIRST_DATE, _SECOND_DATE = "2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"


@dataclass(frozen=True)
class ServedHub:
    """A running test Hub: where it answers and what it holds."""

    endpoint: str
    """Base URL, e.g. ``http://127.0.0.1:40123`` (the value of ``HF_ENDPOINT``)."""
    mirrors_path: Path
    """Folder of the git repositories, ``<mirrors_path>/models/tiny/<name>``."""
    shas: dict[str, dict[str, str]]
    """Repository name -> ref (``main``, plus ``v1`` and ``dev`` for ``ddpm``) -> 40-hex commit sha."""

    org: str = ORG

    def repo(self, name: str) -> str:
        """Repository id ``tiny/<name>``."""
        return f"{self.org}/{name}"

    def sha(self, name: str, ref: str = "main") -> str:
        """Commit sha that ``ref`` of repository ``name`` points at."""
        return self.shas[name][ref]

    def local_path(self, name: str) -> Path:
        """Working tree of repository ``name`` (its files at ``main``), for tests that skip HTTP."""
        return self.mirrors_path / "models" / self.org / name

    def add_repo(self, name: str, files: Path) -> str:
        """Serve a copy of the folder ``files`` as repository ``tiny/<name>`` (one commit on ``main``); return its sha.

        For tests that make a model at run time: the copy is committed to a new git repository
        among the mirrors and olah's revision metadata is written as :func:`build_repos` writes it.
        """
        repo = self.local_path(name)
        shutil.copytree(files, repo)
        _git(repo, "init", "--quiet", "--initial-branch", "main")
        self.shas[name] = {"main": _commit_all(repo, f"Add {name}", date=_FIRST_DATE)}
        _write_olah_revision_cache(self.mirrors_path.parent / OLAH_REPOS_DIR, name, self.shas[name], _FIRST_DATE)
        return self.shas[name]["main"]

    @property
    def supported(self) -> dict[str, str]:
        """Family hubaudit samples -> repository id (the families of ``family_models.FAMILIES``)."""
        return {name: self.repo(name) for name in family_models.FAMILIES}

    @property
    def refused(self) -> dict[str, str]:
        """Failure kind (``not-diffusers``, ``pickle-only``, ``remote-code``, ``unsupported``) -> repository id."""
        return {failure: self.repo(name) for failure, name in REFUSED_REPOS.items()}


def _git(repo: Path, *args: str, date: str = _FIRST_DATE) -> str:
    """Run git in ``repo`` with a fixed identity and date, ignoring user and system configuration."""
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(repo),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        **_AUTHOR,
        "GIT_COMMITTER_NAME": _AUTHOR["GIT_AUTHOR_NAME"],
        "GIT_COMMITTER_EMAIL": _AUTHOR["GIT_AUTHOR_EMAIL"],
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_DATE": date,
    }
    done = subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True, text=True)
    return done.stdout.strip()


def _commit_all(repo: Path, message: str, *, date: str) -> str:
    _git(repo, "add", "--all", date=date)
    _git(repo, "commit", "--quiet", "--message", message, date=date)
    return _git(repo, "rev-parse", "HEAD", date=date)


def _write_olah_revision_cache(repos_path: Path, name: str, refs: dict[str, str], head_date: str) -> None:
    """Write the revision metadata olah 0.5.4 offline reads next to the git mirror (its cache format).

    ``revision/<main sha>/meta_head.json`` makes requests without revision answer (the newest
    ``lastModified`` is the head); ``revision/<ref>/resolved_commit.json`` (+ ``.body``, the sha)
    maps each branch and tag to its commit, so a missing file at a ref is a 404 EntryNotFound
    rather than a 401 RepoNotFound.
    """
    revisions = repos_path / "api" / "models" / ORG / name / "revision"
    head = revisions / refs["main"]
    head.mkdir(parents=True, exist_ok=True)
    (head / "meta_head.json").write_text(json.dumps({"sha": refs["main"], "lastModified": head_date}))
    for ref, sha in refs.items():
        (revisions / ref).mkdir(parents=True, exist_ok=True)
        resolved = revisions / ref / "resolved_commit.json"
        resolved.write_text(json.dumps({"status_code": 200, "headers": {}, "cached_at": time.time()}))
        resolved.with_name("resolved_commit.json.body").write_text(sha)


def build_repos(mirrors_path: Path, repos_path: Path) -> dict[str, dict[str, str]]:
    """Write every repository of :data:`REPO_BUILDERS` as a git repository; return name -> ref -> sha."""
    shas = {}
    for name, save in REPO_BUILDERS.items():
        repo = mirrors_path / "models" / ORG / name
        save(repo)
        _git(repo, "init", "--quiet", "--initial-branch", "main")
        shas[name] = {"main": _commit_all(repo, f"Add tiny {name}", date=_FIRST_DATE)}
    ddpm = mirrors_path / "models" / ORG / "ddpm"
    _git(ddpm, "tag", "v1")
    _git(ddpm, "branch", "dev")
    shas["ddpm"]["v1"] = shas["ddpm"]["dev"] = shas["ddpm"]["main"]
    tiny_models.save_pipeline(tiny_models.build_ddpm, ddpm, seed=1)
    (ddpm / "README.md").write_text("---\nlibrary_name: diffusers\ntags:\n- unconditional-image-generation\n---\n")
    shas["ddpm"]["main"] = _commit_all(ddpm, "Retrain", date=_SECOND_DATE)
    for name, refs in shas.items():
        _write_olah_revision_cache(repos_path, name, refs, _SECOND_DATE if name == "ddpm" else _FIRST_DATE)
    return shas


def _olah_config(*, port: int, mirrors_path: Path, repos_path: Path) -> str:
    """olah TOML: offline, local mirrors only, upstream pointed at a closed port (127.0.0.1:9)."""
    netloc = f"127.0.0.1:{port}"
    return f"""[basic]
host = "127.0.0.1"
port = {port}
repos-path = "{repos_path}"
mirrors-path = ["{mirrors_path}"]
hf-scheme = "http"
hf-netloc = "127.0.0.1:9"
hf-lfs-netloc = "127.0.0.1:9"
mirror-scheme = "http"
mirror-netloc = "{netloc}"
mirror-lfs-netloc = "{netloc}"

[accessibility]
offline = true
"""


def _wait_until_answering(process: subprocess.Popen, url: str, log_path: Path, *, timeout_s: float) -> None:
    """Poll ``url`` until it answers 200; raise with olah's log if olah exits or the time runs out."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"olah exited with {process.returncode}:\n{log_path.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    raise RuntimeError(f"olah did not answer {url} within {timeout_s} s:\n{log_path.read_text()}")


@contextmanager
def serve_test_hub(workdir: Path, *, port: int, startup_timeout_s: float = 60) -> Iterator[ServedHub]:
    """Build the repositories under ``workdir``, serve them with olah on ``port``, stop olah on exit."""
    workdir = Path(workdir)
    mirrors_path, repos_path, logs_path = workdir / "mirrors", workdir / OLAH_REPOS_DIR, workdir / "olah-logs"
    shas = build_repos(mirrors_path, repos_path)
    logs_path.mkdir(parents=True, exist_ok=True)
    config_path = workdir / "olah.toml"
    config_path.write_text(_olah_config(port=port, mirrors_path=mirrors_path, repos_path=repos_path))
    olah_cli = Path(sys.executable).with_name("olah-cli")
    command = [str(olah_cli if olah_cli.exists() else shutil.which("olah-cli")), "-c", str(config_path)]
    output_path = logs_path / "olah-output.log"
    with open(output_path, "wb") as output:
        process = subprocess.Popen(
            [*command, "--log-path", str(logs_path)], cwd=workdir, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        endpoint = f"http://127.0.0.1:{port}"
        _wait_until_answering(process, f"{endpoint}/api/models/{ORG}/ddpm", output_path, timeout_s=startup_timeout_s)
        yield ServedHub(endpoint=endpoint, mirrors_path=mirrors_path, shas=shas)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
