/* diagnosis.c - rules that turn evidence into findings (diagnosis.h). */
#include "diagnosis.h"

#include "trap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys a run can report: each id once per tensor (2 per layer), per delta
 * (1 per layer) or per network, with room for the catalogue to grow to 16
 * ids. */
#define REPORTED_MAX (16 * (3 * GC_MAX_LAYERS + 1))

struct gc_diagnosis {
    /* keys "id|tensor" already reported */
    char reported[REPORTED_MAX][80];
    size_t reported_count;
    /* the training windows, newest last */
    double window_mean[GC_DRIFT_WINDOWS + 1];
    size_t window_step[GC_DRIFT_WINDOWS + 1];
    size_t windows;
    bool drift_seen;
    double drift_rate;          /* logit units per step */
    double drift_forecast;      /* step where exp leaves double's range */
    bool gradient_named;        /* a fingerprint named a gradient mistake */
};

gc_diagnosis *gc_diagnosis_alloc(void)
{
    return calloc(1, sizeof(gc_diagnosis));
}

void gc_diagnosis_free(gc_diagnosis *d)
{
    free(d);
}

/* ---- bookkeeping --------------------------------------------------------- */

static bool seen(const gc_diagnosis *d, const char *id, const char *what)
{
    char key[80];
    snprintf(key, sizeof key, "%s|%s", id, what);
    for (size_t i = 0; i < d->reported_count; i++)
        if (strcmp(d->reported[i], key) == 0)
            return true;
    return false;
}

static void remember(gc_diagnosis *d, const char *id, const char *what)
{
    if (d->reported_count < REPORTED_MAX)
        snprintf(d->reported[d->reported_count++], 80, "%s|%s", id, what);
}

bool gc_diagnosis_reported(const gc_diagnosis *d, const char *id)
{
    size_t n = strlen(id);
    for (size_t i = 0; i < d->reported_count; i++)
        if (strncmp(d->reported[i], id, n) == 0 && d->reported[i][n] == '|')
            return true;
    return false;
}

/* Starts a finding unless (id, what) was reported; returns NULL then or
 * when out is full. */
static gc_finding_event *begin(gc_diagnosis *d, const char *id,
                               const char *what, gc_severity severity,
                               size_t step, size_t layer,
                               gc_finding_event *out, size_t *n, size_t max)
{
    if (*n >= max || seen(d, id, what))
        return NULL;
    remember(d, id, what);
    gc_finding_event *f = &out[(*n)++];
    gc_finding_init(f, id, severity, step, layer);
    return f;
}

/* ---- full check: softmax Jacobian and localisation ----------------------- */

/* Largest |sum_k g[r, k]| / sum_k |g[r, k]| over the rows. */
static double worst_row_sum(const double *g, size_t rows, size_t k)
{
    double worst = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0.0, norm = 0.0;
        for (size_t i = 0; i < k; i++) {
            sum += g[r * k + i];
            norm += fabs(g[r * k + i]);
        }
        if (norm > 0.0)
            worst = fmax(worst, fabs(sum) / norm);
        else if (isnan(sum))
            return NAN;
    }
    return worst;
}

/* rel = |x - s y| / (|x| + |s y|) over n values. */
static double relative_difference(const double *x, const double *y,
                                  double s, size_t n)
{
    double d2 = 0.0, x2 = 0.0, y2 = 0.0;
    for (size_t i = 0; i < n; i++) {
        double yi = s * y[i], d = x[i] - yi;
        d2 += d * d;
        x2 += x[i] * x[i];
        y2 += yi * yi;
    }
    double denominator = sqrt(x2) + sqrt(y2);
    return denominator > 0.0 ? sqrt(d2) / denominator : 0.0;
}

static const gc_check_event *check_of(const gc_full_check_evidence *ev,
                                      size_t layer, gc_tensor_kind kind)
{
    for (size_t t = 0; t < ev->tensor_count; t++)
        if (ev->tensors[t].layer == layer && ev->tensors[t].kind == kind)
            return &ev->checks[t];
    return NULL;
}

static bool layer_fails(const gc_full_check_evidence *ev, size_t layer)
{
    for (size_t t = 0; t < ev->tensor_count; t++)
        if (ev->tensors[t].layer == layer &&
            ev->checks[t].verdict == GC_VERDICT_FAIL)
            return true;
    return false;
}

