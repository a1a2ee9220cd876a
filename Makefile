# SPDX-License-Identifier: MIT
# Makefile - builds libjobstat, jobstatd and jobstat, runs the tests and benchmarks.
#
#   make                  library (shared + static), daemon, CLI
#   make test             every Criterion suite and the export check (installs deps first)
#   make bench            the benchmark harness and the focused benchmarks (bench/RESULTS.md)
#   make bench-noisy      the noisy-neighbour benchmark alone (as root)
#   make stress           the long torn-read run and 300 kill/adopt cycles
#   make demo             a daemon, a producer, a client and jobstat watch, for a first look
#   make fuzz             libFuzzer on the control protocol and on segment attach (FUZZ_SECONDS)
#   make abi-check        abidiff against the 0.1.0 ABI baseline (installs abigail-tools)
#   make exporter         jobstat-exporter (installs libmicrohttpd-dev and prometheus first);
#                         make install-exporter installs it, its unit, man page and alert rules
#   make test-exporter    promtool and a real Prometheus against the exporter (in make test too)
#   make deps             install the Debian packages the build needs (root), or say how
#   make install          PREFIX=/usr/local DESTDIR=
#   make SANITIZE=address,undefined test | make SANITIZE=thread test | make DEVELOPER=1
.SUFFIXES:

VERSION_MAJOR := 0
VERSION_MINOR := 1
VERSION_PATCH := 0
VERSION       := $(VERSION_MAJOR).$(VERSION_MINOR).$(VERSION_PATCH)

PREFIX     ?= /usr/local
prefix     ?= $(PREFIX)
bindir     ?= $(prefix)/bin
sbindir    ?= $(prefix)/sbin
libdir     ?= $(prefix)/lib
includedir ?= $(prefix)/include
mandir     ?= $(prefix)/share/man
datadir    ?= $(prefix)/share
bashcompdir ?= $(datadir)/bash-completion/completions
pkgconfigdir ?= $(libdir)/pkgconfig
# /etc for a system install (PREFIX=/usr), else under the prefix.
sysconfdir ?= $(if $(filter /usr,$(prefix)),/etc,$(prefix)/etc)
systemdunitdir ?= $(prefix)/lib/systemd/system
sysusersdir ?= $(prefix)/lib/sysusers.d
tmpfilesdir ?= $(prefix)/lib/tmpfiles.d
DESTDIR    ?=
# Run by make install into the real root (no DESTDIR), as root.
LDCONFIG   ?= ldconfig
SYSUSERS   ?= systemd-sysusers
TMPFILES   ?= systemd-tmpfiles

