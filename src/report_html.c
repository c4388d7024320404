/* report_html.c - the HTML report sink (report_html.h, docs/report.md).
 *
 * emit() only files events away into bounded series; close() writes the
 * page.  The sections a reader must see without a script (run, trap,
 * findings, the explanation pages) are plain HTML; the charts are drawn
 * by the inline script (src/report_html.js, embedded at build time) from
 * the JSON block #gc-data.  The sink decides nothing: it copies numbers.
 */
#define _POSIX_C_SOURCE 200809L   /* fileno, fsync, strnlen */

#include "report_html.h"

#include "finding_catalog.h"

#include <errno.h>
#include <gsl/gsl_version.h>
#include <json-c/json_c_version.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The script and style, from src/report_html.js and src/report_html.css
 * (cmake/embed_file.cmake). */
extern const char gc_html_script[];
extern const size_t gc_html_script_length;
extern const char gc_html_style[];
extern const size_t gc_html_style_length;

#define GC_HTML_POINTS_MAX 1024    /* points per series before halving */
#define GC_HTML_COLUMNS_MAX 240    /* histogram columns per strip */
#define GC_HTML_BINS_MAX 64        /* bins kept per histogram column */
#define GC_HTML_TENSORS_MAX 64
#define GC_HTML_LAYERS_MAX 16      /* layers 1..16 get histogram strips */
#define GC_HTML_TRAPS_MAX 16
#define GC_HTML_FINDINGS_MAX 256
#define GC_HTML_BEFORE_TRAP 8      /* training windows shown before a trap */

/* A fixed-size char field (possibly not terminated) and its length. */
#define GC_FIELD_LEN(a) strnlen((a), sizeof(a))

/* ---- bounded series ------------------------------------------------------ */

typedef struct {
    size_t step, window;
    double loss, mean_logit, min_logit, max_logit;
} html_train;

typedef struct {
    size_t step;
    double rel_error;
    gc_verdict verdict;
} html_check;

typedef void (*html_merge)(void *into, const void *later);

/* Points of one kind.  Every `stride` incoming points are merged into
 * `pending` and appended as one; when `count` reaches the limit the
 * points are merged in pairs and the stride doubles. */
typedef struct {
    unsigned char *items;
    size_t size, count, stride, pending_n;
    html_merge merge;
    union { html_train train; html_check check; } pending;
} html_series;

static void train_merge(void *into, const void *later)
{
    html_train *a = into;
    const html_train *b = later;
    double wa = (double)a->window, wb = (double)b->window;
    double w = wa + wb > 0 ? wa + wb : 1.0;

    a->loss = (a->loss * wa + b->loss * wb) / w;
    a->mean_logit = (a->mean_logit * wa + b->mean_logit * wb) / w;
    a->min_logit = fmin(a->min_logit, b->min_logit);
    a->max_logit = fmax(a->max_logit, b->max_logit);
    a->window += b->window;
    a->step = b->step;
}

/* The worse of two checks: a fail over anything, NaN over any number. */
static bool check_worse(const html_check *a, const html_check *b)
{
    if (a->verdict != b->verdict)
        return a->verdict == GC_VERDICT_FAIL
               || (a->verdict == GC_VERDICT_INCONCLUSIVE
                   && b->verdict == GC_VERDICT_PASS);
    if (isnan(a->rel_error))
        return true;
    return !isnan(b->rel_error) && a->rel_error >= b->rel_error;
}

static void check_merge(void *into, const void *later)
{
    html_check *a = into;
    const html_check *b = later;

    if (!check_worse(a, b))
        *a = *b;
}

static bool series_init(html_series *s, size_t size, html_merge merge)
{
    s->items = malloc(GC_HTML_POINTS_MAX * size);
    s->size = size;
    s->count = 0;
    s->stride = 1;
    s->pending_n = 0;
    s->merge = merge;
    return s->items != NULL;
}

static void series_append(html_series *s, const void *item)
{
    if (s->count == GC_HTML_POINTS_MAX) {
        for (size_t i = 0; i < s->count / 2; i++) {
            unsigned char *to = s->items + i * s->size;
            memmove(to, s->items + 2 * i * s->size, s->size);
            s->merge(to, s->items + (2 * i + 1) * s->size);
        }
        s->count /= 2;
        s->stride *= 2;
    }
    memcpy(s->items + s->count * s->size, item, s->size);
    s->count++;
}

static void series_add(html_series *s, const void *item)
{
    if (s->pending_n == 0)
        memcpy(&s->pending, item, s->size);
    else
        s->merge(&s->pending, item);
    if (++s->pending_n >= s->stride) {
        series_append(s, &s->pending);
        s->pending_n = 0;
    }
}

/* Appends a partly filled stride, so the latest point is always shown. */
static void series_settle(html_series *s)
{
    if (s->pending_n > 0) {
        series_append(s, &s->pending);
        s->pending_n = 0;
    }
}

static const void *series_at(const html_series *s, size_t i)
{
    return s->items + i * s->size;
}

/* ---- histogram strips ---------------------------------------------------- */

typedef struct {
    size_t step, count, nonfinite, bins;
    double mean, std, min, max;
    double data[];             /* edges[bins + 1], then counts[bins] */
} html_column;

/* The columns of one layer and quantity, thinned like a series but by
 * keeping the newest column of each stride. */
typedef struct {
    html_column *columns[GC_HTML_COLUMNS_MAX];
    size_t count, stride, pending_n;
    html_column *pending;
} html_strip;

