"""The Space checks every field of its forms before anything loads and keeps within its limits; its labelling tab
works only on the page's own live scan and re-estimates with the labels given; its fairness tab shows the signature
(the browser test drives the rest)."""

from __future__ import annotations

import json
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
    InvalidLabelMapping,
    InvalidModelReference,
    InvalidSamplerConfig,
    LocalPathRefused,
    ModelTooLarge,
    ScanNotAvailable,
    TooFewSamples,
)
from report_examples import full_report
from write_hub import serve_write_hub

sys.path.insert(
    0, str(Path(__file__).resolve().parents[1] / "space_app")
)  # its modules import each other by file name
import app  # noqa: E402
import fairness_tab  # noqa: E402
import form_checks  # noqa: E402
import hosting  # noqa: E402
import labelling_tab  # noqa: E402
import scan_tab  # noqa: E402

VALID = {
    "model_id": "org/model",
    "revision": "",
    "presets": ["gender"],
    "custom_attributes": "",
    "annotator_id": "openai/clip-vit-base-patch32",
    "n": 64,
    "steps": 50,
}


def _request(**changes):
    return form_checks.scan_request(**{**VALID, **changes})


def test_presets_and_custom_prompts_become_clip_attributes_on_the_annotator_model():
    request = _request(
        presets=["gender", "smiling"],
        annotator_id="org/clip@v2",
        custom_attributes="\n  digit: a photo of a zero | a photo of a one \n",
    )
    assert request == form_checks.ScanRequest(
        "org/model",
        (
            "gender=clip@org/clip@v2",
            "smiling=clip@org/clip@v2",
            "digit=clip@org/clip@v2:a photo of a zero | a photo of a one",
        ),
        64,
        50,
    )


def test_revision_is_pinned_on_the_model_id():
    assert _request(revision=" v1.0 ").model == "org/model@v1.0"
    assert _request(revision="refs/pr/1").model == "org/model@refs/pr/1"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
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
    ],
)
def test_bad_fields_are_refused_with_a_message_naming_them(changes, error, message):
    with pytest.raises(error, match=message.replace("|", r"\|")):
        _request(**changes)


TEXT_TO_IMAGE = {"kind": "text-to-image", "num_classes": None, "class_names": {}, "default_guidance": 7.5}
CLASS_CONDITIONAL = {
    "kind": "class-conditional",
    "num_classes": 3,
    "class_names": {0: "cat", 1: "dog", 2: "bird"},
    "default_guidance": None,
}
UNCONDITIONAL = {"kind": "unconditional", "num_classes": None, "class_names": {}, "default_guidance": None}


def test_prompts_are_read_one_per_line_for_a_text_to_image_model():
    request = _request(
        info=TEXT_TO_IMAGE,
        prompts="\n a photo of a doctor \n\na photo of a nurse\na photo of a doctor\n",
        guidance=3,
        n=32,
    )
    assert (request.prompts, request.classes, request.guidance_scale, request.n) == (
        ("a photo of a doctor", "a photo of a nurse"),
        (),
        3.0,
        32,
    )


def test_classes_are_read_as_ids_for_a_class_conditional_model():
    request = _request(info=CLASS_CONDITIONAL, classes=[2, "0: cat", 2], guidance=5)
    assert (request.classes, request.prompts, request.guidance_scale) == ((2, 0), (), None)  # it takes no guidance


def test_hidden_fields_of_another_kind_are_ignored():
    request = _request(info=UNCONDITIONAL, prompts="a photo", classes=[1], guidance=2)
    assert (request.prompts, request.classes, request.guidance_scale) == ((), (), None)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
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
    ],
)
def test_bad_prompts_classes_and_guidance_are_refused_with_one_message(changes, message):
    with pytest.raises(InvalidSamplerConfig, match=message):
        _request(**changes)


