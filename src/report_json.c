/* report_json.c - the JSON Lines sink (schema: docs/json.md).
 *
 * Every event becomes one json-c object, serialized on one line.  The
 * builders below only copy fields; they make no decisions.  Allocation
 * failures inside json-c are collected in a flag and reported once per
 * event as GC_ENOMEM, so that each builder stays a flat list of fields.
 */
#define _POSIX_C_SOURCE 200809L   /* fileno, fsync */

#include "report_json.h"

#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* No slash escaping: paths in the run event stay readable. */
#define GC_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Room for "%.17g" of any double (at most 24 characters) plus ".0". */
#define GC_JSON_NUMBER_MAX 32

/* One allocation: the sink, its file and both file names. */
typedef struct {
    gc_sink sink;
    FILE *file;            /* the open .tmp */
    bool failed;           /* a write failed: the .tmp is incomplete */
    size_t lines;          /* events written; 0: the run never started */
    const char *path;      /* where close() renames the file to */
    char *tmp_path;        /* path + ".tmp", written while the run goes */
    char names[];          /* storage for both names */
} gc_json_state;

/* An object being filled, and whether any insertion failed. */
typedef struct {
    json_object *obj;
    bool failed;
} gc_json_out;

/* ---- values ------------------------------------------------------------- */

/* Formats d (finite) with the fewest of 15, 16 or 17 significant digits
 * that read back as exactly d; 17 always do.  An integral value gets ".0"
 * so that readers keep seeing a floating-point number.  Assumes the "C"
 * numeric locale, which the library never changes. */
static void number_format(double d, char buf[GC_JSON_NUMBER_MAX])
{
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, GC_JSON_NUMBER_MAX, "%.*g", digits, d);
        if (strtod(buf, NULL) == d)
            break;
    }
    if (strpbrk(buf, ".eE") == NULL)
        strcat(buf, ".0");
}

/* A json-c number for d, or a JSON null (NULL) when d is NaN or infinite;
 * *failed is set when allocation fails. */
static json_object *number_new(double d, bool *failed)
{
    char text[GC_JSON_NUMBER_MAX];
    json_object *value;

    if (!isfinite(d))
        return NULL;
    number_format(d, text);
    value = json_object_new_double_s(d, text);
    if (value == NULL)
        *failed = true;
    return value;
}

/* Adds value (NULL is a JSON null) under key; takes ownership of value. */
static void put_value(gc_json_out *o, const char *key, json_object *value)
{
    if (json_object_object_add(o->obj, key, value) != 0) {
        json_object_put(value);
        o->failed = true;
    }
}

/* Adds a value that must not be NULL (NULL means allocation failed). */
static void put_required(gc_json_out *o, const char *key, json_object *value)
{
    if (value == NULL)
        o->failed = true;
    else
        put_value(o, key, value);
}

/* s is a fixed-size field of `size` bytes; it need not be terminated. */
static void put_text(gc_json_out *o, const char *key, const char *s,
                     size_t size)
{
    put_required(o, key, json_object_new_string_len(s, (int)strnlen(s, size)));
}

#define put_field(o, key, array) put_text((o), (key), (array), sizeof(array))

static void put_string(gc_json_out *o, const char *key, const char *s)
{
    put_required(o, key, json_object_new_string(s));
}

static void put_size(gc_json_out *o, const char *key, size_t v)
{
    put_required(o, key, json_object_new_uint64(v));
}

static void put_int(gc_json_out *o, const char *key, int v)
{
    put_required(o, key, json_object_new_int(v));
}

static void put_bool(gc_json_out *o, const char *key, bool v)
{
    put_required(o, key, json_object_new_boolean(v));
}

static void put_double(gc_json_out *o, const char *key, double v)
{
    put_value(o, key, number_new(v, &o->failed));
}

/* Adds an array of n numbers (v may be NULL when n is 0). */
static void put_numbers(gc_json_out *o, const char *key, const double *v,
                        size_t n)
{
    json_object *array = json_object_new_array_ext((int)n);

    if (array == NULL) {
        o->failed = true;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *value = number_new(v[i], &o->failed);
        if (json_object_array_add(array, value) != 0) {
            json_object_put(value);
            o->failed = true;
        }
    }
    put_value(o, key, array);
}

/* A nested object: child_begin() starts it, the caller fills it and
 * child_end() adds it under key. */
