"""Make the small data set of graphs/classifier.yaml, reproducibly:

    python graphs/data/make_data.py        # writes blobs_X.npy and blobs_y.npy next to this file

Three blobs of four points each in 2-D (float64), with their class labels (int64). The numbers come
from numpy's default_rng(2024), so running this again gives byte-identical files.
"""

import os

import numpy as np

CENTERS = np.array([[-2.0, 0.0], [2.0, 1.0], [0.0, -2.5]])
PER_CLASS = 4


def make():
    rng = np.random.default_rng(2024)
    X = np.concatenate([c + rng.normal(0.0, 0.8, (PER_CLASS, 2)) for c in CENTERS])
    y = np.repeat(np.arange(len(CENTERS), dtype=np.int64), PER_CLASS)
    return np.round(X, 3), y


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    X, y = make()
    np.save(os.path.join(here, "blobs_X.npy"), X)
    np.save(os.path.join(here, "blobs_y.npy"), y)
