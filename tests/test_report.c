/* test_report.c - event names and the two report sinks.
 *
 * The JSON sink is read back with json-c's strict parser.  That parser
 * still accepts the non-JSON words NaN and Infinity, so every line is also
 * scanned for letters outside strings that no JSON literal contains.  The
 * text sink
 * writes into an open_memstream buffer and is checked for the lines a
 * reader relies on.
 */
#define _POSIX_C_SOURCE 200809L   /* open_memstream, mkdtemp, getline */

#include "events.h"
#include "model.h"
#include "report_json.h"
#include "report_text.h"
#include "status.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <json-c/json.h>

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The JSON writer promises that every finite double reads back exactly,
 * so values written and read are compared with no tolerance at all. */
#define GC_ROUND_TRIP_REL 0.0
#define GC_ROUND_TRIP_ABS 0.0

/* The text report wraps prose before this column (report_text.c). */
#define GC_TEXT_COLUMNS 78

/* ---- helpers ------------------------------------------------------------ */

#define assert_contains(text, needle)                                       \
    cr_assert(strstr((text), (needle)) != NULL,                             \
              "expected \"%s\" in:\n%s", (needle), (text))

#define assert_lacks(text, needle)                                          \
    cr_assert(strstr((text), (needle)) == NULL,                             \
              "did not expect \"%s\" in:\n%s", (needle), (text))

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* A fresh directory and the report paths inside it. */
typedef struct {
    char dir[64];
    char path[128];
    char tmp[136];
} gc_test_files;

static void files_make(gc_test_files *f)
{
    strcpy(f->dir, "/tmp/gc_test_report_XXXXXX");
    cr_assert_not_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/run.json", f->dir);
    snprintf(f->tmp, sizeof f->tmp, "%s.tmp", f->path);
}

static void files_remove(const gc_test_files *f)
{
    remove(f->tmp);
    rmdir(f->path);   /* a test may have made a directory there */
    remove(f->path);
    rmdir(f->dir);
}

/* Outside strings, JSON has only the letters of true, false, null and the
 * exponent e/E; NaN or Infinity would show up as any other letter. */
static void assert_json_words(const char *line)
{
    bool in_string = false;

    for (const char *p = line; *p != '\0'; p++) {
        if (in_string && *p == '\\' && p[1] != '\0')
            p++;
        else if (*p == '"')
            in_string = !in_string;
        else if (!in_string && isalpha((unsigned char)*p))
            cr_assert_not_null(strchr("truefalsnE", *p),
                               "not JSON: '%c' in %s", *p, line);
    }
}

/* Parses one line strictly (no NaN, no trailing text, valid UTF-8). */
static json_object *line_parse(const char *line, size_t length)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;

    assert_json_words(line);
    cr_assert_not_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, line, (int)length);
    cr_assert(obj != NULL && json_tokener_get_parse_end(tok) == length,
              "not a strict JSON line: %s", line);
    json_tokener_free(tok);
    return obj;
}

/* Reads every line of path; each must be a complete, strict JSON object
 * ending in a newline.  Returns how many, the objects in objs. */
static size_t lines_read(const char *path, json_object **objs, size_t max)
{
    FILE *file = fopen(path, "r");
    char *line = NULL;
    size_t cap = 0, count = 0;
    ssize_t length;

    cr_assert_not_null(file, "cannot open %s", path);
    while ((length = getline(&line, &cap, file)) > 0) {
        cr_assert_lt(count, max);
        cr_assert_eq(line[length - 1], '\n', "unterminated line: %s", line);
        line[length - 1] = '\0';
        objs[count] = line_parse(line, (size_t)length - 1);
        cr_assert(json_object_is_type(objs[count], json_type_object));
        count++;
    }
    free(line);
    fclose(file);
    return count;
}

static void lines_free(json_object **objs, size_t count)
{
    for (size_t i = 0; i < count; i++)
        json_object_put(objs[i]);
}

static json_object *field(json_object *obj, const char *key)
{
    json_object *value = NULL;
    cr_assert(json_object_object_get_ex(obj, key, &value),
              "missing field \"%s\" in %s", key,
              json_object_to_json_string(obj));
    return value;
}

static void assert_type(json_object *obj, const char *key, json_type type)
{
    json_object *value = field(obj, key);
    cr_assert(json_object_is_type(value, type), "\"%s\" is %s, expected %s",
              key, json_type_to_name(json_object_get_type(value)),
              json_type_to_name(type));
}

static void assert_string(json_object *obj, const char *key,
                          const char *expected)
{
    assert_type(obj, key, json_type_string);
    cr_assert_str_eq(json_object_get_string(field(obj, key)), expected);
}

static void assert_int(json_object *obj, const char *key, int64_t expected)
{
    assert_type(obj, key, json_type_int);
    cr_assert_eq(json_object_get_int64(field(obj, key)), expected,
                 "\"%s\"", key);
}

