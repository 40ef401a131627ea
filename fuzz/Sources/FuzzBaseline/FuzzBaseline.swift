import PermDriftCore

/// Accounts the baselines may name, fixed so every run is repeatable.
let accounts = AccountDatabase(passwd: "root:x:0:0::/root:/bin/sh\nann:x:1001:1001::/home/ann:/bin/sh\n",
                               group: "root:x:0:\nann:x:1001:\nagents:x:2000:ann\n")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzBaseline(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        _ = try BaselineLoader(accounts: accounts).load(bytes, file: "fuzz.yaml")
    } catch {
        // Every rejection names a position inside the input and prints no raw control character.
        for diagnostic in error.diagnostics {
            precondition(diagnostic.line >= 1 && diagnostic.column >= 1, "a diagnostic without a position")
            precondition(!error.description.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" }, "raw control character in \(error.description)")
        }
    }
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

/// SwiftPM links an executable's entry point as MODULE_main; it hands over to libFuzzer's driver.
@_cdecl("FuzzBaseline_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzBaseline(data, size) }
}
