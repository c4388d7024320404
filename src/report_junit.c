/* report_junit.c - the JUnit XML sink (see report_junit.h, docs/ci.md).
 *
 * emit() only collects: per tensor, the counts of its check verdicts, its
 * worst and first failures and the first few failing checks; the
 * expectation outcome (expect.c); the run's name, time and length.
 * close() writes the whole document with libxml2's text writer, which
 * escapes markup; clean_text() first replaces what XML 1.0 cannot carry.
 */
#define _POSIX_C_SOURCE 200809L   /* fileno, fsync, gmtime_r */

#include "report_junit.h"

#include "expect.h"

#include <libxml/xmlwriter.h>

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Failing checks a tensor's <failure> lists one by one; a run that fails
 * every step would otherwise list thousands.  The message already gives
 * the count and the worst; ten show the pattern over the run. */
#define GC_JUNIT_FAILURES_LISTED 10

/* Room for one cleaned message: the longest texts are the expectation
 * lines (id, steps, where, a 240-byte finding message) and a failing
 * check's line (a 96-byte reason and numbers). */
#define GC_JUNIT_TEXT_MAX 1024

/* A failure body: the listed lines plus a last line saying how many more. */
#define GC_JUNIT_BODY_MAX ((GC_JUNIT_FAILURES_LISTED + 2) * GC_JUNIT_TEXT_MAX)

typedef struct {
    size_t step;
    gc_check_kind kind;
    char method[24];
    double rel_error;
    char reason[96];
    bool has_element;          /* element check: the worst element below */
    size_t row, col;
    double analytic, numeric;
} failing_check;

typedef struct {
    char tensor[32];
    size_t layer;
    size_t pass, fail, inconclusive;
    char last_reason[96];      /* of the last inconclusive check */
    size_t listed;             /* failures[0..listed) */
    failing_check failures[GC_JUNIT_FAILURES_LISTED];
    bool has_worst;
    failing_check worst;       /* the failing check with the largest error */
} tensor_record;

typedef struct {
    gc_sink sink;
    FILE *file;                /* the open .tmp */
    char *path, *tmp_path;
    gc_expect_outcome outcome;
    bool started, finished;
    time_t started_at;
    char network[160];
    char version[16];
    size_t steps;
    double seconds;
    bool trapped, interrupted;
    size_t tensor_count, tensor_capacity;
    tensor_record *tensors;
} gc_junit_state;

/* ---- collecting ------------------------------------------------------------ */

static const char *check_kind_name(gc_check_kind kind)
{
    return kind == GC_CHECK_ELEMENT ? "element" : "direction";
}

/* The record of tensor name, added at the end when new; NULL when out of
 * memory. */
static tensor_record *tensor_find(gc_junit_state *s, const char *name,
                                  size_t layer)
{
    for (size_t i = 0; i < s->tensor_count; i++) {
        if (strcmp(s->tensors[i].tensor, name) == 0)
            return &s->tensors[i];
    }
    if (s->tensor_count == s->tensor_capacity) {
        size_t capacity = s->tensor_capacity ? 2 * s->tensor_capacity : 16;
        tensor_record *grown = realloc(s->tensors,
                                       capacity * sizeof *grown);
        if (grown == NULL)
            return NULL;
        s->tensors = grown;
        s->tensor_capacity = capacity;
    }
    tensor_record *t = &s->tensors[s->tensor_count++];
    memset(t, 0, sizeof *t);
    snprintf(t->tensor, sizeof t->tensor, "%s", name);
    t->layer = layer;
    return t;
}

static failing_check failing_from(const gc_check_event *c)
{
    failing_check f;
    memset(&f, 0, sizeof f);
    f.step = c->step;
    f.kind = c->kind;
    snprintf(f.method, sizeof f.method, "%s", c->method);
    f.rel_error = c->rel_error;
    snprintf(f.reason, sizeof f.reason, "%s", c->reason);
    f.has_element = c->kind == GC_CHECK_ELEMENT;
    f.row = c->worst_row;
    f.col = c->worst_col;
    f.analytic = c->worst_analytic;
    f.numeric = c->worst_numeric;
    return f;
}

