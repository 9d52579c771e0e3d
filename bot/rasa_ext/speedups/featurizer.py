"""The sentence featurizers (bot/rasa_ext/classifier.py) run on a batch of messages at once, words counted once.

Replaces the function the graph node of each `SentenceCountVectorsFeaturizer` calls (`GraphNode._fn`, private) with
`process` below. Rasa's `CountVectorsFeaturizer.process` calls scikit-learn's `transform` once per message; a long
message is read whole and then sentence by sentence in one batch (bot/long_messages.py), so that is one call, with
its checks and its sparse-matrix building, per sentence per featurizer. And a character n-gram featurizer
("char_wb") cuts every word into the same n-grams every time it sees it.

Here every message of the batch is counted in one go, and for "char_wb" a word's n-grams are counted by word:
scikit-learn's own `_char_wb_ngrams` cuts each whitespace-separated word on its own (the n-grams of a text are those
of its words, one after the other), so a text's counts are its words' counts added up. Words the model was trained
on (the word featurizer's vocabulary, nothing a young person typed) have their n-grams' columns worked out once at
load; any other word is cut when it comes and forgotten. A "word" featurizer's n-grams are counted from the
vectorizer's own analyser, without `transform`'s checks and matrix building. The matrix each message gets holds
exactly what `transform` builds: the same columns, counts and types (tests/test_engine.py checks it bit for bit
against Rasa's own `_create_features` on every message of every evaluation set).
"""

from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from rasa.nlu.constants import DENSE_FEATURIZABLE_ATTRIBUTES
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import coo_matrix
from sklearn.exceptions import NotFittedError
from sklearn.feature_extraction.text import CountVectorizer

from bot.rasa_ext.classifier import SentenceCountVectorsFeaturizer

Columns = np.ndarray  # one column number per n-gram of a word, repeats kept, in the order the n-grams come
Counter = Any  # WordColumns or WordNgrams: `count(text)` gives (columns, counts), columns in increasing order


class WordColumns:
    """For a "char_wb" vectorizer: the vocabulary columns of one word's n-grams, known words looked up."""

    def __init__(self, vectorizer: CountVectorizer, known_words: Sequence[str]) -> None:
        self.vectorizer = vectorizer
        self.vocabulary = vectorizer.vocabulary_
        self.preprocess = vectorizer.build_preprocessor()
        self.known: Dict[str, Columns] = {word: self.cut(word) for word in known_words if word and not word.isspace()}

    def cut(self, word: str) -> Columns:
        """scikit-learn's n-grams of one word (as `_char_wb_ngrams` cuts it inside a text), as columns."""
        vocabulary = self.vocabulary
        columns = [vocabulary[g] for g in self.vectorizer._char_wb_ngrams(word) if g in vocabulary]
        return np.array(columns, dtype=np.intp)

    def count(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        """(columns, counts) of a text, columns in increasing order, as `_count_vocab` counts it."""
        text = self.preprocess(self.vectorizer.decode(text))
        text = self.vectorizer._white_spaces.sub(" ", text)
        known = self.known
        parts = [known[word] if word in known else self.cut(word) for word in text.split()]
        if not parts:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.unique(np.concatenate(parts), return_counts=True)


class WordNgrams:
    """For a "word" vectorizer: a text's (columns, counts), as `_count_vocab` counts its analyser's n-grams."""

    def __init__(self, vectorizer: CountVectorizer) -> None:
        self.analyze = vectorizer.build_analyzer()  # the very function `transform` reads a text with
        self.vocabulary = vectorizer.vocabulary_

    def count(self, text: str) -> Tuple[np.ndarray, np.ndarray]:
        vocabulary = self.vocabulary
        columns = [vocabulary[gram] for gram in self.analyze(text) if gram in vocabulary]
        if not columns:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.intp)
        return np.unique(np.array(columns, dtype=np.intp), return_counts=True)


def _row(columns: np.ndarray, counts: np.ndarray, vectorizer: CountVectorizer) -> coo_matrix:
    """One message's sentence features as Rasa makes them: `transform`'s CSR row, indices sorted, as COO.

    Built as COO directly, columns already sorted: the same row, column and value arrays, of the same types, as the
    CSR row's `tocoo()`, without scipy's conversions and checks (a third of the featurizers' time).
    """
    # `transform` counts in C ints and the matrix holds the vectorizer's type: the same values either way.
    values = np.ones(len(counts), dtype=np.intc) if vectorizer.binary else counts.astype(np.intc)
    row = np.zeros(len(columns), dtype=np.int32)
    return _coo(values.astype(vectorizer.dtype), row, columns.astype(np.int32), (1, len(vectorizer.vocabulary_)))


