"""Prediction-powered (PPI++) shares from gold labels, the annotator's confusion on generated samples, coverage."""

import numpy as np
import ppi_py
import pytest
from scipy.stats import norm

from coverage_simulation import simulate_gold_coverage
from hubaudit.errors import InvalidData, TooFewSamples
from hubaudit.stats.ppi import PSEUDO_GOLD, _power_tuning, _standard_error, gold_confusion, ppi_shares

# rows = true value, columns = predicted: the annotator errs 10 points more on generated images
CALIBRATION_RATES = np.array([[0.9, 0.1], [0.1, 0.9]])
GENERATED_RATES = np.array([[0.8, 0.2], [0.2, 0.8]])


def audit_sample(true_shares, rates, *, n=2000, gold=200, seed=0):
    """(gold codes (m,), gold probabilities (m, K), unlabelled probabilities (n - m, K)) of a one-hot annotator."""
    rng = np.random.default_rng(seed)
    size = len(true_shares)
    true_codes = rng.choice(size, n, p=true_shares)
    predicted = np.empty(n, dtype=int)
    for value in range(size):
        predicted[true_codes == value] = rng.choice(size, int((true_codes == value).sum()), p=rates[value])
    probabilities = np.eye(size)[predicted]
    labelled = np.zeros(n, dtype=bool)
    labelled[rng.choice(n, gold, replace=False)] = True
    return true_codes[labelled], probabilities[labelled], probabilities[~labelled]


def test_ppi_shares_equal_ppi_py_with_power_tuning():
    codes, gold_probabilities, unlabelled = audit_sample([0.7, 0.3], GENERATED_RATES)
    result = ppi_shares(codes, gold_probabilities, unlabelled, names=["absent", "present"])
    truth = (codes == 1).astype(float)
    low, high = ppi_py.ppi_mean_ci(truth, gold_probabilities[:, 1], unlabelled[:, 1], alpha=0.05, lam=None)
    value = ppi_py.ppi_mean_pointestimate(truth, gold_probabilities[:, 1], unlabelled[:, 1], lam=None)
    present = result.shares["present"]
    assert present.value == pytest.approx(value[0])
    # ppi_py's Wald interval, widened a little by the pseudo gold labels in the rectifier's variance
    assert present.low < low[0] and present.high > high[0] and present.high - present.low < 1.1 * (high[0] - low[0])
    assert present.method == "ppi++" and present.n == 200 and present.confidence == 0.95
    assert "200 gold labels, 1800 unlabelled samples" in present.notes[0] and "lambda=" in present.notes[0]
    assert 0 < result.power_tuning["present"] < 1
    absent = result.shares["absent"]
    complement = (1 - present.value, 1 - present.high, 1 - present.low)
    assert (absent.value, absent.low, absent.high) == pytest.approx(complement)
    gold_low, gold_high = ppi_py.classical_mean_ci(truth, alpha=0.05)
    gold_only = result.gold_only["present"]
    assert (
        gold_only.low < gold_low
        and gold_only.high > gold_high
        and gold_only.high - gold_only.low < 1.05 * (gold_high - gold_low)
    )
    assert list(result.to_dict()["shares"]) == ["absent", "present"]


def ppi_py_standard_error(gold_truth, gold_predicted, unlabelled_predicted, lam):
    """ppi_py's standard error: the half-width of its Wald interval ``ppi_mean_ci`` over z."""
    low, high = ppi_py.ppi_mean_ci(gold_truth, gold_predicted, unlabelled_predicted, alpha=0.05, lam=lam)
    return float(high[0] - low[0]) / 2 / norm.ppf(0.975)