/* Whether a is a worse failure than b: a larger relative error, or an
 * error that is not a number (a NaN gradient) over one that is. */
static bool worse(double a, double b)
{
    if (isnan(a))
        return !isnan(b);
    return !isnan(b) && a > b;
}

static gc_status take_check(gc_junit_state *s, const gc_check_event *c,
                            gc_error *err)
{
    tensor_record *t = tensor_find(s, c->tensor, c->layer);
    if (t == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory collecting "
                            "checks", s->tmp_path);
    switch (c->verdict) {
    case GC_VERDICT_PASS:
        t->pass++;
        break;
    case GC_VERDICT_INCONCLUSIVE:
        t->inconclusive++;
        snprintf(t->last_reason, sizeof t->last_reason, "%s", c->reason);
        break;
    case GC_VERDICT_FAIL: {
        failing_check f = failing_from(c);
        t->fail++;
        if (t->listed < GC_JUNIT_FAILURES_LISTED)
            t->failures[t->listed++] = f;
        if (!t->has_worst || worse(f.rel_error, t->worst.rel_error)) {
            t->worst = f;
            t->has_worst = true;
        }
        break;
    }
    }
    return GC_OK;
}

static gc_status junit_emit(gc_sink *sink, const gc_event *event,
                            gc_error *err)
{
    gc_junit_state *s = sink->self;
    if (event == NULL)
        return gc_error_set(err, GC_EINVAL, "JUnit report: NULL event");
    gc_expect_observe(&s->outcome, event);
    switch (event->kind) {
    case GC_EVENT_RUN:
        s->started = true;
        s->started_at = time(NULL);
        snprintf(s->network, sizeof s->network, "%s",
                 event->u.run.network);
        snprintf(s->version, sizeof s->version, "%s",
                 event->u.run.version);
        break;
    case GC_EVENT_CHECK:
        return take_check(s, &event->u.check, err);
    case GC_EVENT_SUMMARY:
        s->finished = true;
        s->steps = event->u.summary.steps;
        s->seconds = event->u.summary.seconds;
        s->trapped = event->u.summary.trapped;
        s->interrupted = event->u.summary.interrupted;
        break;
    default:
        break;
    }
    return GC_OK;
}

/* ---- text XML can carry ---------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (1..4) that XML 1.0
 * allows, or 0 when the bytes there are not one. */
static size_t utf8_char(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x80)
        return (c >= 0x20 || c == '\t' || c == '\n' || c == '\r') ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80)
            return 0;
        if (c == 0xe0 && s[1] < 0xa0)
            return 0;                        /* overlong */
        if (c == 0xed && s[1] >= 0xa0)
            return 0;                        /* surrogates */
        if (c == 0xef && s[1] == 0xbf && (s[2] == 0xbe || s[2] == 0xbf))
            return 0;                        /* U+FFFE, U+FFFF */
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        if ((s[1] & 0xc0) != 0x80 || (s[2] & 0xc0) != 0x80
            || (s[3] & 0xc0) != 0x80)
            return 0;
        if ((c == 0xf0 && s[1] < 0x90) || (c == 0xf4 && s[1] >= 0x90))
            return 0;                        /* overlong, above U+10FFFF */
        return 4;
    }
    return 0;
}

/* Copies in to out (cap bytes), each byte that is not part of a character
 * XML 1.0 allows replaced by '?'.  Returns out as libxml2 wants it. */
static const xmlChar *clean_text(const char *in, char *out, size_t cap)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = 0;
    while (*s != '\0' && n + 1 < cap) {
        size_t len = utf8_char(s);
        if (len == 0 || n + len >= cap) {
            out[n++] = '?';
            s++;
            continue;
        }
        memcpy(out + n, s, len);
        n += len;
        s += len;
    }
    out[n] = '\0';
    return (const xmlChar *)out;
}

/* ---- writing ------------------------------------------------------------------ */

/* The writer and whether any call failed, so that writing stays a flat
 * list of elements. */