static gc_json_out child_begin(gc_json_out *o)
{
    gc_json_out child = { json_object_new_object(), false };

    if (child.obj == NULL)
        o->failed = true;
    return child;
}

static void child_end(gc_json_out *o, const char *key, gc_json_out *child)
{
    if (child->obj == NULL)
        return;
    o->failed |= child->failed;
    put_value(o, key, child->obj);
}

/* ---- events ------------------------------------------------------------- */

static void build_run(gc_json_out *o, const gc_run_event *e)
{
    put_field(o, "config", e->config);
    put_field(o, "version", e->version);
    put_field(o, "network", e->network);
    put_field(o, "loss", e->loss);
    put_required(o, "seed", json_object_new_uint64(e->seed));
    put_size(o, "parameters", e->parameters);
    put_size(o, "train_samples", e->train_samples);
    put_size(o, "test_samples", e->test_samples);
    put_size(o, "planned_steps", e->planned_steps);
    put_size(o, "batch_size", e->batch_size);
    put_double(o, "learning_rate", e->learning_rate);
    put_field(o, "blas", e->blas);
    put_field(o, "source", e->source);
    put_field(o, "model", e->model);
    put_double(o, "pass_below", e->pass_below);
    put_double(o, "fail_above", e->fail_above);
    put_size(o, "full_every", e->full_every);
}

static void build_train(gc_json_out *o, const gc_train_event *e)
{
    put_size(o, "step", e->step);
    put_size(o, "window", e->window);
    put_double(o, "loss", e->loss);
    put_double(o, "mean_logit", e->mean_logit);
    put_double(o, "max_logit", e->max_logit);
    put_double(o, "min_logit", e->min_logit);
}

static const char *check_kind_name(gc_check_kind kind)
{
    return kind == GC_CHECK_ELEMENT ? "element" : "direction";
}

/* The worst element exists only for element checks. */
static void build_worst(gc_json_out *o, const gc_check_event *e)
{
    gc_json_out worst = child_begin(o);

    if (worst.obj == NULL)
        return;
    put_size(&worst, "row", e->worst_row);
    put_size(&worst, "col", e->worst_col);
    put_double(&worst, "analytic", e->worst_analytic);
    put_double(&worst, "numeric", e->worst_numeric);
    child_end(o, "worst", &worst);
}

static void build_check(gc_json_out *o, const gc_check_event *e)
{
    put_size(o, "step", e->step);
    put_size(o, "layer", e->layer);
    put_field(o, "tensor", e->tensor);
    put_string(o, "kind", check_kind_name(e->kind));
    put_field(o, "method", e->method);
    put_string(o, "verdict", gc_verdict_name(e->verdict));
    put_field(o, "reason", e->reason);
    put_double(o, "rel_error", e->rel_error);
    put_double(o, "analytic_norm", e->analytic_norm);
    put_double(o, "numeric_norm", e->numeric_norm);
    put_double(o, "noise", e->noise);
    put_double(o, "step_size", e->step_size);
    put_size(o, "elements", e->elements);
    put_size(o, "kinks_excluded", e->kinks_excluded);
    put_bool(o, "analytic_all_zero", e->analytic_all_zero);
    if (e->kind == GC_CHECK_ELEMENT)
        build_worst(o, e);
    put_size(o, "loss_evaluations", e->loss_evaluations);
}

static void build_histogram(gc_json_out *o, const gc_histogram_event *e)
{
    put_size(o, "step", e->step);
    put_size(o, "layer", e->layer);
    put_string(o, "quantity", gc_quantity_name(e->quantity));
    put_size(o, "count", e->count);
    put_size(o, "binned", e->binned);
    put_size(o, "nonfinite", e->nonfinite);
    put_double(o, "mean", e->mean);
    put_double(o, "std", e->std);
    put_double(o, "min", e->min);
    put_double(o, "max", e->max);
    put_double(o, "mean_trend", e->mean_trend);
    put_size(o, "bins", e->bins);
    put_numbers(o, "edges", e->edges, e->bins == 0 ? 0 : e->bins + 1);
    put_numbers(o, "counts", e->counts, e->bins);
}