static void assert_double(json_object *obj, const char *key,
                          double expected)
{
    assert_type(obj, key, json_type_double);
    gc_assert_close(json_object_get_double(field(obj, key)), expected,
                    GC_ROUND_TRIP_REL, GC_ROUND_TRIP_ABS);
}

static void assert_bool(json_object *obj, const char *key, bool expected)
{
    assert_type(obj, key, json_type_boolean);
    cr_assert_eq(json_object_get_boolean(field(obj, key)) != 0, expected);
}

/* ---- sample events ------------------------------------------------------ */

static gc_event run_event(void)
{
    gc_event e = { .kind = GC_EVENT_RUN };
    gc_run_event *r = &e.u.run;

    strcpy(r->config, "/work/fixtures/model.cfg");
    strcpy(r->version, "0.1.0");
    strcpy(r->network, "784-100(sigmoid)-10(softmax)");
    strcpy(r->loss, "cross-entropy");
    r->seed = 18446744073709551615ULL;   /* the largest: no sign trouble */
    r->parameters = 79510;
    r->train_samples = 60000;
    r->test_samples = 10000;
    r->planned_steps = 1000;
    r->batch_size = 32;
    r->learning_rate = 0.1;
    strcpy(r->blas, "openblas");
    return e;
}

static gc_event train_event(size_t step, double loss)
{
    gc_event e = { .kind = GC_EVENT_TRAIN };

    e.u.train = (gc_train_event){ .step = step, .window = 10, .loss = loss,
                                  .mean_logit = 0.25, .max_logit = 7.5,
                                  .min_logit = -6.0 };
    return e;
}

static gc_event check_event(gc_check_kind kind, size_t step, size_t layer,
                            const char *tensor, gc_verdict verdict,
                            double rel_error)
{
    gc_event e = { .kind = GC_EVENT_CHECK };
    gc_check_event *c = &e.u.check;

    c->step = step;
    c->layer = layer;
    snprintf(c->tensor, sizeof c->tensor, "%s", tensor);
    c->kind = kind;
    strcpy(c->method, kind == GC_CHECK_ELEMENT ? "parameter" : "direction");
    c->verdict = verdict;
    c->rel_error = rel_error;
    c->analytic_norm = 2.5;
    c->numeric_norm = 1.25;
    c->noise = 3e-10;
    c->step_size = 1e-5;
    c->elements = 1000;
    c->worst_row = 3;
    c->worst_col = 7;
    c->worst_analytic = 0.0123;
    c->worst_numeric = -0.00568;
    c->loss_evaluations = 2000;
    return e;
}

static gc_event failing_element_check(void)
{
    gc_event e = check_event(GC_CHECK_ELEMENT, 5, 2, "layer2.W",
                             GC_VERDICT_FAIL, 0.41);
    strcpy(e.u.check.reason, "relative error above the tolerance");
    e.u.check.kinks_excluded = 2;
    return e;
}

static const double gc_sample_edges[4] = { -1.0, 0.0, 1.0, 2.0 };
static const double gc_sample_counts[3] = { 4.0, 10.0, 6.0 };

static gc_event histogram_event(gc_quantity quantity, size_t layer)
{
    gc_event e = { .kind = GC_EVENT_HISTOGRAM };
    gc_histogram_event *h = &e.u.histogram;

    h->step = 5;
    h->layer = layer;
    h->quantity = quantity;
    h->count = 20;
    h->mean = 0.375;
    h->std = 0.75;
    h->min = -1.0;
    h->max = 2.0;
    h->mean_trend = NAN;   /* the first full check */
    h->bins = 3;
    h->edges = gc_sample_edges;
    h->counts = gc_sample_counts;
    return e;
}

static gc_event trap_event(bool fatal)
{
    gc_event e = { .kind = GC_EVENT_TRAP };
    gc_trap_event *t = &e.u.trap;

    t->step = 7;
    t->layer = 2;
    t->op = fatal ? GC_OP_SOFTMAX_NORMALISE : GC_OP_SOFTMAX_EXP;
    t->kind = fatal ? GC_TRAP_ZERO_SUM : GC_TRAP_EXP_RANGE;
    t->fatal = fatal;
    strcpy(t->detail, "row sum of exp(z - shift) is 0");
    t->input_max = 0.0;
    t->input_mean = 0.0;
    t->input_min = 0.0;
    t->sample = 4;
    return e;
}