/* A copy of h with at most GC_HTML_BINS_MAX bins (neighbours summed). */
static html_column *column_make(const gc_histogram_event *h)
{
    size_t group = (h->bins + GC_HTML_BINS_MAX - 1) / GC_HTML_BINS_MAX;
    size_t bins = group == 0 ? 0 : (h->bins + group - 1) / group;
    html_column *c = malloc(sizeof *c + (2 * bins + 1) * sizeof(double));

    if (c == NULL)
        return NULL;
    c->step = h->step;
    c->count = h->count;
    c->nonfinite = h->nonfinite;
    c->bins = bins;
    c->mean = h->mean;
    c->std = h->std;
    c->min = h->min;
    c->max = h->max;
    for (size_t b = 0; b < bins; b++) {
        double sum = 0.0;
        for (size_t k = b * group; k < (b + 1) * group && k < h->bins; k++)
            sum += h->counts[k];
        c->data[b] = h->edges[b * group];
        c->data[bins + 1 + b] = sum;
    }
    if (bins > 0)
        c->data[bins] = h->edges[h->bins];
    return c;
}

static void strip_append(html_strip *s, html_column *c)
{
    if (s->count == GC_HTML_COLUMNS_MAX) {
        /* keep columns 1, 3, 5, ...: the newest of each pair */
        for (size_t i = 0; i < s->count / 2; i++) {
            free(s->columns[2 * i]);
            s->columns[i] = s->columns[2 * i + 1];
        }
        s->count /= 2;
        s->stride *= 2;
    }
    s->columns[s->count++] = c;
}

static void strip_add(html_strip *s, html_column *c)
{
    free(s->pending);
    s->pending = c;
    if (++s->pending_n >= s->stride) {
        strip_append(s, s->pending);
        s->pending = NULL;
        s->pending_n = 0;
    }
}

static void strip_settle(html_strip *s)
{
    if (s->pending != NULL) {
        strip_append(s, s->pending);
        s->pending = NULL;
        s->pending_n = 0;
    }
}

static void strip_free(html_strip *s)
{
    for (size_t i = 0; i < s->count; i++)
        free(s->columns[i]);
    free(s->pending);
}

/* ---- the sink's state ---------------------------------------------------- */

typedef struct {
    char tensor[32];
    size_t layer;
    html_series element, direction;
} html_tensor;

typedef struct {
    gc_sink sink;
    FILE *file;                /* the open .tmp */
    char *path, *tmp_path;

    bool have_run, have_summary;
    gc_run_event run;
    gc_summary_event summary;
    html_series train;
    html_tensor *tensors;      /* GC_HTML_TENSORS_MAX */
    size_t tensor_count;
    size_t checks_dropped;     /* checks of tensors past the limit */
    html_strip strips[GC_HTML_LAYERS_MAX + 1][GC_QTY_COUNT];
    size_t histograms_dropped; /* of layers past the limit */
    gc_trap_event traps[GC_HTML_TRAPS_MAX];
    size_t trap_count, traps_dropped;
    gc_finding_event *findings;
    size_t finding_count, findings_dropped;
    size_t last_step;          /* the latest step any event named */
} html_state;

/* ---- taking events ------------------------------------------------------- */

static html_tensor *tensor_find(html_state *s, const gc_check_event *c)
{
    for (size_t i = 0; i < s->tensor_count; i++)
        if (strncmp(s->tensors[i].tensor, c->tensor, sizeof c->tensor) == 0)
            return &s->tensors[i];
    if (s->tensor_count == GC_HTML_TENSORS_MAX)
        return NULL;
    html_tensor *t = &s->tensors[s->tensor_count];
    memset(t, 0, sizeof *t);
    memcpy(t->tensor, c->tensor, sizeof t->tensor);
    t->tensor[sizeof t->tensor - 1] = '\0';
    t->layer = c->layer;
    if (!series_init(&t->element, sizeof(html_check), check_merge)
        || !series_init(&t->direction, sizeof(html_check), check_merge)) {
        free(t->element.items);
        free(t->direction.items);
        return NULL;
    }
    s->tensor_count++;
    return t;
}

static gc_status check_take(html_state *s, const gc_check_event *c,
                            gc_error *err)
{
    html_tensor *t = tensor_find(s, c);
    html_check point = { c->step, c->rel_error, c->verdict };

    if (t == NULL) {
        if (s->tensor_count < GC_HTML_TENSORS_MAX)
            return gc_error_set(err, GC_ENOMEM, "HTML report: out of "
                                "memory for tensor %.*s",
                                (int)GC_FIELD_LEN(c->tensor), c->tensor);
        s->checks_dropped++;
        return GC_OK;
    }
    series_add(c->kind == GC_CHECK_ELEMENT ? &t->element : &t->direction,
               &point);
    return GC_OK;
}

static gc_status histogram_take(html_state *s, const gc_histogram_event *h,
                                gc_error *err)
{
    if (h->layer > GC_HTML_LAYERS_MAX || (unsigned)h->quantity >= GC_QTY_COUNT
        || (h->bins > 0 && (h->edges == NULL || h->counts == NULL))) {
        s->histograms_dropped++;
        return GC_OK;
    }
    html_column *c = column_make(h);
    if (c == NULL)
        return gc_error_set(err, GC_ENOMEM, "HTML report: out of memory "
                            "for a histogram of step %zu", h->step);
    strip_add(&s->strips[h->layer][h->quantity], c);
    return GC_OK;
}

static void trap_take(html_state *s, const gc_trap_event *t)
{
    if (s->trap_count < GC_HTML_TRAPS_MAX)
        s->traps[s->trap_count++] = *t;
    else
        s->traps_dropped++;
}

static void finding_take(html_state *s, const gc_finding_event *f)
{
    if (s->finding_count < GC_HTML_FINDINGS_MAX)
        s->findings[s->finding_count++] = *f;
    else
        s->findings_dropped++;
}

static size_t event_step(const gc_event *e)
{
    switch (e->kind) {
    case GC_EVENT_TRAIN: return e->u.train.step;
    case GC_EVENT_CHECK: return e->u.check.step;
    case GC_EVENT_HISTOGRAM: return e->u.histogram.step;
    case GC_EVENT_TRAP: return e->u.trap.step;
    case GC_EVENT_FINDING: return e->u.finding.step;
    case GC_EVENT_RUN: case GC_EVENT_SUMMARY: break;
    }
    return 0;
}

