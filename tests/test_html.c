/* test_html.c - the HTML report: the sink on its own, the report rebuilt
 * from JSON Lines, the page opened in headless Chromium, and the page of
 * a step-size sweep (gradcheck sweep --html) the same ways.
 *
 * Chromium (Debian's chromium package, installed by tools/setup.sh) loads
 * the page from a file:// URL with --dump-dom, which prints the DOM after
 * the page's scripts ran.  The page's own script appends
 * <div id="gc-rendered"> when it drew every chart, and window.onerror
 * (installed in the page's head) writes any script error into
 * <pre id="gc-script-error">; the tests assert the first and not the
 * second.  A missing chromium fails the test: it is not skipped.
 */
#include "cli_run.h"

#include "events.h"
#include "report_html.h"
#include "status.h"

#include <criterion/criterion.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHROMIUM "/usr/bin/chromium"

/* A long run's page must stay small: the sink keeps at most 1024 points
 * per series and 240 columns per histogram strip (report_html.c), so
 * 100,000 training windows and full checks give a page of a few hundred
 * kilobytes.  1 MB leaves room for the script and style. */
#define LONG_RUN_PAGE_MAX (1024 * 1024)

#define assert_contains(text, needle)                                       \
    cr_assert(strstr((text), (needle)) != NULL,                             \
              "expected \"%s\" in:\n%.2000s", (needle), (text))

#define assert_lacks(text, needle)                                          \
    cr_assert(strstr((text), (needle)) == NULL,                             \
              "did not expect \"%s\" in:\n%.2000s", (needle), (text))

/* Runs argv (argv[0] a full path) with stdout and stderr to files in dir;
 * returns the exit status (-1 when killed) and what stdout said. */
