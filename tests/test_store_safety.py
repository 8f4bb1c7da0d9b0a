"""The sample store survives torn writes, a full disk and concurrent scans; exit codes and quiet output hold."""

from __future__ import annotations

import errno
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import hubaudit
from hubaudit.cli import EXIT_CODES
from hubaudit.errors import CannotWrite, IncompleteSampleStore, InvalidSampleStore, NotEnoughDisk, StoreLocked
from hubaudit.sampling import SampleStore, open_sample_store

DEMO = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models"
MODEL = str(DEMO / "mnist-zeros30")
ANNOTATOR = DEMO / "mnist-zero-annotator"
FAST = {"n": 8, "batch_size": 4, "steps": 2, "progress": False}


def _images(count: int) -> np.ndarray:
    return np.random.default_rng(count).integers(0, 256, size=(count, 4, 4, 1), dtype=np.uint8)


def _filled_store(tmp_path) -> SampleStore:
    store = SampleStore(tmp_path, {"model": "m"})
    store.write(np.arange(0, 3), _images(3))
    store.write(np.arange(3, 6), _images(3))
    return store


def test_zero_byte_and_torn_shards_are_set_aside_and_their_samples_count_as_missing(tmp_path):
    store = _filled_store(tmp_path)
    first, second = sorted(store.path.glob("shard-*.parquet"))
    first.write_bytes(b"")  # a rename that reached the disk before the data (power loss without fsync)
    second.write_bytes(second.read_bytes()[:-40])  # a torn footer
    (store.path / ".shard-x.parquet.123.tmp").write_bytes(b"partial")
    with store.lock():
        assert store.missing(6).tolist() == [0, 1, 2, 3, 4, 5]
    assert sorted(path.name for path in store.path.iterdir() if not path.name.startswith(".lock")) == sorted(
        [first.name + ".corrupt", "manifest.json", second.name + ".corrupt"]
    )
    assert store.set_aside == [first.name, second.name]


@pytest.mark.slow
def test_a_scan_heals_a_corrupt_shard_on_rerun_and_gives_the_same_images(tmp_path):
    first = hubaudit.scan(MODEL, out_dir=tmp_path / "a", **FAST).to_dict()
    store_path = Path(first["samples"][0]["store_path"])
    images = open_sample_store(store_path).load(8)
    shard = sorted(store_path.glob("shard-*.parquet"))[0]
    shard.write_bytes(b"")
    second = hubaudit.scan(MODEL, out_dir=tmp_path / "a", **FAST).to_dict()
    assert second["samples"][0]["generated"] == 4 and second["samples"][0]["reused"] == 4
    assert second["samples"][0]["set_aside_shards"] == [shard.name]
    assert np.array_equal(open_sample_store(store_path).load(8), images)


def test_an_unreadable_shard_found_while_reading_is_set_aside_with_a_clear_error(tmp_path):
    store = _filled_store(tmp_path)
    shard = sorted(store.path.glob("shard-*.parquet"))[1]
    data = bytearray(shard.read_bytes())
    data[4:200] = bytes(196)  # the pages, not the footer: the index column still reads
    shard.write_bytes(bytes(data))
    with pytest.raises(IncompleteSampleStore, match="cannot be read .*; delete it: rerun the same command"):
        store.load(6)  # a reader without the lock (hubaudit report) renames nothing
    assert shard.exists()
    with store.lock():  # the scan holding the lock sets it aside: its samples are missing, to be drawn again
        assert store.set_aside == [shard.name] and store.missing(6).tolist() == [3, 4, 5]
    assert (shard.parent / (shard.name + ".corrupt")).exists()


def test_an_io_error_is_not_taken_for_a_corrupt_shard(tmp_path, monkeypatch):
    store = _filled_store(tmp_path)

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", "shard")

    monkeypatch.setattr("hubaudit.sampling.store.pq.read_table", denied)
    with pytest.raises(PermissionError), store.lock():
        pass
    assert len(list(store.path.glob("shard-*.parquet"))) == 2 and not list(store.path.glob("*.corrupt"))


def test_the_datasets_recipe_returns_each_index_once_after_resumes_with_other_batch_sizes(tmp_path):
    import datasets

    hubaudit.scan(MODEL, out_dir=tmp_path, **{**FAST, "n": 5, "batch_size": 2})
    report = hubaudit.scan(MODEL, out_dir=tmp_path, **{**FAST, "n": 11, "batch_size": 3}).to_dict()
    store_path = report["samples"][0]["store_path"]
    loaded = datasets.load_dataset("parquet", data_files=f"{store_path}/*.parquet", split="train")
    assert sorted(loaded["index"]) == list(range(11))


def test_a_second_scan_of_a_store_in_use_is_refused_and_changes_nothing(tmp_path):
    store = _filled_store(tmp_path)
    before = _contents(store)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from filelock import FileLock; "
            "lock = FileLock(sys.argv[1]); lock.acquire(); print('held', flush=True); time.sleep(60)",
            str(store.path / ".lock"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StoreLocked, match="in use by another scan"):
            with SampleStore(tmp_path, {"model": "m"}).lock():
                pass
    finally:
        holder.kill()
        holder.wait()
    assert _contents(store) == before
    with store.lock():  # a killed holder's lock is gone with its process
        assert store.missing(6).size == 0


