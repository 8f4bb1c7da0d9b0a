"""What keeps the Space within its host's means, for every tab: model sizes checked on the Hub before a scan, scan
folders deleted by age, the Hub cache trimmed after each scan, and every failure shown as one line.

:class:`Host` holds the work folder, the Hub cache and the limits (bytes, seconds); :meth:`Host.scan_job` wraps a
scan in them, :meth:`Host.scan_folder` hands a tab back the folder of its page's scan while it lives.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import gradio as gr
from huggingface_hub import HfApi, RepoFile, scan_cache_dir

from hubaudit.api import hub_errors, parse_model_reference
from hubaudit.errors import HubAuditError, ModelTooLarge, ScanNotAvailable

MAX_MODEL_BYTES = 10 * 2**30
"""Largest model or annotator repository a scan may use, in bytes: all its files at the revision, summed."""
REPORT_MAX_AGE_SECONDS = 3600
"""Seconds after which a scan folder (``scan-*`` under the work folder: reports, samples, gold labels) is deleted."""
MAX_CACHE_BYTES = 50 * 2**30
"""Size of the Hub cache, in bytes, that each scan trims it back under (least recently used revisions first)."""
EXPIRED = "this scan has expired; run it again"
"""What a tab says when its page's scan folder has been deleted by age."""
_LOG = logging.getLogger("hubaudit.space")


def repo_size_bytes(reference: str) -> int:
    """Bytes of all the files of the Hub model ``org/name[@revision]`` at that revision (default: its main branch)."""
    parsed = parse_model_reference(reference, allow_local=False)
    with hub_errors(str(parsed.repo_id), parsed.revision, token=None):
        entries = HfApi().list_repo_tree(str(parsed.repo_id), revision=parsed.revision, recursive=True)
        return sum(entry.size for entry in entries if isinstance(entry, RepoFile))


def check_model_sizes(references: Sequence[str], max_bytes: int) -> None:
    """Raise :class:`ModelTooLarge` for the first of ``references`` (``org/name[@revision]``) over ``max_bytes`` bytes."""
    for reference in references:
        size = repo_size_bytes(reference)
        if size > max_bytes:
            raise ModelTooLarge(reference, size, max_bytes)


def prune_old_scans(work_root: Path | str, max_age_seconds: float, now: float | None = None) -> list[Path]:
    """Delete the ``scan-*`` folders under ``work_root`` last modified over ``max_age_seconds`` seconds before
    ``now`` (seconds since the epoch; default: now); return the folders deleted."""
    cutoff = (time.time() if now is None else now) - max_age_seconds
    old = [path for path in sorted(Path(work_root).glob("scan-*")) if path.is_dir() and path.stat().st_mtime < cutoff]
    for path in old:
        shutil.rmtree(path, ignore_errors=True)
    return old


def trim_hub_cache(cache_dir: Path | str, max_bytes: int) -> list[str]:
    """Delete the least recently accessed revisions of the Hub cache ``cache_dir`` until it holds at most
    ``max_bytes`` bytes; return them as ``repo_id@commit``, oldest first."""
    if not Path(cache_dir).is_dir():
        return []
    cache = scan_cache_dir(cache_dir)
    revisions = sorted(
        ((repo, revision) for repo in cache.repos for revision in repo.revisions),
        key=lambda item: max((file.blob_last_accessed for file in item[1].files), default=item[1].last_modified),
    )
    deleted, strategy = [], None
    for repo, revision in revisions:  # blobs shared by revisions are freed with the last one: the strategy counts them
        if cache.size_on_disk - (strategy.expected_freed_size if strategy else 0) <= max_bytes:
            break
        deleted.append((repo, revision))
        strategy = cache.delete_revisions(*(revision.commit_hash for _, revision in deleted))
    if strategy is not None:
        strategy.execute()
    return [f"{repo.repo_id}@{revision.commit_hash}" for repo, revision in deleted]


def error_line(err: Exception, doing: str) -> str:
    """The one line a failure shows; call inside ``except`` (other exceptions are bugs: logged here)."""
    if isinstance(err, HubAuditError):
        return str(err)
    _LOG.exception("%s failed", doing)
    return f"internal error ({type(err).__name__}); {doing} did not finish"


@contextmanager
def one_line_errors(doing: str) -> Iterator[None]:
    """Show any failure inside as a :class:`gradio.Error` with its one line (:func:`error_line`), never a traceback."""
    try:
        yield
    except Exception as err:
        raise gr.Error(error_line(err, doing), duration=None, print_exception=False) from None


@dataclass(frozen=True)
class Host:
    """Where the Space's scans write (``work_root``) and download (the Hub cache ``cache_dir``), and its limits."""

    work_root: Path
    cache_dir: Path
    max_model_bytes: int = MAX_MODEL_BYTES
    report_max_age_seconds: int = REPORT_MAX_AGE_SECONDS
    max_cache_bytes: int = MAX_CACHE_BYTES

    def prune(self) -> list[Path]:
        """Delete the scan folders older than :attr:`report_max_age_seconds` (:func:`prune_old_scans`)."""
        return prune_old_scans(self.work_root, self.report_max_age_seconds)

    def new_scan_folder(self) -> Path:
        """A fresh, empty ``scan-*`` folder under :attr:`work_root`."""
        return Path(tempfile.mkdtemp(prefix="scan-", dir=self.work_root))

    def scan_folder(self, folder: Path | None) -> Path:
        """``folder``, a scan folder this Space made (held server-side, never typed by a visitor), while it lives.

        Raises:
            ScanNotAvailable: no scan yet (``folder`` None), or the folder was deleted by age (old ones are pruned first).
        """
        self.prune()
        if folder is None:
            raise ScanNotAvailable("no scan yet: run one in the Scan tab first")
        if folder.parent != self.work_root or not (folder / "report.json").is_file():
            raise ScanNotAvailable(EXPIRED)
        return folder

    def keep_alive(self, folder: Path) -> None:
        """Restart ``folder``'s age (a re-estimate keeps its scan for another :attr:`report_max_age_seconds`)."""
        os.utime(folder)

    def check_sizes(self, info: Mapping, model: str, annotator_id: str) -> None:
        """Refuse (:class:`ModelTooLarge`) a model, its base pipeline (``info["base"]``, for an adapter) or annotator
        model over :attr:`max_model_bytes`."""
        base = info.get("base")  # a LoRA's base pipeline is downloaded too
        bases = [f"{base['reference'].partition('@')[0]}@{base['resolved_sha']}"] if base else []
        check_model_sizes([model, *bases, annotator_id], self.max_model_bytes)

    @contextmanager
    def scan_job(self, doing: str = "the scan") -> Iterator[None]:
        """Prune old scan folders, run the scan inside, show its failure as one line, and trim the Hub cache after it
        (whether it finished or not)."""
        try:
            with one_line_errors(doing):
                self.prune()
                yield
        finally:
            try:
                trim_hub_cache(self.cache_dir, self.max_cache_bytes)
            except Exception:  # logged instead of hiding the scan's own result or error
                _LOG.exception("trimming the Hub cache %s failed", self.cache_dir)
