-- han.naming.dlms: the reading of a DLMS data-notification from core.values (a values
-- array and the body's layout key, docs/core-api.md). A layout is read from its key and
-- compiled once (han.naming.dlms_layout); its later bodies run the compiled function.
local naming = require("han.naming")

local M = {}

-- name(v, key, header, src, opts, null) -> reading | nil, message, code: the reading
-- of a core.values result (null: the core's null-data).
local layouts = naming.layouts
function M.name(v, key, header, src, opts, null)
  local l = layouts[key]
  if not (l and (l.src == nil or l.src == src)
      and (l.id_leaf == nil or v[l.id_leaf] == l.list)) then
    l = naming.keep(key, naming.compiler("han.naming.dlms_layout").layout(v, key, src))
  end
  if l.message then return nil, l.message, l.code end
  return l.fn(v, header, opts, null)
end

return M
