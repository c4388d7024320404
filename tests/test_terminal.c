/* test_terminal.c - the report on a terminal, and a run stopped by Ctrl-C.
 *
 * The terminal tests start gradcheck on the slave side of a pseudo-
 * terminal (forkpty), so stdout and stderr are both a terminal, as for a
 * person at a shell, and read everything it wrote from the master side.
 * The interrupt test sends SIGINT to a run that would take hours and
 * checks that the JSON Lines file and the HTML page it leaves are
 * complete.
 */
#include "cli_run.h"

#include <criterion/criterion.h>
#include <json-c/json.h>

#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SMALL_CFG GC_SOURCE_DIR "/fixtures/networks/small-softmax-mse-elementwise.cfg"

/* A run on the terminal: its exit status and all it wrote. */
typedef struct {
    int status;
    char *text;
    size_t length;
} pty_result;

/* Runs gradcheck with args on a new pseudo-terminal of 100 columns, with
 * the environment replaced by env (NULL-terminated "NAME=value"). */
static void pty_run(pty_result *r, const char *const *args,
                    const char *const *env)
{
    struct winsize ws = {.ws_row = 40, .ws_col = 100};
    const char *argv[32];
    size_t n = 0, cap = 1 << 16;
    int master;

    argv[n++] = GC_BINARY;
    for (size_t i = 0; args[i] != NULL && n + 1 < 32; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    cr_assert_neq(pid, -1, "forkpty: %s", strerror(errno));
    if (pid == 0) {
        execve(GC_BINARY, (char *const *)argv, (char *const *)env);
        _exit(127);
    }
    r->text = malloc(cap);
    r->length = 0;
    cr_assert_not_null(r->text);
    for (;;) {
        if (r->length + 4096 > cap) {
            cap *= 2;
            r->text = realloc(r->text, cap);
            cr_assert_not_null(r->text);
        }
        ssize_t got = read(master, r->text + r->length, 4096);
        if (got > 0)
            r->length += (size_t)got;
        else if (got < 0 && errno == EINTR)
            continue;
        else
            break;      /* EIO: the child closed the terminal */
    }
    r->text[r->length] = '\0';
    close(master);
    int wait_status;
    cr_assert_eq(waitpid(pid, &wait_status, 0), pid);
    r->status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

static bool has_non_ascii(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] >= 0x80)
            return true;
    return false;
}

#define assert_contains(text, needle)                                       \
    cr_assert(strstr((text), (needle)) != NULL,                             \
              "expected \"%s\" in:\n%.3000s", (needle), (text))

#define assert_lacks(text, needle)                                          \
    cr_assert(strstr((text), (needle)) == NULL,                             \
              "did not expect \"%s\" in:\n%.3000s", (needle), (text))

/* On a UTF-8 terminal: colours, Unicode sparklines, the progress bar. */
Test(terminal, colour_sparklines_and_progress_on_a_utf8_tty, .timeout = 120)
{
    const char *args[] = {SMALL_CFG, NULL};
    const char *env[] = {"LANG=C.UTF-8", "TERM=xterm", "PATH=/usr/bin:/bin",
                         NULL};
    pty_result r;

    pty_run(&r, args, env);
    cr_assert_eq(r.status, 1, "%s", r.text);
    assert_contains(r.text, "\033[31mfail\033[0m");
    assert_contains(r.text, "\033[31merror\033[0m: softmax-jacobian-mismatch");
    assert_contains(r.text, "histograms at step 0");
    /* U+2588 FULL BLOCK: the tallest bin of every sparkline */
    assert_contains(r.text, "  layer 1  weights          |");
    assert_contains(r.text, "\xe2\x96\x88");
    /* the progress bar: a bar, the share, the rate and the time */
    assert_contains(r.text, "\r[");
    assert_contains(r.text, "2000/2000 steps");
    assert_contains(r.text, "steps/s");
    assert_contains(r.text, "took");
    free(r.text);
}

/* NO_COLOR turns colour off for auto; a C locale gets ASCII only. */
Test(terminal, no_color_and_an_ascii_locale, .timeout = 120)
{
    const char *args[] = {SMALL_CFG, NULL};
    const char *env[] = {"NO_COLOR=1", "LANG=C", "TERM=xterm", NULL};
    pty_result r;

    pty_run(&r, args, env);
    cr_assert_eq(r.status, 1, "%s", r.text);
    assert_lacks(r.text, "\033[");
    cr_assert(!has_non_ascii(r.text, r.length), "non-ASCII byte in:\n%s",
              r.text);
    assert_contains(r.text, "error: softmax-jacobian-mismatch");
    assert_contains(r.text, "  layer 1  weights          |");
    assert_contains(r.text, "@");        /* the ASCII tallest bin */
    assert_contains(r.text, "\r[#");
    assert_contains(r.text, "ETA");
    free(r.text);
}

/* --color=always wins over NO_COLOR; --ascii over a UTF-8 locale;
 * --color=never and --no-progress leave plain text. */
Test(terminal, options_override_the_environment, .timeout = 120)
{
    const char *env_no[] = {"NO_COLOR=1", "LANG=C.UTF-8", NULL};
    const char *always[] = {"--color=always", "--ascii", SMALL_CFG, NULL};
    const char *never[] = {"--color=never", "--no-progress", SMALL_CFG,
                           NULL};
    const char *env_utf8[] = {"LANG=C.UTF-8", NULL};
    pty_result r;

    pty_run(&r, always, env_no);
    assert_contains(r.text, "\033[31mfail\033[0m");
    cr_assert(!has_non_ascii(r.text, r.length), "--ascii: %s", r.text);
    free(r.text);
    pty_run(&r, never, env_utf8);
    assert_lacks(r.text, "\033[");
    assert_lacks(r.text, "steps/s");
    free(r.text);
}