/* The logit-gradient sums of the model and of the finite differences,
 * per sample where the deltas are shown, else from the output bias
 * gradient (the batch mean of the per-sample deltas). */
static bool logit_sums(const gc_full_check_evidence *ev, double *analytic,
                       double *numeric)
{
    size_t L = ev->layer_count, k = L ? ev->widths[L] : 0;
    if (L && ev->deltas[L] != NULL && ev->numeric_deltas[L] != NULL) {
        *analytic = worst_row_sum(ev->deltas[L], ev->batch_count, k);
        *numeric = worst_row_sum(ev->numeric_deltas[L], ev->batch_count, k);
        return true;
    }
    for (size_t t = 0; t < ev->tensor_count; t++) {
        const gc_tensor_info *ti = &ev->tensors[t];
        bool output_bias = ti->kind == GC_TENSOR_BIAS &&
                           (t + 1 == ev->tensor_count);
        if (!output_bias)
            continue;
        *analytic = worst_row_sum(ev->grad + ti->offset, 1, ti->rows);
        *numeric = worst_row_sum(ev->numeric + ti->offset, 1, ti->rows);
        return !isnan(*numeric);
    }
    return false;
}

static void softmax_finding(gc_finding_event *f,
                            const gc_full_check_evidence *ev, size_t layer,
                            double sum_analytic, double sum_numeric)
{
    const gc_check_event *w = check_of(ev, layer, GC_TENSOR_WEIGHT);
    snprintf(f->tensor, sizeof f->tensor, "layer%zu.W", layer);
    gc_finding_text(f->message, sizeof f->message,
         "the softmax output's logit gradients do not sum to zero: the "
         "backward uses only the diagonal s(1-s) of the softmax Jacobian, "
         "so every step pushes all logits the same way");
    gc_finding_text(f->fix, sizeof f->fix,
         "pair softmax with cross-entropy and use the output delta "
         "dL/dz = a - y (averaged over the batch); or, to keep this loss, "
         "multiply by the full Jacobian: dL/dz = s * (g - sum(s * g)) with "
         "g = dL/da.  Compute the softmax as e / sum(e) with "
         "e = exp(z - max(z)).");
    if (w != NULL)
        gc_finding_evidence(f, "weight_rel_error", w->rel_error);
    gc_finding_evidence(f, "logit_grad_sum", sum_analytic);
    gc_finding_evidence(f, "numeric_logit_grad_sum", sum_numeric);
    gc_finding_evidence(f, "batch", (double)ev->batch_count);
}

/* The highest layer whose delta (dL/dz) disagrees with the numeric one,
 * or 0 when every shown delta agrees (or none is shown). */
static size_t root_delta_layer(const gc_full_check_evidence *ev,
                               double *rel)
{
    for (size_t l = ev->layer_count; l >= 1; l--) {
        if (ev->deltas[l] == NULL || ev->numeric_deltas[l] == NULL)
            return 0;
        *rel = relative_difference(ev->deltas[l], ev->numeric_deltas[l],
                                   ev->numeric_delta_scale,
                                   ev->batch_count * ev->widths[l]);
        if (*rel > ev->fail_above || isnan(*rel))
            return l;
    }
    return 0;
}

/* The highest failing layer above `root` whose tensors are exactly the
 * assembly of its own delta while that delta is off the numeric one by
 * more than the pass band: its delta is wrong, though by less than the
 * fail band, and its tensors inherit it.  0 when there is none; *rel
 * gets that delta's relative error. */
static size_t delta_explained_layer(const gc_full_check_evidence *ev,
                                    size_t root, double *rel)
{
    for (size_t l = ev->layer_count; l > root; l--) {
        double fit;
        if (!layer_fails(ev, l) || ev->numeric_deltas[l] == NULL ||
            !gc_fingerprint_assembled_from_delta(ev, l, &fit))
            continue;
        double r = relative_difference(ev->deltas[l], ev->numeric_deltas[l],
                                       ev->numeric_delta_scale,
                                       ev->batch_count * ev->widths[l]);
        if (r > ev->pass_below) {
            *rel = r;
            return l;
        }
    }
    return 0;
}