static gc_status html_emit(gc_sink *sink, const gc_event *e, gc_error *err)
{
    html_state *s = sink->self;

    if (e == NULL)
        return gc_error_set(err, GC_EINVAL, "HTML report: NULL event");
    if (event_step(e) > s->last_step)
        s->last_step = event_step(e);
    switch (e->kind) {
    case GC_EVENT_RUN: s->run = e->u.run; s->have_run = true; break;
    case GC_EVENT_TRAIN: {
        html_train p = { e->u.train.step, e->u.train.window, e->u.train.loss,
                         e->u.train.mean_logit, e->u.train.min_logit,
                         e->u.train.max_logit };
        series_add(&s->train, &p);
        break;
    }
    case GC_EVENT_CHECK: return check_take(s, &e->u.check, err);
    case GC_EVENT_HISTOGRAM: return histogram_take(s, &e->u.histogram, err);
    case GC_EVENT_TRAP: trap_take(s, &e->u.trap); break;
    case GC_EVENT_FINDING: finding_take(s, &e->u.finding); break;
    case GC_EVENT_SUMMARY:
        s->summary = e->u.summary;
        s->have_summary = true;
        break;
    default:
        return gc_error_set(err, GC_EINVAL, "HTML report: unknown event "
                            "kind %d", (int)e->kind);
    }
    return GC_OK;
}

/* ---- writing: text and numbers ------------------------------------------- */

/* text[0..n) with &, <, >, " escaped for HTML text and attributes. */
static void html_text(FILE *f, const char *text, size_t n)
{
    for (size_t i = 0; i < n && text[i] != '\0'; i++) {
        switch (text[i]) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(text[i], f);
        }
    }
}

#define html_field(f, a) html_text((f), (a), GC_FIELD_LEN(a))

static void html_string(FILE *f, const char *text)
{
    html_text(f, text, strlen(text));
}

/* A JSON string; '<' and '>' are escaped too, so "</script>" cannot end
 * the data block. */
