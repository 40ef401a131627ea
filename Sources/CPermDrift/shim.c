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
#include <signal.h>
#include <spawn.h>
#include <linux/capability.h>
#include <pthread.h>
#include <semaphore.h>
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

/* The run's watchdog. Everything it does after the deadline is async-signal-safe and needs nothing
   the sandbox forbids: write(2) to standard error, unlink(2) of report paths, _exit(2). */
static sem_t pd_wd_request, pd_wd_answer;
static int pd_wd_running = 0, pd_wd_ruleset = -1, pd_wd_result = -1;
static struct timespec pd_wd_end;
static char *pd_wd_message = NULL;
static char **pd_wd_paths = NULL;
static int pd_wd_count = 0;
static int pd_wd_disarmed = 0;
static int pd_wd_fired = 0;
/* A supervised worker's pipe to its supervisor: told (a 'w' byte) when the watchdog ends the run. */
static int pd_wd_notify_fd = -1;
/* A file the watchdog leaves when it fires (the supervisor's: "a worker is stuck"), in a directory. */
static int pd_wd_marker_dir = -1;
static char *pd_wd_marker_name = NULL;
static char *pd_wd_marker_text = NULL;
static pthread_mutex_t pd_wd_reports = PTHREAD_MUTEX_INITIALIZER;

int pd_spawn_worker(const char *path, char *const argv[], char *const envp[],
                    int out_fd, int err_fd, int status_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    int r = posix_spawn_file_actions_init(&actions);
    if (r != 0) return r;
    r = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (r == 0 && err_fd >= 0) r = posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&actions, status_fd, 3);
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&actions, 4);
    if (r == 0) r = posix_spawn(pid, path, &actions, NULL, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    return r;
}

int pd_spawn_program(const char *path, char *const argv[], char *const envp[],
                     int in_fd, int out_fd, int err_fd, pid_t *pid) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    int r = posix_spawn_file_actions_init(&actions);
    if (r != 0) return r;
    r = posix_spawnattr_init(&attributes);
    if (r != 0) { posix_spawn_file_actions_destroy(&actions); return r; }
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    r = posix_spawn_file_actions_adddup2(&actions, in_fd, 0);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&actions, out_fd, 1);
    if (r == 0) r = posix_spawn_file_actions_adddup2(&actions, err_fd, 2);
    if (r == 0) r = posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    if (r == 0) r = posix_spawnattr_setsigmask(&attributes, &none);
    if (r == 0) r = posix_spawnattr_setsigdefault(&attributes, &defaults);
    if (r == 0) r = posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (r == 0) r = posix_spawn(pid, path, &actions, &attributes, argv, envp);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    return r;
}

int pd_clear_ambient_capabilities(void) {
    return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

int pd_drop_all_capabilities(void) {
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 && errno != EINVAL) return -1;
    struct __user_cap_header_struct header = { _LINUX_CAPABILITY_VERSION_3, 0 };
    struct __user_cap_data_struct data[2];
    memset(data, 0, sizeof data);
    return (int)syscall(SYS_capset, &header, data);
}

