# ARM builds of han.core with Debian's cross compilers, and the specs run on them under
# qemu-arm with the target's own lua5.1 (tools/cross-sysroot.sh unpacks it).
#   make cross TARGET=armhf|armel       -> build/cross-$(TARGET)/han/core.so
#   make test-cross TARGET=armhf|armel  -> the portable specs, C and Lua backends
TARGET ?= armhf
triplet_armhf = arm-linux-gnueabihf
triplet_armel = arm-linux-gnueabi
cpu_armhf = cortex-a9
cpu_armel = arm926
TRIPLET = $(triplet_$(TARGET))
SYSROOT = $(BUILD)/sysroot-$(TARGET)
QEMU = qemu-arm -L $(SYSROOT) -cpu $(cpu_$(TARGET))
# The specs that need no host tools (socat, mosquitto, han.serial) and run in reasonable
# time under emulation; busted leaves out the tests tagged #host (d0_spec's pty half).
CROSS_SPECS = --exclude-tags=host spec/core_spec.lua spec/framer_spec.lua \
    spec/decode_spec.lua spec/time_spec.lua spec/hourly_spec.lua spec/reader_spec.lua \
    spec/int32_spec.lua spec/bundle_spec.lua spec/gcm_spec.lua spec/unwrap_spec.lua \
    spec/p1_spec.lua spec/sml_spec.lua spec/sml_framer_spec.lua spec/sml_reading_spec.lua \
    spec/d0_spec.lua

.PHONY: cross test-cross

$(SYSROOT)/.done: tools/cross-sysroot.sh
	sh tools/cross-sysroot.sh $(TARGET)

cross: $(SYSROOT)/.done
	@mkdir -p $(BUILD)/cross-$(TARGET)/han
	$(TRIPLET)-gcc $(WARN) -O2 -fPIC -fvisibility=hidden -shared \
	    -I$(SYSROOT)/usr/include/lua5.1 -I$(SYSROOT)/usr/include/$(TRIPLET) \
	    -o $(BUILD)/cross-$(TARGET)/han/core.so $(CORE)

test-cross: cross dist/han.lua
	RUNTIMES=cross-$(TARGET) BUILD=$(BUILD) LUA_CMD="$(QEMU) $(SYSROOT)/usr/bin/lua5.1" \
	EXTRA_CPATH="$(SYSROOT)/usr/lib/$(TRIPLET)/lua/5.1/?.so" SPECS="$(CROSS_SPECS)" \
	sh spec/run.sh
