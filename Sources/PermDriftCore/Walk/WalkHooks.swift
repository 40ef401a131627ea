#if DEBUG
    import Synchronization

    /// Hooks compiled into debug builds only, for deterministic race tests: a test acts on the tree between
    /// two steps of the walk, where a real race would need luck. Release builds carry none of this.
    public enum WalkHooks {
        public enum Step: Sendable {
            /// After the directory listing named the entry, before it is read or opened.
            case beforeRead
            /// After the entry's attribute names were listed (and the values read), before its statx.
            case beforeListedStat
            /// Read the careful way: after its first statx and its attributes, before the statx that checks
            /// nothing changed in between.
            case beforeCarefulRecheck
        }

        public typealias Hook = @Sendable (HostPath) -> Void

        private static let installed = Atomic<Int>(0)
        private static let hooks = Locked<[(step: Step, path: [UInt8], hook: Hook)]>([])

        /// Calls `hook` when the walk reaches `step` for exactly `path` (a path as the walk names it); until
        /// `remove` is called with the returned token.
        public static func install(_ step: Step, at path: String, _ hook: @escaping Hook) {
            hooks.withLock { $0.append((step, Array(path.utf8), hook)) }
            installed.add(1, ordering: .sequentiallyConsistent)
        }

        /// Removes every hook installed for `path`.
        public static func remove(at path: String) {
            let bytes = Array(path.utf8)
            let removed = hooks.withLock { list in
                let before = list.count
                list.removeAll { $0.path == bytes }
                return before - list.count
            }
            installed.subtract(removed, ordering: .sequentiallyConsistent)
        }

        static func reach(_ step: Step, _ path: UnsafeBufferPointer<UInt8>) {
            guard installed.load(ordering: .relaxed) > 0 else { return }
            let matching = hooks.withLock { list in
                list.filter { entry in
                    let sameStep: Bool =
                        switch (entry.step, step) {
                        case (.beforeRead, .beforeRead), (.beforeListedStat, .beforeListedStat),
                            (.beforeCarefulRecheck, .beforeCarefulRecheck):
                            true
                        default: false
                        }
                    return sameStep && entry.path.elementsEqual(path)
                }
            }
            for entry in matching { entry.hook(HostPath(path)) }
        }
    }
#endif