@pytest.mark.parametrize("share", [0.05, 0.3, 0.5])
@pytest.mark.parametrize("unlabelled", [200, 2000, 20000])
@pytest.mark.parametrize("gold", [50, 200, 1000])
def test_lambda_is_ppi_py_s_and_the_standard_error_ppi_py_s_with_pseudo_gold_labels_and_sample_variances(
    share, unlabelled, gold
):
    rng = np.random.default_rng(int(share * 100) + unlabelled + gold)
    truth = (rng.random(gold + unlabelled) < share).astype(float)
    predicted = np.clip(0.1 + 0.8 * truth + rng.normal(0, 0.15, truth.size), 0, 1)  # an annotator's probability of 1
    gold_truth, gold_predicted, unlabelled_predicted = truth[:gold], predicted[:gold], predicted[gold:]
    lam = _power_tuning(gold_truth, gold_predicted, unlabelled_predicted)
    tuned = ppi_py.ppi_mean_ci(gold_truth, gold_predicted, unlabelled_predicted, alpha=0.05, lam=None)
    assert np.allclose(
        tuned,
        ppi_py.ppi_mean_ci(gold_truth, gold_predicted, unlabelled_predicted, alpha=0.05, lam=lam),
        rtol=0,
        atol=1e-12,
    )  # ppi_py's own choice of lambda is ours
    # ppi_py's two terms apart: the imputed one (no rectifier: Y = f = 0) and the rectifier's (no imputed term:
    # f_unlabelled = 0); together they are ppi_py's standard error.
    imputed = ppi_py_standard_error(np.zeros(2), np.zeros(2), unlabelled_predicted, lam)
    rectifier = ppi_py_standard_error(gold_truth, gold_predicted, np.zeros(unlabelled), lam)
    assert ppi_py_standard_error(gold_truth, gold_predicted, unlabelled_predicted, lam) == pytest.approx(
        np.hypot(imputed, rectifier), rel=1e-12
    )
    # Ours: the rectifier's on the gold labels plus the four pseudo gold labels (m + 4 of them, still over m), and
    # sample variances (divided by n - 1 where ppi_py's np.std divides by n).
    padded = ppi_py_standard_error(
        np.concatenate([gold_truth, PSEUDO_GOLD[0]]),
        np.concatenate([gold_predicted, PSEUDO_GOLD[1]]),
        np.zeros(unlabelled),
        lam,
    )
    expected = np.sqrt(unlabelled / (unlabelled - 1) * imputed**2 + (gold + 4) ** 2 / (gold * (gold + 3)) * padded**2)
    assert _standard_error(gold_truth, gold_predicted, unlabelled_predicted, lam) == pytest.approx(expected, rel=1e-12)


def test_three_values_get_the_bonferroni_level():
    codes, gold_probabilities, unlabelled = audit_sample(
        [0.5, 0.3, 0.2], np.array([[0.8, 0.1, 0.1], [0.1, 0.8, 0.1], [0.1, 0.1, 0.8]])
    )
    result = ppi_shares(codes, gold_probabilities, unlabelled, confidence=0.95)
    for k in range(3):
        truth = (codes == k).astype(float)
        low, high = ppi_py.ppi_mean_ci(truth, gold_probabilities[:, k], unlabelled[:, k], alpha=0.05 / 3)
        estimate = result.shares[str(k)]
        assert (
            estimate.low < low[0]
            and estimate.high > high[0]
            and estimate.high - estimate.low < 1.1 * (high[0] - low[0])
        )
        assert estimate.confidence == 0.95 and "Bonferroni over 3 values" in estimate.notes[1]


def test_ppi_covers_where_rogan_gladen_is_biased_by_a_different_error_on_generated_images():
    results = simulate_gold_coverage(
        true_share=0.3,
        n=2000,
        gold=200,
        calibration_confusion=CALIBRATION_RATES,
        generated_confusion=GENERATED_RATES,
        calibration_size=500,
        trials=1000,
        seed=0,
    )
    assert results["ppi++"].answered == 1000 and results["ppi++"].coverage >= 0.93
    assert results["corrected"].coverage < 0.93


@pytest.mark.parametrize(
    "share, gold, calibration, generated",
    [
        (
            0.92,
            200,
            [[0.99, 0.01], [0.02, 0.98]],
            [[0.89, 0.11], [0.12, 0.88]],
        ),  # the PIA suite's annotator, 10 points worse
        (
            0.1,
            100,
            [[0.99, 0.01], [0.02, 0.98]],
            [[0.99, 0.01], [0.02, 0.98]],
        ),  # a near-perfect annotator, few gold labels
    ],
)
def test_ppi_covers_where_the_annotators_errors_on_gold_labels_are_rare(share, gold, calibration, generated):
    # plain Wald intervals (ppi_py) cover 0.93 and 0.88 here: the rectifier is a rare-event mean
    results = simulate_gold_coverage(
        true_share=share,
        n=2000,
        gold=gold,
        calibration_confusion=np.array(calibration),
        generated_confusion=np.array(generated),
        trials=1000,
        seed=1,
    )
    assert results["ppi++"].coverage >= 0.94


