"""The error hierarchy: what each class means, and the exit status the command line gives it."""

from __future__ import annotations

import pickle
import re
import textwrap

import pytest

import keras_blueprints as kb
from keras_blueprints._core.errors import (
    BlueprintError,
    BlueprintErrors,
    KerasBlueprintsError,
    Location,
    RunError,
    SearchError,
    TrialError,
    UsageError,
)
from keras_blueprints._core.registry import DuplicateNameError, Registry
from keras_blueprints.cli import EXIT_BLUEPRINT, EXIT_INTERNAL, exit_status, main
from keras_blueprints.loading.expressions import ExpressionError, substitute

LOCATED = re.compile(r":\d+:\d+: error: ")

GOOD = "inputs: {x: [4]}\ngraph:\n  - Dense: {units: 2}\n"

# Every trial fails to build (Add of 16 or 32 units with 8), so no trial finishes.
NEVER_BUILDS = textwrap.dedent(
    """\
    inputs: {xy: [2]}
    params:
      width: {choice: [16, 32]}
    graph:
      - {name: a, Dense: {units: "${width}"}}
      - {name: b, Dense: {units: 8}, from: xy}
      - {name: sum, Add: {}, from: [a, b]}
      - {name: out, Dense: {units: 2, activation: softmax}}
    compile: {optimizer: adam, loss: sparse_categorical_crossentropy}
    data: {source: {spirals: {points_per_class: 8}}, validation: 0.25, batch_size: 8}
    train: {epochs: 1}
    tune: {tuner: grid, objective: val_loss, max_trials: 2}
    """
)


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if ": error: " in line]


# -- the classes ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "kind",
    [
        BlueprintError,
        BlueprintErrors,
        UsageError,
        RunError,
        TrialError,
        SearchError,
        DuplicateNameError,
        ExpressionError,
    ],
)
def test_every_error_derives_from_the_base(kind):
    assert issubclass(kind, KerasBlueprintsError)
    assert issubclass(kind, kb.KerasBlueprintsError)  # the public name is the same class


@pytest.mark.parametrize("kind", [UsageError, RunError, TrialError, SearchError])
def test_only_blueprint_errors_are_located_in_a_blueprint(kind):
    assert not issubclass(kind, BlueprintError)
    assert not issubclass(BlueprintError, kind)


def test_wrong_values_stay_value_errors_and_artifacts_are_not():
    for kind in (BlueprintError, UsageError, DuplicateNameError):
        assert issubclass(kind, ValueError)
    for kind in (RunError, TrialError, SearchError):
        assert not issubclass(kind, ValueError)
    assert not issubclass(TrialError, SearchError) and not issubclass(SearchError, TrialError)


def test_a_usage_error_names_the_option_and_a_run_error_the_path(tmp_path):
    usage = UsageError("the tolerance must be a number >= 0", "--tolerance", received=-1)
    assert usage.option == "--tolerance"
    assert usage.format() == (
        "--tolerance: error: the tolerance must be a number >= 0.\n  Received: -1."
    )
    run = RunError("the run is damaged", tmp_path / "run", hint="start a new one")
    assert run.filename == str(tmp_path / "run")
    assert run.location == Location(str(tmp_path / "run"))  # a path, no line
    assert run.format().startswith(f"{tmp_path / 'run'}: error: the run is damaged.")
    assert not LOCATED.search(usage.format()) and not LOCATED.search(run.format())


@pytest.mark.parametrize(
    "error",
    [
        UsageError("bad", "--chief", expected="HOST:PORT", received="x"),
        RunError("gone", "runs/a", hint="start again"),
        TrialError("build failed: no", "7"),
        SearchError("stopped", Location("bp.yaml", 3, 4)),
    ],
)
def test_errors_keep_their_fields_through_pickling(error):
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert copy.__dict__ == error.__dict__
    assert str(copy) == str(error) == error.format()


def test_a_duplicate_name_is_caught_as_an_error_of_keras_blueprints():
    registry: Registry[int] = Registry("widget", "Register widgets with @widget.")
    registry.register("gear", 1)
    with pytest.raises(KerasBlueprintsError, match="already registered"):
        registry.register("gear", 2)


def test_an_expression_error_is_an_error_of_keras_blueprints():
    with pytest.raises(KerasBlueprintsError) as info:
        substitute("${1 +}", {})
    assert isinstance(info.value, ExpressionError)


