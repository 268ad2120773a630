"""CrisisDetector: the NLU component that decides whether a message is a crisis, and how sure.

Placed after the intent classifier and before FallbackClassifier in config.yml. Every message
goes through, in order (docs/safety.md):

1. **Normalisation** (bot.rasa_ext.nlu.crisis_text): case, stretched letters, leetspeak, censoring,
   spaced letters, misspellings and algospeak are made plain.
2. **Other languages**: a message in a language the assistant does not speak is checked with
   keyword lists of the most spoken languages; a crisis there is a crisis, anything else gets
   the intent ``other_language`` (a short multilingual reply naming the emergency number).
3. **The learned layer**, which carries recall: a logistic regression over the sentence
   encoder's embedding of the (normalised) message, trained here on the ``crisis_*`` examples
   of the training data against every other example and a file of everyday messages that
   share words with crisis talk (``negatives_file``). It gives P(crisis) and a category.
4. **The patterns** (bot.rasa_ext.nlu.crisis_patterns), on the lemmas of the normalised text: a
   backstop for the unmistakable, and the category when they name one.

Tiers (bot.clinic.crisis_categories): **certain** when an unmistakable pattern matches, or a weak one
(``WEAK_PATTERNS``: topic words, idioms) and the model does not rule it out (P >=
``confirm_threshold``), or the model alone is sure (P >= ``certain_threshold``);
**uncertain** when only a weaker signal is there (P >= ``uncertain_threshold``, or a pattern
the model all but rules out, P >= ``pattern_floor``); otherwise **none**. The model scores the
whole message and each of its sentences, and the most crisis-like one counts, so a crisis
inside an ordinary question is not diluted by the question. Certain sets ``crisis_<category>``, uncertain
sets ``safety_check``, both with confidence 1.0 so no fallback can undo them, and add a
``crisis`` property (tier, category, layer, pattern id, P; never the text) for the policy and
the action.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.featurizers.featurizer import Featurizer
from rasa.shared.nlu.constants import (
    FEATURE_TYPE_SENTENCE,
    FEATURE_TYPE_SEQUENCE,
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.clinic import crisis_categories as cc
from bot.clinic import textnorm
from bot.rasa_ext.nlu.base import set_certain_intent
from bot.rasa_ext.nlu.crisis_patterns import WEAK_PATTERNS, best_match, build_matcher, match_labels
from bot.rasa_ext.nlu.crisis_text import foreign_crisis, language, normalise, recovered_past
from bot.settings import REPO

logger = logging.getLogger(__name__)

CRISIS_PREFIX = cc.CRISIS_PREFIX
CRISIS_KEY = "crisis"
SPACY_DOC_KEY = "text_spacy_doc"  # where SpacyNLP puts the Doc (rasa.nlu.constants.SPACY_DOCS)
FILE = "crisis_detector.npz"
NONE_CLASS = "none"
MIN_WORDS = 3


def crisis_intent(category: str) -> str:
    """The intent name for a crisis category."""
    return cc.BY_NAME[category].intent if category in cc.BY_NAME else CRISIS_PREFIX + category


def read_examples(path: str | Path | None) -> list[tuple[str, str]]:
    """(category, text) rows of the detector's own examples file (``examples_file``: tab
    separated, a ``category text`` header, ``#`` comments); unknown categories are an error."""
    if not path or not Path(path).exists():
        return []
    rows = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(("#", "category\t")):
            continue
        category, _, text = line.partition("\t")
        if category not in cc.BY_NAME or not text.strip():
            raise ValueError(f"{path}:{number}: expected '<category>\t<text>' with a category "
                             f"of {', '.join(cc.NAMES)}; got {line[:60]!r}")
        rows.append((category, text.strip()))
    return rows


