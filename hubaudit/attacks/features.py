"""Image features X for the poisoning attacks, and the estimate of I(X;Y) on them.

Estimator choice. I(X;Y) is estimated with the variational (Barber-Agakov) bound

    I(X;Y) = H(Y) - H(Y|X) >= H(Y) - CE(q),

where CE(q) is the cross-entropy (nats) of any classifier q(y|x). q is a scikit-learn
logistic regression on the standardised embeddings, and CE is its *out-of-fold* log loss
(5 folds), so the bound carries no in-sample optimism; the estimate is clipped at 0.
Why this one:

- scikit-learn's k-NN ``mutual_info_classif`` estimates I(X_j;Y) for each feature j on its
  own, not the joint I(X;Y), and k-NN estimators grow noisy and slow as D grows;
- MINE would train a network per evaluation: far too slow to re-evaluate during the
  greedy phase, and its estimates are high-variance;
- logistic regression is convex (deterministic, no tuning) and fits a few thousand
  records x 32 dimensions in tens of milliseconds, so the greedy can re-evaluate I(X;Y)
  after every chunk of added records (it evaluates per chunk, not per record).

Every record of the full data is given its fold once, so adding records to a subset leaves
the folds of the records already in it unchanged and the estimate moves smoothly.

Being a lower bound, the estimate on n records falls short of the full data's by roughly
D / (2 n) nats (finite-sample slack of a D-dimensional classifier); a tolerance ``delta``
must exceed that gap, or keep D small for small subsets.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import entropy
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import PredefinedSplit, cross_val_predict
from sklearn.preprocessing import StandardScaler

from hubaudit.errors import InvalidAttackConfig

FOLDS = 5
"""Cross-fitting folds of the I(X;Y) estimate; a subset needs at least this many records of each label."""


def pixel_embeddings(images: np.ndarray, *, dim: int = 32, seed: int = 0) -> np.ndarray:
    """PCA of raw pixels: ``uint8 [N, H, W, C]`` -> ``float64 [N, dim]``, for data without a neural encoder."""
    pixels = images.reshape(len(images), -1).astype(np.float32) / 255.0
    if not 1 <= dim <= min(pixels.shape):
        raise InvalidAttackConfig(
            f"embedding dimension {dim} must lie in [1, {min(pixels.shape)}] for {len(images)} images of {pixels.shape[1]} values"
        )
    return PCA(n_components=dim, svd_solver="randomized", random_state=seed).fit_transform(pixels).astype(np.float64)


class FeatureLabelInformation:
    """I(X;Y) estimates (nats) for subsets of one embedding matrix ``[N, D]``; see the module docstring."""

    def __init__(self, embeddings: np.ndarray, *, seed: int = 0):
        self._features = StandardScaler().fit_transform(embeddings)
        self._fold_of_record = np.random.default_rng(seed).integers(0, FOLDS, size=len(embeddings))

    def __call__(self, indices: np.ndarray, labels: np.ndarray) -> float:
        """I(X;Y) of the records at ``indices`` (int ``[n]``) labelled ``labels`` (0/1 ``[n]``)."""
        label_counts = np.bincount(labels, minlength=2)
        folds = self._fold_of_record[indices]
        labels_in_one_fold = any(len(np.unique(folds[labels == label])) < 2 for label in (0, 1))
        if label_counts.min() < FOLDS or labels_in_one_fold:
            scarce = int(label_counts.argmin())
            raise InvalidAttackConfig(
                f"a subset of {len(labels)} records has only {label_counts[scarce]} with Y={scarce}; "
                f"estimating I(X;Y) needs at least {FOLDS} of each label (raise n, the records in the subset, or lower alpha)",
                options=["n", "alpha"],
            )
        predicted = cross_val_predict(
            LogisticRegression(),
            self._features[indices],
            labels,
            cv=PredefinedSplit(folds),
            method="predict_proba",
        )
        return max(0.0, float(entropy(label_counts) - log_loss(labels, predicted, labels=[0, 1])))
