# accessd: `make run` serves on the embedded default, `make test` runs the
# whole suite. Both set up everything they need on a fresh machine.

GO        ?= go
BIN       ?= bin
DATA_DIR  ?= ./data
ADDR      ?= 127.0.0.1:8080
STATICCHECK_VERSION ?= v0.8.2

export PATH := $(shell $(GO) env GOPATH)/bin:$(PATH)

.PHONY: run build test test-short bench lint fuzz tools clean

run: build
	$(BIN)/accessd --addr $(ADDR) --data-dir $(DATA_DIR)

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The packages whose tests open read models (projections/readmodeltest):
# `make test` runs them a second time on PostgreSQL. Those whose code
# branches on the dialect (the read models' own code) run there with the
# race detector; the API and the CLI, whose Go code is the same on both
# and already ran under it on SQLite, without (three times quicker: it
# keeps `make test` under 15 minutes on the 2-core machine).
READMODEL_RACE_PKGS ?= ./projections/... ./queries/...
READMODEL_PKGS ?= ./http/... ./cmd/accessctl/...

# -race also turns on checkptr, which checks every unsafe.Pointer
# conversion; the pure-Go SQLite (modernc.org) is C translated to Go and
# makes them on every step, so the check alone doubled the cost of each
# test's databases. It stays on for our code; the race detector stays on
# for all.
RACE ?= -race -gcflags='modernc.org/...=-d=checkptr=0'

# The whole suite with the race detector, then the read-model suites again
# on PostgreSQL. Under CI=true the tests that need
# PostgreSQL or NATS fail instead of skipping when the service is missing.
test:
	$(GO) mod download
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 20m ./...
	ACCESSD_TEST_READMODELS=postgres $(GO) test $(RACE) -count=1 -timeout 20m $(READMODEL_RACE_PKGS)
	ACCESSD_TEST_READMODELS=postgres $(GO) test -count=1 -timeout 20m $(READMODEL_PKGS)

# Benchmarks: the event store, the door protocol, then a load run against a
# running server (scenarios writes, reads and mix, each over a seeded 200
# properties, 2,000 locks and 3,000 users; scripts/bench-load.sh's BENCH_*
# settings apply). Figures depend on the machine; see README "Benchmarks".
bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3s -timeout 30m ./eventstore/sqlite/
	$(GO) test -run '^$$' -bench FanOut -benchtime 20x ./projections/keymaps/
	$(GO) test -run '^$$' -bench 'LockSyncUnchanged|GetLock|RenameLock' -benchtime 5s -cpu 64 ./http/
	$(GO) test -run '^$$' -bench AccessLogPage -benchtime 5000x -timeout 30m ./queries/
	BIN=$(BIN) scripts/bench-load.sh

# Scale: append and page latency at 10,000 and at 1,000,000 events, and the
# server's memory with them. The first run seeds and rebuilds each history
# (tens of minutes for 1,000,000 events) into BENCH_SCALE_DATA, later runs
# reuse it. See BENCHMARKS.md, "Scale".
.PHONY: bench-scale
bench-scale: build
	BIN=$(BIN) scripts/bench-scale.sh

# Grow the fuzz corpora: each target for FUZZTIME. Plain `go test` (so
# `make test`) replays the corpus committed under each testdata/fuzz/;
# commit the few new entries worth keeping, not the whole cache.
FUZZTIME ?= 30s
FUZZ_TARGETS = http:FuzzDecodeJSON http:FuzzDecodeBodies http:FuzzSyncBodies http:FuzzCanonicalJSON http:FuzzRequests domain:FuzzSchedule \
	queries:FuzzParsePage queries:FuzzParseAccessLogPage eventstore:FuzzDecode commands:FuzzEventCodec \
	commands/personaldata:FuzzOpen
fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t##*:}; \
		$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) ./$$pkg/ || exit 1; \
	done

lint: tools
	$(GO) vet ./...
	staticcheck ./...

tools:
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf $(BIN)
