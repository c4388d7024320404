/* test_expect.c - [expect]: parsing, the comparison, the sink and
 * `gradcheck --expect`.
 *
 * The comparison is tested on hand-made event streams (a finding at a
 * chosen step, a summary), so each case says exactly what the run found.
 * The command is tested on a tiny seeded network (2-8-3 on synthetic
 * blobs, 200 steps, well under a second even under ASan) whose backward
 * takes the elementwise softmax derivative: it reports
 * softmax-jacobian-mismatch at step 0 and nothing else of severity error.
 */
#include "cli_run.h"

#include "config.h"
#include "expect.h"

#ifndef GC_SOURCE_DIR
#error "GC_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

/* ---- parsing ------------------------------------------------------------------ */

static gc_spec spec;
static gc_error err;

static gc_status parse(const char *text)
{
    return gc_config_parse_string(text, "nets/run.cfg", &spec, &err);
}

Test(expect_config, defaults_expect_nothing_and_no_error)
{
    cr_assert_eq(parse("[training]\nsteps = 1\n"), GC_OK, "%s",
                 err.message);
    cr_assert_eq(spec.expect.count, 0);
    cr_assert(spec.expect.no_other_errors);
    cr_assert(!spec.expect.enforce);
}

Test(expect_config, ids_with_and_without_steps)
{
    cr_assert_eq(parse("[expect]\n"
                       "findings = softmax-jacobian-mismatch@0, "
                       "logit-drift @ 20000 ,non-finite\n"
                       "no_other_errors = false\n"
                       "enforce = yes\n"), GC_OK, "%s", err.message);
    cr_assert_eq(spec.expect.count, 3);
    cr_assert_str_eq(spec.expect.findings[0].id,
                     "softmax-jacobian-mismatch");
    cr_assert(spec.expect.findings[0].by_step);
    cr_assert_eq(spec.expect.findings[0].step, 0);
    cr_assert_str_eq(spec.expect.findings[1].id, "logit-drift");
    cr_assert(spec.expect.findings[1].by_step);
    cr_assert_eq(spec.expect.findings[1].step, 20000);
    cr_assert_str_eq(spec.expect.findings[2].id, "non-finite");
    cr_assert(!spec.expect.findings[2].by_step);
    cr_assert(!spec.expect.no_other_errors);
    cr_assert(spec.expect.enforce);
    cr_assert_eq(spec.expect.line_of_findings, 2);
}

Test(expect_config, none_and_empty_list_nothing)
{
    cr_assert_eq(parse("[expect]\nfindings = none\n"), GC_OK, "%s",
                 err.message);
    cr_assert_eq(spec.expect.count, 0);
    cr_assert_eq(parse("[expect]\nfindings =\n"), GC_OK, "%s", err.message);
    cr_assert_eq(spec.expect.count, 0);
}

Test(expect_config, unknown_id_is_an_error_with_file_and_line)
{
    cr_assert_eq(parse("; a comment\n"
                       "[expect]\n"
                       "findings = non-finite, logit-drfit@10\n"),
                 GC_ECONFIG);
    cr_assert(strncmp(err.message, "nets/run.cfg:3: [expect] findings: ",
                      35) == 0, "%s", err.message);
    cr_assert_not_null(strstr(err.message, "'logit-drfit'"), "%s",
                       err.message);
    /* The suggestion: the id that was meant. */
    cr_assert_not_null(strstr(err.message, "did you mean logit-drift"),
                       "%s", err.message);
    /* A failed load leaves the defaults. */
    cr_assert_eq(spec.expect.count, 0);
}

Test(expect_config, malformed_lists_are_errors)
{
    static const struct {
        const char *value;
        const char *says;
    } bad[] = {
        {"logit-drift@", "step number"},
        {"logit-drift@-1", "step number"},
        {"logit-drift@1e3", "step number"},
        {"logit-drift@99999999999999999999999", "step number"},
        {"@5", "finding id before '@'"},
        {"non-finite,,logit-drift", "empty item"},
        {"non-finite, non-finite@3", "twice"},
        {"this-id-is-far-too-long-to-be-any-registered-finding-id",
         "registered finding id"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "[expect]\nfindings = %s\n",
                 bad[i].value);
        cr_assert_eq(parse(text), GC_ECONFIG, "'%s' accepted", bad[i].value);
        cr_assert(strncmp(err.message, "nets/run.cfg:2: ", 16) == 0, "%s",
                  err.message);
        cr_assert_not_null(strstr(err.message, bad[i].says), "'%s': %s",
                           bad[i].value, err.message);
    }
    cr_assert_eq(parse("[expect]\nno_other_errors = maybe\n"), GC_ECONFIG);
    cr_assert_eq(parse("[expect]\nforbid = x\n"), GC_ECONFIG);
}

