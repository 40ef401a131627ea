// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "permdrift",
    products: [
        .executable(name: "permdrift", targets: ["permdrift"]),
        .library(name: "PermDriftCore", targets: ["PermDriftCore"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0")
    ],
    targets: [
        .systemLibrary(
            name: "CACL",
            pkgConfig: "libacl",
            providers: [.apt(["libacl1-dev"])]
        ),
        .target(name: "CPermDrift", linkerSettings: [.linkedLibrary("curl")]),
        .target(
            name: "PermDriftCore",
            dependencies: [
                "CACL",
                "CPermDrift",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto")
            ]
        ),
        .executableTarget(
            name: "permdrift",
            dependencies: [
                "PermDriftCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]
        ),
        .target(
            name: "PermDriftTestSupport",
            dependencies: ["PermDriftCore"],
            path: "Tests/PermDriftTestSupport"
        ),
        .testTarget(
            name: "PermDriftCoreTests",
            dependencies: ["PermDriftCore", "CACL", "CPermDrift", "PermDriftTestSupport"]
        ),
        .testTarget(
            name: "PermDriftEndToEndTests",
            dependencies: ["PermDriftCore", "permdrift", "PermDriftTestSupport"],
            exclude: ["Golden"]
        )
    ]
)

// Upcoming language features that catch mistakes early, on every Swift target: `any` spelled out for
// existentials, members visible only from modules a file imports itself, and imports internal unless
// a file says `public import` (so the library's public API states what it exposes).
for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("ExistentialAny"),
            .enableUpcomingFeature("MemberImportVisibility"),
            .enableUpcomingFeature("InternalImportsByDefault")
        ]
}
