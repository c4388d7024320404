/* test_junit.c - the JUnit XML report: valid against tests/junit.xsd, its
 * counts equal to what it holds, its text escaped, its file written
 * whole or not at all.
 *
 * Most cases feed the sink hand-made events, so the expected testcases
 * are known exactly; one runs `gradcheck --junit` on a tiny seeded
 * network (2-8-3, 200 steps, elementwise softmax derivative; well under a
 * second under ASan).  The schema is read with libxml2 and every report is
 * checked with xmlSchemaValidateDoc; the counts, which XSD 1.0 cannot
 * relate to the content, are checked with XPath.
 */
#include "cli_run.h"

#include "expect.h"
#include "report_junit.h"

#include <libxml/parser.h>
#include <libxml/xmlschemas.h>
#include <libxml/xpath.h>

#ifndef GC_SOURCE_DIR
#error "GC_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

#define XSD GC_SOURCE_DIR "/tests/junit.xsd"

/* ---- XML helpers ------------------------------------------------------------- */

/* Parses the file; fails the test when it is not well-formed XML. */
static xmlDocPtr load(const char *path)
{
    xmlDocPtr doc = xmlReadFile(path, NULL, XML_PARSE_NONET);
    cr_assert_not_null(doc, "%s is not well-formed XML", path);
    return doc;
}

/* 0 when doc is valid against tests/junit.xsd. */
static int validate(xmlDocPtr doc)
{
    xmlSchemaParserCtxtPtr parser = xmlSchemaNewParserCtxt(XSD);
    cr_assert_not_null(parser);
    xmlSchemaPtr schema = xmlSchemaParse(parser);
    cr_assert_not_null(schema, "cannot parse " XSD);
    xmlSchemaValidCtxtPtr valid = xmlSchemaNewValidCtxt(schema);
    cr_assert_not_null(valid);
    int rc = xmlSchemaValidateDoc(valid, doc);
    xmlSchemaFreeValidCtxt(valid);
    xmlSchemaFree(schema);
    xmlSchemaFreeParserCtxt(parser);
    return rc;
}

/* The number an XPath expression evaluates to (count(), number()). */
static double number(xmlDocPtr doc, const char *expr)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    cr_assert_not_null(ctx);
    xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr,
                                                   ctx);
    cr_assert_not_null(obj, "bad XPath %s", expr);
    double v = xmlXPathCastToNumber(obj);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return v;
}

/* The string value of an XPath expression, into out. */
static char *string(xmlDocPtr doc, const char *expr, char *out, size_t size)
{
    xmlXPathContextPtr ctx = xmlXPathNewContext(doc);
    cr_assert_not_null(ctx);
    xmlXPathObjectPtr obj = xmlXPathEvalExpression((const xmlChar *)expr,
                                                   ctx);
    cr_assert_not_null(obj, "bad XPath %s", expr);
    xmlChar *s = xmlXPathCastToString(obj);
    snprintf(out, size, "%s", (const char *)s);
    xmlFree(s);
    xmlXPathFreeObject(obj);
    xmlXPathFreeContext(ctx);
    return out;
}

/* Every count attribute equals what lies below it, per suite and in the
 * root (counts are small integers, compared exactly as doubles). */
static void assert_counts_consistent(xmlDocPtr doc)
{
    static const char *const kinds[] = {"failure", "error", "skipped"};
    static const char *const attrs[] = {"failures", "errors", "skipped"};
    char expr[256];
    double suites = number(doc, "count(/testsuites/testsuite)");
    cr_assert_geq(suites, 1);
    for (int i = 1; i <= (int)suites; i++) {
        snprintf(expr, sizeof expr, "count(/testsuites/testsuite[%d]"
                 "/testcase)", i);
        double tests = number(doc, expr);
        snprintf(expr, sizeof expr, "number(/testsuites/testsuite[%d]"
                 "/@tests)", i);
        cr_assert_eq(number(doc, expr), tests, "suite %d tests", i);
        for (int k = 0; k < 3; k++) {
            snprintf(expr, sizeof expr, "count(/testsuites/testsuite[%d]"
                     "/testcase[%s])", i, kinds[k]);
            double n = number(doc, expr);
            snprintf(expr, sizeof expr, "number(/testsuites/testsuite[%d]"
                     "/@%s)", i, attrs[k]);
            cr_assert_eq(number(doc, expr), n, "suite %d %s", i, attrs[k]);
        }
    }
    cr_assert_eq(number(doc, "number(/testsuites/@tests)"),
                 number(doc, "count(//testcase)"));
    for (int k = 0; k < 3; k++) {
        snprintf(expr, sizeof expr, "number(/testsuites/@%s)", attrs[k]);
        double total = number(doc, expr);
        snprintf(expr, sizeof expr, "count(//testcase[%s])", kinds[k]);
        cr_assert_eq(total, number(doc, expr), "root %s", attrs[k]);
    }
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- hand-made runs ----------------------------------------------------------- */

static gc_event run_event(const char *config)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_RUN;
    snprintf(e.u.run.config, sizeof e.u.run.config, "%s", config);
    snprintf(e.u.run.network, sizeof e.u.run.network, "2-8(sigmoid)-3");
    snprintf(e.u.run.version, sizeof e.u.run.version, "0.1.0");
    return e;
}