static void json_text(FILE *f, const char *text, size_t n)
{
    fputc('"', f);
    for (size_t i = 0; i < n && text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20 || c == '<' || c == '>' || c == '&')
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

/* Six significant digits are plenty for a chart; NaN and Inf are null. */
static void json_number(FILE *f, double d)
{
    if (isfinite(d))
        fprintf(f, "%.6g", d);
    else
        fputs("null", f);
}

/* A short human number for tables. */
static void html_number(FILE *f, double d)
{
    if (isnan(d))
        fputs("n/a", f);
    else
        fprintf(f, "%.4g", d);
}

/* ---- writing: the data block --------------------------------------------- */

typedef double (*train_value)(const html_train *p);
static double train_loss(const html_train *p) { return p->loss; }
static double train_mean(const html_train *p) { return p->mean_logit; }
static double train_min(const html_train *p) { return p->min_logit; }
static double train_max(const html_train *p) { return p->max_logit; }

static void json_train_values(FILE *f, const char *key,
                              const html_series *s, train_value value)
{
    fprintf(f, "\"%s\":[", key);
    for (size_t i = 0; i < s->count; i++) {
        if (i > 0)
            fputc(',', f);
        json_number(f, value(series_at(s, i)));
    }
    fputc(']', f);
}

static void json_train(FILE *f, const html_series *s)
{
    fputs("\"train\":{\"step\":[", f);
    for (size_t i = 0; i < s->count; i++)
        fprintf(f, "%s%zu", i > 0 ? "," : "",
                ((const html_train *)series_at(s, i))->step);
    fputs("],\"window\":[", f);
    for (size_t i = 0; i < s->count; i++)
        fprintf(f, "%s%zu", i > 0 ? "," : "",
                ((const html_train *)series_at(s, i))->window);
    fputs("],", f);
    json_train_values(f, "loss", s, train_loss);
    fputc(',', f);
    json_train_values(f, "meanLogit", s, train_mean);
    fputc(',', f);
    json_train_values(f, "minLogit", s, train_min);
    fputc(',', f);
    json_train_values(f, "maxLogit", s, train_max);
    fputc('}', f);
}

/* {"step":[..],"rel":[..],"verdict":"pfi.."}: one letter per point. */
static void json_checks(FILE *f, const html_series *s)
{
    fputs("{\"step\":[", f);
    for (size_t i = 0; i < s->count; i++)
        fprintf(f, "%s%zu", i > 0 ? "," : "",
                ((const html_check *)series_at(s, i))->step);
    fputs("],\"rel\":[", f);
    for (size_t i = 0; i < s->count; i++) {
        if (i > 0)
            fputc(',', f);
        json_number(f, ((const html_check *)series_at(s, i))->rel_error);
    }
    fputs("],\"verdict\":\"", f);
    for (size_t i = 0; i < s->count; i++)
        fputc("pfi"[((const html_check *)series_at(s, i))->verdict % 3], f);
    fprintf(f, "\",\"stride\":%zu}", s->stride);
}

static void json_column(FILE *f, const html_column *c)
{
    fprintf(f, "{\"step\":%zu,\"n\":%zu,\"nonfinite\":%zu,\"mean\":",
            c->step, c->count, c->nonfinite);
    json_number(f, c->mean);
    fputs(",\"std\":", f);
    json_number(f, c->std);
    fputs(",\"min\":", f);
    json_number(f, c->min);
    fputs(",\"max\":", f);
    json_number(f, c->max);
    fputs(",\"edges\":[", f);
    for (size_t b = 0; c->bins > 0 && b <= c->bins; b++) {
        if (b > 0)
            fputc(',', f);
        json_number(f, c->data[b]);
    }
    fputs("],\"counts\":[", f);
    for (size_t b = 0; b < c->bins; b++)
        fprintf(f, "%s%.0f", b > 0 ? "," : "", c->data[c->bins + 1 + b]);
    fputs("]}", f);
}

static void json_strips(FILE *f, const html_state *s)
{
    bool first = true;

    fputs("\"histograms\":[", f);
    for (size_t l = 0; l <= GC_HTML_LAYERS_MAX; l++)
        for (int q = 0; q < GC_QTY_COUNT; q++) {
            const html_strip *strip = &s->strips[l][q];
            if (strip->count == 0)
                continue;
            fprintf(f, "%s{\"layer\":%zu,\"quantity\":\"%s\",\"stride\":%zu,"
                    "\"columns\":[", first ? "" : ",", l,
                    gc_quantity_name((gc_quantity)q), strip->stride);
            for (size_t i = 0; i < strip->count; i++) {
                if (i > 0)
                    fputc(',', f);
                json_column(f, strip->columns[i]);
            }
            fputs("]}", f);
            first = false;
        }
    fputc(']', f);
}

static const gc_trap_event *fatal_trap(const html_state *s)
{
    for (size_t i = 0; i < s->trap_count; i++)
        if (s->traps[i].fatal)
            return &s->traps[i];
    return NULL;
}

static void json_marks(FILE *f, const html_state *s)
{
    const gc_trap_event *t = fatal_trap(s);

    fputs("\"trap\":", f);
    if (t == NULL)
        fputs("null", f);
    else {
        fprintf(f, "{\"step\":%zu,\"layer\":%zu,\"op\":\"%s\",\"kind\":\"%s\"}",
                t->step, t->layer, gc_op_name(t->op),
                gc_trap_kind_name(t->kind));
    }
    fputs(",\"findings\":[", f);
    for (size_t i = 0; i < s->finding_count; i++) {
        const gc_finding_event *e = &s->findings[i];
        fprintf(f, "%s{\"id\":", i > 0 ? "," : "");
        json_text(f, e->id, sizeof e->id);
        fprintf(f, ",\"severity\":\"%s\",\"step\":%zu,\"layer\":%zu,"
                "\"anchor\":\"finding-%zu\"}", gc_severity_name(e->severity),
                e->step, e->layer, i + 1);
    }
    fputc(']', f);
}

static void json_data(FILE *f, const html_state *s)
{
    const gc_run_event *r = &s->run;

    fputs("{\"config\":", f);
    json_text(f, r->config, sizeof r->config);
    fputs(",\"passBelow\":", f);
    json_number(f, r->pass_below);
    fputs(",\"failAbove\":", f);
    json_number(f, r->fail_above);
    fprintf(f, ",\"plannedSteps\":%zu,\"steps\":%zu,\"lastStep\":%zu,",
            r->planned_steps, s->have_summary ? s->summary.steps
                                              : s->last_step,
            s->last_step);
    fputs("\"testAccuracy\":", f);
    json_number(f, s->have_summary ? s->summary.test_accuracy : NAN);
    fputc(',', f);
    json_marks(f, s);
    fputc(',', f);
    json_train(f, &s->train);
    fputs(",\"checks\":[", f);
    for (size_t i = 0; i < s->tensor_count; i++) {
        const html_tensor *t = &s->tensors[i];
        fprintf(f, "%s{\"tensor\":", i > 0 ? "," : "");
        json_text(f, t->tensor, sizeof t->tensor);
        fprintf(f, ",\"layer\":%zu,\"element\":", t->layer);
        json_checks(f, &t->element);
        fputs(",\"direction\":", f);
        json_checks(f, &t->direction);
        fputc('}', f);
    }
    fputs("],", f);
    json_strips(f, s);
    fputs("}", f);
}

/* ---- writing: the sections ----------------------------------------------- */

static void row_text(FILE *f, const char *name, const char *value, size_t n)
{
    fprintf(f, "<tr><th>%s</th><td>", name);
    html_text(f, value, n);
    fputs("</td></tr>\n", f);
}

static const char *stop_reason(const html_state *s)
{
    if (!s->have_summary)
        return "ended without a summary (the run failed)";
    if (s->summary.trapped)
        return "stopped by a trap";
    if (s->summary.interrupted)
        return "interrupted";
    return "completed";
}

static void section_run(FILE *f, const html_state *s)
{
    const gc_run_event *r = &s->run;
    const gc_summary_event *e = &s->summary;

    fputs("<section id=\"run\"><h2>Run</h2>\n<table class=\"meta\">\n", f);
    row_text(f, "config", r->config, sizeof r->config);
    row_text(f, "network", r->network, sizeof r->network);
    fprintf(f, "<tr><th>loss</th><td>");
    html_field(f, r->loss);
    fprintf(f, ", %zu parameters</td></tr>\n", r->parameters);
    fprintf(f, "<tr><th>data</th><td>%zu training, %zu test samples"
            "</td></tr>\n", r->train_samples, r->test_samples);
    fprintf(f, "<tr><th>training</th><td>%zu steps planned, batch %zu, "
            "learning rate %g</td></tr>\n", r->planned_steps, r->batch_size,
            r->learning_rate);
    fprintf(f, "<tr><th>checks</th><td>pass at rel. error &le; %g, fail "
            "above %g; full check every %zu steps</td></tr>\n",
            r->pass_below, r->fail_above, r->full_every);
    fprintf(f, "<tr><th>seed</th><td>%llu</td></tr>\n", r->seed);
    fputs("<tr><th>versions</th><td>gradcheck ", f);
    html_field(f, r->version);
    fputs(", BLAS ", f);
    html_field(f, r->blas);
    fprintf(f, "; page written with GSL %s, json-c %s</td></tr>\n",
            GSL_VERSION, JSON_C_VERSION);
    if (s->have_summary) {
        fprintf(f, "<tr><th>outcome</th><td class=\"%s\">%zu steps, %s; "
                "exit status %d</td></tr>\n", e->exit_status ? "bad" : "good",
                e->steps, stop_reason(s), e->exit_status);
        fprintf(f, "<tr><th>checks made</th><td>%zu pass, %zu fail, %zu "
                "inconclusive</td></tr>\n", e->checks_pass, e->checks_fail,
                e->checks_inconclusive);
        fprintf(f, "<tr><th>findings</th><td>%zu error, %zu warning, %zu "
                "info</td></tr>\n", e->findings_error, e->findings_warning,
                e->findings_info);
        fputs("<tr><th>final loss</th><td>", f);
        html_number(f, e->final_loss);
        fputs("</td></tr>\n<tr><th>test accuracy</th><td>", f);
        if (isnan(e->test_accuracy))
            fputs("n/a (no test set, or the run trapped)", f);
        else
            fprintf(f, "%.2f%%", 100.0 * e->test_accuracy);
        fprintf(f, "</td></tr>\n<tr><th>timing</th><td>%.1f s, %.0f steps/s"
                "</td></tr>\n", e->seconds, e->seconds > 0
                ? (double)e->steps / e->seconds : 0.0);
    } else {
        fprintf(f, "<tr><th>outcome</th><td class=\"bad\">%s</td></tr>\n",
                stop_reason(s));
    }
    fputs("</table></section>\n", f);
}

/* The training windows that closed at or before step, the latest last. */
static void trap_before(FILE *f, const html_state *s, size_t step)
{
    size_t end = 0, begin;

    while (end < s->train.count
           && ((const html_train *)series_at(&s->train, end))->step <= step)
        end++;
    if (end == 0) {
        fputs("<p>No training window closed before the trap.</p>\n", f);
        return;
    }
    begin = end > GC_HTML_BEFORE_TRAP ? end - GC_HTML_BEFORE_TRAP : 0;
    fputs("<table class=\"values\"><caption>Training windows before the "
          "trap (means over each window)</caption>\n<tr><th>last step</th>"
          "<th>steps</th><th>loss</th><th>mean logit</th><th>min logit</th>"
          "<th>max logit</th></tr>\n", f);
    for (size_t i = begin; i < end; i++) {
        const html_train *p = series_at(&s->train, i);
        fprintf(f, "<tr><td>%zu</td><td>%zu</td><td>", p->step, p->window);
        html_number(f, p->loss);
        fputs("</td><td>", f);
        html_number(f, p->mean_logit);
        fputs("</td><td>", f);
        html_number(f, p->min_logit);
        fputs("</td><td>", f);
        html_number(f, p->max_logit);
        fputs("</td></tr>\n", f);
    }
    fputs("</table>\n", f);
}

static void trap_block(FILE *f, const html_state *s, const gc_trap_event *t)
{
    fprintf(f, "<div class=\"trap %s\"><h3>%s at step %zu, ",
            t->fatal ? "fatal" : "warning", t->fatal ? "TRAP" : "warning",
            t->step);
    if (t->layer == 0)
        fputs("network", f);
    else
        fprintf(f, "layer %zu", t->layer);
    fprintf(f, ", op %s: %s</h3>\n<p>", gc_op_name(t->op),
            gc_trap_kind_name(t->kind));
    html_field(f, t->detail);
    fputs("</p>\n<p>inputs of the operation: max ", f);
    html_number(f, t->input_max);
    fputs(", mean ", f);
    html_number(f, t->input_mean);
    fputs(", min ", f);
    html_number(f, t->input_min);
    fprintf(f, "; first offending sample %zu</p>\n", t->sample);
    if (t->fatal)
        trap_before(f, s, t->step);
    fputs("</div>\n", f);
}

static void section_trap(FILE *f, const html_state *s)
{
    fputs("<section id=\"trap\"><h2>Trap</h2>\n", f);
    if (fatal_trap(s) == NULL)
        fputs("<p class=\"good\">No fatal trap: no NaN, Inf or zero "
              "softmax sum was seen.</p>\n", f);
    for (size_t i = 0; i < s->trap_count; i++)
        trap_block(f, s, &s->traps[i]);
    if (s->traps_dropped > 0)
        fprintf(f, "<p>%zu more traps not shown.</p>\n", s->traps_dropped);
    fputs("</section>\n", f);
}

/* "network" or "layer L", then ", TENSOR" when the finding names one. */
static void finding_place(FILE *f, const gc_finding_event *e)
{
    if (e->layer == 0)
        fputs("network", f);
    else
        fprintf(f, "layer %zu", e->layer);
    if (e->tensor[0] != '\0') {
        fputs(", ", f);
        html_field(f, e->tensor);
    }
}

static void finding_block(FILE *f, const gc_finding_event *e, size_t index)
{
    const char *severity = gc_severity_name(e->severity);

    fprintf(f, "<article class=\"finding %s\" id=\"finding-%zu\">\n<h3>"
            "<span class=\"sev\">%s</span> ", severity, index, severity);
    html_field(f, e->id);
    fprintf(f, "</h3>\n<p class=\"where\">step %zu, ", e->step);
    finding_place(f, e);
    fputs("</p>\n<p>", f);
    html_field(f, e->message);
    fputs("</p>\n", f);
    if (e->evidence_count > 0) {
        fputs("<p class=\"evidence\"><b>Evidence:</b>", f);
        for (size_t i = 0; i < e->evidence_count && i < GC_EVIDENCE_MAX;
             i++) {
            fputs(" <span><code>", f);
            html_field(f, e->evidence[i].name);
            fputs("</code> = ", f);
            html_number(f, e->evidence[i].value);
            fputs("</span>", f);
        }
        fputs("</p>\n", f);
    }
    fputs("<p class=\"fix\"><b>Fix:</b> ", f);
    html_field(f, e->fix);
    fputs("</p>\n<p><a href=\"#page-", f);
    html_field(f, e->id);
    fputs("\">Why, and what to do: ", f);
    html_field(f, e->id);
    fputs("</a></p>\n</article>\n", f);
}

/* One line per finding, linking to its block below the charts. */
static void section_glance(FILE *f, const html_state *s)
{
    fputs("<section id=\"glance\"><h2>Findings at a glance</h2>\n", f);
    if (s->finding_count == 0)
        fputs("<p class=\"good\">No findings.</p>\n", f);
    else
        fputs("<ol class=\"glance\">\n", f);
    for (size_t i = 0; i < s->finding_count; i++) {
        const gc_finding_event *e = &s->findings[i];
        fprintf(f, "<li class=\"%s\"><a href=\"#finding-%zu\"><span "
                "class=\"sev\">%s</span> ", gc_severity_name(e->severity),
                i + 1, gc_severity_name(e->severity));
        html_field(f, e->id);
        fprintf(f, "</a> at step %zu, ", e->step);
        finding_place(f, e);
        fputs("</li>\n", f);
    }
    if (s->finding_count > 0)
        fputs("</ol>\n", f);
    fputs("</section>\n", f);
}

static void section_findings(FILE *f, const html_state *s)
{
    fputs("<section id=\"findings\"><h2>Findings</h2>\n", f);
    if (s->finding_count == 0)
        fputs("<p class=\"good\">No findings.</p>\n", f);
    for (size_t i = 0; i < s->finding_count; i++)
        finding_block(f, &s->findings[i], i + 1);
    if (s->findings_dropped > 0)
        fprintf(f, "<p>%zu more findings not shown (see the JSON "
                "report).</p>\n", s->findings_dropped);
    fputs("</section>\n", f);
}

/* Whether finding id appears before index i (its page is written once). */
static bool finding_seen(const html_state *s, size_t i)
{
    for (size_t j = 0; j < i; j++)
        if (strncmp(s->findings[j].id, s->findings[i].id,
                    sizeof s->findings[i].id) == 0)
            return true;
    return false;
}

static void section_pages(FILE *f, const html_state *s)
{
    fputs("<section id=\"pages\"><h2>Explanations</h2>\n", f);
    for (size_t i = 0; i < s->finding_count; i++) {
        char id[sizeof s->findings[i].id + 1];
        if (finding_seen(s, i))
            continue;
        snprintf(id, sizeof id, "%.*s", (int)GC_FIELD_LEN(s->findings[i].id),
                 s->findings[i].id);
        const gc_finding_page *page = gc_finding_page_find(id);
        fputs("<details class=\"page\" id=\"page-", f);
        html_string(f, id);
        fputs("\"><summary>", f);
        html_string(f, id);
        fputs("</summary>\n", f);
        if (page == NULL)
            fputs("<p>This build has no page for this finding.</p>\n", f);
        else {
            fputs("<pre class=\"md\">", f);
            html_text(f, page->text, page->length);
            fputs("</pre>\n", f);
        }
        fputs("</details>\n", f);
    }
    if (s->finding_count == 0)
        fputs("<p>No findings to explain.</p>\n", f);
    fputs("</section>\n", f);
}

/* Placeholders the script fills; each names what it will hold, so a page
 * opened with scripts off still says what is missing. */
static void section_charts(FILE *f)
{
    fputs("<section id=\"training\"><h2>Training curve</h2>\n"
          "<div class=\"chart\" id=\"chart-loss\">loss over steps (needs "
          "JavaScript)</div>\n<div class=\"chart\" id=\"chart-logit\">output "
          "pre-activations over steps (needs JavaScript)</div>\n</section>\n"
          "<section id=\"checks\"><h2>Gradient checks</h2>\n"
          "<div class=\"chart\" id=\"chart-checks\">relative error over "
          "steps (needs JavaScript)</div>\n</section>\n"
          "<section id=\"histograms\"><h2>Histograms per layer</h2>\n"
          "<p class=\"note\">Each strip is one quantity of one layer: a column"
          " per full check, values on the vertical axis, shade the share of "
          "the column's values in that range (darker: more); the line is the "
          "mean.</p>\n<div id=\"hist-grid\">(needs JavaScript)</div>\n"
          "</section>\n", f);
}

/* From the doctype to <body>: the title, the style and the handler that
 * shows script errors on the page. */
static void page_open(FILE *f, const char *title, size_t title_length)
{
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8"
          "\">\n<meta name=\"viewport\" content=\"width=device-width\">\n"
          "<title>gradcheck: ", f);
    html_text(f, title, title_length);
    fputs("</title>\n<style>\n", f);
    fwrite(gc_html_style, 1, gc_html_style_length, f);
    /* Installed before the main script, so that even its syntax errors
     * are caught and shown on the page. */
    fputs("</style>\n<script>\nwindow.gcErrors = [];\nwindow.onerror = "
          "function (message, source, line) {\n  window.gcErrors.push("
          "message + ' (line ' + line + ')');\n  var e = document."
          "getElementById('gc-script-error') || document.createElement("
          "'pre');\n  e.id = 'gc-script-error';\n  e.textContent += "
          "'script error: ' + message + ' (line ' + line + ')\\n';\n  "
          "document.body.insertBefore(e, document.body.firstChild);\n};\n"
          "</script>\n</head>\n<body>\n", f);
}