static void build_trap(gc_json_out *o, const gc_trap_event *e)
{
    put_size(o, "step", e->step);
    put_size(o, "layer", e->layer);
    put_string(o, "op", gc_op_name(e->op));
    put_string(o, "kind", gc_trap_kind_name(e->kind));
    put_bool(o, "fatal", e->fatal);
    put_field(o, "detail", e->detail);
    put_double(o, "input_max", e->input_max);
    put_double(o, "input_mean", e->input_mean);
    put_double(o, "input_min", e->input_min);
    put_size(o, "sample", e->sample);
}

static void build_evidence(gc_json_out *o, const gc_finding_event *e)
{
    gc_json_out evidence = child_begin(o);

    if (evidence.obj == NULL)
        return;
    for (size_t i = 0; i < e->evidence_count; i++) {
        char name[sizeof e->evidence[i].name + 1];
        /* The name field need not be terminated; the key must be. */
        snprintf(name, sizeof name, "%.*s", (int)sizeof e->evidence[i].name,
                 e->evidence[i].name);
        put_double(&evidence, name, e->evidence[i].value);
    }
    child_end(o, "evidence", &evidence);
}

static void build_finding(gc_json_out *o, const gc_finding_event *e)
{
    put_field(o, "id", e->id);
    put_string(o, "severity", gc_severity_name(e->severity));
    put_size(o, "step", e->step);
    put_size(o, "layer", e->layer);
    put_field(o, "tensor", e->tensor);
    put_field(o, "message", e->message);
    put_field(o, "fix", e->fix);
    build_evidence(o, e);
}

static void build_summary(gc_json_out *o, const gc_summary_event *e)
{
    put_size(o, "steps", e->steps);
    put_bool(o, "trapped", e->trapped);
    put_bool(o, "interrupted", e->interrupted);
    put_size(o, "checks_pass", e->checks_pass);
    put_size(o, "checks_fail", e->checks_fail);
    put_size(o, "checks_inconclusive", e->checks_inconclusive);
    put_size(o, "findings_error", e->findings_error);
    put_size(o, "findings_warning", e->findings_warning);
    put_size(o, "findings_info", e->findings_info);
    put_double(o, "final_loss", e->final_loss);
    put_double(o, "test_accuracy", e->test_accuracy);
    put_double(o, "seconds", e->seconds);
    put_size(o, "loss_evaluations", e->loss_evaluations);
    put_bool(o, "model_failed", e->model_failed);
    put_int(o, "exit_status", e->exit_status);
}

static void build_fields(gc_json_out *o, const gc_event *event)
{
    switch (event->kind) {
    case GC_EVENT_RUN: build_run(o, &event->u.run); break;
    case GC_EVENT_TRAIN: build_train(o, &event->u.train); break;
    case GC_EVENT_CHECK: build_check(o, &event->u.check); break;
    case GC_EVENT_HISTOGRAM: build_histogram(o, &event->u.histogram); break;
    case GC_EVENT_TRAP: build_trap(o, &event->u.trap); break;
    case GC_EVENT_FINDING: build_finding(o, &event->u.finding); break;
    case GC_EVENT_SUMMARY: build_summary(o, &event->u.summary); break;
    }
}

/* The whole line's object, "event" first; NULL when allocation failed. */
static json_object *event_to_json(const gc_event *event)
{
    gc_json_out o = { json_object_new_object(), false };

    if (o.obj == NULL)
        return NULL;
    put_string(&o, "event", gc_event_name(event->kind));
    build_fields(&o, event);
    if (o.failed) {
        json_object_put(o.obj);
        return NULL;
    }
    return o.obj;
}

/* Rejects events that break the contract of events.h. */
static gc_status event_validate(const gc_event *event, gc_error *err)
{
    const gc_histogram_event *h = &event->u.histogram;

    if ((unsigned)event->kind > GC_EVENT_SUMMARY)
        return gc_error_set(err, GC_EINVAL, "JSON report: unknown event "
                            "kind %d", (int)event->kind);
    if (event->kind == GC_EVENT_HISTOGRAM && h->bins > 0
        && (h->edges == NULL || h->counts == NULL))
        return gc_error_set(err, GC_EINVAL, "JSON report: histogram with "
                            "%zu bins but no edges or counts", h->bins);
    if (event->kind == GC_EVENT_FINDING
        && event->u.finding.evidence_count > GC_EVIDENCE_MAX)
        return gc_error_set(err, GC_EINVAL, "JSON report: finding with %zu "
                            "evidence items, at most %d allowed",
                            event->u.finding.evidence_count, GC_EVIDENCE_MAX);
    return GC_OK;
}

