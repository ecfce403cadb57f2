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

# The daemon on the offline default: echo backend, simulated board, ALSA file devices.
# Microphone: $(RUN_DIR)/mic.raw if present (raw S16_LE mono 48 kHz), else silence.
# Speaker: $(RUN_DIR)/speaker.wav. Ctrl-C stops it.
run: build
	@mkdir -p $(RUN_DIR)
	ALSA_CONFIG_PATH=$(SIM_ALSA) \
	PARLEY_SIM_MIC=$$( [ -f $(RUN_DIR)/mic.raw ] && echo $(CURDIR)/$(RUN_DIR)/mic.raw || echo /dev/zero ) \
	PARLEY_SIM_SPEAKER=$(CURDIR)/$(RUN_DIR)/speaker.wav \
	$(BUILD_DIR)/parleyd --config board/sim/parley.toml --config-dir $(RUN_DIR)/conf.d

test: deps test-swift test-integration check-docs

test-swift:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel  # real threads and clocks: no CPU-hog neighbours

# Daemon-level tests: the real parleyd binary under pytest (signals, sd_notify, exit codes).
test-integration:
	$(SWIFT) build --product parleyd
	PARLEYD=$(CURDIR)/.build/debug/parleyd SIM_ALSA=$(SIM_ALSA) \
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
	install -D -m 0644 systemd/parleyd.service $(DESTDIR)/lib/systemd/system/parleyd.service
	install -D -m 0644 udev/60-parley-gpio.rules $(DESTDIR)/lib/udev/rules.d/60-parley-gpio.rules
	install -d -m 0755 $(DESTDIR)/etc/parley/conf.d
	[ -f $(DESTDIR)/etc/parley/parley.toml ] || install -m 0644 board/parley.toml.example $(DESTDIR)/etc/parley/parley.toml

clean:
	rm -rf .build $(RUN_DIR) $(VENV)
