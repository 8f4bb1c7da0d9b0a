"""The Space checks every field of its form before anything loads, and keeps within its limits (the browser test
drives the rest)."""

from __future__ import annotations

import importlib.util
import os
import re
import sys
import time
from pathlib import Path

import gradio as gr
import pytest
from huggingface_hub import scan_cache_dir, snapshot_download

from hubaudit import api
from hubaudit.errors import (
    InvalidAttributeSpec,
    InvalidModelReference,
    InvalidSamplerConfig,
    LocalPathRefused,
    ModelTooLarge,
)

_SPEC = importlib.util.spec_from_file_location("space_app_module", Path(__file__).resolve().parents[1] / "space_app" / "app.py")
app = importlib.util.module_from_spec(_SPEC)
sys.modules[_SPEC.name] = app
_SPEC.loader.exec_module(app)

VALID = {"model_id": "org/model", "revision": "", "presets": ["gender"], "custom_attributes": "",
         "annotator_id": "openai/clip-vit-base-patch32", "n": 64, "steps": 50}


def _request(**changes):
    return app.scan_request(**{**VALID, **changes})


def test_presets_and_custom_prompts_become_clip_attributes_on_the_annotator_model():
    request = _request(presets=["gender", "smiling"], annotator_id="org/clip@v2",
                       custom_attributes="\n  digit: a photo of a zero | a photo of a one \n")
    assert request == app.ScanRequest(
        "org/model",
        ("gender=clip@org/clip@v2", "smiling=clip@org/clip@v2", "digit=clip@org/clip@v2:a photo of a zero | a photo of a one"),
        64,
        50,
    )


def test_revision_is_pinned_on_the_model_id():
    assert _request(revision=" v1.0 ").model == "org/model@v1.0"
    assert _request(revision="refs/pr/1").model == "org/model@refs/pr/1"


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"model_id": ""}, InvalidModelReference, "not a model reference"),
    ({"model_id": "org/model@main", "revision": "v1"}, InvalidModelReference, "org/model@main@v1"),
    ({"revision": "../x"}, InvalidModelReference, "not a model reference"),
    ({"annotator_id": "/models/clip"}, InvalidAttributeSpec, "annotator model"),
    ({"presets": [], "custom_attributes": " "}, InvalidAttributeSpec, "at least one attribute"),
    ({"presets": ["wings"]}, InvalidAttributeSpec, "no CLIP preset wings"),
    ({"custom_attributes": "smile: a smiling face"}, InvalidAttributeSpec, "expected NAME: PROMPT | PROMPT"),
    ({"custom_attributes": "bad name: a | b"}, InvalidAttributeSpec, "custom attribute name 'bad name'"),
    ({"custom_attributes": "gender: a woman | a man"}, InvalidAttributeSpec, "must differ"),
    ({"n": 0}, InvalidSamplerConfig, "samples must be a whole number from 1 to 256"),
    ({"n": 257}, InvalidSamplerConfig, "from 1 to 256"),
    ({"n": 2.5}, InvalidSamplerConfig, "whole number"),
    ({"steps": 201}, InvalidSamplerConfig, "steps must be a whole number from 1 to 200"),
    ({"steps": None}, InvalidSamplerConfig, "steps"),
])
def test_bad_fields_are_refused_with_a_message_naming_them(changes, error, message):
    with pytest.raises(error, match=message.replace("|", r"\|")):
        _request(**changes)


TEXT_TO_IMAGE = {"kind": "text-to-image", "num_classes": None, "class_names": {}, "default_guidance": 7.5}
CLASS_CONDITIONAL = {"kind": "class-conditional", "num_classes": 3, "class_names": {0: "cat", 1: "dog", 2: "bird"},
                     "default_guidance": None}
UNCONDITIONAL = {"kind": "unconditional", "num_classes": None, "class_names": {}, "default_guidance": None}


def test_prompts_are_read_one_per_line_for_a_text_to_image_model():
    request = _request(info=TEXT_TO_IMAGE, prompts="\n a photo of a doctor \n\na photo of a nurse\na photo of a doctor\n",
                       guidance=3, n=32)
    assert (request.prompts, request.classes, request.guidance_scale, request.n) == (
        ("a photo of a doctor", "a photo of a nurse"), (), 3.0, 32)