static gc_event finding_event(void)
{
    gc_event e = { .kind = GC_EVENT_FINDING };
    gc_finding_event *f = &e.u.finding;

    strcpy(f->id, "softmax-jacobian-mismatch");
    f->severity = GC_SEVERITY_ERROR;
    f->step = 0;
    f->layer = 2;
    strcpy(f->tensor, "layer2.W");
    strcpy(f->message, "The output layer's gradient disagrees with finite "
           "differences by a factor that matches the diagonal of the "
           "softmax Jacobian alone.");
    strcpy(f->fix, "Compute the output delta as p - y for softmax with "
           "cross-entropy, or multiply by the full Jacobian "
           "diag(p) - p p^T; never by p (1 - p) alone.");
    f->evidence_count = 2;
    f->evidence[0] = (gc_evidence){ "rel_error", 0.41 };
    f->evidence[1] = (gc_evidence){ "ratio", NAN };
    return e;
}

static gc_event summary_event(double test_accuracy)
{
    gc_event e = { .kind = GC_EVENT_SUMMARY };

    e.u.summary = (gc_summary_event){
        .steps = 100, .trapped = true, .interrupted = false,
        .checks_pass = 12, .checks_fail = 1, .checks_inconclusive = 2,
        .findings_error = 1, .findings_warning = 0, .findings_info = 3,
        .final_loss = 0.5, .test_accuracy = test_accuracy,
        .seconds = 1.5, .exit_status = 1 };
    return e;
}

/* ---- names -------------------------------------------------------------- */

Test(names, are_the_stable_spellings)
{
    cr_assert_str_eq(gc_event_name(GC_EVENT_RUN), "run");
    cr_assert_str_eq(gc_event_name(GC_EVENT_HISTOGRAM), "histogram");
    cr_assert_str_eq(gc_event_name(GC_EVENT_SUMMARY), "summary");
    cr_assert_str_eq(gc_verdict_name(GC_VERDICT_INCONCLUSIVE),
                     "inconclusive");
    cr_assert_str_eq(gc_quantity_name(GC_QTY_PRE_ACTIVATIONS),
                     "pre-activations");
    cr_assert_str_eq(gc_quantity_name(GC_QTY_BIAS_GRADIENTS),
                     "bias-gradients");
    cr_assert_str_eq(gc_trap_kind_name(GC_TRAP_DIVIDE_BY_ZERO),
                     "divide-by-zero");
    cr_assert_str_eq(gc_trap_kind_name(GC_TRAP_LOG_EDGE), "log-edge");
    cr_assert_str_eq(gc_severity_name(GC_SEVERITY_WARNING), "warning");
    cr_assert_str_eq(gc_op_name(GC_OP_SOFTMAX_NORMALISE),
                     "softmax-normalise");
    cr_assert_str_eq(gc_op_name(GC_OP_WEIGHT_UPDATE), "weight-update");
}

Test(names, are_distinct_within_each_enum)
{
    for (int i = 0; i < GC_OP_COUNT; i++)
        for (int j = i + 1; j < GC_OP_COUNT; j++)
            cr_assert_str_neq(gc_op_name((gc_op)i), gc_op_name((gc_op)j));
    for (int i = 0; i < GC_QTY_COUNT; i++)
        for (int j = i + 1; j < GC_QTY_COUNT; j++)
            cr_assert_str_neq(gc_quantity_name((gc_quantity)i),
                              gc_quantity_name((gc_quantity)j));
}

Test(names, outside_the_enum_are_unknown)
{
    cr_assert_str_eq(gc_event_name((gc_event_kind)99), "unknown");
    cr_assert_str_eq(gc_verdict_name((gc_verdict)99), "unknown");
    cr_assert_str_eq(gc_quantity_name(GC_QTY_COUNT), "unknown");
    cr_assert_str_eq(gc_trap_kind_name((gc_trap_kind)99), "unknown");
    cr_assert_str_eq(gc_severity_name((gc_severity)99), "unknown");
    cr_assert_str_eq(gc_op_name(GC_OP_COUNT), "unknown");
}

/* ---- JSON sink ---------------------------------------------------------- */

/* Opens a sink on f->path, emits events, closes; all must succeed. */
static void json_write(const gc_test_files *f, const gc_event *events,
                       size_t count)
{
    gc_sink *sink = NULL;
    gc_error err = { 0 };

    cr_assert_eq(gc_json_sink_open(f->path, &sink, &err), GC_OK, "%s",
                 err.message);
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(sink->emit(sink, &events[i], &err), GC_OK, "%s",
                     err.message);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
}

