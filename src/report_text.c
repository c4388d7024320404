/* report_text.c - the human report (what it shows: docs/report.md).
 *
 * Most events print at once.  Two kinds are gathered first:
 *   - element checks of one step arrive one after another and print as one
 *     table when anything else arrives (or at close), so that the columns
 *     can be sized to the tensor names;
 *   - direction checks arrive every step and would drown the report, so
 *     they are only counted, with the first failure of each tensor, and
 *     printed as one line before the summary (or at close).
 */
#define _POSIX_C_SOURCE 200809L   /* strnlen */

#include "report_text.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define GC_TEXT_WIDTH 78           /* wrap prose before this column */

#define GC_RED "\033[31m"
#define GC_YELLOW "\033[33m"
#define GC_GREEN "\033[32m"
#define GC_BOLD_RED "\033[1;31m"
#define GC_RESET "\033[0m"

/* A fixed-size char field (possibly not terminated) for "%.*s". */
#define GC_FIELD(a) (int)strnlen((a), sizeof(a)), (a)

/* Columns of a histogram sparkline: the bins are merged down to this. */
#define GC_SPARK_COLUMNS 20

/* One histogram's sparkline line, waiting for the step's other ones. */
typedef struct {
    size_t step, layer;
    gc_quantity quantity;
    double min, max;
    size_t nonfinite;
    char spark[GC_SPARK_COLUMNS * 3 + 1];   /* UTF-8: 3 bytes a block */
} gc_spark_line;

/* The first failing direction check of one tensor. */
typedef struct {
    char tensor[32];
    size_t step;
    double rel_error;
} gc_direction_fail;

typedef struct {
    gc_sink sink;
    FILE *out;                     /* the caller's stream */
    gc_text_options opts;

    gc_check_event *table;         /* element checks of one full check */
    size_t table_count, table_cap;

    size_t direction_pass, direction_fail, direction_inconclusive;
    gc_direction_fail *fails;      /* in order of first failure */
    size_t fail_count, fail_cap;
    bool directions_printed;

    bool have_train;               /* the latest training loss, for the */
    gc_train_event train;          /* heading of a full check's table */
    bool have_values_step;         /* the step whose value statistics */
    size_t values_step;            /* already have a heading */

    gc_spark_line *sparks;         /* histograms of one full check */
    size_t spark_count, spark_cap;
} gc_text_state;

/* ---- printing helpers --------------------------------------------------- */

/* printf in colour (NULL: none) when colour is on. */
__attribute__((format(printf, 3, 4)))
static void paint(gc_text_state *s, const char *colour, const char *format,
                  ...)
{
    va_list args;
    bool on = s->opts.color && colour != NULL;

    if (on)
        fputs(colour, s->out);
    va_start(args, format);
    vfprintf(s->out, format, args);
    va_end(args);
    if (on)
        fputs(GC_RESET, s->out);
}

/* Prints the words of text[0..length) from `column` on (where the cursor
 * is), breaking lines before column GC_TEXT_WIDTH; continuation lines
 * start with `hang` spaces.  A word longer than a line is printed whole.
 * Ends the line. */
static void wrap_from(FILE *out, size_t column, size_t hang,
                      const char *text, size_t length)
{
    const char *p = text, *end = text + length;
    bool first = true;

    for (;;) {
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *word = p;
        while (p < end && !isspace((unsigned char)*p))
            p++;
        size_t n = (size_t)(p - word);
        if (n == 0)
            break;
        if (!first && column + 1 + n > GC_TEXT_WIDTH) {
            fprintf(out, "\n%*s", (int)hang, "");
            column = hang;
        } else if (!first) {
            fputc(' ', out);
            column++;
        }
        fwrite(word, 1, n, out);
        column += n;
        first = false;
    }
    fputc('\n', out);
}

/* Prints lead, then text wrapped as by wrap_from. */
static void wrap_print(FILE *out, const char *lead, size_t hang,
                       const char *text, size_t length)
{
    fputs(lead, out);
    wrap_from(out, strlen(lead), hang, text, length);
}

#define wrap_field(out, lead, hang, a) \
    wrap_print((out), (lead), (hang), (a), strnlen((a), sizeof(a)))