def test_classes_are_read_as_ids_for_a_class_conditional_model():
    request = _request(info=CLASS_CONDITIONAL, classes=[2, "0: cat", 2], guidance=5)
    assert (request.classes, request.prompts, request.guidance_scale) == ((2, 0), (), None)  # it takes no guidance


def test_hidden_fields_of_another_kind_are_ignored():
    request = _request(info=UNCONDITIONAL, prompts="a photo", classes=[1], guidance=2)
    assert (request.prompts, request.classes, request.guidance_scale) == ((), (), None)


@pytest.mark.parametrize(("changes", "message"), [
    ({"info": TEXT_TO_IMAGE, "prompts": " \n "}, "org/model is a text-to-image model: enter at least one prompt"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a\nb\nc\nd\ne"}, "5 prompts: at most 4"),
    ({"info": TEXT_TO_IMAGE, "prompts": "x" * 301}, "301 characters: at most 300"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a\nb", "n": 200}, r"200 samples x 2 prompts = 400: at most 256"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a", "guidance": 21}, "guidance scale must be from 0 to 20"),
    ({"info": TEXT_TO_IMAGE, "prompts": "a", "guidance": float("nan")}, "guidance scale"),
    ({"info": CLASS_CONDITIONAL, "classes": []}, "class-conditional model: choose at least one class"),
    ({"info": CLASS_CONDITIONAL, "classes": [3]}, r"class 3 is not a class of org/model \(0 to 2\)"),
    ({"info": CLASS_CONDITIONAL, "classes": [-1]}, "class -1 is not a class"),
    ({"info": CLASS_CONDITIONAL, "classes": ["dog"]}, "classes must be class ids"),
    ({"info": {**CLASS_CONDITIONAL, "num_classes": 1000}, "classes": list(range(9))}, "9 classes: at most 8"),
    ({"info": CLASS_CONDITIONAL, "classes": [0, 1, 2], "n": 100}, "100 samples x 3 classes = 300"),
])
def test_bad_prompts_classes_and_guidance_are_refused_with_one_message(changes, message):
    with pytest.raises(InvalidSamplerConfig, match=message):
        _request(**changes)


def test_class_picker_offers_id_and_name_and_the_description_names_the_kind():
    assert app.class_choices(CLASS_CONDITIONAL) == [("0: cat", 0), ("1: dog", 1), ("2: bird", 2)]
    assert app.class_choices({"num_classes": 2, "class_names": {}}) == [("0", 0), ("1", 1)]
    line = app.describe_model({**TEXT_TO_IMAGE, "pipeline_class": "StableDiffusionPipeline", "resolved_sha": "a" * 40,
                               "default_steps": 50})
    assert line.startswith("**text-to-image** (`StableDiffusionPipeline` at `aaaaaaaaaaaa`)")
    assert "up to 4 prompts" in line and "50 steps, guidance 7.5" in line


def _check(model_id: str) -> dict:
    """check_model's outputs by name: ``info`` (Markdown) and the prompts, classes and guidance updates."""
    return dict(zip(("info", "prompts", "classes", "guidance"), app.check_model(model_id, "")))


def test_checking_a_model_on_the_hub_shows_only_the_fields_its_kind_takes(test_hub):
    text_to_image = _check("tiny/stable-diffusion")
    assert "**text-to-image**" in text_to_image["info"] and test_hub.sha("stable-diffusion")[:12] in text_to_image["info"]
    assert text_to_image["prompts"]["visible"] and not text_to_image["classes"]["visible"]
    assert text_to_image["guidance"]["visible"] and text_to_image["guidance"]["value"] > 1
    class_conditional = _check("tiny/ddpm-class-conditional")
    assert "**class-conditional**" in class_conditional["info"] and not class_conditional["prompts"]["visible"]
    assert class_conditional["classes"]["choices"] == [("0", 0), ("1", 1), ("2", 2)]  # it records no names
    assert class_conditional["classes"]["value"] == [0, 1, 2] and class_conditional["classes"]["visible"]
    assert not class_conditional["guidance"]["visible"]
    assert _check("tiny/dit")["classes"]["choices"] == [("0: cat", 0), ("1: dog", 1), ("2: bird", 2)]  # its id2label
    missing = _check("tiny/no-such-model")
    assert missing["info"].startswith("**Cannot scan this model:** repository not found: 'tiny/no-such-model'")
    assert not any(missing[name]["visible"] for name in ("prompts", "classes", "guidance"))
    assert _check("  ")["info"] == ""


