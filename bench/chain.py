#!/usr/bin/env python3
"""Builds (or removes) a chain of nested directories, the way an agent can in its own home with no
privilege: every directory holds the next one and nothing else.

    bench/chain.py make DIR DEPTH [--name-length N] [--uid U --gid G] [--mode M] [--drift-mode M --drift-every K]

DIR must exist; the chain is made inside it, each directory named with N bytes (default 255, the most
ext4 and tmpfs allow), mode M (default 0700), owned by U:G when given. --drift-mode sets every K-th
directory (counting from the top, default every one) to another mode, so the scan finds drift deep
down. Every step is relative to a descriptor: the paths exceed PATH_MAX long before the bottom.
(`rm -rf` removes such a chain: GNU rm walks by descriptor too.)"""
import argparse, os, sys


def name(n):
    return ("d" * n).encode()


def make(a):
    top = os.open(a.dir, os.O_RDONLY | os.O_DIRECTORY)
    fd = top
    seg = name(a.name_length)
    for i in range(a.depth):
        os.mkdir(seg, 0o700, dir_fd=fd)
        child = os.open(seg, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        mode = a.mode
        if a.drift_mode is not None and (i + 1) % a.drift_every == 0:
            mode = a.drift_mode
        os.chmod(child, mode)
        if a.uid is not None:
            os.chown(child, a.uid, a.gid if a.gid is not None else -1)
        if fd != top:
            os.close(fd)
        fd = child
    if fd != top:
        os.close(fd)
    os.close(top)


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("dir")
    m.add_argument("depth", type=int)
    m.add_argument("--name-length", type=int, default=255)
    m.add_argument("--uid", type=int)
    m.add_argument("--gid", type=int)
    m.add_argument("--mode", type=lambda s: int(s, 8), default=0o700)
    m.add_argument("--drift-mode", type=lambda s: int(s, 8))
    m.add_argument("--drift-every", type=int, default=1)
    a = p.parse_args()
    make(a)


if __name__ == "__main__":
    main()