Test(json, writes_one_strict_line_per_event_with_event_first)
{
    gc_test_files f;
    gc_event events[] = {
        run_event(), train_event(10, 0.5),
        check_event(GC_CHECK_DIRECTION, 0, 1, "layer1.W", GC_VERDICT_PASS,
                    1e-9),
        histogram_event(GC_QTY_WEIGHTS, 1), trap_event(true),
        finding_event(), summary_event(0.875) };
    size_t count = sizeof events / sizeof events[0];
    json_object *objs[16];
    char prefix[64];
    FILE *file;
    char line[4096];

    files_make(&f);
    json_write(&f, events, count);
    cr_assert_eq(lines_read(f.path, objs, 16), count);
    file = fopen(f.path, "r");
    cr_assert_not_null(file);
    for (size_t i = 0; i < count; i++) {
        const char *name = gc_event_name(events[i].kind);
        assert_string(objs[i], "event", name);
        /* "event" must come first in the text, not just be present. */
        cr_assert_not_null(fgets(line, sizeof line, file));
        snprintf(prefix, sizeof prefix, "{\"event\":\"%s\",", name);
        cr_assert_eq(strncmp(line, prefix, strlen(prefix)), 0, "%s", line);
    }
    fclose(file);
    lines_free(objs, count);
    files_remove(&f);
}

Test(json, element_check_has_every_field_with_its_type)
{
    gc_test_files f;
    gc_event e = failing_element_check();
    json_object *obj, *worst;

    files_make(&f);
    json_write(&f, &e, 1);
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_int(obj, "step", 5);
    assert_int(obj, "layer", 2);
    assert_string(obj, "tensor", "layer2.W");
    assert_string(obj, "kind", "element");
    assert_string(obj, "method", "parameter");
    assert_string(obj, "verdict", "fail");
    assert_string(obj, "reason", "relative error above the tolerance");
    assert_double(obj, "rel_error", 0.41);
    assert_double(obj, "analytic_norm", 2.5);
    assert_double(obj, "numeric_norm", 1.25);
    assert_double(obj, "noise", 3e-10);
    assert_double(obj, "step_size", 1e-5);
    assert_int(obj, "elements", 1000);
    assert_int(obj, "kinks_excluded", 2);
    assert_bool(obj, "analytic_all_zero", false);
    assert_int(obj, "loss_evaluations", 2000);
    assert_type(obj, "worst", json_type_object);
    worst = field(obj, "worst");
    assert_int(worst, "row", 3);
    assert_int(worst, "col", 7);
    assert_double(worst, "analytic", 0.0123);
    assert_double(worst, "numeric", -0.00568);
    json_object_put(obj);
    files_remove(&f);
}

Test(json, direction_check_has_no_worst_element)
{
    gc_test_files f;
    gc_event e = check_event(GC_CHECK_DIRECTION, 0, 1, "layer1.b",
                             GC_VERDICT_INCONCLUSIVE, 0.5);
    json_object *obj, *worst;

    files_make(&f);
    json_write(&f, &e, 1);
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_string(obj, "kind", "direction");
    assert_string(obj, "verdict", "inconclusive");
    cr_assert_not(json_object_object_get_ex(obj, "worst", &worst));
    json_object_put(obj);
    files_remove(&f);
}

Test(json, nonfinite_numbers_are_null)
{
    gc_test_files f;
    gc_event events[3] = {
        check_event(GC_CHECK_ELEMENT, 0, 1, "layer1.W", GC_VERDICT_FAIL,
                    NAN),
        histogram_event(GC_QTY_ACTIVATIONS, 1), summary_event(NAN) };
    double edges[4] = { -INFINITY, 0.0, 1.0, INFINITY };
    json_object *objs[3], *array;

    events[0].u.check.noise = INFINITY;
    events[0].u.check.worst_numeric = -INFINITY;
    events[1].u.histogram.edges = edges;
    files_make(&f);
    json_write(&f, events, 3);
    cr_assert_eq(lines_read(f.path, objs, 3), 3);
    assert_type(objs[0], "rel_error", json_type_null);
    assert_type(objs[0], "noise", json_type_null);
    assert_type(field(objs[0], "worst"), "numeric", json_type_null);
    assert_type(objs[1], "mean_trend", json_type_null);
    array = field(objs[1], "edges");
    cr_assert(json_object_is_type(json_object_array_get_idx(array, 0),
                                  json_type_null));
    assert_double(objs[1], "mean", 0.375);
    assert_type(objs[2], "test_accuracy", json_type_null);
    lines_free(objs, 3);
    files_remove(&f);
}

Test(json, histogram_writes_edges_and_counts)
{
    gc_test_files f;
    gc_event e = histogram_event(GC_QTY_PRE_ACTIVATIONS, 2);
    json_object *obj, *edges, *counts;

    files_make(&f);
    json_write(&f, &e, 1);
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_string(obj, "quantity", "pre-activations");
    assert_int(obj, "count", 20);
    assert_int(obj, "nonfinite", 0);
    assert_int(obj, "bins", 3);
    assert_double(obj, "std", 0.75);
    edges = field(obj, "edges");
    counts = field(obj, "counts");
    cr_assert_eq(json_object_array_length(edges), 4);
    cr_assert_eq(json_object_array_length(counts), 3);
    for (size_t i = 0; i < 4; i++)
        gc_assert_close(json_object_get_double(
                            json_object_array_get_idx(edges, i)),
                        gc_sample_edges[i], GC_ROUND_TRIP_REL,
                        GC_ROUND_TRIP_ABS);
    /* Integral counts stay floating-point numbers ("10.0"). */
    cr_assert(json_object_is_type(json_object_array_get_idx(counts, 1),
                                  json_type_double));
    json_object_put(obj);
    files_remove(&f);
}

