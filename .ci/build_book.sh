#!/usr/bin/env bash
# Build the cmloss book and check the built site in headless Chromium.
#
#   bash .ci/build_book.sh              # build, then the browser test
#   bash .ci/build_book.sh --no-tests   # build only (.ci/run: its pytest run does the rest)
#   bash .ci/build_book.sh --fresh      # wipe _build first (same as CMLOSS_BOOK_FRESH=1)
#
# Assumes the project's Python environment is active (`python` is the one with cmloss's
# dependencies). Steps:
#   1. pip-install the book tools if any is missing (no-op when present);
#   2. jupyter-book build . --all -W -n --keep-going (fails on any warning or notebook
#      error; --all re-reads every page so no earlier warning is forgotten);
#   3. install Chromium with apt-get if it is missing (Debian; root or sudo);
#   4. pytest -m browser tests/test_book.py      (screenshots in $CMLOSS_SCREENSHOTS,
#                                                  default _build/screenshots).
# Idempotent and fast on rerun: executed notebooks are cached by jupyter-cache in
# _build/.jupyter_cache and only notebooks whose code changed run again. The cache keys on
# the notebooks' code, not on the library: set CMLOSS_BOOK_FRESH=1 to rebuild from scratch
# after changing cmloss itself.
set -euo pipefail

run_tests=1
for arg in "$@"; do
  case "$arg" in
    --no-tests) run_tests=0 ;;
    --fresh) CMLOSS_BOOK_FRESH=1 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "build_book.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python}"

log() { printf '\n== %s\n' "$*"; }

# The notebooks import this checkout's cmloss, whether or not it is pip-installed.
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
# The notebook kernels inherit this environment. Level 3 keeps TensorFlow's C++ log (e.g.
# "failed call to cuInit" on a machine without a GPU, an ERROR-level line that level 2
# lets through) out of the cells' stderr, so no rendered page shows it; a Python error
# still fails the build.
export TF_CPP_MIN_LOG_LEVEL=3
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1  # the test drives the system Chromium

# 1. Book tools (installed distribution name -> pip requirement).
have() { "$PYTHON" -c "import importlib.metadata as m; m.version('$1')" 2>/dev/null; }
missing=()
pairs=("jupyter-book:jupyter-book>=1,<2" "jupytext:jupytext>=1.16"
       "sphinx-mathjax-offline:sphinx-mathjax-offline>=0.0.2"
       "matplotlib:matplotlib" "seaborn:seaborn" "pandas:pandas")
if ((run_tests)); then pairs+=("playwright:playwright>=1.40" "pytest:pytest>=8"); fi
for pair in "${pairs[@]}"; do
  have "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  log "installing book tools: ${missing[*]}"
  "$PYTHON" -m pip install --quiet "${missing[@]}"
fi

# 2. Build.
if [[ "${CMLOSS_BOOK_FRESH:-0}" == 1 ]]; then
  log "CMLOSS_BOOK_FRESH=1: removing _build"
  rm -rf "$ROOT/_build"
fi
jupyter_book="$("$PYTHON" -c 'import pathlib, sys; print(pathlib.Path(sys.executable).with_name("jupyter-book"))')"
[[ -x "$jupyter_book" ]] || jupyter_book="$(command -v jupyter-book)"
# --all (a fresh Sphinx environment) because Sphinx reports a page's warnings only when it
# re-reads that page: an incremental rebuild after a failed one would pass without fixing
# anything. Notebook execution stays cached (jupyter-cache), so --all costs seconds.
log "jupyter-book build . --all -W -n --keep-going"
start=$(date +%s)
"$jupyter_book" build . --all -W -n --keep-going
log "book built in $(($(date +%s) - start)) s: $ROOT/_build/html/index.html"

if ((run_tests == 0)); then
  exit 0
fi

# 3. Chromium.
chromium="${CMLOSS_CHROMIUM:-$(command -v chromium || command -v chromium-browser || true)}"
if [[ -z "$chromium" ]]; then
  log "installing chromium (apt-get)"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
  chromium="$(command -v chromium)"
fi
export CMLOSS_CHROMIUM="$chromium"

# 4. Browser test; a missing prerequisite fails here instead of skipping.
log "browser test ($chromium)"
CMLOSS_REQUIRE_BROWSER=1 "$PYTHON" -m pytest -m browser tests/test_book.py -q -rA