def test_class_picker_offers_id_and_name_and_the_description_names_the_kind():
    assert form_checks.class_choices(CLASS_CONDITIONAL) == [("0: cat", 0), ("1: dog", 1), ("2: bird", 2)]
    assert form_checks.class_choices({"num_classes": 2, "class_names": {}}) == [("0", 0), ("1", 1)]
    line = form_checks.describe_model(
        {**TEXT_TO_IMAGE, "pipeline_class": "StableDiffusionPipeline", "resolved_sha": "a" * 40, "default_steps": 50},
        scan_tab.SCAN_ASKS,
    )
    assert line.startswith("**text-to-image** (`StableDiffusionPipeline` at `aaaaaaaaaaaa`)")
    assert "up to 4 prompts" in line and "50 steps, guidance 7.5" in line


def _check(model_id: str) -> dict:
    """check_model's outputs by name: ``info`` (Markdown) and the prompts, classes and guidance updates."""
    return dict(zip(("info", "prompts", "classes", "guidance"), scan_tab.check_model(model_id, "")))


def test_checking_a_model_on_the_hub_shows_only_the_fields_its_kind_takes(test_hub):
    text_to_image = _check("tiny/stable-diffusion")
    assert (
        "**text-to-image**" in text_to_image["info"] and test_hub.sha("stable-diffusion")[:12] in text_to_image["info"]
    )
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


@pytest.mark.parametrize(
    ("model", "fields", "conditions"),
    [
        (
            "tiny/stable-diffusion",
            {"prompts": "a photo of a face\na photo of a dog"},
            ["prompt 'a photo of a face'", "prompt 'a photo of a dog'"],
        ),
        ("tiny/ddpm-class-conditional", {"classes": [0, 2]}, ["class 0", "class 2"]),
    ],
)
def test_a_conditional_model_is_scanned_per_prompt_or_class_into_gallery_and_reports(
    test_hub, tmp_path, model, fields, conditions
):
    info = api.inspect_model(model, allow_local=False).to_dict()
    request = _request(model_id=model, annotator_id="tiny/clip", n=2, steps=2, info=info, **fields)
    view = scan_tab.run_request(request, tmp_path)
    assert f"{model} @ {info['resolved_sha']}" in view.verdict
    assert len(view.samples) == 4 and all(image.width > 0 for image, _ in view.samples)
    assert [caption for _, caption in view.samples] == [
        f"{condition} #{index}" for condition in conditions for index in (0, 1)
    ]
    assert {row[1] for row in view.estimates} == {*conditions, "all conditions"}, view.estimates
    assert all(Path(path).is_file() for path in view.files) and "gender" in view.model_card


def _refusal(demo: gr.Blocks, **changes) -> str:
    """The error the demo's scan step (the *Run audit* button) shows for the form ``VALID`` with ``changes``."""
    fields = {**VALID, "prompts": "", "classes": [], "guidance": None, **changes}
    audit = _demo_fn(demo, "audit")
    names = (
        "model_id",
        "revision",
        "presets",
        "custom_attributes",
        "annotator_id",
        "n",
        "steps",
        "prompts",
        "classes",
        "guidance",
    )
    with pytest.raises(gr.Error) as refused:
        audit(*(fields[name] for name in names))
    return refused.value.message


def _demo_fn(demo: gr.Blocks, name: str):
    """The function of the demo's event handler named ``name``."""
    return next(function.fn for function in demo.fns.values() if function.name == name)


def _nothing_loads(monkeypatch) -> list[str]:
    """Make the scan fail the test if it starts; return the models inspected (their files read, no weights)."""
    inspected = []
    info = api.ModelInfo(reference="org/model", resolved_sha="0" * 40, pipeline_class="DDPMPipeline", **UNCONDITIONAL)
    monkeypatch.setattr(scan_tab, "inspect_model", lambda model, **_: inspected.append(model) or info)
    monkeypatch.setattr(scan_tab, "scan", lambda *_, **__: pytest.fail("the scan started"))
    return inspected


