/* test_cli.c - the gradcheck command as a user runs it: exit status,
 * stdout, stderr and the JSON Lines file of whole runs on the committed
 * fixtures, and the messages of every kind of bad input.
 *
 * The binary (GC_BINARY) is started with posix_spawn, no shell involved:
 * stdin is /dev/null, stdout and stderr go to files in a fresh temporary
 * directory per test, which the test reads back.  stderr is therefore not
 * a terminal, so no progress line is mixed into it, and stdout is not a
 * terminal, so --color=auto prints no escape sequences.
 *
 * Contract on errors (src/main.c): every usage, config and data error is
 * one message on stderr and exit status 2.  The text report begins with
 * the run event, which gc_run() emits only after the config is read and
 * the data loaded, so none of these errors may leave anything on stdout.
 *
 * Under ASan (Debug) each of the two fixture runs takes about 6 s and
 * everything else well under a second; about 1.5 s and 2 s in a release
 * build.
 */
#define _XOPEN_SOURCE 700

#include "test_util.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <glob.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef GC_BINARY
#error "GC_BINARY must name the gradcheck executable (tests/CMakeLists.txt)"
#endif
#ifndef GC_SOURCE_DIR
#error "GC_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif
#ifndef GC_VERSION
#error "GC_VERSION comes with gradcheck_core (CMakeLists.txt)"
#endif

#define NETWORKS GC_SOURCE_DIR "/fixtures/networks/"
#define BAD GC_SOURCE_DIR "/fixtures/bad/"
#define DATA GC_SOURCE_DIR "/fixtures/data/"
#define MSE_CFG NETWORKS "small-softmax-mse-elementwise.cfg"
#define CE_CFG NETWORKS "small-softmax-cross-entropy.cfg"
#define TEST_IMAGES DATA "fashion-mnist-test-500-images-idx3-ubyte.gz"
#define TEST_LABELS DATA "fashion-mnist-test-500-labels-idx1-ubyte.gz"

extern char **environ;

/* ---- limits and tolerances ---------------------------------------------- */

/* A child still running after this long is killed and the test fails.
 * The longest run here takes about 6 s under ASan; ten times that leaves
 * room for a loaded machine while still ending a hung run well before
 * ctest's 600 s. */
#define RUN_TIMEOUT_SECONDS 60.0

/* Upper bound on the relative error of an element check of a correct
 * gradient.  docs/checks.md: a central difference in double precision
 * agrees with a correct gradient to about 1e-8..1e-7 relative error; the
 * cross-entropy fixture measures 4e-10 at worst.  1e-7 is the top of the
 * documented range, and still five orders of magnitude below the 7.8e-2
 * that the elementwise softmax derivative gives on the same network. */
#define CORRECT_REL_ERROR_MAX 1e-7

/* The fail band of a check (docs/config.md, default fail_above): a check
 * reported as "fail" for a wrong formula must be above it.  The elementwise
 * softmax measures 7.8e-2 on layer2.W at step 0. */
#define DEFAULT_FAIL_ABOVE 1e-4

/* The text report prints the test accuracy as a percentage with two
 * decimals ("%.2f%%"), so it may differ from 100 * the JSON's full-precision
 * fraction by half a unit in the last printed place, plus a hair for the
 * binary rounding of the printed value. */
#define ACCURACY_PRINT_ABS (0.005 + 1e-9)

/* Test accuracy the correct network must beat after one pass over the 2,000
 * training images: chance is 0.1 for 10 classes, the run measures 0.768.
 * Anything below 0.5 means it did not learn, whatever the checks say. */
#define CE_MIN_TEST_ACCURACY 0.5

/* The fixtures' shape (their [checks] and [training] sections): 2,000
 * steps, a full check at steps 0, 500, 1000 and 1500, and four tensors
 * (layer1.W, layer1.b, layer2.W, layer2.b) in each. */
#define FIXTURE_STEPS 2000
#define FIXTURE_FULL_EVERY 500
#define FIXTURE_FULL_CHECKS 4
#define FIXTURE_TENSORS 4

/* ---- temporary directory -------------------------------------------------- */

static char tmp_dir[512];

static void tmp_setup(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(tmp_dir, sizeof tmp_dir, "%s/gc_test_cli_XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    cr_assert_not_null(mkdtemp(tmp_dir), "mkdtemp(%s): %s", tmp_dir,
                       strerror(errno));
}

