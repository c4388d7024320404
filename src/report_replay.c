/* report_replay.c - JSON Lines back into events (report_replay.h). */
#define _POSIX_C_SOURCE 200809L   /* getline */

#include "report_replay.h"

#include <json-c/json.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Histogram arrays of the line being read: an event's edges and counts
 * must stay valid during the emit calls, so they live here. */
typedef struct {
    double *edges, *counts;
    size_t cap;                /* bins the arrays hold */
} replay_bins;

/* ---- fields -------------------------------------------------------------- */

static json_object *member(json_object *obj, const char *key)
{
    json_object *value = NULL;

    return json_object_object_get_ex(obj, key, &value) ? value : NULL;
}

/* Copies a string member into a fixed field (truncated, terminated). */
static void get_text(json_object *obj, const char *key, char *out,
                     size_t size)
{
    json_object *v = member(obj, key);

    snprintf(out, size, "%s", json_object_is_type(v, json_type_string)
                              ? json_object_get_string(v) : "");
}

#define get_field(obj, key, array) get_text((obj), (key), (array), \
                                            sizeof(array))

static size_t get_size(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);

    if (!json_object_is_type(v, json_type_int))
        return 0;
    return (size_t)json_object_get_uint64(v);
}

/* A number, or NaN for null, a missing member or anything else. */
static double number_of(json_object *v)
{
    if (json_object_is_type(v, json_type_double)
        || json_object_is_type(v, json_type_int))
        return json_object_get_double(v);
    return NAN;
}

static double get_double(json_object *obj, const char *key)
{
    return number_of(member(obj, key));
}

static bool get_bool(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);

    return json_object_is_type(v, json_type_boolean)
           && json_object_get_boolean(v);
}

/* The index of name in names[0..count) (by gc_*_name), or -1. */
static int name_index(const char *name, const char *(*namer)(int),
                      int count)
{
    for (int i = 0; i < count; i++)
        if (strcmp(namer(i), name) == 0)
            return i;
    return -1;
}

static const char *kind_namer(int i) { return gc_event_name(i); }
static const char *verdict_namer(int i) { return gc_verdict_name(i); }
static const char *quantity_namer(int i) { return gc_quantity_name(i); }
static const char *op_namer(int i) { return gc_op_name(i); }
static const char *trap_namer(int i) { return gc_trap_kind_name(i); }
static const char *severity_namer(int i) { return gc_severity_name(i); }

static int get_enum(json_object *obj, const char *key,
                    const char *(*namer)(int), int count)
{
    json_object *v = member(obj, key);
    const char *name = json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v) : "";
    int i = name_index(name, namer, count);

    return i < 0 ? 0 : i;
}

/* ---- events -------------------------------------------------------------- */

static void read_run(json_object *o, gc_run_event *e)
{
    get_field(o, "config", e->config);
    get_field(o, "version", e->version);
    get_field(o, "network", e->network);
    get_field(o, "loss", e->loss);
    e->seed = (unsigned long long)get_size(o, "seed");
    e->parameters = get_size(o, "parameters");
    e->train_samples = get_size(o, "train_samples");
    e->test_samples = get_size(o, "test_samples");
    e->planned_steps = get_size(o, "planned_steps");
    e->batch_size = get_size(o, "batch_size");
    e->learning_rate = get_double(o, "learning_rate");
    get_field(o, "blas", e->blas);
    get_field(o, "source", e->source);
    get_field(o, "model", e->model);
    e->pass_below = get_double(o, "pass_below");
    e->fail_above = get_double(o, "fail_above");
    e->full_every = get_size(o, "full_every");
}

static void read_train(json_object *o, gc_train_event *e)
{
    e->step = get_size(o, "step");
    e->window = get_size(o, "window");
    e->loss = get_double(o, "loss");
    e->mean_logit = get_double(o, "mean_logit");
    e->max_logit = get_double(o, "max_logit");
    e->min_logit = get_double(o, "min_logit");
}