Test(json, histogram_without_bins_has_empty_arrays)
{
    gc_test_files f;
    gc_event e = histogram_event(GC_QTY_BIASES, 1);
    json_object *obj;

    e.u.histogram.bins = 0;
    e.u.histogram.edges = NULL;
    e.u.histogram.counts = NULL;
    files_make(&f);
    json_write(&f, &e, 1);
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_type(obj, "edges", json_type_array);
    cr_assert_eq(json_object_array_length(field(obj, "edges")), 0);
    cr_assert_eq(json_object_array_length(field(obj, "counts")), 0);
    json_object_put(obj);
    files_remove(&f);
}

Test(json, finding_evidence_is_an_object)
{
    gc_test_files f;
    gc_event e = finding_event();
    json_object *obj, *evidence;

    files_make(&f);
    json_write(&f, &e, 1);
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_string(obj, "id", "softmax-jacobian-mismatch");
    assert_string(obj, "severity", "error");
    assert_int(obj, "step", 0);
    assert_int(obj, "layer", 2);
    assert_string(obj, "tensor", "layer2.W");
    assert_string(obj, "fix", e.u.finding.fix);
    assert_string(obj, "message", e.u.finding.message);
    assert_type(obj, "evidence", json_type_object);
    evidence = field(obj, "evidence");
    cr_assert_eq(json_object_object_length(evidence), 2);
    assert_double(evidence, "rel_error", 0.41);
    assert_type(evidence, "ratio", json_type_null);
    json_object_put(obj);
    files_remove(&f);
}

Test(json, run_train_trap_and_summary_fields)
{
    gc_test_files f;
    gc_event events[4] = { run_event(), train_event(10, 0.5),
                           trap_event(false), summary_event(0.875) };
    json_object *o[4];

    files_make(&f);
    json_write(&f, events, 4);
    cr_assert_eq(lines_read(f.path, o, 4), 4);
    assert_string(o[0], "config", "/work/fixtures/model.cfg");
    assert_string(o[0], "network", "784-100(sigmoid)-10(softmax)");
    assert_type(o[0], "seed", json_type_int);
    cr_assert_eq(json_object_get_uint64(field(o[0], "seed")),
                 18446744073709551615ULL);
    assert_int(o[0], "parameters", 79510);
    assert_int(o[0], "batch_size", 32);
    assert_double(o[0], "learning_rate", 0.1);
    assert_string(o[0], "blas", "openblas");
    assert_int(o[1], "window", 10);
    assert_double(o[1], "min_logit", -6.0);
    assert_string(o[2], "op", "softmax-exp");
    assert_string(o[2], "kind", "exp-range");
    assert_bool(o[2], "fatal", false);
    assert_int(o[2], "sample", 4);
    assert_double(o[2], "input_mean", 0.0);
    assert_bool(o[3], "trapped", true);
    assert_int(o[3], "checks_inconclusive", 2);
    assert_int(o[3], "findings_info", 3);
    assert_double(o[3], "test_accuracy", 0.875);
    assert_int(o[3], "exit_status", 1);
    lines_free(o, 4);
    files_remove(&f);
}

Test(json, numbers_are_short_and_read_back_exactly)
{
    gc_test_files f;
    gc_event e = train_event(1, 0.1);
    json_object *obj;
    char text[512];
    FILE *file;

    e.u.train.mean_logit = 1.0 / 3.0;
    e.u.train.max_logit = 12.0;
    e.u.train.min_logit = -0.0;
    files_make(&f);
    json_write(&f, &e, 1);
    file = fopen(f.path, "r");
    cr_assert_not_null(fgets(text, sizeof text, file));
    fclose(file);
    assert_contains(text, "\"loss\":0.1,");
    assert_contains(text, "\"max_logit\":12.0,");
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    assert_double(obj, "mean_logit", 1.0 / 3.0);
    cr_assert(signbit(json_object_get_double(field(obj, "min_logit"))));
    json_object_put(obj);
    files_remove(&f);
}

Test(json, tmp_is_readable_before_close_and_renamed_by_it)
{
    gc_test_files f;
    gc_sink *sink = NULL;
    gc_error err = { 0 };
    gc_event events[2] = { run_event(), trap_event(true) };
    json_object *objs[2];

    files_make(&f);
    cr_assert_eq(gc_json_sink_open(f.path, &sink, &err), GC_OK);
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq(sink->emit(sink, &events[i], &err), GC_OK);
    /* As if the run had been killed here: the .tmp holds whole lines. */
    cr_assert_not(file_exists(f.path));
    cr_assert_eq(lines_read(f.tmp, objs, 2), 2);
    lines_free(objs, 2);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    cr_assert(file_exists(f.path));
    cr_assert_not(file_exists(f.tmp));
    files_remove(&f);
}

