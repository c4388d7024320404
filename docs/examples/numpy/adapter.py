"""gradcheck's pipe protocol for network.py (docs/sources/pipe.md).

gradcheck starts this program, reads the declaration below from its
stdout, then sends requests on its stdin: a text line, then float64
little-endian values; each answer is "ok N" and N float64 values.
"""
import sys

import numpy as np

from network import Network

net = Network(correct="--correct" in sys.argv)
order = ["W1", "b1", "W2", "b2"]             # gradcheck's flat vector
shapes = [net.params[k].shape for k in order]
sizes = [int(np.prod(s)) for s in shapes]
inp, out = sys.stdin.buffer, sys.stdout.buffer


def say(text):
    out.write(text.encode() + b"\n")


def values(n):
    return np.frombuffer(inp.read(8 * n), dtype="<f8")


def answer(array):
    array = np.ascontiguousarray(array, dtype="<f8").ravel()
    say(f"ok {array.size}")
    out.write(array.tobytes())
    out.flush()


def load(flat):
    """The flat parameter vector into net.params."""
    at = 0
    for key, shape, size in zip(order, shapes, sizes):
        net.params[key] = flat[at:at + size].reshape(shape)
        at += size


say("GRADCHECK 1")
say("name numpy network.py" +
    (" (correct)" if net.correct else " (elementwise softmax derivative)"))
say("inputs 64")
say("outputs 10")
for key, shape in zip(order, shapes):
    kind = "weight" if key[0] == "W" else "bias"
    rows, cols = shape if len(shape) == 2 else (shape[0], 1)
    say(f"tensor layer{key[1]}.{key[0]} {kind} {key[1]} {rows} {cols}")
say("layer 1 32 sigmoid")
say("layer 2 10 softmax")
say("deltas")
say("end")
answer_count = sum(sizes)
out.flush()

x = labels = None
for line in inp:
    request = line.decode().split()
    if request[0] == "quit":
        break
    if request[0] == "init":
        answer(np.concatenate([net.params[k].ravel() for k in order]))
    elif request[0] == "batch":
        b = int(request[1])
        x = values(b * 64).reshape(b, 64)
        labels = values(b).astype(int)
        answer(np.zeros(0))
    elif request[0] == "loss":
        load(values(answer_count))
        answer(np.array([net.loss(x, labels)]))
    elif request[0] == "gradient":
        load(values(answer_count))
        loss, g = net.backward(x, labels)
        layers = [net.z1, net.a1, net.d1, net.z2, net.a2, net.d2]
        answer(np.concatenate([[loss]] + [g[k].ravel() for k in order] +
                              [v.ravel() for v in layers]))