typedef struct {
    xmlTextWriterPtr w;
    bool failed;
} xml_out;

static void check_rc(xml_out *x, int rc)
{
    if (rc < 0)
        x->failed = true;
}

static void start(xml_out *x, const char *name)
{
    check_rc(x, xmlTextWriterStartElement(x->w, (const xmlChar *)name));
}

static void end(xml_out *x)
{
    check_rc(x, xmlTextWriterEndElement(x->w));
}

static void attribute(xml_out *x, const char *name, const char *value)
{
    char clean[GC_JUNIT_TEXT_MAX];
    check_rc(x, xmlTextWriterWriteAttribute(
                    x->w, (const xmlChar *)name,
                    clean_text(value, clean, sizeof clean)));
}

__attribute__((format(printf, 3, 4)))
static void attribute_format(xml_out *x, const char *name,
                             const char *format, ...)
{
    char value[GC_JUNIT_TEXT_MAX];
    va_list args;
    va_start(args, format);
    vsnprintf(value, sizeof value, format, args);
    va_end(args);
    attribute(x, name, value);
}

static void text(xml_out *x, const char *body)
{
    size_t cap = strlen(body) + 1;
    char *clean = malloc(cap);
    if (clean == NULL) {
        x->failed = true;
        return;
    }
    check_rc(x, xmlTextWriterWriteString(x->w,
                                         clean_text(body, clean, cap)));
    free(clean);
}

/* Appends to a body buffer of GC_JUNIT_BODY_MAX bytes; cut when full. */
__attribute__((format(printf, 3, 4)))
static void body_append(char *body, size_t *used, const char *format, ...)
{
    va_list args;
    int w;
    if (*used + 1 >= GC_JUNIT_BODY_MAX)
        return;
    va_start(args, format);
    w = vsnprintf(body + *used, GC_JUNIT_BODY_MAX - *used, format, args);
    va_end(args);
    if (w > 0)
        *used += (size_t)w < GC_JUNIT_BODY_MAX - *used
                     ? (size_t)w : GC_JUNIT_BODY_MAX - *used - 1;
}

/* The config's file name without directory and ".cfg": "small-softmax". */
static void config_stem(const char *config, char *out, size_t cap)
{
    const char *slash = strrchr(config, '/');
    const char *name = slash ? slash + 1 : config;
    size_t len = strlen(name);
    if (len > 4 && strcmp(name + len - 4, ".cfg") == 0)
        len -= 4;
    snprintf(out, cap, "%.*s", (int)len, name);
    if (out[0] == '\0')
        snprintf(out, cap, "run");
}

/* "element check (preactivation method)" or "direction check". */
static void check_method(const failing_check *f, char *out, size_t cap)
{
    if (f->kind == GC_CHECK_ELEMENT)
        snprintf(out, cap, "element check (%s method)", f->method);
    else
        snprintf(out, cap, "%s check", check_kind_name(f->kind));
}

/* "step 0, element check (preactivation method): relative error 0.0775;
 * worst element [9, 14]: analytic ..., numeric ..." and a line break. */
static void describe_failing(char *body, size_t *used, const failing_check *f)
{
    char method[48];
    check_method(f, method, sizeof method);
    body_append(body, used, "step %zu, %s: relative error %.3g", f->step,
                method, f->rel_error);
    if (f->has_element)
        body_append(body, used, "; worst element [%zu, %zu]: analytic "
                    "%.6g, numeric %.6g", f->row, f->col, f->analytic,
                    f->numeric);
    if (f->reason[0] != '\0')
        body_append(body, used, "; %s", f->reason);
    body_append(body, used, "\n");
}