@pytest.mark.parametrize(("model", "fields", "conditions"), [
    ("tiny/stable-diffusion", {"prompts": "a photo of a face\na photo of a dog"}, ["prompt 'a photo of a face'", "prompt 'a photo of a dog'"]),
    ("tiny/ddpm-class-conditional", {"classes": [0, 2]}, ["class 0", "class 2"]),
])
def test_a_conditional_model_is_scanned_per_prompt_or_class_into_gallery_and_reports(test_hub, tmp_path, model, fields, conditions):
    info = app.inspect_model(model, allow_local=False)
    request = _request(model_id=model, annotator_id="tiny/clip", n=2, steps=2, info=info, **fields)
    view = app.run_request(request, tmp_path)
    assert f"{model} @ {info['resolved_sha']}" in view.verdict
    assert len(view.samples) == 4 and all(image.width > 0 for image, _ in view.samples)
    assert [caption for _, caption in view.samples] == [f"{condition} #{index}" for condition in conditions for index in (0, 1)]
    assert {row[1] for row in view.estimates} == {*conditions, "all conditions"}, view.estimates
    assert all(Path(path).is_file() for path in view.files) and "gender" in view.model_card


def _refusal(demo: gr.Blocks, **changes) -> str:
    """The error the demo's scan step (the *Run audit* button) shows for the form ``VALID`` with ``changes``."""
    fields = {**VALID, "prompts": "", "classes": [], "guidance": None, **changes}
    audit = next(function.fn for function in demo.fns.values() if function.name == "audit")
    names = ("model_id", "revision", "presets", "custom_attributes", "annotator_id", "n", "steps", "prompts", "classes", "guidance")
    with pytest.raises(gr.Error) as refused:
        audit(*(fields[name] for name in names))
    return refused.value.message


def _nothing_loads(monkeypatch) -> list[str]:
    """Make the scan fail the test if it starts; return the models inspected (their files read, no weights)."""
    inspected = []
    monkeypatch.setattr(app, "inspect_model", lambda model, **_: inspected.append(model) or UNCONDITIONAL)
    monkeypatch.setattr(app, "scan", lambda *_, **__: pytest.fail("the scan started"))
    return inspected


@pytest.fixture
def org_name_folder(tmp_path, monkeypatch) -> str:
    """``org/name``: spelt as a Hub id, and a folder in the working directory (``tmp_path``)."""
    (tmp_path / "org" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return "org/name"


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"model_id": "/etc"}, LocalPathRefused, "model '/etc' is a path on this machine; only Hub ids"),
    ({"model_id": "."}, LocalPathRefused, "model '.' is a path on this machine"),
    ({"model_id": "org/name"}, LocalPathRefused, "model 'org/name' is a path on this machine"),
    ({"revision": "../x"}, InvalidModelReference, "not a model reference: 'org/model@../x'"),
    ({"annotator_id": "org/name"}, LocalPathRefused, "annotator model 'org/name' is a path on this machine"),
    ({"annotator_id": "/models/clip"}, InvalidAttributeSpec, "annotator model: not a model reference"),
    ({"annotator_id": "org/clip@v2:aux"}, InvalidAttributeSpec, "annotator model: not a model reference"),
    ({"custom_attributes": "x=aux:/tmp/a: a | b"}, InvalidAttributeSpec, "custom attribute name 'x=aux'"),
    ({"custom_attributes": "x=hub:org/name: a | b"}, InvalidAttributeSpec, "custom attribute name 'x=hub'"),
    ({"custom_attributes": "../x: a | b"}, InvalidAttributeSpec, "custom attribute name '../x'"),
])
def test_local_paths_in_any_field_are_refused_in_one_line_before_anything_loads(
    org_name_folder, tmp_path, monkeypatch, changes, error, message,
):
    with pytest.raises(error, match=re.escape(message)):
        _request(**changes)
    inspected = _nothing_loads(monkeypatch)
    demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache")
    shown = _refusal(demo, **changes)
    assert shown.startswith(message) and "\n" not in shown
    assert inspected == ([] if {"model_id", "revision"} & set(changes) else ["org/model"])
    assert not list((tmp_path / "work").iterdir())  # no scan folder either


