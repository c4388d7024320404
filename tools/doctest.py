#!/usr/bin/env python3
"""doctest.py - run the commands shown in the docs and compare their output.

Usage: python3 tools/doctest.py --gradcheck BINARY [--full] [FILE.md ...]

With no FILE, every docs/walkthroughs/*.md and README.md is read.

What counts as a runnable command (docs/walkthroughs/AUTHORING.md says the
same for authors):

  - A line of an indented code block (four spaces) that starts with "$ "
    is a command, run by sh from a scratch directory in which fixtures/,
    docs/ and tools/ of the source tree are visible.  A command ending
    in a backslash continues on the next indented line.  A leading
    "gradcheck", "./build/gradcheck" or "build/gradcheck" runs BINARY,
    the gradcheck of the build tree under test.
  - The indented lines after it, up to the next command or the end of the
    block, are its expected output (standard output and standard error
    together).  The output may be trimmed: the expected lines must appear
    in the actual output in the same order, but lines may be left out
    between them.  Blank lines are ignored.
  - Within a line, runs of spaces count as one space, "..." matches any
    text (for timings and other volatile parts), and a number matches a
    number that rounds to it at the digits shown: "7.75e-02" matches
    0.077512, "25305" only 25305.
  - "[exit N]" as an expected line states the exit status; without it,
    the command must exit 0.
  - An HTML comment "<!-- doctest: skip REASON -->" before a block leaves
    the block's commands out (the runner prints the reason), and
    "<!-- doctest: full -->" marks a block that runs only with --full
    (commands that read the full Fashion-MNIST download).

Exit status 0 when every command ran and matched, 1 when one did not,
2 for a usage error.
"""

import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

NUMBER = r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?"
NUMBER_RE = re.compile(r"(?<![\w.])" + NUMBER + r"(?![\w])(?!\.\w)")
DIRECTIVE_RE = re.compile(r"<!--\s*doctest:\s*(skip|full)\b\s*(.*?)\s*-->")
EXIT_RE = re.compile(r"^\[exit (\d+)\]$")
BINARY_RE = re.compile(r"^(?:\./build/|build/)?gradcheck(?=\s|$)")
# One command may run this long (the slowest walkthrough command takes a
# few seconds under ASan; the full-data README runs up to a few minutes).
COMMAND_TIMEOUT = 900


class Command:
    def __init__(self, path, line, text, mode, reason):
        self.path, self.line, self.text = path, line, text
        self.mode, self.reason = mode, reason   # run | skip | full
        self.expected = []                      # (line number, text)
        self.exit_status = 0