static gc_event check(const char *tensor, gc_verdict verdict, size_t step,
                      double rel_error)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_CHECK;
    snprintf(e.u.check.tensor, sizeof e.u.check.tensor, "%s", tensor);
    e.u.check.layer = 1;
    e.u.check.step = step;
    e.u.check.kind = GC_CHECK_ELEMENT;
    snprintf(e.u.check.method, sizeof e.u.check.method, "preactivation");
    e.u.check.verdict = verdict;
    e.u.check.rel_error = rel_error;
    if (verdict == GC_VERDICT_INCONCLUSIVE)
        snprintf(e.u.check.reason, sizeof e.u.check.reason,
                 "noise above the difference");
    return e;
}

static gc_event finding(const char *id, gc_severity severity, size_t step,
                        const char *message)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_FINDING;
    snprintf(e.u.finding.id, sizeof e.u.finding.id, "%s", id);
    e.u.finding.severity = severity;
    e.u.finding.step = step;
    snprintf(e.u.finding.message, sizeof e.u.finding.message, "%s",
             message);
    return e;
}

static gc_event summary_event(size_t steps)
{
    gc_event e;
    memset(&e, 0, sizeof e);
    e.kind = GC_EVENT_SUMMARY;
    e.u.summary.steps = steps;
    e.u.summary.seconds = 1.25;
    return e;
}

/* Markup characters, a control character and a byte that is not UTF-8:
 * the writer must escape the first and replace the other two. */
#define WEIRD_TENSOR "a<b&c\"d'e\x01" "f\xff"
#define WEIRD_TENSOR_READ "a<b&c\"d'e?f?"
#define WEIRD_MESSAGE "</failure><x>&amp; \"quoted\" \x02"

static gc_expect_spec expectation(void)
{
    gc_expect_spec s;
    char why[512];
    memset(&s, 0, sizeof s);
    s.no_other_errors = true;
    cr_assert(gc_expect_parse_findings(
        "softmax-jacobian-mismatch@0, logit-drift", &s, why, sizeof why),
        "%s", why);
    return s;
}

/* Writes the report of events to dir/report.xml through the sink. */
static void write_report(const char *dir, const gc_event *events,
                         size_t count, char *path, size_t size)
{
    gc_expect_spec s = expectation();
    gc_sink *sink = NULL;
    gc_error err;
    gc_cli_path(path, size, dir, "report.xml");
    cr_assert_eq(gc_junit_sink_open(path, &s, &sink, &err), GC_OK, "%s",
                 err.message);
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(sink->emit(sink, &events[i], &err), GC_OK, "%s",
                     err.message);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
}