Test(json, open_in_a_missing_directory_is_eio_naming_the_path)
{
    const char *path = "/nonexistent-gc-dir/sub/run.json";
    gc_sink *sink = (gc_sink *)&path;   /* must be reset to NULL */
    gc_error err = { 0 };

    cr_assert_eq(gc_json_sink_open(path, &sink, &err), GC_EIO);
    cr_assert_eq(err.code, GC_EIO);
    cr_assert_null(sink);
    assert_contains(err.message, path);
    assert_contains(err.message, "No such file or directory");
}

Test(json, close_reports_a_failed_rename)
{
    gc_test_files f;
    gc_sink *sink = NULL;
    gc_error err = { 0 };
    gc_event e = run_event();

    files_make(&f);
    /* A directory where the report should go: rename() must refuse. */
    cr_assert_eq(mkdir(f.path, 0700), 0);
    cr_assert_eq(gc_json_sink_open(f.path, &sink, &err), GC_OK);
    cr_assert_eq(sink->emit(sink, &e, &err), GC_OK);
    cr_assert_eq(sink->close(sink, &err), GC_EIO);
    assert_contains(err.message, f.path);
    files_remove(&f);
}

Test(json, rejects_events_that_break_the_contract)
{
    gc_test_files f;
    gc_sink *sink = NULL;
    gc_error err = { 0 };
    gc_event h = histogram_event(GC_QTY_WEIGHTS, 1);
    gc_event g = finding_event();
    gc_event ok = run_event();
    json_object *obj;

    h.u.histogram.edges = NULL;
    g.u.finding.evidence_count = GC_EVIDENCE_MAX + 1;
    files_make(&f);
    cr_assert_eq(gc_json_sink_open(f.path, &sink, &err), GC_OK);
    cr_assert_eq(sink->emit(sink, &h, &err), GC_EINVAL);
    cr_assert_eq(sink->emit(sink, &g, &err), GC_EINVAL);
    cr_assert_eq(sink->emit(sink, NULL, &err), GC_EINVAL);
    cr_assert_eq(sink->emit(sink, &ok, &err), GC_OK);
    cr_assert_eq(sink->close(sink, &err), GC_OK);
    /* Rejected events leave no partial line behind. */
    cr_assert_eq(lines_read(f.path, &obj, 1), 1);
    json_object_put(obj);
    files_remove(&f);
}

Test(json, open_rejects_missing_arguments)
{
    gc_sink *sink = NULL;
    gc_error err = { 0 };

    cr_assert_eq(gc_json_sink_open(NULL, &sink, &err), GC_EINVAL);
    cr_assert_eq(gc_json_sink_open("", &sink, &err), GC_EINVAL);
    cr_assert_eq(gc_json_sink_open("/tmp/x.json", NULL, &err), GC_EINVAL);
}

/* ---- text sink ---------------------------------------------------------- */

/* Runs events through a text sink into memory; returns the text (free). */
static char *text_render(const gc_event *events, size_t count,
                         const gc_text_options *opts)
{
    char *text = NULL;
    size_t size = 0;
    FILE *stream = open_memstream(&text, &size);
    gc_sink *sink = NULL;
    gc_error err = { 0 };

    cr_assert_not_null(stream);
    cr_assert_eq(gc_text_sink_open(stream, opts, &sink, &err), GC_OK);
    for (size_t i = 0; i < count; i++)
        cr_assert_eq(sink->emit(sink, &events[i], &err), GC_OK, "%s",
                     err.message);
    cr_assert_eq(sink->close(sink, &err), GC_OK, "%s", err.message);
    /* The sink left the stream open: it still takes writes. */
    cr_assert_geq(fputs("<end>", stream), 0);
    cr_assert_eq(fclose(stream), 0);
    return text;
}

/* Every line of text is at most `columns` wide. */
static void assert_lines_fit(const char *text, size_t columns)
{
    for (const char *line = text; *line != '\0';) {
        size_t length = strcspn(line, "\n");
        cr_assert_leq(length, columns, "line too long: %.*s", (int)length,
                      line);
        line += length + (line[length] == '\n');
    }
}

Test(text, header_shows_the_run)
{
    gc_event e = run_event();
    char *text = text_render(&e, 1, NULL);

    assert_contains(text, "gradcheck 0.1.0: /work/fixtures/model.cfg");
    assert_contains(text, "784-100(sigmoid)-10(softmax)");
    assert_contains(text, "cross-entropy, 79510 parameters");
    assert_contains(text, "60000 training, 10000 test samples");
    assert_contains(text, "seed        18446744073709551615, BLAS openblas");
    free(text);
}