static void read_check(json_object *o, gc_check_event *e)
{
    json_object *worst = member(o, "worst");
    json_object *kind = member(o, "kind");

    e->step = get_size(o, "step");
    e->layer = get_size(o, "layer");
    get_field(o, "tensor", e->tensor);
    e->kind = json_object_is_type(kind, json_type_string)
              && strcmp(json_object_get_string(kind), "element") == 0
              ? GC_CHECK_ELEMENT : GC_CHECK_DIRECTION;
    get_field(o, "method", e->method);
    e->verdict = (gc_verdict)get_enum(o, "verdict", verdict_namer, 3);
    get_field(o, "reason", e->reason);
    e->rel_error = get_double(o, "rel_error");
    e->analytic_norm = get_double(o, "analytic_norm");
    e->numeric_norm = get_double(o, "numeric_norm");
    e->noise = get_double(o, "noise");
    e->step_size = get_double(o, "step_size");
    e->elements = get_size(o, "elements");
    e->kinks_excluded = get_size(o, "kinks_excluded");
    e->analytic_all_zero = get_bool(o, "analytic_all_zero");
    e->worst_row = get_size(worst, "row");
    e->worst_col = get_size(worst, "col");
    e->worst_analytic = get_double(worst, "analytic");
    e->worst_numeric = get_double(worst, "numeric");
    e->loss_evaluations = get_size(o, "loss_evaluations");
}

static bool bins_reserve(replay_bins *b, size_t bins)
{
    if (bins <= b->cap)
        return true;
    double *edges = realloc(b->edges, (bins + 1) * sizeof *edges);
    if (edges == NULL)
        return false;
    b->edges = edges;
    double *counts = realloc(b->counts, bins * sizeof *counts);
    if (counts == NULL)
        return false;
    b->counts = counts;
    b->cap = bins;
    return true;
}

/* The arrays must have bins + 1 edges and bins counts. */
static gc_status read_histogram(json_object *o, gc_histogram_event *e,
                                replay_bins *b, const char *where,
                                gc_error *err)
{
    json_object *edges = member(o, "edges"), *counts = member(o, "counts");
    size_t bins = json_object_is_type(counts, json_type_array)
                  ? json_object_array_length(counts) : 0;

    e->step = get_size(o, "step");
    e->layer = get_size(o, "layer");
    e->quantity = (gc_quantity)get_enum(o, "quantity", quantity_namer,
                                        GC_QTY_COUNT);
    e->count = get_size(o, "count");
    /* a run written before "binned" existed binned every value */
    e->binned = member(o, "binned") != NULL ? get_size(o, "binned")
                                            : e->count;
    e->nonfinite = get_size(o, "nonfinite");
    e->mean = get_double(o, "mean");
    e->std = get_double(o, "std");
    e->min = get_double(o, "min");
    e->max = get_double(o, "max");
    e->mean_trend = get_double(o, "mean_trend");
    if (bins > 0 && (!json_object_is_type(edges, json_type_array)
                     || json_object_array_length(edges) != bins + 1))
        return gc_error_set(err, GC_EDATA, "%s: a histogram with %zu "
                            "counts needs %zu edges", where, bins, bins + 1);
    if (!bins_reserve(b, bins))
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", where);
    for (size_t i = 0; i < bins; i++) {
        b->counts[i] = number_of(json_object_array_get_idx(counts, i));
        b->edges[i] = number_of(json_object_array_get_idx(edges, i));
    }
    if (bins > 0)
        b->edges[bins] = number_of(json_object_array_get_idx(edges, bins));
    e->bins = bins;
    e->edges = bins > 0 ? b->edges : NULL;
    e->counts = bins > 0 ? b->counts : NULL;
    return GC_OK;
}

static void read_trap(json_object *o, gc_trap_event *e)
{
    e->step = get_size(o, "step");
    e->layer = get_size(o, "layer");
    e->op = (gc_op)get_enum(o, "op", op_namer, GC_OP_COUNT);
    e->kind = (gc_trap_kind)get_enum(o, "kind", trap_namer,
                                     GC_TRAP_LOG_EDGE + 1);
    e->fatal = get_bool(o, "fatal");
    get_field(o, "detail", e->detail);
    e->input_max = get_double(o, "input_max");
    e->input_mean = get_double(o, "input_mean");
    e->input_min = get_double(o, "input_min");
    e->sample = get_size(o, "sample");
}

static void read_finding(json_object *o, gc_finding_event *e)
{
    json_object *evidence = member(o, "evidence");

    get_field(o, "id", e->id);
    e->severity = (gc_severity)get_enum(o, "severity", severity_namer, 3);
    e->step = get_size(o, "step");
    e->layer = get_size(o, "layer");
    get_field(o, "tensor", e->tensor);
    get_field(o, "message", e->message);
    get_field(o, "fix", e->fix);
    if (!json_object_is_type(evidence, json_type_object))
        return;
    json_object_object_foreach(evidence, key, value)
        gc_finding_evidence(e, key, number_of(value));
}