static const char *verdict_colour(gc_verdict v)
{
    switch (v) {
    case GC_VERDICT_PASS: return GC_GREEN;
    case GC_VERDICT_FAIL: return GC_RED;
    case GC_VERDICT_INCONCLUSIVE: return GC_YELLOW;
    }
    return NULL;
}

static const char *severity_colour(gc_severity severity)
{
    switch (severity) {
    case GC_SEVERITY_ERROR: return GC_RED;
    case GC_SEVERITY_WARNING: return GC_YELLOW;
    case GC_SEVERITY_INFO: break;
    }
    return NULL;
}

/* "layer 2", or "network" for layer 0 (operations spanning the network). */
static const char *layer_label(size_t layer, char buf[32])
{
    if (layer == 0)
        return "network";
    snprintf(buf, 32, "layer %zu", layer);
    return buf;
}

/* Grows *items (of `size` bytes each) to hold at least need; false when
 * memory runs out (the array is then unchanged). */
static bool array_reserve(void **items, size_t *cap, size_t need,
                          size_t size)
{
    size_t grown = *cap == 0 ? 8 : *cap;
    void *moved;

    if (need <= *cap)
        return true;
    while (grown < need)
        grown *= 2;
    moved = realloc(*items, grown * size);
    if (moved == NULL)
        return false;
    *items = moved;
    *cap = grown;
    return true;
}

/* ---- run ---------------------------------------------------------------- */

static void header_print(gc_text_state *s, const gc_run_event *e)
{
    FILE *out = s->out;

    fprintf(out, "gradcheck %.*s: %.*s\n", GC_FIELD(e->version),
            GC_FIELD(e->config));
    if (e->model[0] != '\0')
        fprintf(out, "  model       %.*s\n", GC_FIELD(e->model));
    fprintf(out, "  network     %.*s\n", GC_FIELD(e->network));
    fprintf(out, "  loss        %.*s, %zu parameters\n", GC_FIELD(e->loss),
            e->parameters);
    fprintf(out, "  data        %zu training, %zu test samples\n",
            e->train_samples, e->test_samples);
    fprintf(out, "  training    %zu steps of batch %zu, learning rate %g\n",
            e->planned_steps, e->batch_size, e->learning_rate);
    fprintf(out, "  seed        %llu, BLAS %.*s\n", e->seed,
            GC_FIELD(e->blas));
}

/* ---- full-check tables -------------------------------------------------- */

/* Widths of the tensor and method columns: the longest entry or title. */
static void table_widths(const gc_text_state *s, int *tensor, int *method)
{
    *tensor = (int)strlen("tensor");
    *method = (int)strlen("method");
    for (size_t i = 0; i < s->table_count; i++) {
        const gc_check_event *c = &s->table[i];
        int t = (int)strnlen(c->tensor, sizeof c->tensor);
        int m = (int)strnlen(c->method, sizeof c->method);
        *tensor = t > *tensor ? t : *tensor;
        *method = m > *method ? m : *method;
    }
}

static void table_heading(gc_text_state *s, int tensor, int method)
{
    fprintf(s->out, "\nfull check at step %zu", s->table[0].step);
    if (s->have_train)
        fprintf(s->out, " (training loss %.4g at step %zu)", s->train.loss,
                s->train.step);
    fprintf(s->out, "\n  layer  %-*s  %-*s  rel.error  verdict\n", tensor,
            "tensor", method, "method");
}

/* The row, then its worst element (and kinks), then why, if said. */
static void table_row(gc_text_state *s, const gc_check_event *c, int tensor,
                      int method)
{
    fprintf(s->out, "  %5zu  %-*.*s  %-*.*s  %9.2e  ", c->layer, tensor,
            GC_FIELD(c->tensor), method, GC_FIELD(c->method), c->rel_error);
    paint(s, verdict_colour(c->verdict), "%s", gc_verdict_name(c->verdict));
    fprintf(s->out, "\n         worst [%zu,%zu] analytic=%.3e numeric=%.3e",
            c->worst_row, c->worst_col, c->worst_analytic, c->worst_numeric);
    if (c->kinks_excluded > 0)
        fprintf(s->out, ", %zu kinks excluded", c->kinks_excluded);
    fputc('\n', s->out);
    if (c->reason[0] != '\0')
        wrap_field(s->out, "         ", 9, c->reason);
}

