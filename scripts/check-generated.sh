#!/usr/bin/env bash
# Regenerates the code derived from api/openapi.yaml and fails when it differs
# from what is committed: the spec is the single source of truth.
set -euo pipefail
cd "$(dirname "$0")/.."
go generate ./oas
if [ -n "$(git status --porcelain -- oas)" ]; then
	echo "generated code in oas/ is out of date with api/openapi.yaml; run: go generate ./oas" >&2
	git status --short -- oas >&2
	git diff --stat -- oas >&2
	exit 1
fi
echo "generated code matches api/openapi.yaml"
