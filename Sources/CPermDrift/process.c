/* Starting processes and giving up privileges: the supervised worker, the programs permdrift runs to
   their end (ssh-keygen), and the capability calls around them (Sources/PermDriftCore/Process/). */
#define _GNU_SOURCE
#include "CPermDrift.h"

#include <errno.h>
#include <linux/capability.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

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