/* The data block, then the script that draws from it, and the end. */
static void page_close(FILE *f, void (*data)(FILE *, const void *),
                       const void *arg)
{
    fputs("<p id=\"gc-status\">charts not drawn yet</p>\n"
          "<script type=\"application/json\" id=\"gc-data\">", f);
    data(f, arg);
    fputs("</script>\n<script>\n", f);
    fwrite(gc_html_script, 1, gc_html_script_length, f);
    fputs("</script>\n</body>\n</html>\n", f);
}

static void run_data(FILE *f, const void *s)
{
    json_data(f, s);
}

static void page_write(FILE *f, html_state *s)
{
    page_open(f, s->run.config, GC_FIELD_LEN(s->run.config));
    fputs("<header><h1>gradcheck report</h1>\n<p class=\"subtitle\">", f);
    html_field(f, s->run.config);
    fputs(" &middot; ", f);
    html_field(f, s->run.network);
    fputs(" &middot; ", f);
    html_string(f, stop_reason(s));
    fputs("</p>\n<nav><a href=\"#run\">run</a> <a href=\"#trap\">trap</a> "
          "<a href=\"#findings\">findings</a> <a href=\"#training\">training"
          "</a> <a href=\"#checks\">checks</a> <a href=\"#histograms\">"
          "histograms</a> <a href=\"#pages\">explanations</a></nav>\n"
          "</header>\n<main>\n", f);
    fputs("<div class=\"top\">\n", f);
    section_run(f, s);
    section_trap(f, s);
    fputs("</div>\n", f);
    section_glance(f, s);
    section_charts(f);
    section_findings(f, s);
    section_pages(f, s);
    fputs("</main>\n", f);
    page_close(f, run_data, s);
}

