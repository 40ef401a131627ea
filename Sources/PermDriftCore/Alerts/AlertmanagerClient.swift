import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Where and how alerts are delivered: Alertmanager's base URL (`http://127.0.0.1:9093`, or a path
/// prefix behind a proxy), a bounded timeout, and at most one credential, read from a file.
public struct AlertmanagerEndpoint: Sendable, Equatable {
    public var url: URL
    public var timeout: TimeInterval
    /// The `Authorization` header's value (`Bearer …` or `Basic …`), when one is configured.
    public var authorization: String?

    public static let defaultTimeout: TimeInterval = 10

    /// Checks the URL: http or https, a host, no credentials or query in it.
    public init(url text: String, timeout: TimeInterval = AlertmanagerEndpoint.defaultTimeout,
                authorization: String? = nil) throws(DeliveryError) {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
              let url = components.url else {
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
        let document = JSONValue.array(alerts.map { alert in
            .object([
                ("labels", .object(alert.labels.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("annotations", .object(alert.annotations.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })),
                ("startsAt", .string(ScanResult.timestamp(alert.startsAt))),
                ("endsAt", .string(ScanResult.timestamp(alert.endsAt))),
            ])
        })
        return Array(document.serialized().utf8)
    }

    private final class Outcome: @unchecked Sendable {
        let lock = NSLock()
        var value: DeliveryError??
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }

    private func post(_ body: [UInt8]) -> DeliveryError? {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = endpoint.timeout
        configuration.timeoutIntervalForResource = endpoint.timeout
        configuration.httpCookieAcceptPolicy = .never
        configuration.urlCache = nil
        let session = URLSession(configuration: configuration, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        var request = URLRequest(url: endpoint.alertsURL, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: endpoint.timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("permdrift/\(ScanResult.toolVersion)", forHTTPHeaderField: "User-Agent")
        if let authorization = endpoint.authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        request.httpBody = Data(body)
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { data, response, error in
            let result: DeliveryError?
            if let error {
                let ns = error as NSError
                let reason = ns.userInfo[NSLocalizedDescriptionKey] as? String
                    ?? (ns.userInfo[NSUnderlyingErrorKey] as? NSError)?.localizedDescription ?? "\(ns.domain) \(ns.code)"
                result = .transport(ns.code == NSURLErrorTimedOut ? "no answer within \(Int(self.endpoint.timeout)) seconds" : TerminalText.escape(reason))
            } else if let http = response as? HTTPURLResponse {
                if (200..<300).contains(http.statusCode) {
                    result = nil
                } else {
                    let text = String(decoding: (data ?? Data()).prefix(200), as: UTF8.self)
                    result = .status(http.statusCode, TerminalText.escape(text.trimmingCharacters(in: .whitespacesAndNewlines)))
                }
            } else {
                result = .transport("no HTTP answer")
            }
            outcome.lock.lock()
            outcome.value = .some(result)
            outcome.lock.unlock()
            done.signal()
        }
        task.resume()
        // A second, hard bound in case the transfer's own timeouts do not fire.
        if done.wait(timeout: .now() + endpoint.timeout + 5) == .timedOut {
            task.cancel()
            return .transport("no answer within \(Int(endpoint.timeout)) seconds")
        }
        outcome.lock.lock()
        defer { outcome.lock.unlock() }
        return outcome.value ?? .transport("no answer")
    }
}
