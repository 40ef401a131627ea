import PermDriftCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzACL(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    // The kernel's system.posix_acl_access bytes, as an attacker could shape them on a FUSE filesystem.
    _ = try? PosixACL(xattr: UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<Int32>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
               _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> Int32) -> Int32

/// SwiftPM links an executable's entry point as MODULE_main; it hands over to libFuzzer's driver.
@_cdecl("FuzzACL_main")
public func entry(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzACL(data, size) }
}