/* ---- closing ------------------------------------------------------------- */

static void state_free(html_state *s)
{
    for (size_t i = 0; s->tensors != NULL && i < s->tensor_count; i++) {
        free(s->tensors[i].element.items);
        free(s->tensors[i].direction.items);
    }
    for (size_t l = 0; l <= GC_HTML_LAYERS_MAX; l++)
        for (int q = 0; q < GC_QTY_COUNT; q++)
            strip_free(&s->strips[l][q]);
    free(s->train.items);
    free(s->tensors);
    free(s->findings);
    free(s->path);
    free(s);
}

/* Flushes, syncs and closes f; 0 or the first errno. */
static int file_finish(FILE *f)
{
    int error = 0;

    if (fflush(f) == EOF || ferror(f))
        error = errno ? errno : EIO;
    else if (fsync(fileno(f)) != 0 && errno != EINVAL)
        error = errno;
    if (fclose(f) == EOF && error == 0)
        error = errno;
    return error;
}

/* Writes the page into the open .tmp, syncs and closes it; 0 or errno. */
static int page_finish(html_state *s)
{

    series_settle(&s->train);
    for (size_t i = 0; i < s->tensor_count; i++) {
        series_settle(&s->tensors[i].element);
        series_settle(&s->tensors[i].direction);
    }
    for (size_t l = 0; l <= GC_HTML_LAYERS_MAX; l++)
        for (int q = 0; q < GC_QTY_COUNT; q++)
            strip_settle(&s->strips[l][q]);
    page_write(s->file, s);
    return file_finish(s->file);
}