/* ---- the comparison ------------------------------------------------------------ */

static gc_event run_event(void)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_RUN;
    snprintf(e.u.run.config, sizeof e.u.run.config, "x.cfg");
    return e;
}

static gc_event finding(const char *id, gc_severity severity, size_t step)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_FINDING;
    snprintf(e.u.finding.id, sizeof e.u.finding.id, "%s", id);
    e.u.finding.severity = severity;
    e.u.finding.step = step;
    e.u.finding.layer = 2;
    snprintf(e.u.finding.tensor, sizeof e.u.finding.tensor, "layer2.W");
    snprintf(e.u.finding.message, sizeof e.u.finding.message,
             "message of %s", id);
    return e;
}

static gc_event summary_event(size_t steps)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_SUMMARY;
    e.u.summary.steps = steps;
    return e;
}

/* Expectation: softmax-jacobian-mismatch by step 0, logit-drift by 500. */
static gc_expect_spec two_ids(void)
{
    gc_expect_spec s;
    char why[512];
    memset(&s, 0, sizeof s);
    s.no_other_errors = true;
    cr_assert(gc_expect_parse_findings(
        "softmax-jacobian-mismatch@0, logit-drift@500", &s, why,
        sizeof why), "%s", why);
    return s;
}

/* Runs events through a fresh outcome and finishes it. */
static void judge(gc_expect_outcome *o, const gc_expect_spec *s,
                  const gc_event *events, size_t count)
{
    gc_expect_begin(o, s);
    for (size_t i = 0; i < count; i++)
        gc_expect_observe(o, &events[i]);
    gc_expect_finish(o);
}

static gc_expect_outcome outcome;
static char text[8192];

Test(expect_outcome, met_when_every_id_comes_in_time)
{
    gc_expect_spec s = two_ids();
    gc_event events[] = {
        run_event(),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 0),
        finding("logit-drift", GC_SEVERITY_WARNING, 250),
        finding("logit-drift", GC_SEVERITY_WARNING, 900),  /* again: fine */
        finding("unstable-softmax", GC_SEVERITY_WARNING, 300), /* warning */
        summary_event(1000),
    };
    judge(&outcome, &s, events, sizeof events / sizeof events[0]);
    cr_assert(outcome.met);
    cr_assert_eq(outcome.mismatches, 0);
    cr_assert_eq(outcome.count, 2);
    cr_assert_eq(outcome.items[0].verdict, GC_EXPECT_MET);
    cr_assert_eq(outcome.items[1].verdict, GC_EXPECT_MET);
    cr_assert_eq(outcome.items[1].seen, 2);
    cr_assert_eq(outcome.items[1].first_step, 250);
    gc_expect_describe(&outcome, text, sizeof text);
    cr_assert(strncmp(text, "expectation met (x.cfg [expect])\n", 33) == 0,
              "%s", text);
    cr_assert_not_null(strstr(text, "ok      logit-drift by step 500: "
                              "found at step 250 (layer 2, layer2.W)"),
                       "%s", text);
    cr_assert_not_null(strstr(text, "ok      no other error finding"),
                       "%s", text);
}

Test(expect_outcome, missing_id)
{
    gc_expect_spec s = two_ids();
    gc_event events[] = {
        run_event(),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 0),
        summary_event(2000),
    };
    judge(&outcome, &s, events, sizeof events / sizeof events[0]);
    cr_assert(!outcome.met);
    cr_assert_eq(outcome.mismatches, 1);
    cr_assert_eq(outcome.items[0].verdict, GC_EXPECT_MET);
    cr_assert_eq(outcome.items[1].verdict, GC_EXPECT_MISSING);
    gc_expect_describe(&outcome, text, sizeof text);
    cr_assert(strncmp(text, "expectation not met: 1 difference", 33) == 0,
              "%s", text);
    cr_assert_not_null(strstr(text, "missing logit-drift by step 500: not "
                              "found in 2000 steps\n"), "%s", text);
}

