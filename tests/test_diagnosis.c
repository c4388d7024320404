/* test_diagnosis.c - the rules that turn evidence into findings
 * (diagnosis.h), fed with evidence built here from values: check events,
 * gradients and deltas of a 3-4-3 network with a softmax output, windowed
 * mean logits and trap events.  Each test asserts which findings come out
 * (stable id, severity, step, layer, tensor), the numbers behind them,
 * and which do not.
 *
 * The full-check evidence is a batch of 2 samples whose softmax rows are
 * dyadic fractions ({1/2, 1/4, 1/4} and {1/8, 5/8, 1/4}), so that the
 * deltas derived from them below are exact and a correct logit gradient
 * sums to exactly 0.
 */
#include "diagnosis.h"
#include "events.h"
#include "model.h"
#include "trap.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>

#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define B 2            /* samples in the checked batch */
#define F 3            /* inputs */
#define H 4            /* hidden units */
#define K 3            /* classes */
#define TENSORS 4
#define PARAMS (H * F + H + K * H + K)
#define FAIL_ABOVE 1e-4          /* the default [checks] fail_above */
#define FINDINGS_MAX 8
#define WINDOW 250               /* steps per training window */

/* Row sums and relative differences: diagnosis.c computes them from the
 * same values as the test, in possibly another order.  Each is a handful
 * of sums of at most 6 terms of size <= 1, each rounding by <= 1/2 ulp,
 * so they agree to ~1e-15 relative; 1e-12 leaves room for any order and
 * is still 1e9 below the differences that decide a finding (GC_LOGIT_SUM_
 * BROKEN is 1e-3). */
#define SUM_REL 1e-12
/* A correct (Jacobian) logit gradient here sums to exactly 0 (dyadic
 * values), but allow the rounding of a 3-term sum relative to its 1-norm,
 * a few DBL_EPSILON; far below GC_LOGIT_SUM_ZERO (1e-5). */
#define ZERO_SUM_ABS (4 * DBL_EPSILON)
/* Values copied through unchanged (a check's rel_error, the batch size,
 * a trap's input statistics): exactly equal. */
#define COPY_REL 0.0
#define COPY_ABS 0.0
/* Forecasts and growth rates: the test evaluates the same closed forms
 * (a difference of exact window means, a division, a log) as diagnosis.c;
 * each step rounds by <= 1/2 ulp, and nothing cancels (the means are
 * small integers, so their differences are exact), so 1e-12 relative is
 * far above rounding and far below a forecast off by a single step
 * (1 / 2e4 = 5e-5 relative). */
#define FORECAST_REL 1e-12
/* The linear model evaluated at its forecast lands on the exp limit:
 * mean + rate * (forecast - step).  forecast - step (~6e4) carries the
 * forecast's rounding, ~1e-11 steps, times a rate of 0.012 logits per
 * step, plus a few ulps of 708: 1e-9 logit units bounds it. */
#define LIMIT_ABS 1e-9

/* ---- small helpers ------------------------------------------------------- */

static const gc_finding_event *find(const gc_finding_event *f, size_t n,
                                    const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(f[i].id, id) == 0)
            return &f[i];
    return NULL;
}

static bool has_evidence(const gc_finding_event *f, const char *name)
{
    for (size_t i = 0; i < f->evidence_count; i++)
        if (strcmp(f->evidence[i].name, name) == 0)
            return true;
    return false;
}

static double evidence_of(const gc_finding_event *f, const char *name)
{
    for (size_t i = 0; i < f->evidence_count; i++)
        if (strcmp(f->evidence[i].name, name) == 0)
            return f->evidence[i].value;
    cr_assert_fail("finding %s has no evidence %s", f->id, name);
    return NAN;
}

static const char *const all_ids[] = {
    "softmax-jacobian-mismatch", "gradient-mismatch", "logit-drift",
    "unstable-softmax", "non-finite",
};

static size_t errors_in(const gc_finding_event *f, size_t n)
{
    size_t errors = 0;
    for (size_t i = 0; i < n; i++)
        errors += f[i].severity == GC_SEVERITY_ERROR;
    return errors;
}

/* Largest |sum_k g[r,k]| / sum_k |g[r,k]| over the rows. */
static double worst_relative_row_sum(const double *g, size_t rows, size_t k)
{
    double worst = 0.0;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0.0, l1 = 0.0;
        for (size_t i = 0; i < k; i++) {
            sum += g[r * k + i];
            l1 += fabs(g[r * k + i]);
        }
        if (l1 > 0.0 && fabs(sum) / l1 > worst)
            worst = fabs(sum) / l1;
    }
    return worst;
}

/* |x - y| / (|x| + |y|), 2-norms over n values. */
static double rel_diff(const double *x, const double *y, size_t n)
{
    double d = 0.0, nx = 0.0, ny = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += (x[i] - y[i]) * (x[i] - y[i]);
        nx += x[i] * x[i];
        ny += y[i] * y[i];
    }
    return sqrt(d) / (sqrt(nx) + sqrt(ny));
}

/* ---- full-check evidence ------------------------------------------------- */

static const double softmax_rows[B * K] = {0.5, 0.25, 0.25,
                                           0.125, 0.625, 0.25};
static const int labels[B] = {0, 1};

typedef struct {
    gc_tensor_info tensors[TENSORS];
    gc_check_event checks[TENSORS];
    double grad[PARAMS], numeric[PARAMS];
    double delta1[B * H], numeric_delta1[B * H];
    double delta2[B * K], numeric_delta2[B * K];
    double out[B * K];
    gc_full_check_evidence ev;
} full_evidence;

