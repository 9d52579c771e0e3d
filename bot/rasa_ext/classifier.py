"""Rasa's count-vector featurizer and LogisticRegressionClassifier, doing only the work the classifier uses.

- The classifier reads sentence features only (one row per message). Rasa's CountVectorsFeaturizer also makes
  per-word (sequence) features, one vectorizer call per word; `SentenceCountVectorsFeaturizer` makes the sentence
  features alone, the same way.
- Rasa's own classifier asks each message for all its sparse features, which joins every featurizer's per-word
  (sequence) matrices too, copies them and throws them away. This one joins the sentence features alone, in the
  same order: the very same matrix.
- scikit-learn multiplies by `coef_.T`, and scipy copies that (21 x 15,000 numbers) into row order on every call.
  Stored column-major, `coef_.T` is already in row order: the same numbers into the same scipy kernel, no copy.
Together they were about a fifth of a turn (benchmarks/README.md). The answers are bit for bit Rasa's
(tests/test_engine.py). In training, the featurizers count the training data in one batch, and the classifier is
stored as plain arrays rather than Rasa's skops file (importing skops takes seconds): the same features and the
same numbers (tests/test_training_speedups.py). These overrides of Rasa's private `_create_features` and
`_create_X` are the components' own classes, so they stay here, beside the components; they are speed-ups
(bot/rasa_ext/speedups/README.md), and with `SIGNPOST_SPEEDUPS=0` each does exactly what Rasa's own method does.
"""

import re
import warnings
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import ACTION_NAME, FEATURE_TYPE_SENTENCE, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, spmatrix, vstack
from sklearn.exceptions import ConvergenceWarning

from bot.settings import speedups

# The classifier's fitted numbers in the model (``SentenceLogisticRegression.persist``).
ARRAYS = "classifier.npz"
_DIGIT = re.compile(r"[0-9]")  # what Rasa's number pattern (\b[0-9]+\b) needs to find anything


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class SentenceCountVectorsFeaturizer(CountVectorsFeaturizer):
    """CountVectorsFeaturizer making only the sentence features (Rasa's code for them, unchanged)."""

    def _process_tokens(self, tokens: List[str], attribute: str = TEXT) -> List[str]:
        # Rasa writes every number as __NUMBER__ with one regular expression per token (a sixth of the featurizer's
        # time); in a message without a digit there is none, and one search of all its tokens says so.
        if not speedups() or attribute in (INTENT, ACTION_NAME, INTENT_RESPONSE_KEY) or _DIGIT.search("".join(tokens)):
            return super()._process_tokens(tokens, attribute)
        return [token.lower() for token in tokens] if self.lowercase else list(tokens)

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Rasa's, with the messages counted in one batch (bot/rasa_ext/speedups/featurizer.py): the same features."""
        if not speedups():
            return super().process_training_data(training_data)
        from bot.rasa_ext.speedups.featurizer import process  # it imports this module

        process(self, training_data.training_examples)
        return training_data

    def _create_features(
        self, attribute: str, all_tokens: List[List[str]]
    ) -> Tuple[List[Optional[spmatrix]], List[Optional[spmatrix]]]:
        if not speedups():
            return super()._create_features(attribute, all_tokens)
        vectorizer = self.vectorizers.get(attribute)
        if not vectorizer:
            return [None], [None]
        sentences: List[Optional[spmatrix]] = []
        for tokens in all_tokens:
            if not tokens or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
                sentences.append(None)
                continue
            sentence = vectorizer.transform([" ".join(tokens)])
            sentence.sort_indices()
            sentences.append(sentence.tocoo())
        return [None] * len(all_tokens), sentences


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceLogisticRegression(LogisticRegressionClassifier):
    """LogisticRegressionClassifier with cheaper ways to the same feature matrix and the same products.

    Two options Rasa's does not have, both part of the model (the same with and without the speed-ups):
    `normalize: each_featurizer` scales each message's counts from each featurizer to length 1, and `C` is
    scikit-learn's inverse regularisation strength (why, and the measurements, are in config.yml).
    """

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        return {**LogisticRegressionClassifier.get_default_config(), "normalize": None, "C": 1.0}

    def __init__(self, config: Dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(config, *args, **kwargs)
        self.clf.set_params(C=self.config["C"])

    def train(self, training_data: TrainingData) -> Resource:
        # The fit stops at `max_iter` steps on purpose (config.yml says why), so scikit-learn's warning that it
        # has not converged says nothing a maintainer should act on.
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=ConvergenceWarning)
            return super().train(training_data)

    def persist(self) -> None:
        """The fitted numbers as plain arrays (``ARRAYS``) instead of Rasa's skops file: importing skops takes
        seconds (it walks every loaded module to list trusted types), at training and again at every start."""
        if not speedups():
            return super().persist()
        with self._model_storage.write_to(self._resource) as model_dir:
            np.savez(
                model_dir / ARRAYS,
                coef=self.clf.coef_,
                intercept=self.clf.intercept_,
                classes=np.asarray(self.clf.classes_, dtype=str),
                n_iter=self.clf.n_iter_,
            )

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> "SentenceLogisticRegression":
        component = None
        try:
            with model_storage.read_from(resource) as model_dir:
                if (model_dir / ARRAYS).exists():
                    component = cls(config, execution_context.node_name, model_storage, resource)
                    with np.load(model_dir / ARRAYS, allow_pickle=False) as arrays:  # numbers only, no code
                        component.clf.coef_ = arrays["coef"]
                        component.clf.intercept_ = arrays["intercept"]
                        component.clf.classes_ = arrays["classes"]
                        component.clf.n_iter_ = arrays["n_iter"]
                    component.clf.n_features_in_ = component.clf.coef_.shape[1]
        except ValueError:  # no such resource: Rasa's own load says so
            pass
        if component is None:  # a model saved by Rasa's persist (trained with SIGNPOST_SPEEDUPS=0)
            component = super().load(config, model_storage, resource, execution_context, **kwargs)
        if speedups():
            component.clf.coef_ = np.asfortranarray(component.clf.coef_)
        return component

    def process(self, messages: List[Message]) -> List[Message]:
        """Rasa's `process`, with each message's ranking sorted by numpy and only its kept part (ranking_length,
        10) made into dicts, not all 68: the same order (a stable sort by falling probability, as Rasa's `sorted`),
        the same values and types, the intent the ranking's first dict as in Rasa's."""
        if not speedups():
            return super().process(messages)
        probabilities = self.clf.predict_proba(self._create_X(messages))
        intents, length = self.clf.classes_, self.config[RANKING_LENGTH]
        for message, row in zip(messages, probabilities):
            order = np.argsort(-row, kind="stable")
            ranking = [{"name": intents[i], "confidence": row[i]} for i in (order[:length] if length > 0 else order)]
            message.set(INTENT, ranking[0], add_to_output=True)
            message.set("intent_ranking", ranking, add_to_output=True)
        return messages

    def _create_X(self, messages: List[Message]) -> csr_matrix:
        """The matrix the classifier reads, in training and in use: the features, scaled as configured."""
        features = self._features(messages)
        if self.config["normalize"] != "each_featurizer" or not messages:
            return features
        widths = [
            f.features.shape[1]
            for f in messages[0].features
            if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
        ]
        return _each_part_to_length_one(features, widths)

    def _features(self, messages: List[Message]) -> csr_matrix:
        """Rasa's feature matrix (its `_create_X`), made from the sentence features alone."""
        if not speedups():
            return super()._create_X(messages)
        stacked = _stacked(messages)
        if stacked is not None:
            return stacked
        rows = []
        for message in messages:
            parts = [
                f.features
                for f in message.features
                if f.attribute == TEXT and f.type == FEATURE_TYPE_SENTENCE and f.is_sparse()
            ]
            dense = message.get_dense_features(attribute=TEXT)[1]
            if dense is not None:
                parts.append(csr_matrix(dense.features))
            rows.append(_side_by_side(parts) if parts else csr_matrix([]))
        return rows[0] if len(rows) == 1 else vstack(rows, format="csr")


