#!/bin/sh
# confusion.sh - run every as-written mistake fixture and its correct
# control through gradcheck and print, in Markdown, which findings each
# one got: the confusion table of injected mistake against named finding.
#
# Usage: tools/confusion.sh [--strict] [--write-doc] [FIXTURE_DIR]
#   FIXTURE_DIR  default fixtures/networks; every mistake-*.cfg there that
#                does not end in -control.cfg is a mistake fixture, and
#                the same name with -control before .cfg is its control
#   --strict     exit 1 unless every mistake is named as expected and
#                every control is free of error findings
#   --write-doc  also replace the table in docs/confusion.md (between its
#                <!-- confusion:begin --> and <!-- confusion:end --> lines)
#   GRADCHECK    environment: the binary to run, default build/gradcheck
#
# Run from the repository root (the paths above are relative to it).
#
# This is a harness, not part of the checker.  It reads what gradcheck
# must not: the injected mistake, from the cfg's [as-written] section.
# What a fixture should be named comes from its [expect] findings when it
# has that section, else from its "; expected finding: ID" comment line.
# A mistake and its control must differ only in [as-written]; the harness
# refuses a pair that differs anywhere else (comments aside).
#
# Each run's findings come from its --json event stream (docs/json.md),
# read with python3.  Exit status: 0 (or 1 with --strict, above); 2 when a
# run could not be made or read (a config or data error, a missing binary).
set -eu

strict=0
write_doc=0
dir=fixtures/networks
for arg in "$@"; do
    case $arg in
    --strict) strict=1 ;;
    --write-doc) write_doc=1 ;;
    --help | -h)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0 ;;
    -*) printf 'confusion: unknown option %s (see --help)\n' "$arg" >&2
        exit 2 ;;
    *) dir=$arg ;;
    esac
done
gradcheck=${GRADCHECK:-build/gradcheck}

[ -x "$gradcheck" ] || {
    printf 'confusion: %s is not an executable; build it first (cmake --build build)\n' \
        "$gradcheck" >&2
    exit 2
}
command -v python3 > /dev/null || {
    printf 'confusion: python3 is needed to read the JSON event streams\n' >&2
    exit 2
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM
manifest=$work/manifest.tsv
: > "$manifest"

# run ROLE CFG: runs gradcheck on CFG and adds a manifest line
# role, cfg, json, exit status, seconds.
n=0
run() {
    n=$((n + 1))
    json=$work/$n.jsonl
    start=$(date +%s.%N)
    status=0
    "$gradcheck" --no-progress --color=never --json "$json" "$2" \
        > "$work/$n.out" 2> "$work/$n.err" || status=$?
    end=$(date +%s.%N)
    if [ "$status" -ge 2 ]; then
        printf 'confusion: %s: gradcheck exited %s:\n' "$2" "$status" >&2
        cat "$work/$n.err" >&2
        exit 2
    fi
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", b - a }')
    printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$json" "$status" "$seconds" \
        >> "$manifest"
}

found=0
for cfg in "$dir"/mistake-*.cfg; do
    case $cfg in
    *-control.cfg) continue ;;
    esac
    [ -e "$cfg" ] || continue
    control=${cfg%.cfg}-control.cfg
    [ -e "$control" ] || {
        printf 'confusion: %s has no control %s\n' "$cfg" "$control" >&2
        exit 2
    }
    found=$((found + 1))
    printf 'confusion: %s\n' "$cfg" >&2
    run mistake "$cfg"
    run control "$control"
done
[ "$found" -gt 0 ] || {
    printf 'confusion: no mistake-*.cfg in %s\n' "$dir" >&2
    exit 2
}

status=0
python3 - "$manifest" "$strict" > "$work/table.md" <<'PYTHON' || status=$?
import json
import sys

manifest, strict = sys.argv[1], sys.argv[2] == "1"


def fail(message):
    sys.stderr.write("confusion: " + message + "\n")
    sys.exit(2)


def read_cfg(path):
    """Sections of an INI file as {section: {key: value}}, its comment
    lines, and its other lines outside [as-written] and [expect], blanks
    normalised (for comparing a mistake with its control)."""
    sections, comments, rest = {}, [], []
    section = ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line:
                continue
            if line[0] in ";#":
                comments.append(line[1:].strip())
                continue
            for i in range(1, len(line)):   # inline comment: " ;"
                if line[i] == ";" and line[i - 1] in " \t":
                    line = line[:i].rstrip()
                    break
            if line.startswith("["):
                section = line.strip("[]").strip()
                sections.setdefault(section, {})
            else:
                key, _, value = line.partition("=")
                sections.setdefault(section, {})[key.strip()] = value.strip()
            if section not in ("as-written", "expect"):
                rest.append(" ".join(line.split()))
    return sections, comments, rest


def expected_ids(sections, comments):
    expect = sections.get("expect", {})
    if "findings" in expect:
        ids = [item.split("@")[0].strip()
               for item in expect["findings"].split(",")]
        return [i for i in ids if i and i != "none"]
    for line in comments:
        if line.startswith("expected finding:"):
            value = line.split(":", 1)[1].strip()
            return [] if value.startswith("none") else value.split()[:1]
    return None


