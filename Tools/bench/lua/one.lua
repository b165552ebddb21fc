-- POST /v1/verify with one token (the first line of the file named by TOKENS) in every request,
-- prepared once as wrk's static request, the way the trivial route's requests are.
local f = io.open(os.getenv("TOKENS"))
local token = f:read("*l")
f:close()
wrk.method = "POST"
wrk.path = "/v1/verify"
wrk.body = '{"token":"' .. token .. '"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("AGENCY_KEY")
