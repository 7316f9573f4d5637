-- The library uses only what every Lua runtime has.
std = "min"
max_line_length = 100
exclude_files = { "build/", "dist/", ".luarocks/" }

files["spec/"] = { std = "max+busted" }
files["bench/"] = { std = "+max" }
-- Scripts that run on a LogicMachine see its globals.
files["examples/"] = {
  std = "+max",
  globals = { "han", "reader", "hourly", "port", "pin_said" },
  read_globals = { "grp", "storage", "log", "loghex", "alert", "sleep", "json", "serial",
    "dt", "script", "_SCRIPTNAME" },
}
files["bin/"] = { std = "+max" }
