"""One declaration per option (hubaudit.declarations): every option has each form a front end derives from it, and
the command line, the Python API, the config file, the report's ``options`` table and the Space agree on the names,
defaults and types of all of them. Nothing here samples."""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import tomllib
from pathlib import Path

import pytest

import hubaudit
from hubaudit import api, cli
from hubaudit.declarations import (
    SCAN_OPTIONS,
    BotSettings,
    FleetSettings,
    LabelSettings,
    PoisonSettings,
    PublishSettings,
    ScanSettings,
    TrainSettings,
    declared_options,
)
from hubaudit.declarations.arguments import command_words, given_options, value_words
from hubaudit.declarations.config_file import config_template, read_config, read_options_table
from hubaudit.declarations.values import coerce, table_value, toml_value

VERBS = {
    "scan": ScanSettings,
    "label": LabelSettings,
    "poison": PoisonSettings,
    "train": TrainSettings,
    "publish": PublishSettings,
    "bot": BotSettings,
}
"""Verb -> the settings its options are declared in (scan-many: :data:`FLEET`)."""


def _verb_parser(verb: str) -> argparse.ArgumentParser:
    (subparsers,) = [
        action for action in cli.build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    return subparsers.choices[verb]


def _api_function(settings: type):
    return {
        ScanSettings: api.scan,
        LabelSettings: api.gold_labels,
        PoisonSettings: api.poison,
        PublishSettings: api.publish,
        BotSettings: api.bot,
        TrainSettings: api.train,
        FleetSettings: api.scan_many,
    }[settings]


@pytest.mark.parametrize("verb", [*VERBS, "scan-many"])
def test_every_declared_option_has_each_form_it_declares(verb):
    settings = VERBS.get(verb, FleetSettings)
    parser = _verb_parser(verb)
    actions = {action.dest: action for action in parser._actions}
    titles = {action.dest: group.title for group in parser._action_groups for action in group._group_actions}
    parameters = inspect.signature(_api_function(settings)).parameters
    template = (
        config_template(settings, kind=None, command=f"hubaudit {verb}", version="0")
        if settings is ScanSettings
        else ""
    )
    for declared in declared_options(settings):
        assert declared.help and declared.help == declared.help.strip(), declared.name
        if declared.on_cli:
            assert declared.name in actions, f"{declared.name}: no {verb} flag"
            assert actions[declared.name].help and actions[declared.name].default is argparse.SUPPRESS
            if declared.group:
                assert titles[declared.name] == declared.group, declared.name
        else:
            assert declared.name not in actions, f"{declared.name} is API-only but has a flag"
        if declared.in_api:
            parameter = parameters.get(declared.name)
            assert parameter is not None, f"{declared.name}: not a keyword of the API"
            if not declared.required:
                assert parameter.default == declared.default, declared.name
        else:
            assert declared.name not in parameters, f"{declared.name} is CLI-only but an API keyword"
        if settings is ScanSettings:
            assert declared.shown_value is not None or not declared.on_cli, f"{declared.name}: no default or example"
            if declared.on_cli:
                assert re.search(rf"^(# )?{declared.name} = ", template, re.MULTILINE), (
                    f"{declared.name}: not in the config file"
                )
            if declared.in_api:
                assert f"    {declared.name}: " in api.scan.__doc__, f"{declared.name}: not in scan's Args"
            if declared.on_cli and declared.in_api and not declared.positional:
                assert value_words(declared, table_value(_changed(declared)))[0].startswith(declared.flags[0]), (
                    declared.name
                )


def test_the_api_signatures_are_the_declared_ones_and_hubaudit_scan_is_api_scan():
    assert hubaudit.scan is api.scan
    signature = inspect.signature(hubaudit.scan)
    assert list(signature.parameters) == [option.name for option in declared_options(ScanSettings) if option.in_api]
    assert signature.parameters["model"].kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    assert signature.parameters["confidence"].default == 0.95 and signature.parameters["n"].annotation is int
    assert "n: samples per condition (class or prompt) (default 64)." in api.scan.__doc__
    with pytest.raises(TypeError, match="unexpected keyword argument 'frobnicate'"):
        api.scan("org/model", frobnicate=1)
    assert list(inspect.signature(api.poison).parameters)[:2] == ["data", "sensitive"]
    assert inspect.signature(api.train).parameters["settings"].kind is inspect.Parameter.VAR_KEYWORD


def test_train_options_declare_the_trainers_own_defaults():
    from hubaudit.train import TRAINERS

    for declared in declared_options(TrainSettings):
        for family in declared.families:
            parameter = inspect.signature(TRAINERS[family]).parameters[declared.name]
            if declared.default is not None:
                assert parameter.default == declared.default, (family, declared.name)


def _changed(declared):
    """A value of ``declared`` other than its default: its example, else the default changed."""
    default = declared.default
    if declared.example is not None:
        return declared.example
    if isinstance(default, bool):
        return not default
    if isinstance(default, (int, float)):
        return default + 1 if isinstance(default, int) else default / 2
    return f"{default}-x" if isinstance(default, str) else (*default, "other")


def _combined(**changes) -> dict:
    """Every command-line-and-API scan option at a value other than its default (an example), valid together."""
    values = {}
    for declared in declared_options(ScanSettings):
        if declared.on_cli and declared.in_api:
            values[declared.name] = _changed(declared)
    values.update(model="org/model", device="cpu", dtype="float32", target_width=None, check_drift=8)
    values.update(changes)
    return values


def _toml(values: dict) -> str:
    return "".join(
        f"{name} = {toml_value(table_value(value))}\n" for name, value in values.items() if value is not None
    )


@pytest.mark.parametrize(
    "changes", [{}, {"gold": None, "target_width": 0.05, "label_map": "0=0,1=1"}], ids=["every option", "sequential"]
)
def test_cli_api_config_report_and_space_agree_on_names_defaults_and_types(tmp_path, changes):
    values = _combined(**changes)
    table = api.scan_options(**values).option_table
    assert set(table) == {
        option.name for option in declared_options(ScanSettings) if option.in_api and option.recorded
    }

    config = tmp_path / "audit.toml"
    config.write_text(_toml(values))
    from_config = read_config(config, ScanSettings)
    words = command_words(ScanSettings, table, always=("n", "seed", "dtype"))
    from_flags = given_options(cli.build_parser().parse_args(["scan", *words]), ScanSettings)
    from_table = read_options_table(table, ScanSettings, source="report.json")
    for source in (from_config, from_flags, from_table):
        options = api.scan_options(**{name: value for name, value in source.items() if SCAN_OPTIONS[name].in_api})
        assert options.option_table == table
        assert api.reproduce_command(options) == api.reproduce_command(api.scan_options(**values))

    defaults = api.scan_options("org/model", device="cpu").option_table
    for name, value in defaults.items():
        if name not in ("model", "dtype", "device"):  # model and device given; dtype: the one that ran
            assert value == table_value(SCAN_OPTIONS[name].default), name
    written = tomllib.loads(
        re.sub(
            r"^# (\w+ = )",
            r"\1",
            config_template(ScanSettings, kind=None, command="x", version="0"),
            flags=re.MULTILINE,
        )
    )
    for name, value in written.items():
        declared = SCAN_OPTIONS[name]
        assert coerce(declared.annotation, value) == coerce(declared.annotation, table_value(declared.shown_value)), (
            name
        )

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "space_app"))
    import form_checks
    import form_fields

    for name, field in {
        "n": form_fields.declared_field("n"),
        "steps": form_fields.declared_field("steps", value_needed=True),
        "guidance_scale": form_fields.declared_field("guidance_scale"),
    }.items():
        assert field["label"] == SCAN_OPTIONS[name].label and field["info"] == SCAN_OPTIONS[name].help
        assert field["value"] == (SCAN_OPTIONS[name].default if name != "steps" else SCAN_OPTIONS[name].example)
    requests = [
        form_checks.ScanRequest("org/model", ("gender=clip",), 8, 10, ("a cat",), (), 7.5),
        form_checks.FairnessRequest("org/model", "gender=clip", 8, 10, {"a cat": 1, "a dog": 0}),
    ]
    for request in requests:
        for name, value in request.scan_arguments().items():
            assert SCAN_OPTIONS[name].in_api, name
            coerce(SCAN_OPTIONS[name].annotation, table_value(value))  # of the declared type
        api.scan_options(request.model, **request.scan_arguments(), device="cpu")


