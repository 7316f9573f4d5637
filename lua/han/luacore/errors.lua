-- han.luacore.errors: fail(), what every luacore file returns for bad data: nil, the
-- message and the code of the error (docs/core-api.md, "Errors and their codes"), the
-- messages from one table (han.luacore.messages, loaded with the first failure), as
-- csrc/han.c and csrc/p1.c hold them for the C core.
local format = string.format

local M = {}

local messages

-- fail(code [, x]) -> nil, message, code: what a core function returns for bad data
-- (x fills the message's byte, system title or line number).
function M.fail(code, x)
  messages = messages or require("han.luacore.messages")
  local message = messages[code]
  if x ~= nil then message = format(message, x) end
  return nil, message, code
end

return M
