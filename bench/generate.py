#!/usr/bin/env python3
"""Generates a synthetic agent host under ROOT, seeded, for permdrift's benchmark.

    bench/generate.py ROOT [--agents N] [--files N] [--transcripts N] [--acl-fraction F] [--seed S]

ROOT gets its own etc/passwd and etc/group (agents agent-001.., group agents), /home/AGENT (0700) with
transcripts/ (0700, files 0600) and a nested workspace/ of files, a fraction of the files carrying a
named-user ACL entry for their own agent (so the tree holds ACLs without drifting), and
/srv/shared-memory (2750 root:root, group:agents:r-x access and default ACLs) — the shape
baselines/agent-host.yaml expects. Defaults: 100 agents x (2,000 workspace files + 200 transcripts),
10 % ACLs: about 225,000 entries. Needs root (chown) and setfattr-free Linux (ACLs are written as
the kernel's xattr bytes with os.setxattr)."""
import argparse, os, random, struct

ACL_USER_OBJ, ACL_USER, ACL_GROUP_OBJ, ACL_GROUP, ACL_MASK, ACL_OTHER = 1, 2, 4, 8, 0x10, 0x20
UNDEF = 0xFFFFFFFF

def acl_bytes(entries):
    out = struct.pack("<I", 2)
    for tag, perm, ident in sorted(entries, key=lambda e: (e[0], e[2])):
        out += struct.pack("<HHI", tag, perm, ident)
    return out

def main():
    p = argparse.ArgumentParser()
    p.add_argument("root")
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--files", type=int, default=2000, help="workspace files per agent")
    p.add_argument("--transcripts", type=int, default=200, help="transcripts per agent")
    p.add_argument("--acl-fraction", type=float, default=0.10)
    p.add_argument("--seed", type=int, default=42)
    a = p.parse_args()
    rnd = random.Random(a.seed)
    root = a.root
    os.makedirs(root + "/etc", exist_ok=True)
    os.chmod(root, 0o755)
    agents = [(f"agent-{i:03d}", 50000 + i) for i in range(1, a.agents + 1)]
    agents_gid = 50000
    with open(root + "/etc/passwd", "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
        for name, uid in agents:
            f.write(f"{name}:x:{uid}:{uid}::/home/{name}:/usr/sbin/nologin\n")
    with open(root + "/etc/group", "w") as f:
        f.write("root:x:0:\n")
        for name, uid in agents:
            f.write(f"{name}:x:{uid}:\n")
        f.write(f"agents:x:{agents_gid}:{','.join(n for n, _ in agents)}\n")
    os.makedirs(root + "/home", exist_ok=True)
    os.chmod(root + "/home", 0o755)
    entries = 2
    for name, uid in agents:
        home = f"{root}/home/{name}"
        os.makedirs(home + "/transcripts", exist_ok=True)
        dirs = [home, home + "/transcripts", home + "/workspace"]
        os.makedirs(home + "/workspace", exist_ok=True)
        for t in range(a.transcripts):
            path = f"{home}/transcripts/session-{t:05d}.jsonl"
            open(path, "w").close()
            os.chown(path, uid, uid); os.chmod(path, 0o600)
        # A nested workspace: directories of up to 50 files, three levels deep.
        made = 0
        d = 0
        while made < a.files:
            sub = f"{home}/workspace/pkg{d // 10:03d}/mod{d % 10:02d}"
            os.makedirs(sub, exist_ok=True)
            for parent in (os.path.dirname(sub), sub):
                if parent not in dirs: dirs.append(parent)
            for k in range(min(50, a.files - made)):
                path = f"{sub}/file{k:03d}.py"
                open(path, "w").close()
                os.chown(path, uid, uid); os.chmod(path, 0o640)
                if rnd.random() < a.acl_fraction:
                    os.setxattr(path, "system.posix_acl_access", acl_bytes([
                        (ACL_USER_OBJ, 6, UNDEF), (ACL_USER, 4, uid), (ACL_GROUP_OBJ, 0, UNDEF),
                        (ACL_MASK, 4, UNDEF), (ACL_OTHER, 0, UNDEF)]))
                made += 1
            d += 1
        for path in dirs:
            os.chown(path, uid, uid); os.chmod(path, 0o700)
        entries += len(dirs) + a.transcripts + a.files
    shared = root + "/srv/shared-memory"
    os.makedirs(shared, exist_ok=True)
    os.chmod(root + "/srv", 0o755)
    os.chown(shared, 0, 0); os.chmod(shared, 0o2750)
    acl = acl_bytes([(ACL_USER_OBJ, 7, UNDEF), (ACL_GROUP_OBJ, 5, UNDEF), (ACL_GROUP, 5, agents_gid),
                     (ACL_MASK, 5, UNDEF), (ACL_OTHER, 0, UNDEF)])
    os.setxattr(shared, "system.posix_acl_access", acl)
    os.setxattr(shared, "system.posix_acl_default", acl)
    for i in range(100):
        path = f"{shared}/fact-{i:03d}.md"
        open(path, "w").close()
        os.chmod(path, 0o640)
        os.setxattr(path, "system.posix_acl_access", acl_bytes([
            (ACL_USER_OBJ, 6, UNDEF), (ACL_GROUP_OBJ, 4, UNDEF), (ACL_GROUP, 4, agents_gid),
            (ACL_MASK, 4, UNDEF), (ACL_OTHER, 0, UNDEF)]))
    entries += 101
    print(f"{root}: about {entries} entries")

if __name__ == "__main__":
    main()