def test_plain_custom_attributes_on_a_hub_annotator_are_accepted(org_name_folder):
    request = _request(presets=[], custom_attributes="x: a | b\nx.2-y_: v:a | w:b")
    assert request.attributes == ("x=clip@openai/clip-vit-base-patch32:a | b", "x.2-y_=clip@openai/clip-vit-base-patch32:v:a | w:b")


@pytest.mark.parametrize(("options", "refused"), [
    pytest.param({"attributes": ["z=aux:labelled"]}, "saved annotator 'labelled'", id="saved-annotator-folder"),
    pytest.param({"attributes": ["g=clip@org/name"]}, "model 'org/name'", id="clip-model-folder"),
    pytest.param({"attributes": ["g=hub:org/name"]}, "model 'org/name'", id="classifier-folder"),
    pytest.param({"attributes": ["z=aux"], "aux_data": "labelled"}, "data set 'labelled'", id="aux-data-folder"),
    pytest.param({"attributes": ["z=aux"], "aux_data": "org/name"}, "data set 'org/name'", id="aux-data-hub-spelt-folder"),
    pytest.param({"attributes": ["gender=clip@tiny/clip"], "training_data": "data.parquet"}, "data set 'data.parquet'",
                 id="training-data-file"),
    pytest.param({"attributes": ["gender=clip@tiny/clip", "smiling=clip@tiny/clip"], "sensitive": ["gender"],
                  "labels": ["smiling"], "reference": "data.parquet"}, "data set 'data.parquet'", id="reference-file"),
])
def test_the_api_scan_without_local_paths_refuses_each_local_input_before_sampling(
    test_hub, org_name_folder, tmp_path, options, refused,
):
    (tmp_path / "labelled").mkdir()
    (tmp_path / "data.parquet").write_bytes(b"PAR1")
    out_dir = tmp_path / "out"
    with pytest.raises(LocalPathRefused, match=f"^{refused} is a path on this machine"):
        api.scan("tiny/ddpm", n=2, steps=2, out_dir=out_dir, allow_local=False, progress=False, **options)
    assert not (out_dir / "samples").exists() or not list((out_dir / "samples").iterdir())


def test_a_model_or_annotator_over_the_size_cap_is_refused_before_the_scan(test_hub, tmp_path, monkeypatch):
    ddpm = test_hub.local_path("ddpm")
    files = [path for path in ddpm.rglob("*") if path.is_file() and ".git" not in path.relative_to(ddpm).parts]
    assert app.repo_size_bytes("tiny/ddpm") == sum(path.stat().st_size for path in files)
    assert app.repo_size_bytes("tiny/ddpm@v1") == app.repo_size_bytes("tiny/ddpm") - (ddpm / "README.md").stat().st_size
    model_bytes, annotator_bytes = app.repo_size_bytes("tiny/ddpm"), app.repo_size_bytes("tiny/clip")
    assert model_bytes < annotator_bytes
    app.check_model_sizes(["tiny/ddpm", "tiny/clip"], annotator_bytes)  # at the cap: accepted
    with pytest.raises(ModelTooLarge, match=r"^tiny/ddpm is 0\.2 MiB on the Hub, over this Space's cap of 0\.1 MiB per model"):
        app.check_model_sizes(["tiny/ddpm"], 2**17)

    monkeypatch.setattr(app, "scan", lambda *_, **__: pytest.fail("the scan started"))
    form = {"model_id": "tiny/ddpm", "annotator_id": "tiny/clip"}
    for cap, refused in [(2**17, "tiny/ddpm is 0.2 MiB on the Hub"), (model_bytes, "tiny/clip is 0.2 MiB on the Hub")]:
        demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache", max_model_bytes=cap)
        assert _refusal(demo, **form).startswith(refused)
    assert _refusal(demo, **{**form, "annotator_id": "tiny/no-such-clip"}).startswith("repository not found: 'tiny/no-such-clip'")