Test(text, full_check_prints_one_table_with_the_failing_row)
{
    gc_event events[] = {
        train_event(5, 0.75),
        check_event(GC_CHECK_ELEMENT, 5, 1, "layer1.W", GC_VERDICT_PASS,
                    2e-9),
        failing_element_check(),
        histogram_event(GC_QTY_WEIGHTS, 1) };
    char *text = text_render(events, 4, NULL);

    assert_contains(text, "full check at step 5 (training loss 0.75 at "
                    "step 5)");
    assert_contains(text, "  layer  tensor    method     rel.error  "
                    "verdict\n");
    assert_contains(text, "      2  layer2.W  parameter   4.10e-01  fail\n");
    assert_contains(text, "      1  layer1.W  parameter   2.00e-09  pass\n");
    assert_contains(text, "worst [3,7] analytic=1.230e-02 "
                    "numeric=-5.680e-03, 2 kinks excluded");
    assert_contains(text, "relative error above the tolerance");
    /* The table comes before the histogram that closed it. */
    cr_assert_lt(strstr(text, "full check"), strstr(text, "values at"));
    cr_assert_eq(strstr(strstr(text, "full check") + 1, "full check"), NULL);
    free(text);
}

Test(text, pending_table_prints_at_close_and_splits_by_step)
{
    gc_event events[2] = {
        check_event(GC_CHECK_ELEMENT, 0, 1, "layer1.W", GC_VERDICT_PASS,
                    1e-8),
        check_event(GC_CHECK_ELEMENT, 10, 1, "layer1.W", GC_VERDICT_PASS,
                    1e-8) };
    char *text = text_render(events, 2, NULL);

    assert_contains(text, "full check at step 0\n");
    assert_contains(text, "full check at step 10\n");
    free(text);
}

Test(text, direction_checks_are_counted_not_listed)
{
    gc_event events[] = {
        check_event(GC_CHECK_DIRECTION, 0, 1, "layer1.W", GC_VERDICT_PASS,
                    1e-9),
        check_event(GC_CHECK_DIRECTION, 0, 2, "layer2.W", GC_VERDICT_FAIL,
                    0.41),
        check_event(GC_CHECK_DIRECTION, 1, 2, "layer2.W", GC_VERDICT_FAIL,
                    0.39),
        check_event(GC_CHECK_DIRECTION, 2, 1, "layer1.b", GC_VERDICT_FAIL,
                    0.2),
        check_event(GC_CHECK_DIRECTION, 2, 1, "layer1.W",
                    GC_VERDICT_INCONCLUSIVE, 0.9) };
    char *text = text_render(events, 5, NULL);

    assert_contains(text, "direction checks recorded: 1 pass, 3 fail, "
                    "1 inconclusive (first fail: layer2.W at step 0, "
                    "rel 4.1e-01)\n");
    assert_contains(text, "also failed: layer1.b at step 2 (rel 2.0e-01)");
    assert_lacks(text, "full check");
    assert_lacks(text, "rel 3.9e-01");
    free(text);
}

Test(text, histograms_show_weights_and_activations_unless_quiet)
{
    gc_event events[3] = { histogram_event(GC_QTY_WEIGHTS, 1),
                           histogram_event(GC_QTY_BIASES, 1),
                           histogram_event(GC_QTY_ACTIVATIONS, 1) };
    gc_text_options quiet = { .quiet = true };
    char *text;

    events[2].u.histogram.nonfinite = 3;
    text = text_render(events, 3, NULL);
    assert_contains(text, "values at step 5\n");
    assert_contains(text, "  layer 1  weights     mean  3.75e-01 "
                    "std 7.50e-01 min -1.00e+00 max  2.00e+00\n");
    assert_contains(text, "layer 1  activations");
    assert_contains(text, "3 non-finite values left out");
    /* statistics lines for weights and activations only ... */
    assert_lacks(text, "biases     mean");
    /* ... and a sparkline of every quantity, counts 4, 10, 6 in ASCII */
    assert_contains(text, "histograms at step 5");
    assert_contains(text, "  layer 1  weights          |=@+| -1.00e+00 .. "
                    " 2.00e+00\n");
    assert_contains(text, "  layer 1  biases           |=@+|");
    assert_contains(text, "|=@+| -1.00e+00 ..  2.00e+00 +3 non-finite\n");
    assert_lines_fit(text, GC_TEXT_COLUMNS);
    free(text);

    text = text_render(events, 3, &quiet);
    assert_lacks(text, "weights");
    assert_lacks(text, "histograms at step");
    free(text);
}

