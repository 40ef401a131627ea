/// A walker thread's part in a parallel walk: taking tasks (scan roots and directories handed over)
/// from the shared work, and handing a directory to a thread that waits for one.
extension DirectoryWalk {
    /// Takes tasks from the shared work until the walk is over.
    func work(visitor: inout V) {
        guard let share else { return }
        var afterTask = false
        while let task = share.take(afterTask: afterTask) {
            afterTask = true
            switch task {
            case .root(let root): walkRoot(root, visitor: &visitor)
            case .directory(let handed): walkHanded(handed, visitor: &visitor)
            }
        }
    }

    /// Walks below a directory another thread opened and visited.
    private func walkHanded(_ handed: HandedDirectory<V.DirectoryContext>, visitor: inout V) {
        path.removeAll(keepingCapacity: true)
        path.append(contentsOf: handed.path)
        currentRoot = handed.root
        rootDevice = handed.rootDevice
        rootMount = handed.rootMount
        outerAncestors = handed.ancestors
        openDirectories = Set(handed.ancestors)
        push(fd: handed.fd, id: handed.id, context: handed.context, visitor: &visitor)
        run(visitor: &visitor)
        outerAncestors.removeAll()
        openDirectories.removeAll()
    }

    /// Hands a directory to an idle thread when one waits: the first subdirectory not yet walked of the
    /// highest directory this thread still holds open (the biggest piece of work it has). Only from
    /// the top `handOverDepthLimit` directories and those whose path is at most `handOverPathLimit` bytes
    /// long: handing one over copies its path and its ancestors, and deeper directories are walked by the
    /// thread that holds them, so a chain thousands of levels deep is not copied (or searched) per level.
    func handOver(visitor: inout V) {
        guard let share else { return }
        var found: Int?
        for i in frames.indices {
            if i >= Self.handOverDepthLimit || frames[i].pathLength > Self.handOverPathLimit { break }
            if frames[i].fd != nil && frames[i].next < frames[i].names.count { found = i; break }
        }
        guard let i = found, let parent = frames[i].fd, share.reserve() else { return }
        let saved = path
        defer { path = saved }
        let n = frames[i].next
        frames[i].next += 1
        setPath(frame: i, name: n)
        let opened = frames[i].names.withName(n) { name, _ in
            openAndVisitDirectory(parent: parent, name: name, context: frames[i].context, depth: i + 1, visitor: &visitor)
        }
        guard let opened else { share.release(); return }
        share.hand(
            HandedDirectory(
                fd: opened.fd, id: opened.id, path: path, context: opened.context,
                ancestors: outerAncestors + frames[0...i].map { DirectoryID(device: $0.device, inode: $0.inode) },
                root: currentRoot, rootDevice: rootDevice, rootMount: rootMount))
    }

    /// The longest path, and the most frames below a thread's first, of a directory whose subdirectories
    /// are handed to other threads.
    static var handOverPathLimit: Int { 16 * 1024 }
    static var handOverDepthLimit: Int { 256 }
}