/* Prints and empties the pending table, if any. */
static void table_flush(gc_text_state *s)
{
    int tensor, method;

    if (s->table_count == 0)
        return;
    table_widths(s, &tensor, &method);
    table_heading(s, tensor, method);
    for (size_t i = 0; i < s->table_count; i++)
        table_row(s, &s->table[i], tensor, method);
    s->table_count = 0;
}

/* Whether an element check belongs to the pending table (same step). */
static bool table_takes(const gc_text_state *s, const gc_event *e)
{
    if (e->kind != GC_EVENT_CHECK || e->u.check.kind != GC_CHECK_ELEMENT)
        return false;
    return s->table_count == 0 || s->table[0].step == e->u.check.step;
}

static gc_status table_add(gc_text_state *s, const gc_check_event *c,
                           gc_error *err)
{
    if (!array_reserve((void **)&s->table, &s->table_cap,
                       s->table_count + 1, sizeof *s->table))
        return gc_error_set(err, GC_ENOMEM, "text report: out of memory "
                            "for the table of step %zu", c->step);
    s->table[s->table_count++] = *c;
    return GC_OK;
}

/* ---- direction checks --------------------------------------------------- */

/* Keeps the first failure of each tensor; later ones only count. */
static gc_status direction_fail_note(gc_text_state *s,
                                     const gc_check_event *c, gc_error *err)
{
    gc_direction_fail *f;

    for (size_t i = 0; i < s->fail_count; i++)
        if (strncmp(s->fails[i].tensor, c->tensor, sizeof c->tensor) == 0)
            return GC_OK;
    if (!array_reserve((void **)&s->fails, &s->fail_cap, s->fail_count + 1,
                       sizeof *s->fails))
        return gc_error_set(err, GC_ENOMEM, "text report: out of memory "
                            "for direction-check failures");
    f = &s->fails[s->fail_count++];
    memcpy(f->tensor, c->tensor, sizeof f->tensor);
    f->step = c->step;
    f->rel_error = c->rel_error;
    return GC_OK;
}

static gc_status direction_count(gc_text_state *s, const gc_check_event *c,
                                 gc_error *err)
{
    switch (c->verdict) {
    case GC_VERDICT_PASS: s->direction_pass++; return GC_OK;
    case GC_VERDICT_INCONCLUSIVE: s->direction_inconclusive++; return GC_OK;
    case GC_VERDICT_FAIL: break;
    }
    s->direction_fail++;
    return direction_fail_note(s, c, err);
}

/* The other tensors that failed, after the first, wrapped. */
static void direction_more_print(gc_text_state *s)
{
    char line[1024] = "";
    size_t used = 0;

    for (size_t i = 1; i < s->fail_count && used < sizeof line; i++) {
        const gc_direction_fail *f = &s->fails[i];
        int n = snprintf(line + used, sizeof line - used,
                         "%s%.*s at step %zu (rel %.1e)", i > 1 ? ", " : "",
                         GC_FIELD(f->tensor), f->step, f->rel_error);
        used += n > 0 ? (size_t)n : 0;
    }
    if (s->fail_count > 1)
        wrap_print(s->out, "  also failed: ", 15, line, strnlen(line,
                                                              sizeof line));
}

/* "direction checks: N pass, M fail (first fail: ...)", printed once. */
static void directions_print(gc_text_state *s)
{
    const gc_direction_fail *first = s->fails;

    if (s->directions_printed || s->direction_pass + s->direction_fail
                                 + s->direction_inconclusive == 0)
        return;
    s->directions_printed = true;
    /* The run records a sample of direction checks (docs/checks.md); the
     * summary below counts every check made. */
    fprintf(s->out, "\ndirection checks recorded: %zu pass",
            s->direction_pass);
    paint(s, s->direction_fail > 0 ? GC_RED : NULL, ", %zu fail",
          s->direction_fail);
    if (s->direction_inconclusive > 0)
        paint(s, GC_YELLOW, ", %zu inconclusive", s->direction_inconclusive);
    if (s->fail_count > 0)
        fprintf(s->out, " (first fail: %.*s at step %zu, rel %.1e)",
                GC_FIELD(first->tensor), first->step, first->rel_error);
    fputc('\n', s->out);
    direction_more_print(s);
}

