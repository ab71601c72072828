# pyhang developer entry points. `make test` is what CI runs (.ci/run).
GO       ?= go
TIMEOUT  ?= 40m
FUZZTIME ?= 20s
BENCHPKGS ?= ./scenarios/...

.PHONY: all build demo vet deps test bench fuzz clean

all: build

# pyhang is built without cgo: it calls no C (cgo links in only for package net's
# resolver, which it never uses), and a static binary starts in half the time.
# bin/pyhang and bin/pyhang-render, side by side: pyhang runs the renderer found beside
# itself (for SVG and PNG) only when neither it nor bin/ can be written by group or others.
build:
	$(GO) build ./...
	install -d -m 0755 bin
	CGO_ENABLED=0 $(GO) build -o bin/ ./cmd/pyhang
	$(GO) build -o bin/ ./cmd/pyhang-render
	chmod 0755 bin/pyhang bin/pyhang-render

# Runs a bundled program that deadlocks, diagnoses it and draws pyhang-demo.svg.
demo: build
	bin/pyhang demo

vet:
	$(GO) vet ./...

# Installs gdb and Debian unstable's python3.13/3.14 into .cache/ (fast when already there).
deps:
	bash scripts/install-test-deps.sh

# The first run prints the table of interpreters the end-to-end tests use (and the ones
# skipped, with why); the second runs every test. PYHANG_REQUIRE_ALL=1 turns a missing
# expected interpreter into a failure instead of a skip.
test: deps
	PYHANG_REQUIRE_ALL=1 $(GO) test -count=1 -v -run '^TestInterpreters$$' ./internal/testinterp/
	PYHANG_REQUIRE_ALL=1 GO=$(GO) TIMEOUT=$(TIMEOUT) bash scripts/test.sh

bench: deps
	$(GO) test -count=1 -run '^$$' -bench . -benchmem $(BENCHPKGS)

# Runs every Fuzz target of every package for FUZZTIME each.
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) bash scripts/fuzz.sh

# Removes the fetched interpreters and build leftovers (not the Go caches).
clean:
	rm -rf .cache bin
	rm -f pyhang cmd/pyhang/pyhang
