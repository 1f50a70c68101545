#!/usr/bin/env bash
# Renders the two pictures of the LSTM sheet that the README shows: the page with its
# computational graph (lstm-graph.png) and the page with its operators and forward pass
# (lstm-sheet.png).
# Run after regenerating derivations/; needs pdflatex (with TikZ) and poppler-utils.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp ../lstm.tex "$tmp/"
(cd "$tmp" && pdflatex -interaction=nonstopmode -halt-on-error -no-shell-escape lstm.tex > /dev/null)
pages=$(pdfinfo "$tmp/lstm.pdf" | awk '/^Pages:/ {print $2}')
find_page() {
    for ((i = 1; i <= pages; i++)); do
        if pdftotext -f "$i" -l "$i" "$tmp/lstm.pdf" - | grep -q "$1"; then echo "$i"; return; fi
    done
    echo "no page of lstm.pdf holds: $1" >&2; exit 1
}
render() { pdftoppm -png -r 100 -f "$1" -l "$1" -singlefile "$tmp/lstm.pdf" "$2"; }
render "$(find_page 'computational graph of')" lstm-graph
render "$(find_page 'Forward pass')" lstm-sheet
