# Parley — `make run` (offline demo) and `make test` are the two commands that matter.
SWIFT      ?= swift
PREFIX     ?= /usr/local
DESTDIR    ?=
CONFIG     ?= release
SWIFT_BUILD_FLAGS ?=
BUILD_DIR  := .build/$(CONFIG)
VENV       := .venv
RUN_DIR    := run
SIM_ALSA   := /usr/share/alsa/alsa.conf:$(CURDIR)/board/sim/asound.conf

export PATH := /opt/swift/usr/bin:$(PATH)

.PHONY: check-no-webrtc code-order all deps deps-build build run test test-swift test-integration test-package test-hil hil hil-run soak sanitize fuzz fuzz-seeds bench install deb clean docs check-docs

all: build

# Everything building, testing and packaging needs (apt, and the test venv from PyPI).
deps:
	@./scripts/deps.sh

# What building and running needs: apt only (make run works without PyPI).
deps-build:
	@./scripts/deps.sh --build

build: deps-build
	$(SWIFT) build -c $(CONFIG) $(SWIFT_BUILD_FLAGS) --product parleyd
	$(SWIFT) build -c $(CONFIG) $(SWIFT_BUILD_FLAGS) --product parleyctl

# The daemon on the offline default (echo backend, simulated board, ALSA file devices),
# with one push-to-talk turn on a spoken fixture: run/mic.raw in, run/speaker.wav out.
# Ctrl-C stops it. See scripts/run.sh.
run: build
	BUILD_DIR=$(BUILD_DIR) RUN_DIR=$(RUN_DIR) ./scripts/run.sh

test: deps test-swift test-integration test-package test-hil check-docs check-no-webrtc

test-swift:
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build --no-parallel  # real threads and clocks: no CPU-hog neighbours

# Daemon-level tests: the real parleyd binary under pytest (signals, sd_notify, exit codes).
test-integration:
	$(SWIFT) build --product parleyd
	$(SWIFT) build --product parleyctl
	PARLEYD=$(CURDIR)/.build/debug/parleyd PARLEYCTL=$(CURDIR)/.build/debug/parleyctl SIM_ALSA=$(SIM_ALSA) \
	  $(VENV)/bin/python -m pytest -q Tests/integration

# The hardware-in-the-loop suite (docs/HIL.md): the release parleyd in a qemu VM on a real
# kernel's snd-aloop card and gpio-sim chip, against the fake Realtime server on the host.
HIL_TURNS ?= 60
# Then the .deb installed by apt in a Debian root booted with systemd as PID 1, the service's
# scenarios (Tests/hil/systemd).
hil: deps deb hil-run

hil-run:
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS) --product parleyd
	$(VENV)/bin/python Tests/hil/host.py --turns $(HIL_TURNS)

test-hil: deb
	@if ./scripts/hil/available.sh; then $(MAKE) --no-print-directory hil-run; else echo "test-hil: skipped (this machine cannot run the VM)"; fi

# docs/CONFIG.md's key reference is generated from the schema; fail when it is stale, or
# when README's Status does not name every backend the daemon accepts.
check-docs:
	$(SWIFT) build --product parleyd
	@./scripts/config-reference.sh --check
	@./scripts/check-readme-status.sh

# A parleyd without the WebRTC trait (the package's) builds (no GStreamer needed), refuses the WebRTC
# backends with a clear error, and hands them over to parleyd-webrtc when it is installed beside
# it (its own build directory: the trait changes every module).
check-no-webrtc:
	$(SWIFT) build --disable-default-traits --scratch-path .build-nowebrtc --product parleyd
	$(SWIFT) build --product parleyd
	@./scripts/check-no-webrtc.sh .build-nowebrtc/debug/parleyd .build/debug/parleyd

docs:
	$(SWIFT) build --product parleyd
	@./scripts/config-reference.sh --write

bench: deps
	@./scripts/bench.sh

# packaging/parleyd.order: the functions parleyd runs on its common paths, which the shipped
# builds lay out together (scripts/code-order.sh; needs valgrind).
code-order: deps
	@./scripts/code-order.sh

# The soak (Tests/integration/test_soak.py) at full length; make test runs 100 turns.
SOAK_TURNS ?= 1000
soak: deps
	$(SWIFT) build -c release $(SWIFT_BUILD_FLAGS) --product parleyd
	SOAK_TURNS=$(SOAK_TURNS) PARLEYD=$(CURDIR)/.build/release/parleyd SIM_ALSA=$(SIM_ALSA) \
	  $(VENV)/bin/python -m pytest -q -s Tests/integration/test_soak.py

# The Swift unit tests under AddressSanitizer, then ThreadSanitizer (own build dirs).
sanitize: deps
	@./scripts/sanitize.sh

# libFuzzer + ASan on every parser fed by the network or the operator (FUZZ_SECONDS each);
# crashers land in Fuzz/crashers/ and are replayed by make test. fuzz-seeds re-records the
# seed corpora from the fakes.
fuzz: deps
	@./scripts/fuzz.sh

fuzz-seeds: deps
	$(VENV)/bin/python scripts/fuzz-seeds.py

# Binaries, the unit (ExecStart under PREFIX), udev rules, board profiles, docs, and the
# default configuration — never over an edited one.
install: build
	install -D -m 0755 $(BUILD_DIR)/parleyd $(DESTDIR)$(PREFIX)/bin/parleyd
	ln -sf parleyd $(DESTDIR)$(PREFIX)/bin/parleyctl  # one binary: it runs parleyctl when called so
	install -d $(DESTDIR)/lib/systemd/system $(DESTDIR)/lib/udev/rules.d
	sed 's|/usr/bin/parleyd|$(PREFIX)/bin/parleyd|' systemd/parleyd.service > $(DESTDIR)/lib/systemd/system/parleyd.service
	chmod 0644 $(DESTDIR)/lib/systemd/system/parleyd.service
	install -m 0644 udev/*.rules $(DESTDIR)/lib/udev/rules.d/
	for b in board/*/; do install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/parley/$$b $$b*; done
	install -D -m 0644 board/README.md $(DESTDIR)$(PREFIX)/share/parley/board/README.md
	install -D -m 0644 -t $(DESTDIR)$(PREFIX)/share/doc/parley README.md docs/*.md
	install -d -m 0755 $(DESTDIR)/etc/parley/conf.d
	[ -f $(DESTDIR)/etc/parley/parley.toml ] || install -m 0644 board/parley.toml.example $(DESTDIR)/etc/parley/parley.toml

# parley_<version>_<arch>.deb in build/ (release binaries, Swift runtime linked in).
deb: deps
	./scripts/deb.sh

# Installs the package into a throwaway Debian root and checks it there.
test-package: deb
	.venv/bin/python -m pytest -q Tests/package

clean:
	rm -rf .build build $(RUN_DIR) $(VENV)
