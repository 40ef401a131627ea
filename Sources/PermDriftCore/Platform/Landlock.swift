import CPermDrift

/// The Landlock system calls (through the C shim: Swift cannot call `syscall()`).
enum Landlock {
    /// The highest Landlock ABI version the kernel offers (`landlock_create_ruleset` with the version
    /// flag): ENOSYS without Landlock, EOPNOTSUPP when it is disabled at boot.
    static func abiVersion() -> Result<Int, Errno> {
        let abi = Int(pd_landlock_abi())
        return abi >= 1 ? .success(abi) : .failure(.current)
    }

    /// A new ruleset handling the given filesystem and network rights and scopes, for ABI `abi`.
    static func createRuleset(filesystem: UInt64, network: UInt64, scoped: UInt64, abi: Int) -> Result<FileDescriptor, Errno> {
        let fd = pd_landlock_create_ruleset(filesystem, network, scoped, Int32(abi))
        return fd >= 0 ? .success(FileDescriptor(rawValue: fd)) : .failure(.current)
    }

    /// Grants `access` beneath `directory` (`landlock_add_rule`, a path-beneath rule).
    static func allowBeneath(_ ruleset: FileDescriptor, _ directory: FileDescriptor, access: UInt64) -> Result<Void, Errno> {
        pd_landlock_allow_beneath(ruleset.rawValue, directory.rawValue, access) == 0 ? .success(()) : .failure(.current)
    }

    /// Restricts the calling thread, and the threads it starts afterwards, to the ruleset
    /// (`landlock_restrict_self`, after `PR_SET_NO_NEW_PRIVS`).
    static func restrictSelf(_ ruleset: FileDescriptor) -> Result<Void, Errno> {
        pd_landlock_restrict(ruleset.rawValue) == 0 ? .success(()) : .failure(.current)
    }

    /// Has the run's watchdog thread restrict itself to the ruleset too (a ruleset binds only the thread
    /// that applies it). False when it could not.
    static func restrictWatchdog(_ ruleset: FileDescriptor) -> Bool { pd_watchdog_restrict(ruleset.rawValue) >= 0 }
}