CC         ?= cc
PKG_CONFIG ?= pkg-config
# Debian's python3, the one python3-cffi and python3-pytest install into (not whatever
# python3 comes first on PATH).
PYTHON     ?= /usr/bin/python3
# Where make install puts the Python package: where Debian's python3 looks for it.
PYVER      = $(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
pythondir  ?= $(if $(filter /usr,$(prefix)),$(prefix)/lib/python3/dist-packages,$(prefix)/lib/python$(PYVER)/dist-packages)

# Debian packages the build and the tests need (make deps installs them); systemd for
# systemd-analyze verify of the units, procps for their /bin/kill.
# (.ci/run reads this line alone: keep it one line.)
DEB_PACKAGES := build-essential pkg-config liburcu-dev libbsd-dev libcriterion-dev python3 libsystemd-dev libxml2-utils python3-cffi python3-pytest strace man-db libncurses-dev tmux systemd procps
# And the ABI check against the 0.1.0 baseline (make abi-check): abidiff.
ABI_PACKAGES := abigail-tools
# And those only the benchmark harness needs: its Redis baseline and its plot.
BENCH_PACKAGES := redis-server libhiredis-dev gnuplot-nox python3-redis
# And jobstat-exporter: libmicrohttpd to build it, Prometheus (promtool) to test it.
EXPORTER_PACKAGES := libmicrohttpd-dev prometheus
# And the fuzzers: clang with libFuzzer.
FUZZ_PACKAGES := clang libclang-rt-14-dev

comma := ,
BUILD := build$(if $(SANITIZE),-$(subst $(comma),-,$(SANITIZE)))

WARNINGS := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes -Wformat=2 -Wundef \
	    -Wpointer-arith -Wvla
OPT      ?= -O2 -g
CSTD     := -std=gnu11
CFLAGS   ?=
LDFLAGS  ?=
ifeq ($(DEVELOPER),1)
WARNINGS += -Werror
endif
ifneq ($(SANITIZE),)
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

# pkg-config answers only once the packages are there; deps-check runs first for every goal.
URCU_CFLAGS   = $(shell $(PKG_CONFIG) --cflags liburcu 2>/dev/null)
URCU_LIBS     = $(shell $(PKG_CONFIG) --libs liburcu 2>/dev/null)
BSD_CFLAGS    = $(shell $(PKG_CONFIG) --cflags libbsd-overlay 2>/dev/null)
BSD_LIBS      = $(shell $(PKG_CONFIG) --libs libbsd 2>/dev/null)
CRIT_CFLAGS   = $(shell $(PKG_CONFIG) --cflags criterion 2>/dev/null)
CRIT_LIBS     = $(shell $(PKG_CONFIG) --libs criterion 2>/dev/null)
SYSTEMD_LIBS  = $(shell $(PKG_CONFIG) --libs libsystemd 2>/dev/null)
CURSES_CFLAGS = $(shell $(PKG_CONFIG) --cflags ncursesw 2>/dev/null)
CURSES_LIBS   = $(shell $(PKG_CONFIG) --libs ncursesw 2>/dev/null)

INCLUDES  = -Iinclude -Ilibclient -Ishm-layout -Iproto -Idaemon
ALL_CFLAGS = $(CSTD) $(OPT) $(WARNINGS) $(SANFLAGS) $(INCLUDES) $(URCU_CFLAGS) \
	     -MMD -MP $(CFLAGS)
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

SONAME    := libjobstat.so.$(VERSION_MAJOR)
SHLIB     := $(BUILD)/libjobstat.so.$(VERSION)
STLIB     := $(BUILD)/libjobstat.a
PUBLIB    := $(BUILD)/libjstpublish.a

LIB_SRCS  := libclient/util.c libclient/read.c libclient/states.c libclient/conn.c \
	     libclient/geterror.c libclient/render.c libclient/counters.c libclient/props.c \
	     shm-layout/shm-check.c proto/proto.c
PUB_SRCS  := daemon/publish.c daemon/counters.c
SERVER_SRCS := daemon/server.c daemon/requests.c daemon/jobs.c daemon/quota.c daemon/log.c
SERVER_OBJS = $(SERVER_SRCS:%.c=$(BUILD)/obj/%.o)
DAEMON_SRCS := daemon/jobstatd.c daemon/config.c $(SERVER_SRCS)
CLI_SRCS  := cli/main.c cli/escape.c cli/watch.c
TEST_SRCS := $(wildcard tests/test_*.c)
BENCH_SRCS := bench/readpath.c bench/producer.c bench/noisy.c

LIB_PIC_OBJS := $(LIB_SRCS:%.c=$(BUILD)/pic/%.o)
LIB_OBJS     := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
PUB_OBJS     := $(PUB_SRCS:%.c=$(BUILD)/obj/%.o)
TEST_BINS    := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_BINS   := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

.PHONY: FORCE all deps deps-check bench-deps fuzz fuzz-deps test python-test check-exports abi-check abi-deps bench stress run demo install uninstall clean \
	format help exporter exporter-deps test-exporter bench-exporter bench-noisy install-exporter

GENERATED := $(BUILD)/jobstat.pc $(BUILD)/systemd/jobstatd.service

all: deps-check $(SHLIB) $(STLIB) $(BUILD)/jobstatd $(BUILD)/jobstat $(GENERATED) \
	$(BUILD)/man/man3/.stamp

help:
	@sed -n '2,16p' Makefile | sed 's/^# \{0,1\}//'

# ---- dependencies ---------------------------------------------------------------------------
# deps installs what is missing (root) or prints the command; deps-check fails with that
# command when anything is missing and we cannot install it.
deps:
	@sh .ci/deps.sh install $(DEB_PACKAGES)

deps-check:
	@sh .ci/deps.sh install $(DEB_PACKAGES)

# ---- the library ----------------------------------------------------------------------------
$(BUILD)/pic/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fPIC -fvisibility=hidden -DJST_BUILDING -c $< -o $@

$(BUILD)/obj/%.o: %.c | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILDING -c $< -o $@

$(SHLIB): $(LIB_PIC_OBJS)
	$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--no-undefined -Wl,-z,defs $(ALL_LDFLAGS) \
		-o $@ $^ $(if $(SANITIZE),,-lc)
	ln -sf $(notdir $@) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $(BUILD)/libjobstat.so

$(STLIB): $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(PUBLIB): $(PUB_OBJS)
	rm -f $@ && ar rcs $@ $^

# Files that name install paths are made again whenever a path changes: `make` then
# `make install PREFIX=/usr` must not install /usr/local paths. install-paths changes
# (and so is newer than they are) only when the paths do.
INSTALL_PATHS = prefix=$(prefix) libdir=$(libdir) includedir=$(includedir) \
	sbindir=$(sbindir) sysconfdir=$(sysconfdir) version=$(VERSION)
$(BUILD)/install-paths: FORCE
	@mkdir -p $(dir $@)
	@echo '$(INSTALL_PATHS)' | cmp -s - $@ || echo '$(INSTALL_PATHS)' > $@

SUBST_PATHS = sed -e 's|@prefix@|$(prefix)|g' -e 's|@libdir@|$(libdir)|g' \
	-e 's|@includedir@|$(includedir)|g' -e 's|@sbindir@|$(sbindir)|g' \
	-e 's|@sysconfdir@|$(sysconfdir)|g' -e 's|@VERSION@|$(VERSION)|g'

$(BUILD)/jobstat.pc: jobstat.pc.in $(BUILD)/install-paths
	$(SUBST_PATHS) $< > $@

$(BUILD)/systemd/jobstatd.service: systemd/jobstatd.service.in $(BUILD)/install-paths
	@mkdir -p $(dir $@)
	$(SUBST_PATHS) $< > $@

# One page per exported function, made from its kernel-doc comment in the header.
$(BUILD)/man/man3/.stamp: include/jobstat.h libclient/jobstat-inline.h man/kerneldoc2man.py \
		| deps-check
	rm -rf $(dir $@) && mkdir -p $(dir $@)
	python3 man/kerneldoc2man.py include/jobstat.h $(dir $@) $(VERSION) >/dev/null
	python3 man/kerneldoc2man.py libclient/jobstat-inline.h $(dir $@) $(VERSION) >/dev/null
	touch $@

# ---- programs -------------------------------------------------------------------------------
$(BUILD)/jobstatd: $(BUILD)/obj/daemon/jobstatd.o $(BUILD)/obj/daemon/config.o \
		$(BUILD)/obj/daemon/pidfile.o $(SERVER_OBJS) $(PUBLIB) $(STLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(URCU_LIBS) $(BSD_LIBS) $(SYSTEMD_LIBS)

$(BUILD)/obj/cli/watch.o: ALL_CFLAGS += $(CURSES_CFLAGS)
$(BUILD)/jobstat: $(CLI_SRCS:%.c=$(BUILD)/obj/%.o) $(STLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(CURSES_LIBS)

# ---- jobstat-exporter -----------------------------------------------------------------------
# Its own packages (exporter-deps; .ci/deps-exporter.sh leaves no Prometheus service running).
EXPORTER := $(BUILD)/jobstat-exporter
EXP_OBJS := $(BUILD)/obj/exporter/metrics.o
MHD_LIBS  = $(shell $(PKG_CONFIG) --libs libmicrohttpd 2>/dev/null)

exporter-deps:
	@sh .ci/deps-exporter.sh $(EXPORTER_PACKAGES)

$(BUILD)/obj/exporter/%.o: exporter/%.c | exporter-deps deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iexporter -c $< -o $@

$(EXPORTER): $(BUILD)/obj/exporter/main.o $(EXP_OBJS) $(STLIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(MHD_LIBS) -pthread

exporter: $(EXPORTER)

unitdir ?= $(prefix)/lib/systemd/system
install-exporter: $(EXPORTER)
	install -d $(DESTDIR)$(bindir) $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(unitdir) \
		$(DESTDIR)$(prefix)/share/jobstat
	install -m 0755 $(EXPORTER) $(DESTDIR)$(bindir)/
	install -m 0644 exporter/jobstat-exporter.1 $(DESTDIR)$(mandir)/man1/
	sed 's|@bindir@|$(bindir)|' exporter/jobstat-exporter.service \
		> $(DESTDIR)$(unitdir)/jobstat-exporter.service
	chmod 0644 $(DESTDIR)$(unitdir)/jobstat-exporter.service
	install -m 0644 exporter/jobstat-alerts.yml $(DESTDIR)$(prefix)/share/jobstat/

$(BUILD)/tests/test_exporter: tests/test_exporter.c tests/testutil.h $(EXP_OBJS) $(PUBLIB) $(STLIB) \
		$(EXPORTER) | exporter-deps deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iexporter $(CRIT_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< \
		$(EXP_OBJS) $(PUBLIB) $(STLIB) \
		$(ALL_LDFLAGS) $(CRIT_LIBS) $(URCU_LIBS)

$(BUILD)/exporter-test-producer: exporter/test-producer.c $(STLIB) | deps-check
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(ALL_LDFLAGS)

# promtool on the rules and on both formats, then a real Prometheus scraping the exporter.
test-exporter: all $(EXPORTER) $(BUILD)/exporter-test-producer | exporter-deps
	JOBSTAT_REQUIRE_COUNTERS=1 sh exporter/test-prometheus.sh $(BUILD)

# ---- tests ----------------------------------------------------------------------------------
$(BUILD)/tests/%: tests/%.c tests/testutil.h tests/testdaemon.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd \
		$(BUILD)/jobstat | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) \
		$(ALL_LDFLAGS) \
		$(CRIT_LIBS) $(URCU_LIBS)

# The settings parser is tested on its own too: link it in.
$(BUILD)/tests/test_config: tests/test_config.c $(BUILD)/obj/daemon/config.o $(PUBLIB) $(STLIB) \
		$(BUILD)/jobstatd | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< \
		$(BUILD)/obj/daemon/config.o $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) $(CRIT_LIBS) \
		$(URCU_LIBS) $(BSD_LIBS)

# test_cli builds the README's example as a user would, with this build's sanitizers.
$(BUILD)/tests/test_cli: ALL_CFLAGS += -DJST_SANFLAGS='"$(SANFLAGS)"'

# The tool's terminal escaper alone, fed what the daemon would refuse.
$(BUILD)/tests/test_escape: tests/test_escape.c cli/escape.c cli/escape.h | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(CRIT_CFLAGS) -o $@ tests/test_escape.c cli/escape.c $(ALL_LDFLAGS) \
		$(CRIT_LIBS)

# The fuzz targets built without libFuzzer, to replay the seeds and every regression input.
$(BUILD)/libjstserver.a: $(SERVER_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tests/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(BUILD)/libjstserver.a \
		$(PUBLIB) $(STLIB) | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ tests/fuzz/fuzz_$*.c tests/fuzz/replay.c \
		$(BUILD)/libjstserver.a $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) $(URCU_LIBS) $(BSD_LIBS)

FUZZ_TARGETS := proto attach adopt
REPLAY_BINS := $(FUZZ_TARGETS:%=$(BUILD)/tests/replay_%)

# The library used from threads, outside Criterion, for ThreadSanitizer.
$(BUILD)/tests/tsan_threads: tests/tsan_threads.c $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) -pthread $(URCU_LIBS)

# make test SANITIZE=thread runs the threaded program only: Criterion cannot start under
# ThreadSanitizer (Snaipe/Criterion#274), and only that program has threads.
ifneq ($(findstring thread,$(SANITIZE)),)
test: all $(BUILD)/tests/tsan_threads
	@sh tests/ensure-service-user.sh
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tests/tsan_threads $(BUILD)/jobstatd
else
# Every suite runs even when one fails; the goal fails if any did.
test: all $(TEST_BINS) $(REPLAY_BINS) $(BUILD)/tests/tsan_threads $(EXPORTER) \
		$(BUILD)/exporter-test-producer
	@sh tests/ensure-service-user.sh
	@fail=0; for t in $(TEST_BINS); do \
		echo "== $$t"; \
		$$t --jobs=1 $(TEST_ARGS) || fail=1; \
	done; \
	echo "== install: paths, ldconfig, pkg-config, README examples"; \
	MAKE="$(MAKE)" EXAMPLE_CFLAGS="$(SANFLAGS)" sh tests/check-install.sh || fail=1; \
	echo "== systemd units"; \
	MAKE="$(MAKE)" sh tests/check-systemd.sh || fail=1; \
	for t in $(FUZZ_TARGETS); do \
		echo "== replay of fuzz inputs: $$t"; \
		$(BUILD)/tests/replay_$$t tests/fuzz/corpus/$$t tests/fuzz/regressions/$$t || fail=1; \
	done; \
	$(BUILD)/tests/tsan_threads $(BUILD)/jobstatd || fail=1; \
	sh tests/check-exports.sh $(SHLIB) || fail=1; \
	echo "== python/tests (pytest)"; $(PYTEST) || fail=1; \
	stage=$$(mktemp -d) && $(MAKE) -s install DESTDIR=$$stage PREFIX=/usr >/dev/null && \
		sh tests/check-man.sh $(SHLIB) $$stage/usr || fail=1; rm -rf "$$stage"; \
	echo "== jobstat-exporter with promtool and a real Prometheus"; \
	JOBSTAT_REQUIRE_COUNTERS=1 sh exporter/test-prometheus.sh $(BUILD) || fail=1; \
	if [ $$fail -ne 0 ]; then echo "make test: FAILED"; exit 1; fi; echo "make test: all suites passed"
endif

# The Python binding's suites against this build's library and jobstatd. Any exit but 0
# fails, pytest's 5 (no tests collected) included. A sanitized library needs its runtime
# loaded first into the interpreter.
PY_SANITIZE_ENV = $(if $(SANITIZE),JOBSTAT_SANITIZE=$(SANITIZE) ASAN_OPTIONS=detect_leaks=0 \
	LD_PRELOAD="$(foreach s,$(subst $(comma), ,$(SANITIZE)),$(shell $(CC) -print-file-name=lib$(patsubst address,asan,$(patsubst undefined,ubsan,$(s))).so))")
PYTEST = $(PY_SANITIZE_ENV) JOBSTAT_BUILD_DIR=$(BUILD) JOBSTAT_LIBRARY=$(CURDIR)/$(BUILD)/$(SONAME) \
	PYTHONDONTWRITEBYTECODE=1 $(PYTHON) -m pytest -q -p no:cacheprovider python/tests $(PYTEST_ARGS)

python-test: all
	$(PYTEST)

check-exports: $(SHLIB)
	sh tests/check-exports.sh $(SHLIB)

# The library's ABI against the committed 0.1.0 baseline (abi/README.md): fails on a change
# to anything 0.1.0 programs use unless the soname moved.
ABI_BASELINE := abi/libjobstat-0.1.0.abi.xml
abi-deps:
	@sh .ci/deps.sh install $(ABI_PACKAGES)

abi-check: $(SHLIB) | abi-deps
	sh tests/check-abi.sh $(ABI_BASELINE) $(SHLIB)

# The torn-read and stalled-reader tests for minutes instead of seconds; hundreds of kill -9
# / adopt cycles (publisher alone, then jobstatd with 4 producers and 4 monitors); a thousand
# kills of producers and of monitors; a monitor stopped for a minute under a flat-out writer.
STRESS_SECONDS ?= 180
STRESS_CYCLES ?= 300
STRESS_KILLS ?= 1000
STRESS_STOP_SECONDS ?= 60
stress: all $(BUILD)/tests/test_torn $(BUILD)/tests/test_adopt $(BUILD)/tests/test_restart
	@sh tests/ensure-service-user.sh
	JST_STRESS_SECONDS=$(STRESS_SECONDS) $(BUILD)/tests/test_torn --jobs=1
	JST_STRESS_CYCLES=$(STRESS_CYCLES) $(BUILD)/tests/test_adopt --jobs=1
	JST_STRESS_CYCLES=$(STRESS_CYCLES) JST_STRESS_KILLS=$(STRESS_KILLS) \
		$(BUILD)/tests/test_restart --jobs=1
	JST_STRESS_STOP_SECONDS=$(STRESS_STOP_SECONDS) $(BUILD)/tests/test_torn --jobs=1 \
		--filter='torn/a_monitor_stopped*' --verbose

# ---- fuzzing --------------------------------------------------------------------------------
# Each target runs FUZZ_SECONDS from its seed corpus (tests/fuzz/corpus/T) and the corpus
# it grew before (build/fuzz/corpus-T). A crash leaves crash-* here: copy it into
# tests/fuzz/regressions/T/ with the fix, and make test replays it from then on.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_SRCS := $(LIB_SRCS) $(PUB_SRCS)
FUZZ_SRCS_proto := $(filter-out daemon/log.c,$(SERVER_SRCS)) # the target logs nothing
fuzz-deps:
	@sh .ci/deps.sh install $(FUZZ_PACKAGES)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_SRCS) $(SERVER_SRCS) | fuzz-deps deps-check
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CSTD) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
		$(INCLUDES) $(URCU_CFLAGS) -o $@ $< $(FUZZ_SRCS) $(FUZZ_SRCS_$*) $(URCU_LIBS) $(BSD_LIBS)