/* Unicode blocks: the tallest bin is a full block, 4/10 of it rounds up
 * to four eighths, 6/10 to five. */
Test(text, sparklines_in_unicode_blocks)
{
    gc_event events[1] = { histogram_event(GC_QTY_WEIGHTS, 1) };
    gc_text_options unicode = { .unicode = true };
    char *text = text_render(events, 1, &unicode);

    assert_contains(text, "|\u2584\u2588\u2585|");
    free(text);
}

Test(text, fatal_trap_prints_a_block)
{
    gc_event e = trap_event(true);
    char *text = text_render(&e, 1, NULL);

    assert_contains(text, "TRAP at step 7, layer 2, op softmax-normalise: "
                    "zero-sum\n");
    assert_contains(text, "  row sum of exp(z - shift) is 0\n");
    assert_contains(text, "  inputs: max 0.000e+00, mean 0.000e+00, "
                    "min 0.000e+00; first sample 4\n");
    free(text);
}

Test(text, warning_trap_is_one_entry_without_a_block)
{
    gc_event e = trap_event(false);
    char *text = text_render(&e, 1, NULL);

    assert_contains(text, "warning at step 7, layer 2, op softmax-exp: "
                    "exp-range (row sum of exp(z -\n  shift) is 0)\n<end>");
    assert_lacks(text, "TRAP");
    assert_lacks(text, "inputs:");
    assert_lines_fit(text, GC_TEXT_COLUMNS);
    free(text);
}

Test(text, finding_shows_evidence_and_wrapped_fix)
{
    gc_event e = finding_event();
    char *text = text_render(&e, 1, NULL);

    assert_contains(text, "error: softmax-jacobian-mismatch (step 0, "
                    "layer 2, layer2.W)\n");
    assert_contains(text, "  evidence: rel_error=0.41, ratio=nan\n");
    assert_contains(text, "  fix: Compute the output delta as p - y");
    /* The fix is longer than a line, so it wraps under its own text. */
    assert_contains(text, "never by p (1 - p)\n       alone.\n");
    assert_lines_fit(text, GC_TEXT_COLUMNS);
    free(text);
}

Test(text, summary_shows_outcome_and_accuracy)
{
    gc_event events[2] = { summary_event(0.875), summary_event(NAN) };
    char *text = text_render(events, 1, NULL);

    assert_contains(text, "summary\n");
    assert_contains(text, "  steps          100, stopped by a trap\n");
    assert_contains(text, "  checks         12 pass, 1 fail, "
                    "2 inconclusive\n");
    assert_contains(text, "  findings       1 error, 0 warning, 3 info\n");
    assert_contains(text, "  final loss     0.5\n");
    assert_contains(text, "  test accuracy  87.50%\n");
    assert_contains(text, "  time           1.5 s\n");
    assert_contains(text, "  exit status    1\n");
    free(text);

    text = text_render(&events[1], 1, NULL);
    assert_lacks(text, "test accuracy");
    free(text);
}

Test(text, direction_line_comes_before_the_summary)
{
    gc_event events[2] = {
        check_event(GC_CHECK_DIRECTION, 0, 1, "layer1.W", GC_VERDICT_PASS,
                    1e-9),
        summary_event(NAN) };
    char *text = text_render(events, 2, NULL);
    const char *line = strstr(text, "direction checks recorded: 1 pass, 0 fail\n");

    cr_assert_not_null(line, "%s", text);
    cr_assert_lt(line, strstr(text, "summary"));
    cr_assert_null(strstr(line + 1, "direction checks"), "printed twice");
    free(text);
}

Test(text, colour_only_when_asked)
{
    gc_event e = failing_element_check();
    gc_text_options colour = { .color = true };
    char *text = text_render(&e, 1, &colour);

    assert_contains(text, "\033[31mfail\033[0m");
    free(text);
    text = text_render(&e, 1, NULL);
    assert_lacks(text, "\033[");
    free(text);
}

Test(text, write_error_is_eio)
{
    FILE *full = fopen("/dev/full", "w");
    gc_sink *sink = NULL;
    gc_error err = { 0 };
    gc_event e = run_event();

    if (full == NULL)
        cr_skip_test("/dev/full is not available");
    cr_assert_eq(gc_text_sink_open(full, NULL, &sink, &err), GC_OK);
    cr_assert_eq(sink->emit(sink, &e, &err), GC_EIO);
    assert_contains(err.message, "text report");
    cr_assert_eq(sink->close(sink, &err), GC_EIO);
    fclose(full);
}

Test(text, open_rejects_missing_arguments)
{
    gc_sink *sink = NULL;
    gc_error err = { 0 };

    cr_assert_eq(gc_text_sink_open(NULL, NULL, &sink, &err), GC_EINVAL);
    cr_assert_eq(gc_text_sink_open(stdout, NULL, NULL, &err), GC_EINVAL);
}
