#!/bin/sh
# setup.sh - install what gradcheck needs from Debian 12 and build it.
#
#   sh tools/setup.sh              release build in build/
#   sh tools/setup.sh --sanitize   tests with ASan and UBSan in build-asan/
#
# python3-numpy runs the numpy pipe example and writes the snapshot
# fixtures (tools/make_snapshot.py) with /usr/bin/python3; chromium is for
# the HTML report test (tests/test_html.c).
#
# Run as root on a fresh machine (apt-get installs the packages); packages
# already installed are not fetched again.
set -eu

cd "$(dirname "$0")/.."

packages="build-essential cmake pkg-config libgsl-dev libinih-dev \
libjson-c-dev libxml2-dev zlib1g-dev libopenblas-dev libcriterion-dev \
dataset-fashion-mnist python3 python3-numpy chromium jq"

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "setup: installing$missing" >&2
    apt-get update -q >&2
    # shellcheck disable=SC2086
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $missing >&2
fi

if [ "${1:-}" = "--sanitize" ]; then
    cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGC_SANITIZE=ON >&2
    cmake --build build-asan -j2 >&2
else
    cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >&2
    cmake --build build -j2 >&2
fi
