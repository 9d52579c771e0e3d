"""The classifier's `normalize: each_featurizer`: each featurizer's counts in a message scaled to length 1."""

import numpy as np
from scipy.sparse import hstack, random
from sklearn.preprocessing import normalize

from bot.rasa_ext.classifier import _each_part_to_length_one


def test_each_featurizers_columns_are_scaled_to_length_one_on_their_own():
    words = random(30, 50, density=0.1, format="csr", random_state=1) * 5
    pieces = random(30, 200, density=0.05, format="csr", random_state=2) * 3
    words[3] = 0  # a message with no known word: its row stays empty, no division by zero
    counts = hstack([words, pieces]).tocsr()
    before = counts.copy()
    scaled = _each_part_to_length_one(counts, [50, 200])
    expected = hstack([normalize(words), normalize(pieces)]).tocsr()
    assert np.allclose(scaled.toarray(), expected.toarray(), rtol=0, atol=1e-12)
    assert (counts != before).nnz == 0  # the messages' own features are not changed
    assert np.isfinite(scaled.data).all() and scaled[3, :50].count_nonzero() == 0


def test_dense_columns_after_the_featurizers_stay_as_they_are():
    counts = hstack([random(4, 10, density=0.5, format="csr", random_state=3), np.full((4, 2), 7.0)]).tocsr()
    scaled = _each_part_to_length_one(counts, [10])
    assert (scaled[:, 10:].toarray() == 7.0).all()
    assert np.allclose(np.linalg.norm(scaled[:, :10].toarray(), axis=1)[np.diff(counts[:, :10].indptr) > 0], 1.0)
