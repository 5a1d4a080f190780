#!/usr/bin/env bash
# Builds Margin's libFuzzer targets and runs each for a bounded number of
# inputs:  Tests/Fuzz/run.sh [RUNS]   (default 20000 per target)
#
#   frames     FrameDecoder fed a byte stream in pieces, then each frame decoded
#   messages   Wire.decode on one type byte plus payload; re-encoding must agree;
#              the session order at each receiving step takes it or refuses it
#   importer   ReportFile.parse on a file's bytes (size, binary, UTF-8, cleaning)
#
# Seeds: the frames of PROTOCOL.md's worked example and the sample reports
# (plus ../shared/seeds when present). Every module is compiled with
# -sanitize=fuzzer,address in Tests/Fuzz/.build. A crash, a hang (over 10 s
# for one input) or an allocation over 256 MB fails the run and leaves the
# input under $WORK/artifacts.
set -euo pipefail
RUNS="${1:-20000}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/margin-fuzz.XXXXXX")"
trap 'rm -rf "$WORK/corpus" "$WORK/bin"' EXIT
mkdir -p "$WORK/bin" "$WORK/artifacts"

cd "$HERE"
FLAGS=(-c debug -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library)
BUILD="$HERE/.build/debug"
# SwiftPM links executables with its own entry point; libFuzzer brings main,
# so the targets are compiled by SwiftPM and linked here.
# A build that fails stops the run: linking the objects a failed build left
# would fuzz old code. A build cache from before files were added, moved or
# renamed in the main package (it keeps the main package's file list, and
# fails with "missing inputs" or with types it cannot find) is cleared once
# and the build tried again; a real error fails both times.
build() {  # target
    local log
    if log="$(swift build "${FLAGS[@]}" --target "$1" 2>&1)"; then
        grep -E "warning: " <<<"$log" || true
        return 0
    fi
    if [ -z "${FUZZ_CLEARED:-}" ]; then
        FUZZ_CLEARED=1
        rm -rf "$HERE/.build"
        build "$1"
        return
    fi
    grep -E "error" <<<"$log" >&2 || echo "$log" >&2
    echo "fuzz: building $1 failed" >&2
    exit 1
}
link() {  # target, modules...
    local target="$1"; shift
    build "$target"
    local objects=("$BUILD/$target.build/"*.o)
    for m in "$@"; do objects+=("$BUILD/$m.build/"*.o); done
    swiftc -sanitize=fuzzer,address "${objects[@]}" -lsqlite3 -o "$WORK/bin/$target" 2>&1 | grep -v "Cannot export local symbol" || true
    test -x "$WORK/bin/$target"
}
link FuzzFrames MarginSync MarginCore MarginSQLite MarginCrypto SHAExtensions
link FuzzMessages MarginSync MarginCore MarginSQLite MarginCrypto SHAExtensions
link FuzzImporter MarginCore MarginSQLite MarginCrypto SHAExtensions

# Seed corpora.
mkdir -p "$WORK/corpus/frames" "$WORK/corpus/messages" "$WORK/corpus/importer"
python3 - "$REPO/PROTOCOL.md" "$WORK/corpus" <<'PY'
import re, sys, pathlib
text = open(sys.argv[1], encoding="utf-8").read()
out = pathlib.Path(sys.argv[2])
stream = b""
for name, body in re.findall(r"```hex ([\w-]+)\n(.*?)```", text, re.S):
    hexdigits = "".join(line.split("#")[0] for line in body.splitlines()).replace(" ", "")
    data = bytes.fromhex(hexdigits)
    if not name.startswith(("client-", "server-")):
        continue   # keys, hashes and single changes, not frames
    stream += data
    (out / "frames" / name).write_bytes(data)
    (out / "messages" / name).write_bytes(data[4:])
(out / "frames" / "whole-session").write_bytes(stream)
PY
cp "$REPO"/Samples/reports/*.txt "$WORK/corpus/importer/"
if [ -d "$REPO/../shared/seeds" ]; then cp "$REPO"/../shared/seeds/* "$WORK/corpus/importer/" 2>/dev/null || true; fi

# Without an allocation stack kept per malloc, the importer runs about 1.8
# times as many inputs a second (most of its time was ASan unwinding for
# those stacks). A crash still leaves its input; rerun it with
# ASAN_OPTIONS=malloc_context_size=30 to see where freed memory came from.
export ASAN_OPTIONS="malloc_context_size=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
status=0
for target in frames messages importer; do
    case "$target" in
        frames) bin=FuzzFrames ;; messages) bin=FuzzMessages ;; importer) bin=FuzzImporter ;;
    esac
    printf 'fuzz %-9s %s runs ... ' "$target" "$RUNS"
    started=$SECONDS
    if "$WORK/bin/$bin" -runs="$RUNS" -seed=1 -timeout=10 -malloc_limit_mb=256 -rss_limit_mb=2048 \
        -max_len=65536 -artifact_prefix="$WORK/artifacts/$target-" "$WORK/corpus/$target" > "$WORK/$target.log" 2>&1; then
        echo "ok ($(grep -oE 'cov: [0-9]+' "$WORK/$target.log" | tail -1), $((SECONDS - started)) s)"
    else
        echo "FAILED"; tail -30 "$WORK/$target.log"; status=1
    fi
done
[ "$status" = 0 ] && rm -rf "$WORK"
exit "$status"
