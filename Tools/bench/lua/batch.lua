-- POST /v1/verify/batch with bodies of 1,000 tokens, cycling through the file named by BATCHES
-- (one JSON body per line).
local bodies = {}
local index = 0
for line in io.lines(os.getenv("BATCHES")) do bodies[#bodies + 1] = line end
local key = os.getenv("AGENCY_KEY")

request = function()
  index = index + 1
  local headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key }
  return wrk.format("POST", "/v1/verify/batch", headers, bodies[index % #bodies + 1])
end