static gc_status check_take(gc_text_state *s, const gc_check_event *c,
                            gc_error *err)
{
    if (c->kind == GC_CHECK_DIRECTION)
        return direction_count(s, c, err);
    return table_add(s, c, err);
}

/* ---- value statistics (histograms) -------------------------------------- */

/* The counts as at most GC_SPARK_COLUMNS levels of 0..8, each column the
 * sum of an equal group of bins; a column with any value shows at least
 * level 1, so a lone outlier stays visible. */
static void spark_format(const gc_histogram_event *h, bool unicode,
                         char *out, size_t size)
{
    static const char *const blocks[9] = {
        " ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586",
        "\u2587", "\u2588"};
    static const char ascii[] = " .:-=+*#@";
    /* equal groups of bins, so that every column spans the same range */
    size_t group = (h->bins + GC_SPARK_COLUMNS - 1) / GC_SPARK_COLUMNS;
    size_t columns = group == 0 ? 0 : (h->bins + group - 1) / group;
    double sums[GC_SPARK_COLUMNS] = {0}, top = 0.0;
    size_t used = 0;

    out[0] = '\0';
    for (size_t b = 0; b < h->bins && h->counts != NULL; b++)
        sums[b / group] += h->counts[b];
    for (size_t c = 0; c < columns; c++)
        top = sums[c] > top ? sums[c] : top;
    for (size_t c = 0; c < columns && used + 4 <= size; c++) {
        int level = top > 0.0 ? (int)ceil(8.0 * sums[c] / top) : 0;
        level = level < 0 ? 0 : level > 8 ? 8 : level;
        if (unicode) {
            size_t n = strlen(blocks[level]);
            memcpy(out + used, blocks[level], n);
            used += n;
        } else {
            out[used++] = ascii[level];
        }
        out[used] = '\0';
    }
}

static gc_status spark_add(gc_text_state *s, const gc_histogram_event *h,
                           gc_error *err)
{
    gc_spark_line *line;

    if (!array_reserve((void **)&s->sparks, &s->spark_cap,
                       s->spark_count + 1, sizeof *s->sparks))
        return gc_error_set(err, GC_ENOMEM, "text report: out of memory "
                            "for the histograms of step %zu", h->step);
    line = &s->sparks[s->spark_count++];
    line->step = h->step;
    line->layer = h->layer;
    line->quantity = h->quantity;
    line->min = h->min;
    line->max = h->max;
    line->nonfinite = h->nonfinite;
    spark_format(h, s->opts.unicode, line->spark, sizeof line->spark);
    return GC_OK;
}

/* Prints the pending sparklines, layer by layer, in quantity order. */
static void sparks_flush(gc_text_state *s)
{
    size_t top_layer = 0;

    if (s->spark_count == 0)
        return;
    for (size_t i = 0; i < s->spark_count; i++)
        top_layer = s->sparks[i].layer > top_layer ? s->sparks[i].layer
                                                   : top_layer;
    fprintf(s->out, "\nhistograms at step %zu (each from its min to its "
            "max)\n", s->sparks[0].step);
    for (size_t l = 0; l <= top_layer; l++)
        for (int q = 0; q < GC_QTY_COUNT; q++)
            for (size_t i = 0; i < s->spark_count; i++) {
                const gc_spark_line *k = &s->sparks[i];
                if (k->layer != l || (int)k->quantity != q)
                    continue;
                fprintf(s->out, "  layer %-2zu %-16s |%s| %9.2e .. %9.2e",
                        k->layer, gc_quantity_name(k->quantity), k->spark,
                        k->min, k->max);
                if (k->nonfinite > 0)
                    paint(s, GC_YELLOW, " +%zu non-finite", k->nonfinite);
                fputc('\n', s->out);
            }
    s->spark_count = 0;
}