static void read_summary(json_object *o, gc_summary_event *e)
{
    e->steps = get_size(o, "steps");
    e->trapped = get_bool(o, "trapped");
    e->interrupted = get_bool(o, "interrupted");
    e->checks_pass = get_size(o, "checks_pass");
    e->checks_fail = get_size(o, "checks_fail");
    e->checks_inconclusive = get_size(o, "checks_inconclusive");
    e->findings_error = get_size(o, "findings_error");
    e->findings_warning = get_size(o, "findings_warning");
    e->findings_info = get_size(o, "findings_info");
    e->final_loss = get_double(o, "final_loss");
    e->test_accuracy = get_double(o, "test_accuracy");
    e->seconds = get_double(o, "seconds");
    e->exit_status = (int)get_size(o, "exit_status");
    e->loss_evaluations = get_size(o, "loss_evaluations");
    e->model_failed = get_bool(o, "model_failed");
}

/* One parsed line into *e; `where` is "FILE:LINE" for messages. */
static gc_status read_event(json_object *o, gc_event *e, replay_bins *b,
                            const char *where, gc_error *err)
{
    json_object *name = member(o, "event");
    int kind = json_object_is_type(name, json_type_string)
               ? name_index(json_object_get_string(name), kind_namer,
                            GC_EVENT_SUMMARY + 1) : -1;

    if (kind < 0)
        return gc_error_set(err, GC_EDATA, "%s: not a gradcheck event (no "
                            "known \"event\" member)", where);
    memset(e, 0, sizeof *e);
    e->kind = (gc_event_kind)kind;
    switch (e->kind) {
    case GC_EVENT_RUN: read_run(o, &e->u.run); break;
    case GC_EVENT_TRAIN: read_train(o, &e->u.train); break;
    case GC_EVENT_CHECK: read_check(o, &e->u.check); break;
    case GC_EVENT_HISTOGRAM:
        return read_histogram(o, &e->u.histogram, b, where, err);
    case GC_EVENT_TRAP: read_trap(o, &e->u.trap); break;
    case GC_EVENT_FINDING: read_finding(o, &e->u.finding); break;
    case GC_EVENT_SUMMARY: read_summary(o, &e->u.summary); break;
    }
    return GC_OK;
}

