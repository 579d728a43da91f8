"""Which fortune-cookie file does a quote come from? A bidirectional LSTM against a bag-of-words baseline.

    python examples/fortunes_classifier.py              # about two minutes on two cores
    python examples/fortunes_classifier.py --epochs 8 --categories computers love science

Keras style, as the tutorials write it: Tokenizer → pad_sequences → Embedding → Bidirectional(LSTM) →
Dense(softmax). The baseline is multinomial logistic regression on TF-IDF word counts, also trained with
shendu. Both are scored by macro-F1 on a stratified held-out fifth. Needs Debian's ``fortunes`` package.
"""
import argparse
import time

import numpy as np

import shendu as sd
from shendu import metrics
from shendu.data.datasets import fortunes, stratified_split
from shendu.keras import Sequential, layers
from shendu.keras.preprocessing.sequence import pad_sequences
from shendu.keras.preprocessing.text import Tokenizer

CATEGORIES = ["computers", "food", "law", "love", "politics", "science", "sports", "startrek"]


def data(categories=CATEGORIES, seed=0, num_words=8000, maxlen=60):
    texts, labels, names = fortunes(categories)
    train_idx, test_idx = stratified_split(labels, test_size=0.2, seed=seed)
    train_idx = np.random.default_rng(seed).permutation(train_idx)   # validation_split takes the tail
    tok = Tokenizer(num_words=num_words, oov_token="<unk>")
    tok.fit_on_texts([texts[i] for i in train_idx])
    seqs = pad_sequences(tok.texts_to_sequences(texts), maxlen=maxlen, padding="post", truncating="post")
    bow = tok.texts_to_matrix(texts, mode="tfidf").astype(np.float32)
    return seqs, bow, labels, names, train_idx, test_idx


def lstm_model(num_words, classes):
    return Sequential([
        layers.Input(shape=(None,), dtype="int64"),
        layers.Embedding(num_words, 64, mask_zero=False),
        layers.Bidirectional(layers.LSTM(64)),
        layers.Dropout(0.3),
        layers.Dense(classes, activation="softmax"),
    ])


def bow_model(features, classes):
    return Sequential([layers.Input(shape=(features,)), layers.Dense(classes, activation="softmax")])


def fit_and_score(model, x, y, train_idx, test_idx, epochs, lr, verbose):
    model.compile(optimizer=sd.keras.optimizers.Adam(lr), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x[train_idx], y[train_idx], epochs=epochs, batch_size=64, verbose=verbose,
              validation_split=0.1)
    seconds = time.perf_counter() - start
    pred = model.predict(x[test_idx], verbose=0).argmax(axis=1)
    return {"macro_f1": float(metrics.f1_score(y[test_idx], pred, average="macro")),
            "accuracy": float(np.mean(pred == y[test_idx])), "train_seconds": seconds}


def run(categories=CATEGORIES, epochs=5, bow_epochs=20, seed=0, verbose=2):
    sd.manual_seed(seed)
    seqs, bow, y, names, train_idx, test_idx = data(categories, seed)
    classes = len(names)
    lstm = fit_and_score(lstm_model(8000, classes), seqs, y, train_idx, test_idx, epochs, 2e-3, verbose)
    sd.manual_seed(seed)
    base = fit_and_score(bow_model(bow.shape[1], classes), bow, y, train_idx, test_idx, bow_epochs, 5e-3,
                         verbose)
    result = {"categories": names, "train": len(train_idx), "test": len(test_idx), "bilstm": lstm,
              "bag_of_words": base}
    print(f"{classes} categories, {len(train_idx)} training / {len(test_idx)} test quotes")
    print(f"  BiLSTM        macro-F1 {lstm['macro_f1']:.3f}  accuracy {lstm['accuracy']:.3f}  "
          f"({lstm['train_seconds']:.0f} s)")
    print(f"  bag of words  macro-F1 {base['macro_f1']:.3f}  accuracy {base['accuracy']:.3f}  "
          f"({base['train_seconds']:.0f} s)")
    return result


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--categories", nargs="+", default=CATEGORIES)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    run(a.categories, epochs=a.epochs, seed=a.seed)
