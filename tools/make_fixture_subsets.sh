#!/bin/sh
# make_fixture_subsets.sh - cut the Fashion-MNIST test fixtures from the
# IDX files that Debian's dataset-fashion-mnist package installs.
#
# Usage: tools/make_fixture_subsets.sh [SOURCE_DIR [OUTPUT_DIR]]
#   SOURCE_DIR  defaults to /usr/share/datasets/fashion-mnist
#   OUTPUT_DIR  defaults to fixtures/data beside this script's directory
#
# Writes the first 2000 training and the first 500 test images and labels,
# in file order, as gzip-compressed IDX files.  Only the count in each
# header changes; every other header byte and every data byte is copied.
# gzip -n leaves out the name and time stamp, so the same input gives the
# same bytes (compare with fixtures/data/SHA256SUMS).
#
# Needs only POSIX sh, od, printf, GNU dd and gzip.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
src=${1:-/usr/share/datasets/fashion-mnist}
out=${2:-$here/../fixtures/data}
train_count=2000
test_count=500

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT INT TERM

fail() {
    printf 'make_fixture_subsets: %s\n' "$*" >&2
    exit 1
}

# be32 FILE OFFSET: the big-endian unsigned 32-bit value at OFFSET.
be32() {
    od -A n -t u1 -j "$2" -N 4 "$1" |
        awk 'NF == 4 { print (($1 * 256 + $2) * 256 + $3) * 256 + $4 }'
}

# put_be32 VALUE: writes VALUE as four big-endian bytes to stdout.  The
# inner printf builds a format of four octal escapes for the outer one to
# expand, which is the portable way to emit arbitrary bytes from sh.
put_be32() {
    # shellcheck disable=SC2059
    printf "$(printf '\\%03o\\%03o\\%03o\\%03o' \
        $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) \
        $(($1 >> 8 & 255)) $(($1 & 255)))"
}

# subset IN.gz OUT.gz COUNT MAGIC HEADER_BYTES ITEM_BYTES
#   Copies the header with its count (bytes 4..7) set to COUNT, then the
#   first COUNT items of ITEM_BYTES each.
subset() {
    in=$1 outfile=$2 count=$3 magic=$4 header=$5 item=$6
    [ -r "$in" ] || fail "cannot read '$in' (install dataset-fashion-mnist)"
    gzip -dc "$in" > "$work/full"

    got=$(be32 "$work/full" 0)
    [ "$got" -eq "$magic" ] ||
        fail "'$in': expected magic $magic, got $got"
    have=$(be32 "$work/full" 4)
    [ "$have" -ge "$count" ] ||
        fail "'$in' holds $have items, fewer than $count"
    if [ "$header" -eq 16 ]; then
        rows=$(be32 "$work/full" 8)
        cols=$(be32 "$work/full" 12)
        [ "$((rows * cols))" -eq "$item" ] ||
            fail "'$in': expected ${item}-byte images, got ${rows}x${cols}"
    fi

    {
        dd if="$work/full" bs=4 count=1 status=none
        put_be32 "$count"
        dd if="$work/full" bs=65536 iflag=skip_bytes,count_bytes \
            skip=8 count=$((header - 8)) status=none
        dd if="$work/full" bs=65536 iflag=skip_bytes,count_bytes \
            skip="$header" count=$((count * item)) status=none
    } > "$work/part"

    size=$(wc -c < "$work/part")
    want=$((header + count * item))
    [ "$size" -eq "$want" ] ||
        fail "'$outfile': wrote $size bytes, expected $want"
    gzip -9 -n -c "$work/part" > "$outfile"
}

mkdir -p "$out"
# IDX magic numbers: 2051 = 0x00000803 (images), 2049 = 0x00000801 (labels).
subset "$src/train-images-idx3-ubyte.gz" \
    "$out/fashion-mnist-train-2000-images-idx3-ubyte.gz" \
    "$train_count" 2051 16 784
subset "$src/train-labels-idx1-ubyte.gz" \
    "$out/fashion-mnist-train-2000-labels-idx1-ubyte.gz" \
    "$train_count" 2049 8 1
subset "$src/t10k-images-idx3-ubyte.gz" \
    "$out/fashion-mnist-test-500-images-idx3-ubyte.gz" \
    "$test_count" 2051 16 784
subset "$src/t10k-labels-idx1-ubyte.gz" \
    "$out/fashion-mnist-test-500-labels-idx1-ubyte.gz" \
    "$test_count" 2049 8 1
