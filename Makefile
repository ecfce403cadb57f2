# Parley — `make run` (offline demo) and `make test` are the two commands that matter.
SWIFT      ?= swift
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIG     ?= release
BUILD_DIR  := .build/$(CONFIG)
VENV       := .venv
RUN_DIR    := run
SIM_ALSA   := /usr/share/alsa/alsa.conf:$(CURDIR)/board/sim/asound.conf

export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: all deps build run test test-swift test-integration bench install clean docs check-docs

all: build

deps:
	@./scripts/deps.sh

build: deps
	$(SWIFT) build -c $(CONFIG) --product parleyd
	$(SWIFT) build -c $(CONFIG) --product parleyctl

# The daemon on the offline default (echo backend, simulated board, ALSA file devices),
# with one push-to-talk turn on a spoken fixture: run/mic.raw in, run/speaker.wav out.
# Ctrl-C stops it. See scripts/run.sh.
run: build
	BUILD_DIR=$(BUILD_DIR) RUN_DIR=$(RUN_DIR) ./scripts/run.sh

test: deps test-swift test-integration check-docs

test-swift:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel  # real threads and clocks: no CPU-hog neighbours

# Daemon-level tests: the real parleyd binary under pytest (signals, sd_notify, exit codes).
test-integration:
	$(SWIFT) build --product parleyd
	$(SWIFT) build --product parleyctl
	PARLEYD=$(CURDIR)/.build/debug/parleyd PARLEYCTL=$(CURDIR)/.build/debug/parleyctl SIM_ALSA=$(SIM_ALSA) \
	  $(VENV)/bin/python -m pytest -q Tests/integration

# docs/CONFIG.md's key reference is generated from the schema; fail when it is stale.
check-docs:
	$(SWIFT) build --product parleyd
	@./scripts/config-reference.sh --check

docs:
	$(SWIFT) build --product parleyd
	@./scripts/config-reference.sh --write

bench: deps
	@./scripts/bench.sh

install: build
	install -D -m 0755 $(BUILD_DIR)/parleyd $(DESTDIR)$(PREFIX)/bin/parleyd
	install -D -m 0755 $(BUILD_DIR)/parleyctl $(DESTDIR)$(PREFIX)/bin/parleyctl
	install -D -m 0644 systemd/parleyd.service $(DESTDIR)/lib/systemd/system/parleyd.service
	install -D -m 0644 udev/60-parley-gpio.rules $(DESTDIR)/lib/udev/rules.d/60-parley-gpio.rules
	install -d -m 0755 $(DESTDIR)/etc/parley/conf.d
	[ -f $(DESTDIR)/etc/parley/parley.toml ] || install -m 0644 board/parley.toml.example $(DESTDIR)/etc/parley/parley.toml

clean:
	rm -rf .build $(RUN_DIR) $(VENV)
