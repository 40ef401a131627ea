/// The report formats permdrift writes.
public enum ReportFormat: String, CaseIterable, Sendable {
    case text, json, junit, sarif

    public func render(_ result: ScanResult) -> String {
        switch self {
        case .text: TextReport.render(result)
        case .json: JSONReport.render(result)
        case .junit: JUnitReport.render(result)
        case .sarif: SARIFReport.render(result)
        }
    }
}
