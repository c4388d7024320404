/* test_sources.c - models gradcheck did not build: what happens when one
 * crashes, hangs or answers garbage, and the .npy reader of snapshots.
 *
 * The misbehaving plugins (fixtures/plugins/misbehave.c) and pipe
 * program (fixtures/pipes/misbehave.py) fail on their first gradient
 * call.  Each run must end with exit status 2, one message on stderr
 * naming the call and what happened, a model-failed finding on stdout
 * and a complete JSON report whose last line is the summary.  The
 * end-to-end runs of the correct and buggy models are ctest entries
 * (tests/CMakeLists.txt, source.*).
 */
#include "cli_run.h"

#include "npy.h"
#include "snapshot.h"
#include "spec.h"

#include <time.h>

#ifndef GC_PLUGIN_CRASH
#error "GC_PLUGIN_CRASH must name the crashing fixture plugin"
#endif

#define FIXTURES GC_SOURCE_DIR "/fixtures/"

/* The hang fixture's time limit is 1 s ([model] timeout in
 * fixtures/plugins/misbehave.cfg); a run that takes 20 times that did
 * not enforce it. */
#define HANG_RUN_MAX_SECONDS 20.0

static double seconds_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The last non-empty line of text (a static copy). */
static const char *last_line(const char *text)
{
    static char line[4096];
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '\n')
        n--;
    size_t start = n;
    while (start > 0 && text[start - 1] != '\n')
        start--;
    snprintf(line, sizeof line, "%.*s", (int)(n - start), text + start);
    return line;
}

/* Exit status 2, the message, the finding, and a JSON report that ends
 * with a summary saying the model failed. */
static void assert_failed_run(const gc_cli_result *r, const char *json_path,
                              const char *what)
{
    cr_assert_eq(r->status, 2, "exit status %d, stderr: %s", r->status,
                 r->err);
    cr_assert_not_null(strstr(r->err, "gradcheck: "), "stderr: %s", r->err);
    cr_assert_not_null(strstr(r->err, "call 2 (gradient of a batch of 8"),
                       "stderr names the call: %s", r->err);
    cr_assert_not_null(strstr(r->err, what), "stderr says '%s': %s", what,
                       r->err);
    cr_assert_not_null(strstr(r->out, "error: model-failed"), "%s", r->out);
    cr_assert_not_null(strstr(r->out, "\nsummary\n"), "%s", r->out);
    char *json = gc_cli_read(json_path, NULL);
    cr_assert_not_null(json, "no JSON report at %s", json_path);
    const char *summary = last_line(json);
    cr_assert_not_null(strstr(summary, "\"event\":\"summary\""), "%s",
                       summary);
    cr_assert_not_null(strstr(summary, "\"model_failed\":true"), "%s",
                       summary);
    cr_assert_not_null(strstr(summary, "\"exit_status\":2"), "%s", summary);
    cr_assert_not_null(strstr(json, "\"id\":\"model-failed\""), "%s", json);
    free(json);
}

static void run_plugin(const char *plugin, const char *what, double *secs)
{
    char dir[512], json[600];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(json, sizeof json, dir, "run.jsonl");
    const char *args[] = {"--json", json, "--plugin", plugin,
                          FIXTURES "plugins/misbehave.cfg", NULL};
    gc_cli_result r;
    double start = seconds_now();
    gc_cli_run(&r, dir, args);
    *secs = seconds_now() - start;
    assert_failed_run(&r, json, what);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

Test(plugin, segfault_ends_the_child_not_gradcheck)
{
    double secs;
    run_plugin(GC_PLUGIN_CRASH, "killed by signal 11", &secs);
}

Test(plugin, endless_loop_is_killed_at_the_time_limit)
{
    double secs;
    run_plugin(GC_PLUGIN_HANG, "no answer within the time limit of 1 s",
               &secs);
    cr_assert_lt(secs, HANG_RUN_MAX_SECONDS, "took %.1f s", secs);
}

Test(plugin, a_file_that_is_not_a_plugin_is_named)
{
    char dir[512];
    gc_cli_dir_make(dir, sizeof dir);
    const char *args[] = {"--plugin", FIXTURES "plugins/mlp.c",
                          FIXTURES "plugins/misbehave.cfg", NULL};
    gc_cli_result r;
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "cannot load the plugin"), "%s",
                       r.err);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* A config for fixtures/pipes/misbehave.py MODE, in dir. */