static int spawn_capture(const char *dir, const char *const *argv,
                         char **out)
{
    char out_path[4096], err_path[4096];
    posix_spawn_file_actions_t actions;
    pid_t pid;
    int wait_status;

    gc_cli_path(out_path, sizeof out_path, dir, "spawn-out.txt");
    gc_cli_path(err_path, sizeof err_path, dir, "spawn-err.txt");
    cr_assert_eq(posix_spawn_file_actions_init(&actions), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDIN_FILENO,
                 "/dev/null", O_RDONLY, 0), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO,
                 out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    cr_assert_eq(posix_spawn_file_actions_addopen(&actions, STDERR_FILENO,
                 err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    int rc = posix_spawn(&pid, argv[0], &actions, NULL,
                         (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    cr_assert_eq(rc, 0, "cannot start %s: %s (is the chromium package "
                 "installed? tools/setup.sh installs it)", argv[0],
                 strerror(rc));
    cr_assert_eq(waitpid(pid, &wait_status, 0), pid);
    *out = gc_cli_read(out_path, NULL);
    cr_assert_not_null(*out);
    return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

/* The DOM of page after its scripts ran, from headless Chromium. */
static char *chromium_dom(const char *dir, const char *page)
{
    char url[4200], profile[4096], *dom;

    snprintf(url, sizeof url, "file://%s", page);
    gc_cli_path(profile, sizeof profile, dir, "chromium-profile");
    char user_data[4200];
    snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
    const char *argv[] = {CHROMIUM, "--headless", "--no-sandbox",
                          "--disable-gpu", "--no-first-run", user_data,
                          "--dump-dom", url, NULL};
    int status = spawn_capture(dir, argv, &dom);
    cr_assert_eq(status, 0, "chromium --dump-dom exited %d", status);
    return dom;
}

/* A screenshot of page; asserts that a PNG of some size was written. */
static void chromium_screenshot(const char *dir, const char *page,
                                const char *png)
{
    char url[4200], profile[4096], shot[4200], user_data[4200], *out;
    size_t length = 0;

    snprintf(url, sizeof url, "file://%s", page);
    gc_cli_path(profile, sizeof profile, dir, "chromium-profile");
    snprintf(user_data, sizeof user_data, "--user-data-dir=%s", profile);
    snprintf(shot, sizeof shot, "--screenshot=%s", png);
    const char *argv[] = {CHROMIUM, "--headless", "--no-sandbox",
                          "--disable-gpu", "--no-first-run", user_data,
                          "--hide-scrollbars", "--window-size=1280,2400",
                          shot, url, NULL};
    int status = spawn_capture(dir, argv, &out);
    free(out);
    cr_assert_eq(status, 0, "chromium --screenshot exited %d", status);
    char *bytes = gc_cli_read(png, &length);
    cr_assert_not_null(bytes, "no screenshot at %s", png);
    /* 1280 x 2400 of charts and text is far more than 20 kB; a blank page
     * compresses to a few kB. */
    cr_assert_gt(length, 20000, "screenshot of %zu bytes: blank?", length);
    cr_assert_eq(memcmp(bytes, "\x89PNG\r\n\x1a\n", 8), 0);
    free(bytes);
}

/* Asserts the page rendered: the script's marker and no script error. */
static void assert_rendered(const char *dom)
{
    assert_lacks(dom, "id=\"gc-script-error\"");
    assert_contains(dom, "id=\"gc-rendered\"");
    /* loss, logits, checks and twelve histogram strips, when the run had
     * every one of them; at least the first three always */
    cr_assert_null(strstr(dom, "data-charts=\"0\""), "no chart drawn");
}

/* Runs a fixture with --json and --html into dir. */
static void run_fixture(const char *dir, const char *fixture, char *json,
                        char *html, size_t size, gc_cli_result *r)
{
    char cfg[4096];

    snprintf(cfg, sizeof cfg, "%s/fixtures/networks/%s", GC_SOURCE_DIR,
             fixture);
    gc_cli_path(json, size, dir, "run.jsonl");
    gc_cli_path(html, size, dir, "run.html");
    const char *args[] = {"--quiet", "--no-progress", "--json", json,
                          "--html", html, cfg, NULL};
    gc_cli_run(r, dir, args);
}

Test(html, small_softmax_case_renders_in_chromium, .timeout = 240)
{
    char dir[4096], json[4096], html[4096], png[4096];
    gc_cli_result r;

    gc_cli_dir_make(dir, sizeof dir);
    run_fixture(dir, "small-softmax-mse-elementwise.cfg", json, html,
                sizeof json, &r);
    cr_assert_eq(r.status, 1, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
    char *dom = chromium_dom(dir, html);
    assert_rendered(dom);
    assert_contains(dom, "data-charts=\"15\"");
    /* the finding, its evidence, its fix and the link to its page */
    assert_contains(dom, "softmax-jacobian-mismatch</h3>");
    assert_contains(dom, "<code>logit_grad_sum</code>");
    assert_contains(dom, "<b>Fix:</b> pair softmax with cross-entropy");
    assert_contains(dom, "href=\"#page-softmax-jacobian-mismatch\"");
    assert_contains(dom, "id=\"page-softmax-jacobian-mismatch\"");
    /* the trap section: this short run does not trap */
    assert_contains(dom, "<section id=\"trap\"><h2>Trap</h2>");
    assert_contains(dom, "No fatal trap");
    gc_cli_path(png, sizeof png, dir, "small.png");
    chromium_screenshot(dir, html, png);
    free(dom);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* The trap block and its finding, from a run that traps at step 2: the
 * softmax without the max subtracted, on unscaled inputs. */
Test(html, trapping_run_shows_the_trap_in_chromium, .timeout = 240)
{
    char dir[4096], json[4096], html[4096];
    gc_cli_result r;

    gc_cli_dir_make(dir, sizeof dir);
    run_fixture(dir, "mistake-softmax_subtract_max.cfg", json, html,
                sizeof json, &r);
    cr_assert_eq(r.status, 1, "stdout:\n%s\nstderr:\n%s", r.out, r.err);
    char *dom = chromium_dom(dir, html);
    assert_rendered(dom);
    assert_contains(dom, "TRAP at step 2, layer 1, op softmax-exp: "
                    "overflow</h3>");
    assert_contains(dom, "No training window closed before the trap");
    assert_contains(dom, "non-finite</h3>");
    assert_contains(dom, "unstable-softmax</h3>");
    assert_contains(dom, "stopped by a trap");
    free(dom);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* `gradcheck report run.jsonl --html` makes the page the run made. */
Test(html, report_rebuilt_from_json_lines_is_the_same_page, .timeout = 120)
{
    char dir[4096], json[4096], html[4096], again[4096];
    gc_cli_result r, rebuilt;
    size_t a_length = 0, b_length = 0;

    gc_cli_dir_make(dir, sizeof dir);
    run_fixture(dir, "mistake-softmax_subtract_max.cfg", json, html,
                sizeof json, &r);
    gc_cli_path(again, sizeof again, dir, "again.html");
    const char *args[] = {"report", json, "--html", again, NULL};
    gc_cli_run(&rebuilt, dir, args);
    cr_assert_eq(rebuilt.status, 0, "stderr:\n%s", rebuilt.err);
    char *a = gc_cli_read(html, &a_length), *b = gc_cli_read(again,
                                                            &b_length);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_eq(a_length, b_length);
    cr_assert_eq(memcmp(a, b, a_length), 0, "the pages differ");
    free(a);
    free(b);
    gc_cli_result_free(&r);
    gc_cli_result_free(&rebuilt);
    gc_cli_dir_remove(dir);
}

Test(html, report_of_a_file_that_is_not_json_lines_names_the_line)
{
    char dir[4096], bad[4096], html[4096];
    gc_cli_result r;

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(bad, sizeof bad, dir, "bad.jsonl");
    gc_cli_path(html, sizeof html, dir, "out.html");
    gc_cli_write(bad, "{\"event\":\"train\",\"step\":1}\nnot json\n");
    const char *args[] = {"report", bad, "--html", html, NULL};
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 2);
    assert_contains(r.err, "bad.jsonl:2: not one JSON object");
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* ---- the sink on its own ------------------------------------------------- */

static void emit(gc_sink *sink, const gc_event *e)
{
    gc_error err = {0};
    cr_assert_eq(sink->emit(sink, e, &err), GC_OK, "%s", err.message);
}

/* 100,000 training windows, checks and histograms: the page stays under
 * LONG_RUN_PAGE_MAX and still holds the first and the last step. */
Test(html, long_runs_are_summarised, .timeout = 120)
{
    char dir[4096], path[4096];
    gc_sink *sink = NULL;
    gc_error err = {0};
    double edges[31], counts[30];
    const size_t steps = 100000;

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "long.html");
    cr_assert_eq(gc_html_sink_open(path, &sink, &err), GC_OK);
    gc_event run = {.kind = GC_EVENT_RUN};
    snprintf(run.u.run.config, sizeof run.u.run.config, "long.cfg");
    run.u.run.pass_below = 1e-6;
    run.u.run.fail_above = 1e-4;
    emit(sink, &run);
    for (size_t b = 0; b <= 30; b++)
        edges[b] = -1.0 + (double)b / 15.0;
    for (size_t b = 0; b < 30; b++)
        counts[b] = (double)(b * (30 - b));
    for (size_t s = 0; s < steps; s++) {
        gc_event t = {.kind = GC_EVENT_TRAIN};
        t.u.train = (gc_train_event){s, 1, 1.0 / (1.0 + (double)s), 0.0,
                                     -1.0, 1.0};
        emit(sink, &t);
        gc_event c = {.kind = GC_EVENT_CHECK};
        snprintf(c.u.check.tensor, sizeof c.u.check.tensor, "layer1.W");
        c.u.check.step = s;
        c.u.check.layer = 1;
        c.u.check.rel_error = 1e-9;
        emit(sink, &c);
        gc_event h = {.kind = GC_EVENT_HISTOGRAM};
        h.u.histogram = (gc_histogram_event){
            .step = s, .layer = 1, .quantity = GC_QTY_WEIGHTS, .count = 100,
            .binned = 100, .mean = 0.0, .std = 0.5, .min = -1.0, .max = 1.0,
            .mean_trend = NAN, .bins = 30, .edges = edges, .counts = counts};
        emit(sink, &h);
    }
    gc_event sum = {.kind = GC_EVENT_SUMMARY};
    sum.u.summary.steps = steps;
    emit(sink, &sum);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    size_t length = 0;
    char *page = gc_cli_read(path, &length);
    cr_assert_not_null(page);
    cr_assert_lt(length, LONG_RUN_PAGE_MAX, "page of %zu bytes", length);
    assert_contains(page, "\"train\":{\"step\":[");
    assert_contains(page, ",99999],\"window\"");
    assert_contains(page, "{\"step\":99999,");   /* the last column */
    assert_contains(page, "</html>\n");
    free(page);
    gc_cli_dir_remove(dir);
}

/* A run that never started leaves no page (and no .tmp). */
Test(html, no_run_event_writes_no_page)
{
    char dir[4096], path[4096], tmp[4200];
    gc_sink *sink = NULL;
    gc_error err = {0};

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "none.html");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert_eq(gc_html_sink_open(path, &sink, &err), GC_OK);
    cr_assert_eq(access(tmp, F_OK), 0, "the .tmp is made at open");
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    cr_assert_neq(access(path, F_OK), 0);
    cr_assert_neq(access(tmp, F_OK), 0);
    gc_cli_dir_remove(dir);
}

Test(html, open_in_a_missing_directory_is_eio_naming_the_file)
{
    gc_sink *sink = NULL;
    gc_error err = {0};

    cr_assert_eq(gc_html_sink_open("/nonexistent-dir/x.html", &sink, &err),
                 GC_EIO);
    cr_assert_null(sink);
    assert_contains(err.message, "/nonexistent-dir/x.html.tmp");
    cr_assert_eq(gc_html_sink_open(NULL, &sink, &err), GC_EINVAL);
}

/* Text from events is escaped: a config path with markup stays text. */
Test(html, event_text_is_escaped)
{
    char dir[4096], path[4096];
    gc_sink *sink = NULL;
    gc_error err = {0};

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "esc.html");
    cr_assert_eq(gc_html_sink_open(path, &sink, &err), GC_OK);
    gc_event run = {.kind = GC_EVENT_RUN};
    snprintf(run.u.run.config, sizeof run.u.run.config,
             "a</script><b>&.cfg");
    emit(sink, &run);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    char *page = gc_cli_read(path, NULL);
    cr_assert_not_null(page);
    assert_lacks(page, "a</script><b>");
    assert_contains(page, "a&lt;/script&gt;&lt;b&gt;&amp;.cfg");
    assert_contains(page, "a\\u003c/script\\u003e");
    free(page);
    gc_cli_dir_remove(dir);
}

/* ---- the sweep page ------------------------------------------------------ */

/* Runs gradcheck sweep of layer2.W of the step-size lesson's network with
 * --json and --html into dir. */
static void run_sweep(const char *dir, char *json, char *html, size_t size,
                      gc_cli_result *r)
{
    char cfg[4096];

    snprintf(cfg, sizeof cfg, "%s/fixtures/networks/walkthrough-step-size"
             ".cfg", GC_SOURCE_DIR);
    gc_cli_path(json, size, dir, "sweep.jsonl");
    gc_cli_path(html, size, dir, "sweep.html");
    const char *args[] = {"sweep", "--tensor", "layer2.W", "--json", json,
                          "--html", html, cfg, NULL};
    gc_cli_run(r, dir, args);
    cr_assert_eq(r->status, 0, "stdout:\n%s\nstderr:\n%s", r->out, r->err);
}

/* The page draws its one chart without a script error and names the
 * step gradcheck chose, the same as the text output does. */
Test(html, sweep_page_renders_in_chromium_with_the_chosen_step,
     .timeout = 240)
{
    char dir[4096], json[4096], html[4096], png[4096];
    gc_cli_result r;

    gc_cli_dir_make(dir, sizeof dir);
    run_sweep(dir, json, html, sizeof json, &r);
    assert_contains(r.out, "the step gradcheck takes, o: h = 6.06e-06");
    char *dom = chromium_dom(dir, html);
    assert_lacks(dom, "id=\"gc-script-error\"");
    assert_contains(dom, "id=\"gc-rendered\" data-charts=\"1\"");
    assert_contains(dom, "<h1>gradcheck step sweep</h1>");
    assert_contains(dom, "<td id=\"sweep-chosen\">h = 6.06e-06 ");
    assert_contains(dom, "rel. error there 4.99e-12");
    assert_contains(dom, "<td id=\"sweep-best\">4.99e-12 at h = 6.06e-06");
    /* one table row per step: 45 on the grid and the chosen one */
    const char *row = dom;
    size_t rows = 0, chosen_rows = 0;
    while ((row = strstr(row, "<tr><td>")) != NULL) {
        rows++;
        row++;
    }
    for (row = dom; (row = strstr(row, "<tr class=\"chosen\">")) != NULL;
         row++)
        chosen_rows++;
    cr_assert_eq(rows + chosen_rows, 46, "%zu rows", rows + chosen_rows);
    cr_assert_eq(chosen_rows, 1);
    assert_contains(dom, "1 chart drawn from 46 steps h");
    gc_cli_path(png, sizeof png, dir, "sweep.png");
    chromium_screenshot(dir, html, png);
    free(dom);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* `gradcheck report sweep.jsonl` gives the sweep's text again, and with
 * --html the page the sweep wrote, byte for byte. */
Test(html, sweep_rebuilt_from_json_lines_is_the_same, .timeout = 120)
{
    char dir[4096], json[4096], html[4096], again[4096];
    gc_cli_result r, page, text;
    size_t a_length = 0, b_length = 0;

    gc_cli_dir_make(dir, sizeof dir);
    run_sweep(dir, json, html, sizeof json, &r);
    gc_cli_path(again, sizeof again, dir, "again.html");
    const char *page_args[] = {"report", json, "--html", again, NULL};
    gc_cli_run(&page, dir, page_args);
    cr_assert_eq(page.status, 0, "stderr:\n%s", page.err);
    char *a = gc_cli_read(html, &a_length), *b = gc_cli_read(again,
                                                            &b_length);
    cr_assert_not_null(a);
    cr_assert_not_null(b);
    cr_assert_eq(a_length, b_length);
    cr_assert_eq(memcmp(a, b, a_length), 0, "the pages differ");
    const char *text_args[] = {"report", json, NULL};
    gc_cli_run(&text, dir, text_args);
    cr_assert_eq(text.status, 0, "stderr:\n%s", text.err);
    cr_assert_str_eq(text.out, r.out);
    free(a);
    free(b);
    gc_cli_result_free(&r);
    gc_cli_result_free(&page);
    gc_cli_result_free(&text);
    gc_cli_dir_remove(dir);
}

/* A sweep file cut short or mixed with a run's events is refused, naming
 * the file (and the line, when one line is wrong). */
Test(html, broken_sweep_files_are_refused)
{
    char dir[4096], bad[4096], html[4096];
    gc_cli_result r;

    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(bad, sizeof bad, dir, "bad.jsonl");
    gc_cli_path(html, sizeof html, dir, "out.html");
    const char *args[] = {"report", bad, "--html", html, NULL};

    gc_cli_write(bad, "{\"event\":\"sweep\",\"tensor\":\"w\",\"points\":2}\n"
                 "{\"event\":\"sweep_point\",\"h\":1e-6,\"rel_error\":1e-9,"
                 "\"chosen\":true}\n");
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 2);
    assert_contains(r.err, "declares 2 points, the file has 1");
    gc_cli_result_free(&r);

    gc_cli_write(bad, "{\"event\":\"sweep\",\"tensor\":\"w\",\"points\":1}\n"
                 "{\"event\":\"train\",\"step\":1}\n");
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 2);
    assert_contains(r.err, "bad.jsonl:2: a sweep file holds only");
    gc_cli_result_free(&r);

    gc_cli_write(bad, "{\"event\":\"sweep\",\"tensor\":\"w\",\"points\":1}\n"
                 "{\"event\":\"sweep_point\",\"h\":1e-6,\"rel_error\":1e-9,"
                 "\"chosen\":false}\n");
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 2);
    assert_contains(r.err, "no sweep_point is the chosen step");
    cr_assert_neq(access(html, F_OK), 0, "no page for a broken file");
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}