def _side_by_side(parts: List[spmatrix]) -> csr_matrix:
    """One-row matrices joined left to right, as scipy's hstack joins them, without its general block code."""
    rows = [part.tocoo() for part in parts]
    offsets = np.cumsum([0] + [row.shape[1] for row in rows])
    data = np.concatenate([row.data for row in rows])
    columns = np.concatenate([row.col + offset for row, offset in zip(rows, offsets)])
    joined = csr_matrix((data, columns, [0, len(data)]), shape=(1, int(offsets[-1])))
    joined.sort_indices()  # as scipy's conversion leaves them: the same order of sums, the same numbers
    return joined


def _stacked(messages: List[Message]) -> Optional[csr_matrix]:
    """The batch's matrix in one go when every message has only sparse sentence features, or None.

    The same numbers in the same places as joining each message's row (`_side_by_side`) and stacking the rows
    (scipy's `vstack` concatenates CSR rows as they are): each message's parts side by side, left to right, their
    columns sorted. It skips a CSR matrix per message and Rasa's search for dense features per message (a tenth
    of a long message's time). A message with a dense feature, or none at all, goes the way above.
    """
    data: List[np.ndarray] = []
    columns: List[np.ndarray] = []
    indptr, width = [0], None
    for message in messages:
        row_data, row_columns, offset = [], [], 0
        for f in message.features:
            if f.attribute != TEXT or f.type != FEATURE_TYPE_SENTENCE:
                continue
            if not f.is_sparse():
                return None
            part = f.features.tocoo()
            row_data.append(part.data)
            row_columns.append(part.col.astype(np.int64) + offset)
            offset += part.shape[1]
        if not row_data or width not in (None, offset):
            return None
        width = offset
        row_columns_joined = np.concatenate(row_columns)
        order = np.argsort(row_columns_joined, kind="stable")  # as `sort_indices` leaves a row (no repeats)
        data.append(np.concatenate(row_data)[order])
        columns.append(row_columns_joined[order])
        indptr.append(indptr[-1] + len(order))
    return csr_matrix((np.concatenate(data), np.concatenate(columns), indptr), shape=(len(messages), width))


def _each_part_to_length_one(features: spmatrix, widths: List[int]) -> csr_matrix:
    """Each message's counts from each featurizer (the columns of ``widths``, left to right) scaled to length 1,
    so that neither a long message nor the many character n-grams outweigh the rest. Dense columns after
    them, if any, stay as they are. A new matrix: the messages' own features stay counts."""
    scaled = csr_matrix(features, dtype=np.float64, copy=True)
    edges = np.cumsum([0] + widths)
    part = np.searchsorted(edges, scaled.indices, side="right") - 1  # the featurizer of each stored number
    row = np.repeat(np.arange(scaled.shape[0]), np.diff(scaled.indptr))
    squares = np.zeros((scaled.shape[0], len(widths) + 1))
    np.add.at(squares, (row, part), scaled.data**2)
    lengths = np.sqrt(squares)
    lengths[:, len(widths)] = 1.0  # dense features: unscaled
    lengths[lengths == 0] = 1.0
    scaled.data /= lengths[row, part]
    return scaled