@pytest.fixture
def org_name_folder(tmp_path, monkeypatch) -> str:
    """``org/name``: spelt as a Hub id, and a folder in the working directory (``tmp_path``)."""
    (tmp_path / "org" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return "org/name"


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
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
    ],
)
def test_local_paths_in_any_field_are_refused_in_one_line_before_anything_loads(
    org_name_folder,
    tmp_path,
    monkeypatch,
    changes,
    error,
    message,
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
    assert request.attributes == (
        "x=clip@openai/clip-vit-base-patch32:a | b",
        "x.2-y_=clip@openai/clip-vit-base-patch32:v:a | w:b",
    )


@pytest.mark.parametrize(
    ("options", "refused"),
    [
        pytest.param({"attributes": ["z=aux:labelled"]}, "saved annotator 'labelled'", id="saved-annotator-folder"),
        pytest.param({"attributes": ["g=clip@org/name"]}, "model 'org/name'", id="clip-model-folder"),
        pytest.param({"attributes": ["g=hub:org/name"]}, "model 'org/name'", id="classifier-folder"),
        pytest.param({"attributes": ["z=aux"], "aux_data": "labelled"}, "data set 'labelled'", id="aux-data-folder"),
        pytest.param(
            {"attributes": ["z=aux"], "aux_data": "org/name"}, "data set 'org/name'", id="aux-data-hub-spelt-folder"
        ),
        pytest.param(
            {"attributes": ["gender=clip@tiny/clip"], "training_data": "data.parquet"},
            "data set 'data.parquet'",
            id="training-data-file",
        ),
        pytest.param(
            {
                "attributes": ["gender=clip@tiny/clip", "smiling=clip@tiny/clip"],
                "sensitive": ["gender"],
                "labels": ["smiling"],
                "reference": "data.parquet",
            },
            "data set 'data.parquet'",
            id="reference-file",
        ),
    ],
)
def test_the_api_scan_without_local_paths_refuses_each_local_input_before_sampling(
    test_hub,
    org_name_folder,
    tmp_path,
    options,
    refused,
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
    assert hosting.repo_size_bytes("tiny/ddpm") == sum(path.stat().st_size for path in files)
    assert (
        hosting.repo_size_bytes("tiny/ddpm@v1")
        == hosting.repo_size_bytes("tiny/ddpm") - (ddpm / "README.md").stat().st_size
    )
    model_bytes, annotator_bytes = hosting.repo_size_bytes("tiny/ddpm"), hosting.repo_size_bytes("tiny/clip")
    assert model_bytes < annotator_bytes
    hosting.check_model_sizes(["tiny/ddpm", "tiny/clip"], annotator_bytes)  # at the cap: accepted
    with pytest.raises(
        ModelTooLarge, match=r"^tiny/ddpm is 0\.2 MiB on the Hub, over this Space's cap of 0\.1 MiB per model"
    ):
        hosting.check_model_sizes(["tiny/ddpm"], 2**17)

    monkeypatch.setattr(scan_tab, "scan", lambda *_, **__: pytest.fail("the scan started"))
    form = {"model_id": "tiny/ddpm", "annotator_id": "tiny/clip"}
    for cap, refused in [(2**17, "tiny/ddpm is 0.2 MiB on the Hub"), (model_bytes, "tiny/clip is 0.2 MiB on the Hub")]:
        demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache", max_model_bytes=cap)
        assert _refusal(demo, **form).startswith(refused)
    assert _refusal(demo, **{**form, "annotator_id": "tiny/no-such-clip"}).startswith(
        "repository not found: 'tiny/no-such-clip'"
    )


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
    assert hosting.prune_old_scans(tmp_path, 3600, now=now) == [tmp_path / "scan-old", tmp_path / "scan-older"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["not-a-scan", "scan-file.txt", "scan-fresh"]
    assert hosting.prune_old_scans(tmp_path, 30, now=now) == [tmp_path / "scan-fresh"]


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
    assert hosting.trim_hub_cache(cache, info.size_on_disk) == []
    assert hosting.trim_hub_cache(cache, info.size_on_disk - 1) == [f"tiny/ddpm@{test_hub.sha('ddpm')}"]
    assert hosting.trim_hub_cache(cache, sizes["tiny/classifier"]) == [f"tiny/clip@{test_hub.sha('clip')}"]
    assert [repo.repo_id for repo in scan_cache_dir(cache).repos] == ["tiny/classifier"]
    assert hosting.trim_hub_cache(tmp_path / "no-cache", 0) == []


def test_the_demo_prunes_old_reports_at_startup_and_per_scan_and_trims_the_cache_after_each(
    test_hub,
    tmp_path,
    monkeypatch,
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

    monkeypatch.setattr(scan_tab, "scan", failing_scan)
    with pytest.raises(InvalidSamplerConfig):
        scan_tab.run_request(_request(), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_custom_attribute_gets_no_more_values_than_the_labelling_tab_has_buttons():
    prompts = " | ".join(f"v{index}: prompt {index}" for index in range(9))
    with pytest.raises(InvalidAttributeSpec, match="custom attribute many has 9 values: at most 8"):
        _request(custom_attributes=f"many: {prompts}")


# --- fairness form -----------------------------------------------------------------------------

FAIR = {**VALID, "custom_attribute": "", "n": 32}
del FAIR["custom_attributes"]


def _fairness(**changes):
    return form_checks.fairness_request(**{**FAIR, **changes})


def test_fairness_labels_are_read_off_label_prompts_or_a_class_map():
    request = _fairness(
        info=TEXT_TO_IMAGE, label_prompts="1=a photo of a doctor\n\n0=a photo of a nurse\n", guidance=2
    )
    assert request.scan_arguments() == {
        "n": 32,
        "steps": 50,
        "attributes": ["gender=clip@openai/clip-vit-base-patch32"],
        "sensitive": ["gender"],
        "labels": ["label"],
        "label_prompts": {"a photo of a doctor": 1, "a photo of a nurse": 0},
        "classes": None,
        "label_map": None,
        "guidance_scale": 2.0,
    }
    request = _fairness(
        info=CLASS_CONDITIONAL, class_map=" 0=0,2=1 ", presets=[], custom_attribute="tint: a red | a green"
    )
    assert (request.classes, dict(request.label_map), request.sensitive) == (
        (0, 2),
        {0: 0, 2: 1},
        "tint=clip@openai/clip-vit-base-patch32:a red | a green",
    )
    two_classes = _fairness(info={**CLASS_CONDITIONAL, "num_classes": 2})  # its classes are the labels
    assert (two_classes.classes, two_classes.scan_arguments()["label_map"]) == ((0, 1), None)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        (
            {"presets": ["gender", "smiling"]},
            InvalidAttributeSpec,
            "choose one sensitive attribute, a preset or one custom CLIP attribute (got 2)",
        ),
        (
            {"presets": [], "custom_attribute": "x: a | b\ny: c | d"},
            InvalidAttributeSpec,
            "choose one sensitive attribute",
        ),
        ({"presets": []}, InvalidAttributeSpec, "got 0"),
        ({"annotator_id": "/models/clip"}, InvalidAttributeSpec, "annotator model: not a model reference"),
        (
            {"info": UNCONDITIONAL},
            InvalidLabelMapping,
            "org/model is unconditional: the Fairness tab reads the label off prompts or classes",
        ),
        (
            {"info": CLASS_CONDITIONAL},
            InvalidLabelMapping,
            "org/model has 3 classes: map the ones to scan to labels 0 and 1",
        ),
        ({"info": CLASS_CONDITIONAL, "class_map": "0=0,1=2"}, InvalidLabelMapping, "expected CLASS=LABEL"),
        (
            {"info": CLASS_CONDITIONAL, "class_map": "0=0,5=1"},
            InvalidSamplerConfig,
            "class 5 is not a class of org/model",
        ),
        (
            {"info": CLASS_CONDITIONAL, "class_map": "0=0,1=0,2=1", "n": 100},
            InvalidSamplerConfig,
            "100 samples x 3 classes = 300",
        ),
        (
            {"info": TEXT_TO_IMAGE},
            InvalidSamplerConfig,
            "enter at least one prompt (LABEL=PROMPT, one per line, labels 0 and 1)",
        ),
        (
            {"info": TEXT_TO_IMAGE, "label_prompts": "a photo of a doctor"},
            InvalidLabelMapping,
            "expected LABEL=PROMPT",
        ),
        (
            {"info": TEXT_TO_IMAGE, "label_prompts": "1=a\n0=b\n1=c\n0=d\n1=e"},
            InvalidSamplerConfig,
            "5 prompts: at most 4",
        ),
        (
            {"info": TEXT_TO_IMAGE, "label_prompts": "1=a\n0=b", "guidance": 25},
            InvalidSamplerConfig,
            "guidance scale must be from 0 to 20",
        ),
        (
            {"info": TEXT_TO_IMAGE, "label_prompts": "1=a\n0=b", "steps": 0},
            InvalidSamplerConfig,
            "steps must be a whole number",
        ),
        ({"model_id": "/etc", "info": TEXT_TO_IMAGE}, LocalPathRefused, "model '/etc' is a path on this machine"),
    ],
)
def test_bad_fairness_fields_are_refused_with_a_message_naming_them(changes, error, message):
    with pytest.raises(error, match=re.escape(message)):
        _fairness(**changes)


def test_a_fairness_form_that_does_not_fit_the_model_is_refused_before_anything_loads(tmp_path, monkeypatch):
    inspected = _nothing_loads(monkeypatch)
    demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache")
    with pytest.raises(gr.Error) as refused:
        _demo_fn(demo, "audit_fairness")("org/model", "", ["gender"], "", "tiny/clip", 4, 2, "", "", None)
    assert refused.value.message.startswith("org/model is unconditional: the Fairness tab") and inspected == [
        "org/model"
    ]
    assert not list((tmp_path / "work").iterdir())


PAIR = {
    "sensitive": "gender",
    "label": "label",
    "group_names": ["female", "male"],
    "label_values": ["0", "1"],
    "by_source": {
        "generated": {
            "table": [[3, 1], [0, 0]],
            "positive_rates": {"female": {"value": 0.25, "low": 0.01, "high": 0.81}},
            "dp_gap": None,
            "dp_gap_undefined": "sensitive group(s) 'male' have no samples",
        },
        "declared": {"source": "model card", "dp_gap": 0.05},
    },
    "corrected": {
        "confusion": "overall calibration",
        "shares_by_label": {
            "0": {"female": {"value": 0.9, "low": 0.7, "high": 1.0}, "male": {"value": 0.1, "low": 0.0, "high": 0.3}}
        },
        "positive_rates": {
            "female": {"value": 0.3, "low": 0.1, "high": 0.5},
            "male": {"value": 0.2, "low": 0.0, "high": 0.6},
        },
        "dp_gap": {"value": 0.1, "low": 0.0, "high": 0.4},
    },
    "other_pairs": [
        {
            "sensitive": "age",
            "label": "label",
            "group_names": ["young"],
            "by_source": {},
            "corrected": {"unavailable": "the annotator of age is not calibrated"},
        }
    ],
}


def test_fairness_figures_give_rates_and_gaps_as_annotated_declared_and_corrected_or_why_not():
    rows = {(pair, data, figure): value for pair, data, figure, value in fairness_tab.figure_rows(PAIR)}
    assert rows[("gender/label", "generated, as annotated", "P(label=1 | gender=female)")] == "0.250 [0.010, 0.810]"
    assert rows[("gender/label", "generated, as annotated", "P(label=1 | gender=male)")] == "undefined: no samples"
    assert rows[("gender/label", "generated, as annotated", "demographic-parity gap")] == (
        "undefined: sensitive group(s) 'male' have no samples"
    )
    assert rows[("gender/label", "declared in the model card", "demographic-parity gap")] == "0.050"
    corrected = "generated, corrected (overall calibration)"
    assert rows[("gender/label", corrected, "P(gender=male | label=0)")] == "0.100 [0.000, 0.300]"
    assert rows[("gender/label", corrected, "P(label=1 | gender=male)")] == "0.200 [0.000, 0.600]"
    assert rows[("gender/label", corrected, "demographic-parity gap")] == "0.100 [0.000, 0.400]"
    assert (
        rows[("age/label", "corrected for annotator errors", "not available")]
        == "the annotator of age is not calibrated"
    )
    assert fairness_tab.figure_rows({}) == []


def test_a_fairness_scan_shows_its_verdict_heat_map_figures_and_reports(test_hub, tmp_path):
    demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache")
    verdict, heatmap, figures, files = _demo_fn(demo, "audit_fairness")(
        "tiny/ddpm-class-conditional", "", ["gender"], "", "tiny/clip", 4, 2, "", "0=0, 1=0, 2=1", None
    )
    assert (
        f"tiny/ddpm-class-conditional @ {test_hub.sha('ddpm-class-conditional')}" in verdict
        and "12 samples" in verdict
    )
    assert "Y (label) read off: 0 -> 0; 1 -> 0; 2 -> 1. Intervals at 95%." in verdict
    outcome = re.search(
        r"- \*\*(finding|no finding|inconclusive|not tested)\*\* \(fairness, gender/label\): \S", verdict
    )
    assert outcome and "  - next: " in verdict  # the pair's outcome, its verdict line and next step
    assert "Criteria of gender/label: a finding is " in verdict
    assert heatmap.width > 200  # the S x Y heat map
    shown = {(data, figure) for _, data, figure, _ in figures}
    assert {
        ("generated, as annotated", "P(label=1 | gender=female)"),
        ("generated, as annotated", "demographic-parity gap"),
        ("corrected for annotator errors", "not available"),
    } <= shown  # CLIP has no calibration to correct with
    (folder,) = (tmp_path / "work").glob("scan-*")
    assert files == [str(folder / "report.json"), str(folder / "report.html")] and all(
        Path(path).is_file() for path in files
    )
    assert not (folder / "samples").exists()  # nothing labels a fairness scan: its samples go once rendered


# --- labelling ---------------------------------------------------------------------------------

LABEL_SCAN = {"model_id": "tiny/ddpm", "annotator_id": "tiny/clip", "n": 6, "steps": 2}


@pytest.fixture
def labelled_scan(test_hub, tmp_path):
    """A host, and this page's session after a scan of tiny/ddpm (6 samples, gender on tiny/clip) in its work folder."""
    host = hosting.Host((tmp_path / "work").resolve(), tmp_path / "hub-cache")
    host.work_root.mkdir()
    request = _request(**LABEL_SCAN, info=api.inspect_model("tiny/ddpm", allow_local=False).to_dict())
    folder = host.new_scan_folder()
    scan_tab.run_request(request, folder)
    return host, scan_tab.ScanSession(folder, request)


def _view(host, session, count=3) -> labelling_tab.LabellingView:
    return labelling_tab.labelling_view(host.scan_folder(session.folder), "gender", 0, count)


def test_labelling_follows_the_plan_with_a_button_per_value_undo_and_resume(labelled_scan):
    host, session = labelled_scan
    attribute, condition, count, summary, table, progress, image, *buttons, shown = labelling_tab.setup(host, session)
    assert (summary, table) == ("", None)  # no re-estimate of an earlier scan beside this one
    assert (attribute["choices"], attribute["value"]) == (["gender"], "gender")
    assert (condition["choices"], condition["value"]) == ([("unconditional", 0)], 0)
    assert (count["maximum"], count["value"]) == (5, 5)  # one sample stays unlabelled: PPI needs it
    assert progress.startswith("**0 of 5 labelled** (gender, unconditional). Which gender is sample #")
    assert image["visible"] and image["value"].size == (16 * 24, 16 * 24)  # 16 pixels enlarged, kept sharp
    assert [button.get("value") for button in buttons if button["visible"]] == ["female", "male"]
    assert len(buttons) == form_checks.MAX_ATTRIBUTE_VALUES

    folder = session.folder
    first = _view(host, session).index
    labelling_tab.record_label(folder, "gender", 0, 3, first, code=1)
    labelling_tab.record_label(
        folder, "gender", 0, 3, first, code=0
    )  # a second click on the same sample: no unseen label
    second = _view(host, session)
    assert second.progress.startswith("**1 of 3 labelled**") and second.index != first
    labelling_tab.record_label(folder, "gender", 0, 3, second.index, code=0)
    labelling_tab.undo_label(folder, "gender", 0, 3)
    assert _view(host, session).index == second.index and _view(host, session).progress.startswith(
        "**1 of 3 labelled**"
    )
    ((_, gold, _),) = api.gold_labels(folder, attribute="gender", n=3)  # as a new page (or the CLI) finds them
    assert gold.labels[first][:2] == ("male", "space visitor") and list(gold.labels) == [first]
    for _ in range(2):
        labelling_tab.record_label(folder, "gender", 0, 3, _view(host, session).index, code=1)
    done = _view(host, session)
    assert done.progress.startswith("**3 of 3 labelled** (gender, unconditional): all done") and done.image is None
    assert done.values == () and done.index is None


@pytest.mark.parametrize(
    ("attribute", "position", "count", "message"),
    [
        ("smiling", 0, 3, "attribute 'smiling' is not one of this scan's (gender)"),
        ("gender", 1, 3, "condition 1: this scan has 1 condition(s), numbered from 0"),
        ("gender", 0, 6, "samples to label must be a whole number from 1 to 5"),
    ],
)
def test_labelling_fields_outside_the_scan_are_refused(labelled_scan, attribute, position, count, message):
    host, session = labelled_scan
    with pytest.raises((InvalidAttributeSpec, InvalidSamplerConfig), match=re.escape(message)):
        labelling_tab.labelling_view(session.folder, attribute, position, count)


def test_reestimating_with_gold_labels_shows_ppi_beside_the_estimate_without_them(labelled_scan):
    host, session = labelled_scan
    with pytest.raises(TooFewSamples, match="label at least 2 samples of a condition first"):
        labelling_tab.reestimate(host, session)
    for code in (0, 1, 0):
        labelling_tab.record_label(session.folder, "gender", 0, 3, _view(host, session).index, code=code)
    first_report = (session.folder / "report.json").read_text()
    summary, rows, (verdict, estimates, *_, files, model_card) = labelling_tab.reestimate(host, session)
    assert summary.startswith("Re-estimated with 3 gold labels on 1 attribute and condition pair(s)")
    assert [row[:3] for row in rows] == [["gender", "unconditional", "female"], ["gender", "unconditional", "male"]]
    assert all(re.fullmatch(r"\d\.\d{3} \[\d\.\d{3}, \d\.\d{3}\]", row[3]) for row in rows), rows
    assert [row[5:7] for row in rows] == [["classify_and_count", 3]] * 2 and all(row[7] > 0 for row in rows)
    assert {row[-1] for row in estimates} == {"ppi"}  # the primary estimate of a single condition with gold labels
    report = api.read_report(files[0])
    assert Path(files[0]).parent == session.folder / "gold-estimate" and "--gold" in report.command
    assert [(samples["generated"], samples["reused"]) for samples in report.samples] == [(0, 6)]  # no resampling
    assert (session.folder / "report.json").read_text() == first_report  # the scan's own report stays as it was


def test_an_expired_or_missing_scan_gives_one_line_and_no_other_folder_is_read(tmp_path):
    demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache", report_max_age_seconds=60)
    old = tmp_path / "work" / "scan-old"
    old.mkdir()
    (old / "report.json").write_text("{}")
    os.utime(old, (time.time() - 120, time.time() - 120))
    outside = tmp_path / "scan-elsewhere"  # a folder this Space did not make
    outside.mkdir()
    (outside / "report.json").write_text("{}")
    request = _request()
    label_step = _demo_fn(demo, "handler")
    for session, message in [
        (None, "no scan yet: run one in the Scan tab first"),
        (scan_tab.ScanSession(old, request), "this scan has expired; run it again"),
        (scan_tab.ScanSession(outside, request), "this scan has expired; run it again"),
    ]:
        with pytest.raises(gr.Error) as refused:
            label_step(session, "gender", 0, 3)
        assert refused.value.message == message
        with pytest.raises(gr.Error) as refused:
            _demo_fn(demo, "reestimate_labels")(session)
        assert refused.value.message == message
    assert not old.exists() and (outside / "report.json").read_text() == "{}"
    host = hosting.Host((tmp_path / "work").resolve(), tmp_path / "hub-cache")
    with pytest.raises(ScanNotAvailable):
        host.scan_folder(old)
    *_, progress, image = labelling_tab.setup(host, scan_tab.ScanSession(old, request))[:7]
    assert progress == "this scan has expired; run it again" and not image["visible"]


def test_the_scan_tab_plans_the_samples_a_verdict_needs_before_a_scan(tmp_path):
    fields = ("privacy", "0.3,0.3", 0.1, 0.1, 1000, "0.02,0.02")
    shown = scan_tab.plan_markdown(*fields, trials=30)
    lines = shown.splitlines()
    assert lines[0].startswith("- plan privacy self-audit of '1'")
    assert any(
        line.startswith("- finding when the model is faithful") and "samples per condition (power 0." in line
        for line in lines
    )
    same = api.plan(
        "privacy",
        effect="0.3,0.3",
        max_property_error=0.1,
        calibration_per_class=1000,
        annotator_error="0.02,0.02",
        trials=30,
    )
    assert shown == "\n".join(
        f"- {' '.join(line.split())}" for line in same.lines()
    )  # the numbers hubaudit plan prints
    demo = app.build_demo(work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache")
    with pytest.raises(gr.Error) as refused:
        _demo_fn(demo, "planned")("fairness", "0.3;0.5", 0.1, 0.05, 1000, "0.05,0.05")
    assert (
        refused.value.message.startswith("--effect takes comma-separated numbers")
        and "\n" not in refused.value.message
    )


PUBLISHED_SHA = "abc123" + "0" * 34


@pytest.fixture
def published_scan(tmp_path):
    """A demo publishing to a write Hub holding ``org/model``, and this page's scan of it (a finished scan folder)."""
    with serve_write_hub() as hub:
        hub.add_repo("org/model", PUBLISHED_SHA, "# A model\n")
        demo = app.build_demo(
            work_root=tmp_path / "work", cache_dir=tmp_path / "hub-cache", publish_endpoint=hub.endpoint
        )
        folder = tmp_path / "work" / "scan-1"
        report = full_report(folder)
        report["model"]["resolved_sha"] = PUBLISHED_SHA
        (folder / "report.json").write_text(json.dumps(report))
        yield demo, hub, scan_tab.ScanSession(folder, _request(model_id="org/model"))


def test_publish_box_previews_then_opens_the_pull_request_previewed_with_the_visitors_token(published_scan):
    demo, hub, session = published_scan
    preview, publish_now = _demo_fn(demo, "preview_publish"), _demo_fn(demo, "publish_now")
    signed_in = gr.OAuthToken(token="hf_visitor", scope="write-repos", expires_at=0)
    shown, previewed = preview(session, "", "pull request", "", signed_in)
    assert "Dry run: nothing written yet" in shown and "+<!-- hubaudit:begin -->" in shown
    assert f"`hubaudit/{PUBLISHED_SHA}/report.json`" in shown and hub.arrivals == []
    line, cleared = publish_now(session, previewed, "", "pull request", "", signed_in)
    (commit,) = hub.arrivals
    assert (
        commit.create_pr
        and commit.parent_commit == PUBLISHED_SHA
        and f"hubaudit/{PUBLISHED_SHA}/report.html" in commit.files
    )
    assert (
        line == f"Published: [pull request on org/model]({hub.endpoint}/org/model/discussions/1)" and cleared is None
    )


def test_publish_box_posts_a_discussion_with_a_pasted_token(published_scan):
    demo, hub, session = published_scan
    preview, publish_now = _demo_fn(demo, "preview_publish"), _demo_fn(demo, "publish_now")
    shown, previewed = preview(session, "org/model", "discussion", " hf_pasted ", None)
    assert "## Privacy and fairness audit" in shown and hub.arrivals == []
    publish_now(session, previewed, "org/model", "discussion", "hf_pasted", None)
    (posted,) = hub.arrivals
    assert posted.kind == "discussion" and "## Privacy and fairness audit" in posted.description


def test_publish_box_needs_the_visitors_token_and_a_matching_preview(published_scan, monkeypatch):
    demo, hub, session = published_scan
    preview, publish_now = _demo_fn(demo, "preview_publish"), _demo_fn(demo, "publish_now")
    monkeypatch.setenv("HF_TOKEN", "hf_the_spaces_own")  # never used for a visitor
    with pytest.raises(gr.Error, match="sign in with Hugging Face"):
        preview(session, "", "pull request", "", None)
    _, previewed = preview(session, "", "discussion", "hf_pasted", None)
    for changed in (None, "pull request"):
        with pytest.raises(gr.Error, match="preview first"):
            publish_now(session, previewed if changed else None, "", changed or "discussion", "hf_pasted", None)
    hub.refusals["org/model"] = 403
    with pytest.raises(gr.Error, match="cannot post a discussion on org/model: HTTP 403"):
        publish_now(session, previewed, "", "discussion", "hf_pasted", None)
    assert hub.arrivals == []