/* dL/da of MSE (1/2 sum (a - y)^2) for one row. */
static void mse_da(const double *a, int label, double *g)
{
    for (size_t i = 0; i < K; i++)
        g[i] = a[i] - (i == (size_t)label ? 1.0 : 0.0);
}

/* The right logit gradient of softmax + MSE: s * (g - sum(s g)). */
static void jacobian_delta(const double *s, int label, double *d)
{
    double g[K], sg = 0.0;
    mse_da(s, label, g);
    for (size_t i = 0; i < K; i++)
        sg += s[i] * g[i];
    for (size_t i = 0; i < K; i++)
        d[i] = s[i] * (g[i] - sg);
}

/* The diagonal-only one: g * s(1 - s). */
static void elementwise_delta(const double *s, int label, double *d)
{
    double g[K];
    mse_da(s, label, g);
    for (size_t i = 0; i < K; i++)
        d[i] = g[i] * s[i] * (1.0 - s[i]);
}

static void set_tensor(gc_tensor_info *t, const char *name,
                       gc_tensor_kind kind, size_t layer, size_t rows,
                       size_t cols, size_t offset)
{
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->layer = layer;
    t->rows = rows;
    t->cols = cols;
    t->offset = offset;
}

/* Bias gradient of a layer: the batch mean of its per-sample deltas. */
static void mean_of_rows(const double *delta, size_t width, double *db)
{
    for (size_t i = 0; i < width; i++) {
        double sum = 0.0;
        for (size_t r = 0; r < B; r++)
            sum += delta[r * width + i];
        db[i] = sum / B;
    }
}

/* A healthy full check: every tensor passes, the model's deltas equal the
 * numeric ones, the logit gradients sum to zero. */
static void healthy(full_evidence *e, size_t step)
{
    memset(e, 0, sizeof *e);
    set_tensor(&e->tensors[0], "layer1.W", GC_TENSOR_WEIGHT, 1, H, F, 0);
    set_tensor(&e->tensors[1], "layer1.b", GC_TENSOR_BIAS, 1, H, 1, H * F);
    set_tensor(&e->tensors[2], "layer2.W", GC_TENSOR_WEIGHT, 2, K, H,
               H * F + H);
    set_tensor(&e->tensors[3], "layer2.b", GC_TENSOR_BIAS, 2, K, 1,
               H * F + H + K * H);
    memcpy(e->out, softmax_rows, sizeof e->out);
    for (size_t r = 0; r < B; r++)
        jacobian_delta(softmax_rows + r * K, labels[r],
                       e->numeric_delta2 + r * K);
    for (size_t i = 0; i < B * H; i++)
        e->numeric_delta1[i] = (i % 2 ? -0.01 : 0.02) * (double)(i + 1);
    memcpy(e->delta1, e->numeric_delta1, sizeof e->delta1);
    memcpy(e->delta2, e->numeric_delta2, sizeof e->delta2);
    for (size_t i = 0; i < PARAMS; i++)
        e->numeric[i] = 0.001 * (double)(i + 1) * (i % 3 ? 1.0 : -1.0);
    mean_of_rows(e->numeric_delta1, H, e->numeric + e->tensors[1].offset);
    mean_of_rows(e->numeric_delta2, K, e->numeric + e->tensors[3].offset);
    memcpy(e->grad, e->numeric, sizeof e->grad);
    for (size_t t = 0; t < TENSORS; t++) {
        gc_check_event *c = &e->checks[t];
        memset(c, 0, sizeof *c);
        c->step = step;
        c->layer = e->tensors[t].layer;
        snprintf(c->tensor, sizeof c->tensor, "%s", e->tensors[t].name);
        c->kind = GC_CHECK_ELEMENT;
        snprintf(c->method, sizeof c->method, "preactivation");
        c->verdict = GC_VERDICT_PASS;
        c->rel_error = 2e-10;
        c->elements = e->tensors[t].rows * e->tensors[t].cols;
        c->worst_analytic = e->grad[e->tensors[t].offset];
        c->worst_numeric = e->numeric[e->tensors[t].offset];
    }
    gc_full_check_evidence *ev = &e->ev;
    memset(ev, 0, sizeof *ev);
    ev->step = step;
    ev->tensor_count = TENSORS;
    ev->tensors = e->tensors;
    ev->checks = e->checks;
    ev->grad = e->grad;
    ev->numeric = e->numeric;
    ev->batch_count = B;
    ev->layer_count = 2;
    ev->widths[0] = F;
    ev->widths[1] = H;
    ev->widths[2] = K;
    ev->deltas[1] = e->delta1;
    ev->deltas[2] = e->delta2;
    ev->numeric_deltas[1] = e->numeric_delta1;
    ev->numeric_deltas[2] = e->numeric_delta2;
    ev->output_activations = e->out;
    ev->fail_above = FAIL_ABOVE;
    /* the numeric deltas above are already per-sample, as a sum-reduced
     * model's would be */
    ev->numeric_delta_scale = 1.0;
}

static void mark_failed(full_evidence *e, size_t t, double rel_error)
{
    e->checks[t].verdict = GC_VERDICT_FAIL;
    e->checks[t].rel_error = rel_error;
    e->checks[t].worst_row = 1;
    e->checks[t].worst_col = 2;
    e->checks[t].worst_analytic = 0.75;
    e->checks[t].worst_numeric = 0.5;
}

/* The diagonal-only softmax backward: the output delta is g * s(1 - s),
 * the hidden delta inherits the error, and every tensor fails. */