def parse(path):
    """The commands of one Markdown file, in order."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    commands = []
    pending = ("run", "")      # the directive for the next block
    in_block = False
    mode = pending
    current = None
    fence = False
    i = 0
    while i < len(lines):
        raw = lines[i]
        if raw.lstrip().startswith("```"):
            fence = not fence
        directive = DIRECTIVE_RE.search(raw)
        if directive and not fence:
            pending = (directive.group(1), directive.group(2))
        indented = raw.startswith("    ") and not fence
        blank = raw.strip() == ""
        if indented and not in_block:
            in_block, mode, pending = True, pending, ("run", "")
        elif not indented and not blank:
            in_block, current = False, None
        if in_block and indented:
            body = raw[4:]
            if body.startswith("$ "):
                text, start = body[2:], i
                while text.endswith("\\") and i + 1 < len(lines):
                    i += 1
                    text = text[:-1] + " " + lines[i].strip()
                current = Command(path, start + 1, text, mode[0], mode[1])
                commands.append(current)
            elif current is not None and body.strip():
                status = EXIT_RE.match(body.strip())
                if status:
                    current.exit_status = int(status.group(1))
                else:
                    current.expected.append((i + 1, body))
        i += 1
    return commands


def normalise(text):
    return " ".join(text.split())


def line_pattern(expected):
    """A regex for one expected line and the numbers it shows."""
    parts, numbers, at = [], [], 0
    text = normalise(expected)
    for m in NUMBER_RE.finditer(text):
        parts.append(literal(text[at:m.start()]))
        parts.append("(" + NUMBER + ")")
        numbers.append(m.group(0))
        at = m.end()
    parts.append(literal(text[at:]))
    return re.compile("".join(parts)), numbers


def literal(text):
    pieces = text.split("...")
    return ".*?".join(re.escape(p) for p in pieces)


def digits_tolerance(shown):
    """Half a unit in the last digit shown."""
    mantissa, _, exponent = shown.lower().partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    scale = 10.0 ** (int(exponent) if exponent else 0)
    return 0.5 * 10.0 ** (-decimals) * scale


def line_matches(pattern, numbers, actual):
    m = pattern.fullmatch(normalise(actual))
    if not m:
        return False
    for shown, got in zip(numbers, m.groups()):
        tolerance = digits_tolerance(shown) * (1 + 1e-9)
        if abs(float(got) - float(shown)) > tolerance:
            return False
    return True


def compare(expected, actual_lines):
    """None when every expected line is found in order, else the first
    expected (line number, text) that is not."""
    at = 0
    for number, text in expected:
        pattern, numbers = line_pattern(text)
        while at < len(actual_lines) and not line_matches(
                pattern, numbers, actual_lines[at]):
            at += 1
        if at == len(actual_lines):
            return number, text
        at += 1
    return None


def scratch_dir(source):
    work = tempfile.mkdtemp(prefix="gradcheck-doctest-")
    for name in ("fixtures", "docs", "tools"):
        os.symlink(os.path.join(source, name), os.path.join(work, name))
    os.mkdir(os.path.join(work, "bin"))
    return work


def run(command, binary, work):
    text = BINARY_RE.sub(binary.replace("\\", "\\\\"), command.text)
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    start = time.monotonic()
    try:
        done = subprocess.run(["sh", "-c", text], cwd=work, env=env,
                              stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT,
                              timeout=COMMAND_TIMEOUT)
        output, status = done.stdout.decode("utf-8", "replace"), \
            done.returncode
    except subprocess.TimeoutExpired:
        output, status = "(timed out after %d s)" % COMMAND_TIMEOUT, -1
    return output, status, time.monotonic() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gradcheck", required=True,
                        help="the gradcheck binary under test")
    parser.add_argument("--source", default=os.path.dirname(
        os.path.dirname(os.path.abspath(__file__))),
        help="the source tree (default: this script's)")
    parser.add_argument("--full", action="store_true",
                        help="also run blocks marked doctest: full")
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    binary = os.path.abspath(args.gradcheck)
    if not os.access(binary, os.X_OK):
        print("doctest: %s is not an executable" % binary, file=sys.stderr)
        return 2
    files = args.files or sorted(glob.glob(os.path.join(
        args.source, "docs", "walkthroughs", "*.md"))) + [
        os.path.join(args.source, "README.md")]
    work = scratch_dir(args.source)
    failures, ran, skipped, total = 0, 0, 0, 0.0
    try:
        for path in files:
            commands = parse(path)
            name = os.path.relpath(path, args.source)
            if not [c for c in commands if c.mode != "skip"] and \
                    "walkthroughs" in name and \
                    not name.endswith("README.md"):
                print("FAIL %s: no runnable command ('    $ ...')" % name)
                failures += 1
            for c in commands:
                where = "%s:%d" % (name, c.line)
                if c.mode == "skip" or (c.mode == "full" and not args.full):
                    why = c.reason or "needs --full (full data set)"
                    print("skip %s: %s (%s)" % (where, c.text, why))
                    skipped += 1
                    continue
                output, status, seconds = run(c, binary, work)
                total += seconds
                ran += 1
                lines = output.split("\n")
                missing = compare(c.expected, lines)
                if missing is None and status == c.exit_status:
                    print("ok   %s: %s (%.1f s)" % (where, c.text, seconds))
                    continue
                failures += 1
                print("FAIL %s: %s (%.1f s)" % (where, c.text, seconds))
                if status != c.exit_status:
                    print("     exit status %d, the doc says %d" %
                          (status, c.exit_status))
                if missing is not None:
                    print("     %s:%d is not in the output (in order):" %
                          (name, missing[0]))
                    print("       " + missing[1].strip())
                print("     the output was:")
                for line in lines[:200]:
                    print("       | " + line)
                if len(lines) > 200:
                    print("       | ... (%d more lines)" % (len(lines) - 200))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("%d commands run in %.1f s, %d skipped, %d failed" %
          (ran, total, skipped, failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