static void mismatch_finding(gc_finding_event *f, const gc_check_event *c,
                             const char *where)
{
    snprintf(f->tensor, sizeof f->tensor, "%s", c->tensor);
    gc_finding_text(f->message, sizeof f->message,
         "%s disagrees with finite differences (relative error %.2e); %s",
         c->tensor, c->rel_error, where);
    gc_finding_text(f->fix, sizeof f->fix,
         "compare the backward step named above with its formula, on one "
         "sample (batch_size = 1) where it helps.  Worst element "
         "[%zu,%zu]: analytic %.6g, numeric %.6g", c->worst_row,
         c->worst_col, c->worst_analytic, c->worst_numeric);
    gc_finding_evidence(f, "rel_error", c->rel_error);
    gc_finding_evidence(f, "worst_analytic", c->worst_analytic);
    gc_finding_evidence(f, "worst_numeric", c->worst_numeric);
    if (c->analytic_all_zero)
        gc_finding_evidence(f, "analytic_all_zero", 1.0);
}

/* The root: the output delta (softmax or not) or a hidden delta. */
static void report_root(gc_diagnosis *d, const gc_full_check_evidence *ev,
                        size_t root, double delta_rel, gc_finding_event *out,
                        size_t *n, size_t max)
{
    size_t L = ev->layer_count;
    double sum_a = NAN, sum_n = NAN;
    bool softmax = gc_rows_look_like_softmax(ev->output_activations,
                                          ev->batch_count,
                                          L ? ev->widths[L] : 0);
    if (root == L && softmax && logit_sums(ev, &sum_a, &sum_n) &&
        sum_a > GC_LOGIT_SUM_BROKEN && sum_n < GC_LOGIT_SUM_ZERO) {
        gc_finding_event *f = begin(d, "softmax-jacobian-mismatch", "",
                                    GC_SEVERITY_ERROR, ev->step, L, out, n,
                                    max);
        if (f != NULL) {
            softmax_finding(f, ev, L, sum_a, sum_n);
            gc_finding_evidence(f, "delta_rel_error", delta_rel);
        }
        return;
    }
    const gc_check_event *c = check_of(ev, root, GC_TENSOR_WEIGHT);
    char what[32];
    snprintf(what, sizeof what, "delta%zu", root);
    gc_finding_event *f = begin(d, "gradient-mismatch", what,
                                GC_SEVERITY_ERROR, ev->step, root, out, n,
                                max);
    if (f == NULL || c == NULL)
        return;
    char where[160];
    snprintf(where, sizeof where,
             "the backward's dL/dz of layer %zu is already wrong (%s delta, "
             "relative error %.2e); the layers below inherit it", root,
             root == L ? "output" : "hidden", delta_rel);
    mismatch_finding(f, c, where);
    gc_finding_evidence(f, "delta_rel_error", delta_rel);
}