static int tmp_remove(const char *path, const struct stat *st, int flag,
                      struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void tmp_teardown(void)
{
    if (tmp_dir[0] != '\0')
        nftw(tmp_dir, tmp_remove, 8, FTW_DEPTH | FTW_PHYS);
}

TestSuite(cli, .init = tmp_setup, .fini = tmp_teardown);

/* Fills out with tmp_dir/name and returns it. */
static char *tmp_path(char *out, size_t size, const char *name)
{
    int n = snprintf(out, size, "%s/%s", tmp_dir, name);
    cr_assert(n > 0 && (size_t)n < size, "path too long: %s/%s", tmp_dir,
              name);
    return out;
}

/* ---- files ------------------------------------------------------------- */

/* Reads a whole file, NUL-terminated; *length gets its size (without the
 * NUL).  Caller frees. */
static char *read_whole(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    cr_assert_not_null(file, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, len = 0;
    char *bytes = malloc(cap);
    cr_assert_not_null(bytes);
    for (;;) {
        if (cap - len < 4096) {
            cap *= 2;
            bytes = realloc(bytes, cap);
            cr_assert_not_null(bytes);
        }
        size_t got = fread(bytes + len, 1, cap - len - 1, file);
        len += got;
        if (got == 0)
            break;
    }
    cr_assert(!ferror(file), "read error on %s", path);
    fclose(file);
    bytes[len] = '\0';
    if (length != NULL)
        *length = len;
    return bytes;
}

static void write_bytes(const char *path, const void *bytes, size_t length)
{
    FILE *file = fopen(path, "wb");
    cr_assert_not_null(file, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(bytes, 1, length, file), length);
    cr_assert_eq(fclose(file), 0);
}

static void write_text(const char *path, const char *text)
{
    write_bytes(path, text, strlen(text));
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static void put_be32(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

/* ---- running the binary ------------------------------------------------ */

typedef struct {
    int exit_status;   /* WEXITSTATUS, or -1 when killed by a signal */
    int signal;        /* the terminating signal, or 0 */
    char *out;         /* stdout, NUL-terminated */
    size_t out_length;
    char *err;         /* stderr, NUL-terminated */
    size_t err_length;
} cli_result;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Runs GC_BINARY with the given arguments (NULL-terminated, without
 * argv[0]) and fills *r.  Fails the test if the child cannot be started or
 * outlives RUN_TIMEOUT_SECONDS (it is then killed, by its pid). */
static void run_cli(cli_result *r, const char *first, ...)
{
    const char *argv[32];
    size_t argc = 0;
    argv[argc++] = GC_BINARY;
    va_list ap;
    va_start(ap, first);
    for (const char *a = first; a != NULL; a = va_arg(ap, const char *)) {
        cr_assert_lt(argc, sizeof argv / sizeof argv[0] - 1);
        argv[argc++] = a;
    }
    va_end(ap);
    argv[argc] = NULL;

    char out_path[1024], err_path[1024];
    tmp_path(out_path, sizeof out_path, "child.stdout");
    tmp_path(err_path, sizeof err_path, "child.stderr");

    posix_spawn_file_actions_t actions;
    cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                                                  "/dev/null", O_RDONLY, 0),
                 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(
                     &actions, STDOUT_FILENO, out_path,
                     O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(
                     &actions, STDERR_FILENO, err_path,
                     O_WRONLY | O_CREAT | O_TRUNC, 0600), 0);

    double started = now_seconds();
    pid_t pid;
    int rc = posix_spawn(&pid, GC_BINARY, &actions, NULL,
                         (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    cr_assert_eq(rc, 0, "posix_spawn(%s): %s", GC_BINARY, strerror(rc));

    int status = 0;
    for (;;) {
        pid_t done = waitpid(pid, &status, WNOHANG);
        if (done == pid)
            break;
        cr_assert(done == 0 || errno == EINTR, "waitpid: %s",
                  strerror(errno));
        if (now_seconds() - started > RUN_TIMEOUT_SECONDS) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            cr_assert_fail("%s %s ... still running after %.0f s; killed",
                           GC_BINARY, argc > 1 ? argv[1] : "",
                           RUN_TIMEOUT_SECONDS);
        }
        struct timespec pause = {0, 5 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    r->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    r->out = read_whole(out_path, &r->out_length);
    r->err = read_whole(err_path, &r->err_length);
}

static void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

#define assert_exit(r, expected)                                          \
    cr_assert((r)->signal == 0 && (r)->exit_status == (expected),         \
              "exit status %d (signal %d), expected %d\nstderr:\n%s",     \
              (r)->exit_status, (r)->signal, (expected), (r)->err)

#define assert_contains(text, fragment)                                   \
    cr_assert(strstr((text), (fragment)) != NULL,                         \
              "expected to find \"%s\" in:\n%s", (fragment), (text))

/* An error: exit 2, nothing on stdout (so no run started either: its
 * header would be there), a message on stderr. */
static void assert_error_exit(const cli_result *r)
{
    assert_exit(r, 2);
    cr_assert_eq(r->out_length, 0, "stdout must stay empty on an error, "
                 "got:\n%s", r->out);
    cr_assert_gt(r->err_length, 0, "no message on stderr");
    cr_assert_eq(r->err[r->err_length - 1], '\n',
                 "stderr does not end its message with a newline: %s",
                 r->err);
}

/* stderr must be exactly the expected text, its newline included. */
static void assert_error_message(const cli_result *r, const char *expected)
{
    assert_error_exit(r);
    cr_assert(strcmp(r->err, expected) == 0,
              "stderr is:\n%sexpected:\n%s", r->err, expected);
}

/* ---- patterns with "..." ----------------------------------------------- */

/* Whether text matches pattern, where each "..." in pattern stands for any
 * text (possibly empty) and the rest must match literally, start and end
 * anchored.  Pieces after the first are matched leftmost-first, which is
 * exact for patterns whose pieces are distinctive, as here. */
static bool matches(const char *text, const char *pattern)
{
    static const char gap[] = "...";
    const size_t gap_len = sizeof gap - 1;
    const char *next = strstr(pattern, gap);
    size_t piece = next ? (size_t)(next - pattern) : strlen(pattern);

    if (next == NULL)
        return strcmp(text, pattern) == 0;
    if (strncmp(text, pattern, piece) != 0)
        return false;
    text += piece;
    pattern = next + gap_len;
    for (;;) {
        next = strstr(pattern, gap);
        if (next == NULL) {
            /* The last piece is anchored at the end. */
            size_t tail = strlen(pattern), left = strlen(text);
            return tail <= left && strcmp(text + left - tail, pattern) == 0;
        }
        piece = (size_t)(next - pattern);
        if (piece > 0) {
            char *literal = strndup(pattern, piece);
            cr_assert_not_null(literal);
            const char *at = strstr(text, literal);
            free(literal);
            if (at == NULL)
                return false;
            text = at + piece;
        }
        pattern = next + gap_len;
    }
}

Test(cli, pattern_matcher_self_check)
{
    cr_assert(matches("abc", "abc"));
    cr_assert(!matches("abcd", "abc"));
    cr_assert(matches("abc: x, y", "abc: ..."));
    cr_assert(matches("a 123 b (c)", "a ... b (c)"));
    cr_assert(!matches("a 123 b (c) d", "a ... b (c)"));
    cr_assert(!matches("a 123 (c)", "a ... b (c)"));
    cr_assert(matches("x/y/z.gz: q", "...z.gz: q"));
}

/* ---- JSON Lines -------------------------------------------------------- */

typedef struct {
    json_object **events;
    size_t count;
} event_log;

/* Every number in the value (recursively) must be finite: docs/json.md
 * writes NaN and infinities as null, and json-c would read a bare NaN or
 * Infinity token as a double. */
static void assert_numbers_finite(json_object *value, size_t line)
{
    switch (json_object_get_type(value)) {
    case json_type_double:
        cr_assert(isfinite(json_object_get_double(value)),
                  "line %zu: non-finite number %s", line,
                  json_object_to_json_string(value));
        break;
    case json_type_object: {
        json_object_object_foreach(value, key, member) {
            (void)key;
            assert_numbers_finite(member, line);
        }
        break;
    }
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(value); i++)
            assert_numbers_finite(json_object_array_get_idx(value, i),
                                  line);
        break;
    default:
        break;
    }
}

/* Reads a JSON Lines report: a non-empty file of complete lines, each one
 * strict JSON object (nothing after it), its first member "event" with a
 * string value, and every number finite. */
static void load_events(const char *path, event_log *log)
{
    size_t length;
    char *text = read_whole(path, &length);
    cr_assert_gt(length, 0, "%s is empty", path);
    cr_assert_eq(text[length - 1], '\n', "%s: last line not terminated",
                 path);
    cr_assert_eq(strlen(text), length, "%s holds a NUL byte", path);

    log->count = 0;
    log->events = NULL;
    size_t cap = 0, line_number = 0;
    char *line = text;
    while (*line != '\0') {
        char *end = strchr(line, '\n');
        *end = '\0';
        line_number++;
        int line_length = (int)(end - line);

        json_tokener *tok = json_tokener_new();
        cr_assert_not_null(tok);
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
        json_object *obj = json_tokener_parse_ex(tok, line, line_length);
        enum json_tokener_error jerr = json_tokener_get_error(tok);
        size_t parsed = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        cr_assert(obj != NULL && jerr == json_tokener_success,
                  "%s:%zu: not valid JSON (%s): %s", path, line_number,
                  json_tokener_error_desc(jerr), line);
        cr_assert_eq(parsed, (size_t)line_length,
                     "%s:%zu: text after the object: %s", path,
                     line_number, line);
        cr_assert(json_object_is_type(obj, json_type_object),
                  "%s:%zu: not an object: %s", path, line_number, line);

        /* json-c keeps the members in file order. */
        struct json_object_iterator it = json_object_iter_begin(obj);
        struct json_object_iterator stop = json_object_iter_end(obj);
        cr_assert(!json_object_iter_equal(&it, &stop),
                  "%s:%zu: empty object", path, line_number);
        cr_assert_str_eq(json_object_iter_peek_name(&it), "event",
                         "%s:%zu: first member is not \"event\": %s", path,
                         line_number, line);
        cr_assert(json_object_is_type(json_object_iter_peek_value(&it),
                                      json_type_string),
                  "%s:%zu: \"event\" is not a string", path, line_number);
        assert_numbers_finite(obj, line_number);

        if (log->count == cap) {
            cap = cap ? 2 * cap : 256;
            log->events = realloc(log->events, cap * sizeof *log->events);
            cr_assert_not_null(log->events);
        }
        log->events[log->count++] = obj;
        line = end + 1;
    }
    free(text);
    cr_assert_gt(log->count, 0);
}

static void event_log_free(event_log *log)
{
    for (size_t i = 0; i < log->count; i++)
        json_object_put(log->events[i]);
    free(log->events);
}

static json_object *member(json_object *obj, const char *key,
                           json_type type)
{
    json_object *value = NULL;
    cr_assert(json_object_object_get_ex(obj, key, &value),
              "no member \"%s\" in %s", key,
              json_object_to_json_string(obj));
    cr_assert(json_object_is_type(value, type),
              "member \"%s\" has type %s, expected %s, in %s", key,
              json_type_to_name(json_object_get_type(value)),
              json_type_to_name(type), json_object_to_json_string(obj));
    return value;
}

static const char *str_of(json_object *obj, const char *key)
{
    return json_object_get_string(member(obj, key, json_type_string));
}

static int64_t int_of(json_object *obj, const char *key)
{
    return json_object_get_int64(member(obj, key, json_type_int));
}

/* A number field: docs/json.md writes every number with a '.' or an
 * exponent, so json-c must read it as a double (null is not accepted
 * here: these fields are finite in the runs tested). */
static double num_of(json_object *obj, const char *key)
{
    return json_object_get_double(member(obj, key, json_type_double));
}

static bool bool_of(json_object *obj, const char *key)
{
    return json_object_get_boolean(member(obj, key, json_type_boolean));
}

static bool is_event(json_object *obj, const char *name)
{
    return strcmp(str_of(obj, "event"), name) == 0;
}

/* run first, summary last, each exactly once. */
static void assert_run_first_summary_last(const event_log *log)
{
    cr_assert_geq(log->count, 2);
    cr_assert(is_event(log->events[0], "run"), "first event is %s",
              str_of(log->events[0], "event"));
    cr_assert(is_event(log->events[log->count - 1], "summary"),
              "last event is %s", str_of(log->events[log->count - 1],
                                         "event"));
    for (size_t i = 1; i + 1 < log->count; i++) {
        cr_assert(!is_event(log->events[i], "run"),
                  "a second run event at line %zu", i + 1);
        cr_assert(!is_event(log->events[i], "summary"),
                  "a summary event before the end, at line %zu", i + 1);
    }
}

/* Runs a fixture with --json into the temporary directory and loads the
 * events; the report must be in place and its .tmp gone. */
static void run_fixture(const char *cfg, cli_result *r, event_log *log)
{
    char json[1024], json_tmp[1100];
    tmp_path(json, sizeof json, "report.jsonl");
    snprintf(json_tmp, sizeof json_tmp, "%s.tmp", json);
    run_cli(r, "--json", json, cfg, NULL);
    cr_assert(r->signal == 0, "killed by signal %d\nstderr:\n%s", r->signal,
              r->err);
    cr_assert(file_exists(json), "no JSON report at %s\nstderr:\n%s", json,
              r->err);
    cr_assert(!file_exists(json_tmp), "%s left behind", json_tmp);
    load_events(json, log);
    assert_run_first_summary_last(log);
}

/* ---- the elementwise softmax under MSE ---------------------------------- */

Test(cli, mse_elementwise_softmax_is_found_at_step_0, .timeout = 120)
{
    cli_result r;
    event_log log;
    run_fixture(MSE_CFG, &r, &log);
    assert_exit(&r, 1);

    json_object *run = log.events[0];
    cr_assert_str_eq(str_of(run, "config"), MSE_CFG);
    cr_assert_str_eq(str_of(run, "version"), GC_VERSION);
    cr_assert_str_eq(str_of(run, "loss"), "mse");
    cr_assert_eq(int_of(run, "planned_steps"), FIXTURE_STEPS);

    size_t mismatch = 0, w_fail = 0;
    for (size_t i = 0; i < log.count; i++) {
        json_object *e = log.events[i];
        if (is_event(e, "finding")) {
            const char *id = str_of(e, "id");
            cr_assert_str_neq(id, "logit-drift", "the fixture says the "
                              "short run cannot drift: %s",
                              json_object_to_json_string(e));
            if (strcmp(id, "softmax-jacobian-mismatch") != 0)
                continue;
            mismatch++;
            cr_assert_eq(int_of(e, "step"), 0);
            cr_assert_str_eq(str_of(e, "severity"), "error");
            cr_assert_eq(int_of(e, "layer"), 2);
            cr_assert_str_eq(str_of(e, "tensor"), "layer2.W");
            assert_contains(str_of(e, "fix"), "cross-entropy");
        } else if (is_event(e, "check")
                   && strcmp(str_of(e, "tensor"), "layer2.W") == 0
                   && strcmp(str_of(e, "verdict"), "fail") == 0) {
            w_fail++;
            cr_assert_eq(int_of(e, "layer"), 2);
            cr_assert_gt(num_of(e, "rel_error"), DEFAULT_FAIL_ABOVE,
                         "a failing check below the fail band: %s",
                         json_object_to_json_string(e));
        } else if (is_event(e, "trap")) {
            cr_assert_fail("the fixture says the short run has no trap: %s",
                           json_object_to_json_string(e));
        }
    }
    cr_assert_eq(mismatch, 1, "%zu softmax-jacobian-mismatch findings",
                 mismatch);
    cr_assert_gt(w_fail, 0, "no failing check of layer2.W");

    json_object *summary = log.events[log.count - 1];
    cr_assert_eq(int_of(summary, "exit_status"), 1);
    cr_assert_geq(int_of(summary, "findings_error"), 1);
    cr_assert_eq(int_of(summary, "steps"), FIXTURE_STEPS);
    cr_assert(!bool_of(summary, "trapped"));
    cr_assert(!bool_of(summary, "interrupted"));

    /* The text report tells the same story. */
    assert_contains(r.out, "error: softmax-jacobian-mismatch (step 0, "
                           "layer 2, layer2.W)");
    assert_contains(r.out, "exit status    1");
    cr_assert(strchr(r.out, '\033') == NULL,
              "colour codes on a stdout that is not a terminal");
    cr_assert_eq(r.err_length, 0, "stderr:\n%s", r.err);

    event_log_free(&log);
    cli_result_free(&r);
}

/* ---- the corrected twin ------------------------------------------------ */

/* The test accuracy line of the text summary, as a percentage. */
static double printed_accuracy(const char *out)
{
    static const char label[] = "\n  test accuracy  ";
    const char *at = strstr(out, label);
    cr_assert_not_null(at, "no test accuracy line in:\n%s", out);
    at += sizeof label - 1;
    char *end;
    double percent = strtod(at, &end);
    cr_assert(end != at && *end == '%' && end[1] == '\n',
              "test accuracy line is not \"N.NN%%\": %.40s", at);
    return percent;
}

Test(cli, cross_entropy_twin_passes_every_element_check, .timeout = 120)
{
    cli_result r;
    event_log log;
    run_fixture(CE_CFG, &r, &log);
    assert_exit(&r, 0);

    cr_assert_str_eq(str_of(log.events[0], "loss"), "cross-entropy");

    size_t elements = 0, at_step_0 = 0;
    for (size_t i = 0; i < log.count; i++) {
        json_object *e = log.events[i];
        if (is_event(e, "finding")) {
            cr_assert_str_neq(str_of(e, "severity"), "error",
                              "an error finding on the correct network: %s",
                              json_object_to_json_string(e));
        } else if (is_event(e, "check")
                   && strcmp(str_of(e, "kind"), "element") == 0) {
            elements++;
            int64_t step = int_of(e, "step");
            at_step_0 += step == 0;
            cr_assert_eq(step % FIXTURE_FULL_EVERY, 0,
                         "element check off the full-check steps: %s",
                         json_object_to_json_string(e));
            cr_assert_str_eq(str_of(e, "verdict"), "pass", "%s",
                             json_object_to_json_string(e));
            double rel = num_of(e, "rel_error");
            cr_assert(rel >= 0.0 && rel <= CORRECT_REL_ERROR_MAX,
                      "rel_error %.3g above %.1g: %s", rel,
                      CORRECT_REL_ERROR_MAX,
                      json_object_to_json_string(e));
        }
    }
    /* Otherwise "every element check passes" would hold vacuously. */
    cr_assert_eq(at_step_0, FIXTURE_TENSORS,
                 "%zu element checks at step 0", at_step_0);
    cr_assert_eq(elements, FIXTURE_TENSORS * FIXTURE_FULL_CHECKS,
                 "%zu element checks", elements);

    json_object *summary = log.events[log.count - 1];
    cr_assert_eq(int_of(summary, "exit_status"), 0);
    cr_assert_eq(int_of(summary, "findings_error"), 0);
    cr_assert_eq(int_of(summary, "checks_fail"), 0);
    cr_assert_eq(int_of(summary, "steps"), FIXTURE_STEPS);
    double accuracy = num_of(summary, "test_accuracy");
    cr_assert(accuracy >= CE_MIN_TEST_ACCURACY && accuracy <= 1.0,
              "test accuracy %g", accuracy);

    /* The text summary prints the same accuracy as a percentage. */
    gc_assert_close(printed_accuracy(r.out), 100.0 * accuracy, 0.0,
                    ACCURACY_PRINT_ABS);
    assert_contains(r.out, "exit status    0");
    cr_assert_eq(r.err_length, 0, "stderr:\n%s", r.err);

    event_log_free(&log);
    cli_result_free(&r);
}

/* ---- bad configs: fixtures/bad/ ------------------------------------------ */

/* The message a fixtures/bad/ file promises in its comment block:
 *     ; Expected: exit status 2 and
 *     ;   NAME.cfg:LINE: ... wrapped over comment lines ...
 * up to a blank comment line or the first line that is not a comment, the
 * lines joined with single spaces.  "..." stands for any text.  Caller
 * frees; NULL when the file has no such block. */
static char *promised_message(const char *text)
{
    static const char marker[] = "Expected: exit status 2 and\n";
    const char *at = strstr(text, marker);
    if (at == NULL)
        return NULL;
    at += sizeof marker - 1;

    size_t cap = strlen(text) + 1, len = 0;
    char *message = malloc(cap);
    cr_assert_not_null(message);
    message[0] = '\0';
    while (*at == ';') {
        const char *end = strchr(at, '\n');
        if (end == NULL)
            end = at + strlen(at);
        const char *from = at + 1;
        while (from < end && (*from == ' ' || *from == '\t'))
            from++;
        const char *to = end;
        while (to > from && (to[-1] == ' ' || to[-1] == '\t'
                             || to[-1] == '\r'))
            to--;
        if (to == from)
            break;
        if (len > 0)
            message[len++] = ' ';
        memcpy(message + len, from, (size_t)(to - from));
        len += (size_t)(to - from);
        message[len] = '\0';
        at = *end ? end + 1 : end;
    }
    return message;
}

Test(cli, every_bad_fixture_fails_with_its_promised_message)
{
    glob_t found;
    cr_assert_eq(glob(BAD "*.cfg", 0, NULL, &found), 0,
                 "no fixtures in " BAD);
    /* out-of-range, unknown-key, unknown-section at least. */
    cr_assert_geq(found.gl_pathc, 3);

    for (size_t i = 0; i < found.gl_pathc; i++) {
        const char *path = found.gl_pathv[i];
        char *text = read_whole(path, NULL);
        char *promise = promised_message(text);
        cr_assert(promise != NULL && promise[0] != '\0',
                  "%s: no \"Expected: exit status 2 and\" message in its "
                  "comment", path);
        /* The promise starts with the file's own name and a line number;
         * gradcheck names the file as it was given, here the full path. */
        const char *name = strrchr(path, '/') + 1;
        cr_assert(strncmp(promise, name, strlen(name)) == 0
                      && promise[strlen(name)] == ':',
                  "%s: the promised message does not start with \"%s:\": %s",
                  path, name, promise);
        char *end;
        long line = strtol(promise + strlen(name) + 1, &end, 10);
        cr_assert(line > 0 && *end == ':', "%s: no line number in: %s", path,
                  promise);
        assert_contains(promise, "expected");

        size_t cap = strlen(path) + strlen(promise) + 64;
        char *pattern = malloc(cap);
        cr_assert_not_null(pattern);
        snprintf(pattern, cap, "gradcheck: %.*s%s\n",
                 (int)(name - path), path, promise);

        cli_result r;
        run_cli(&r, path, NULL);
        assert_error_exit(&r);
        cr_assert(matches(r.err, pattern),
                  "%s\nstderr:   %sexpected: %s", path, r.err, pattern);
        cli_result_free(&r);
        free(pattern);
        free(promise);
        free(text);
    }
    globfree(&found);
}

/* ---- bad data ---------------------------------------------------------- */

/* Writes tmp_dir/NAME.cfg: line 2 train_images, line 3 train_labels (as
 * given: relative names are taken from the config's directory), no test
 * set, a tiny network.  Returns the config's path in cfg. */
static void write_data_cfg(char *cfg, size_t size, const char *name,
                           const char *images, const char *labels)
{
    char file[256], text[2048];
    snprintf(file, sizeof file, "%s.cfg", name);
    tmp_path(cfg, size, file);
    snprintf(text, sizeof text,
             "[data]\n"
             "train_images = %s\n"
             "train_labels = %s\n"
             "test_images =\n"
             "test_labels =\n"
             "\n"
             "[network]\n"
             "layers = 10:sigmoid, 10:softmax\n"
             "\n"
             "[training]\n"
             "steps = 10\n",
             images, labels);
    write_text(cfg, text);
}

Test(cli, truncated_gzip_images_name_config_line_and_file)
{
    /* The first 100,000 compressed bytes of the 500 test images: a
     * download that stopped part-way.  The decompressed length it reaches
     * depends on where the cut falls in a deflate block, so the pattern
     * leaves that number open. */
    size_t length;
    char *bytes = read_whole(TEST_IMAGES, &length);
    cr_assert_gt(length, 100000);
    char cut[1024];
    write_bytes(tmp_path(cut, sizeof cut, "cut-images.gz"), bytes, 100000);
    free(bytes);

    char cfg[1024], json[1024], pattern[4096];
    write_data_cfg(cfg, sizeof cfg, "truncated", "cut-images.gz",
                   TEST_LABELS);
    snprintf(pattern, sizeof pattern,
             "gradcheck: %s:2: [data] train_images: '%s': expected 392000 "
             "bytes of pixels (500 images of 28x28 after the 16-byte "
             "header), the file ends after ... (the gzip stream is cut "
             "short)\n", cfg, cut);

    cli_result r;
    run_cli(&r, cfg, NULL);
    assert_error_exit(&r);
    cr_assert(matches(r.err, pattern), "stderr:   %sexpected: %s", r.err,
              pattern);
    cli_result_free(&r);

    /* The same with a JSON report asked for: still exit 2 and no stdout. */
    tmp_path(json, sizeof json, "report.jsonl");
    run_cli(&r, "--json", json, cfg, NULL);
    assert_error_exit(&r);
    cr_assert(matches(r.err, pattern), "stderr:   %sexpected: %s", r.err,
              pattern);
    cli_result_free(&r);
}

Test(cli, wrong_magic_labels_name_config_line_and_file)
{
    /* Two images of 2x2 and, as the labels, a second images file: the
     * labels key points at the wrong file. */
    unsigned char images[16 + 8] = {0}, not_labels[16 + 8] = {0};
    put_be32(images, 0x00000803u);
    put_be32(images + 4, 2);
    put_be32(images + 8, 2);
    put_be32(images + 12, 2);
    memcpy(not_labels, images, sizeof images);
    char images_path[1024], labels_path[1024];
    write_bytes(tmp_path(images_path, sizeof images_path, "images.idx"),
                images, sizeof images);
    write_bytes(tmp_path(labels_path, sizeof labels_path, "labels.idx"),
                not_labels, sizeof not_labels);

    char cfg[1024], expected[4096];
    write_data_cfg(cfg, sizeof cfg, "wrong-magic", "images.idx",
                   "labels.idx");
    snprintf(expected, sizeof expected,
             "gradcheck: %s:3: [data] train_labels: '%s': expected magic "
             "0x00000801 (IDX unsigned-byte labels), got 0x00000803 (IDX "
             "unsigned-byte images: is this the images file?)\n",
             cfg, labels_path);

    cli_result r;
    run_cli(&r, cfg, NULL);
    assert_error_message(&r, expected);
    cli_result_free(&r);
}

Test(cli, not_an_idx_file_names_config_line_and_file)
{
    /* Text where the images should be: a magic that is no IDX type. */
    char images_path[1024], cfg[1024], expected[4096];
    write_text(tmp_path(images_path, sizeof images_path, "images.idx"),
               "hello, world\n");
    write_data_cfg(cfg, sizeof cfg, "text-images", "images.idx",
                   TEST_LABELS);
    snprintf(expected, sizeof expected,
             "gradcheck: %s:2: [data] train_images: '%s': expected magic "
             "0x00000803 (IDX unsigned-byte images), got 0x68656c6c (not an "
             "IDX file)\n", cfg, images_path);

    cli_result r;
    run_cli(&r, cfg, NULL);
    assert_error_message(&r, expected);
    cli_result_free(&r);
}

Test(cli, same_file_for_images_and_labels_blames_the_labels_key)
{
    /* The copy-paste slip: train_labels names the images file.  The error
     * is about the labels (line 3), although both keys hold one path. */
    char cfg[1024], expected[4096];
    write_data_cfg(cfg, sizeof cfg, "same-file", TEST_IMAGES, TEST_IMAGES);
    snprintf(expected, sizeof expected,
             "gradcheck: %s:3: [data] train_labels: '%s': expected magic "
             "0x00000801 (IDX unsigned-byte labels), got 0x00000803 (IDX "
             "unsigned-byte images: is this the images file?)\n",
             cfg, TEST_IMAGES);
    cli_result r;
    run_cli(&r, cfg, NULL);
    assert_error_message(&r, expected);
    cli_result_free(&r);
}

Test(cli, data_error_leaves_an_earlier_json_report_alone)
{
    /* docs/json.md: FILE is absent, its previous version, or the complete
     * report of this run.  A run that never started writes nothing. */
    char images_path[1024], cfg[1024], json[1024], tmp[1100];
    write_text(tmp_path(images_path, sizeof images_path, "images.idx"),
               "hello, world\n");
    write_data_cfg(cfg, sizeof cfg, "text-images", "images.idx",
                   TEST_LABELS);
    tmp_path(json, sizeof json, "kept.jsonl");
    static const char earlier[] = "{\"event\":\"run\"}\n";
    write_text(json, earlier);

    cli_result r;
    run_cli(&r, "--json", json, cfg, NULL);
    assert_error_exit(&r);
    cli_result_free(&r);

    size_t length;
    char *kept = read_whole(json, &length);
    cr_assert_eq(length, strlen(earlier), "the earlier report was replaced");
    cr_assert(memcmp(kept, earlier, length) == 0);
    free(kept);
    snprintf(tmp, sizeof tmp, "%s.tmp", json);
    cr_assert(!file_exists(tmp), "%s was left behind", tmp);
}

Test(cli, json_without_a_file_is_a_usage_error)
{
    cli_result r;
    run_cli(&r, CE_CFG, "--json", NULL);
    assert_error_message(&r, "gradcheck: --json needs a FILE, as in "
                             "--json run.jsonl\n");
    cli_result_free(&r);
}

/* ---- the command line ---------------------------------------------------- */

Test(cli, missing_config_file)
{
    char cfg[1024], expected[2048];
    tmp_path(cfg, sizeof cfg, "no-such-model.cfg");
    snprintf(expected, sizeof expected, "gradcheck: %s: cannot open config "
             "file: No such file or directory\n", cfg);
    cli_result r;
    run_cli(&r, cfg, NULL);
    assert_error_message(&r, expected);
    cli_result_free(&r);
}

Test(cli, unknown_option_is_refused_before_any_run)
{
    /* Given with a valid config: the option alone must stop it. */
    cli_result r;
    run_cli(&r, "--frobnicate", CE_CFG, NULL);
    assert_error_message(&r, "gradcheck: unknown option '--frobnicate' "
                             "(gradcheck --help lists them)\n");
    cli_result_free(&r);

    run_cli(&r, CE_CFG, "-x", NULL);
    assert_error_message(&r, "gradcheck: unknown option '-x' "
                             "(gradcheck --help lists them)\n");
    cli_result_free(&r);
}

Test(cli, no_config_prints_usage_on_stderr)
{
    cli_result r;
    run_cli(&r, NULL);
    assert_exit(&r, 2);
    cr_assert_eq(r.out_length, 0, "stdout:\n%s", r.out);
    cr_assert(strncmp(r.err, "usage: gradcheck ", 17) == 0, "stderr:\n%s",
              r.err);
    cli_result_free(&r);

    run_cli(&r, CE_CFG, MSE_CFG, NULL);
    char expected[1024];
    snprintf(expected, sizeof expected,
             "gradcheck: one config file, got '%s' too\n", MSE_CFG);
    assert_error_message(&r, expected);
    cli_result_free(&r);
}

Test(cli, help_exits_0_with_usage_on_stdout)
{
    cli_result r;
    run_cli(&r, "--help", NULL);
    assert_exit(&r, 0);
    cr_assert(strncmp(r.out, "usage: gradcheck ", 17) == 0, "stdout:\n%s",
              r.out);
    static const char *const options[] = {"--json FILE", "--quiet",
                                          "--color=WHEN", "--no-progress",
                                          "--help", "--version",
                                          "exit status"};
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++)
        assert_contains(r.out, options[i]);
    cr_assert_eq(r.err_length, 0, "stderr:\n%s", r.err);

    /* Help wins over a config given with it: the same text, no run. */
    cli_result with_config;
    run_cli(&with_config, CE_CFG, "-h", NULL);
    assert_exit(&with_config, 0);
    cr_assert_str_eq(with_config.out, r.out);
    cli_result_free(&with_config);
    cli_result_free(&r);
}

Test(cli, version_prints_the_version)
{
    cli_result r;
    run_cli(&r, "--version", NULL);
    assert_exit(&r, 0);
    cr_assert_str_eq(r.out, "gradcheck " GC_VERSION "\n");
    /* A version, not an empty or placeholder string: N.N.N. */
    unsigned major, minor, patch;
    char after;
    cr_assert_eq(sscanf(r.out, "gradcheck %u.%u.%u%c", &major, &minor,
                        &patch, &after), 4, "stdout: %s", r.out);
    cr_assert_eq(after, '\n');
    cr_assert_eq(r.err_length, 0, "stderr:\n%s", r.err);
    cli_result_free(&r);
}
