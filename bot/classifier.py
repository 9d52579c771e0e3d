"""Rasa's LogisticRegressionClassifier, reading only the sentence features it classifies with.

Rasa's own version asks each message for all its sparse features, which joins every featurizer's per-word
(sequence) matrices too, copies them and throws them away: a fifth of a whole turn (benchmarks/README.md). This one
joins the sentence features alone, in the same order, so it builds the very same matrix and gives the very same
answers; training is Rasa's, unchanged.
"""

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import csr_matrix, hstack, vstack


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class SentenceLogisticRegression(LogisticRegressionClassifier):
    """LogisticRegressionClassifier with a cheaper way to the same feature matrix."""

    def _create_X(self, messages: List[Message]) -> csr_matrix:
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
            rows.append(hstack(parts) if parts else csr_matrix([]))
        return vstack(rows)