size_t gc_diagnose_full_check(gc_diagnosis *d,
                              const gc_full_check_evidence *ev,
                              gc_finding_event *out, size_t max)
{
    size_t n = 0;
    double delta_rel = NAN;
    size_t root = root_delta_layer(ev, &delta_rel);
    if (root != 0 && !layer_fails(ev, root))
        root = 0;   /* a delta off by less than its tensors show: each
                       failing tensor below speaks for itself */
    size_t inherited = delta_explained_layer(ev, root, &delta_rel);
    if (inherited != 0)
        root = inherited;
    /* A mistake the fingerprints name explains every failing tensor:
     * reported once, in place of the plain mismatches. */
    gc_finding_event named;
    if (gc_fingerprint_full_check(ev, root, &named)) {
        d->gradient_named = true;
        if (max > 0 && !seen(d, named.id, "")) {
            remember(d, named.id, "");
            out[n++] = named;
        }
        return n;
    }
    if (root != 0)
        report_root(d, ev, root, delta_rel, out, &n, max);
    /* Without a delta comparison at the output (a plugin or pipe, a
     * snapshot), the output layer's logit gradients still show a softmax
     * backward that is not shift-invariant; that output delta is then the
     * root, and the layers below inherit it, as with a compared delta. */
    size_t L = ev->layer_count;
    double out_sum_a, out_sum_n;
    if (root == 0 && L > 0 && layer_fails(ev, L) &&
        (ev->deltas[L] == NULL || ev->numeric_deltas[L] == NULL) &&
        gc_rows_look_like_softmax(ev->output_activations, ev->batch_count,
                                  ev->widths[L]) &&
        logit_sums(ev, &out_sum_a, &out_sum_n) &&
        out_sum_a > GC_LOGIT_SUM_BROKEN && out_sum_n < GC_LOGIT_SUM_ZERO) {
        gc_finding_event *f = begin(d, "softmax-jacobian-mismatch", "",
                                    GC_SEVERITY_ERROR, ev->step, L, out, &n,
                                    max);
        if (f != NULL)
            softmax_finding(f, ev, L, out_sum_a, out_sum_n);
        root = L;
    }
    for (size_t t = 0; t < ev->tensor_count; t++) {
        const gc_check_event *c = &ev->checks[t];
        size_t layer = ev->tensors[t].layer;
        if (c->verdict != GC_VERDICT_FAIL || (root != 0 && layer <= root))
            continue;
        /* No delta is shown, or this layer's delta is right: either way
         * the tensor itself is what the evidence points at. */
        double sum_a, sum_n;
        bool softmax = gc_rows_look_like_softmax(
            ev->output_activations, ev->batch_count,
            ev->layer_count ? ev->widths[ev->layer_count] : 0);
        /* No delta comparison here (no delta shown, or no numeric one,
         * as for a plugin or pipe): the output bias gradient carries the
         * batch mean of the logit gradients (logit_sums). */
        if (ev->layer_count == 0 || ev->deltas[layer] == NULL ||
            ev->numeric_deltas[layer] == NULL) {
            if (softmax && layer == ev->layer_count &&
                logit_sums(ev, &sum_a, &sum_n) &&
                sum_a > GC_LOGIT_SUM_BROKEN && sum_n < GC_LOGIT_SUM_ZERO) {
                gc_finding_event *f = begin(
                    d, "softmax-jacobian-mismatch", "", GC_SEVERITY_ERROR,
                    ev->step, layer, out, &n, max);
                if (f != NULL)
                    softmax_finding(f, ev, layer, sum_a, sum_n);
                continue;
            }
        }
        gc_finding_event *f = begin(d, "gradient-mismatch", c->tensor,
                                    GC_SEVERITY_ERROR, ev->step, layer, out,
                                    &n, max);
        if (f == NULL)
            continue;
        bool delta_compared = ev->deltas[layer] != NULL &&
                              ev->numeric_deltas[layer] != NULL;
        const char *where =
            delta_compared
                ? (ev->tensors[t].kind == GC_TENSOR_WEIGHT
                       ? "the layer's delta is right, so the weight "
                         "gradient is assembled wrongly from it (expected "
                         "dW = delta^T a_in / batch)"
                       : "the layer's delta is right, so the bias gradient "
                         "is assembled wrongly from it (expected "
                         "db = mean of delta over the batch)")
                : ev->deltas[layer] != NULL
                      ? "this check method has no numeric deltas to "
                        "compare the layer's delta with (the "
                        "preactivation method has), so the mistake is not "
                        "localised further"
                      : "the model does not show its deltas, so the "
                        "mistake cannot be localised further";
        mismatch_finding(f, c, where);
    }
    return n;
}

/* ---- direction checks ---------------------------------------------------- */

size_t gc_diagnose_directions(gc_diagnosis *d, const gc_check_event *checks,
                              size_t count, bool *wants_full_check,
                              gc_finding_event *out, size_t max)
{
    (void)out;
    (void)max;
    *wants_full_check = false;
    if (d->gradient_named ||
        gc_diagnosis_reported(d, "softmax-jacobian-mismatch") ||
        gc_diagnosis_reported(d, "gradient-mismatch"))
        return 0;
    for (size_t t = 0; t < count; t++) {
        const gc_check_event *c = &checks[t];
        if (c->verdict != GC_VERDICT_FAIL ||
            seen(d, "localise", c->tensor))
            continue;
        /* localise each tensor once: the full check it asks for either
         * explains the failure or shows it does not hold element-wise */
        remember(d, "localise", c->tensor);
        *wants_full_check = true;
    }
    return 0;
}

/* ---- training curve ------------------------------------------------------ */

static bool same_direction(const gc_diagnosis *d)
{
    int sign = 0;
    for (size_t i = 1; i <= GC_DRIFT_WINDOWS; i++) {
        double change = d->window_mean[i] - d->window_mean[i - 1];
        int s = change > 0.0 ? 1 : (change < 0.0 ? -1 : 0);
        if (s == 0 || (sign != 0 && s != sign))
            return false;
        sign = s;
    }
    return true;
}