static void write_tensor_case(xml_out *x, const tensor_record *t,
                              const char *classname)
{
    size_t checks = t->pass + t->fail + t->inconclusive;
    start(x, "testcase");
    attribute(x, "name", t->tensor);
    attribute(x, "classname", classname);
    attribute(x, "time", "0");
    if (t->fail > 0) {
        char *body = malloc(GC_JUNIT_BODY_MAX);
        size_t used = 0;
        if (body == NULL) {
            x->failed = true;
            return;
        }
        char method[48];
        check_method(&t->worst, method, sizeof method);
        body[0] = '\0';
        start(x, "failure");
        attribute_format(x, "message", "%zu of %zu recorded checks failed; "
                         "worst relative error %.3g at step %zu (%s); "
                         "first failure at step %zu", t->fail, checks,
                         t->worst.rel_error, t->worst.step, method,
                         t->failures[0].step);
        attribute(x, "type", "gradient-check");
        for (size_t i = 0; i < t->listed; i++)
            describe_failing(body, &used, &t->failures[i]);
        if (t->fail > t->listed)
            body_append(body, &used, "... and %zu more failing checks\n",
                        t->fail - t->listed);
        text(x, body);
        free(body);
        end(x);
    } else if (t->pass == 0) {
        start(x, "skipped");
        attribute_format(x, "message", "all %zu recorded checks "
                         "inconclusive%s%s",
                         checks, t->last_reason[0] ? ": " : "",
                         t->last_reason);
        end(x);
    }
    end(x);
}

typedef struct {
    size_t tests, failures, errors, skipped;
} case_counts;

static case_counts checks_counts(const gc_junit_state *s)
{
    case_counts c = {s->tensor_count, 0, 0, 0};
    for (size_t i = 0; i < s->tensor_count; i++) {
        if (s->tensors[i].fail > 0)
            c.failures++;
        else if (s->tensors[i].pass == 0)
            c.skipped++;
    }
    if (!s->finished) {
        c.tests++;
        c.errors++;
    }
    return c;
}

static case_counts expect_counts(const gc_expect_outcome *o)
{
    case_counts c = {o->listed_count, 0, 0, 0};
    for (size_t i = 0; i < o->listed_count; i++) {
        if (o->items[i].verdict != GC_EXPECT_MET)
            c.failures++;
    }
    if (o->no_other_errors) {
        c.tests++;
        if (o->count > o->listed_count || o->unlisted_dropped > 0)
            c.failures++;
    }
    return c;
}

static void write_counts(xml_out *x, case_counts c, double seconds)
{
    attribute_format(x, "tests", "%zu", c.tests);
    attribute_format(x, "failures", "%zu", c.failures);
    attribute_format(x, "errors", "%zu", c.errors);
    attribute_format(x, "skipped", "%zu", c.skipped);
    attribute_format(x, "time", "%.3f", seconds);
}

static void write_suite_head(xml_out *x, const gc_junit_state *s,
                             const char *name, case_counts c,
                             double seconds)
{
    char stamp[32];
    struct tm utc;
    if (gmtime_r(&s->started_at, &utc) == NULL
        || strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc) == 0)
        snprintf(stamp, sizeof stamp, "1970-01-01T00:00:00");
    start(x, "testsuite");
    attribute(x, "name", name);
    write_counts(x, c, seconds);
    attribute(x, "timestamp", stamp);
    start(x, "properties");
    const char *names[] = {"config", "network", "gradcheck-version"};
    const char *values[] = {s->outcome.config, s->network, s->version};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        start(x, "property");
        attribute(x, "name", names[i]);
        attribute(x, "value", values[i]);
        end(x);
    }
    start(x, "property");
    attribute(x, "name", "steps");
    attribute_format(x, "value", "%zu", s->steps);
    end(x);
    end(x);
}

static void write_checks_suite(xml_out *x, const gc_junit_state *s,
                               const char *stem)
{
    char name[GC_JUNIT_TEXT_MAX], classname[GC_JUNIT_TEXT_MAX];
    snprintf(name, sizeof name, "%.200s: gradient checks", stem);
    snprintf(classname, sizeof classname, "gradcheck.%.200s.checks", stem);
    write_suite_head(x, s, name, checks_counts(s), s->seconds);
    for (size_t i = 0; i < s->tensor_count; i++)
        write_tensor_case(x, &s->tensors[i], classname);
    if (!s->finished) {
        start(x, "testcase");
        attribute(x, "name", "run");
        attribute(x, "classname", classname);
        attribute(x, "time", "0");
        start(x, "error");
        attribute(x, "message", "the run stopped before its summary; "
                  "this report is incomplete");
        attribute(x, "type", "incomplete-run");
        end(x);
        end(x);
    }
    end(x);
}