static void elementwise_mistake(full_evidence *e, size_t step)
{
    healthy(e, step);
    for (size_t r = 0; r < B; r++)
        elementwise_delta(softmax_rows + r * K, labels[r],
                          e->delta2 + r * K);
    for (size_t i = 0; i < B * H; i++)
        e->delta1[i] = 1.3 * e->numeric_delta1[i];
    for (size_t i = 0; i < PARAMS; i++)
        e->grad[i] = 1.1 * e->numeric[i];
    mean_of_rows(e->delta1, H, e->grad + e->tensors[1].offset);
    mean_of_rows(e->delta2, K, e->grad + e->tensors[3].offset);
    mark_failed(e, 0, 0.12);
    mark_failed(e, 1, 0.13);
    mark_failed(e, 2, 0.0775);
    mark_failed(e, 3, 0.31);
}

/* ---- softmax-jacobian-mismatch ------------------------------------------- */

Test(diagnose_full, diagonal_softmax_backward_is_a_softmax_jacobian_mismatch)
{
    full_evidence e;
    elementwise_mistake(&e, 0);
    double sum_model = worst_relative_row_sum(e.delta2, B, K);
    double sum_numeric = worst_relative_row_sum(e.numeric_delta2, B, K);
    cr_assert_gt(sum_model, GC_LOGIT_SUM_BROKEN, "setup: %g", sum_model);

    gc_diagnosis *d = gc_diagnosis_alloc();
    cr_assert_not_null(d);
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    /* one finding: the tensors of layer 1 inherit the output's error */
    cr_assert_eq(n, 1, "%zu findings, first %s", n, n ? out[0].id : "");
    const gc_finding_event *f = &out[0];
    cr_assert_str_eq(f->id, "softmax-jacobian-mismatch");
    cr_assert_eq(f->severity, GC_SEVERITY_ERROR);
    cr_assert_eq(f->step, 0);
    cr_assert_eq(f->layer, 2);
    cr_assert_str_eq(f->tensor, "layer2.W");
    cr_assert(strstr(f->fix, "cross-entropy") != NULL, "%s", f->fix);
    cr_assert(strstr(f->fix, "a - y") != NULL, "%s", f->fix);
    gc_assert_close(evidence_of(f, "logit_grad_sum"), sum_model, SUM_REL,
                    0.0);
    gc_assert_close(evidence_of(f, "numeric_logit_grad_sum"), sum_numeric,
                    0.0, ZERO_SUM_ABS);
    gc_assert_close(evidence_of(f, "numeric_logit_grad_sum"), 0.0, 0.0,
                    ZERO_SUM_ABS);
    gc_assert_close(evidence_of(f, "weight_rel_error"), 0.0775, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "batch"), (double)B, COPY_REL, COPY_ABS);
    gc_assert_close(evidence_of(f, "delta_rel_error"),
                    rel_diff(e.delta2, e.numeric_delta2, B * K), SUM_REL,
                    0.0);
    cr_assert(gc_diagnosis_reported(d, "softmax-jacobian-mismatch"));
    cr_assert(!gc_diagnosis_reported(d, "gradient-mismatch"));

    /* reported once per run: the next full check adds nothing */
    e.ev.step = 500;
    cr_assert_eq(gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX), 0);
    gc_diagnosis_free(d);
}

/* Without deltas, the output bias gradient (the batch mean of the
 * per-sample logit gradients) carries the sums: the model's do not sum to
 * zero, the numeric ones do. */
Test(diagnose_full, softmax_jacobian_mismatch_from_bias_gradient_sums)
{
    full_evidence e;
    elementwise_mistake(&e, 0);
    for (size_t l = 1; l <= 2; l++)
        e.ev.deltas[l] = e.ev.numeric_deltas[l] = NULL;
    e.checks[0].verdict = e.checks[1].verdict = GC_VERDICT_PASS;
    const double *db = e.grad + e.tensors[3].offset;
    const double *ndb = e.numeric + e.tensors[3].offset;
    double sum_model = worst_relative_row_sum(db, 1, K);
    cr_assert_gt(sum_model, GC_LOGIT_SUM_BROKEN, "setup: %g", sum_model);

    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    cr_assert_eq(n, 1, "%zu findings", n);
    cr_assert_str_eq(out[0].id, "softmax-jacobian-mismatch");
    cr_assert_eq(out[0].severity, GC_SEVERITY_ERROR);
    cr_assert_eq(out[0].layer, 2);
    cr_assert_str_eq(out[0].tensor, "layer2.W");
    cr_assert(strstr(out[0].fix, "cross-entropy") != NULL);
    gc_assert_close(evidence_of(&out[0], "logit_grad_sum"), sum_model,
                    SUM_REL, 0.0);
    gc_assert_close(evidence_of(&out[0], "numeric_logit_grad_sum"),
                    worst_relative_row_sum(ndb, 1, K), 0.0, ZERO_SUM_ABS);
    cr_assert(!has_evidence(&out[0], "delta_rel_error"));
    gc_diagnosis_free(d);
}

/* ---- gradient-mismatch ----------------------------------------------------- */

/* The output delta is wrong (twice the right one) but still sums to zero
 * over the classes: a gradient-mismatch rooted at the output delta, not
 * the softmax finding. */
