#!/usr/bin/env python3
"""check_man.py - every option and command of `gradcheck --help` is in the
man page.

Usage: python3 tools/check_man.py GRADCHECK docs/gradcheck.1

Takes each --option and each command name ("gradcheck WORD") from the
help text, and looks for it in the man page with roff's escapes removed
(\\- is a hyphen; \\fB and friends are font changes).  Exit 0 when all
are there, 1 naming the missing ones.
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    help_text = subprocess.run([sys.argv[1], "--help"], check=True,
                               stdout=subprocess.PIPE).stdout.decode()
    with open(sys.argv[2], encoding="utf-8") as f:
        roff = f.read()
    plain = re.sub(r"\\f[BIRP]", "", roff).replace("\\-", "-")
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]*|-h)\b", help_text))
    commands = set(re.findall(r"gradcheck (trace|sweep)\b", help_text))
    missing = sorted(o for o in options if o not in plain)
    missing += sorted(".B %s" % c for c in commands
                      if ".B %s\n" % c not in roff)
    if missing:
        print("not in %s: %s" % (sys.argv[2], ", ".join(missing)))
        return 1
    print("%d options and %d commands of --help are in %s" %
          (len(options), len(commands), sys.argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
