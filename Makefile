# edgeaudit — see README.md. `make demo` runs the main job on a bundled
# sample; `make test` installs what the tests need (as root) and runs them.

GO        ?= go
BIN       := bin/edgeaudit
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
FUZZTIME  ?= 30s
BENCHN    ?= 5000000

.PHONY: all build demo test deps vet unit race fuzz fuzz-ci bench bench-batch profile samples lab lab-test clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/edgeaudit

demo: build
	./$(BIN) audit --topology samples/topology.yaml samples/edge-mixed.pcap || test $$? -eq 1

deps:
	@./.ci/install-deps

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...

unit:
	$(GO) test ./...

race:
	$(GO) test -race ./...

# The whole suite: formatting, vet, unit and golden tests under the race
# detector, the end-to-end tests (tshark oracle, tmux, namespaces), a short
# run of every fuzz target.
test: deps build vet
	$(GO) test -race -count=1 ./...
	$(MAKE) fuzz-ci

# Every fuzz target, FUZZTIME each (make fuzz FUZZTIME=10m for a long run).
fuzz:
	@./.ci/fuzz-all $(FUZZTIME)

fuzz-ci:
	@./.ci/fuzz-all 5s

samples:
	$(GO) run ./samples/gen -o samples

# Stage benchmarks and the whole audit on the Edge workload (BENCHN packets).
bench: build
	BENCHN=$(BENCHN) ./.ci/bench

# Batch speed-up: 8 independent copies of a generated capture (BATCHN
# packets each) audited with --jobs 1 and --jobs 2 (policy/audit).
BATCHN    ?= 200000
bench-batch:
	BATCHN=$(BATCHN) $(GO) test -run '^$$' -bench BatchJobs -benchtime 3x -count 3 ./policy/audit/

lab: build
	@test -n "$(DIR)" || { echo "usage: make lab DIR=folder [SCENARIO=compliant]"; exit 2; }
	./samples/lab/lab.sh run $(or $(SCENARIO),compliant) $(DIR)

lab-test: build
	$(GO) test -count=1 -v -run 'TestLab' ./samples/lab/

clean:
	rm -rf bin