/* The drift of a buggy softmax accelerates (the logits' own size feeds
 * the push), so besides the linear forecast the magnitude is fitted as
 * |m| ~ exp(growth * step) over the windows; returns growth per step, or
 * 0 when the magnitude is not growing. */
static double drift_growth(const gc_diagnosis *d)
{
    double first = fabs(d->window_mean[0]);
    double last = fabs(d->window_mean[d->windows - 1]);
    double steps = (double)(d->window_step[d->windows - 1] -
                            d->window_step[0]);
    if (!(first > 0.0) || !(last > first) || !(steps > 0.0))
        return 0.0;
    return log(last / first) / steps;
}

static void push_window(gc_diagnosis *d, const gc_train_event *t)
{
    if (d->windows == GC_DRIFT_WINDOWS + 1) {
        memmove(d->window_mean, d->window_mean + 1,
                GC_DRIFT_WINDOWS * sizeof(double));
        memmove(d->window_step, d->window_step + 1,
                GC_DRIFT_WINDOWS * sizeof(size_t));
        d->windows--;
    }
    d->window_mean[d->windows] = t->mean_logit;
    d->window_step[d->windows] = t->step;
    d->windows++;
}

static size_t unstable_softmax_from_drift(gc_diagnosis *d,
                                          const gc_trap_monitor *m,
                                          size_t step, size_t layer,
                                          gc_finding_event *out, size_t max)
{
    size_t n = 0;
    if (m == NULL || m->softmax_rows == 0 || m->softmax_rows_unshifted == 0)
        return 0;
    gc_finding_event *f = begin(d, "unstable-softmax", "",
                                GC_SEVERITY_WARNING, step, layer, out, &n,
                                max);
    if (f == NULL)
        return 0;
    gc_finding_text(f->message, sizeof f->message,
         "the softmax exponentiates the raw logits (the largest exp "
         "argument of %zu of %zu rows was not 0) while they drift toward "
         "the end of exp's range; exp will underflow to 0 or overflow "
         "near step %.0f", m->softmax_rows_unshifted, m->softmax_rows,
         d->drift_forecast);
    gc_finding_text(f->fix, sizeof f->fix,
         "subtract each row's maximum before exp: a = exp(z - max(z)) / "
         "sum(exp(z - max(z))); the result is unchanged and exp never "
         "overflows, and the sum is at least 1");
    gc_finding_evidence(f, "unshifted_rows", (double)m->softmax_rows_unshifted);
    gc_finding_evidence(f, "exp_arg_max", m->exp_arg_max);
    gc_finding_evidence(f, "forecast_step", d->drift_forecast);
    return n;
}

size_t gc_diagnose_train(gc_diagnosis *d, const gc_train_event *t,
                         const gc_trap_monitor *monitor,
                         gc_finding_event *out, size_t max)
{
    if (!isfinite(t->mean_logit))
        return 0;
    push_window(d, t);
    if (d->drift_seen || d->windows < GC_DRIFT_WINDOWS + 1 ||
        fabs(t->mean_logit) < GC_DRIFT_MIN_LOGIT || !same_direction(d))
        return 0;
    size_t last = d->windows - 1;
    double steps = (double)(d->window_step[last] - d->window_step[last - 1]);
    double rate = (d->window_mean[last] - d->window_mean[last - 1]) / steps;
    /* Logits coming back toward 0 are recovering, not drifting. */
    if ((rate < 0.0) != (t->mean_logit < 0.0))
        return 0;
    double limit = rate < 0.0 ? GC_EXP_ARG_MIN : GC_EXP_ARG_MAX;
    double linear = (double)t->step + (limit - t->mean_logit) / rate;
    double growth = drift_growth(d);
    double exponential = growth > 0.0
        ? (double)t->step + log(fabs(limit) / fabs(t->mean_logit)) / growth
        : INFINITY;
    d->drift_seen = true;
    d->drift_rate = rate;
    d->drift_forecast = fmin(linear, exponential);
    size_t n = 0;
    gc_finding_event *f = begin(d, "logit-drift", "", GC_SEVERITY_WARNING,
                                t->step, 0, out, &n, max);
    if (f == NULL)
        return 0;
    gc_finding_text(f->message, sizeof f->message,
         "the mean output pre-activation moved the same way in each of "
         "the last %d windows, to %.4g at %.3g per step%s; it reaches "
         "the end of exp's range (%.1f) near step %.0f",
         GC_DRIFT_WINDOWS, t->mean_logit, rate,
         growth > 0.0 ? " and growing" : "", limit, d->drift_forecast);
    gc_finding_text(f->fix, sizeof f->fix,
         "logits that all move together mean the gradient with respect to "
         "the logits does not sum to zero over the classes; check the "
         "output delta (softmax with cross-entropy: a - y), and lower the "
         "learning rate if the gradient is right");
    gc_finding_evidence(f, "mean_logit", t->mean_logit);
    gc_finding_evidence(f, "rate_per_step", rate);
    gc_finding_evidence(f, "forecast_step", d->drift_forecast);
    gc_finding_evidence(f, "forecast_linear", linear);
    gc_finding_evidence(f, "growth_per_step", growth);
    gc_finding_evidence(f, "max_logit", t->max_logit);
    gc_finding_evidence(f, "min_logit", t->min_logit);
    n += unstable_softmax_from_drift(d, monitor, t->step, 0, out + n,
                                     max - n);
    return n;
}

