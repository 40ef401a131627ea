import Glibc

/// This process's environment, read and changed in place (the C library's, which a program it starts
/// inherits), not Foundation's copy of it.
enum Environment {
    /// The value of `key`, if it is set.
    static func value(_ key: String) -> String? {
        getenv(key).map { String(cString: $0) }
    }

    /// Removes `key`.
    static func remove(_ key: String) {
        unsetenv(key)
    }

    /// Every `NAME=value` entry, in order.
    static func entries() -> [String] {
        var entries = [String]()
        var p = environ
        while let entry = p.pointee {
            entries.append(String(cString: entry))
            p += 1
        }
        return entries
    }
}
