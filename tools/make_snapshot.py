"""Writes the numpy snapshot fixtures in fixtures/snapshots/.

    /usr/bin/python3 tools/make_snapshot.py     (Debian's python3-numpy)

A from-scratch numpy 4-8-3 network (sigmoid hidden layer, softmax output,
mean squared error) on 16 standardized Iris samples, saved the way
docs/sources/snapshot.md says: x.npy, labels.npy, one <tensor>.npy per
parameter tensor and grad.<tensor>.npy for the network's own gradient.
Two snapshots: correct/ (the softmax Jacobian applied to dL/da) and
softmax-elementwise/ (dL/da times s(1-s), the mistake gradcheck names
softmax-jacobian-mismatch).  Deterministic: the files are the same on
every run with the same numpy.
"""
import os

import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "fixtures", "snapshots")


def load_iris():
    rows = [line.strip().split(",")
            for line in open(os.path.join(ROOT, "fixtures", "data",
                                          "iris.csv"))]
    rows = [r for r in rows if r and r[0][:1].isdigit()]
    x = np.array([[float(v) for v in r[:4]] for r in rows])
    names = sorted({r[4] for r in rows}, key=[r[4] for r in rows].index)
    labels = np.array([names.index(r[4]) for r in rows], dtype="<i8")
    return (x - x.mean(axis=0)) / x.std(axis=0), labels


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def gradients(p, x, labels, correct):
    """z = W a + b per layer; W is (outputs, inputs)."""
    y = np.eye(3)[labels]
    a1 = sigmoid(x @ p["layer1.W"].T + p["layer1.b"])
    s = softmax(a1 @ p["layer2.W"].T + p["layer2.b"])
    g = s - y
    if correct:
        d2 = s * (g - np.sum(s * g, axis=1, keepdims=True))
    else:
        d2 = g * s * (1 - s)
    d1 = (d2 @ p["layer2.W"]) * a1 * (1 - a1)
    n = len(x)
    return {"layer1.W": d1.T @ x / n, "layer1.b": d1.mean(axis=0),
            "layer2.W": d2.T @ a1 / n, "layer2.b": d2.mean(axis=0)}


def main():
    x, labels = load_iris()
    rng = np.random.default_rng(5)
    pick = rng.permutation(len(x))[:16]
    x, labels = x[pick], labels[pick]
    p = {"layer1.W": rng.normal(0, 0.5, (8, 4)), "layer1.b": np.zeros(8),
         "layer2.W": rng.normal(0, 8 ** -0.5, (3, 8)),
         "layer2.b": np.zeros(3)}
    for name, correct in (("correct", True), ("softmax-elementwise", False)):
        d = os.path.join(OUT, name)
        os.makedirs(d, exist_ok=True)
        np.save(os.path.join(d, "x.npy"), x.astype("<f8"))
        np.save(os.path.join(d, "labels.npy"), labels)
        g = gradients(p, x, labels, correct)
        for t in p:
            np.save(os.path.join(d, t + ".npy"), p[t].astype("<f8"))
            np.save(os.path.join(d, "grad." + t + ".npy"), g[t].astype("<f8"))


if __name__ == "__main__":
    main()