/* One line as one JSON object in *out (the caller puts it). */
static gc_status line_parse(const char *line, size_t length,
                            const char *where, json_object **out,
                            gc_error *err)
{
    json_tokener *tok = json_tokener_new();
    json_object *obj;

    *out = NULL;
    if (tok == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", where);
    obj = json_tokener_parse_ex(tok, line, (int)length);
    bool whole = obj != NULL && json_tokener_get_parse_end(tok) == length;
    json_tokener_free(tok);
    if (!whole || !json_object_is_type(obj, json_type_object)) {
        json_object_put(obj);
        return gc_error_set(err, GC_EDATA, "%s: not one JSON object",
                            where);
    }
    *out = obj;
    return GC_OK;
}

static gc_status line_replay(const char *line, size_t length,
                             const char *where, gc_sink *const *sinks,
                             size_t sink_count, replay_bins *b,
                             gc_error *err)
{
    json_object *obj;
    gc_event event;
    gc_status status = line_parse(line, length, where, &obj, err);

    if (status != GC_OK)
        return status;
    status = read_event(obj, &event, b, where, err);
    for (size_t i = 0; i < sink_count && status == GC_OK; i++)
        status = sinks[i]->emit(sinks[i], &event, err);
    json_object_put(obj);
    return status;
}

gc_status gc_jsonl_replay(const char *path, gc_sink *const *sinks,
                          size_t sink_count, gc_error *err)
{
    FILE *file = fopen(path, "r");
    replay_bins bins = { NULL, NULL, 0 };
    char *line = NULL, where[1100];
    size_t cap = 0, number = 0;
    ssize_t length;
    gc_status status = GC_OK;

    if (file == NULL)
        return gc_error_set(err, GC_EIO, "%s: cannot open: %s", path,
                            strerror(errno));
    while (status == GC_OK && (length = getline(&line, &cap, file)) >= 0) {
        number++;
        while (length > 0 && (line[length - 1] == '\n'
                              || line[length - 1] == '\r'))
            line[--length] = '\0';
        if (length == 0)
            continue;
        snprintf(where, sizeof where, "%s:%zu", path, number);
        status = line_replay(line, (size_t)length, where, sinks, sink_count,
                             &bins, err);
    }
    if (status == GC_OK && ferror(file))
        status = gc_error_set(err, GC_EIO, "%s: read failed: %s", path,
                              strerror(errno));
    if (status == GC_OK && number == 0)
        status = gc_error_set(err, GC_EDATA, "%s: no events (empty file)",
                              path);
    free(line);
    free(bins.edges);
    free(bins.counts);
    fclose(file);
    return status;
}

/* ---- the sweep file ------------------------------------------------------ */

static bool event_is(json_object *o, const char *name)
{
    json_object *v = member(o, "event");

    return json_object_is_type(v, json_type_string)
           && strcmp(json_object_get_string(v), name) == 0;
}

static void read_sweep_head(json_object *o, gc_sweep *w, char *config,
                            size_t config_size)
{
    get_text(o, "config", config, config_size);
    get_field(o, "tensor", w->tensor);
    w->elements = get_size(o, "elements");
    w->step = get_size(o, "step");
    w->analytic = get_double(o, "analytic");
    w->rms = get_double(o, "rms");
    w->chosen_step = get_double(o, "chosen_step");
    w->pass_below = get_double(o, "pass_below");
    w->fail_above = get_double(o, "fail_above");
}

static gc_status read_sweep_point(json_object *o, gc_sweep *w,
                                  const char *where, gc_error *err)
{
    if (!event_is(o, "sweep_point"))
        return gc_error_set(err, GC_EDATA, "%s: a sweep file holds only "
                            "sweep_point lines after its sweep line", where);
    if (w->count == GC_SWEEP_POINTS_MAX)
        return gc_error_set(err, GC_EDATA, "%s: more than %d sweep points",
                            where, GC_SWEEP_POINTS_MAX);
    gc_sweep_point *p = &w->points[w->count];
    p->h = get_double(o, "h");
    p->numeric = get_double(o, "numeric");
    p->rel_error = get_double(o, "rel_error");
    p->rounding = get_double(o, "rounding");
    p->chosen = get_bool(o, "chosen");
    p->kink = get_bool(o, "kink");
    if (p->chosen)
        w->chosen = w->count;
    w->count++;
    return GC_OK;
}

/* The chosen point and the smallest error, as gc_sweep_compute finds
 * them; GC_EDATA when no point is the chosen one. */
static gc_status sweep_settle(gc_sweep *w, const char *path, gc_error *err)
{
    bool chosen = false;

    for (size_t k = 0; k < w->count; k++)
        chosen = chosen || w->points[k].chosen;
    if (!chosen)
        return gc_error_set(err, GC_EDATA, "%s: no sweep_point is the "
                            "chosen step", path);
    w->best = w->chosen;
    for (size_t k = 0; k < w->count; k++)
        if (isfinite(w->points[k].rel_error)
            && w->points[k].rel_error < w->points[w->best].rel_error)
            w->best = k;
    return GC_OK;
}

gc_status gc_jsonl_read_sweep(const char *path, gc_sweep *sweep,
                              char *config, size_t config_size,
                              bool *is_sweep, gc_error *err)
{
    FILE *file = fopen(path, "r");
    char *line = NULL, where[1100];
    size_t cap = 0, number = 0, declared = 0;
    ssize_t length;
    gc_status status = GC_OK;

    *is_sweep = false;
    memset(sweep, 0, sizeof *sweep);
    if (file == NULL)
        return gc_error_set(err, GC_EIO, "%s: cannot open: %s", path,
                            strerror(errno));
    while (status == GC_OK && (length = getline(&line, &cap, file)) >= 0) {
        number++;
        while (length > 0 && (line[length - 1] == '\n'
                              || line[length - 1] == '\r'))
            line[--length] = '\0';
        if (length == 0)
            continue;
        snprintf(where, sizeof where, "%s:%zu", path, number);
        json_object *obj;
        status = line_parse(line, (size_t)length, where, &obj, err);
        if (status != GC_OK)
            break;
        if (!*is_sweep && !event_is(obj, "sweep")) {
            json_object_put(obj);  /* a run's events: not ours to read */
            break;
        }
        if (!*is_sweep) {
            *is_sweep = true;
            read_sweep_head(obj, sweep, config, config_size);
            declared = get_size(obj, "points");
        } else {
            status = read_sweep_point(obj, sweep, where, err);
        }
        json_object_put(obj);
    }
    if (status == GC_OK && ferror(file))
        status = gc_error_set(err, GC_EIO, "%s: read failed: %s", path,
                              strerror(errno));
    if (status == GC_OK && *is_sweep && sweep->count != declared)
        status = gc_error_set(err, GC_EDATA, "%s: the sweep line declares "
                              "%zu points, the file has %zu", path,
                              declared, sweep->count);
    if (status == GC_OK && *is_sweep)
        status = sweep_settle(sweep, path, err);
    free(line);
    fclose(file);
    return status;
}
