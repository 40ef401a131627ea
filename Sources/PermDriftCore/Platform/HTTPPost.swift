import CPermDrift
import Glibc

/// One HTTP POST through libcurl's easy interface (CPermDrift's http.c), in the calling thread: no run
/// loop, socket pair or libdispatch thread.
enum HTTPPost {
    /// The answer: the HTTP status and the first bytes of the body (up to `responseLimit`).
    struct Answer {
        let status: Int
        let body: [UInt8]
    }

    /// No answer: libcurl's error code (28: timed out) and its message.
    struct Failure: Error {
        let code: Int32
        let message: String
        var timedOut: Bool { code == 28 }
    }

    /// Posts `body` to `url` with `headers` ("Name: value"), at most `timeoutMilliseconds` in all, no
    /// redirect followed, TLS peers verified against the system's trust store.
    static func send(
        _ body: [UInt8], to url: String, headers: [String], timeoutMilliseconds: Int,
        responseLimit: Int = 200
    ) -> Result<Answer, Failure> {
        var status = 0
        var response = [CChar](repeating: 0, count: responseLimit)
        var responseLength = 0
        var error = [CChar](repeating: 0, count: 512)
        let cHeaders = headers.map { strdup($0) }
        defer { for h in cHeaders { free(h) } }
        let rc = cHeaders.map { UnsafePointer($0) }.withUnsafeBufferPointer { h in
            body.withUnsafeBytes { b in
                pd_http_post(
                    url, h.baseAddress, h.count, b.baseAddress, b.count, timeoutMilliseconds,
                    &status, &response, response.count, &responseLength, &error, error.count)
            }
        }
        guard rc == 0 else {
            let message = String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return .failure(Failure(code: rc, message: message))
        }
        return .success(Answer(status: status, body: response.prefix(responseLength).map { UInt8(bitPattern: $0) }))
    }
}
