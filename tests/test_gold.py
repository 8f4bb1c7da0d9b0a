"""Gold labels: ``hubaudit label`` records a person's values for a planned random subset of a scan's samples, and
``hubaudit scan --gold`` turns them into prediction-powered estimates that hold whatever the annotator's error."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest

import hubaudit
from hubaudit.api import gold_labels
from hubaudit.audit.properties.gold import GoldLabels, labelling_plan, plan_seed
from hubaudit.cli import main
from hubaudit.errors import InvalidGoldLabels
from hubaudit.sampling import SampleStore, open_sample_store
from tiny_models import constant_annotator

SCAN = {"n": 40, "batch_size": 20, "steps": 2, "progress": False}


@pytest.fixture(scope="module")
def scanned(test_hub, tmp_path_factory):
    """A scan of tiny/ddpm with an annotator that says is_zero=1 for every image (calibrated as 95% accurate)."""
    root = tmp_path_factory.mktemp("gold")
    annotator = constant_annotator(root / "always-one", confusion=[[95, 5], [5, 95]])
    out = root / "scan"
    hubaudit.scan("tiny/ddpm", out_dir=out, attributes=[f"is_zero=aux:{annotator}"], **SCAN)
    return {"out": out, "annotator": annotator, "report": json.loads((out / "report.json").read_text())}


def store_plan(store, n: int, *, pool: int = 40):
    """The first ``n`` of the labelling plan of ``store``'s samples ``0..pool-1``: the one its digest fixes."""
    return labelling_plan(pool, n, seed=plan_seed(store.path.name))


def label(target, answers: str, monkeypatch, capsys, *words: str, attribute: str = "is_zero") -> tuple[int, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(answers))
    code = main(["label", str(target), "--attribute", attribute, *words])
    return code, capsys.readouterr().out


def test_labelling_follows_a_recorded_random_plan_with_undo_and_resumes_where_it_stopped(
    scanned, tmp_path, monkeypatch, capsys
):
    code, out = label(scanned["out"], "1\n0\nu\n1\nq\n", monkeypatch, capsys, "-n", "6")
    ((condition, gold, store),) = gold_labels(scanned["out"], attribute="is_zero", n=6)
    plan = store_plan(store, 6)
    assert code == 0 and "undid sample" in out and str(gold.path) in out
    assert list(gold.labels) == plan[:2].tolist() and [gold.labels[int(i)][0] for i in plan[:2]] == ["1", "1"]
    assert gold.path.parent == store.path.parent and gold.path.name.startswith(store.path.name)

    code, out = label(scanned["out"], "0\n0\n1\n1\n", monkeypatch, capsys, "-n", "6")  # the rest of the plan
    gold = GoldLabels.read(gold.path)
    assert code == 0 and gold.next_index() is None and list(gold.labels) == plan.tolist()
    assert sorted(gold.labels) == sorted(set(plan.tolist())) and set(plan) < set(range(40))
    assert store_plan(store, 10)[:6].tolist() == plan.tolist()  # asking for more extends the same plan


def test_a_store_folder_needs_the_values_and_shows_each_sample_as_a_png(scanned, tmp_path, monkeypatch, capsys):
    store = open_sample_store(scanned["report"]["samples"][0]["store_path"])
    code, out = label(
        store.path,
        "abc\n1\n",
        monkeypatch,
        capsys,
        "--values",
        "0,1",
        "-n",
        "1",
        "--preview",
        str(tmp_path / "now.png"),
        attribute="smiling",
    )
    index = int(store_plan(store, 1)[0])
    assert code == 0 and "'abc' is not a value" in out
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(tmp_path / "now.png")), store.load(40)[index])
    assert np.array_equal(store.image(index), store.load(40)[index])


def write_gold(store, values_by_index: dict[int, str], *, pool=40) -> GoldLabels:
    gold = GoldLabels.open(store, "is_zero", ("0", "1"), n=len(values_by_index), pool=pool)
    for index in gold.plan:
        gold.record(int(index), values_by_index[int(index)], labeller="test")
    return gold


def test_scan_with_gold_labels_makes_the_prediction_powered_estimate_primary(scanned, tmp_path):
    attributes = [f"is_zero=aux:{scanned['annotator']}"]
    first = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, attributes=attributes, **SCAN).to_dict()
    store = open_sample_store(first["samples"][0]["store_path"])
    truth = {
        int(index): "1" if position % 4 == 0 else "0" for position, index in enumerate(store_plan(store, 20))
    }  # 5 zeros
    gold = write_gold(store, truth)
    report = hubaudit.scan("tiny/ddpm", out_dir=tmp_path, attributes=attributes, gold=[gold.path], **SCAN).to_dict()
    attribute = report["properties"]["attributes"][0]
    entry = attribute["by_condition"][0]
    powered = entry["estimates"]["ppi"]["1"]
    # The annotator says 1 for everything: its labels carry no information, and PPI falls back on the gold labels.
    assert attribute["primary_method"] == "ppi" and powered["method"] == "ppi++" and powered["n"] == 20
    assert powered["low"] <= 0.25 <= powered["high"] and abs(powered["value"] - 0.25) < 0.05
    assert entry["estimates"]["corrected"]["1"]["value"] > 0.9  # the calibration's view, off on these samples
    assert entry["gold"]["used"] == 20 and entry["gold"]["confusion_on_generated"] == [[0, 15], [0, 5]]
    assert entry["gold"]["labellers"] == ["test"] and "--gold" in report["command"]


