# Thin front for the verbs people expect; CMake does the building.
#   make            debug build with ASan+UBSan in build/
#   make run        install missing packages, build, run the example job
#   make test       install missing packages, build (gcc + clang), run every test
#   make bench      optimised build in build-release/, run bench/
#   make install    optimised build, install under PREFIX (default /usr/local)
#   make valgrind   unit tests under valgrind (a build without sanitizers)
BUILD    ?= build
RELEASE  ?= build-release
CLANGDIR ?= build-clang
PREFIX   ?= /usr/local
CC       ?= gcc
JOBS     ?= $(shell nproc 2>/dev/null || echo 2)
SHARED   ?= $(abspath ../shared)
MAKEFLAGS += --no-print-directory

.PHONY: all build deps run test test-clang bench release install valgrind clean

all: build

deps:
	@./scripts/deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug -DDROVER_SANITIZE=ON \
		-DCMAKE_C_COMPILER=gcc >/dev/null

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: deps build
	@./examples/run-example.sh $(BUILD)/drover

test: deps build test-clang
	DROVER_SHARED=$(SHARED) ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# A second compiler catches what the first lets through; build only.
test-clang:
	cmake -S . -B $(CLANGDIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang >/dev/null
	cmake --build $(CLANGDIR) -j $(JOBS)

release:
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DDROVER_TESTS=OFF >/dev/null
	cmake --build $(RELEASE) -j $(JOBS)

bench: deps release
	@./bench/run.sh $(RELEASE)

install: release
	cmake --install $(RELEASE) --prefix $(PREFIX)

# ASan and valgrind do not mix: a plain debug build, every unit test under
# memcheck; any error or definite leak fails.
VGDIR ?= build-valgrind
valgrind: deps
	cmake -S . -B $(VGDIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=gcc >/dev/null
	cmake --build $(VGDIR) -j $(JOBS)
	./scripts/valgrind-units.sh $(VGDIR)

clean:
	rm -rf $(BUILD) $(RELEASE) $(CLANGDIR) $(VGDIR)
