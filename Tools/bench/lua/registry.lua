-- Registry reads as an agency, in turns: GET /v1/licences/{id} with the identifiers of the file named
-- by IDS, and POST /v1/holders/licences with the holder codes of the file named by HOLDERS (one a
-- line each). Every thread starts at a different place in both files.
local ids, holders = {}, {}
for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
for line in io.lines(os.getenv("HOLDERS")) do holders[#holders + 1] = line end
local key = os.getenv("AGENCY_KEY")
local index = 0
local threads = 0

function setup(thread)
  thread:set("offset", 7919 * threads)
  threads = threads + 1
end

request = function()
  index = index + 1
  local n = (offset or 0) + index
  local headers = { ["Authorization"] = "Bearer " .. key }
  if n % 2 == 0 then
    return wrk.format("GET", "/v1/licences/" .. ids[math.floor(n / 2) % #ids + 1], headers)
  end
  headers["Content-Type"] = "application/json"
  return wrk.format("POST", "/v1/holders/licences", headers,
                    '{"holderCode":"' .. holders[math.floor(n / 2) % #holders + 1] .. '"}')
end
