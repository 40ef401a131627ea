#ifndef PERMDRIFT_CPERMDRIFT_H
#define PERMDRIFT_CPERMDRIFT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/// The metadata permdrift keeps of one entry, filled from statx(2).
typedef struct {
    uint64_t dev;
    uint64_t ino;
    uint64_t nlink;
    uint64_t size;
    uint64_t mnt_id;
    int64_t ctime_sec;
    uint32_t ctime_nsec;
    uint32_t mode;
    uint32_t uid;
    uint32_t gid;
    int is_mount_root;
} pd_stat;

/// statx of `name` relative to `dirfd` without following a final symlink.
/// Returns 0, or -1 with errno set.
int pd_stat_at(int dirfd, const char *name, pd_stat *out);

/// statx of the open descriptor itself (AT_EMPTY_PATH). Returns 0, or -1 with errno set.
int pd_stat_fd(int fd, pd_stat *out);

/// openat(2) without the variadic mode argument. Returns the descriptor, or -1 with errno set.
int pd_openat(int dirfd, const char *name, int flags);

/// Flags for opening a directory of a scanned tree: O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_NONBLOCK|O_CLOEXEC.
int pd_directory_open_flags(void);

/// O_PATH|O_CLOEXEC (Swift's Glibc module does not export O_PATH).
int pd_path_open_flags(void);

/// getxattrat(2) (Linux 6.13+) of `name` under `dirfd`, never following a final symlink.
/// Returns the size of the value, or -1 with errno set (ENOSYS on kernels without it).
ssize_t pd_getxattrat(int dirfd, const char *name, const char *attribute, void *value, size_t size);

/// fgetxattr(2) of an open descriptor. Returns the size, or -1 with errno set.
ssize_t pd_fgetxattr(int fd, const char *attribute, void *value, size_t size);

/// lgetxattr(2) of a path, not following a final symlink. Returns the size, or -1 with errno set.
ssize_t pd_lgetxattr(const char *path, const char *attribute, void *value, size_t size);

/// getxattr(2) of a path, following a final symlink: for /proc/self/fd/N, the object the descriptor
/// holds. Returns the size, or -1 with errno set.
ssize_t pd_getxattr_following(const char *path, const char *attribute, void *value, size_t size);

/// fchownat(fd, "", uid, gid, AT_EMPTY_PATH): the owner and group of the inode an O_PATH descriptor
/// holds, never a path; (uint32_t)-1 leaves that one unchanged. Returns 0, or -1 with errno set.
int pd_chown_descriptor(int fd, uint32_t uid, uint32_t gid);

/// setxattr(2) and removexattr(2) of a path, following a final symlink: for /proc/self/fd/N of an
/// O_PATH descriptor, the inode the descriptor holds (permdrift fix). Return 0, or -1 with errno set.
int pd_setxattr_following(const char *path, const char *attribute, const void *value, size_t size);
int pd_removexattr_following(const char *path, const char *attribute);

/// listxattrat(2) (Linux 6.13+) of `name` under `dirfd`, never following a final symlink: the names of
/// its extended attributes, each NUL-terminated. Returns their total size, or -1 with errno set.
ssize_t pd_listxattrat(int dirfd, const char *name, char *list, size_t size);

/// flistxattr(2) of an open descriptor. Returns the size of the list, or -1 with errno set.
ssize_t pd_flistxattr(int fd, char *list, size_t size);

/// llistxattr(2) of a path, not following a final symlink. Returns the size of the list, or -1 with errno set.
ssize_t pd_llistxattr(const char *path, char *list, size_t size);

/// The magic number of the filesystem an open descriptor is on (statfs f_type), or 0 when unknown.
int64_t pd_filesystem_type(int fd);

/// Whole seconds of CLOCK_REALTIME_COARSE: the clock (and granularity) the kernel stamps ctime with.
int64_t pd_coarse_realtime_seconds(void);

/// The number of CPUs this process may run on (sched_getaffinity), at least 1.
int pd_available_cpus(void);

/// getdents64(2): fills `buffer` with linux_dirent64 records. Returns the number of bytes, 0 at the end,
/// or -1 with errno set.
ssize_t pd_getdents(int fd, void *buffer, size_t size);

/// The symbolic name of an errno value ("EACCES"), or NULL when unknown.
const char *pd_errno_name(int errnum);

/// Landlock: the highest ABI version the kernel supports, or -1 with errno set (ENOSYS, EOPNOTSUPP).
int pd_landlock_abi(void);

/// Landlock: creates a ruleset handling these filesystem, network and scope rights (a right of a later
/// ABI must be 0 on older kernels). Returns the ruleset descriptor, or -1 with errno set.
int pd_landlock_create_ruleset(uint64_t handled_fs, uint64_t handled_net, uint64_t scoped, int abi);

/// Landlock: allows `access` beneath the directory open as `parent_fd`. Returns 0, or -1 with errno set.
int pd_landlock_allow_beneath(int ruleset_fd, int parent_fd, uint64_t access);

