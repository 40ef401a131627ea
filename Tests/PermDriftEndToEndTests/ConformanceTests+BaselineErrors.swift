import Foundation
import PermDriftTestSupport
import Testing

// MARK: - The baseline-error table

extension ConformanceTests {
    /// Each must exit 2 and name `baseline.yaml:LINE:COLUMN`, LINE the offending line (rules start on line 6).
    static let baselineErrorCases: [BaselineErrorCase] = [
        BaselineErrorCase(
            "unknown key", line: 8,
            rules(
                """
                  - id: t
                    match: /home/*
                    expect: { mdoe: "0600" }
                """)),
        BaselineErrorCase(
            "unquoted mode", line: 8,
            rules(
                """
                  - id: t
                    match: /home/*
                    expect: { mode: 0600 }
                """)),
        BaselineErrorCase(
            "unknown principal", line: 8,
            rules(
                """
                  - id: t
                    match: /home/*
                    expect: { owner: nosuchuser }
                """)),
        BaselineErrorCase(
            "capture missing from pattern", line: 8,
            rules(
                """
                  - id: t
                    match: /home/*
                    expect: { owner: "{a}" }
                """)),
        BaselineErrorCase(
            "duplicate rule id", line: 9,
            rules(
                """
                  - id: t
                    match: /home/*
                    expect: { mode: "0700" }
                  - id: t
                    match: /srv/*
                    expect: { mode: "0700" }
                """)),
        BaselineErrorCase(
            "reserved rule id", line: 6,
            rules(
                """
                  - id: pin
                    match: /home/*
                    expect: { mode: "0700" }
                """)),
        BaselineErrorCase(
            "duplicate key", line: 8,
            rules(
                """
                  - id: t
                    match: /home/*
                    match: /srv/*
                    expect: { mode: "0700" }
                """)),
        BaselineErrorCase(
            "bad severity", line: 7,
            rules(
                """
                  - id: t
                    severity: urgent
                    match: /home/*
                    expect: { mode: "0700" }
                """)),
        BaselineErrorCase("wrong version", line: 1, "version: 2\nname: x\nscan:\n  roots: [/home]\n"),
        BaselineErrorCase("relative scan root", line: 4, "version: 1\nname: x\nscan:\n  roots: [home]\n")
    ]
}
