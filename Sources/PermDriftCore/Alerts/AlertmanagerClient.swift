public import Foundation

/// Where and how alerts are delivered: Alertmanager's base URL (`http://127.0.0.1:9093`, or a path
/// prefix behind a proxy), a bounded timeout, and at most one credential, read from a file.
public struct AlertmanagerEndpoint: Sendable, Equatable {
    public var url: URL
    public var timeout: TimeInterval
    /// The `Authorization` header's value (`Bearer …` or `Basic …`), when one is configured.
    public var authorization: String?

    public static let defaultTimeout: TimeInterval = 10

    /// Checks the URL: http or https, a host, no credentials or query in it.
    public init(
        url text: String, timeout: TimeInterval = AlertmanagerEndpoint.defaultTimeout,
        authorization: String? = nil
    ) throws(DeliveryError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
            let url = components.url
        else {
            throw .configuration("the Alertmanager URL \(TerminalText.escape(text)) is not an http:// or https:// URL with a host")
        }
        if components.user != nil || components.password != nil {
            throw .configuration("the Alertmanager URL must not carry credentials; name a file that holds them instead")
        }
        if components.query != nil || components.fragment != nil {
            throw .configuration("the Alertmanager URL must not have a query or a fragment")
        }
        guard timeout > 0, timeout <= 300 else { throw .configuration("the Alertmanager timeout must be between 0 and 300 seconds") }
        self.url = url
        self.timeout = timeout
        self.authorization = authorization
    }

    /// `…/api/v2/alerts` under the base URL.
    public var alertsURL: URL {
        var base = url.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        return URL(string: base + "/api/v2/alerts")!
    }

    /// The base URL for messages (it holds no credentials).
    public var display: String { TerminalText.escape(url.absoluteString) }
}

public enum DeliveryError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    /// No HTTP answer: refused, unreachable, timed out, TLS failure.
    case transport(String)
    /// An HTTP answer other than 2xx (redirects are not followed).
    case status(Int, String)

    public var description: String {
        switch self {
        case .configuration(let why): return why
        case .transport(let why): return why
        case .status(let code, let body):
            let kind = (300..<400).contains(code) ? " (a redirect, which is not followed)" : ""
            return "Alertmanager answered HTTP \(code)\(kind)\(body.isEmpty ? "" : ": " + body)"
        }
    }
}

/// Posts alerts to Alertmanager's v2 API. The only network code in permdrift.
public final class AlertmanagerClient: Sendable {
    public let endpoint: AlertmanagerEndpoint
    /// At most this many alerts per request.
    public static let batchSize = 200

    public init(endpoint: AlertmanagerEndpoint) { self.endpoint = endpoint }

    /// Sends `alerts` in batches; returns the ones Alertmanager accepted, and the first failure.
    public func send(_ alerts: [OutboxAlert]) -> (accepted: [OutboxAlert], failure: DeliveryError?) {
        var accepted = [OutboxAlert]()
        var start = 0
        while start < alerts.count {
            let batch = Array(alerts[start..<min(start + Self.batchSize, alerts.count)])
            if let failure = post(Self.body(batch)) { return (accepted, failure) }
            accepted += batch
            start += batch.count
        }
        return (accepted, nil)
    }

    /// The request body: a JSON array of alerts, ASCII only.
    public static func body(_ alerts: [OutboxAlert]) -> [UInt8] {
        let document = JSONValue.array(
            alerts.map { alert in
                .object([
                    ("labels", .object(alert.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                    ("annotations", .object(alert.annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                    ("startsAt", .string(ScanResult.timestamp(alert.startsAt))),
                    ("endsAt", .string(ScanResult.timestamp(alert.endsAt)))
                ])
            })
        return Array(document.serialized().utf8)
    }

    /// One POST through libcurl's easy interface (`HTTPPost`), in this thread: no run loop, socket
    /// pair or libdispatch thread (Foundation's URLSession starts dispatch threads that ask for a nice
    /// value an unprivileged service may not take, and logs that it could not).
    private func post(_ body: [UInt8]) -> DeliveryError? {
        var headers = ["Content-Type: application/json", "User-Agent: permdrift/\(ScanResult.toolVersion)"]
        if let authorization = endpoint.authorization {
            guard !authorization.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) else {
                return .configuration("the Alertmanager credential holds a control character")
            }
            headers.append("Authorization: " + authorization)
        }
        let answer: HTTPPost.Answer
        switch HTTPPost.send(
            body, to: endpoint.alertsURL.absoluteString, headers: headers,
            timeoutMilliseconds: Int(endpoint.timeout * 1000))
        {
        case .success(let a): answer = a
        case .failure(let e):
            if e.timedOut { return .transport("no answer within \(Int(endpoint.timeout)) seconds") }
            return .transport(TerminalText.escape(e.message))
        }
        let status = answer.status
        if (200..<300).contains(status) { return nil }
        let text = String(decoding: answer.body, as: UTF8.self)
        return .status(status, TerminalText.escape(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }
}
