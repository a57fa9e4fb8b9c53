#!/usr/bin/env bash
# One command for a fresh machine: set everything up, then run the chat or the tests.
#   bash scripts/quickstart.sh chat   # venv + installs + index the bundled corpus + serve on 127.0.0.1:7860
#   bash scripts/quickstart.sh test   # venv + installs + Chromium for browser tests + the whole test suite
# Safe to re-run: every step checks what is already there.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-chat}"; shift || true

py="${PYTHON:-}"
if [ -z "$py" ]; then
  for cand in python3.11 python3; do
    if command -v "$cand" >/dev/null && "$cand" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then py="$cand"; break; fi
  done
fi
[ -n "$py" ] || { echo "newsrag needs Python 3.11 (set PYTHON=/path/to/python3.11)" >&2; exit 1; }

[ -x .venv/bin/python ] || "$py" -m venv .venv
# torch first and pinned: the CPU build; otherwise sentence-transformers pulls CUDA wheels.
.venv/bin/python -c 'import torch, sys; sys.exit(torch.__version__.split("+")[0] != "2.13.0")' 2>/dev/null \
  || .venv/bin/pip install --disable-pip-version-check -q torch==2.13.0
.venv/bin/pip install --disable-pip-version-check -q -e ".[test]"

case "$what" in
  chat)
    exec .venv/bin/python app.py "$@"
    ;;
  test)
    # Debian's Chromium for the browser tests (never a browser download), and a CJK font so
    # screenshots show Chinese rather than boxes.
    if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy"; then
      sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
      $sudo apt-get update -q && $sudo apt-get install -y -q chromium fonts-wqy-microhei
    fi
    exec .venv/bin/python -m pytest "$@"
    ;;
  *)
    echo "usage: bash scripts/quickstart.sh chat|test [args...]" >&2; exit 2
    ;;
esac