/* ---- the file ----------------------------------------------------------- */

/* Writes one line and flushes it, so that the .tmp of a killed run ends
 * with a complete line. */
static gc_status line_write(gc_json_state *s, json_object *obj,
                            gc_error *err)
{
    size_t length = 0;
    const char *text = json_object_to_json_string_length(obj, GC_JSON_FLAGS,
                                                         &length);

    if (text == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory while "
                            "serializing an event", s->tmp_path);
    if (fwrite(text, 1, length, s->file) != length
        || fputc('\n', s->file) == EOF || fflush(s->file) == EOF) {
        s->failed = true;
        return gc_error_set(err, GC_EIO, "%s: write failed: %s",
                            s->tmp_path, strerror(errno));
    }
    s->lines++;
    return GC_OK;
}

static gc_status json_emit(gc_sink *sink, const gc_event *event,
                           gc_error *err)
{
    gc_json_state *s = sink->self;
    json_object *obj;
    gc_status status;

    if (event == NULL)
        return gc_error_set(err, GC_EINVAL, "JSON report: NULL event");
    if (s->failed)
        return gc_error_set(err, GC_EIO, "%s: not written: an earlier "
                            "write failed", s->tmp_path);
    status = event_validate(event, err);
    if (status != GC_OK)
        return status;
    obj = event_to_json(event);
    if (obj == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory while "
                            "building a %s event", s->tmp_path,
                            gc_event_name(event->kind));
    status = line_write(s, obj, err);
    json_object_put(obj);
    return status;
}

/* Flushes, syncs and closes the .tmp; returns 0 or the first errno.  A
 * file that cannot be synced (EINVAL: a pipe or a special file) is not an
 * error; the sync is there so that a crash just after the rename cannot
 * leave an empty report under the final name. */
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

static gc_status json_close(gc_sink *sink, gc_error *err)
{
    gc_json_state *s = sink->self;
    int error = file_finish(s->file);
    gc_status status = GC_OK;

    if (s->lines == 0 && !s->failed) {
        /* Nothing happened (the data failed to load, say): a previous
         * report at path stays as it was, and the empty .tmp goes. */
        if (remove(s->tmp_path) != 0 && error == 0)
            error = errno;
        if (error != 0)
            status = gc_error_set(err, GC_EIO, "%s: cannot remove: %s",
                                  s->tmp_path, strerror(error));
    } else if (s->failed)
        status = gc_error_set(err, GC_EIO, "%s: incomplete, not renamed to "
                              "%s: an earlier write failed", s->tmp_path,
                              s->path);
    else if (error != 0)
        status = gc_error_set(err, GC_EIO, "%s: write failed: %s",
                              s->tmp_path, strerror(error));
    else if (rename(s->tmp_path, s->path) != 0)
        status = gc_error_set(err, GC_EIO, "%s: cannot rename %s to it: %s",
                              s->path, s->tmp_path, strerror(errno));
    free(s);
    return status;
}

/* ---- opening ------------------------------------------------------------ */

static gc_json_state *state_alloc(const char *path)
{
    static const char suffix[] = ".tmp";
    size_t length = strlen(path);
    gc_json_state *s = malloc(sizeof *s + 2 * length + sizeof suffix + 1);

    if (s == NULL)
        return NULL;
    memcpy(s->names, path, length + 1);
    s->path = s->names;
    s->tmp_path = s->names + length + 1;
    memcpy(s->tmp_path, path, length);
    memcpy(s->tmp_path + length, suffix, sizeof suffix);
    s->file = NULL;
    s->failed = false;
    s->lines = 0;
    s->sink.self = s;
    s->sink.emit = json_emit;
    s->sink.close = json_close;
    return s;
}

gc_status gc_json_sink_open(const char *path, gc_sink **out, gc_error *err)
{
    gc_json_state *s;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || path[0] == '\0' || out == NULL)
        return gc_error_set(err, GC_EINVAL, "JSON report: no file name");
    s = state_alloc(path);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", path);
    s->file = fopen(s->tmp_path, "w");
    if (s->file == NULL) {
        gc_status status = gc_error_set(err, GC_EIO, "%s: cannot create: %s",
                                        s->tmp_path, strerror(errno));
        free(s);
        return status;
    }
    *out = &s->sink;
    return GC_OK;
}
