#!/usr/bin/env bash
# Render an auditor Excel report to PDF (LibreOffice headless) and its pages to PNG (pdftoppm),
# to check that a person can read it. Needs Debian's libreoffice-calc-nogui and poppler-utils.
# Usage: tools/render_report.sh REPORT.xlsx [OUT_DIR]   -> OUT_DIR/REPORT.pdf, OUT_DIR/REPORT-N.png
set -euo pipefail
report=${1:?usage: tools/render_report.sh REPORT.xlsx [OUT_DIR]}
out=${2:-$(dirname "$report")}
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
soffice --headless -env:UserInstallation="file://$profile" --convert-to pdf --outdir "$out" "$report" >/dev/null
pdf="$out/$(basename "${report%.*}").pdf"
pdftoppm -png -r 80 "$pdf" "${pdf%.pdf}"
ls "${pdf%.pdf}"*.png
