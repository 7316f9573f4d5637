-- han.tcp: a tcp://host:port source (ser2net, an ESP stream server, a meter bridge) with
-- the API of the serial modules (open, port:read(n, timeout), flush, close), so
-- han.reader reads it like a device, with the same reconnect and back-off. LuaSocket
-- does the work: LogicMachine ships it, desktops have lua-socket.
local M = {}

local socket

local function luasocket()
  if socket == nil then
    local ok, mod = pcall(require, "socket")
    socket = ok and mod or false
  end
  return socket
end

local Port = {}
Port.__index = Port

-- read(n, timeout) -> data (n bytes, or fewer when the timeout ran out or the server
-- closed first), or nil, "timeout" when nothing came, or nil, message when the
-- connection is gone.
function Port:read(n, timeout)
  self.sock:settimeout(timeout)
  local data, err, partial = self.sock:receive(n)
  if data then return data, #data end
  if partial and partial ~= "" then return partial, #partial end
  if err == "timeout" then return nil, "timeout" end
  return nil, "connection to " .. self.where .. " " .. tostring(err)
end

function Port:write(s)
  return self.sock:send(s)
end

-- Nothing to discard: the bytes the server sent are the stream's own.
function Port.flush() end

function Port:close()
  self.sock:close()
end

-- open("tcp://host:port") -> port, or nil, message. Serial parameters do not apply.
function M.open(url)
  local host, port = tostring(url):match("^tcp://%[?([^%]]+)%]?:(%d+)$")
  if not host then return nil, "not tcp://host:port: " .. tostring(url) end
  if not luasocket() then
    return nil, "reading " .. url .. " needs LuaSocket (Debian: apt-get install lua-socket)"
  end
  local sock = socket.tcp()
  sock:settimeout(5)
  local done, err = sock:connect(host, tonumber(port))
  if not done then
    sock:close()
    return nil, "cannot connect to " .. host .. ":" .. port .. ": " .. tostring(err)
  end
  return setmetatable({ sock = sock, where = host .. ":" .. port }, Port)
end

function M.sleep(s)
  if luasocket() then socket.sleep(s) end
end

function M.clock()
  return luasocket() and socket.gettime() or os.time()
end

return M
