package = "han"
version = "scm-1"
source = {
  url = "git+https://example.invalid/han.git",
}
description = {
  summary = "Read the HAN port of smart electricity meters (HDLC, M-Bus, DLMS/COSEM with AES-GCM, DSMR P1)",
  detailed = [[
    A C core (CRC-16/X-25, HDLC, M-Bus, A-XDR, AES-128-GCM, DSMR P1, streaming framer)
    and a pure-Lua layer with vendor
    profiles, units, meter time and serial polling. Runs without the C core too.
  ]],
  license = "MIT",
}
-- argparse for the `han` command; MQTT needs libmosquitto (make builds han.mosquitto) or
-- lua-mosquitto, tcp:// sources need luasocket: both optional, so not listed here.
dependencies = {
  "lua >= 5.1, < 5.5",
  "argparse",
}
build = {
  type = "builtin",
  modules = {
    ["han.core"] = {
      sources = { "csrc/han.c", "csrc/crc16.c", "csrc/crc16_arc.c", "csrc/hdlc.c",
        "csrc/axdr.c", "csrc/framer.c", "csrc/aes.c", "csrc/unwrap.c",
        "csrc/p1.c", "csrc/sml.c", "csrc/han_core.c", "csrc/han_p1.c", "csrc/han_sml.c" },
    },
    ["han"] = "lua/han/init.lua",
    ["han.backend"] = "lua/han/backend.lua",
    ["han.luacore"] = "lua/han/luacore/init.lua",
    ["han.luacore.crc16"] = "lua/han/luacore/crc16.lua",
    ["han.luacore.hdlc"] = "lua/han/luacore/hdlc.lua",
    ["han.luacore.axdr"] = "lua/han/luacore/axdr.lua",
    ["han.luacore.framer"] = "lua/han/luacore/framer.lua",
    ["han.luacore.unwrap"] = "lua/han/luacore/unwrap.lua",
    ["han.luacore.aes"] = "lua/han/luacore/aes.lua",
    ["han.luacore.p1"] = "lua/han/luacore/p1.lua",
    ["han.luacore.sml"] = "lua/han/luacore/sml.lua",
    ["han.luacore.errors"] = "lua/han/luacore/errors.lua",
    ["han.luacore.messages"] = "lua/han/luacore/messages.lua",
    ["han.naming.p1"] = "lua/han/naming/p1.lua",
    ["han.naming.sml"] = "lua/han/naming/sml.lua",
    ["han.decode"] = "lua/han/decode.lua",
    ["han.naming"] = "lua/han/naming/init.lua",
    ["han.naming.fields"] = "lua/han/naming/fields.lua",
    ["han.naming.dlms"] = "lua/han/naming/dlms.lua",
    ["han.naming.dlms_layout"] = "lua/han/naming/dlms_layout.lua",
    ["han.naming.chunk"] = "lua/han/naming/chunk.lua",
    ["han.naming.profiles"] = "lua/han/naming/profiles.lua",
    ["han.time"] = "lua/han/time.lua",
    ["han.outputs.hourly"] = "lua/han/outputs/hourly.lua",
    ["han.outputs.json"] = "lua/han/outputs/json.lua",
    ["han.reader"] = "lua/han/reader.lua",
    ["han.tcp"] = "lua/han/tcp.lua",
    ["han.d0"] = "lua/han/d0.lua",
    ["han.serial"] = "csrc/serial.c",
    ["han.outputs.lm"] = "lua/han/outputs/lm.lua",
    ["han.outputs.mqtt"] = "lua/han/outputs/mqtt.lua",
    ["han.outputs.capacity"] = "lua/han/outputs/capacity.lua",
    ["han.outputs.tariffs"] = "lua/han/outputs/tariffs.lua",
    ["han.outputs.store"] = "lua/han/outputs/store.lua",
    ["han.outputs.guard"] = "lua/han/outputs/guard.lua",
  },
  install = {
    bin = { han = "bin/han" },
  },
}