static void write_expect_case(xml_out *x, const gc_expect_outcome *o,
                              const gc_expect_item *item,
                              const char *classname)
{
    char name[GC_JUNIT_TEXT_MAX], line[GC_JUNIT_TEXT_MAX];
    if (item->by_step)
        snprintf(name, sizeof name, "finds %s by step %zu", item->id,
                 item->step_limit);
    else
        snprintf(name, sizeof name, "finds %s", item->id);
    start(x, "testcase");
    attribute(x, "name", name);
    attribute(x, "classname", classname);
    attribute(x, "time", "0");
    if (item->verdict != GC_EXPECT_MET) {
        start(x, "failure");
        attribute(x, "message",
                  gc_expect_item_describe(o, item, line, sizeof line));
        attribute(x, "type", gc_expect_verdict_name(item->verdict));
        end(x);
    }
    end(x);
}

static void write_no_other_errors_case(xml_out *x,
                                       const gc_expect_outcome *o,
                                       const char *classname)
{
    size_t extra = o->count - o->listed_count + o->unlisted_dropped;
    start(x, "testcase");
    attribute(x, "name", "no other error finding");
    attribute(x, "classname", classname);
    attribute(x, "time", "0");
    if (extra > 0) {
        char *body = malloc(GC_JUNIT_BODY_MAX);
        char line[GC_JUNIT_TEXT_MAX];
        size_t used = 0;
        if (body == NULL) {
            x->failed = true;
            return;
        }
        body[0] = '\0';
        for (size_t i = o->listed_count; i < o->count; i++)
            body_append(body, &used, "%s\n", gc_expect_item_describe(
                            o, &o->items[i], line, sizeof line));
        if (o->unlisted_dropped > 0)
            body_append(body, &used, "... and %zu more error ids\n",
                        o->unlisted_dropped);
        start(x, "failure");
        attribute_format(x, "message", "%zu error finding id%s not "
                         "expected: %s%s", extra, extra == 1 ? "" : "s",
                         o->items[o->listed_count].id,
                         extra > 1 ? ", ..." : "");
        attribute(x, "type", "extra");
        text(x, body);
        free(body);
        end(x);
    }
    end(x);
}

static void write_expect_suite(xml_out *x, const gc_junit_state *s,
                               const char *stem)
{
    const gc_expect_outcome *o = &s->outcome;
    char name[GC_JUNIT_TEXT_MAX], classname[GC_JUNIT_TEXT_MAX];
    snprintf(name, sizeof name, "%.200s: expected findings", stem);
    snprintf(classname, sizeof classname, "gradcheck.%.200s.expect", stem);
    write_suite_head(x, s, name, expect_counts(o), 0.0);
    for (size_t i = 0; i < o->listed_count; i++)
        write_expect_case(x, o, &o->items[i], classname);
    if (o->no_other_errors)
        write_no_other_errors_case(x, o, classname);
    end(x);
}

/* The whole document into buffer; false when libxml2 failed. */
static bool write_document(const gc_junit_state *s, xmlBufferPtr buffer)
{
    char stem[GC_JUNIT_TEXT_MAX];
    case_counts total = checks_counts(s);
    case_counts expect = expect_counts(&s->outcome);
    xml_out x = {xmlNewTextWriterMemory(buffer, 0), false};

    if (x.w == NULL)
        return false;
    total.tests += expect.tests;
    total.failures += expect.failures;
    total.errors += expect.errors;
    total.skipped += expect.skipped;
    config_stem(s->outcome.config, stem, sizeof stem);

    check_rc(&x, xmlTextWriterSetIndent(x.w, 1));
    check_rc(&x, xmlTextWriterSetIndentString(x.w, (const xmlChar *)"  "));
    check_rc(&x, xmlTextWriterStartDocument(x.w, NULL, "UTF-8", NULL));
    start(&x, "testsuites");
    attribute(&x, "name", "gradcheck");
    write_counts(&x, total, s->seconds);
    write_checks_suite(&x, s, stem);
    write_expect_suite(&x, s, stem);
    end(&x);
    check_rc(&x, xmlTextWriterEndDocument(x.w));
    xmlFreeTextWriter(x.w);
    return !x.failed;
}

