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
(tests/test_engine.py), and training is Rasa's, unchanged. These overrides of Rasa's private `_create_features` and
`_create_X` are the components' own classes, so they stay here, beside the components; they are speed-ups
(bot/rasa_ext/speedups/README.md), and with `SIGNPOST_SPEEDUPS=0` each does exactly what Rasa's own method does.
"""

import re
from typing import Any, List, Optional, Tuple

import numpy as np
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.nlu.featurizers.sparse_featurizer.count_vectors_featurizer import CountVectorsFeaturizer
from rasa.shared.nlu.constants import ACTION_NAME, FEATURE_TYPE_SENTENCE, INTENT, INTENT_RESPONSE_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.utils.tensorflow.constants import RANKING_LENGTH
from scipy.sparse import csr_matrix, spmatrix, vstack

from bot.settings import speedups

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
    """LogisticRegressionClassifier with cheaper ways to the same feature matrix and the same products."""

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> "SentenceLogisticRegression":
        component = super().load(*args, **kwargs)
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
