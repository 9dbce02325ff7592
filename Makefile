# The two commands of the README. Both install missing Debian packages first.
#   make run   Release build, then vigild in the foreground on 127.0.0.1:8080
#   make test  build (warnings are errors) and run every test with ctest
JOBS ?= 2
RELEASE_DIR ?= build-release
TEST_DIR ?= build

.PHONY: deps run test build-release build-test asan fuzz bench clean

deps:
	@scripts/install-deps

build-release: deps
	@cmake -S . -B $(RELEASE_DIR) -DCMAKE_BUILD_TYPE=Release -DVIGIL_BUILD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS)

run: build-release
	@mkdir -p var/log
	$(RELEASE_DIR)/vigild --config=config/vigil.properties

build-test: deps
	@cmake -S . -B $(TEST_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVIGIL_WERROR=ON >/dev/null
	@cmake --build $(TEST_DIR) -j$(JOBS)

test: build-test
	ctest --test-dir $(TEST_DIR) --output-on-failure -j$(JOBS) --timeout 300

# Address and undefined-behaviour sanitizers over the whole test suite.
asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DVIGIL_SANITIZE=address,undefined >/dev/null
	@cmake --build build-asan -j$(JOBS)
	ctest --test-dir build-asan --output-on-failure -j$(JOBS) --timeout 600

# libFuzzer targets (clang, ASan + UBSan), each run FUZZ_SECONDS; seeds in tests/fuzz/corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	JOBS=$(JOBS) scripts/fuzz $(FUZZ_SECONDS)

# Benchmarks are run by hand; figures go to docs/BENCHMARKS.md.
bench: build-release
	@scripts/install-deps bench
	@cmake -S . -B $(RELEASE_DIR) -DVIGIL_BUILD_BENCH=ON >/dev/null
	@cmake --build $(RELEASE_DIR) -j$(JOBS)
	tests/bench/run-all $(RELEASE_DIR)

clean:
	rm -rf $(TEST_DIR) $(RELEASE_DIR) build-asan build-fuzz