Test(diagnose_full, wrong_output_delta_with_zero_sums_is_gradient_mismatch)
{
    full_evidence e;
    healthy(&e, 0);
    for (size_t i = 0; i < B * K; i++)
        e.delta2[i] = 2.0 * e.numeric_delta2[i];
    for (size_t i = 0; i < B * H; i++)
        e.delta1[i] = 2.0 * e.numeric_delta1[i];
    mark_failed(&e, 2, 0.33);
    mark_failed(&e, 3, 0.33);
    mark_failed(&e, 0, 0.33);
    cr_assert_lt(worst_relative_row_sum(e.delta2, B, K), ZERO_SUM_ABS);

    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    cr_assert_eq(n, 1, "%zu findings", n);
    const gc_finding_event *f = &out[0];
    cr_assert_str_eq(f->id, "gradient-mismatch");
    cr_assert_null(find(out, n, "softmax-jacobian-mismatch"));
    cr_assert_eq(f->severity, GC_SEVERITY_ERROR);
    cr_assert_eq(f->layer, 2);
    cr_assert_str_eq(f->tensor, "layer2.W");
    cr_assert(strstr(f->message, "output delta") != NULL, "%s", f->message);
    gc_assert_close(evidence_of(f, "rel_error"), 0.33, COPY_REL, COPY_ABS);
    gc_assert_close(evidence_of(f, "worst_analytic"), 0.75, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "worst_numeric"), 0.5, COPY_REL,
                    COPY_ABS);
    /* 2x against x: |x| / 3|x| */
    gc_assert_close(evidence_of(f, "delta_rel_error"), 1.0 / 3.0, SUM_REL,
                    0.0);
    cr_assert(!gc_diagnosis_reported(d, "softmax-jacobian-mismatch"));
    gc_diagnosis_free(d);
}

/* No deltas shown, output bias gradient wrong but summing to zero: each
 * failing tensor is its own gradient-mismatch, and none is the softmax
 * finding. */
Test(diagnose_full, failing_output_tensors_with_zero_bias_sums)
{
    full_evidence e;
    healthy(&e, 0);
    for (size_t l = 1; l <= 2; l++)
        e.ev.deltas[l] = e.ev.numeric_deltas[l] = NULL;
    for (size_t i = e.tensors[2].offset; i < PARAMS; i++)
        e.grad[i] = 2.0 * e.numeric[i];
    mark_failed(&e, 2, 0.33);
    mark_failed(&e, 3, 0.33);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    cr_assert_eq(n, 2, "%zu findings", n);
    cr_assert_null(find(out, n, "softmax-jacobian-mismatch"));
    const char *tensors[] = {"layer2.W", "layer2.b"};
    for (size_t i = 0; i < 2; i++) {
        cr_assert_str_eq(out[i].id, "gradient-mismatch");
        cr_assert_eq(out[i].severity, GC_SEVERITY_ERROR);
        cr_assert_eq(out[i].layer, 2);
        cr_assert_str_eq(out[i].tensor, tensors[i]);
        cr_assert(strstr(out[i].message, "does not show its deltas") !=
                      NULL,
                  "%s", out[i].message);
    }
    gc_diagnosis_free(d);
}

/* Broken model sums are not enough: when the numeric sums are not zero
 * either (a loss that is not shift-invariant), or the output rows are not
 * a softmax, the failure is a plain gradient-mismatch. */
Test(diagnose_full, broken_sums_without_a_softmax_are_gradient_mismatch)
{
    for (int c = 0; c < 2; c++) {
        full_evidence e;
        elementwise_mistake(&e, 0);
        if (c == 0) {
            /* the numeric logit gradient does not sum to zero either */
            for (size_t i = 0; i < B * K; i++)
                e.numeric_delta2[i] = 0.5 * e.delta2[i] + 0.01;
        } else {
            /* sigmoid-like rows: in [0, 1] but summing to 1.5 */
            e.out[0] = 0.75;
            e.out[K] = 0.625;
        }
        gc_diagnosis *d = gc_diagnosis_alloc();
        gc_finding_event out[FINDINGS_MAX];
        size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
        cr_assert_eq(n, 1, "case %d: %zu findings", c, n);
        cr_assert_str_eq(out[0].id, "gradient-mismatch", "case %d", c);
        cr_assert_eq(out[0].layer, 2);
        cr_assert(!gc_diagnosis_reported(d, "softmax-jacobian-mismatch"));
        gc_diagnosis_free(d);
    }
}

/* Right deltas, a wrong weight gradient assembled from them: the finding
 * names that tensor and the assembly step. */
Test(diagnose_full, right_delta_wrong_weight_gradient_names_the_assembly)
{
    full_evidence e;
    healthy(&e, 250);
    mark_failed(&e, 0, 0.5);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    cr_assert_eq(n, 1, "%zu findings", n);
    cr_assert_str_eq(out[0].id, "gradient-mismatch");
    cr_assert_eq(out[0].step, 250);
    cr_assert_eq(out[0].layer, 1);
    cr_assert_str_eq(out[0].tensor, "layer1.W");
    cr_assert(strstr(out[0].message, "assembled wrongly") != NULL, "%s",
              out[0].message);
    cr_assert(!has_evidence(&out[0], "delta_rel_error"));
    gc_diagnosis_free(d);
}

/* A mean-reduced model (the built-in engine): the numeric deltas of the
 * batch loss are the per-sample deltas over B.  With the scale given, the
 * right deltas are right and the wrong weight gradient is named as the
 * assembly; without it every delta would look B times too large. */
Test(diagnose_full, mean_reduced_numeric_deltas_are_scaled_by_the_batch)
{
    full_evidence e;
    healthy(&e, 250);
    for (size_t i = 0; i < B * H; i++)
        e.numeric_delta1[i] /= (double)B;
    for (size_t i = 0; i < B * K; i++)
        e.numeric_delta2[i] /= (double)B;
    e.ev.numeric_delta_scale = (double)B;
    mark_failed(&e, 0, 0.5);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX);
    cr_assert_eq(n, 1, "%zu findings", n);
    cr_assert_str_eq(out[0].tensor, "layer1.W");
    cr_assert(strstr(out[0].message, "assembled wrongly") != NULL, "%s",
              out[0].message);
    gc_diagnosis_free(d);
}

/* ---- all-pass evidence ----------------------------------------------------- */