Test(junit, report_is_valid_and_counts_what_it_holds)
{
    char dir[4096], path[4096], tmp[4200], s[1024];
    gc_cli_dir_make(dir, sizeof dir);
    gc_event events[] = {
        run_event("nets/tiny.cfg"),
        check("layer1.W", GC_VERDICT_PASS, 0, 1e-9),
        check("layer1.W", GC_VERDICT_FAIL, 0, 0.08),
        check("layer1.W", GC_VERDICT_FAIL, 500, 0.3),
        check("layer1.b", GC_VERDICT_INCONCLUSIVE, 0, 3e-5),
        check("layer2.W", GC_VERDICT_PASS, 0, 1e-9),
        check("layer2.W", GC_VERDICT_INCONCLUSIVE, 500, 3e-5),
        finding("softmax-jacobian-mismatch", GC_SEVERITY_ERROR, 0, "m1"),
        finding("gradient-mismatch", GC_SEVERITY_ERROR, 500, "m2"),
        finding("dead-relu", GC_SEVERITY_WARNING, 10, "m3"),
        summary_event(1000),
    };
    write_report(dir, events, sizeof events / sizeof events[0], path,
                 sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert(!file_exists(tmp), "the .tmp was not renamed");

    xmlDocPtr doc = load(path);
    cr_assert_eq(validate(doc), 0, "%s is not valid against " XSD, path);
    assert_counts_consistent(doc);

    /* checks: layer1.W fails, layer1.b skipped (inconclusive only),
     * layer2.W passes (an inconclusive check beside a pass is no failure). */
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[1]/@tests)"), 3);
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[1]/@failures)"),
                 1);
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[1]/@skipped)"),
                 1);
    cr_assert_str_eq(string(doc, "string(//testcase[failure]/@name)", s,
                            sizeof s), "layer1.W");
    cr_assert_str_eq(string(doc, "string(//testcase[skipped]/@name)", s,
                            sizeof s), "layer1.b");
    string(doc, "string(//testcase[@name='layer1.W']/failure/@message)", s,
           sizeof s);
    cr_assert_str_eq(s, "2 of 3 recorded checks failed; worst relative "
                     "error 0.3 at step 500 (element check (preactivation "
                     "method)); first failure at step 0");
    cr_assert_str_eq(string(doc, "string(//testcase[@name='layer1.W']"
                            "/@classname)", s, sizeof s),
                     "gradcheck.tiny.checks");

    /* expect: the Jacobian id found in time, logit-drift missing, and an
     * unexpected gradient-mismatch; the warning is allowed. */
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[2]/@tests)"), 3);
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[2]/@failures)"),
                 2);
    cr_assert_eq(number(doc, "count(//testcase[@name='finds "
                        "softmax-jacobian-mismatch by step 0'][failure])"),
                 0);
    cr_assert_str_eq(string(doc, "string(//testcase[@name='finds "
                            "logit-drift']/failure/@type)", s, sizeof s),
                     "missing");
    string(doc, "string(//testcase[@name='no other error finding']"
           "/failure)", s, sizeof s);
    cr_assert_not_null(strstr(s, "gradient-mismatch: error not expected, "
                              "first at step 500"), "%s", s);
    cr_assert_eq(number(doc, "number(/testsuites/@tests)"), 6);
    cr_assert_eq(number(doc, "number(/testsuites/@failures)"), 3);
    xmlFreeDoc(doc);
    gc_cli_dir_remove(dir);
}

Test(junit, text_is_escaped_and_cleaned)
{
    char dir[4096], path[4096], s[1024];
    gc_cli_dir_make(dir, sizeof dir);
    gc_event events[] = {
        run_event("dir/<odd & \"name\">.cfg"),
        check(WEIRD_TENSOR, GC_VERDICT_FAIL, 3, 0.5),
        finding("non-finite", GC_SEVERITY_ERROR, 3, WEIRD_MESSAGE),
        summary_event(4),
    };
    write_report(dir, events, sizeof events / sizeof events[0], path,
                 sizeof path);
    char *raw = gc_cli_read(path, NULL);
    cr_assert_not_null(raw);
    cr_assert_null(strchr(raw, '\x01'), "a control byte reached the file");
    cr_assert_null(strchr(raw, '\x02'), "a control byte reached the file");
    cr_assert_null(strchr(raw, '\xff'), "a non-UTF-8 byte reached the file");
    cr_assert_null(strstr(raw, "<x>"), "markup in a message was not "
                   "escaped");
    free(raw);

    xmlDocPtr doc = load(path);
    cr_assert_eq(validate(doc), 0);
    assert_counts_consistent(doc);
    cr_assert_str_eq(string(doc, "string(//testcase[failure]/@name)", s,
                            sizeof s), WEIRD_TENSOR_READ);
    cr_assert_str_eq(string(doc, "string(//property[@name='config']"
                            "/@value)", s, sizeof s),
                     "dir/<odd & \"name\">.cfg");
    string(doc, "string(//testcase[@name='no other error finding']"
           "/failure)", s, sizeof s);
    cr_assert_not_null(strstr(s, "</failure><x>&amp; \"quoted\" ?"), "%s",
                       s);
    xmlFreeDoc(doc);
    gc_cli_dir_remove(dir);
}