static gc_status histogram_print(gc_text_state *s,
                                 const gc_histogram_event *h, gc_error *err)
{
    if (s->opts.quiet)
        return GC_OK;
    if (s->spark_count > 0 && s->sparks[0].step != h->step)
        sparks_flush(s);
    gc_status status = spark_add(s, h, err);
    if (status != GC_OK || (h->quantity != GC_QTY_WEIGHTS
                            && h->quantity != GC_QTY_ACTIVATIONS))
        return status;
    if (!s->have_values_step || s->values_step != h->step) {
        fprintf(s->out, "\nvalues at step %zu\n", h->step);
        s->have_values_step = true;
        s->values_step = h->step;
    }
    fprintf(s->out, "  layer %-2zu %-11s mean %9.2e std %8.2e "
            "min %9.2e max %9.2e\n", h->layer, gc_quantity_name(h->quantity),
            h->mean, h->std, h->min, h->max);
    if (h->nonfinite > 0)
        paint(s, GC_YELLOW, "            %zu non-finite values left out\n",
              h->nonfinite);
    return GC_OK;
}

/* ---- traps -------------------------------------------------------------- */

/* "at step S, layer L, op X: kind", where a trap happened and what. */
static void trap_where_format(const gc_trap_event *t, char *buf,
                              size_t size)
{
    char layer[32];

    snprintf(buf, size, "at step %zu, %s, op %s: %s", t->step,
             layer_label(t->layer, layer), gc_op_name(t->op),
             gc_trap_kind_name(t->kind));
}

static void trap_print(gc_text_state *s, const gc_trap_event *t)
{
    char where[128];

    trap_where_format(t, where, sizeof where);
    fputc('\n', s->out);
    paint(s, GC_BOLD_RED, "TRAP");
    fprintf(s->out, " %s\n", where);
    if (t->detail[0] != '\0')
        wrap_field(s->out, "  ", 2, t->detail);
    fprintf(s->out, "  inputs: max %.3e, mean %.3e, min %.3e; "
            "first sample %zu\n", t->input_max, t->input_mean, t->input_min,
            t->sample);
}

/* A non-fatal trap: one line (wrapped if the detail is long). */
static void trap_warning_print(gc_text_state *s, const gc_trap_event *t)
{
    char line[128 + sizeof t->detail + 4];
    size_t used;

    trap_where_format(t, line, sizeof line);
    used = strlen(line);
    if (t->detail[0] != '\0')
        snprintf(line + used, sizeof line - used, " (%.*s)",
                 GC_FIELD(t->detail));
    paint(s, GC_YELLOW, "warning");
    fputc(' ', s->out);
    wrap_from(s->out, strlen("warning "), 2, line, strlen(line));
}

/* ---- findings ----------------------------------------------------------- */