Test(diagnose_clean, all_pass_evidence_gives_no_finding)
{
    full_evidence e;
    healthy(&e, 0);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    cr_assert_eq(gc_diagnose_full_check(d, &e.ev, out, FINDINGS_MAX), 0);
    bool wants = true;
    cr_assert_eq(gc_diagnose_directions(d, e.checks, TENSORS, &wants, out,
                                        FINDINGS_MAX),
                 0);
    cr_assert(!wants);
    /* a healthy training curve: the mean logit wanders within 1 of 0 */
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.softmax_rows = 100;
    for (size_t w = 0; w < 20; w++) {
        double mean = 0.4 * (double)(w % 3) - 0.4 + 0.01 * (double)w;
        gc_train_event t = {WINDOW * (w + 1), WINDOW, 0.5, mean, 3.0, -3.0};
        cr_assert_eq(gc_diagnose_train(d, &t, &m, out, FINDINGS_MAX), 0,
                     "window %zu", w);
    }
    for (size_t i = 0; i < sizeof all_ids / sizeof all_ids[0]; i++)
        cr_assert(!gc_diagnosis_reported(d, all_ids[i]), "%s", all_ids[i]);
    gc_diagnosis_free(d);
}

/* ---- direction checks ------------------------------------------------------ */

Test(diagnose_directions, a_failed_direction_asks_for_one_full_check)
{
    full_evidence e;
    healthy(&e, 0);
    e.checks[2].kind = GC_CHECK_DIRECTION;
    e.checks[2].verdict = GC_VERDICT_FAIL;
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    bool wants = false;
    cr_assert_eq(gc_diagnose_directions(d, e.checks, TENSORS, &wants, out,
                                        FINDINGS_MAX),
                 0);
    cr_assert(wants);
    /* the same tensor is localised once */
    cr_assert_eq(gc_diagnose_directions(d, e.checks, TENSORS, &wants, out,
                                        FINDINGS_MAX),
                 0);
    cr_assert(!wants);
    /* once a gradient finding is out, failures ask for nothing more */
    full_evidence w;
    elementwise_mistake(&w, 0);
    cr_assert_eq(gc_diagnose_full_check(d, &w.ev, out, FINDINGS_MAX), 1);
    e.checks[0].kind = GC_CHECK_DIRECTION;
    e.checks[0].verdict = GC_VERDICT_FAIL;
    cr_assert_eq(gc_diagnose_directions(d, e.checks, TENSORS, &wants, out,
                                        FINDINGS_MAX),
                 0);
    cr_assert(!wants);
    gc_diagnosis_free(d);
}

/* ---- logit-drift ------------------------------------------------------------ */

/* Feeds windows i = 0..count-1 (steps WINDOW, 2 WINDOW, ...) with the given
 * means; asserts no finding before the last and returns the last call's. */
static size_t feed(gc_diagnosis *d, const double *means, size_t count,
                   const gc_trap_monitor *m, gc_finding_event *out)
{
    size_t n = 0;
    for (size_t i = 0; i < count; i++) {
        gc_train_event t = {WINDOW * (i + 1), WINDOW, 0.3, means[i],
                            means[i] + 12.0, means[i] - 9.0};
        n = gc_diagnose_train(d, &t, m, out, FINDINGS_MAX);
        if (i + 1 < count)
            cr_assert_eq(n, 0, "a finding at window %zu (mean %g): %s", i,
                         means[i], n ? out[0].id : "");
    }
    return n;
}

/* The linear extrapolation of the last two windows to the exp limit. */
static double linear_forecast(const double *means, size_t count)
{
    double last = means[count - 1], prev = means[count - 2];
    double rate = (last - prev) / WINDOW;
    double limit = rate < 0.0 ? GC_EXP_ARG_MIN : GC_EXP_ARG_MAX;
    return (double)(WINDOW * count) + (limit - last) / rate;
}

/* Falling by 3 per window from -5 to -23: the 7th window (6 changes, all
 * down, |mean| >= 20) gives logit-drift, a warning for the network. */
Test(diagnose_drift, steady_fall_is_logit_drift_with_its_forecast)
{
    const double means[7] = {-5, -8, -11, -14, -17, -20, -23};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 7, NULL, out);
    cr_assert_eq(n, 1, "%zu findings", n);
    const gc_finding_event *f = &out[0];
    cr_assert_str_eq(f->id, "logit-drift");
    cr_assert_eq(f->severity, GC_SEVERITY_WARNING);
    cr_assert_eq(f->step, 7 * WINDOW);
    cr_assert_eq(f->layer, 0);
    cr_assert_str_eq(f->tensor, "");
    cr_assert_eq(errors_in(out, n), 0);

    double rate = -3.0 / WINDOW;
    double linear = linear_forecast(means, 7);
    /* the linear model reaches exp's lower limit at its forecast */
    gc_assert_close(-23.0 + rate * (linear - 7 * WINDOW), GC_EXP_ARG_MIN,
                    0.0, LIMIT_ABS);
    double growth = log(23.0 / 5.0) / (6.0 * WINDOW);
    double exponential =
        7.0 * WINDOW + log(fabs(GC_EXP_ARG_MIN) / 23.0) / growth;
    gc_assert_close(evidence_of(f, "mean_logit"), -23.0, COPY_REL, COPY_ABS);
    gc_assert_close(evidence_of(f, "rate_per_step"), rate, FORECAST_REL,
                    0.0);
    gc_assert_close(evidence_of(f, "forecast_linear"), linear, FORECAST_REL,
                    0.0);
    gc_assert_close(evidence_of(f, "growth_per_step"), growth, FORECAST_REL,
                    0.0);
    gc_assert_close(evidence_of(f, "forecast_step"), fmin(linear,
                                                          exponential),
                    FORECAST_REL, 0.0);
    cr_assert_leq(evidence_of(f, "forecast_step"), linear);
    cr_assert_gt(evidence_of(f, "forecast_step"), 7.0 * WINDOW);
    gc_assert_close(evidence_of(f, "max_logit"), -23.0 + 12.0, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "min_logit"), -23.0 - 9.0, COPY_REL,
                    COPY_ABS);
    cr_assert(strstr(f->message, "-708.4") != NULL, "%s", f->message);
    cr_assert(strstr(f->fix, "a - y") != NULL, "%s", f->fix);
    /* once per run */
    gc_train_event t = {8 * WINDOW, WINDOW, 0.3, -26.0, 0.0, -40.0};
    cr_assert_eq(gc_diagnose_train(d, &t, NULL, out, FINDINGS_MAX), 0);
    gc_diagnosis_free(d);
}