static void pipe_config(const char *dir, const char *mode, char *cfg,
                        size_t size)
{
    char text[2048];
    snprintf(text, sizeof text,
             "[model]\nsource = pipe\ntimeout = 5\n"
             "command = /usr/bin/python3 %s/fixtures/pipes/misbehave.py %s\n"
             "[data]\nsource = csv\ncsv = %s/fixtures/data/digits.csv\n"
             "[training]\nbatch_size = 8\nsteps = 3\n", GC_SOURCE_DIR, mode,
             GC_SOURCE_DIR);
    gc_cli_path(cfg, size, dir, "pipe.cfg");
    gc_cli_write(cfg, text);
}

static void run_pipe(const char *mode, const char *what)
{
    char dir[512], json[600], cfg[600];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(json, sizeof json, dir, "run.jsonl");
    pipe_config(dir, mode, cfg, sizeof cfg);
    const char *args[] = {"--json", json, cfg, NULL};
    gc_cli_result r;
    gc_cli_run(&r, dir, args);
    assert_failed_run(&r, json, what);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

Test(pipe, garbage_is_a_clear_error)
{
    run_pipe("garbage", "expected 'ok 651' or 'error MESSAGE'");
}

Test(pipe, a_program_that_dies_is_reported_with_its_status)
{
    run_pipe("die", "exited with status 3");
}

Test(pipe, a_gradient_of_the_wrong_size_is_refused)
{
    run_pipe("short", "answered with 325 values; expected 651");
}

/* ---- the .npy reader ----------------------------------------------------- */

/* Writes a version-1 .npy file: the header dict, padded to a multiple of
 * 64 bytes as numpy does, then `bytes` bytes of data. */
static void write_npy(const char *path, const char *dict, const void *data,
                      size_t bytes)
{
    char header[256];
    size_t n = (size_t)snprintf(header, sizeof header, "%s", dict);
    while ((10 + n + 1) % 64 != 0)
        header[n++] = ' ';
    header[n++] = '\n';
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
                              (unsigned char)(n & 0xff),
                              (unsigned char)(n >> 8)};
    cr_assert_eq(fwrite(head, 1, 10, f), 10u);
    cr_assert_eq(fwrite(header, 1, n, f), n);
    if (bytes > 0)
        cr_assert_eq(fwrite(data, 1, bytes, f), bytes);
    cr_assert_eq(fclose(f), 0);
}

#define F8_2X3 "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }"