static gc_status html_close(gc_sink *sink, gc_error *err)
{
    html_state *s = sink->self;
    gc_status status = GC_OK;

    if (!s->have_run) {
        /* The run never started: leave an earlier report alone. */
        fclose(s->file);
        if (remove(s->tmp_path) != 0)
            status = gc_error_set(err, GC_EIO, "%s: cannot remove: %s",
                                  s->tmp_path, strerror(errno));
    } else {
        int error = page_finish(s);
        if (error != 0)
            status = gc_error_set(err, GC_EIO, "%s: write failed: %s",
                                  s->tmp_path, strerror(error));
        else if (rename(s->tmp_path, s->path) != 0)
            status = gc_error_set(err, GC_EIO, "%s: cannot rename %s to "
                                  "it: %s", s->path, s->tmp_path,
                                  strerror(errno));
    }
    state_free(s);
    return status;
}

/* ---- the sweep page ------------------------------------------------------ */

typedef struct {
    const gc_sweep *sweep;
    const char *config;
} sweep_page;

static void json_sweep_values(FILE *f, const char *key, const gc_sweep *w,
                              size_t field)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t k = 0; k < w->count; k++) {
        const gc_sweep_point *p = &w->points[k];
        double v = field == 0 ? p->h : field == 1 ? p->numeric
                 : field == 2 ? p->rel_error : p->rounding;
        if (k > 0)
            fputc(',', f);
        json_number(f, v);
    }
    fputc(']', f);
}

/* {"kind":"sweep", ...}: the sweep's numbers and one array per column. */
static void sweep_data(FILE *f, const void *arg)
{
    const sweep_page *page = arg;
    const gc_sweep *w = page->sweep;

    fputs("{\"kind\":\"sweep\",\"config\":", f);
    json_text(f, page->config, strlen(page->config));
    fputs(",\"tensor\":", f);
    json_text(f, w->tensor, sizeof w->tensor);
    fprintf(f, ",\"elements\":%zu,\"step\":%zu,\"chosen\":%zu,\"best\":%zu",
            w->elements, w->step, w->chosen, w->best);
    fputs(",\"analytic\":", f);
    json_number(f, w->analytic);
    fputs(",\"rms\":", f);
    json_number(f, w->rms);
    fputs(",\"chosenStep\":", f);
    json_number(f, w->chosen_step);
    fputs(",\"passBelow\":", f);
    json_number(f, w->pass_below);
    fputs(",\"failAbove\":", f);
    json_number(f, w->fail_above);
    json_sweep_values(f, "h", w, 0);
    json_sweep_values(f, "numeric", w, 1);
    json_sweep_values(f, "rel", w, 2);
    json_sweep_values(f, "rounding", w, 3);
    fputs(",\"kink\":\"", f);
    for (size_t k = 0; k < w->count; k++)
        fputc(w->points[k].kink ? '1' : '0', f);
    fputs("\"}", f);
}

static void sweep_summary(FILE *f, const gc_sweep *w, const char *config)
{
    const gc_sweep_point *chosen = &w->points[w->chosen];
    const gc_sweep_point *best = &w->points[w->best];

    fputs("<section id=\"sweep\"><h2>Sweep</h2>\n<table class=\"meta\">\n",
          f);
    row_text(f, "config", config, strlen(config));
    fputs("<tr><th>tensor</th><td>", f);
    html_field(f, w->tensor);
    fprintf(f, ", %zu elements, at training step %zu</td></tr>\n",
            w->elements, w->step);
    fprintf(f, "<tr><th>direction</th><td>u as the direction check draws "
            "it; g.u = %.6e (the backward pass)</td></tr>\n", w->analytic);
    fputs("<tr><th>difference</th><td>D(h) = (L(&theta; + h u) &minus; "
          "L(&theta; &minus; h u)) / 2h of the whole batch loss; rel = "
          "|D &minus; g.u| / (|D| + |g.u|)</td></tr>\n", f);
    fprintf(f, "<tr><th>chosen step</th><td id=\"sweep-chosen\">h = %.3g "
            "= step_scale &middot; eps<sup>1/3</sup> &middot; max(rms(&theta;"
            "), 1) with rms(&theta;) = %.3g; rel. error there %.2e</td>"
            "</tr>\n", chosen->h, w->rms, chosen->rel_error);
    fprintf(f, "<tr><th>smallest error</th><td id=\"sweep-best\">%.2e at h "
            "= %.3g</td></tr>\n", best->rel_error, best->h);
    if (isfinite(w->pass_below) && isfinite(w->fail_above))
        fprintf(f, "<tr><th>bands</th><td>pass at rel. error &le; %g, fail "
                "above %g ([checks] pass_below, fail_above)</td></tr>\n",
                w->pass_below, w->fail_above);
    fputs("</table></section>\n", f);
}