/* A mean that falls through 0 and keeps falling (34 down to -26) is not
 * growing over the 7 windows (|34| > |26|), so the forecast is exactly
 * the linear extrapolation. */
Test(diagnose_drift, forecast_is_the_linear_extrapolation_when_not_growing)
{
    const double means[7] = {34, 24, 14, 4, -6, -16, -26};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 7, NULL, out);
    cr_assert_eq(n, 1);
    double linear = linear_forecast(means, 7);
    /* by hand: 1750 + (-708.396 + 26) / (-10 / 250) = 18809.9 */
    gc_assert_close(linear, 1750.0 + (GC_EXP_ARG_MIN + 26.0) * -25.0,
                    FORECAST_REL, 0.0);
    gc_assert_close(evidence_of(&out[0], "growth_per_step"), 0.0, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(&out[0], "forecast_step"), linear,
                    FORECAST_REL, 0.0);
    gc_assert_close(evidence_of(&out[0], "forecast_linear"), linear,
                    FORECAST_REL, 0.0);
    gc_diagnosis_free(d);
}

/* Rising logits head for the upper limit of exp's range. */
Test(diagnose_drift, steady_rise_forecasts_the_upper_exp_limit)
{
    const double means[7] = {5, 8, 11, 14, 17, 20, 23};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 7, NULL, out);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(out[0].id, "logit-drift");
    double linear = linear_forecast(means, 7);
    gc_assert_close(23.0 + (3.0 / WINDOW) * (linear - 7 * WINDOW),
                    GC_EXP_ARG_MAX, 0.0, LIMIT_ABS);
    gc_assert_close(evidence_of(&out[0], "forecast_linear"), linear,
                    FORECAST_REL, 0.0);
    cr_assert(strstr(out[0].message, "709.8") != NULL, "%s", out[0].message);
    gc_diagnosis_free(d);
}

/* Logits coming back toward 0 (-100 up to -40) are recovering: the same
 * direction every window, far from 0, but no drift. */
Test(diagnose_drift, a_mean_returning_toward_zero_is_no_drift)
{
    const double means[7] = {-100, -90, -80, -70, -60, -50, -40};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 7, NULL, out);
    cr_assert_eq(n, 0, "%zu findings: %s", n, n ? out[0].message : "");
    gc_diagnosis_free(d);
}

/* A drift that is not growing does not say it is. */
Test(diagnose_drift, a_steady_drift_does_not_claim_to_grow)
{
    const double means[7] = {34, 24, 14, 4, -6, -16, -26};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    cr_assert_eq(feed(d, means, 7, NULL, out), 1);
    cr_assert(strstr(out[0].message, "growing") == NULL, "%s",
              out[0].message);
    gc_diagnosis_free(d);
}

/* The threshold on the size: the same steady fall is no drift while the
 * mean stays within 20 of 0, and is one at the first window beyond. */
Test(diagnose_drift, drift_within_20_of_zero_is_not_reported)
{
    const double means[11] = {-1, -3, -5, -7, -9, -11, -13, -15, -17, -19,
                              -21};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 11, NULL, out);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].step, 11 * WINDOW);
    gc_diagnosis_free(d);
}

/* One reversal among the last 6 changes stops the rule; the finding comes
 * when 6 changes after it all fall. */
Test(diagnose_drift, a_reversal_restarts_the_count)
{
    const double means[11] = {-20, -23, -26, -29, -27, -32, -35, -38, -41,
                              -44, -47};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 11, NULL, out);
    cr_assert_eq(n, 1);
    cr_assert_eq(out[0].step, 11 * WINDOW);
    gc_diagnosis_free(d);
}

/* A window without a mean (a model without the layer view) is skipped:
 * it neither counts as one of the 7 nor breaks the series around it. */
Test(diagnose_drift, windows_without_a_mean_are_skipped)
{
    const double means[8] = {-5, -8, -11, -14, NAN, -17, -20, -23};
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 8, NULL, out);
    cr_assert_eq(n, 1, "%zu findings", n);
    cr_assert_str_eq(out[0].id, "logit-drift");
    gc_assert_close(evidence_of(&out[0], "mean_logit"), -23.0, COPY_REL,
                    COPY_ABS);
    gc_diagnosis_free(d);
}

/* Noise about a flat mean of -30 (beyond the size threshold, so only the
 * direction rule can stop it): no logit-drift over 200 windows.  Also a
 * mean that does not move at all. */
