/// A throwaway agent host for `permdrift demo`: its own etc/passwd and etc/group, three agents with homes
/// and transcripts, a shared-memory folder with ACLs, and a few realistic drifts.
public struct DemoHost: Sendable {
    public let tree: ScratchTree
    public var root: String { tree.root }
    /// What was changed from the approved state, for people.
    public let drifts: [String]

    static let agents: [(name: String, uid: UInt32)] = [("agent-ada", 62001), ("agent-bo", 62002), ("agent-cy", 62003)]
    static let agentsGID: UInt32 = 62000

    public func remove() { tree.remove() }

    public static func build() throws(SystemCallError) -> DemoHost {
        let tree = try ScratchTree.create(prefix: "permdrift-demo")
        do {
            try populate(tree)
        } catch {
            tree.remove()
            throw error
        }
        let drifts = [
            "chmod 644 on /home/agent-ada/transcripts/session-001.jsonl",
            "ACL user:agent-bo:r-x on /home/agent-ada, and chmod 755 on its transcripts folder",
            "group write for agents on /srv/shared-memory (ACL group:agents:rwx)",
            "a world-writable script in /home/agent-cy/workspace",
            "a hard link to agent-ada's transcript in agent-cy's home"
        ]
        return DemoHost(tree: tree, drifts: drifts)
    }

    private static func populate(_ t: ScratchTree) throws(SystemCallError) {
        try t.setMode("", 0o755)
        try t.directory("/etc", mode: 0o755)
        var passwd = "root:x:0:0:root:/root:/bin/sh\n"
        var group = "root:x:0:\n"
        for a in agents {
            passwd += "\(a.name):x:\(a.uid):\(a.uid):\(a.name):/home/\(a.name):/usr/sbin/nologin\n"
            group += "\(a.name):x:\(a.uid):\n"
        }
        group += "agents:x:\(agentsGID):\(agents.map(\.name).joined(separator: ","))\n"
        try t.file("/etc/passwd", contents: passwd, mode: 0o644)
        try t.file("/etc/group", contents: group, mode: 0o644)
        try t.directory("/home", mode: 0o755)
        for a in agents {
            let home = "/home/\(a.name)"
            try t.directory(home, mode: 0o700, uid: a.uid, gid: a.uid)
            try t.directory("\(home)/transcripts", mode: 0o700, uid: a.uid, gid: a.uid)
            for s in 1...3 {
                try t.file(
                    "\(home)/transcripts/session-00\(s).jsonl", contents: "{\"role\":\"agent\"}\n",
                    mode: 0o600, uid: a.uid, gid: a.uid)
            }
            try t.directory("\(home)/workspace", mode: 0o700, uid: a.uid, gid: a.uid)
            try t.file("\(home)/workspace/main.py", contents: "print('hello')\n", mode: 0o644, uid: a.uid, gid: a.uid)
        }
        try t.directory("/srv", mode: 0o755)
        try t.directory("/srv/shared-memory", mode: 0o2750)
        let sharedACL = "user::rwx,group::r-x,group:\(agentsGID):r-x,mask::r-x,other::---"
        try t.setACL("/srv/shared-memory", sharedACL)
        try t.setACL("/srv/shared-memory", sharedACL, isDefault: true)
        try t.file("/srv/shared-memory/facts.md", contents: "# Facts\n", mode: 0o640)
        try t.setACL("/srv/shared-memory/facts.md", "user::rw-,group::r--,group:\(agentsGID):r--,mask::r--,other::---")

        // The drifts.
        try t.setMode("/home/agent-ada/transcripts/session-001.jsonl", 0o644)
        try t.setACL("/home/agent-ada", "user::rwx,user:62002:r-x,group::---,mask::r-x,other::---")
        try t.setMode("/home/agent-ada/transcripts", 0o755)
        try t.setACL("/srv/shared-memory", "user::rwx,group::r-x,group:\(agentsGID):rwx,mask::rwx,other::---")
        try t.file("/home/agent-cy/workspace/run.sh", contents: "#!/bin/sh\n", mode: 0o777, uid: 62003, gid: 62003)
        try t.hardLink("/home/agent-ada/transcripts/session-002.jsonl", "/home/agent-cy/workspace/borrowed.jsonl")
    }
}
