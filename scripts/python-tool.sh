#!/usr/bin/env bash
# Prints the path of a Python tool the project needs, installing it into the project's own
# virtualenv when it is missing: moto_server and cfn-lint in .venv, checkov in .venv-checkov
# (checkov pins an old boto3 that would break moto), Cloud Custodian's custodian in .venv-c7n (the
# benchmark's comparison, same reason). Safe to call concurrently.
#   scripts/python-tool.sh moto_server|cfn-lint|checkov|custodian
set -euo pipefail
tool=${1:?usage: python-tool.sh moto_server|cfn-lint|checkov|custodian}
root=$(cd "$(dirname "$0")/.." && pwd)
case "$tool" in
  moto_server|cfn-lint) venv="$root/.venv"; requirements="$root/requirements/dev.txt" ;;
  checkov) venv="$root/.venv-checkov"; requirements="$root/requirements/checkov.txt" ;;
  custodian) venv="$root/.venv-c7n"; requirements="$root/requirements/c7n.txt" ;;
  *) echo "python-tool.sh: unknown tool '$tool'" >&2; exit 2 ;;
esac

# The project's own environment wins, so the pinned version is used whenever it exists.
if [ -x "$venv/bin/$tool" ]; then echo "$venv/bin/$tool"; exit 0; fi
# A tool already on PATH is used as it is (pyenv shims are checked by running them).
if [ "${PYTHON_TOOL_IGNORE_PATH:-}" != "1" ] && command -v "$tool" >/dev/null 2>&1 && "$tool" --help >/dev/null 2>&1; then
  command -v "$tool"; exit 0
fi

python=$(command -v python3 || command -v python) || { echo "python-tool.sh: Python 3 is required to install $tool" >&2; exit 1; }
mkdir -p "$root/.local"
exec 9>"$root/.local/python-tool.lock"
flock 9
if [ ! -x "$venv/bin/$tool" ]; then
  echo "Installing $tool into ${venv#"$root/"} (first run only)..." >&2
  [ -x "$venv/bin/pip" ] || "$python" -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" >&2
fi
echo "$venv/bin/$tool"
