/* The run's watchdog: a thread of its own that ends the process at the deadline, even when every other
   thread is stuck in a system call on a hanging filesystem (Sources/PermDriftCore/Process/Deadline.swift
   is its Swift side; Process/Supervisor.swift draws where it stands in the process model).

   Everything it does after the deadline is async-signal-safe and needs nothing the sandbox forbids:
   write(2) to standard error, unlink(2) of report paths, openat(2) of the stuck note, _exit(2). It is
   restricted with the scan's own Landlock ruleset (pd_watchdog_restrict), since a ruleset applies only
   to the thread that restricts itself. */
#define _GNU_SOURCE
#include "CPermDrift.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_landlock_restrict_self
#define SYS_landlock_restrict_self 446
#endif

static sem_t pd_wd_request, pd_wd_answer;
static int pd_wd_running = 0, pd_wd_ruleset = -1, pd_wd_result = -1;
static struct timespec pd_wd_end;
static char *pd_wd_message = NULL;
static char **pd_wd_paths = NULL;
static int pd_wd_count = 0;
static int pd_wd_disarmed = 0;
static int pd_wd_fired = 0;
/* A supervised worker's pipe to its supervisor: told (PD_WORKER_DEADLINE_PASSED) when the watchdog ends the run. */
static int pd_wd_notify_fd = -1;
/* A file the watchdog leaves when it fires (the supervisor's: "a worker is stuck"), in a directory. */
static int pd_wd_marker_dir = -1;
static char *pd_wd_marker_name = NULL;
static char *pd_wd_marker_text = NULL;
static pthread_mutex_t pd_wd_reports = PTHREAD_MUTEX_INITIALIZER;

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
        char w = PD_WORKER_DEADLINE_PASSED;
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