fuzz: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%)
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(BUILD)/fuzz/corpus-$$t; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		$(BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix=$(BUILD)/fuzz/ $(BUILD)/fuzz/corpus-$$t \
			tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- benchmarks -----------------------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c bench/benchutil.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) \
		$(URCU_LIBS)

$(BUILD)/bench/harness: bench/harness.c bench/benchutil.h $(PUBLIB) $(STLIB) $(BUILD)/jobstatd | bench-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(PUBLIB) $(STLIB) $(ALL_LDFLAGS) \
		-lhiredis $(URCU_LIBS)

bench-deps:
	@sh .ci/deps.sh install $(BENCH_PACKAGES)

$(BUILD)/bench/exporter: bench/exporter.c bench/benchutil.h $(EXP_OBJS) $(PUBLIB) $(STLIB) $(EXPORTER) \
		| exporter-deps deps-check
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iexporter -DJST_BUILD_DIR='"$(BUILD)"' -o $@ $< $(EXP_OBJS) $(PUBLIB) \
		$(STLIB) $(ALL_LDFLAGS) $(URCU_LIBS)

# jobstat-exporter's scrape cost at 1k, 10k and 100k jobs (bench/RESULTS.md).
bench-exporter: all $(BUILD)/bench/exporter
	$(BUILD)/bench/exporter $(BENCH_ARGS)

