// swift-tools-version: 6.0
// libFuzzer targets for permdrift (issue 9). Built apart from the main package because they need
// -sanitize=fuzzer: scripts/fuzz builds and runs them.
import PackageDescription

let package = Package(
    name: "permdrift-fuzz",
    dependencies: [.package(name: "permdrift", path: "..")],
    targets: ["FuzzBaseline", "FuzzEscape", "FuzzACL"].map { name in
        .executableTarget(
            name: name,
            dependencies: [.product(name: "PermDriftCore", package: "permdrift")],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        )
    }
)