def test_gold_labels_of_another_store_are_refused_and_the_report_says_why(scanned, tmp_path):
    other = hubaudit.scan("tiny/ddpm", out_dir=tmp_path / "other", seed=5, **SCAN).to_dict()
    gold = write_gold(open_sample_store(other["samples"][0]["store_path"]), dict.fromkeys(range(40), "0"), pool=40)
    with pytest.raises(InvalidGoldLabels, match="which this scan does not draw"):
        hubaudit.scan(
            "tiny/ddpm",
            out_dir=tmp_path / "scan",
            attributes=[f"is_zero=aux:{scanned['annotator']}"],
            gold=[gold.path],
            **SCAN,
        )
    report = json.loads((tmp_path / "scan" / "report.json").read_text())
    assert report["errors"][0]["error"] == "InvalidGoldLabels" and "properties" not in report


def test_a_hand_edited_gold_file_is_refused(scanned, tmp_path):
    store = open_sample_store(scanned["report"]["samples"][0]["store_path"])
    gold = GoldLabels.open(store, "digit", ("0", "1"), n=3, pool=40)
    gold.labels[999] = ("1", "person", "2026-01-01T00:00:00+00:00")
    gold.save()
    with pytest.raises(InvalidGoldLabels, match="not in its plan"):
        GoldLabels.read(gold.path)
    with pytest.raises(InvalidGoldLabels, match="its values are"):
        GoldLabels.open(store, "smiling", ("no", "yes"), n=3, pool=40)


def test_gold_labels_for_every_class_give_the_pooled_share_a_prediction_powered_headline(scanned, tmp_path):
    options = {**SCAN, "attributes": [f"is_zero=aux:{scanned['annotator']}"], "classes": [0, 1], "out_dir": tmp_path}
    first = hubaudit.scan("tiny/ddpm-class-conditional", **options).to_dict()
    golds = []
    for samples, zeros_every in zip(first["samples"], (2, 5)):  # 50% and 20% zeros among the gold labels
        store = open_sample_store(samples["store_path"])
        truth = {
            int(index): "1" if position % zeros_every == 0 else "0"
            for position, index in enumerate(store_plan(store, 20))
        }
        golds.append(write_gold(store, truth).path)
    only_one = hubaudit.scan("tiny/ddpm-class-conditional", gold=golds[:1], **options).to_dict()["properties"][
        "attributes"
    ][0]
    assert only_one["primary_method"] == "corrected" and "ppi" not in only_one["overall"]["estimates"]

    attribute = hubaudit.scan("tiny/ddpm-class-conditional", gold=golds, **options).to_dict()["properties"][
        "attributes"
    ][0]
    per_class = [entry["estimates"]["ppi"]["1"] for entry in attribute["by_condition"]]
    pooled = attribute["overall"]["estimates"]["ppi"]["1"]
    assert attribute["primary_method"] == "ppi" and pooled["n"] == 40
    assert pooled["value"] == pytest.approx(np.mean([estimate["value"] for estimate in per_class]))
    assert pooled["low"] <= 0.35 <= pooled["high"]  # the mean of the two classes' gold shares
    assert all(pooled["high"] - pooled["low"] < estimate["high"] - estimate["low"] for estimate in per_class)
    assert attribute["overall"]["gold"]["used"] == 40 and len(attribute["overall"]["gold"]["files"]) == 2


def hand_written(path, store, positions, *, seed=None):
    """A gold-label file of ``store``'s is_zero written around :meth:`GoldLabels.record` (by hand, or by another tool):
    the plan's samples at ``positions`` labelled 0, 1, 0, ... in that row order; ``seed`` replaces the store's."""
    digest = store.path.name
    gold = GoldLabels(path, digest, "is_zero", ("0", "1"), 40, plan_seed(digest) if seed is None else seed, 20)
    gold.labels = {
        int(gold.plan[position]): (str(row % 2), "test", "2026-01-01T00:00:00+00:00")
        for row, position in enumerate(positions)
    }
    gold.save()
    return path


