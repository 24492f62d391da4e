# Sourced by scripts/chat and scripts/test: make .venv from the project's own files when needed.
# usage: ensure_venv EXTRAS   (EXTRAS: "" for the app alone, "test" for the app and test tools)
ensure_venv() {
  local extras="$1" root venv python stamp hash have_hash have_extras spec
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  venv="$root/.venv"
  python="${PYTHON:-python3}"
  if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "p2pchat needs Python 3.11 or newer as '$python' (set PYTHON=/path/to/python3.11)" >&2
    exit 2
  fi
  if [ ! -x "$venv/bin/python" ]; then
    echo "setting up $venv (first run only)..." >&2
    "$python" -m venv "$venv"
  fi
  stamp="$venv/.p2pchat-installed"
  hash="$(sha256sum < "$root/pyproject.toml" | cut -c1-16)"
  if [ -f "$stamp" ]; then
    read -r have_hash have_extras < "$stamp" || true
    # An install with the test tools also serves the plain app.
    if [ "$have_hash" = "$hash" ] && { [ -z "$extras" ] || [ "${have_extras:-}" = "$extras" ]; }; then
      return 0
    fi
  fi
  spec="$root"
  [ -n "$extras" ] && spec="$root[$extras]"
  echo "installing p2pchat${extras:+ with its $extras tools} into $venv..." >&2
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e "$spec" >&2
  echo "$hash $extras" > "$stamp"
}