/// Landlock: sets no_new_privs and restricts the calling thread (and the threads and processes it starts
/// afterwards) to the ruleset.
/// Returns 0, or -1 with errno set.
int pd_landlock_restrict(int ruleset_fd);

/// flock(2) with LOCK_EX|LOCK_NB. Returns 0, or -1 with errno set (EWOULDBLOCK when held).
int pd_flock_exclusive(int fd);

/// Sets the process umask and returns the previous one.
unsigned pd_umask(unsigned mask);

/* ---- The process model (watchdog.c, process.c; Swift side in Sources/PermDriftCore/Process/) ---- */

/// The bytes a supervised worker writes to its supervisor on its descriptor 3, one per event
/// (`WorkerReport` in Process/WorkerReport.swift reads and writes them).
enum {
    /// The scan is recorded; what remains (alert delivery) has bounds of its own. ('d')
    PD_WORKER_SCAN_RECORDED = 'd',
    /// The state directory holds this run's result (the ledger is saved). ('r')
    PD_WORKER_LEDGER_RECORDED = 'r',
    /// The worker's watchdog is ending the run at the deadline (written by watchdog.c). ('w')
    PD_WORKER_DEADLINE_PASSED = 'w',
};

/// Starts the run's watchdog thread: when `seconds` pass, it writes `message` to standard error, unlinks
/// `paths` (reports that must not outlive a failed run) and ends the process with status 2 — even when
/// the main thread is stuck in a system call on a hanging filesystem. Returns 0, or -1 with errno set
/// (EBUSY when one already runs).
int pd_watchdog_start(double seconds, const char *message, const char *const *paths, int count);

/// Stops the watchdog from acting: the scan has finished (what is left, such as alert delivery, has
/// bounds of its own), or, in the supervisor, the worker has exited.
void pd_watchdog_disarm(void);

/// Makes the watchdog thread restrict itself with the same Landlock ruleset as the calling thread (a
/// ruleset applies only to the thread that restricts itself). Returns 0; -1 when it could not; 1 when
/// no watchdog runs.
int pd_watchdog_restrict(int ruleset_fd);

/// In a supervised worker: the descriptor on which the watchdog tells the supervisor, before it ends the
/// run, that the deadline passed (one PD_WORKER_DEADLINE_PASSED byte).
void pd_watchdog_notify(int fd);

/// A file the watchdog writes (`text`, mode 0600, not through a symlink) in the directory `dirfd` when
/// it fires, before it ends the process (the supervisor's note that its worker is stuck). Set before
/// pd_watchdog_start. Returns 0, or -1 with errno set.
int pd_watchdog_marker(int dirfd, const char *name, const char *text);

/// Holds off the watchdog while a report is written. Returns 0: write it, then call
/// pd_watchdog_end_report(); -1: the deadline has passed and the watchdog is ending the run, so no
/// report may be written.
int pd_watchdog_begin_report(void);

/// Lets the watchdog act again after pd_watchdog_begin_report() returned 0.
void pd_watchdog_end_report(void);

/// posix_spawn of a supervised worker: `out_fd` becomes its standard output, `err_fd` its standard
/// error (-1: inherited), `status_fd` its descriptor 3; every other descriptor from 4 up is closed in it.
/// Returns 0, or an errno value.
int pd_spawn_worker(const char *path, char *const argv[], char *const envp[],
                    int out_fd, int err_fd, int status_fd, pid_t *pid);

/// posix_spawn of a program run to its end (ChildProcess.run): `in_fd`, `out_fd` and `err_fd` become its
/// descriptors 0, 1 and 2 and every other descriptor is closed in it; it starts with no signal blocked
/// and SIGPIPE at its default action (the caller ignores SIGPIPE). Returns 0, or an errno value.
int pd_spawn_program(const char *path, char *const argv[], char *const envp[],
                     int in_fd, int out_fd, int err_fd, pid_t *pid);

/// Empties the ambient capability set, so that programs this process starts get no capability from it
/// (its own capabilities stay). Returns 0, or -1 with errno set.
int pd_clear_ambient_capabilities(void);

/// Drops every capability of this process: ambient, inheritable, permitted and effective. Returns 0,
/// or -1 with errno set.
int pd_drop_all_capabilities(void);

/// prctl(PR_SET_PDEATHSIG, SIGKILL): this process is killed when its parent ends. Returns 0, or -1.
int pd_die_with_parent(void);

/* ---- Delivery (http.c) ---- */

/// One HTTP POST of `body` to `url` with libcurl's easy interface, in the calling thread (no helper
/// thread, run loop or signal), with `headers` ("Name: value"), at most `timeout_ms` in all, no
/// redirect followed, TLS peers verified against the system's trust store. Returns 0 when an HTTP answer
/// came (its status in `*status`, the first `response_capacity` bytes of its body in `response`), or
/// libcurl's error code (28: timed out) with its message in `error`.
int pd_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms,
                 long *status, char *response, size_t response_capacity, size_t *response_length,
                 char *error, size_t error_capacity);

#endif
