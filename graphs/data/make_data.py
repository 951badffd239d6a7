"""Make the small data sets of the example graphs, reproducibly:

    python graphs/data/make_data.py        # writes the .npy files next to this file

- blobs_X.npy, blobs_y.npy (graphs/classifier.yaml): three blobs of four points each in 2-D
  (float64), with their class labels (int64), from numpy's default_rng(2024).
- bars_X.npy, bars_y.npy (graphs/cnn.yaml): twelve 6x6 one-channel images (N, C, H, W) =
  (12, 1, 6, 6), float64, of a bar on a noisy background: a horizontal bar (class 0), a vertical
  one (class 1) or a diagonal (class 2), four of each at random places, with their labels (int64),
  from default_rng(2025).

Running this again gives byte-identical files (numbers rounded to 3 decimals).
"""

import os

import numpy as np

CENTERS = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]])
PER_CLASS = 4
SIDE = 6  # the images' height and width


def make():
    rng = np.random.default_rng(2024)
    X = np.concatenate([c + rng.normal(0.0, 0.8, (PER_CLASS, 2)) for c in CENTERS])
    y = np.repeat(np.arange(len(CENTERS), dtype=np.int64), PER_CLASS)
    return np.round(X, 3), y


def make_bars():
    rng = np.random.default_rng(2025)
    images, labels = [], []
    for label in range(3):
        for _ in range(PER_CLASS):
            image = rng.normal(0.0, 0.1, (SIDE, SIDE))
            at = int(rng.integers(1, SIDE - 1))
            if label == 0:
                image[at, :] += 1.0
            elif label == 1:
                image[:, at] += 1.0
            else:
                image[np.arange(SIDE), (np.arange(SIDE) + at) % SIDE] += 1.0
            images.append(image)
            labels.append(label)
    X = np.round(np.array(images)[:, None, :, :], 3)
    return X, np.array(labels, dtype=np.int64)


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    X, y = make()
    np.save(os.path.join(here, "blobs_X.npy"), X)
    np.save(os.path.join(here, "blobs_y.npy"), y)
    X, y = make_bars()
    np.save(os.path.join(here, "bars_X.npy"), X)
    np.save(os.path.join(here, "bars_y.npy"), y)