int pd_die_with_parent(void) {
    return prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

int pd_watchdog_begin_report(void) {
    pthread_mutex_lock(&pd_wd_reports);
    if (__atomic_load_n(&pd_wd_fired, __ATOMIC_SEQ_CST)) {
        pthread_mutex_unlock(&pd_wd_reports);
        return -1;
    }
    return 0;
}

void pd_watchdog_end_report(void) {
    pthread_mutex_unlock(&pd_wd_reports);
}

static void *pd_watchdog(void *arg) {
    (void)arg;
    for (;;) {
        if (sem_timedwait(&pd_wd_request, &pd_wd_end) == 0) {
            pd_wd_result = (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
                            && syscall(SYS_landlock_restrict_self, pd_wd_ruleset, 0U) == 0) ? 0 : -1;
            sem_post(&pd_wd_answer);
            continue;
        }
        if (errno == EINTR) continue;
        break;
    }
    if (__atomic_load_n(&pd_wd_disarmed, __ATOMIC_SEQ_CST)) return NULL;
    /* From now on no report may be written; one being written is waited for (10 s at most: its
       filesystem may hang too), so that it is removed below rather than renamed into place after. */
    __atomic_store_n(&pd_wd_fired, 1, __ATOMIC_SEQ_CST);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 10;
    int held = pthread_mutex_timedlock(&pd_wd_reports, &until) == 0;
    (void)held;
    if (pd_wd_message) {
        size_t n = strlen(pd_wd_message);
        while (n > 0) {
            ssize_t w = write(2, pd_wd_message, n);
            if (w <= 0) break;
            n -= (size_t)w;
        }
    }
    for (int i = 0; i < pd_wd_count; i++) unlink(pd_wd_paths[i]);
    if (pd_wd_marker_dir >= 0 && pd_wd_marker_name && pd_wd_marker_text) {
        int m = openat(pd_wd_marker_dir, pd_wd_marker_name, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0600);
        if (m >= 0) {
            size_t left = strlen(pd_wd_marker_text);
            const char *p = pd_wd_marker_text;
            while (left > 0) {
                ssize_t w = write(m, p, left);
                if (w < 0 && errno == EINTR) continue;
                if (w <= 0) break;
                p += w;
                left -= (size_t)w;
            }
            close(m);
        }
    }
    if (pd_wd_notify_fd >= 0) {
        char w = 'w';
        ssize_t r;
        do { r = write(pd_wd_notify_fd, &w, 1); } while (r < 0 && errno == EINTR);
    }
    _exit(2);
}

void pd_watchdog_notify(int fd) {
    pd_wd_notify_fd = fd;
}

int pd_watchdog_marker(int dirfd, const char *name, const char *text) {
    int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) return -1;
    char *n = strdup(name), *t = strdup(text);
    if (!n || !t) { free(n); free(t); close(fd); errno = ENOMEM; return -1; }
    pd_wd_marker_name = n;
    pd_wd_marker_text = t;
    pd_wd_marker_dir = fd;
    return 0;
}

int pd_watchdog_start(double seconds, const char *message, const char *const *paths, int count) {
    if (pd_wd_running) { errno = EBUSY; return -1; }
    if (sem_init(&pd_wd_request, 0, 0) != 0 || sem_init(&pd_wd_answer, 0, 0) != 0) return -1;
    clock_gettime(CLOCK_REALTIME, &pd_wd_end);
    time_t whole = (time_t)seconds;
    long nanos = (long)((seconds - (double)whole) * 1e9);
    pd_wd_end.tv_sec += whole;
    pd_wd_end.tv_nsec += nanos;
    if (pd_wd_end.tv_nsec >= 1000000000L) { pd_wd_end.tv_sec += 1; pd_wd_end.tv_nsec -= 1000000000L; }
    pd_wd_message = strdup(message);
    pd_wd_paths = calloc((size_t)(count > 0 ? count : 1), sizeof(char *));
    for (int i = 0; i < count; i++) pd_wd_paths[i] = strdup(paths[i]);
    pd_wd_count = count;
    pthread_t thread;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int r = pthread_create(&thread, &attr, pd_watchdog, NULL);
    pthread_attr_destroy(&attr);
    if (r != 0) { errno = r; return -1; }
    pd_wd_running = 1;
    return 0;
}

void pd_watchdog_disarm(void) {
    __atomic_store_n(&pd_wd_disarmed, 1, __ATOMIC_SEQ_CST);
}

int pd_watchdog_restrict(int ruleset_fd) {
    if (!pd_wd_running) return 1;
    pd_wd_ruleset = ruleset_fd;
    sem_post(&pd_wd_request);
    while (sem_wait(&pd_wd_answer) != 0 && errno == EINTR) {}
    return pd_wd_result;
}
