"""Suggesting category, subtype and tags: the rules file, and a model learned from the vault's filed documents.

The model never holds a word in the clear. Each token (jieba words and CJK bigrams of the normalized text,
from textnorm) is replaced by a keyed hash (BLAKE2b under the `classifier-features` subkey of the master key)
before scikit-learn's FeatureHasher sees it, so there is no vocabulary, and the saved model (a linear model
over hashed features) is itself encrypted with AES-256-GCM under another subkey (`classifier-model`) and
written atomically (temp file, fsync, rename). Without the key it can be neither read nor used to test
guessed words.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import threading
import tomllib
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from typing import TYPE_CHECKING

from clientfolio.adapters import textnorm
from clientfolio.adapters.fsutil import fsync_dir
from clientfolio.domain.classification import RuleSet, Suggestion, rules_from_dict
from clientfolio.domain.errors import InvalidInput, WrongKey
from clientfolio.domain.taxonomy import Taxonomy

if TYPE_CHECKING:  # scikit-learn takes seconds to import: only commands that learn or suggest pay for it
    from sklearn.linear_model import SGDClassifier

DEFAULT_RULES = Path(__file__).resolve().parent.parent / "data" / "classification.toml"
MODEL_FILE = "classifier.bin"
_AAD = b"clientfolio-classifier-v2"  # v2: zlib inside, separate feature and model keys
N_FEATURES = 2 ** 18  # 262,144 hashed features: a few MB of model per class set
MIN_DOCUMENTS, MIN_PER_CLASS = 10, 2
MAX_TEXT = 20_000  # characters of a document the classifier reads (the start says what a paper is)


def load_rules(home: Path, taxonomy: Taxonomy) -> RuleSet:
    """The default rules, extended (rule by rule) by the administrator's HOME/classification.toml."""
    rules = rules_from_dict(_toml(DEFAULT_RULES), taxonomy)
    extension = home / "classification.toml"
    return rules_from_dict(_toml(extension), taxonomy, base=rules) if extension.exists() else rules