def _contents(store: SampleStore) -> list[str]:
    return sorted(path.name for path in store.path.iterdir() if not path.name.startswith(".lock"))


def test_a_malformed_manifest_is_a_clear_error_naming_the_fix(tmp_path):
    store = _filled_store(tmp_path)
    (store.path / "manifest.json").write_text('{"model": ')
    with pytest.raises(InvalidSampleStore, match=r"not valid JSON \(line 1, column 11\): delete the folder"):
        SampleStore(tmp_path, {"model": "m"})
    with pytest.raises(InvalidSampleStore):
        open_sample_store(store.path)


def test_a_full_disk_keeps_the_finished_shards_and_says_how_to_resume(tmp_path, monkeypatch):
    store = _filled_store(tmp_path)

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("hubaudit.sampling.store.write_atomically", disk_full)
    with pytest.raises(CannotWrite, match="no space left on device .6 samples are kept in .*rerun to resume"):
        store.write(np.arange(6, 8), _images(2))
    assert store.indices().tolist() == list(range(6))


def test_n_beyond_what_the_disk_holds_is_refused_after_one_batch_with_the_space_needed(tmp_path, monkeypatch):
    import shutil

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr("hubaudit.sampling.runner.shutil.disk_usage", lambda path: usage._replace(free=10_000))
    with pytest.raises(
        NotEnoughDisk, match=r"need about .* MiB more in .*, which has 0.0 MiB free: lower -n.*\(4 samples"
    ):
        hubaudit.scan(MODEL, out_dir=tmp_path, **{**FAST, "n": 100_000})


def test_exit_codes_are_documented_in_the_cli_guide():
    guide = (Path(__file__).resolve().parents[1] / "docs" / "user-guide-cli.md").read_text()
    for code, meaning in EXIT_CODES.items():
        assert f"| {code} |" in guide, (code, meaning)


def _cli(*words: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hubaudit.cli", *words], capture_output=True, text=True, timeout=300, **options
    )


@pytest.mark.slow
def test_argparse_errors_are_one_line_without_the_usage_in_a_real_process():
    result = _cli("scan", MODEL, "-n", "many")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hubaudit: error: argument -n/--num-samples: invalid int value: 'many' (see hubaudit scan --help)"
    ]


@pytest.mark.slow
def test_quiet_scan_prints_no_library_line_or_progress_bar(tmp_path):
    result = _cli(
        "scan",
        MODEL,
        "-n",
        "8",
        "--batch-size",
        "4",
        "--steps",
        "2",
        "--quiet",
        "--out",
        str(tmp_path),
        "--attribute",
        f"is_zero=aux:{ANNOTATOR}",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "property  is_zero" in result.stdout


@pytest.mark.slow
def test_sigterm_mid_scan_exits_143_keeps_the_samples_and_a_rerun_resumes(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hubaudit.cli",
            "scan",
            MODEL,
            "-n",
            "400",
            "--batch-size",
            "2",
            "--steps",
            "20",
            "--quiet",
            "--out",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("samples/*/shard-*.parquet")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 143
    assert err.strip().splitlines() == [
        "hubaudit: terminated; finished samples are kept: rerun the same command to resume"
    ]
    kept = len(open_sample_store(next(tmp_path.glob("samples/*"))).indices())
    assert kept >= 2 and not list(tmp_path.glob("samples/*/.*.tmp"))
    rerun = hubaudit.scan(MODEL, out_dir=tmp_path, n=kept + 2, batch_size=2, steps=20, progress=False).to_dict()
    assert rerun["samples"][0]["reused"] == kept


def test_a_broken_image_in_an_intact_shard_is_set_aside_by_the_scan_that_reads_it(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    store = _filled_store(tmp_path)
    shard = sorted(store.path.glob("shard-*.parquet"))[0]
    table = pq.read_table(shard)
    broken = table.set_column(
        1, "image", pa.array([{"bytes": b"not a png", "path": None}] * 3, type=table.schema.field("image").type)
    )
    pq.write_table(broken, shard)
    with (
        store.lock(),
        pytest.raises(IncompleteSampleStore, match=r"cannot be read \(.*\); it was set aside as .*\.corrupt: rerun"),
    ):
        store.load(6)
    assert store.set_aside == [shard.name] and store.missing(6).tolist() == [0, 1, 2]


def test_a_store_drawn_with_another_runtime_is_never_resumed_and_the_scan_says_so(tmp_path, caplog, monkeypatch):
    first = hubaudit.scan(MODEL, out_dir=tmp_path, **FAST).to_dict()
    old_path = Path(first["samples"][0]["store_path"])
    assert open_sample_store(old_path).key["runtime"]["device"] == "cpu"
    monkeypatch.setattr("hubaudit.audit.sampled.version", lambda library: "99.0")  # as after an upgrade
    second = hubaudit.scan(MODEL, out_dir=tmp_path, **FAST).to_dict()
    assert second["samples"][0]["generated"] == 8 and Path(second["samples"][0]["store_path"]) != old_path
    assert f"sample store {old_path} was drawn with" in caplog.text and '"torch": "99.0"' in caplog.text
    assert open_sample_store(second["samples"][0]["store_path"]).key["runtime"] == {
        "device": "cpu",
        "torch": "99.0",
        "diffusers": "99.0",
    }