def test_a_good_annotator_is_worth_more_gold_labels_than_it_was_given():
    codes, gold_probabilities, unlabelled = audit_sample([0.7, 0.3], np.array([[0.95, 0.05], [0.05, 0.95]]))
    result = ppi_shares(codes, gold_probabilities, unlabelled)
    assert result.effective_gold["1"] > 2 * 200
    assert result.shares["1"].half_width < result.gold_only["1"].half_width


def test_an_uninformative_annotator_falls_back_to_the_gold_labels():
    codes, gold_probabilities, unlabelled = audit_sample([0.7, 0.3], np.array([[0.5, 0.5], [0.5, 0.5]]))
    constant = np.full_like(gold_probabilities, 0.5)
    result = ppi_shares(codes, constant, np.full_like(unlabelled, 0.5))
    assert result.power_tuning["1"] == 0.0 and result.effective_gold["1"] == pytest.approx(200)
    assert result.shares["1"].value == pytest.approx(result.gold_only["1"].value)


def test_gold_confusion_counts_rows_by_gold_value_and_columns_by_prediction():
    confusion = gold_confusion([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], value_count=3)
    assert confusion.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]
    assert confusion.dtype.kind == "i"


GOLD = np.array([0, 1, 1])
PROBABILITIES = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7]])


@pytest.mark.parametrize(
    ("gold_codes", "gold_probabilities", "unlabelled", "error"),
    [
        (GOLD, PROBABILITIES, np.zeros((0, 2)), TooFewSamples),
        (GOLD[:1], PROBABILITIES[:1], PROBABILITIES, TooFewSamples),
        (np.array([0, 1, 2]), PROBABILITIES, PROBABILITIES, InvalidData),
        (np.array([0, 1, 0.5]), PROBABILITIES, PROBABILITIES, InvalidData),
        (np.array(["a", "b", "b"]), PROBABILITIES, PROBABILITIES, InvalidData),
        (GOLD[:2], PROBABILITIES, PROBABILITIES, InvalidData),
        (GOLD, PROBABILITIES, np.full((3, 3), 0.3), InvalidData),
        (GOLD, PROBABILITIES[:, :1], PROBABILITIES[:, :1], InvalidData),
        (GOLD, PROBABILITIES * 2, PROBABILITIES, InvalidData),
        (GOLD, PROBABILITIES, np.full((3, 2), np.nan), InvalidData),
    ],
    ids=[
        "no-unlabelled",
        "one-gold",
        "code-out-of-range",
        "fractional-code",
        "text-code",
        "codes-vs-rows",
        "value-count-mismatch",
        "one-value",
        "probability-over-one",
        "nan-probability",
    ],
)
def test_bad_input_raises_the_right_error(gold_codes, gold_probabilities, unlabelled, error):
    with pytest.raises(error):
        ppi_shares(gold_codes, gold_probabilities, unlabelled)


def test_bad_confusion_input_raises_the_right_error():
    with pytest.raises(InvalidData):
        gold_confusion([0, 1], [0], value_count=2)
    with pytest.raises(InvalidData):
        gold_confusion([0, 3], [0, 1], value_count=2)
    with pytest.raises(InvalidData):
        gold_confusion([0, 0], [0, 0], value_count=1)
    with pytest.raises(TooFewSamples):
        gold_confusion([], [], value_count=2)


def test_a_value_with_few_gold_labels_carries_an_undercoverage_note():
    codes, gold_probabilities, unlabelled = audit_sample([0.97, 0.03], GENERATED_RATES, gold=100)
    note = ppi_shares(codes, gold_probabilities, unlabelled).shares["1"].notes[-1]
    assert f"{int((codes == 1).sum())} of 100 gold labels are '1'" in note and "undercover" in note