def test_prune_deletes_only_scan_folders_older_than_the_age(tmp_path):
    now = time.time()
    ages = {"scan-old": 7200, "scan-older": 10**6, "scan-fresh": 60, "not-a-scan": 7200, "scan-file.txt": 7200}
    for name, age in ages.items():
        path = tmp_path / name
        if name.endswith(".txt"):
            path.write_text("x")
        else:
            path.mkdir()
            (path / "report.json").write_text("{}")
        os.utime(path, (now - age, now - age))
    assert app.prune_old_scans(tmp_path, 3600, now=now) == [tmp_path / "scan-old", tmp_path / "scan-older"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["not-a-scan", "scan-file.txt", "scan-fresh"]
    assert app.prune_old_scans(tmp_path, 30, now=now) == [tmp_path / "scan-fresh"]


def _download(cache: Path, repo_id: str, age_seconds: float) -> None:
    """Download ``repo_id`` into the Hub cache ``cache`` and date its files as last read ``age_seconds`` ago."""
    snapshot = Path(snapshot_download(repo_id, cache_dir=cache))
    stamp = time.time() - age_seconds
    for path in snapshot.rglob("*"):
        if path.is_file():
            os.utime(path, (stamp, stamp))  # the blob the snapshot links to


def test_trim_deletes_the_least_recently_accessed_revisions_down_to_the_cap(test_hub, tmp_path):
    cache = tmp_path / "hub-cache"  # not the tests' cache
    for repo_id, age in [("tiny/ddpm", 3000), ("tiny/clip", 2000), ("tiny/classifier", 1000)]:
        _download(cache, repo_id, age)
    info = scan_cache_dir(cache)
    sizes = {repo.repo_id: repo.size_on_disk for repo in info.repos}
    assert app.trim_hub_cache(cache, info.size_on_disk) == []
    assert app.trim_hub_cache(cache, info.size_on_disk - 1) == [f"tiny/ddpm@{test_hub.sha('ddpm')}"]
    assert app.trim_hub_cache(cache, sizes["tiny/classifier"]) == [f"tiny/clip@{test_hub.sha('clip')}"]
    assert [repo.repo_id for repo in scan_cache_dir(cache).repos] == ["tiny/classifier"]
    assert app.trim_hub_cache(tmp_path / "no-cache", 0) == []


def test_the_demo_prunes_old_reports_at_startup_and_per_scan_and_trims_the_cache_after_each(
    test_hub, tmp_path, monkeypatch,
):
    work, cache = tmp_path / "work", tmp_path / "hub-cache"
    _download(cache, "tiny/classifier", 0)
    (work / "scan-old").mkdir(parents=True)
    os.utime(work / "scan-old", (time.time() - 120, time.time() - 120))
    demo = app.build_demo(work_root=work, cache_dir=cache, report_max_age_seconds=60, max_cache_bytes=0)
    assert not (work / "scan-old").exists()
    (work / "scan-old").mkdir()
    os.utime(work / "scan-old", (time.time() - 120, time.time() - 120))
    _nothing_loads(monkeypatch)
    assert _refusal(demo, model_id="").startswith("not a model reference")  # a refused scan prunes and trims too
    assert not (work / "scan-old").exists() and scan_cache_dir(cache).repos == frozenset()


def test_a_failed_scan_leaves_no_samples_behind(tmp_path, monkeypatch):
    def failing_scan(model, *, out_dir, **_):
        (out_dir / "samples").mkdir()
        (out_dir / "samples" / "shard.npy").write_bytes(b"x")
        raise InvalidSamplerConfig("sampling failed")

    monkeypatch.setattr(app, "scan", failing_scan)
    with pytest.raises(InvalidSamplerConfig):
        app.run_request(_request(), tmp_path)
    assert [list(folder.iterdir()) for folder in tmp_path.glob("scan-*")] == [[]]
