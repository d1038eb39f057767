# ims-core: one build for the common library and the IMS daemons (the eight of LAB.md and the MRB).
#
#   make            build (installs missing Debian build packages as root, or says how)
#   make lab        build and start the loopback lab (deploy/lab.sh), wait for health
#   make lab-stop   stop the lab (logs and state stay in run/lab/)
#   make lab-status show the lab table
#   make test       unit tests (normal and ASan/UBSan builds), 3 s of each fuzz harness,
#                   then end-to-end tests
#   make unit       unit tests only
#   make fuzz       build the libFuzzer harnesses of tests/fuzz/ (clang, ASan + UBSan) and
#                   run each for FUZZ_SECONDS (default 60); see tests/fuzz/README.md
#   make e2e        end-to-end tests only (they start and stop their own lab)
#   make deps       install every Debian package of the build and the tests
#   make clean

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_MK = $(MAKE) --no-print-directory -f mk/build.mk -j$(JOBS)

FUZZ_SECONDS ?= 60

.PHONY: all build build-san deps deps-build deps-fuzz lab lab-stop lab-status test unit fuzz \
        e2e clean

all: deps-build
	@$(BUILD_MK) BUILD=build all

build: all

build-san: deps-build
	@$(BUILD_MK) BUILD=build-san SAN=1 all tests

deps-build:
	@mk/deps.sh build

deps:
	@mk/deps.sh test

deps-fuzz:
	@mk/deps.sh fuzz

lab: deps all
	@deploy/lab.sh start

lab-stop:
	@deploy/lab.sh stop

lab-status:
	@deploy/lab.sh status

unit: deps-build
	@$(BUILD_MK) BUILD=build all tests
	@$(BUILD_MK) BUILD=build-san SAN=1 all tests
	@tests/run-unit.sh build build-san

fuzz: deps-fuzz
	@$(BUILD_MK) BUILD=build-fuzz FUZZ=1 fuzz
	@tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

e2e: deps all
	@tests/e2e/run.sh

# a few seconds of each fuzz harness: the crashes of tests/fuzz/corpus stay fixed
test: deps unit
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=3
	@$(MAKE) --no-print-directory e2e

clean:
	rm -rf build build-san build-fuzz