Test(diagnose_drift, noisy_flat_series_is_no_drift)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 20240601u);
    double means[200];
    for (size_t i = 0; i < 200; i++)
        means[i] = -30.0 + 2.0 * gsl_rng_uniform(rng) - 1.0;
    gsl_rng_free(rng);
    /* precondition: flat noise, with no 6 successive moves the same way,
     * though runs of several do occur */
    size_t run = 0, longest = 0;
    for (size_t i = 1; i < 200; i++) {
        bool same = i >= 2 && (means[i] - means[i - 1] > 0.0) ==
                                  (means[i - 1] - means[i - 2] > 0.0);
        run = same ? run + 1 : 1;
        longest = run > longest ? run : longest;
    }
    cr_assert_lt(longest, GC_DRIFT_WINDOWS, "setup: a run of %zu", longest);
    cr_assert_geq(longest, 3, "setup: a run of %zu", longest);

    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.softmax_rows = m.softmax_rows_unshifted = 5000;
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    cr_assert_eq(feed(d, means, 200, &m, out), 0);
    cr_assert(!gc_diagnosis_reported(d, "logit-drift"));
    cr_assert(!gc_diagnosis_reported(d, "unstable-softmax"));
    gc_diagnosis_free(d);

    double flat[20];
    for (size_t i = 0; i < 20; i++)
        flat[i] = -30.0;
    d = gc_diagnosis_alloc();
    cr_assert_eq(feed(d, flat, 20, &m, out), 0);
    gc_diagnosis_free(d);
}

/* ---- unstable-softmax --------------------------------------------------- */

/* A drift while the monitor has seen softmax rows exponentiated raw (a
 * largest exp argument other than 0): unstable-softmax at the same step,
 * with the drift's forecast. */
Test(diagnose_unstable, drift_with_unshifted_softmax_rows)
{
    const double means[7] = {-5, -8, -11, -14, -17, -20, -23};
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.softmax_rows = 1750;
    m.softmax_rows_unshifted = 1750;
    m.exp_arg_max = -11.5;
    m.exp_arg_mean = -23.0;
    m.exp_arg_min = -32.0;
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = feed(d, means, 7, &m, out);
    cr_assert_eq(n, 2, "%zu findings", n);
    const gc_finding_event *drift = find(out, n, "logit-drift");
    const gc_finding_event *f = find(out, n, "unstable-softmax");
    cr_assert_not_null(drift);
    cr_assert_not_null(f);
    cr_assert_eq(f->severity, GC_SEVERITY_WARNING);
    cr_assert_eq(f->step, 7 * WINDOW);
    cr_assert_eq(f->layer, 0);
    gc_assert_close(evidence_of(f, "unshifted_rows"), 1750.0, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "exp_arg_max"), -11.5, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "forecast_step"),
                    evidence_of(drift, "forecast_step"), COPY_REL, COPY_ABS);
    cr_assert(strstr(f->message, "1750 of 1750 rows") != NULL, "%s",
              f->message);
    cr_assert(strstr(f->fix, "max(z)") != NULL, "%s", f->fix);
    cr_assert_eq(errors_in(out, n), 0);
    gc_diagnosis_free(d);
}

/* A max-subtracted softmax (every largest argument 0), or no monitor:
 * the drift alone. */
Test(diagnose_unstable, drift_with_shifted_softmax_is_drift_alone)
{
    const double means[7] = {-5, -8, -11, -14, -17, -20, -23};
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.softmax_rows = 1750;
    m.exp_arg_max = 0.0;
    for (int c = 0; c < 2; c++) {
        gc_diagnosis *d = gc_diagnosis_alloc();
        gc_finding_event out[FINDINGS_MAX];
        size_t n = feed(d, means, 7, c == 0 ? &m : NULL, out);
        cr_assert_eq(n, 1, "case %d: %zu findings", c, n);
        cr_assert_str_eq(out[0].id, "logit-drift");
        cr_assert(!gc_diagnosis_reported(d, "unstable-softmax"));
        gc_diagnosis_free(d);
    }
}

static gc_trap_event trap_event(gc_trap_kind kind, bool fatal, gc_op op,
                                size_t step, size_t layer)
{
    gc_trap_event t;
    memset(&t, 0, sizeof t);
    t.step = step;
    t.layer = layer;
    t.op = op;
    t.kind = kind;
    t.fatal = fatal;
    t.sample = 4;
    t.input_max = -709.98;
    t.input_mean = -711.5;
    t.input_min = -716.25;
    snprintf(t.detail, sizeof t.detail, "largest exp argument of a row is "
             "-709.98, outside [-708.40, 709.78]");
    return t;
}

/* The exp-range trap warning: unstable-softmax on the softmax layer at
 * the trap's step, with the offending row's arguments. */
Test(diagnose_unstable, exp_range_trap_is_unstable_softmax)
{
    gc_trap_event t = trap_event(GC_TRAP_EXP_RANGE, false, GC_OP_SOFTMAX_EXP,
                                 25068, 2);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_trap(d, &t, out, FINDINGS_MAX);
    cr_assert_eq(n, 1);
    const gc_finding_event *f = &out[0];
    cr_assert_str_eq(f->id, "unstable-softmax");
    cr_assert_eq(f->severity, GC_SEVERITY_WARNING);
    cr_assert_eq(f->step, 25068);
    cr_assert_eq(f->layer, 2);
    gc_assert_close(evidence_of(f, "exp_arg_max"), -709.98, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "exp_arg_mean"), -711.5, COPY_REL,
                    COPY_ABS);
    cr_assert(strstr(f->message, "-709.98") != NULL, "%s", f->message);
    cr_assert(strstr(f->fix, "maximum") != NULL, "%s", f->fix);
    /* once per run: a later warning, or the drift rule, adds nothing */
    cr_assert_eq(gc_diagnose_trap(d, &t, out, FINDINGS_MAX), 0);
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.softmax_rows = m.softmax_rows_unshifted = 10;
    const double means[7] = {-5, -8, -11, -14, -17, -20, -23};
    size_t k = feed(d, means, 7, &m, out);
    cr_assert_eq(k, 1);
    cr_assert_str_eq(out[0].id, "logit-drift");
    gc_diagnosis_free(d);
}