def test_the_draw_is_fixed_by_the_store_digest_and_no_seed_is_chosen(tmp_path, capsys):
    stores = [SampleStore(tmp_path, {"model": "a"}), SampleStore(tmp_path, {"model": "b"})]
    plans = [GoldLabels.open(store, "is_zero", ("0", "1"), n=10, pool=40).plan.tolist() for store in stores]
    again = GoldLabels.open(stores[0], "smiling", ("no", "yes"), n=10, pool=40)
    assert plans[0] != plans[1]  # two stores, two draws
    assert again.plan.tolist() == plans[0] and again.seed == plan_seed(stores[0].path.name)  # one store, one draw
    everything = labelling_plan(40, 40, seed=again.seed).tolist()
    assert labelling_plan(20, 20, seed=again.seed).tolist() == [
        index for index in everything if index < 20
    ]  # nor the pool
    with pytest.raises(SystemExit) as refused:
        main(["label", str(stores[0].path), "--attribute", "is_zero", "--values", "0,1", "--seed", "3"])
    assert refused.value.code == 2 and "unrecognized arguments: --seed 3" in capsys.readouterr().err


def test_a_gold_file_with_a_forged_seed_is_refused_in_one_line(scanned, tmp_path, capsys):
    store = open_sample_store(scanned["report"]["samples"][0]["store_path"])
    forged = hand_written(tmp_path / "forged.parquet", store, range(10), seed=plan_seed(store.path.name) + 1)
    code = main(
        [
            "scan",
            "tiny/ddpm",
            "-n",
            "40",
            "--batch-size",
            "20",
            "--steps",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / "scan"),
            "--attribute",
            f"is_zero=aux:{scanned['annotator']}",
            "--gold",
            str(forged),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert (
        err.startswith(f"hubaudit: error: gold labels {forged}: its plan's seed ")
        and "label again with hubaudit label" in err
    )


def test_a_label_out_of_plan_order_is_refused_and_nothing_is_recorded(tmp_path):
    gold = GoldLabels.open(SampleStore(tmp_path, {"model": "a"}), "is_zero", ("0", "1"), n=5, pool=40)
    plan = gold.plan.tolist()
    with pytest.raises(
        InvalidGoldLabels, match=rf"sample {plan[1]} is not the next sample of the labelling plan \({plan[0]}\)"
    ):
        gold.record(plan[1], "1")
    gold.record(plan[0], "1")
    with pytest.raises(InvalidGoldLabels, match=f"sample {plan[3]} is not the next sample"):
        gold.record_many({plan[1]: "0", plan[3]: "0"}, labeller="test")  # the second skips plan[2]
    with pytest.raises(InvalidGoldLabels, match=f"sample {plan[0]} is not the next sample"):
        gold.record(plan[0], "0")  # a label given is not given again
    assert list(gold.labels) == list(GoldLabels.read(gold.path).labels) == plan[:1]
    gold.record_many({plan[1]: "0", plan[2]: "0"}, labeller="test")
    assert list(GoldLabels.read(gold.path).labels) == plan[:3]


def test_a_file_with_labels_out_of_plan_order_is_refused(tmp_path):
    store = SampleStore(tmp_path, {"model": "a"})
    plan = store_plan(store, 3)
    swapped = hand_written(tmp_path / "swapped.parquet", store, [0, 2, 1])
    with pytest.raises(
        InvalidGoldLabels,
        match=f"its label of sample {plan[1]} comes after that of sample {plan[2]}, out of the plan's order",
    ) as refused:
        GoldLabels.read(swapped)
    assert str(swapped) in str(refused.value) and "\n" not in str(refused.value)


def test_only_the_labelled_prefix_of_the_plan_is_used(scanned, tmp_path):
    store = open_sample_store(scanned["report"]["samples"][0]["store_path"])
    plan = store_plan(store, 20)
    gapped = GoldLabels.read(hand_written(tmp_path / "gapped.parquet", store, [0, 1, 2, 4, 5]))  # plan[3] unlabelled
    assert gapped.codes(below=40)[0].tolist() == plan[:3].tolist() and gapped.next_index() == plan[3]
    described = gapped.describe()
    assert (described["labels"], described["used"], described["unused_beyond_gap"]) == (5, 3, 2)
    report = hubaudit.scan(
        "tiny/ddpm",
        out_dir=tmp_path / "scan",
        store_dir=store.path.parent,
        gold=[gapped.path],
        attributes=[f"is_zero=aux:{scanned['annotator']}"],
        **SCAN,
    ).to_dict()
    entry = report["properties"]["attributes"][0]["by_condition"][0]
    assert (entry["gold"]["used"], entry["gold"]["unused_beyond_gap"], entry["estimates"]["ppi"]["1"]["n"]) == (
        3,
        2,
        3,
    )
    gapped.record(int(plan[3]), "0", labeller="test")  # filling the gap brings the labels beyond it in
    assert GoldLabels.read(gapped.path).used == 6