def read_events(path):
    findings, run, summary = [], {}, {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                event = json.loads(line)
                kind = event.get("event")
                if kind == "finding":
                    findings.append(event)
                elif kind == "run":
                    run = event
                elif kind == "summary":
                    summary = event
    except (OSError, ValueError) as e:
        fail("%s: %s" % (path, e))
    return findings, run, summary


def ids_of(findings, errors):
    seen = []
    for f in findings:
        if (f["severity"] == "error") == errors and f["id"] not in seen:
            seen.append(f["id"])
    return seen


runs = []
with open(manifest, encoding="utf-8") as f:
    for line in f:
        role, cfg, path, status, seconds = line.rstrip("\n").split("\t")
        sections, comments, rest = read_cfg(cfg)
        findings, run, summary = read_events(path)
        runs.append({
            "role": role, "cfg": cfg, "status": int(status),
            "seconds": float(seconds),
            "injected": ["%s = %s" % kv
                         for kv in sections.get("as-written", {}).items()],
            "expected": expected_ids(sections, comments),
            "rest": rest,
            "errors": ids_of(findings, True),
            "others": ids_of(findings, False),
            "steps": summary.get("steps"),
            "trapped": summary.get("trapped", False),
            "version": run.get("version", "?"),
        })

pairs = list(zip(runs[0::2], runs[1::2]))
for mistake, control in pairs:
    if mistake["rest"] != control["rest"]:
        fail("%s and %s differ outside [as-written]"
             % (mistake["cfg"], control["cfg"]))
    if len(mistake["injected"]) != 1:
        fail("%s: expected one [as-written] key, got %d"
             % (mistake["cfg"], len(mistake["injected"])))
    if control["injected"]:
        fail("%s: a control sets [as-written] %s"
             % (control["cfg"], ", ".join(control["injected"])))
    if mistake["expected"] is None:
        fail("%s: no [expect] findings and no '; expected finding:' line"
             % mistake["cfg"])


def name(run):
    return run["cfg"].rsplit("/", 1)[-1]


def code(items):
    return ", ".join("`%s`" % i for i in items) if items else "none"


def verdict(run):
    if run["role"] == "control":
        return "clean" if not run["errors"] else "**false alarm**"
    named = run["errors"] + run["others"]
    if all(e in named for e in run["expected"]):
        return "named"
    return "**not named**"


out = []
out.append("gradcheck %s, %d mistake fixtures and their controls."
           % (runs[0]["version"], len(pairs)))
out.append("")
out.append("| fixture | injected | expected | error findings "
           "| other findings | exit | steps | time (s) | result |")
out.append("|---|---|---|---|---|---|---|---|---|")
for mistake, control in pairs:
    for run in (mistake, control):
        steps = "%s%s" % (run["steps"], " (trapped)" if run["trapped"] else "")
        out.append("| %s | %s | %s | %s | %s | %d | %s | %.2f | %s |" % (
            name(run), code(run["injected"]),
            code(run["expected"]), code(run["errors"]), code(run["others"]),
            run["status"], steps, run["seconds"], verdict(run)))

# The confusion table proper: one row per injected mistake; one column
# per expected id (in row order, so that a hit lies on the diagonal), then
# every other error id any run reported, then "(no error)".  A cell shows
# the severity with which that run reported that id.
columns = []
for mistake, _ in pairs:
    for i in mistake["expected"]:
        if i not in columns:
            columns.append(i)
others = sorted({i for run in runs for i in run["errors"]} - set(columns))
columns += others


def cell(run, column):
    for severity, ids in (("E", run["errors"]), ("W/I", run["others"])):
        if column in ids:
            return severity
    return ""


out.append("")
out.append("Confusion table: rows are the injected mistakes, columns the "
           "finding ids; E = reported as an error, W/I = as a warning or "
           "info.  The expected id is the column on the diagonal.")
out.append("")
out.append("| injected (fixture) | "
           + " | ".join("`%s`" % c for c in columns) + " | (no error) |")
out.append("|---|" + "---|" * (len(columns) + 1))
for mistake, _ in pairs:
    cells = [cell(mistake, c) for c in columns]
    cells.append("" if mistake["errors"] else "yes")
    out.append("| %s (%s) | %s |" % (
        code(mistake["injected"]), name(mistake), " | ".join(cells)))
cells = []
for c in columns:
    count = sum(1 for _, k in pairs if c in k["errors"])
    cells.append("%d E" % count if count else "")
cells.append("%d of %d" % (sum(1 for _, k in pairs if not k["errors"]),
                           len(pairs)))
out.append("| controls (nothing injected) | %s |" % " | ".join(cells))

named = sum(1 for m, _ in pairs if verdict(m) == "named")
clean = sum(1 for _, k in pairs if verdict(k) == "clean")
out.append("")
out.append("%d of %d mistakes named as expected; %d of %d controls free of "
           "error findings." % (named, len(pairs), clean, len(pairs)))
print("\n".join(out))
sys.exit(1 if strict and (named < len(pairs) or clean < len(pairs)) else 0)
PYTHON
[ "$status" -le 1 ] || exit "$status"
cat "$work/table.md"

if [ "$write_doc" -eq 1 ]; then
    doc=docs/confusion.md
    grep -q '^<!-- confusion:begin -->$' "$doc" &&
        grep -q '^<!-- confusion:end -->$' "$doc" || {
        printf 'confusion: %s lacks the confusion:begin/end lines\n' "$doc" >&2
        exit 2
    }
    awk -v table="$work/table.md" '
        /^<!-- confusion:begin -->$/ {
            print; while ((getline line < table) > 0) print line
            skip = 1; next
        }
        /^<!-- confusion:end -->$/ { skip = 0 }
        !skip' "$doc" > "$work/doc.md"
    cat "$work/doc.md" > "$doc"
    printf 'confusion: wrote the table into %s\n' "$doc" >&2
fi
exit "$status"