# -- the exit statuses, in one table ----------------------------------------------------------
class _Interrupted(KeyboardInterrupt):
    status = 143


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (BlueprintError("x", Location("bp.yaml", 1, 1)), EXIT_BLUEPRINT),
        (UsageError("x", "--samples"), EXIT_BLUEPRINT),
        (RunError("x", "runs/a"), EXIT_BLUEPRINT),
        (TrialError("x"), EXIT_BLUEPRINT),
        (SearchError("x", "runs/a"), EXIT_BLUEPRINT),
        (DuplicateNameError("x"), EXIT_BLUEPRINT),
        (KeyboardInterrupt(), 130),
        (_Interrupted(), 143),
        (RuntimeError("a bug"), EXIT_INTERNAL),
    ],
)
def test_exit_status_of_each_kind(error, status):
    assert exit_status(error) == status


# -- through the command line -----------------------------------------------------------------
def test_a_blueprint_error_exits_2_at_its_yaml(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("inputs: {x: [4]}\ngraph:\n  - Dense: {unitz: 2}\n")
    assert main(["validate", "--no-build", str(bad)]) == 2
    assert _errors(capsys.readouterr().err)[0].startswith(f"{bad}:3:13: error: ")


def test_a_bad_environment_value_is_a_usage_error_without_a_line(tmp_path, capsys, monkeypatch):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    monkeypatch.setenv("BLUEPRINT_MAX_PARAMS", "lots")
    with pytest.raises(UsageError):
        kb.load(good)
    assert main(["validate", "--no-build", str(good)]) == 2
    errors = _errors(capsys.readouterr().err)
    assert len(errors) == 1 and errors[0].startswith("$BLUEPRINT_MAX_PARAMS: error: ")
    assert not LOCATED.search(errors[0])


def test_a_bad_max_params_flag_exits_2_without_a_line(tmp_path, capsys):
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    with pytest.raises(SystemExit) as info:
        main(["validate", "--no-build", "--max-params", "lots", str(good)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "--max-params" in err and not LOCATED.search(err)


def test_a_broken_run_directory_is_a_run_error(tmp_path, capsys):
    from keras_blueprints.training.run import resume

    broken = tmp_path / "run"
    broken.mkdir()
    (broken / "run.json").write_text("[1, 2]")  # JSON, but not what a run writes
    with pytest.raises(RunError) as info:
        resume(broken)
    assert info.value.filename == str(broken / "run.json")
    assert main(["train", "--resume", str(broken)]) == 2
    errors = _errors(capsys.readouterr().err)
    assert errors == [f"{broken / 'run.json'}: error: {broken / 'run.json'} is damaged."]


def test_failed_trials_are_skipped_and_a_search_with_none_finished_stops(tmp_path, capsys):
    from keras_blueprints.tuning import tune

    blueprint = tmp_path / "never.yaml"
    blueprint.write_text(NEVER_BUILDS)
    with pytest.raises(SearchError, match="no trial of the search finished: 2 trial"):
        tune(blueprint, run_dir=tmp_path / "direct", verbose=0)
    run_dir = tmp_path / "run"
    assert main(["tune", str(blueprint), "--run-dir", str(run_dir), "--quiet"]) == 2
    errors = _errors(capsys.readouterr().err)
    assert errors == [f"{run_dir}: error: no trial of the search finished: 2 trial(s), all failed."]
    reasons = (run_dir / "trials.csv").read_text()
    assert reasons.count("build failed") == 2  # each trial's TrialError, recorded


def test_the_tuning_engine_speaks_keras_tuners_language():
    import keras_tuner as kt

    from keras_blueprints.tuning.engine import SearchStopped, TrialFailed

    trial = TrialFailed("diverged: the loss became nan")
    assert isinstance(trial, TrialError) and isinstance(trial, kt.errors.FailedTrialError)
    assert not isinstance(trial, kt.errors.FatalError)
    cause = BlueprintError("no such metric", Location("bp.yaml", 9, 3), hint="log it")
    stop = SearchStopped(cause)
    assert isinstance(stop, SearchError) and isinstance(stop, kt.errors.FatalError)
    assert stop.error is cause and stop.format() == cause.format()
