#!/usr/bin/env python3
"""walkthrough_pictures.py - make the pictures of docs/walkthroughs/ again.

Usage: python3 tools/walkthrough_pictures.py [--gradcheck build/gradcheck]
           [--chromium /usr/bin/chromium] [--out docs/walkthroughs/img]
           [NAME ...]

For each lesson it runs the lesson's fixture with --html (lesson 5: the
sweep with --json, then `gradcheck report` of that file with --html),
adds a short style sheet to a copy of the page that hides every section
but the one the lesson is about, and takes a headless Chromium
screenshot of it at a device scale of 0.6, as docs/report-*.png were
made.  The crop is done by the page's own layout and the window size,
so no image tool is needed.  NAME picks pictures by their file name
(without .png); without one all are made.

Run it from the top of the repository after a build, and look at the
pictures before committing them.  CI does not run it: the doc test
(tools/doctest.py) already checks the lessons' commands and outputs, and
the HTML pages themselves are tested in tests/test_html.c; this script
only keeps the pictures of those pages from going stale.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

# The page's header stays, so each picture names its config; the rest is
# chosen per picture.  Hiding is by the ids and classes report_html.c and
# report_html.js write (docs/report.md lists the sections).
HIDE_RUN_PAGE = ".top, #glance, #training, #checks, #histograms, " \
                "#findings, #pages, #gc-status, header nav { display: none; }"

PICTURES = [
    {
        "name": "01-drifting-logits",
        "fixture": "walkthrough-drift.cfg",
        "style": HIDE_RUN_PAGE + " #training { display: block; }",
        "window": (1280, 720),
    },
    {
        "name": "02-error-over-training",
        "fixture": "walkthrough-derivative-growth.cfg",
        "style": HIDE_RUN_PAGE + " #checks { display: block; }",
        "window": (1280, 500),
    },
    {
        "name": "03-dead-relu-histograms",
        "fixture": "health-dead-relu.cfg",
        "style": HIDE_RUN_PAGE + " #histograms, #glance { display: block; }"
                 " #hist-grid > .layer ~ .layer { display: none; }",
        "window": (1280, 720),
    },
    {
        "name": "04-vanishing-weight-gradients",
        "fixture": "health-vanishing-gradients.cfg",
        # only the weight-gradient strip (the fifth) of every layer, three
        # layers to a row
        "style": HIDE_RUN_PAGE + " #histograms, #glance { display: block; }"
                 " #hist-grid { display: grid;"
                 " grid-template-columns: repeat(3, 1fr); gap: 0 8px; }"
                 " #hist-grid > .legend { grid-column: 1 / -1; }"
                 " .strips { display: block; }"
                 " .strip { display: none; }"
                 " .strip:nth-child(5) { display: block; }",
        "window": (1280, 800),
    },
    {
        "name": "05-step-size-sweep",
        "sweep": ("walkthrough-step-size.cfg", "layer2.W"),
        "style": "#sweep, #points, #gc-status, header nav "
                 "{ display: none; }",
        "window": (1280, 660),
    },
]

SIZE_MAX = 250 * 1024      # each picture under 250 KB (docs/walkthroughs)


def run(argv, cwd, ok=(0,)):
    done = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE)
    if done.returncode not in ok:
        sys.exit("%s exited %d:\n%s" % (" ".join(argv), done.returncode,
                                        done.stderr.decode(errors="replace")))
    return done


def make_page(picture, gradcheck, root, work):
    """Writes the picture's page into work; returns its path."""
    page = os.path.join(work, picture["name"] + ".html")
    if "sweep" in picture:
        fixture, tensor = picture["sweep"]
        jsonl = os.path.join(work, "sweep.jsonl")
        run([gradcheck, "sweep", "--tensor", tensor, "--json", jsonl,
             os.path.join("fixtures", "networks", fixture)], root)
        run([gradcheck, "report", jsonl, "--html", page], root)
    else:
        # the lessons' runs end with exit status 1 when they find errors
        run([gradcheck, "--quiet", "--no-progress", "--html", page,
             os.path.join("fixtures", "networks", picture["fixture"])],
            root, ok=(0, 1))
    return page


def add_style(page, style):
    """A copy of page with style added at the end of its head."""
    with open(page, encoding="utf-8") as f:
        html = f.read()
    if "</head>" not in html:
        sys.exit("%s: no </head>" % page)
    html = html.replace("</head>", "<style>\n%s\n</style>\n</head>" % style,
                        1)
    shot_page = page[:-len(".html")] + "-shot.html"
    with open(shot_page, "w", encoding="utf-8") as f:
        f.write(html)
    return shot_page


def screenshot(chromium, page, png, window, work):
    run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
         "--no-first-run", "--user-data-dir=" + os.path.join(work, "profile"),
         "--hide-scrollbars", "--force-device-scale-factor=0.6",
         "--window-size=%d,%d" % window, "--screenshot=" + png,
         "file://" + page], work)
    with open(png, "rb") as f:
        data = f.read()
    if not data.startswith(b"\x89PNG\r\n\x1a\n"):
        sys.exit("%s: not a PNG" % png)
    if len(data) > SIZE_MAX:
        sys.exit("%s: %d bytes, more than %d" % (png, len(data), SIZE_MAX))
    return len(data)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gradcheck", default="build/gradcheck")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default="docs/walkthroughs/img")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    root = os.getcwd()
    if not os.path.isdir(os.path.join(root, "fixtures", "networks")):
        sys.exit("run this from the top of the repository")
    gradcheck = os.path.abspath(args.gradcheck)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    chosen = [p for p in PICTURES if not args.names or p["name"] in args.names]
    if not chosen:
        sys.exit("no picture called %s" % ", ".join(args.names))
    work = tempfile.mkdtemp(prefix="gc-pictures-")
    try:
        for picture in chosen:
            page = make_page(picture, gradcheck, root, work)
            shot_page = add_style(page, picture["style"])
            png = os.path.join(out, picture["name"] + ".png")
            size = screenshot(args.chromium, shot_page, png,
                              picture["window"], work)
            print("%s  %d bytes" % (os.path.relpath(png, root), size))
    finally:
        shutil.rmtree(work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