def _coo(data: np.ndarray, row: np.ndarray, col: np.ndarray, shape: Tuple[int, int]) -> coo_matrix:
    """`coo_matrix((data, (row, col)), shape)` for arrays already of its types (int32 indices): its attributes set
    as its constructor sets them, without its checks, when this scipy's matrix has exactly these attributes."""
    if not _COO_FIELDS:
        return coo_matrix((data, (row, col)), shape=shape)
    matrix = coo_matrix.__new__(coo_matrix)
    matrix.__dict__.update(_COO_FIELDS, _shape=shape, row=row, col=col, data=data)
    return matrix


def _coo_fields() -> Dict[str, Any]:
    """The attributes a COO matrix's constructor sets besides its arrays and shape, or {} if they are not the known
    ones (another scipy: then the constructor is used)."""
    one = np.zeros(1, dtype=np.int32)
    sample = coo_matrix((np.ones(1), (one, one)), shape=(1, 1))
    if set(vars(sample)) != {"_shape", "maxprint", "row", "col", "data", "has_canonical_format"}:
        return {}
    return {"maxprint": sample.maxprint, "has_canonical_format": False}


_COO_FIELDS = _coo_fields()


def _rows(featurizer: Any, vectorizer: CountVectorizer, texts: List[str]) -> List[coo_matrix]:
    # None in training (no n-grams looked up yet): the batch goes through scikit-learn's `transform`
    columns: Optional[Counter] = getattr(featurizer, "_signpost_word_columns", {}).get(id(vectorizer))
    if columns is not None:
        return [_row(*columns.count(text), vectorizer) for text in texts]
    matrix = vectorizer.transform(texts)  # one call for the batch; each row is what a call of its own gives
    return [_row(matrix.indices[a:b], matrix.data[a:b], vectorizer) for a, b in zip(matrix.indptr, matrix.indptr[1:])]


def process(featurizer: Any, messages: List[Message]) -> List[Message]:
    """`CountVectorsFeaturizer.process` for `SentenceCountVectorsFeaturizer`: the same features on the messages."""
    if not featurizer.vectorizers:
        return type(featurizer).process(featurizer, messages)  # Rasa's own, with its error message
    for attribute in featurizer._attributes:
        vectorizer = featurizer.vectorizers.get(attribute)
        if not vectorizer or attribute not in DENSE_FEATURIZABLE_ATTRIBUTES:
            continue  # Rasa's sentence features are None here: nothing is added
        todo = []
        for message in messages:
            tokens = featurizer._get_processed_message_tokens_by_attribute(message, attribute)
            if tokens:
                todo.append((message, " ".join(tokens)))
        if not todo:
            continue
        for (message, _), row in zip(todo, _rows(featurizer, vectorizer, [text for _, text in todo])):
            featurizer.add_features_to_message(None, row, attribute, message)
    return messages


def _fitted(featurizer: Any) -> List[CountVectorizer]:
    """The featurizer's vectorizers that have a vocabulary (those of attributes without training data have none)."""
    fitted = []
    for vectorizer in (featurizer.vectorizers or {}).values():
        try:
            vectorizer._check_vocabulary()  # what its first `transform` does: `vocabulary_` from the loaded vocabulary
        except (NotFittedError, ValueError):
            continue
        fitted.append(vectorizer)
    return fitted


def _known_words(featurizers: Sequence[Any]) -> List[str]:
    """The single words of every word featurizer's vocabulary: words of the training data."""
    words = set()
    for featurizer in featurizers:
        for vectorizer in _fitted(featurizer):
            if vectorizer.analyzer == "word":
                words.update(term for term in vectorizer.vocabulary_ if " " not in term)
    return sorted(words)


def _counter(vectorizer: CountVectorizer, words: Sequence[str]) -> Optional[Counter]:
    """How to count a text for this vectorizer without `transform`, or None (then `transform` counts the batch)."""
    if vectorizer.input != "content":
        return None
    if vectorizer.analyzer == "char_wb":
        return WordColumns(vectorizer, words)
    if vectorizer.analyzer == "word":
        return WordNgrams(vectorizer)
    return None


def install(agent: Any) -> None:
    """Every SentenceCountVectorsFeaturizer node of the agent's graph runs `process` (once: a second call keeps it)."""
    runner = agent.processor.graph_runner  # the sequential runner's nodes are the dask runner's
    nodes = [
        node
        for node in (getattr(runner, "_nodes", None) or runner._instantiated_nodes).values()
        if isinstance(node._component, SentenceCountVectorsFeaturizer) and node._fn_name == "process"
    ]
    featurizers = [node._component for node in nodes]
    words = _known_words(featurizers)
    for node, featurizer in zip(nodes, featurizers):
        if not hasattr(featurizer, "_signpost_word_columns"):
            featurizer._signpost_word_columns = {id(v): _counter(v, words) for v in _fitted(featurizer)}
        node._fn = process
