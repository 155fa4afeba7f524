#!/usr/bin/env bash
# Lists the Blenders the test matrix runs on, one `<name> <path> <version>` line each (version "missing" when that
# Blender cannot start, e.g. its root is not built: run .ci/blender-roots.sh).
set -uo pipefail
ci=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")
for entry in "blender-3.4 /usr/bin/blender" "blender-4.3 $ci/blender-4.3" "blender-5.2 $ci/blender-5.2"; do
  read -r name path <<<"$entry"
  # sed reads to the end, so Blender never writes into a closed pipe.
  version=$("$path" --version 2>/dev/null | sed -n '1s/^Blender \([0-9][0-9.]*\).*/\1/p')
  echo "$name $path ${version:-missing}"
done
