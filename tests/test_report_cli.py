"""``hubaudit scan`` writes report.html; ``hubaudit report`` re-renders report.json without resampling."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree

import pytest

from hubaudit.cli import main
from report_examples import IMAGE_SOURCES


@pytest.fixture(scope="module")
def scanned(test_hub, tmp_path_factory):
    """The output folder of a real scan of tiny/ddpm from the test Hub (2 samples, 2 steps)."""
    out = tmp_path_factory.mktemp("scan")
    assert (
        main(["scan", "tiny/ddpm", "-n", "2", "--batch-size", "2", "--steps", "2", "--quiet", "--out", str(out)]) == 0
    )
    return out


@pytest.mark.slow
def test_scan_writes_an_html_report_with_its_samples_beside_the_json(scanned, test_hub):
    page = (scanned / "report.html").read_text()
    report = json.loads((scanned / "report.json").read_text())
    assert test_hub.sha("ddpm") in page and report["command"] in page
    assert len(IMAGE_SOURCES.findall(page)) == 2


@pytest.mark.slow
def test_report_rerenders_html_identically_without_touching_the_samples(scanned, capsys):
    shards = {path: path.stat().st_mtime_ns for path in (scanned / "samples").rglob("*.parquet")}
    scanned_page = (scanned / "report.html").read_text()
    (scanned / "report.html").unlink()
    assert main(["report", str(scanned / "report.json")]) == 0
    assert capsys.readouterr().out.strip() == f"report    {scanned / 'report.html'}"
    assert (scanned / "report.html").read_text() == scanned_page
    assert {path: path.stat().st_mtime_ns for path in (scanned / "samples").rglob("*.parquet")} == shards


@pytest.mark.slow
def test_report_writes_junit_beside_the_report_or_where_asked(scanned, tmp_path):
    assert main(["report", str(scanned / "report.json"), "--format", "junit"]) == 0
    suite = ElementTree.parse(scanned / "junit.xml").getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == (
        "3",
        "0",
        "2",
    )  # no audit ran: not tested
    assert (
        main(
            [
                "report",
                str(scanned / "report.json"),
                "--format",
                "junit",
                "--out",
                str(tmp_path / "ci" / "hubaudit.xml"),
            ]
        )
        == 0
    )
    assert (tmp_path / "ci" / "hubaudit.xml").read_text() == (scanned / "junit.xml").read_text()


@pytest.mark.slow
def test_report_prints_the_model_card_section_to_stdout(scanned, capsys, test_hub):
    assert main(["report", str(scanned / "report.json"), "--format", "md", "--out", "-"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("## Privacy and fairness audit") and f"`{test_hub.sha('ddpm')}`" in out


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no report at"),
        ("{not json", "is not a JSON report"),
        ('{"schema_version": "2.0"}', "unknown report schema version '2.0'"),
    ],
)
def test_unreadable_report_is_one_line_and_exit_code_2(tmp_path, capsys, content, message):
    if content is not None:
        (tmp_path / "report.json").write_text(content)
    assert main(["report", str(tmp_path / "report.json"), "--format", "md"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.slow
def test_rerendering_a_report_imports_neither_torch_nor_diffusers(scanned, tmp_path):
    import subprocess
    import sys

    code = (
        "import sys\nfrom hubaudit.cli import main\n"
        f"assert main(['report', {str(scanned / 'report.json')!r}, '--out', {str(tmp_path / 'r.html')!r}]) == 0\n"
        "print(sorted(name for name in ('torch', 'diffusers', 'transformers') if name in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
    assert (tmp_path / "r.html").read_text() == (scanned / "report.html").read_text()