static void sweep_points(FILE *f, const gc_sweep *w)
{
    fputs("<section id=\"points\"><h2>Points</h2>\n<table class=\"values\">"
          "\n<tr><th>h</th><th>D(h)</th><th>rel. error</th><th>rounding "
          "bound 64 eps max|L| / h</th><th></th></tr>\n", f);
    for (size_t k = 0; k < w->count; k++) {
        const gc_sweep_point *p = &w->points[k];
        fprintf(f, "<tr%s><td>%.3e</td><td>%.7e</td><td>%.2e</td><td>%.2e"
                "</td><td>%s%s%s</td></tr>\n",
                p->chosen ? " class=\"chosen\"" : "", p->h, p->numeric,
                p->rel_error, p->rounding, p->chosen ? "chosen " : "",
                k == w->best ? "smallest " : "", p->kink ? "kink" : "");
    }
    fputs("</table></section>\n", f);
}

static void sweep_page_write(FILE *f, const gc_sweep *w, const char *config)
{
    char title[sizeof w->tensor + 64];
    sweep_page page = { w, config };

    snprintf(title, sizeof title, "step sweep of %.*s",
             (int)GC_FIELD_LEN(w->tensor), w->tensor);
    page_open(f, title, strlen(title));
    fputs("<header><h1>gradcheck step sweep</h1>\n<p class=\"subtitle\">", f);
    html_string(f, config);
    fputs(" &middot; ", f);
    html_field(f, w->tensor);
    fprintf(f, " &middot; step %zu</p>\n<nav><a href=\"#sweep\">sweep</a> "
            "<a href=\"#curve\">error curve</a> <a href=\"#points\">points"
            "</a></nav>\n</header>\n<main>\n", w->step);
    sweep_summary(f, w, config);
    fputs("<section id=\"curve\"><h2>Error curve</h2>\n<p class=\"note\">"
          "Left of the floor the rounding of each loss evaluation, divided "
          "by 2h, dominates and the error falls as 1/h; right of it the "
          "truncation of the central difference dominates and the error "
          "grows as h<sup>2</sup>.</p>\n<div class=\"chart\" id=\"chart-"
          "sweep\">relative error against the step h (needs JavaScript)"
          "</div>\n</section>\n", f);
    sweep_points(f, w);
    fputs("</main>\n", f);
    page_close(f, sweep_data, &page);
}

gc_status gc_sweep_write_html(const gc_sweep *sweep, const char *config,
                              const char *path, gc_error *err)
{
    if (sweep == NULL || config == NULL || path == NULL || path[0] == '\0'
        || sweep->count == 0)
        return gc_error_set(err, GC_EINVAL, "sweep page: no sweep or no "
                            "file name");
    size_t length = strlen(path);
    char *tmp = malloc(length + sizeof ".tmp");
    if (tmp == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", path);
    snprintf(tmp, length + sizeof ".tmp", "%s.tmp", path);
    gc_status status = GC_OK;
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        status = gc_error_set(err, GC_EIO, "%s: cannot create: %s", tmp,
                              strerror(errno));
    } else {
        sweep_page_write(f, sweep, config);
        int error = file_finish(f);
        if (error != 0) {
            status = gc_error_set(err, GC_EIO, "%s: write failed: %s", tmp,
                                  strerror(error));
            remove(tmp);
        } else if (rename(tmp, path) != 0) {
            status = gc_error_set(err, GC_EIO, "%s: cannot rename %s to "
                                  "it: %s", path, tmp, strerror(errno));
        }
    }
    free(tmp);
    return status;
}

/* ---- opening ------------------------------------------------------------- */

static html_state *state_alloc(const char *path)
{
    size_t length = strlen(path);
    html_state *s = calloc(1, sizeof *s);

    if (s == NULL)
        return NULL;
    s->path = malloc(2 * length + sizeof ".tmp" + 1);
    s->tensors = calloc(GC_HTML_TENSORS_MAX, sizeof *s->tensors);
    s->findings = calloc(GC_HTML_FINDINGS_MAX, sizeof *s->findings);
    bool train = series_init(&s->train, sizeof(html_train), train_merge);
    if (s->path == NULL || s->tensors == NULL || s->findings == NULL
        || !train) {
        state_free(s);
        return NULL;
    }
    memcpy(s->path, path, length + 1);
    s->tmp_path = s->path + length + 1;
    snprintf(s->tmp_path, length + sizeof ".tmp", "%s.tmp", path);
    for (size_t l = 0; l <= GC_HTML_LAYERS_MAX; l++)
        for (int q = 0; q < GC_QTY_COUNT; q++)
            s->strips[l][q].stride = 1;
    s->sink.self = s;
    s->sink.emit = html_emit;
    s->sink.close = html_close;
    return s;
}

gc_status gc_html_sink_open(const char *path, gc_sink **out, gc_error *err)
{
    html_state *s;

    if (out != NULL)
        *out = NULL;
    if (path == NULL || path[0] == '\0' || out == NULL)
        return gc_error_set(err, GC_EINVAL, "HTML report: no file name");
    s = state_alloc(path);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "%s: out of memory", path);
    s->file = fopen(s->tmp_path, "w");
    if (s->file == NULL) {
        gc_status status = gc_error_set(err, GC_EIO, "%s: cannot create: %s",
                                        s->tmp_path, strerror(errno));
        state_free(s);
        return status;
    }
    *out = &s->sink;
    return GC_OK;
}
