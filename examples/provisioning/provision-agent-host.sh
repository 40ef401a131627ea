#!/bin/sh
# Provisions an agent host — into a scratch root in CI, or onto a real host with --root / — the way
# baselines/agent-host.yaml expects it:
#
#   - one account per agent (its own user group), all of them in the group `agents`;
#   - /home/AGENT (0700) with /home/AGENT/transcripts (0700), owned by the agent, no ACLs;
#   - /srv/shared-memory, root:root 2750, readable by the agents group through an ACL (access and
#     default), writable by root alone.
#
# usage: provision-agent-host.sh --root DIR [--mistake NAME] AGENT...
#
#   --root DIR        the directory that stands for / (created if missing). Accounts are created with
#                     useradd/groupadd --prefix DIR, so they land in DIR/etc, never in the machine's.
#   --mistake NAME    reproduce a realistic provisioning mistake, to see the scan catch it:
#                       open-home           forget `chmod 700` on the first agent's home (it stays 0755)
#                       shared-group-write  leave group write for the agents on /srv/shared-memory
#
# Needs root (chown, setfacl) and the passwd and acl packages.
set -eu

usage() { echo "usage: $0 --root DIR [--mistake open-home|shared-group-write] AGENT..." >&2; exit 64; }

root=""
mistake=""
while [ $# -gt 0 ]; do
  case "$1" in
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --mistake) [ $# -ge 2 ] || usage; mistake=$2; shift 2 ;;
    --) shift; break ;;
    -*) usage ;;
    *) break ;;
  esac
done
[ -n "$root" ] && [ $# -ge 1 ] || usage
case "$mistake" in ""|open-home|shared-group-write) ;; *) echo "$0: unknown mistake '$mistake'" >&2; usage ;; esac
for agent in "$@"; do
  case "$agent" in
    [a-z_]*) ;;
    *) echo "$0: '$agent' is not a valid account name" >&2; exit 64 ;;
  esac
done

umask 022
mkdir -p "$root"
chmod 755 "$root"
root=$(cd "$root" && pwd -P)

# A minimal etc for useradd --prefix (it edits these files in place).
mkdir -p "$root/etc"
[ -f "$root/etc/passwd" ] || echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
[ -f "$root/etc/group" ] || echo "root:x:0:" > "$root/etc/group"
[ -f "$root/etc/shadow" ] || { echo "root:*:19000:0:99999:7:::" > "$root/etc/shadow"; chmod 640 "$root/etc/shadow"; }
[ -f "$root/etc/gshadow" ] || { echo "root:*::" > "$root/etc/gshadow"; chmod 640 "$root/etc/gshadow"; }
chmod 644 "$root/etc/passwd" "$root/etc/group"

id_of() {  # id_of passwd|group NAME: the numeric id in the root's own files (never the machine's)
  awk -F: -v n="$2" '$1 == n { print $3; exit }' "$root/etc/$1"
}

[ -n "$(id_of group agents)" ] || groupadd --prefix "$root" agents
agents_gid=$(id_of group agents)

mkdir -p "$root/home"
chown 0:0 "$root/home"
chmod 755 "$root/home"
first=""
for agent in "$@"; do
  [ -n "$(id_of passwd "$agent")" ] || useradd --prefix "$root" --no-create-home --home-dir "/home/$agent" \
    --shell /usr/sbin/nologin --user-group --groups agents "$agent"
  uid=$(id_of passwd "$agent")
  gid=$(awk -F: -v n="$agent" '$1 == n { print $4; exit }' "$root/etc/passwd")
  home="$root/home/$agent"
  mkdir -p "$home/transcripts"
  chown "$uid:$gid" "$home" "$home/transcripts"
  chmod 700 "$home" "$home/transcripts"
  [ -n "$first" ] || first=$agent
done

shared="$root/srv/shared-memory"
mkdir -p "$shared"
chmod 755 "$root/srv"
chown 0:0 "$shared"
chmod 2750 "$shared"
# Numeric ids: setfacl would resolve names through the machine's accounts, not the root's.
acl="user::rwx,group::r-x,group:$agents_gid:r-x,mask::r-x,other::---"
setfacl --set "$acl" "$shared"
setfacl -d --set "$acl" "$shared"

case "$mistake" in
  open-home)
    chmod 755 "$root/home/$first"
    echo "mistake: /home/$first left 0755 (chmod 700 forgotten)" >&2 ;;
  shared-group-write)
    setfacl -m "group:$agents_gid:rwx" "$shared"
    echo "mistake: group write left for the agents on /srv/shared-memory" >&2 ;;
esac
echo "provisioned $# agent(s) under $root"