# The harness (issue 6: jobstat vs floor, socket and Redis; scaling; plot; JSON), again with
# the segment on 2 MiB pages (--huge: root; on 4 KiB pages, saying so, otherwise), then the
# focused read-path and producer benchmarks, the exporter's scrape, a status read from
# Python three ways (bench/pyread.py) and the noisy neighbour twice: as deployed (jobstatd
# at the unit's Nice=, each uid in a CPU cgroup of its own, as on a systemd host) and with
# everything in one cgroup. BENCH_ARGS=--quick for a run under a minute (the harness stops
# at 100k jobs then).
bench: all $(BENCH_BINS) $(BUILD)/bench/harness $(BUILD)/bench/exporter
	@sh tests/ensure-service-user.sh
	$(BUILD)/bench/harness $(BENCH_ARGS) --json $(BUILD)/bench.json --plot $(BUILD)/poll.png
	$(BUILD)/bench/harness $(BENCH_ARGS) --huge --json $(BUILD)/bench-huge.json
	$(BUILD)/bench/readpath $(BENCH_ARGS)
	$(BUILD)/bench/producer $(BENCH_ARGS)
	$(BUILD)/bench/exporter $(BENCH_ARGS)
	JOBSTAT_LIBRARY=$(CURDIR)/$(BUILD)/$(SONAME) $(PYTHON) bench/pyread.py $(BENCH_ARGS) $(BUILD)
	$(BUILD)/bench/noisy --as-deployed $(BENCH_ARGS)
	$(BUILD)/bench/noisy $(BENCH_ARGS)

