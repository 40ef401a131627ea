import Synchronization

/// A directory and its inode number: what loop detection compares.
struct DirectoryID: Hashable, Sendable {
    let device: UInt64
    let inode: UInt64
}

/// A directory one worker opened and visited and hands to another to walk below it: the descriptor (the
/// taker closes it), its path, and what the walk needs to go on there.
struct HandedDirectory<Context> {
    let fd: FileDescriptor
    let id: DirectoryID
    let path: [UInt8]
    let context: Context
    /// Every directory above it inside the scan root (loop detection).
    let ancestors: [DirectoryID]
    let root: [UInt8]
    let rootDevice: UInt64
    let rootMount: UInt64
}

/// One unit of a parallel walk.
enum WalkTask<Context> {
    /// A scan root, walked from `/` down (it holds no descriptor).
    case root(HostPath)
    case directory(HandedDirectory<Context>)
}

/// The work the walk's threads share. Every scan root starts here; after that a worker walks its subtree
/// depth-first on its own and hands over a directory only when another worker is idle, taking it from as
/// high in its tree as it can (the biggest piece). At most `capacity` handed directories wait at once,
/// so descriptors stay bounded. The walk ends when no work waits and no worker is busy.
final class WorkShare<Context>: @unchecked Sendable {
    private let monitor = Monitor()
    // Guarded by `monitor`.
    private var tasks: [WalkTask<Context>]
    private var next = 0
    private var reserved = 0
    private var idle = 0
    private var busy = 0
    private var finished = false
    /// How many directories were handed from one thread to another.
    private(set) var handed = 0
    let capacity: Int
    /// Idle workers no waiting or reserved directory is meant for, readable without the lock on the
    /// walk's hot path.
    private let idleHint = Atomic<Int>(0)

    /// Call with the lock held whenever `idle`, the waiting tasks or `reserved` change.
    private func updateHint() {
        idleHint.store(max(0, idle - (tasks.count - next) - reserved), ordering: .relaxed)
    }

    init(roots: [HostPath], capacity: Int) {
        tasks = roots.map { .root($0) }
        self.capacity = max(1, capacity)
    }

    /// Whether some worker waits for work (a hint: `reserve` decides).
    var wantsWork: Bool { idleHint.load(ordering: .relaxed) > 0 }

    /// The next task, waiting while other workers are busy; `nil` when the walk is over. `afterTask` is
    /// true when the caller just finished one.
    func take(afterTask: Bool) -> WalkTask<Context>? {
        monitor.withLock {
            if afterTask { busy -= 1 }
            while true {
                if finished { return nil }
                if next < tasks.count {
                    let task = tasks[next]
                    next += 1
                    if next == tasks.count { tasks.removeAll(keepingCapacity: true); next = 0 }
                    busy += 1
                    updateHint()
                    return task
                }
                if busy == 0 && reserved == 0 {
                    finished = true
                    monitor.broadcast()
                    return nil
                }
                idle += 1
                updateHint()
                monitor.wait()
                idle -= 1
                updateHint()
            }
        }
    }

    /// Reserves a place for a directory to hand over: true when an idle worker is not yet provided for
    /// and the waiting directories are below capacity. Follow with `hand` or `release`.
    func reserve() -> Bool {
        monitor.withLock {
            let waiting = tasks.count - next + reserved
            guard idle > waiting, waiting < capacity else { return false }
            reserved += 1
            updateHint()
            return true
        }
    }

    func hand(_ directory: HandedDirectory<Context>) {
        monitor.withLock {
            reserved -= 1
            handed += 1
            tasks.append(.directory(directory))
            updateHint()
            monitor.signal()
        }
    }

    func release() {
        monitor.withLock {
            reserved -= 1
            updateHint()
        }
    }
}
