/* cli_run.h - run the gradcheck command from a test and read what it said.
 *
 * For test_catalog.c, test_expect.c and test_junit.c.  The binary
 * (GC_BINARY) is started with posix_spawn, no shell: stdin is /dev/null,
 * stdout and stderr go to files in a fresh temporary directory that the
 * test owns (gc_cli_dir_make / gc_cli_dir_remove), and come back as
 * NUL-terminated strings.  Neither stream is a terminal, so there is no
 * progress line and no colour.  A hung child is ended by ctest's timeout.
 */
#ifndef GRADCHECK_CLI_RUN_H
#define GRADCHECK_CLI_RUN_H

#define _XOPEN_SOURCE 700

#include <criterion/criterion.h>

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef GC_BINARY
#error "GC_BINARY must name the gradcheck executable (tests/CMakeLists.txt)"
#endif

extern char **environ;

typedef struct {
    int status;         /* exit status, or -1 when killed by a signal */
    char *out, *err;    /* stdout and stderr, NUL-terminated */
} gc_cli_result;

/* A new empty directory under TMPDIR (or /tmp), written to dir. */
static inline void gc_cli_dir_make(char *dir, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(dir, size, "%s/gradcheck-test-XXXXXX",
             base && base[0] ? base : "/tmp");
    cr_assert_not_null(mkdtemp(dir), "mkdtemp(%s) failed", dir);
}

static inline int gc_cli_remove_one(const char *path, const struct stat *st,
                                    int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Removes dir and everything in it. */
static inline void gc_cli_dir_remove(const char *dir)
{
    nftw(dir, gc_cli_remove_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* dir + "/" + name into out. */
static inline char *gc_cli_path(char *out, size_t size, const char *dir,
                                const char *name)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    cr_assert(n > 0 && (size_t)n < size, "path too long: %s/%s", dir, name);
    return out;
}

/* The whole file as a NUL-terminated string (free it); NULL when it
 * cannot be opened. */
static inline char *gc_cli_read(const char *path, size_t *length)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, used = 0;
    char *text = malloc(cap);
    cr_assert_not_null(text);
    for (;;) {
        used += fread(text + used, 1, cap - used - 1, f);
        if (used + 1 < cap)
            break;
        cap *= 2;
        text = realloc(text, cap);
        cr_assert_not_null(text);
    }
    cr_assert(!ferror(f), "reading %s failed", path);
    fclose(f);
    text[used] = '\0';
    if (length != NULL)
        *length = used;
    return text;
}

/* Writes text to path, replacing it. */
static inline void gc_cli_write(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s", path);
    cr_assert_eq(fputs(text, f) >= 0, 1);
    cr_assert_eq(fclose(f), 0);
}

/* Runs GC_BINARY with args (NULL-terminated, without argv[0]); stdout and
 * stderr go through files in dir. */
static inline void gc_cli_run(gc_cli_result *r, const char *dir,
                              const char *const *args)
{
    char out_path[4096], err_path[4096];
    const char *argv[64];
    size_t n = 0;
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int wait_status;

    argv[n++] = GC_BINARY;
    for (size_t i = 0; args[i] != NULL; i++) {
        cr_assert(n + 1 < sizeof argv / sizeof argv[0]);
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    gc_cli_path(out_path, sizeof out_path, dir, "stdout.txt");
    gc_cli_path(err_path, sizeof err_path, dir, "stderr.txt");

    cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                 "/dev/null", O_RDONLY, 0), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                 out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                 err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    int rc = posix_spawn(&pid, GC_BINARY, &actions, NULL,
                         (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    cr_assert_eq(rc, 0, "posix_spawn(%s): %s", GC_BINARY, strerror(rc));
    cr_assert_eq(waitpid(pid, &wait_status, 0), pid);
    r->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
    r->out = gc_cli_read(out_path, NULL);
    r->err = gc_cli_read(err_path, NULL);
    cr_assert_not_null(r->out);
    cr_assert_not_null(r->err);
}

static inline void gc_cli_result_free(gc_cli_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

#endif