# The noisy-neighbour benchmark alone (issue 13; as root: it plays two other uids).
bench-noisy: all $(BUILD)/bench/noisy
	@sh tests/ensure-service-user.sh
	$(BUILD)/bench/noisy --as-deployed $(BENCH_ARGS)
	$(BUILD)/bench/noisy $(BENCH_ARGS)

# jobstatd in the foreground on the defaults (namespace $$JOBSTAT_NAMESPACE or "default").
run: all
	$(BUILD)/jobstatd -f $(RUN_ARGS)

# ---- the demo -------------------------------------------------------------------------------
$(BUILD)/demo-producer: demo/producer.c $(STLIB) | deps-check
	$(CC) $(ALL_CFLAGS) -o $@ $< $(STLIB) $(ALL_LDFLAGS)

# jobstatd in a temporary runtime directory, a producer, a client, watch, GetError; then
# everything stopped and removed. The first thing to run on a fresh clone.
demo: all $(BUILD)/demo-producer
	@sh tests/ensure-service-user.sh
	sh demo/run.sh $(BUILD)

# ---- installation ---------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(libdir) $(DESTDIR)$(includedir)/jobstat $(DESTDIR)$(pkgconfigdir) \
		$(DESTDIR)$(bindir) $(DESTDIR)$(sbindir)
	install -m 0755 $(SHLIB) $(DESTDIR)$(libdir)/
	ln -sf libjobstat.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(libdir)/libjobstat.so
	install -m 0644 $(STLIB) $(DESTDIR)$(libdir)/
	install -m 0644 include/jobstat.h $(DESTDIR)$(includedir)/
	install -m 0644 shm-layout/jobstat-shm.h libclient/jobstat-inline.h \
		$(DESTDIR)$(includedir)/jobstat/
	install -m 0644 $(BUILD)/jobstat.pc $(DESTDIR)$(pkgconfigdir)/
	install -m 0755 $(BUILD)/jobstat $(DESTDIR)$(bindir)/
	install -m 0755 $(BUILD)/jobstatd $(DESTDIR)$(sbindir)/
	install -d $(DESTDIR)$(mandir)/man1 $(DESTDIR)$(mandir)/man3 $(DESTDIR)$(mandir)/man8
	install -m 0644 man/jobstat.1 $(DESTDIR)$(mandir)/man1/
	install -m 0644 man/libjobstat.3 $(BUILD)/man/man3/jst_*.3 $(DESTDIR)$(mandir)/man3/
	install -m 0644 man/jobstatd.8 $(DESTDIR)$(mandir)/man8/
	install -d $(DESTDIR)$(pythondir)/jobstat
	install -m 0644 python/jobstat/*.py $(DESTDIR)$(pythondir)/jobstat/
	install -d $(DESTDIR)$(bashcompdir)
	install -m 0644 cli/jobstat.bash $(DESTDIR)$(bashcompdir)/jobstat
	install -d $(DESTDIR)$(systemdunitdir) $(DESTDIR)$(sysusersdir) $(DESTDIR)$(tmpfilesdir) \
		$(DESTDIR)$(sysconfdir)/jobstat
	install -m 0644 $(BUILD)/systemd/jobstatd.service systemd/jobstatd.socket \
		$(DESTDIR)$(systemdunitdir)/
	install -m 0644 systemd/jobstat.sysusers $(DESTDIR)$(sysusersdir)/jobstat.conf
	install -m 0644 systemd/jobstat.tmpfiles $(DESTDIR)$(tmpfilesdir)/jobstat.conf
	@# An operator's configuration is never overwritten.
	@if [ -e $(DESTDIR)$(sysconfdir)/jobstat/jobstatd.conf ]; then \
		echo "make install: kept $(DESTDIR)$(sysconfdir)/jobstat/jobstatd.conf;" \
		     "the default is daemon/jobstatd.conf"; \
	else \
		echo "install -m 0644 daemon/jobstatd.conf $(DESTDIR)$(sysconfdir)/jobstat/"; \
		install -m 0644 daemon/jobstatd.conf $(DESTDIR)$(sysconfdir)/jobstat/; \
	fi
	@# Into the real root: the loader's cache, then the service user and /run/jobstat.
	@if [ -n "$(DESTDIR)" ]; then :; \
	elif [ "$$(id -u)" -ne 0 ]; then \
		echo "make install: not root: run ldconfig as root for $(libdir)"; \
	else \
		echo "$(LDCONFIG)"; $(LDCONFIG) || exit 1; \
		if command -v $(firstword $(SYSUSERS)) >/dev/null 2>&1; then \
			echo "$(SYSUSERS) $(sysusersdir)/jobstat.conf"; \
			$(SYSUSERS) $(sysusersdir)/jobstat.conf || exit 1; \
			echo "$(TMPFILES) --create $(tmpfilesdir)/jobstat.conf"; \
			$(TMPFILES) --create $(tmpfilesdir)/jobstat.conf || exit 1; \
		fi; \
		echo "make install: to start it: systemctl daemon-reload &&" \
		     "systemctl enable --now jobstatd.socket jobstatd.service"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(libdir)/libjobstat.so.$(VERSION) $(DESTDIR)$(libdir)/$(SONAME) \
	      $(DESTDIR)$(libdir)/libjobstat.so $(DESTDIR)$(libdir)/libjobstat.a \
	      $(DESTDIR)$(includedir)/jobstat.h $(DESTDIR)$(includedir)/jobstat/jobstat-shm.h \
	      $(DESTDIR)$(includedir)/jobstat/jobstat-inline.h \
	      $(DESTDIR)$(pkgconfigdir)/jobstat.pc $(DESTDIR)$(bindir)/jobstat \
	      $(DESTDIR)$(sbindir)/jobstatd $(DESTDIR)$(mandir)/man1/jobstat.1 \
	      $(DESTDIR)$(mandir)/man3/libjobstat.3 $(DESTDIR)$(mandir)/man3/jst_*.3 \
	      $(DESTDIR)$(mandir)/man8/jobstatd.8 \
	      $(DESTDIR)$(bashcompdir)/jobstat \
	      $(DESTDIR)$(systemdunitdir)/jobstatd.service $(DESTDIR)$(systemdunitdir)/jobstatd.socket \
	      $(DESTDIR)$(sysusersdir)/jobstat.conf $(DESTDIR)$(tmpfilesdir)/jobstat.conf
	rm -rf $(DESTDIR)$(pythondir)/jobstat
	-rmdir $(DESTDIR)$(includedir)/jobstat 2>/dev/null
	@# The configuration is the operator's: left in $(sysconfdir)/jobstat.

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-*

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