/* ---- the update ---------------------------------------------------------- */

size_t gc_diagnose_update(gc_diagnosis *d, const gc_update_evidence *u,
                          gc_finding_event *out, size_t max)
{
    gc_finding_event named;
    if (max == 0 || seen(d, "update-ascent", "") ||
        !gc_fingerprint_update(u, &named))
        return 0;
    remember(d, named.id, "");
    out[0] = named;
    return 1;
}

/* ---- traps --------------------------------------------------------------- */

static const char *fix_for_op(gc_op op)
{
    switch (op) {
    case GC_OP_SOFTMAX_EXP:
    case GC_OP_SOFTMAX_NORMALISE:
        return "subtract each row's maximum before exp so the row sum is "
               "at least 1, and find what drove the logits there (a "
               "logit-drift or gradient finding above)";
    case GC_OP_LOSS:
        return "compute the loss from the logits (log-sum-exp) or clamp "
               "probabilities away from 0 and 1 before log";
    case GC_OP_WEIGHT_UPDATE:
        return "the update diverged: lower the learning rate, and check "
               "the gradient findings above";
    default:
        return "find the first layer whose values grow without bound in "
               "the histograms; check the gradient findings above and the "
               "learning rate";
    }
}

size_t gc_diagnose_trap(gc_diagnosis *d, const gc_trap_event *trap,
                        gc_finding_event *out, size_t max)
{
    size_t n = 0;
    if (trap->kind == GC_TRAP_EXP_RANGE) {
        gc_finding_event *f = begin(d, "unstable-softmax", "",
                                    GC_SEVERITY_WARNING, trap->step,
                                    trap->layer, out, &n, max);
        if (f == NULL)
            return n;
        gc_finding_text(f->message, sizeof f->message,
             "a softmax exp argument left the range where exp is a normal "
             "finite double: %s", trap->detail);
        gc_finding_text(f->fix, sizeof f->fix, "%s", fix_for_op(GC_OP_SOFTMAX_EXP));
        gc_finding_evidence(f, "exp_arg_max", trap->input_max);
        gc_finding_evidence(f, "exp_arg_mean", trap->input_mean);
        return n;
    }
    if (!trap->fatal)
        return 0;
    gc_finding_event *f = begin(d, "non-finite", "", GC_SEVERITY_ERROR,
                                trap->step, trap->layer, out, &n, max);
    if (f == NULL)
        return n;
    gc_finding_text(f->message, sizeof f->message,
         "first non-finite value at step %zu, layer %zu, operation %s "
         "(%s): %s", trap->step, trap->layer, gc_op_name(trap->op),
         gc_trap_kind_name(trap->kind), trap->detail);
    gc_finding_text(f->fix, sizeof f->fix, "%s", fix_for_op(trap->op));
    gc_finding_evidence(f, "input_max", trap->input_max);
    gc_finding_evidence(f, "input_mean", trap->input_mean);
    gc_finding_evidence(f, "input_min", trap->input_min);
    gc_finding_evidence(f, "sample", (double)trap->sample);
    gc_finding_event named;
    if (n < max && gc_fingerprint_trap(trap, &named) &&
        !seen(d, named.id, "")) {
        remember(d, named.id, "");
        out[n++] = named;
    }
    return n;
}