def read_negatives(path: str | Path | None) -> list[str]:
    """Lines of the hard-negatives file (``#`` comments and blank lines skipped)."""
    if not path or not Path(path).exists():
        return []
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _embedding(message: Message) -> np.ndarray | None:
    """The sentence encoder's embedding the featurizer left on the message (384 wide)."""
    for feature in message.features:
        if (feature.attribute == TEXT and feature.type == FEATURE_TYPE_SENTENCE
                and not feature.is_sparse() and feature.features.shape[-1] == 384):
            return np.asarray(feature.features, dtype=np.float32).reshape(-1)
    return None


HASH_FEATURES = 2 ** 16


def _hashers() -> tuple[Any, Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(ngram_range=(1, 2), n_features=HASH_FEATURES,
                              alternate_sign=False, norm="l2")
    chars = HashingVectorizer(analyzer="char_wb", ngram_range=(3, 5), n_features=HASH_FEATURES,
                              alternate_sign=False, norm="l2")
    return words, chars


def crisis_features(normal_texts: list[str], embeddings: np.ndarray) -> Any:
    """The learned layer's features: the sentence embedding, then hashed word 1-2-grams and
    character 3-5-grams of the normalised text (no vocabulary to store; misspellings still
    share most character n-grams with the word they miss)."""
    import scipy.sparse as sp

    words, chars = _hashers()
    return sp.hstack([sp.csr_matrix(embeddings), words.transform(normal_texts),
                      chars.transform(normal_texts)]).tocsr()


def _token_states(message: Message) -> np.ndarray | None:
    """The encoder's per-token states the featurizer left on the message (tokens x 384)."""
    for feature in message.features:
        if (feature.attribute == TEXT and feature.type == FEATURE_TYPE_SEQUENCE
                and not feature.is_sparse() and feature.features.shape[-1] == 384):
            return np.asarray(feature.features, dtype=np.float32)
    return None


# A sentence: up to the next full stop, question or exclamation mark, or line break; a
# clause after "also", "anyway", "btw" or "but" counts as one too ("quick question about my
# session, also i took all my pills").
SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
CLAUSE = re.compile(r",?\s+(?=(?:also|anyway|btw|but)\b)", re.IGNORECASE)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or clause of ``text``."""
    spans = []
    for sentence in SENTENCE.finditer(text):
        start = sentence.start()
        for cut in CLAUSE.finditer(text, sentence.start(), sentence.end()):
            if cut.start() > start:
                spans.append((start, cut.start()))
            start = cut.end()
        spans.append((start, sentence.end()))
    return spans


def sentence_units(text: str) -> list[str]:
    """The sentences and clauses of ``text`` the learned layer scores on their own (at least
    ``MIN_WORDS`` words each); empty when the text is one sentence."""
    spans = sentence_spans(text)
    if len(spans) < 2:
        return []
    units = [text[start:end].strip() for start, end in spans]
    return [u for u in units if len(u.split()) >= MIN_WORDS]


def _plain(text: str) -> str:
    return " ".join((text or "").lower().replace("’", "'").split())


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class CrisisDetector(GraphComponent, IntentClassifier):
    """Mark crisis messages (certain or uncertain tier); leave the others as they were."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Thresholds chosen on blind sets A, B and C together (docs/safety.md); set D, written
        after, gives the honest figure."""
        return {
            "certain_threshold": 0.5,
            "uncertain_threshold": 0.15,
            "confirm_threshold": 0.4,
            "pattern_floor": 0.02,
            "C": 16.0,
            "negatives_file": "data/safety/crisis_negatives.txt",
            # crisis messages for this layer alone: the intent classifier does not see them
            "examples_file": "data/safety/crisis_examples.tsv",
            "split_negatives": True,
            "spacy_model": None,
        }

    @classmethod
    def fingerprint_addon(cls, config: dict[str, Any]) -> str | None:
        """What Rasa's training cache cannot see: a hash of the files training reads.

        Rasa fingerprints a node by its class's source, its config and its inputs
        (rasa/engine/training/fingerprinting.py), so a change to the negatives file, or to
        the module-level code training runs (features, normalisation, the categories), would
        otherwise reuse the cached detector. The hash covers the negatives file's bytes and
        those source files; a missing negatives file hashes as missing."""
        config = {**cls.get_default_config(), **(config or {})}
        files = [config.get("negatives_file"), config.get("examples_file"),
                 sys.modules[__name__].__file__,
                 textnorm.__file__, cc.__file__]
        digest = hashlib.sha256()
        for name in files:
            if not name:
                continue
            path = Path(name)
            # the name as seen from the repository, so another checkout hits the same cache
            shown = path.resolve().relative_to(REPO) if path.resolve().is_relative_to(REPO) else path
            digest.update(str(shown).encode("utf-8") + b"\0")
            digest.update(path.read_bytes() if path.is_file() else b"<missing>")
            digest.update(b"\0")
        return digest.hexdigest()

    @classmethod
    def required_components(cls) -> list[type]:
        """It reads the sentence encoder's features (and the intent, when a classifier ran)."""
        return [Featurizer]

    def __init__(self, config: dict[str, Any], model_storage: ModelStorage | None = None,
                 resource: Resource | None = None,
                 arrays: dict[str, np.ndarray] | None = None) -> None:
        self.component_config = {**self.get_default_config(), **config}
        self._storage = model_storage
        self._resource = resource
        self.arrays = arrays
        self.certain_threshold = float(self.component_config["certain_threshold"])
        self.uncertain_threshold = float(self.component_config["uncertain_threshold"])
        self.confirm_threshold = float(self.component_config["confirm_threshold"])
        self.pattern_floor = float(self.component_config["pattern_floor"])
        self._matchers: dict[int, Any] = {}
        self._nlp: Any = None

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> CrisisDetector:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> CrisisDetector:
        try:
            with model_storage.read_from(resource) as folder, \
                    np.load(folder / FILE, allow_pickle=False) as stored:
                arrays = {name: stored[name] for name in stored.files}
        except (ValueError, FileNotFoundError):
            logger.warning("crisis detector: no trained model, patterns only")
            arrays = None
        return cls(config, model_storage, resource, arrays)

    # --- training ---------------------------------------------------------------------

    def _vectors(self, texts: list[str], messages: list[Message | None]) -> np.ndarray:
        """Embeddings of the normalised texts; the featurizer's own when nothing changed."""
        from bot.rasa_ext.nlu import encoder

        out = np.zeros((len(texts), 384), dtype=np.float32)
        todo = []
        for i, (text, message) in enumerate(zip(texts, messages)):
            normal = normalise(text)
            given = _embedding(message) if message is not None else None
            if given is not None and normal == _plain(text):
                out[i] = given
            else:
                todo.append((i, normal))
        if todo:
            out[[i for i, _ in todo]] = encoder.shared().encode([t for _, t in todo])
        return out

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        texts, messages, labels = [], [], []
        for example in training_data.intent_examples:
            intent, text = example.get(INTENT), example.get(TEXT)
            if not (intent and text):
                continue
            texts.append(text)
            messages.append(example)
            labels.append(cc.category_of_intent(intent) or NONE_CLASS)
        for category, text in read_examples(self.component_config.get("examples_file")):
            texts.append(text)
            messages.append(None)
            labels.append(category)
        for text in read_negatives(self.component_config.get("negatives_file")):
            texts.append(text)
            messages.append(None)
            labels.append(NONE_CLASS)
        if self.component_config.get("split_negatives"):
            # Prediction scores each sentence of a message alone and takes the most
            # crisis-like, so the sentences of an everyday message are everyday too on
            # their own ("I used to self harm at school. Six years clean now.").
            for text, label in list(zip(texts, labels)):
                if label == NONE_CLASS:
                    for unit in sentence_units(text):
                        texts.append(unit)
                        messages.append(None)
                        labels.append(NONE_CLASS)
        if not any(label != NONE_CLASS for label in labels):
            return self._resource
        x = crisis_features([normalise(t) for t in texts], self._vectors(texts, messages))
        model = LogisticRegression(C=float(self.component_config["C"]), max_iter=5000,
                                   random_state=1).fit(x, labels)
        self.arrays = {"coef": model.coef_.astype(np.float32),
                       "intercept": model.intercept_.astype(np.float32),
                       "classes": np.array(model.classes_, dtype=str)}
        with self._storage.write_to(self._resource) as folder:
            np.savez(folder / FILE, **self.arrays)
        return self._resource

    # --- prediction -------------------------------------------------------------------

    def _own_nlp(self) -> Any:
        """A tokenizer with lemmas, for normalised text and pipelines without a spaCy Doc."""
        if self._nlp is None:
            import spacy

            if self.component_config.get("spacy_model"):
                self._nlp = spacy.load(self.component_config["spacy_model"])
            else:
                self._nlp = spacy.blank("en")
                try:
                    self._nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
                    self._nlp.initialize()
                except (ValueError, OSError, ImportError):  # no lookup tables: LOWER/NORM still work
                    logger.warning("crisis detector: no lemmatizer tables, lemma patterns off")
                    self._nlp = spacy.blank("en")
        return self._nlp

    def _doc(self, message: Message, normal: str) -> Any:
        doc = message.get(SPACY_DOC_KEY)
        if doc is None or normal != _plain(message.get(TEXT)):
            doc = self._own_nlp()(normal)
        return doc

    def match(self, doc: Any) -> tuple[tuple[str, str] | None, bool]:
        """(category, pattern id) of the strongest crisis pattern in ``doc``, and minor age."""
        matcher = self._matchers.get(id(doc.vocab))
        if matcher is None:
            # patterns are stored as hashes in the vocab's StringStore: one matcher per vocab
            matcher = self._matchers[id(doc.vocab)] = build_matcher(doc.vocab)
        labels = match_labels(matcher, doc)
        return best_match(labels), any(label.startswith("age:") for label in labels)

    def _units(self, message: Message, normal: str) -> tuple[list[str], np.ndarray]:
        """The texts the learned layer scores, and their embeddings: the whole message, and
        each of its sentences when it has several (a crisis inside an ordinary question).

        A sentence's embedding is the mean of the encoder's token states over its span, from
        the features already computed for the message: no second run of the encoder."""
        texts = [normal]
        vectors = [self._vectors([message.get(TEXT)], [message])[0]]
        tokens = message.get(TOKENS_NAMES[TEXT]) or []
        states = _token_states(message)
        text = message.get(TEXT) or ""
        spans = sentence_spans(text)
        if len(spans) > 1 and states is not None and len(tokens) == states.shape[0]:
            for start, end in spans:
                rows = [i for i, t in enumerate(tokens) if t.start >= start and t.end <= end
                        and states[i].any()]
                if len(rows) < 3:
                    continue
                mean = states[rows].mean(0)
                texts.append(normalise(text[start:end]))
                vectors.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
        return texts, np.vstack(vectors).astype(np.float32)

    def probabilities(self, message: Message, normal: str) -> dict[str, float]:
        """P(class) for ``none`` and each category, for the message or the sentence of it
        that looks most like a crisis; empty when nothing was trained."""
        if self.arrays is None:
            return {}
        texts, vectors = self._units(message, normal)
        x = crisis_features(texts, vectors)
        scores = np.asarray(x @ self.arrays["coef"].T) + self.arrays["intercept"]
        classes = [str(c) for c in self.arrays["classes"]]
        if len(classes) == 2 and scores.shape[1] == 1:
            scores = np.hstack([np.zeros_like(scores), scores])
        scores = np.exp(scores - scores.max(axis=1, keepdims=True))
        scores /= scores.sum(axis=1, keepdims=True)
        none = classes.index(NONE_CLASS) if NONE_CLASS in classes else None
        best = 0 if none is None else int(np.argmin(scores[:, none]))
        return dict(zip(classes, scores[best].tolist()))

    def assess(self, message: Message) -> dict[str, Any]:
        """The verdict on one message: tier, category, layer, pattern, P(crisis), minor."""
        text = message.get(TEXT) or ""
        lang = language(text)
        if lang != "en":
            category = foreign_crisis(text, lang)
            return {"tier": cc.CERTAIN if category else cc.NONE, "category": category,
                    "layer": "language", "pattern": None, "p": None, "minor": False,
                    "language": lang}
        normal = normalise(text)
        matched, minor = self.match(self._doc(message, normal))
        # A one- or two-word message ("nothing", "8", "not really": a form's answers) says too
        # little for the learned layer; only the patterns ("kms", "suicidal") judge it.
        probs = self.probabilities(message, normal) if len(normal.split()) >= MIN_WORDS else {}
        p = 1.0 - probs.get(NONE_CLASS, 1.0) if probs else None
        if p is None and self.arrays is not None and matched is not None \
                and matched[1] in WEAK_PATTERNS:
            p = self.confirm_threshold  # a weak pattern alone in a short message: certain
        model_category = max((c for c in probs if c != NONE_CLASS), key=probs.get,
                             default=None)
        verdict = {"tier": cc.NONE, "category": None, "layer": None, "pattern": None,
                   "p": None if p is None else round(p, 3), "minor": minor, "language": "en"}
        strong = matched is not None and matched[1] not in WEAK_PATTERNS
        if matched is not None and (strong or p is None or p >= self.confirm_threshold):
            verdict.update(tier=cc.CERTAIN, category=matched[0], layer="pattern",
                           pattern=matched[1])
        elif p is not None and p >= self.certain_threshold:
            verdict.update(tier=cc.CERTAIN, category=model_category, layer="model")
        elif (p is not None and p >= self.uncertain_threshold) or (
                matched is not None and (p is None or p >= self.pattern_floor)):
            verdict.update(tier=cc.UNCERTAIN,
                           category=matched[0] if matched else model_category,
                           layer="pattern" if matched else "model",
                           pattern=matched[1] if matched else None)
        if verdict["tier"] == cc.CERTAIN and recovered_past(text):
            verdict["tier"] = cc.UNCERTAIN  # told as past and over: the check, not the alarm
            verdict["recovered"] = True
        return verdict

    @staticmethod
    def _demote_crisis_intents(message: Message) -> None:
        """Crisis intents the classifier put on top, which this detector did not confirm,
        give way to the next intent (which then faces FallbackClassifier like any other)."""
        top = message.get(INTENT) or {}
        if not str(top.get(INTENT_NAME_KEY, "")).startswith(CRISIS_PREFIX):
            return
        rest = [e for e in message.get(INTENT_RANKING_KEY) or []
                if not str(e.get(INTENT_NAME_KEY, "")).startswith(CRISIS_PREFIX)]
        if rest:
            message.set(INTENT, dict(rest[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, rest, add_to_output=True)

    def process(self, messages: list[Message]) -> list[Message]:
        """Mark crisis messages; leave every other message as it was."""
        for message in messages:
            if not message.get(TEXT):
                continue
            verdict = self.assess(message)
            previous = message.get(INTENT) or {}
            if verdict["tier"] == cc.NONE:
                if verdict["language"] != "en":
                    set_certain_intent(message, cc.OTHER_LANGUAGE_INTENT)
                    message.set(CRISIS_KEY, verdict, add_to_output=True)
                else:
                    self._demote_crisis_intents(message)
                continue
            verdict["category"] = verdict["category"] or cc.GENERAL
            verdict["model_intent"] = previous.get(INTENT_NAME_KEY)
            verdict["model_confidence"] = previous.get(PREDICTED_CONFIDENCE_KEY)
            intent = (crisis_intent(verdict["category"]) if verdict["tier"] == cc.CERTAIN
                      else cc.SAFETY_CHECK_INTENT)
            # Everything else goes to 0: FallbackClassifier can never turn it into a fallback.
            set_certain_intent(message, intent)
            message.set(CRISIS_KEY, verdict, add_to_output=True)
            logger.info("crisis detected: tier=%s category=%s layer=%s pattern=%s",
                        verdict["tier"], verdict["category"], verdict["layer"],
                        verdict["pattern"])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
