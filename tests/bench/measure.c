/*
 * measure: runs one command and prints "<wall_ns> <maxrss_kib> <status>".
 *
 * Why a separate launcher instead of os.posix_spawn + os.wait4 in the
 * Python driver: Linux folds the memory of the process image that exec
 * replaces into the child's ru_maxrss (fs/exec.c, exec_mmap ->
 * setmax_mm_hiwater_rss). A child forked or vforked from the Python driver
 * would report at least the driver's own ~10 MB, hiding the difference
 * between a 1 MB and a 10 MB sender. Built static with musl-gcc, this
 * launcher's image is a few hundred KiB; the driver measures that floor
 * with "measure --noop" and reports it beside the figures.
 *
 * The child's stdout goes to /dev/null (curl prints the webhook's "ok");
 * its stderr is inherited so a failing sender explains itself. <status> is
 * the exit code, or 128 + signal number.
 *
 * Build: musl-gcc -static -O2 -o measure measure.c (tests/bench/run.py does).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--noop") == 0)
        return 0;
    if (argc < 2) {
        fputs("usage: measure /path/to/program [args...]\n", stderr);
        return 2;
    }
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (devnull < 0) {
        perror("measure: /dev/null");
        return 2;
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid = vfork();
    if (pid < 0) {
        perror("measure: vfork");
        return 2;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls between vfork and exec. */
        dup2(devnull, STDOUT_FILENO);
        execv(argv[1], argv + 1);
        _exit(127);
    }
    int status = 0;
    struct rusage usage;
    if (wait4(pid, &status, 0, &usage) < 0) {
        perror("measure: wait4");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    long long wall_ns = (long long)(end.tv_sec - start.tv_sec) * 1000000000LL
                        + (end.tv_nsec - start.tv_nsec);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("%lld %ld %d\n", wall_ns, usage.ru_maxrss, code);
    return 0;
}
