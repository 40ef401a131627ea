# Build and install permdrift.
#
#   make                      release build (static Swift standard library: runs without the toolchain)
#   sudo make install         binary, man page, shell completions, systemd units, sysusers/tmpfiles
#                             entries, default baseline and configuration (never overwriting /etc ones)
#   sudo make uninstall       removes what install put in place (keeps /etc/permdrift and the state)
#   make format               rewrites the Swift sources as .swift-format says (swift-format, in the toolchain)
#   make lint                 scripts/lint: the formatting, and system calls only in Sources/PermDriftCore/Platform/
#   make deb                  a Debian package of the release build, in .build/deb/ (packaging/deb/build;
#                             DEB_REVISION=N sets the package revision), checked with lintian
#
# PREFIX (default /usr/local) and DESTDIR (staging root for packages) are honoured;
# CONFIGURATION=debug installs the debug build instead (the project's tests use it).
PREFIX ?= /usr/local
DESTDIR ?=
CONFIGURATION ?= release
SWIFT ?= swift

BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man/man1
UNITDIR = $(PREFIX)/lib/systemd/system
SYSUSERSDIR = $(PREFIX)/lib/sysusers.d
TMPFILESDIR = $(PREFIX)/lib/tmpfiles.d
BASHDIR = $(PREFIX)/share/bash-completion/completions
ZSHDIR = $(PREFIX)/share/zsh/site-functions
FISHDIR = $(PREFIX)/share/fish/vendor_completions.d
CONFDIR = /etc/permdrift

ifeq ($(CONFIGURATION),release)
BUILDFLAGS = -c release --static-swift-stdlib
else
BUILDFLAGS = -c debug
endif
BIN = .build/$(CONFIGURATION)/permdrift
GENERATED = .build/permdrift-generated

.PHONY: all build manual completions install uninstall deb format lint
all: build

build:
	$(SWIFT) build $(BUILDFLAGS) --product permdrift

# The man page comes from swift-argument-parser's generate-manual (the tool behind its plugin), run on
# the binary just built.
manual: build
	$(SWIFT) build -c debug --product generate-manual
	rm -rf $(GENERATED)/manual && mkdir -p $(GENERATED)/manual
	.build/debug/generate-manual $(BIN) --output-directory $(GENERATED)/manual \
		$${SOURCE_DATE_EPOCH:+--date "$$(date -u -d @$$SOURCE_DATE_EPOCH +%Y-%m-%d)"}
	test -s $(GENERATED)/manual/permdrift.1

completions: build
	mkdir -p $(GENERATED)
	$(BIN) --generate-completion-script bash | sed "1{/^#!/d}" > $(GENERATED)/permdrift.bash
	$(BIN) --generate-completion-script zsh > $(GENERATED)/_permdrift
	$(BIN) --generate-completion-script fish > $(GENERATED)/permdrift.fish

install: build manual completions
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(BASHDIR) $(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(BIN) $(DESTDIR)$(BINDIR)/permdrift
	install -m 0644 $(GENERATED)/manual/permdrift.1 $(DESTDIR)$(MANDIR)/permdrift.1
	sed 's|@BINDIR@|$(BINDIR)|' systemd/permdrift.service > $(DESTDIR)$(UNITDIR)/permdrift.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/permdrift.service
	sed 's|@BINDIR@|$(BINDIR)|' systemd/permdrift-notify.service > $(DESTDIR)$(UNITDIR)/permdrift-notify.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/permdrift-notify.service
	install -m 0644 systemd/permdrift.timer $(DESTDIR)$(UNITDIR)/permdrift.timer
	install -m 0644 systemd/sysusers.d/permdrift.conf $(DESTDIR)$(SYSUSERSDIR)/permdrift.conf
	install -m 0644 systemd/tmpfiles.d/permdrift.conf $(DESTDIR)$(TMPFILESDIR)/permdrift.conf
	install -m 0644 $(GENERATED)/permdrift.bash $(DESTDIR)$(BASHDIR)/permdrift
	install -m 0644 $(GENERATED)/_permdrift $(DESTDIR)$(ZSHDIR)/_permdrift
	install -m 0644 $(GENERATED)/permdrift.fish $(DESTDIR)$(FISHDIR)/permdrift.fish
	[ -e $(DESTDIR)$(CONFDIR)/baseline.yaml ] || install -m 0644 baselines/agent-host.yaml $(DESTDIR)$(CONFDIR)/baseline.yaml
	[ -e $(DESTDIR)$(CONFDIR)/config.yaml ] || install -m 0644 etc/config.yaml $(DESTDIR)$(CONFDIR)/config.yaml
	@echo "installed under $(DESTDIR)$(PREFIX); next: systemd-sysusers && systemctl daemon-reload && systemctl enable --now permdrift.timer (and, to deliver alerts, systemctl enable permdrift-notify.service)"

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/permdrift $(DESTDIR)$(MANDIR)/permdrift.1 \
		$(DESTDIR)$(UNITDIR)/permdrift.service $(DESTDIR)$(UNITDIR)/permdrift.timer \
		$(DESTDIR)$(UNITDIR)/permdrift-notify.service \
		$(DESTDIR)$(SYSUSERSDIR)/permdrift.conf $(DESTDIR)$(TMPFILESDIR)/permdrift.conf \
		$(DESTDIR)$(BASHDIR)/permdrift $(DESTDIR)$(ZSHDIR)/_permdrift $(DESTDIR)$(FISHDIR)/permdrift.fish
	@echo "kept $(DESTDIR)$(CONFDIR) (your baseline and configuration) and /var/lib/permdrift"

deb: build
	packaging/deb/build
	lintian --fail-on error,warning $$(ls .build/deb/permdrift_*.deb)

format:
	$(SWIFT) format format --in-place --recursive --parallel Package.swift Sources Tests

lint:
	scripts/lint