def test_the_recorded_command_has_out_batch_size_and_fail_on_where_given():
    options = api.scan_options(
        "org/model",
        n=8,
        batch_size=4,
        out_dir="audit",
        fail_on="any",
        device="cpu",
        attributes=["gender=clip"],
        sensitive=["gender"],
        label_map={0: 0, 1: 1},
        min_group_share=0.05,
        probe=False,
        allow_pickle="unsafe",
    )
    command = api.reproduce_command(options)
    for words in (
        "-n 8",
        "--batch-size 4",
        "--out audit",
        "--fail-on any",
        "--label-map 0=0,1=1",
        "--min-group-share 0.05",
        "--no-probe",
        "--allow-pickle=unsafe",
        "--dtype float32 --seed 0",
    ):
        assert words in command, words
    assert "--store" not in api.reproduce_command(api.scan_options("org/model", device="cpu"))
    assert "--out" not in api.reproduce_command(api.scan_options("org/model", device="cpu"))


def test_help_is_plain_text_with_one_line_per_verb(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    text = capsys.readouterr().out
    assert exited.value.code == 0 and "``" not in text and ":mod:" not in text and ":func:" not in text
    (subparsers,) = [
        action for action in cli.build_parser()._actions if isinstance(action, argparse._SubParsersAction)
    ]
    for verb in subparsers.choices:
        (line,) = [line for line in text.splitlines() if line.split()[:1] == [verb]]
        assert len(line.split()) > 2, line  # the verb and its help on one line


@pytest.mark.parametrize(
    ("words", "said"),
    [
        (
            ["scan", "org/model", "--atribute", "gender=clip"],
            "unrecognized arguments: --atribute gender=clip (did you mean --attribute?)",
        ),
        (["scan", "org/model", "--step", "2"], "unrecognized arguments: --step 2 (did you mean --steps?)"),
        (["train", "data.parquet", "--out", "m", "--step", "2"], "(did you mean --steps?)"),
        (["label", "audit", "--attribute", "x", "--value", "a,b"], "(did you mean --values?)"),
        (["scan-many", "--models-fil", "m.txt"], "(did you mean --models-file?)"),
    ],
)
def test_an_abbreviated_or_misspelt_flag_is_refused_with_the_closest_one(capsys, words, said):
    with pytest.raises(SystemExit) as exited:
        cli.main(words)
    err = capsys.readouterr().err
    assert exited.value.code == 2 and err.count("\n") == 1 and said in err, err