def _toml(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidInput(f"{path.name}: cannot read the classification rules ({exc})") from None
    for rule in data.get("rule", []) if isinstance(data.get("rule"), list) else ():
        words = rule.get("keywords") if isinstance(rule, dict) else None
        if isinstance(words, list):  # keywords are matched against normalized text: 營業執照 as 营业执照
            rule["keywords"] = [textnorm.normalize(w) if isinstance(w, str) else w for w in words]
    return data


class Classifier:
    """Rules first; the learned model where it is more confident. Thread-safe; the model reloads when
    another process (`classifier train`) replaces the file."""

    def __init__(self, *, rules: RuleSet, model_path: Path, feature_key: bytes, model_key: bytes):
        self.rules, self.model_path = rules, model_path
        self._aead, self._feature_key = AESGCM(model_key), feature_key
        self._lock = threading.Lock()
        self._model, self._model_mtime = None, None

    def __repr__(self) -> str:
        return f"Classifier(model_path={self.model_path!r})"

    # -- features ------------------------------------------------------------------------------------
    def _features(self, texts: list[str]):
        from sklearn.feature_extraction import FeatureHasher
        hasher = FeatureHasher(n_features=N_FEATURES, input_type="string", alternate_sign=False)
        cache: dict[str, str] = {}  # each distinct token hashed once per call; gone (with its words) after it
        return hasher.transform(self._keyed_tokens(t, cache) for t in texts)

    def _keyed_tokens(self, text: str, cache: dict[str, str]) -> list[str]:
        words, bigrams = textnorm.analyze(text[:MAX_TEXT])
        out = []
        for token in words + bigrams:
            hashed = cache.get(token)
            if hashed is None:
                hashed = cache[token] = hashlib.blake2b(token.encode(), key=self._feature_key,
                                                        digest_size=8).hexdigest()
            out.append(hashed)
        return out

    # -- suggesting ----------------------------------------------------------------------------------
    def suggest(self, text: str, file_name: str = "") -> Suggestion | None:
        norm = textnorm.normalize(f"{file_name}\n{text[:MAX_TEXT]}")
        by_rules = self.rules.classify(norm)
        by_model = self._predict(text) if text.strip() else None
        if by_model is None:
            return by_rules
        if by_rules is None:
            return by_model
        if (by_rules.category, by_rules.subtype) == (by_model.category, by_model.subtype):
            return Suggestion(by_rules.category, by_rules.subtype, max(by_rules.confidence, by_model.confidence),
                              "rules+model", tuple(dict.fromkeys(by_rules.tags + by_model.tags)), by_rules.matched)
        return by_model if by_model.confidence > by_rules.confidence else by_rules

    def _predict(self, text: str) -> Suggestion | None:
        model = self._current_model()
        if model is None:
            return None
        x = self._features([text])
        probs = model["classes"].predict_proba(x)[0]
        best = int(np.argmax(probs))
        category, _, subtype = model["classes"].classes_[best].partition("/")
        tags = tuple(tag for tag, clf in model["tags"].items() if clf.predict_proba(x)[0][1] >= 0.5)
        return Suggestion(category, subtype or None, float(probs[best]), "model", tags)

    # -- training ------------------------------------------------------------------------------------
    def evaluate(self, texts: list[str], labels: list[str], *, holdout: float = 0.25, seed: int = 7) -> dict:
        """Accuracy on held-out documents (stratified), per class too; nothing is saved."""
        _check_training_set(labels)
        classes, held = len(set(labels)), math.ceil(holdout * len(labels))
        if held < classes or len(labels) - held < classes:
            raise InvalidInput(f"{len(labels)} documents in {classes} classes are too few to hold out one of each "
                               f"and learn from the rest: file more documents, or change --holdout")
        from sklearn.model_selection import train_test_split
        x_train, x_test, y_train, y_test = train_test_split(texts, labels, test_size=held, random_state=seed,
                                                            stratify=labels)
        model = _fit_classes(self._features(x_train), y_train)
        predicted = model.predict(self._features(x_test))
        hits = Counter(y for y, p in zip(y_test, predicted) if y == p)
        total, trained = Counter(y_test), Counter(y_train)
        confusions = Counter((y, p) for y, p in zip(y_test, predicted) if y != p)
        return {"documents": len(texts), "trained_on": len(x_train), "held_out": len(x_test),
                "accuracy": round(sum(hits.values()) / len(y_test), 4),
                "per_class": {c: {"trained": trained[c], "held_out": n, "correct": hits[c]}
                              for c, n in sorted(total.items())},
                "confusions": [{"true": y, "predicted": p, "count": n} for (y, p), n in confusions.most_common(5)]}

    def fit_and_save(self, texts: list[str], labels: list[str], tags: list[tuple[str, ...]]) -> dict:
        _check_training_set(labels)
        x = self._features(texts)
        model = {"classes": _fit_classes(x, labels), "tags": {}, "n_features": N_FEATURES}
        counts = Counter(tag for ts in tags for tag in set(ts))
        for tag, n in counts.items():  # one-vs-rest, for tags with enough examples on both sides
            y = [tag in ts for ts in tags]
            if n >= 3 and len(texts) - n >= 3:
                from sklearn.linear_model import SGDClassifier
                model["tags"][tag] = SGDClassifier(loss="log_loss", random_state=7, max_iter=50, tol=None).fit(x, y)
        self._save(model)
        return {"classes": sorted(set(labels)), "tags": sorted(model["tags"])}

    # -- the encrypted model file -------------------------------------------------------------------
    def _save(self, model: dict) -> None:
        buffer = io.BytesIO()
        pickle.dump(model, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        nonce = os.urandom(12)  # compressed first: the weights of hashed features never seen are zeros
        sealed = nonce + self._aead.encrypt(nonce, zlib.compress(buffer.getvalue(), 6), _AAD)
        tmp = self.model_path.with_name(f".{self.model_path.name}.{os.getpid()}")
        try:
            with tmp.open("wb") as f:
                f.write(sealed)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.model_path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        fsync_dir(self.model_path.parent)
        with self._lock:
            self._model, self._model_mtime = model, self.model_path.stat().st_mtime_ns

    def _current_model(self) -> dict | None:
        try:
            mtime = self.model_path.stat().st_mtime_ns
        except FileNotFoundError:
            return None
        with self._lock:
            if mtime != self._model_mtime:
                sealed = self.model_path.read_bytes()
                try:
                    plain = self._aead.decrypt(sealed[:12], sealed[12:], _AAD)
                except (InvalidTag, ValueError):
                    raise WrongKey("the classifier model was made with another key or was altered; "
                                   "run `clientfolio classifier train` again") from None
                model = pickle.loads(zlib.decompress(plain))  # noqa: S301 - our own file, authenticated by AES-GCM
                if model.get("n_features") != N_FEATURES:
                    raise InvalidInput("the classifier model was made by an older version; "
                                       "run `clientfolio classifier train` again")
                self._model, self._model_mtime = model, mtime
            return self._model

    def has_model(self) -> bool:
        return self.model_path.exists()


def _fit_classes(x, labels: list[str]) -> SGDClassifier:
    from sklearn.linear_model import SGDClassifier

    return SGDClassifier(loss="log_loss", alpha=1e-5, random_state=7, max_iter=50, tol=None,
                         class_weight="balanced").fit(x, labels)


def _check_training_set(labels: list[str]) -> None:
    counts = Counter(labels)
    if len(labels) < MIN_DOCUMENTS or len(counts) < 2:
        raise InvalidInput(f"not enough filed documents with text to learn from: {len(labels)} documents in "
                           f"{len(counts)} classes (need {MIN_DOCUMENTS} in 2 or more)")
    thin = sorted(c for c, n in counts.items() if n < MIN_PER_CLASS)
    if thin:
        raise InvalidInput(f"classes with fewer than {MIN_PER_CLASS} documents cannot be held out: {', '.join(thin)}")