/* ---- the file ------------------------------------------------------------------- */

/* Flushes, syncs and closes the .tmp; 0 or the first errno.  EINVAL from
 * fsync (a pipe or special file) is not an error. */
static int file_finish(FILE *file)
{
    int error = 0;
    if (fflush(file) == EOF)
        error = errno;
    else if (fsync(fileno(file)) != 0 && errno != EINVAL)
        error = errno;
    if (fclose(file) == EOF && error == 0)
        error = errno;
    return error;
}

static void state_free(gc_junit_state *s)
{
    free(s->tensors);
    free(s->path);
    free(s->tmp_path);
    free(s);
}

static gc_status junit_close(gc_sink *sink, gc_error *err)
{
    gc_junit_state *s = sink->self;
    gc_status status = GC_OK;
    int error = 0;

    if (!s->started) {
        /* Nothing ran: a previous report at path stays as it was. */
        error = file_finish(s->file);
        if (remove(s->tmp_path) != 0 && error == 0)
            error = errno;
        if (error != 0)
            status = gc_error_set(err, GC_EIO, "%s: cannot remove: %s",
                                  s->tmp_path, strerror(error));
        state_free(s);
        return status;
    }

    gc_expect_finish(&s->outcome);
    xmlBufferPtr buffer = xmlBufferCreate();
    bool written = buffer != NULL && write_document(s, buffer);
    if (written) {
        size_t length = (size_t)xmlBufferLength(buffer);
        if (fwrite(xmlBufferContent(buffer), 1, length, s->file) != length)
            error = errno;
    }
    if (buffer != NULL)
        xmlBufferFree(buffer);
    int finish_error = file_finish(s->file);
    if (error == 0)
        error = finish_error;

    if (!written)
        status = gc_error_set(err, GC_ENOMEM, "%s: out of memory writing "
                              "the JUnit report", s->tmp_path);
    else if (error != 0)
        status = gc_error_set(err, GC_EIO, "%s: write failed: %s",
                              s->tmp_path, strerror(error));
    else if (rename(s->tmp_path, s->path) != 0)
        status = gc_error_set(err, GC_EIO, "%s: cannot rename %s to it: %s",
                              s->path, s->tmp_path, strerror(errno));
    state_free(s);
    return status;
}

/* ---- opening --------------------------------------------------------------------- */

gc_status gc_junit_sink_open(const char *path, const gc_expect_spec *expect,
                             gc_sink **out, gc_error *err)
{
    gc_junit_state *s;
    size_t len;

    if (path == NULL || expect == NULL || out == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_junit_sink_open: NULL "
                            "argument");
    if (path[0] == '\0')
        return gc_error_set(err, GC_EIO, "--junit: expected a file name, "
                            "got ''");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", path);
    len = strlen(path);
    s->path = malloc(len + 1);
    s->tmp_path = malloc(len + 5);
    if (s->path == NULL || s->tmp_path == NULL) {
        state_free(s);
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", path);
    }
    memcpy(s->path, path, len + 1);
    memcpy(s->tmp_path, path, len);
    memcpy(s->tmp_path + len, ".tmp", 5);
    s->file = fopen(s->tmp_path, "wb");
    if (s->file == NULL) {
        int error = errno;
        gc_status status = gc_error_set(err, GC_EIO, "%s: cannot create "
                                        "the JUnit report: %s", s->tmp_path,
                                        strerror(error));
        state_free(s);
        return status;
    }
    gc_expect_begin(&s->outcome, expect);
    s->sink.self = s;
    s->sink.emit = junit_emit;
    s->sink.close = junit_close;
    *out = &s->sink;
    return GC_OK;
}