Test(expect_outcome, late_id)
{
    gc_expect_spec s = two_ids();
    gc_event events[] = {
        run_event(),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 500),
        finding("logit-drift", GC_SEVERITY_WARNING, 500),  /* on the limit */
        summary_event(2000),
    };
    judge(&outcome, &s, events, sizeof events / sizeof events[0]);
    cr_assert(!outcome.met);
    cr_assert_eq(outcome.mismatches, 1);
    cr_assert_eq(outcome.items[0].verdict, GC_EXPECT_LATE);
    cr_assert_eq(outcome.items[1].verdict, GC_EXPECT_MET);
    gc_expect_describe(&outcome, text, sizeof text);
    cr_assert_not_null(strstr(text, "late    softmax-jacobian-mismatch by "
                              "step 0: first found at step 500"), "%s",
                       text);
}

Test(expect_outcome, extra_error)
{
    gc_expect_spec s = two_ids();
    gc_event events[] = {
        run_event(),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 0),
        finding("logit-drift", GC_SEVERITY_WARNING, 100),
        finding("gradient-mismatch", GC_SEVERITY_ERROR, 3),
        finding("gradient-mismatch", GC_SEVERITY_ERROR, 7),
        finding("non-finite", GC_SEVERITY_ERROR, 9),
        summary_event(10),
    };
    judge(&outcome, &s, events, sizeof events / sizeof events[0]);
    cr_assert(!outcome.met);
    cr_assert_eq(outcome.mismatches, 2);
    cr_assert_eq(outcome.count, 4);
    cr_assert(!outcome.items[2].listed);
    cr_assert_str_eq(outcome.items[2].id, "gradient-mismatch");
    cr_assert_eq(outcome.items[2].verdict, GC_EXPECT_UNEXPECTED);
    cr_assert_eq(outcome.items[2].seen, 2);
    cr_assert_eq(outcome.items[2].first_step, 3);
    gc_expect_describe(&outcome, text, sizeof text);
    cr_assert_not_null(strstr(text, "extra   gradient-mismatch: error not "
                              "expected, first at step 3 (layer 2, "
                              "layer2.W), 2 times: message of "
                              "gradient-mismatch"), "%s", text);
    cr_assert_not_null(strstr(text, "extra   non-finite"), "%s", text);
    cr_assert_null(strstr(text, "no other error finding"), "%s", text);

    /* The same run is fine when other errors are allowed. */
    s.no_other_errors = false;
    judge(&outcome, &s, events, sizeof events / sizeof events[0]);
    cr_assert(outcome.met);
    cr_assert_eq(outcome.count, 2);
}

Test(expect_outcome, default_expectation_is_no_error)
{
    gc_expect_spec s;
    memset(&s, 0, sizeof s);
    s.no_other_errors = true;
    gc_event clean[] = {run_event(),
                        finding("dead-relu", GC_SEVERITY_WARNING, 4),
                        finding("kink-excluded", GC_SEVERITY_INFO, 0),
                        summary_event(10)};
    judge(&outcome, &s, clean, 4);
    cr_assert(outcome.met);
    gc_event dirty[] = {run_event(),
                        finding("update-ascent", GC_SEVERITY_ERROR, 4),
                        summary_event(10)};
    judge(&outcome, &s, dirty, 3);
    cr_assert(!outcome.met);
}

Test(expect_outcome, unfinished_run_is_not_met)
{
    gc_expect_spec s;
    memset(&s, 0, sizeof s);
    s.no_other_errors = true;
    gc_event events[] = {run_event()};
    judge(&outcome, &s, events, 1);
    cr_assert(!outcome.met);
    gc_expect_describe(&outcome, text, sizeof text);
    cr_assert_not_null(strstr(text, "did not finish"), "%s", text);
}

Test(expect_outcome, describe_never_overruns)
{
    gc_expect_spec s = two_ids();
    gc_event events[] = {run_event(), summary_event(2000)};
    char small[40];
    judge(&outcome, &s, events, 2);
    memset(small, 'x', sizeof small);
    gc_expect_describe(&outcome, small, sizeof small);
    cr_assert_lt(strlen(small), sizeof small);
    cr_assert_str_eq(small + strlen(small) - 4, "...\n");
}