/* ---- non-finite ------------------------------------------------------------ */

/* A fatal zero-sum trap: non-finite, an error, at the trap's step and
 * layer, naming the operation and kind, with the trap's values. */
Test(diagnose_trap, fatal_zero_sum_is_non_finite)
{
    gc_trap_event t = trap_event(GC_TRAP_ZERO_SUM, true,
                                 GC_OP_SOFTMAX_NORMALISE, 25305, 2);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_trap(d, &t, out, FINDINGS_MAX);
    cr_assert_eq(n, 1);
    const gc_finding_event *f = &out[0];
    cr_assert_str_eq(f->id, "non-finite");
    cr_assert_eq(f->severity, GC_SEVERITY_ERROR);
    cr_assert_eq(f->step, 25305);
    cr_assert_eq(f->layer, 2);
    cr_assert(strstr(f->message, "softmax-normalise") != NULL, "%s",
              f->message);
    cr_assert(strstr(f->message, "zero-sum") != NULL, "%s", f->message);
    cr_assert(strstr(f->message, "step 25305, layer 2") != NULL, "%s",
              f->message);
    cr_assert(strstr(f->fix, "subtract each row's maximum") != NULL, "%s",
              f->fix);
    gc_assert_close(evidence_of(f, "input_max"), -709.98, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "input_mean"), -711.5, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "input_min"), -716.25, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(f, "sample"), 4.0, COPY_REL, COPY_ABS);
    cr_assert(!gc_diagnosis_reported(d, "unstable-softmax"));
    /* once per run */
    gc_trap_event later = trap_event(GC_TRAP_NAN, true, GC_OP_LOSS, 25306,
                                     2);
    cr_assert_eq(gc_diagnose_trap(d, &later, out, FINDINGS_MAX), 0);
    gc_diagnosis_free(d);
}

/* The fix follows the operation; a non-fatal log-edge gives no finding. */
Test(diagnose_trap, fix_follows_the_operation_and_log_edge_is_silent)
{
    const gc_op ops[] = {GC_OP_LOSS, GC_OP_WEIGHT_UPDATE, GC_OP_DENSE};
    const char *fixes[] = {"log-sum-exp", "lower the learning rate",
                           "histograms"};
    for (size_t i = 0; i < 3; i++) {
        gc_trap_event t = trap_event(GC_TRAP_INF, true, ops[i], 9, 1);
        gc_diagnosis *d = gc_diagnosis_alloc();
        gc_finding_event out[FINDINGS_MAX];
        cr_assert_eq(gc_diagnose_trap(d, &t, out, FINDINGS_MAX), 1);
        cr_assert_str_eq(out[0].id, "non-finite");
        cr_assert(strstr(out[0].fix, fixes[i]) != NULL, "%s: %s",
                  gc_op_name(ops[i]), out[0].fix);
        gc_diagnosis_free(d);
    }
    gc_trap_event edge = trap_event(GC_TRAP_LOG_EDGE, false, GC_OP_LOSS, 9,
                                    2);
    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    cr_assert_eq(gc_diagnose_trap(d, &edge, out, FINDINGS_MAX), 0);
    for (size_t i = 0; i < sizeof all_ids / sizeof all_ids[0]; i++)
        cr_assert(!gc_diagnosis_reported(d, all_ids[i]), "%s", all_ids[i]);
    gc_diagnosis_free(d);
}

/* From values through the monitor to the findings: softmax rows of about
 * -800 exponentiated raw give the exp-range warning (unstable-softmax)
 * and the zero row sum (non-finite), both on layer 2. */
Test(diagnose_trap, monitor_events_become_findings)
{
    gc_trap_monitor m;
    gc_trap_monitor_init(&m);
    m.step = 77;
    double args[K] = {-800.0, -801.0, -803.0};
    double e[K], sums[1], a[K];
    for (size_t i = 0; i < K; i++)
        e[i] = exp(args[i]);
    sums[0] = e[0] + e[1] + e[2];
    for (size_t i = 0; i < K; i++)
        a[i] = e[i] / sums[0];
    gc_op_record exp_op = {GC_OP_SOFTMAX_EXP, 2, e, K, args, K, K};
    gc_op_record normalise = {GC_OP_SOFTMAX_NORMALISE, 2, a, K, sums, 1, K};
    gc_trap_clear_flags();
    gc_trap_hook(&m, &exp_op);
    gc_trap_hook(&m, &normalise);
    cr_assert(m.exp_range_seen);
    cr_assert(m.fatal_seen);

    gc_diagnosis *d = gc_diagnosis_alloc();
    gc_finding_event out[FINDINGS_MAX];
    size_t n = gc_diagnose_trap(d, &m.exp_range, out, FINDINGS_MAX);
    n += gc_diagnose_trap(d, &m.fatal, out + n, FINDINGS_MAX - n);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(out[0].id, "unstable-softmax");
    cr_assert_eq(out[0].severity, GC_SEVERITY_WARNING);
    cr_assert_str_eq(out[1].id, "non-finite");
    cr_assert_eq(out[1].severity, GC_SEVERITY_ERROR);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(out[i].step, 77);
        cr_assert_eq(out[i].layer, 2);
    }
    cr_assert(strstr(out[1].message, "zero-sum") != NULL, "%s",
              out[1].message);
    gc_assert_close(evidence_of(&out[0], "exp_arg_max"), -800.0, COPY_REL,
                    COPY_ABS);
    gc_assert_close(evidence_of(&out[1], "input_max"), -800.0, COPY_REL,
                    COPY_ABS);
    gc_diagnosis_free(d);
}
