import Hummingbird
import Logging

// The floor of Tools/bench/run's trivial route: a Hummingbird application of the same version as
// the server, answering GET /healthz with the same JSON and nothing else — no middleware, no request
// context beyond the basic one, a logger that logs only warnings.
//   bare-hummingbird PORT

guard CommandLine.arguments.count == 2, let port = Int(CommandLine.arguments[1]) else {
    fatalError("usage: bare-hummingbird PORT")
}
var logger = Logger(label: "bare-hummingbird")
logger.logLevel = .warning
let router = Router()
router.get("/healthz") { _, _ in
    Response(status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
             body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
try await app.runService()