Test(npy, reads_float64_in_c_order)
{
    char dir[512], path[600];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "a.npy");
    double v[6] = {1, 2, 3, 4, 5, -6.5};
    write_npy(path, F8_2X3, v, sizeof v);
    gc_npy_array *a;
    gc_error err;
    cr_assert_eq(gc_npy_read(path, GC_NPY_FLOAT64, &a, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(a->ndim, 2u);
    cr_assert_eq(a->shape[0], 2u);
    cr_assert_eq(a->shape[1], 3u);
    for (size_t i = 0; i < 6; i++)
        cr_assert_eq(a->values[i], v[i]);   /* exact: copied bits */
    gc_npy_free(a);
    gc_cli_dir_remove(dir);
}

Test(npy, reads_integer_labels_of_every_width)
{
    char dir[512], path[600];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "y.npy");
    int64_t l8[3] = {0, 2, -1};
    write_npy(path, "{'descr': '<i8', 'fortran_order': False, "
              "'shape': (3,), }", l8, sizeof l8);
    gc_npy_array *a;
    gc_error err;
    cr_assert_eq(gc_npy_read(path, GC_NPY_INTEGER, &a, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(a->values[1], 2.0);
    cr_assert_eq(a->values[2], -1.0);
    gc_npy_free(a);
    unsigned char u1[2] = {7, 255};
    write_npy(path, "{'descr': '|u1', 'fortran_order': False, "
              "'shape': (2,), }", u1, sizeof u1);
    cr_assert_eq(gc_npy_read(path, GC_NPY_INTEGER, &a, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(a->values[1], 255.0);
    gc_npy_free(a);
    gc_cli_dir_remove(dir);
}

/* path is refused, with a message naming it and containing `expected`. */
static void assert_refused(const char *path, gc_npy_kind kind,
                           const char *expected)
{
    gc_npy_array *a = NULL;
    gc_error err;
    cr_assert_eq(gc_npy_read(path, kind, &a, &err), GC_EDATA);
    cr_assert_null(a);
    cr_assert_not_null(strstr(err.message, path), "%s", err.message);
    cr_assert_not_null(strstr(err.message, expected), "'%s' not in: %s",
                       expected, err.message);
}

Test(npy, refuses_what_it_does_not_read)
{
    char dir[512], path[600];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "bad.npy");
    double v[6] = {0};
    write_npy(path, "{'descr': '>f8', 'fortran_order': False, "
              "'shape': (2, 3), }", v, sizeof v);
    assert_refused(path, GC_NPY_FLOAT64, "expected dtype '<f8'");
    write_npy(path, "{'descr': '<f4', 'fortran_order': False, "
              "'shape': (2, 3), }", v, 24);
    assert_refused(path, GC_NPY_FLOAT64, "got dtype '<f4'");
    write_npy(path, "{'descr': '<f8', 'fortran_order': True, "
              "'shape': (2, 3), }", v, sizeof v);
    assert_refused(path, GC_NPY_FLOAT64, "C order");
    write_npy(path, F8_2X3, v, sizeof v - 8);
    assert_refused(path, GC_NPY_FLOAT64, "truncated");
    write_npy(path, F8_2X3, v, sizeof v);
    FILE *f = fopen(path, "ab");
    fputc(0, f);
    fclose(f);
    assert_refused(path, GC_NPY_FLOAT64, "more bytes");
    write_npy(path, F8_2X3, v, sizeof v);
    assert_refused(path, GC_NPY_INTEGER, "integer dtype");
    gc_cli_write(path, "x,y\n1,2\n");
    assert_refused(path, GC_NPY_FLOAT64, "magic");
    gc_cli_dir_remove(dir);
}

Test(snapshot, a_transposed_weight_is_named_with_the_fix)
{
    char dir[512], path[600];
    gc_cli_dir_make(dir, sizeof dir);
    double x[8] = {0}, w[32] = {0};
    int64_t labels[2] = {0, 1};
    write_npy(gc_cli_path(path, sizeof path, dir, "x.npy"),
              "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 4), }",
              x, sizeof x);
    write_npy(gc_cli_path(path, sizeof path, dir, "labels.npy"),
              "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }",
              labels, sizeof labels);
    write_npy(gc_cli_path(path, sizeof path, dir, "layer1.W.npy"),
              "{'descr': '<f8', 'fortran_order': False, 'shape': (4, 8), }",
              w, sizeof w);
    gc_spec spec;
    gc_spec_init(&spec);
    spec.network.layers[0].width = 8;
    spec.network.layers[1].width = 3;
    gc_snapshot *s = NULL;
    gc_error err;
    cr_assert_eq(gc_snapshot_open(dir, &spec.network, GC_LOSS_MSE, &s, &err),
                 GC_EDATA);
    cr_assert_null(s);
    cr_assert_not_null(strstr(err.message, "layer1.W.npy: expected shape "
                              "(8, 4)"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "save W.T"), "%s", err.message);
    gc_cli_dir_remove(dir);
}
