#!/bin/sh
# make_tabular_fixtures.sh - write fixtures/data/iris.csv and
# fixtures/data/digits.csv from the copies that Debian's python3-sklearn
# package ships, in the CSV layout docs/data.md describes.
#
# Usage: tools/make_tabular_fixtures.sh [DEB_OR_DIR [OUTPUT_DIR]]
#   DEB_OR_DIR  a python3-sklearn .deb, or a directory it was extracted
#               into with dpkg-deb -x; default: fetch the .deb with
#               'apt-get download python3-sklearn' into a temporary
#               directory (nothing is installed)
#   OUTPUT_DIR  defaults to fixtures/data beside this script's directory
#
# The package's files:
#   usr/lib/python3/dist-packages/sklearn/datasets/data/iris.csv
#       first line "150,4,setosa,versicolor,virginica" (count, features,
#       class names), then 150 rows of 4 features and a class number
#   usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz
#       no header, 1797 rows of 64 pixels (0..16) and the digit
#
# What changes: iris gets a header naming its columns and its class
# numbers become the names the package's first line gives (0 setosa,
# 1 versicolor, 2 virginica: the loader numbers names in order of first
# appearance, so the classes keep their numbers); digits is decompressed
# and gets a header p0_0 .. p7_7, digit.  Every number is copied as the
# package writes it; rows stay in the package's order.  Line ends are LF.
#
# Needs POSIX sh, awk, gzip, sha256sum, dpkg-deb (and apt-get to fetch).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
from=${1:-}
out=${2:-$here/../fixtures/data}
datadir=usr/lib/python3/dist-packages/sklearn/datasets/data

# The sha256 of the package files these fixtures were made from
# (python3-sklearn 1.2.1+dfsg-1, Debian 12); another version may differ.
iris_sha=f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449
digits_sha=46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
    printf 'make_tabular_fixtures: %s\n' "$*" >&2
    exit 1
}

if [ -z "$from" ]; then
    (cd "$work" && apt-get download python3-sklearn >&2) ||
        fail "apt-get download python3-sklearn failed (run apt-get update?)"
    from=$(ls "$work"/python3-sklearn_*.deb)
fi
if [ -f "$from" ]; then
    dpkg-deb -x "$from" "$work/root" || fail "cannot extract '$from'"
    root=$work/root
else
    root=$from
fi
iris_in=$root/$datadir/iris.csv
digits_in=$root/$datadir/digits.csv.gz
[ -r "$iris_in" ] || fail "no '$datadir/iris.csv' under '$from'"
[ -r "$digits_in" ] || fail "no '$datadir/digits.csv.gz' under '$from'"

check_sha() {
    got=$(sha256sum "$1" | cut -d' ' -f1)
    [ "$got" = "$2" ] ||
        printf 'make_tabular_fixtures: warning: %s has sha256 %s, not %s\n' \
            "$1" "$got" "$2" >&2
}
check_sha "$iris_in" "$iris_sha"
check_sha "$digits_in" "$digits_sha"

mkdir -p "$out"

# Iris: the first line gives the row count, the feature count and the
# class names; each row is checked against them.
tr -d '\r' < "$iris_in" | awk -F, '
    NR == 1 {
        rows = $1; features = $2
        if (features != 4 || NF != 5) {
            print "iris.csv: unexpected first line: " $0 > "/dev/stderr"
            bad = 1; exit 1
        }
        for (k = 3; k <= NF; k++) name[k - 3] = $k
        print "sepal_length_cm,sepal_width_cm,petal_length_cm,petal_width_cm,species"
        next
    }
    NF == 0 { next }
    {
        if (NF != 5 || !($5 in name)) {
            print "iris.csv:" NR ": unexpected row: " $0 > "/dev/stderr"
            bad = 1; exit 1
        }
        print $1 "," $2 "," $3 "," $4 "," name[$5]
        n++
    }
    END {
        if (bad) exit 1
        if (n != rows) {
            print "iris.csv: " n " rows, the header says " rows > "/dev/stderr"
            exit 1
        }
    }' > "$work/iris.csv"

# Digits: 64 pixels in row-major order, then the digit.
gzip -dc "$digits_in" | tr -d '\r' | awk -F, '
    BEGIN {
        line = ""
        for (r = 0; r < 8; r++)
            for (c = 0; c < 8; c++)
                line = line "p" r "_" c ","
        print line "digit"
    }
    NF == 0 { next }
    {
        if (NF != 65 || $65 !~ /^[0-9]$/) {
            print "digits.csv:" NR ": unexpected row" > "/dev/stderr"
            bad = 1; exit 1
        }
        print
        n++
    }
    END {
        if (bad) exit 1
        if (n != 1797) {
            print "digits.csv: " n " rows, expected 1797" > "/dev/stderr"
            exit 1
        }
    }' > "$work/digits.csv"

mv "$work/iris.csv" "$out/iris.csv"
mv "$work/digits.csv" "$out/digits.csv"