Test(junit, unfinished_run_is_an_error_testcase)
{
    char dir[4096], path[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_event events[] = {
        run_event("tiny.cfg"),
        check("layer1.W", GC_VERDICT_PASS, 0, 1e-9),
    };
    write_report(dir, events, 2, path, sizeof path);
    xmlDocPtr doc = load(path);
    cr_assert_eq(validate(doc), 0);
    assert_counts_consistent(doc);
    cr_assert_eq(number(doc, "number(/testsuites/@errors)"), 1);
    cr_assert_eq(number(doc, "count(//testcase[@name='run']/error)"), 1);
    xmlFreeDoc(doc);
    gc_cli_dir_remove(dir);
}

Test(junit, no_run_leaves_the_old_file_and_no_tmp)
{
    char dir[4096], path[4096], tmp[4200];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "report.xml");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    gc_cli_write(path, "previous report");
    gc_expect_spec s = expectation();
    gc_sink *sink = NULL;
    gc_error err;
    cr_assert_eq(gc_junit_sink_open(path, &s, &sink, &err), GC_OK);
    cr_assert(file_exists(tmp), "open creates the .tmp");
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    cr_assert(!file_exists(tmp));
    char *text = gc_cli_read(path, NULL);
    cr_assert_str_eq(text, "previous report");
    free(text);
    gc_cli_dir_remove(dir);
}

Test(junit, unwritable_path_fails_at_open)
{
    gc_expect_spec s = expectation();
    gc_sink *sink = NULL;
    gc_error err;
    cr_assert_eq(gc_junit_sink_open("/nonexistent-dir/report.xml", &s,
                                    &sink, &err), GC_EIO);
    cr_assert_not_null(strstr(err.message,
                              "/nonexistent-dir/report.xml.tmp"), "%s",
                       err.message);
    cr_assert_null(sink);
}

/* The validator is live: a testcase without its required name fails. */
Test(junit, schema_rejects_a_testcase_without_name)
{
    char dir[4096], path[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(path, sizeof path, dir, "bad.xml");
    gc_cli_write(path, "<?xml version=\"1.0\"?>\n<testsuites><testsuite "
                 "name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">"
                 "<testcase classname=\"c\"/></testsuite></testsuites>\n");
    xmlDocPtr doc = load(path);
    cr_assert_neq(validate(doc), 0);
    xmlFreeDoc(doc);
    gc_cli_dir_remove(dir);
}

/* ---- the command ---------------------------------------------------------------- */

Test(junit_cli, junit_option_writes_a_valid_report)
{
    char dir[4096], cfg[4096], path[4096], tmp[4200], s[256];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(cfg, sizeof cfg, dir, "tiny.cfg");
    gc_cli_path(path, sizeof path, dir, "report.xml");
    gc_cli_write(cfg,
                 "[data]\nsource = synthetic\nsynthetic = blobs\n"
                 "samples = 200\nclasses = 3\ntest_split = 0.25\n"
                 "[network]\nlayers = 8:sigmoid, 3:softmax\n"
                 "[loss]\ntype = mse\n"
                 "[training]\nlearning_rate = 0.5\nbatch_size = 1\n"
                 "steps = 200\nseed = 3\n"
                 "[as-written]\nsoftmax_derivative = elementwise\n"
                 "[expect]\nfindings = softmax-jacobian-mismatch@0\n");
    gc_cli_run(&r, dir, (const char *[]){"--quiet", "--junit", path, cfg,
                                         NULL});
    /* No --expect: the exit status is the run's own. */
    cr_assert_eq(r.status, 1, "stderr: %s", r.err);
    gc_cli_result_free(&r);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    cr_assert(!file_exists(tmp));

    xmlDocPtr doc = load(path);
    cr_assert_eq(validate(doc), 0);
    assert_counts_consistent(doc);
    /* Two layers: W and b of each, every one failing the check. */
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[1]/@tests)"), 4);
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[1]/@failures)"),
                 4);
    cr_assert_eq(number(doc, "count(//testcase[@name='layer2.W']"
                        "/failure)"), 1);
    /* The expectation holds: no failure in the second suite. */
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[2]/@tests)"), 2);
    cr_assert_eq(number(doc, "number(/testsuites/testsuite[2]/@failures)"),
                 0);
    cr_assert_str_eq(string(doc, "string(//property[@name='steps']/@value)",
                            s, sizeof s), "200");
    xmlFreeDoc(doc);
    gc_cli_dir_remove(dir);
}