/* "name=value, name=value" into buf. */
static void evidence_format(const gc_finding_event *f, char *buf,
                            size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < f->evidence_count && i < GC_EVIDENCE_MAX; i++) {
        const gc_evidence *e = &f->evidence[i];
        int n = snprintf(buf + used, size - used, "%s%.*s=%.4g",
                         i > 0 ? ", " : "", GC_FIELD(e->name), e->value);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

static void finding_print(gc_text_state *s, const gc_finding_event *f)
{
    char evidence[GC_EVIDENCE_MAX * 64];
    char layer[32];

    fputc('\n', s->out);
    paint(s, severity_colour(f->severity), "%s",
          gc_severity_name(f->severity));
    fprintf(s->out, ": %.*s (step %zu, %s", GC_FIELD(f->id), f->step,
            layer_label(f->layer, layer));
    if (f->tensor[0] != '\0')
        fprintf(s->out, ", %.*s", GC_FIELD(f->tensor));
    fputs(")\n", s->out);
    wrap_field(s->out, "  ", 2, f->message);
    evidence_format(f, evidence, sizeof evidence);
    if (evidence[0] != '\0')
        wrap_print(s->out, "  evidence: ", 12, evidence, strlen(evidence));
    if (f->fix[0] != '\0')
        wrap_field(s->out, "  fix: ", 7, f->fix);
}

/* ---- summary ------------------------------------------------------------ */

static const char *stop_reason(const gc_summary_event *e)
{
    if (e->model_failed)
        return "stopped: the model stopped answering";
    if (e->trapped)
        return "stopped by a trap";
    if (e->interrupted)
        return "interrupted";
    return "completed";
}

/* "N pass, M fail, K inconclusive", each coloured when not zero. */
static void summary_checks_print(gc_text_state *s, const gc_summary_event *e)
{
    fputs("  checks         ", s->out);
    paint(s, e->checks_pass > 0 ? GC_GREEN : NULL, "%zu pass",
          e->checks_pass);
    paint(s, e->checks_fail > 0 ? GC_RED : NULL, ", %zu fail",
          e->checks_fail);
    paint(s, e->checks_inconclusive > 0 ? GC_YELLOW : NULL,
          ", %zu inconclusive\n", e->checks_inconclusive);
}

static void summary_findings_print(gc_text_state *s,
                                   const gc_summary_event *e)
{
    fputs("  findings       ", s->out);
    paint(s, e->findings_error > 0 ? GC_RED : NULL, "%zu error",
          e->findings_error);
    paint(s, e->findings_warning > 0 ? GC_YELLOW : NULL, ", %zu warning",
          e->findings_warning);
    fprintf(s->out, ", %zu info\n", e->findings_info);
}

static void summary_print(gc_text_state *s, const gc_summary_event *e)
{
    FILE *out = s->out;

    fprintf(out, "\nsummary\n  steps          %zu, %s\n", e->steps,
            stop_reason(e));
    summary_checks_print(s, e);
    summary_findings_print(s, e);
    fprintf(out, "  final loss     %.6g\n", e->final_loss);
    if (!isnan(e->test_accuracy))
        fprintf(out, "  test accuracy  %.2f%%\n", 100.0 * e->test_accuracy);
    fprintf(out, "  loss evals     %zu (by the checks)\n",
            e->loss_evaluations);
    fprintf(out, "  time           %.1f s\n", e->seconds);
    fprintf(out, "  exit status    %d\n", e->exit_status);
}

/* ---- the sink ----------------------------------------------------------- */

/* Flushes the stream and turns its error flag into GC_EIO. */
static gc_status stream_check(gc_text_state *s, gc_error *err)
{
    if (fflush(s->out) == EOF || ferror(s->out))
        return gc_error_set(err, GC_EIO, "text report: writing to the "
                            "output stream failed: %s", strerror(errno));
    return GC_OK;
}

static gc_status event_print(gc_text_state *s, const gc_event *e,
                             gc_error *err)
{
    switch (e->kind) {
    case GC_EVENT_RUN: header_print(s, &e->u.run); break;
    case GC_EVENT_TRAIN: s->train = e->u.train; s->have_train = true; break;
    case GC_EVENT_CHECK: return check_take(s, &e->u.check, err);
    case GC_EVENT_HISTOGRAM: return histogram_print(s, &e->u.histogram, err);
    case GC_EVENT_TRAP:
        if (e->u.trap.fatal)
            trap_print(s, &e->u.trap);
        else
            trap_warning_print(s, &e->u.trap);
        break;
    case GC_EVENT_FINDING: finding_print(s, &e->u.finding); break;
    case GC_EVENT_SUMMARY:
        directions_print(s);
        summary_print(s, &e->u.summary);
        break;
    }
    return GC_OK;
}

static gc_status text_emit(gc_sink *sink, const gc_event *event,
                           gc_error *err)
{
    gc_text_state *s = sink->self;
    gc_status status;

    if (event == NULL)
        return gc_error_set(err, GC_EINVAL, "text report: NULL event");
    if (!table_takes(s, event))
        table_flush(s);
    if (event->kind != GC_EVENT_HISTOGRAM)
        sparks_flush(s);
    status = event_print(s, event, err);
    if (status != GC_OK)
        return status;
    return stream_check(s, err);
}

/* Prints what is pending and frees the sink; the stream stays open. */
static gc_status text_close(gc_sink *sink, gc_error *err)
{
    gc_text_state *s = sink->self;
    gc_status status;

    table_flush(s);
    sparks_flush(s);
    directions_print(s);
    status = stream_check(s, err);
    free(s->sparks);
    free(s->table);
    free(s->fails);
    free(s);
    return status;
}

gc_status gc_text_sink_open(FILE *stream, const gc_text_options *opts,
                            gc_sink **out, gc_error *err)
{
    gc_text_state *s;

    if (out != NULL)
        *out = NULL;
    if (stream == NULL || out == NULL)
        return gc_error_set(err, GC_EINVAL, "text report: no stream");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "text report: out of memory");
    s->out = stream;
    if (opts != NULL)
        s->opts = *opts;
    s->sink.self = s;
    s->sink.emit = text_emit;
    s->sink.close = text_close;
    *out = &s->sink;
    return GC_OK;
}
