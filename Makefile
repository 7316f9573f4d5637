# han: build the C core for one Lua, run the specs on every Lua and both backends.
# `make` builds han/core.so for the `lua` on PATH (override: make LUA=lua5.1).

LUA        ?= lua
LUA_VERSION := $(shell $(LUA) -e 'print(jit and "jit" or _VERSION:sub(5))' 2>/dev/null)
LUA_PKG    = $(if $(filter jit,$(LUA_VERSION)),luajit,lua$(LUA_VERSION))
LUA_INC    ?= $(shell pkg-config --cflags $(LUA_PKG) 2>/dev/null)

CC      ?= cc
CFLAGS  ?= -O2 -g
WARN     = -std=c99 -pedantic -Wall -Wextra -Wshadow -Wcast-qual -Wstrict-prototypes \
           -Wmissing-prototypes -Werror
ALL_CFLAGS = $(WARN) -fPIC -fvisibility=hidden $(CFLAGS) $(LUA_INC)
LDFLAGS_SO = -shared

ENGINE  = csrc/han.c csrc/crc16.c csrc/crc16_arc.c csrc/hdlc.c csrc/axdr.c csrc/framer.c \
          csrc/aes.c csrc/unwrap.c csrc/p1.c csrc/sml.c
CORE    = $(ENGINE) csrc/han_core.c csrc/han_p1.c csrc/han_sml.c
HEADERS = $(wildcard csrc/*.h)

# Where each test runtime finds its own build of the C modules.
RUNTIMES ?= lua5.1 lua5.4 luajit
BUILD    = build

.PHONY: all test lint clean demo bundle valgrind fuzz asan bench capacity-vectors

all: han/core.so han/serial.so han/mosquitto.so

# Rebuild when `lua` turns out to be another version than last time.
$(BUILD)/.for-$(LUA_PKG):
	@mkdir -p $(BUILD) && rm -f $(BUILD)/.for-* && touch $@

han/core.so: $(CORE) $(HEADERS) $(BUILD)/.for-$(LUA_PKG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_SO) -o $@ $(CORE)

han/serial.so: csrc/serial.c csrc/compat.h $(BUILD)/.for-$(LUA_PKG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_SO) -o $@ csrc/serial.c

# Optional MQTT client binding to Debian's libmosquitto (LogicMachine ships its own).
han/mosquitto.so: csrc/mosquitto.c csrc/compat.h $(BUILD)/.for-$(LUA_PKG)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS_SO) -o $@ csrc/mosquitto.c -lmosquitto

# One build of the modules per test runtime, under build/<lua>/han/.
inc_of = $(shell pkg-config --cflags $(1))
$(BUILD)/%/han/core.so: $(CORE) $(HEADERS)
	@mkdir -p $(@D)
	$(CC) $(WARN) -fPIC -fvisibility=hidden $(CFLAGS) $(call inc_of,$*) $(LDFLAGS_SO) -o $@ $(CORE)

$(BUILD)/%/han/mosquitto.so: csrc/mosquitto.c csrc/compat.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -fPIC -fvisibility=hidden $(CFLAGS) $(call inc_of,$*) $(LDFLAGS_SO) -o $@ csrc/mosquitto.c -lmosquitto

$(BUILD)/%/han/serial.so: csrc/serial.c csrc/compat.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -fPIC -fvisibility=hidden $(CFLAGS) $(call inc_of,$*) $(LDFLAGS_SO) -o $@ csrc/serial.c

$(BUILD)/%/bench_capi.so: bench/capi.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -fPIC $(CFLAGS) $(call inc_of,$*) $(LDFLAGS_SO) -o $@ bench/capi.c

# The main job on the bundled sample captures: one JSON line per reading, as
# `han decode` prints them (it is `han decode`), the framer's counters on stderr.
demo: han/core.so
	$(LUA) bin/han decode examples/capture/kaifa-ma304h3e.bin \
	    examples/capture/aidon-6515.bin examples/capture/kamstrup-6841.bin

# The capacity scenarios' expected figures, from the independent reference (python3).
capacity-vectors:
	python3 spec/support/capacity_reference.py

lint:
	luacheck $(wildcard lua spec examples bench tools bin/han)

bundle: dist/han.lua
dist/han.lua: $(shell find lua/han -name '*.lua') tools/bundle.lua
	@mkdir -p $(@D)
	$(LUA) tools/bundle.lua $@

# The C-core specs under valgrind memcheck: zero errors and no definite leaks.
valgrind: $(BUILD)/lua5.1/han/core.so
	HAN_BACKEND=c LUA_CPATH="$(BUILD)/lua5.1/?.so;;" \
	LUA_PATH="lua/?.lua;lua/?/init.lua;spec/?.lua;;" \
	valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	    lua5.1 /usr/bin/busted -o TAP spec/core_spec.lua spec/framer_spec.lua \
	    spec/framer_mbus_p1_spec.lua spec/unwrap_spec.lua spec/gcm_spec.lua spec/p1_spec.lua \
	    spec/decode_spec.lua spec/sml_spec.lua spec/sml_framer_spec.lua

test: lint dist/han.lua $(foreach r,$(RUNTIMES),$(BUILD)/$(r)/han/core.so $(BUILD)/$(r)/han/serial.so $(BUILD)/$(r)/han/mosquitto.so)
	RUNTIMES="$(RUNTIMES)" BUILD=$(BUILD) sh spec/run.sh

# One table of figures measured in one run (bench/README.md says what each means).
BENCH_ENV = LUA_PATH="lua/?.lua;lua/?/init.lua;;"
bench: $(foreach r,lua5.1 luajit,$(BUILD)/$(r)/han/core.so $(BUILD)/$(r)/bench_capi.so) \
       $(BUILD)/lua5.1/han/serial.so
	@$(CC) -O2 -std=c99 -o $(BUILD)/bench-crc bench/crc.c csrc/crc16.c csrc/aes.c
	@echo "| what | runtime | figure | notes |"
	@echo "|---|---|---:|---|"
	@$(BUILD)/bench-crc
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/run.lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/instructions.lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/luajit/?.so;;" luajit bench/run.lua 0.3 c
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/luajit/?.so;;" luajit bench/run.lua 0.3 lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/streams.lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/luajit/?.so;;" luajit bench/streams.lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/memory.lua c
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/memory.lua lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/memory.lua lua+bit
	@lua5.1 bench/loc.lua
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/cli.lua lua5.1
	@$(BENCH_ENV) LUA_CPATH="$(BUILD)/lua5.1/?.so;;" lua5.1 bench/latency.lua

# The whole suite against C modules built with AddressSanitizer and UBSan (lua5.1).
# Leak checking is valgrind's job (make valgrind): child processes inherit LD_PRELOAD.
ASAN_FLAGS = -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
asan:
	@mkdir -p $(BUILD)/asan/han
	$(CC) $(WARN) -fPIC $(ASAN_FLAGS) $(call inc_of,lua5.1) $(LDFLAGS_SO) \
	    -o $(BUILD)/asan/han/core.so $(CORE)
	$(CC) $(WARN) -fPIC $(ASAN_FLAGS) $(call inc_of,lua5.1) $(LDFLAGS_SO) \
	    -o $(BUILD)/asan/han/serial.so csrc/serial.c
	$(CC) $(WARN) -fPIC $(ASAN_FLAGS) $(call inc_of,lua5.1) $(LDFLAGS_SO) \
	    -o $(BUILD)/asan/han/mosquitto.so csrc/mosquitto.c -lmosquitto
	LD_PRELOAD="$$($(CC) -print-file-name=libasan.so) $$($(CC) -print-file-name=libubsan.so)" \
	ASAN_OPTIONS=detect_leaks=0 \
	RUNTIMES=lua5.1 BACKENDS=c BUILD=$(BUILD) RUN_BUILD=$(BUILD)/asan TAG=asan sh spec/run.sh

# libFuzzer targets for the pure-C engine (clang), each run for FUZZ_SECONDS from a
# seed corpus made of the vectors; any crash, leak or sanitizer report fails the run.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_TARGETS = decode framer unwrap p1 sml
fuzz_src_decode = fuzz/fuzz_decode.c csrc/hdlc.c csrc/axdr.c csrc/crc16.c csrc/han.c
fuzz_src_framer = fuzz/fuzz_framer.c csrc/framer.c csrc/hdlc.c csrc/crc16.c csrc/crc16_arc.c
fuzz_src_unwrap = fuzz/fuzz_unwrap.c csrc/unwrap.c csrc/aes.c csrc/axdr.c csrc/hdlc.c csrc/crc16.c
fuzz_src_p1 = fuzz/fuzz_p1.c csrc/p1.c csrc/crc16_arc.c
fuzz_src_sml = fuzz/fuzz_sml.c csrc/sml.c csrc/framer.c csrc/hdlc.c csrc/crc16.c \
    csrc/crc16_arc.c

$(BUILD)/fuzz/%: fuzz/fuzz_%.c $(ENGINE) $(HEADERS)
	@mkdir -p $(@D)
	clang $(FUZZ_FLAGS) -o $@ $(fuzz_src_$*)

fuzz: $(foreach t,$(FUZZ_TARGETS),$(BUILD)/fuzz/$(t))
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD)/fuzz/corpus-$$t && \
	  lua5.1 fuzz/seed.lua $(BUILD)/fuzz/corpus-$$t >/dev/null || exit 1; \
	  $(BUILD)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	      -artifact_prefix=$(BUILD)/fuzz/crash-$$t- $(BUILD)/fuzz/corpus-$$t \
	      > $(BUILD)/fuzz/$$t.log 2>&1; rc=$$?; \
	  echo "fuzz $$t: $$(grep -o 'number_of_executed_units: [0-9]*' $(BUILD)/fuzz/$$t.log)"; \
	  if [ $$rc -ne 0 ]; then tail -40 $(BUILD)/fuzz/$$t.log; exit 1; fi; \
	done

-include mk/cross.mk

clean:
	rm -rf han $(BUILD) dist
