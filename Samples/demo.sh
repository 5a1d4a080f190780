#!/usr/bin/env bash
# A walk through Margin on the sample reports: one researcher's laptop, offline.
# Run from anywhere: bash Samples/demo.sh
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
swift build --product margin >/dev/null
margin="$repo/.build/debug/margin"
work="$(mktemp -d "${TMPDIR:-/tmp}/margin-demo.XXXXXX")"
trap 'rm -rf "$work"' EXIT
step() { printf '\n\033[1m$ margin %s\033[0m\n' "$*"; "$margin" --store "$work/alice" "$@"; }

"$margin" init --store "$work/alice" --name alice
step codes import Samples/codebook.tsv
step import Samples/reports
step list
maduo=$("$margin" --store "$work/alice" search 高原防疫卡點 --json | sed -n 's/.*"record":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-8)
step annotate "$maduo" --code party-members --quote 38名党员干部 --value 38
step annotate "$maduo" --code temporary-branch --quote 7個交通卡點 --value 7 --note "checkpoints, not branches?"
step annotate "$maduo" --code cadres --quote 機關幹部212名 --value 212
step tag "$maduo" checkpoints
ann=$("$margin" --store "$work/alice" list --annotations --code temporary-branch --json | sed -n 's/.*"id":"\([0-9a-f]*\)".*/\1/p' | head -1 | cut -c1-8)
step review "$ann" --reject --comment "7 is the number of checkpoints"
step show "$maduo"
step search 党支部
step codes list
step status
step export -o "$work/export.jsonl"
"$margin" init --store "$work/copy" --name copy >/dev/null
"$margin" --store "$work/copy" import "$work/export.jsonl"
printf '\ndigest alice: %s\ndigest copy:  %s\n' "$("$margin" --store "$work/alice" digest)" "$("$margin" --store "$work/copy" digest)"
