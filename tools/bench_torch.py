#!/usr/bin/env python3
"""bench_torch.py - torch.autograd.gradcheck on bench_check's networks.

Usage: python3 tools/bench_torch.py [--reps N] [--only NAME]
                                    [--threads T] [--modes slow,fast]

Builds the networks of tools/bench_check.c (batch 32, inputs U[0, 1),
weights N(0, 1/fan_in), biases 0, tanh hidden layers, softmax with
cross-entropy, float64) and times torch.autograd.gradcheck of the loss
with respect to every parameter tensor, in its per-element mode
(fast_mode=False: two forward passes per parameter) and its fast mode
(fast_mode=True: one random projection per tensor).  The values are
drawn by torch's own generator, not GSL's, so they differ from the C
benchmark's; the shapes, distributions and work are the same.

Prints one line per network and mode to stdout:

    torch NAME MODE MEDIAN_MS MIN_MS PASSED

bench_check reads these lines (its --torch option) and prints ratios.
Exit status: 0 done, 1 a gradcheck of a correct network failed, 2 torch
is not importable or bad usage.
"""
import argparse
import statistics
import sys
import time

NETWORKS = {
    "64-32-10/xent": [64, 32, 10],
    "784-64-10/xent": [784, 64, 10],
    "784-128-64-10/xent": [784, 128, 64, 10],
}
BATCH = 32
SEED = 7


def build(widths, torch):
    gen = torch.Generator().manual_seed(SEED)
    x = torch.rand(BATCH, widths[0], dtype=torch.float64, generator=gen)
    y = torch.randint(0, widths[-1], (BATCH,), generator=gen)
    params = []
    for fan_in, width in zip(widths[:-1], widths[1:]):
        w = torch.randn(width, fan_in, dtype=torch.float64, generator=gen)
        w /= fan_in ** 0.5
        params.append(w.requires_grad_())
        params.append(torch.zeros(width, dtype=torch.float64,
                                  requires_grad=True))
    return x, y, params


def loss_function(x, y, torch):
    def loss(*params):
        a = x
        layers = len(params) // 2
        for layer in range(layers):
            z = a @ params[2 * layer].T + params[2 * layer + 1]
            a = torch.tanh(z) if layer + 1 < layers else z
        return torch.nn.functional.cross_entropy(a, y)
    return loss


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--only", default=None)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--modes", default="slow,fast")
    args = parser.parse_args()
    try:
        import torch
    except ImportError as e:
        print(f"bench_torch: torch is not importable: {e}", file=sys.stderr)
        return 2
    if args.only is not None and args.only not in NETWORKS:
        print(f"bench_torch: no network '{args.only}'", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    failed = 0
    for name, widths in NETWORKS.items():
        if args.only is not None and name != args.only:
            continue
        x, y, params = build(widths, torch)
        fn = loss_function(x, y, torch)
        for mode in args.modes.split(","):
            times = []
            ok = True
            for _ in range(args.reps):
                start = time.perf_counter()
                ok = torch.autograd.gradcheck(
                    fn, tuple(params), eps=1e-6, atol=1e-5, rtol=1e-3,
                    fast_mode=(mode == "fast"), raise_exception=False)
                times.append((time.perf_counter() - start) * 1e3)
            failed += not ok
            print(f"torch {name} {mode} {statistics.median(times):.3f} "
                  f"{min(times):.3f} {int(ok)}", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
