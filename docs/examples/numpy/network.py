"""A from-scratch numpy network, written the way many first attempts are.

64-32-10 on the 8x8 digits: sigmoid hidden layer, softmax output, mean
squared error.  It trains, slowly, and it has the mistake that started
gradcheck: the backward multiplies dL/da by the softmax derivative taken
element by element, s * (1 - s), as if softmax were a sigmoid.  The
true softmax Jacobian also has off-diagonal terms -s_i s_j
(Network(correct=True) applies it).

Shapes (B samples):
    x  (B, 64)      W1 (32, 64)  b1 (32,)   z1, a1 (B, 32)
                    W2 (10, 32)  b2 (10,)   z2, a2 (B, 10)
    loss = mean over the batch of 1/2 sum_k (a2 - y)^2
"""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class Network:
    def __init__(self, sizes=(64, 32, 10), seed=0, correct=False):
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.correct = correct
        self.params = {}
        for l in range(1, len(sizes)):
            fan_in = sizes[l - 1]
            self.params[f"W{l}"] = rng.normal(0, fan_in ** -0.5,
                                              (sizes[l], fan_in))
            self.params[f"b{l}"] = np.zeros(sizes[l])

    def forward(self, x):
        p = self.params
        self.z1 = x @ p["W1"].T + p["b1"]
        self.a1 = sigmoid(self.z1)
        self.z2 = self.a1 @ p["W2"].T + p["b2"]
        self.a2 = softmax(self.z2)
        return self.a2

    def loss(self, x, labels):
        y = np.eye(self.sizes[-1])[labels]
        a = self.forward(x)
        return 0.5 * np.sum((a - y) ** 2) / len(x)

    def backward(self, x, labels):
        """Gradients of loss(); keeps the per-sample deltas d1, d2."""
        p = self.params
        y = np.eye(self.sizes[-1])[labels]
        loss = self.loss(x, labels)
        s, g = self.a2, self.a2 - y
        if self.correct:                      # the Jacobian applied to g
            self.d2 = s * (g - np.sum(s * g, axis=1, keepdims=True))
        else:                                 # the mistake: diagonal only
            self.d2 = g * s * (1 - s)
        self.d1 = (self.d2 @ p["W2"]) * self.a1 * (1 - self.a1)
        n = len(x)
        grads = {"W2": self.d2.T @ self.a1 / n, "b2": self.d2.mean(axis=0),
                 "W1": self.d1.T @ x / n, "b1": self.d1.mean(axis=0)}
        return loss, grads
