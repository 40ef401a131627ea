#define _GNU_SOURCE
#include "CPermDrift.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <sched.h>
#include <sys/prctl.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_getxattrat
#define PD_SYS_getxattrat 464 /* the same number on every architecture since Linux 6.13 */
#else
#define PD_SYS_getxattrat SYS_getxattrat
#endif

#ifndef STATX_MNT_ID
#define STATX_MNT_ID 0x00001000U
#endif
#ifndef STATX_ATTR_MOUNT_ROOT
#define STATX_ATTR_MOUNT_ROOT 0x00002000
#endif

struct pd_xattr_args {
    uint64_t value;
    uint32_t size;
    uint32_t flags;
};

static void pd_fill(const struct statx *sx, pd_stat *out) {
    out->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
    out->ino = sx->stx_ino;
    out->nlink = sx->stx_nlink;
    out->size = sx->stx_size;
    out->mnt_id = (sx->stx_mask & STATX_MNT_ID) ? sx->stx_mnt_id : 0;
    out->ctime_sec = sx->stx_ctime.tv_sec;
    out->ctime_nsec = sx->stx_ctime.tv_nsec;
    out->mode = sx->stx_mode;
    out->uid = sx->stx_uid;
    out->gid = sx->stx_gid;
    out->is_mount_root = (sx->stx_attributes_mask & STATX_ATTR_MOUNT_ROOT)
        ? ((sx->stx_attributes & STATX_ATTR_MOUNT_ROOT) != 0) : -1;
}

static const unsigned pd_statx_mask =
    STATX_TYPE | STATX_MODE | STATX_NLINK | STATX_UID | STATX_GID | STATX_INO | STATX_CTIME | STATX_SIZE;

int pd_stat_at(int dirfd, const char *name, pd_stat *out) {
    struct statx sx;
    int r;
    do {
        r = statx(dirfd, name, AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_STATX_SYNC_AS_STAT,
                  pd_statx_mask, &sx);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    pd_fill(&sx, out);
    return 0;
}

int pd_stat_fd(int fd, pd_stat *out) {
    struct statx sx;
    int r;
    do {
        r = statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT,
                  pd_statx_mask | STATX_MNT_ID, &sx);
    } while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    pd_fill(&sx, out);
    return 0;
}

int pd_openat(int dirfd, const char *name, int flags) {
    int fd;
    do {
        fd = openat(dirfd, name, flags);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int pd_directory_open_flags(void) {
    return O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
}

int pd_path_open_flags(void) {
    return O_PATH | O_CLOEXEC;
}

ssize_t pd_getxattrat(int dirfd, const char *name, const char *attribute, void *value, size_t size) {
    struct pd_xattr_args args = { (uint64_t)(uintptr_t)value, (uint32_t)size, 0 };
    long r;
    do {
        r = syscall(PD_SYS_getxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, attribute, &args, sizeof args);
    } while (r < 0 && errno == EINTR);
    return (ssize_t)r;
}

#ifndef SYS_listxattrat
#define PD_SYS_listxattrat 465 /* the same number on every architecture since Linux 6.13 */
#else
#define PD_SYS_listxattrat SYS_listxattrat
#endif

ssize_t pd_listxattrat(int dirfd, const char *name, char *list, size_t size) {
    long r;
    do {
        r = syscall(PD_SYS_listxattrat, dirfd, name, AT_SYMLINK_NOFOLLOW, list, size);
    } while (r < 0 && errno == EINTR);
    return (ssize_t)r;
}

ssize_t pd_flistxattr(int fd, char *list, size_t size) {
    ssize_t r;
    do {
        r = flistxattr(fd, list, size);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t pd_llistxattr(const char *path, char *list, size_t size) {
    ssize_t r;
    do {
        r = llistxattr(path, list, size);
    } while (r < 0 && errno == EINTR);
    return r;
}

int64_t pd_filesystem_type(int fd) {
    struct statfs sf;
    int r;
    do {
        r = fstatfs(fd, &sf);
    } while (r < 0 && errno == EINTR);
    return r == 0 ? (int64_t)sf.f_type : 0;
}

int64_t pd_coarse_realtime_seconds(void) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0) return 0;
    return (int64_t)ts.tv_sec;
}

int pd_available_cpus(void) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
    int n = CPU_COUNT(&set);
    return n > 0 ? n : 1;
}

ssize_t pd_getdents(int fd, void *buffer, size_t size) {
    long r;
    do {
        r = syscall(SYS_getdents64, fd, buffer, size);
    } while (r < 0 && errno == EINTR);
    return (ssize_t)r;
}

const char *pd_errno_name(int errnum) {
    return strerrorname_np(errnum);
}

unsigned pd_umask(unsigned mask) {
    return (unsigned)umask((mode_t)mask);
}

ssize_t pd_fgetxattr(int fd, const char *attribute, void *value, size_t size) {
    ssize_t r;
    do {
        r = fgetxattr(fd, attribute, value, size);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t pd_lgetxattr(const char *path, const char *attribute, void *value, size_t size) {
    ssize_t r;
    do {
        r = lgetxattr(path, attribute, value, size);
    } while (r < 0 && errno == EINTR);
    return r;
}

/* Landlock, without relying on the installed kernel headers (Debian 12's predate ABI 4). */
#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

struct pd_landlock_ruleset_attr {
    uint64_t handled_access_fs;
    uint64_t handled_access_net;
    uint64_t scoped;
};

struct pd_landlock_path_beneath_attr {
    uint64_t allowed_access;
    int32_t parent_fd;
} __attribute__((packed));

int pd_landlock_abi(void) {
    return (int)syscall(SYS_landlock_create_ruleset, NULL, 0, 1U /* LANDLOCK_CREATE_RULESET_VERSION */);
}

int pd_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped, int abi) {
    struct pd_landlock_ruleset_attr attr = { handled_fs, handled_net, scoped };
    /* The kernel takes the size of the structure it knows for the ABI in use. */
    size_t size = abi >= 6 ? sizeof attr : (abi >= 4 ? 2 * sizeof(uint64_t) : sizeof(uint64_t));
    return (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0U);
}

int pd_landlock_allow_beneath(int ruleset_fd, int parent_fd, uint64_t access) {
    struct pd_landlock_path_beneath_attr attr = { access, parent_fd };
    return (int)syscall(SYS_landlock_add_rule, ruleset_fd, 1 /* LANDLOCK_RULE_PATH_BENEATH */, &attr, 0U);
}

int pd_landlock_restrict(int ruleset_fd) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return (int)syscall(SYS_landlock_restrict_self, ruleset_fd, 0U);
}

int pd_flock_exclusive(int fd) {
    int r;
    do {
        r = flock(fd, LOCK_EX | LOCK_NB);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t pd_getxattr_following(const char *path, const char *attribute, void *value, size_t size) {
    ssize_t r;
    do {
        r = getxattr(path, attribute, value, size);
    } while (r < 0 && errno == EINTR);
    return r;
}

int pd_chown_descriptor(int fd, uint32_t uid, uint32_t gid) {
    return fchownat(fd, "", (uid_t)uid, (gid_t)gid, AT_EMPTY_PATH);
}

int pd_setxattr_following(const char *path, const char *attribute, const void *value, size_t size) {
    return setxattr(path, attribute, value, size, 0);
}

int pd_removexattr_following(const char *path, const char *attribute) {
    return removexattr(path, attribute);
}
