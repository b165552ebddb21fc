-- POST /v1/verify with a different token each request, from the file named by TOKENS (one per line).
local tokens = {}
local index = 0
local path = os.getenv("TOKENS")
for line in io.lines(path) do tokens[#tokens + 1] = line end
local key = os.getenv("AGENCY_KEY")

function setup(thread)
  thread:set("offset", math.floor(#tokens / 2) * (tonumber(thread.id) or 0))
end

request = function()
  index = index + 1
  local token = tokens[((offset or 0) + index) % #tokens + 1]
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  return wrk.format("POST", "/v1/verify", headers, '{"token":"' .. token .. '"}')
end