/* ---- Ctrl-C ------------------------------------------------------------- */

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Parses every line strictly; returns the last object (caller puts it)
 * and the number of lines. */
static json_object *jsonl_last(const char *path, size_t *lines)
{
    char *text = gc_cli_read(path, NULL);
    json_object *last = NULL;

    cr_assert_not_null(text, "no %s", path);
    *lines = 0;
    for (char *line = text, *end; *line != '\0'; line = end + 1) {
        end = strchr(line, '\n');
        cr_assert_not_null(end, "%s: last line not terminated", path);
        json_tokener *tok = json_tokener_new();
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *obj = json_tokener_parse_ex(tok, line,
                                                 (int)(end - line));
        cr_assert(obj != NULL && json_tokener_get_parse_end(tok)
                                 == (size_t)(end - line),
                  "%s:%zu is not JSON", path, *lines + 1);
        json_tokener_free(tok);
        json_object_put(last);
        last = obj;
        (*lines)++;
    }
    free(text);
    return last;
}

Test(terminal, interrupt_leaves_complete_json_lines_and_html, .timeout = 180)
{
    char dir[4096], cfg[4096], json[4096], tmp[4200], html[4096];
    char out[4096], err[4096], text[2048];

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(cfg, sizeof cfg, dir, "long.cfg");
    gc_cli_path(json, sizeof json, dir, "run.jsonl");
    gc_cli_path(html, sizeof html, dir, "run.html");
    gc_cli_path(out, sizeof out, dir, "stdout.txt");
    gc_cli_path(err, sizeof err, dir, "stderr.txt");
    snprintf(tmp, sizeof tmp, "%s.tmp", json);
    /* The small softmax case for a million steps: hours, if not stopped. */
    snprintf(text, sizeof text,
             "[data]\nsource = idx\n"
             "train_images = %s/fixtures/data/fashion-mnist-train-2000-images-idx3-ubyte.gz\n"
             "train_labels = %s/fixtures/data/fashion-mnist-train-2000-labels-idx1-ubyte.gz\n"
             "scale = divide\nscale_divisor = 255\n"
             "[network]\nlayers = 100:sigmoid, 10:softmax\n"
             "[loss]\ntype = mse\n"
             "[training]\nlearning_rate = 0.5\nbatch_size = 1\n"
             "steps = 1000000\nseed = 1\n"
             "[as-written]\nsoftmax_derivative = elementwise\n"
             "[checks]\nfull_every = 100\n", GC_SOURCE_DIR, GC_SOURCE_DIR);
    gc_cli_write(cfg, text);

    const char *argv[] = {GC_BINARY, "--quiet", "--json", json, "--html",
                          html, cfg, NULL};
    posix_spawn_file_actions_t actions;
    pid_t pid;
    cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null",
                                     O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err,
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert_eq(posix_spawn(&pid, GC_BINARY, &actions, NULL,
                             (char *const *)argv, environ), 0);
    posix_spawn_file_actions_destroy(&actions);

    /* Wait until the run is well under way (the second full check's
     * histograms are in the .tmp), then press Ctrl-C. */
    double start = now_seconds();
    bool going = false;
    while (!going && now_seconds() - start < 120) {
        char *so_far = gc_cli_read(tmp, NULL);
        going = so_far != NULL && strstr(so_far, "{\"event\":\"histogram\","
                                         "\"step\":100,") != NULL;
        free(so_far);
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
    }
    cr_assert(going, "the run did not reach step 100 in 120 s");
    cr_assert_eq(kill(pid, SIGINT), 0);
    int wait_status;
    cr_assert_eq(waitpid(pid, &wait_status, 0), pid);
    cr_assert(WIFEXITED(wait_status), "killed by the interrupt");
    cr_assert_eq(WEXITSTATUS(wait_status), 1);   /* the Jacobian error */

    size_t lines = 0;
    json_object *last = jsonl_last(json, &lines), *v = NULL;
    cr_assert_gt(lines, 10);
    cr_assert(json_object_object_get_ex(last, "event", &v));
    cr_assert_str_eq(json_object_get_string(v), "summary");
    cr_assert(json_object_object_get_ex(last, "interrupted", &v));
    cr_assert(json_object_get_boolean(v), "summary.interrupted is false");
    json_object_put(last);
    cr_assert_neq(access(tmp, F_OK), 0, "the .tmp was left behind");

    char *page = gc_cli_read(html, NULL);
    char html_tmp[4200];
    snprintf(html_tmp, sizeof html_tmp, "%s.tmp", html);
    cr_assert_not_null(page, "no HTML report after the interrupt");
    assert_contains(page, "interrupted; exit status 1");
    assert_contains(page, "softmax-jacobian-mismatch");
    cr_assert_not_null(strstr(page, "</html>\n"));
    cr_assert_neq(access(html_tmp, F_OK), 0);
    char *said = gc_cli_read(out, NULL);
    assert_contains(said, "interrupted");
    free(said);
    free(page);
    gc_cli_dir_remove(dir);
}