Test(expect_sink, close_leaves_the_finished_outcome)
{
    gc_expect_spec s = two_ids();
    gc_sink *sink = NULL;
    gc_error e;
    cr_assert_eq(gc_expect_sink_open(&s, &outcome, &sink, &e), GC_OK);
    gc_event events[] = {
        run_event(),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 0),
        summary_event(100),
    };
    for (size_t i = 0; i < 3; i++)
        cr_assert_eq(sink->emit(sink, &events[i], &e), GC_OK);
    cr_assert_eq(sink->close(sink, &e), GC_OK);
    cr_assert(!outcome.met);
    cr_assert_eq(outcome.items[1].verdict, GC_EXPECT_MISSING);
    cr_assert_eq(gc_expect_sink_open(NULL, &outcome, &sink, &e),
                 GC_EINVAL);
}

/* ---- the command ----------------------------------------------------------------- */

/* The tiny network, with the [expect] section given. */
static void write_tiny(const char *path, const char *expect_section)
{
    char cfg[2048];
    snprintf(cfg, sizeof cfg,
             "[data]\nsource = synthetic\nsynthetic = blobs\n"
             "samples = 200\nclasses = 3\ntest_split = 0.25\n"
             "[network]\nlayers = 8:sigmoid, 3:softmax\n"
             "[loss]\ntype = mse\n"
             "[training]\nlearning_rate = 0.5\nbatch_size = 1\n"
             "steps = 200\nseed = 3\n"
             "[as-written]\nsoftmax_derivative = elementwise\n"
             "%s", expect_section);
    gc_cli_write(path, cfg);
}

Test(expect_cli, expect_turns_an_expected_error_into_exit_0)
{
    char dir[4096], cfg[4096];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(cfg, sizeof cfg, dir, "tiny.cfg");
    write_tiny(cfg, "[expect]\nfindings = softmax-jacobian-mismatch@0\n");

    /* Without --expect the section is only a statement: exit 1, as the
     * run found an error. */
    gc_cli_run(&r, dir, (const char *[]){"--quiet", cfg, NULL});
    cr_assert_eq(r.status, 1, "stderr: %s", r.err);
    cr_assert_null(strstr(r.out, "expectation"), "%s", r.out);
    gc_cli_result_free(&r);

    gc_cli_run(&r, dir, (const char *[]){"--expect", "--quiet", cfg, NULL});
    cr_assert_eq(r.status, 0, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert_not_null(strstr(r.out, "expectation met"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "ok      softmax-jacobian-mismatch "
                              "by step 0: found at step 0"), "%s", r.out);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

Test(expect_cli, mismatch_exits_1_with_the_difference)
{
    char dir[4096], cfg[4096];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(cfg, sizeof cfg, dir, "tiny.cfg");
    /* The config form: enforce = true needs no --expect. */
    write_tiny(cfg, "[expect]\nfindings = logit-drift\nenforce = true\n");
    gc_cli_run(&r, dir, (const char *[]){"--quiet", cfg, NULL});
    cr_assert_eq(r.status, 1, "stdout: %s\nstderr: %s", r.out, r.err);
    cr_assert_not_null(strstr(r.out, "expectation not met: 2 differences"),
                       "%s", r.out);
    cr_assert_not_null(strstr(r.out, "missing logit-drift: not found in "
                              "200 steps"), "%s", r.out);
    cr_assert_not_null(strstr(r.out, "extra   softmax-jacobian-mismatch: "
                              "error not expected, first at step 0"),
                       "%s", r.out);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

Test(expect_cli, unknown_id_exits_2_naming_file_and_line)
{
    char dir[4096], cfg[4096], expected[4200];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(cfg, sizeof cfg, dir, "tiny.cfg");
    write_tiny(cfg, "[expect]\nfindings = softmax-jacobian-mismatch, "
               "no-such-finding\n");
    gc_cli_run(&r, dir, (const char *[]){"--expect", cfg, NULL});
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.out, "");
    /* [expect] is line 18 and findings line 19 of write_tiny's text. */
    snprintf(expected, sizeof expected, "gradcheck: %s:19: [expect] "
             "findings: expected a registered finding id, got "
             "'no-such-finding'", cfg);
    cr_assert(strncmp(r.err, expected, strlen(expected)) == 0,
              "got: %s\nwanted: %s", r.err, expected);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}
