"""`hf hubaudit ...`: hubaudit as an extension of huggingface_hub's `hf` command line.

`hf extensions install OWNER/hf-hubaudit` pip-installs the repository into its own virtual environment
under ``~/.local/share/hf/extensions/hf-hubaudit/`` and writes a ``manifest.json`` there whose
``executable_path`` is that environment's ``hf-hubaudit`` console script; `hf hubaudit ARGS` runs it with ARGS.
These tests lay that folder out by hand in a temporary HOME, with the manifest class huggingface_hub itself
writes, pointing at this environment's ``hf-hubaudit``: no network, no GitHub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx2
import pytest
from huggingface_hub.cli import extensions

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def _description_as_hf_extensions_install_reads_it(monkeypatch) -> str | None:
    """The description `hf extensions install` records for this repository, read by huggingface_hub's own code.

    It asks GitHub for the repository's ``manifest.json``, then ``pyproject.toml``, then its About field; here the
    requests are answered from this checkout (and a 404 for anything it does not have).
    """

    def from_checkout(method, url, **kwargs):
        request = httpx2.Request(method, url)
        path = REPO_ROOT / url.rpartition("/HEAD/")[2] if "/HEAD/" in url else None
        if path is None or not path.is_file():
            response = httpx2.Response(404, request=request)
            response.raise_for_status()
        return httpx2.Response(200, content=path.read_bytes(), request=request)

    monkeypatch.setattr(extensions, "_github_request", from_checkout)
    return extensions._try_fetch_remote_description("owner", "hf-hubaudit")


@pytest.fixture
def hf_env(tmp_path, monkeypatch) -> dict[str, str]:
    """The environment of an `hf` whose HOME has hubaudit installed as the extension `hf-hubaudit`."""
    script = VENV_BIN / "hf-hubaudit"
    assert script.is_file(), f"{script} is missing: reinstall the project (pip install -e .)"
    home = tmp_path / "home"
    extension_dir = home / ".local" / "share" / "hf" / "extensions" / "hf-hubaudit"
    extensions.ExtensionManifest(
        owner="owner",
        repo="hf-hubaudit",
        repo_id="owner/hf-hubaudit",
        short_name="hubaudit",
        executable_path=str(script),
        type="python",
        installed_at=datetime.now(UTC),
        description=_description_as_hf_extensions_install_reads_it(monkeypatch),
    ).save(extension_dir)
    # HF_HUB_DISABLE_UPDATE_CHECK: `hf` would otherwise ask GitHub for the extension's latest commit
    return {
        **os.environ,
        "HOME": str(home),
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",
    }


def _hf(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "hf"), *args], capture_output=True, text=True, env=env, timeout=300)


def test_hf_hubaudit_console_script_is_the_hubaudit_cli():
    help_text = subprocess.run(
        [str(VENV_BIN / "hf-hubaudit"), "--help"], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert "scan" in help_text and "report" in help_text


def test_repository_installs_as_a_python_extension_not_a_script():
    # `hf extensions install` installs a file named hf-hubaudit at the repository root as a shell script, and
    # pip-installs the repository only when there is none
    assert not (REPO_ROOT / "hf-hubaudit").exists()


def test_hf_extensions_list_shows_hubaudit_with_the_project_description(hf_env):
    listed = _hf("extensions", "list", "--format", "json", env=hf_env)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)
    assert row["command"] == "hf hubaudit"
    assert row["description"].startswith("Audit diffusion models shared on the Hugging Face Hub")


def test_hf_hubaudit_scan_help_runs_the_extension(hf_env):
    shown = _hf("hubaudit", "scan", "--help", env=hf_env)
    assert shown.returncode == 0, shown.stderr
    assert "--steps" in shown.stdout


@pytest.mark.slow
def test_hf_hubaudit_scans_a_test_hub_model(test_hub, hf_env, tmp_path):
    scanned = _hf(
        "hubaudit", "scan", "tiny/ddpm", "-n", "2", "--steps", "2", "--quiet", "--out", str(tmp_path), env=hf_env
    )
    assert scanned.returncode == 0, scanned.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["model"]["resolved_sha"] == test_hub.sha("ddpm")
