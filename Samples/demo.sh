#!/usr/bin/env bash
# Two researchers, two laptops, the sample reports: code offline, sync over
# TCP on 127.0.0.1, review the conflicts, resolve one, compare digests.
# Run from anywhere: bash Samples/demo.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
echo "building margin…"
swift build --product margin 2>&1 | tail -1
margin="$repo/.build/debug/margin"
work="$(mktemp -d "${TMPDIR:-/tmp}/margin-demo.XXXXXX")"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -INT "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { local who=$1; shift; printf '\033[2m%s$ margin %s\033[0m\n' "$who" "$*"; "$margin" --store "$work/$who" "$@"; }
first_id() { sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10; }

say "Alice sets up her store with the codebook and the sample reports"
run alice init --name alice
run alice codes import Samples/codebook.tsv
run alice import --quiet Samples/reports

say "Alice codes a report (quotes may be typed in either script)"
maduo=$("$margin" --store "$work/alice" search 高原防疫卡點 --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10)
run alice annotate "$maduo" --code party-members --quote 38名党员干部 --value 38
run alice annotate "$maduo" --code temporary-branch --quote 7個交通卡點 --value 7
run alice annotate "$maduo" --code cadres --quote 機關幹部212名 --value 212
members=$("$margin" --store "$work/alice" list --annotations --code party-members --json | first_id)
branch=$("$margin" --store "$work/alice" list --annotations --code temporary-branch --json | first_id)

say "Alice serves her store on 127.0.0.1; Bob, on his laptop, syncs once"
"$margin" --store "$work/alice" serve --listen 127.0.0.1:0 > "$work/serve.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do grep -q ' on 127.0.0.1:' "$work/serve.log" 2>/dev/null && break; sleep 0.1; done
cat "$work/serve.log"
addr=$(sed -n 's/.* on \(127\.0\.0\.1:[0-9]*\).*/\1/p' "$work/serve.log" | head -1)
run bob init --name bob
run bob sync "$addr"
echo "(bob backs up his store: cp -a)"
cp -a "$work/bob" "$work/bob-backup"

say "Offline, both work on the same report"
run alice edit "$members" --value 38人 --note "counted from the last paragraph"
echo "(an annotation is its coder's: bob cannot change alice's figure…)"
run bob edit "$members" --value 39 || true
echo "(…but he can review it, or copy it into his own layer)"
run bob review "$members" --reject --comment "I count 39"
run bob edit "$members" --as-mine --value 39
run alice review "$members" --accept --comment "figure checked"
run alice edit "$maduo" --place 玛多县
run bob edit "$maduo" --place 果洛州玛多县
run alice delete "$branch"
run bob review "$branch" --reject --comment "these are checkpoints, not branches"
run bob annotate "$maduo" --code medical-staff --quote 醫護人員86名 --value 86

say "Bob syncs: two reviews of one figure, two places for one report, and the delete racing a review, become conflicts"
run bob sync "$addr"
run alice conflicts
run bob conflicts
conflict=$("$margin" --store "$work/bob" conflicts --json | grep '"field":"place"' | sed -n 's/.*"id":"\([0-9a-f]\{16\}\)".*/\1/p' | head -1 | cut -c1-10)
run bob conflicts show "$conflict"

say "Bob settles the place; the resolution syncs like any change"
run bob resolve "$conflict" --value 玛多县 --comment "the county, as the report names it"
run bob sync "$addr"
run alice conflicts --all
run alice show "$maduo"

say "Working as a team: each codes the same reports on their own (Samples/coding/*.tsv), then they sync"
code_from() {
    local who=$1
    grep -v '^#' "Samples/coding/$who.tsv" | while IFS=$'\t' read -r search code quote value; do
        rid=$("$margin" --store "$work/$who" search "$search" --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10)
        run "$who" annotate "$rid" --code "$code" --quote "$quote" --value "$value"
    done
    # A coder marks each report they coded as done: agree counts them there.
    grep -v '^#' "Samples/coding/$who.tsv" | cut -f1 | sort -u | while read -r search; do
        run "$who" done "$("$margin" --store "$work/$who" search "$search" --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10)"
    done
}
code_from alice
code_from bob
run bob sync "$addr"
luxian=$("$margin" --store "$work/alice" search 瀘縣黨員下沉 --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10)
run alice agree
run alice compare "$luxian" --coders alice,bob
echo "(alice takes bob's span for the teams, and her own figure for the Party members)"
printf '2\n1\n' | run alice adjudicate "$luxian" --coders alice,bob
run alice table values --code party-members --by place --coder gold
run alice export --format csv -o "$work/annotations.csv"
head -n 3 "$work/annotations.csv"
run bob sync "$addr"

say "Alice lets margin propose the figures of another report, then walks through them"
jianzha=$("$margin" --store "$work/alice" search 尖扎县 --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-10)
run alice suggest "$jianzha"
echo "(alice takes the first suggestion, choosing its code, rejects the second, then stops)"
printf 'a\ngrid-management\nr\nq\n' | run alice review --record "$jianzha"

say "Bob's laptop is restored from the backup he made after his first sync; he keeps coding"
rm -rf "$work/bob"
cp -a "$work/bob-backup" "$work/bob"
run bob note "$maduo" "re-read after restoring the backup"
run bob sync "$addr"
run bob status

say "Both stores agree"
run alice digest
run bob digest
run bob peers
run bob check
if [ "$("$margin" --store "$work/alice" digest)" = "$("$margin" --store "$work/bob" digest)" ]; then
    echo "digests are equal"
else
    echo "digests differ" >&2; exit 1
fi
kill -INT "$server_pid"; wait "$server_pid" || true; server_pid=""
tail -n 4 "$work/serve.log"

# Alice's store outlives the demo, for the workspace in the browser.
rm -rf "$repo/.build/demo-alice"
cp -a "$work/alice" "$repo/.build/demo-alice"
say "Alice's store is kept in .build/demo-alice: code it with the mouse in your browser"
echo "  .build/debug/margin --store .build/demo-alice ui"
