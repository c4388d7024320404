/* test_fingerprint.c - the fingerprints name the mistake that made a
 * gradient wrong, from values alone, and name nothing on a right one.
 *
 * Two layers of tests:
 * - end to end: every catalogue mistake's fixture (fixtures/networks/
 *   mistake-*.cfg) runs through gc_run() with a sink that collects the
 *   finding ids, and the named mistake must be the one injected, with no
 *   other mistake named beside it; every control must get no mistake
 *   named at all.  The run reads the config's [as-written] keys only
 *   through the engine; the fingerprints see the values.
 * - unit: hand-made evidence for each hypothesis, and the near misses
 *   that must not be named (a right gradient marked failing, a mismatch
 *   too small to explain, a hypothesis that is only roughly right).
 */
#include "config.h"
#include "fingerprint.h"
#include "run.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* ---- end to end ---------------------------------------------------------- */

#define IDS_MAX 64

typedef struct {
    char ids[IDS_MAX][40];
    size_t count;
} id_list;

static gc_status collect(gc_sink *sink, const gc_event *event, gc_error *err)
{
    (void)err;
    id_list *list = sink->self;
    if (event->kind == GC_EVENT_FINDING && list->count < IDS_MAX)
        snprintf(list->ids[list->count++], 40, "%s", event->u.finding.id);
    return GC_OK;
}

static gc_status close_nothing(gc_sink *sink, gc_error *err)
{
    (void)sink;
    (void)err;
    return GC_OK;
}

static bool has(const id_list *list, const char *id)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->ids[i], id) == 0)
            return true;
    return false;
}

/* The ids that name a catalogue mistake (the fingerprints' and the
 * softmax Jacobian's). */
static const char *const mistake_ids[] = {
    "softmax-jacobian-mismatch", "softmax-bce-mismatch",
    "derivative-at-activation", "output-delta-missing-derivative",
    "weight-gradient-from-output", "missing-bias-gradient",
    "batch-sum-not-mean", "weight-gradient-transposed", "update-ascent",
    "unclamped-log",
};
#define MISTAKE_ID_COUNT (sizeof mistake_ids / sizeof mistake_ids[0])

static void run_fixture(const char *name, id_list *list)
{
    static gc_spec spec;
    char path[512];
    gc_error err;
    snprintf(path, sizeof path, "%s/fixtures/networks/%s", GC_SOURCE_DIR,
             name);
    cr_assert_eq(gc_config_load(path, &spec, &err), GC_OK, "%s: %s", name,
                 err.message);
    memset(list, 0, sizeof *list);
    gc_sink sink = {list, collect, close_nothing};
    gc_sink *sinks[] = {&sink};
    gc_summary_event summary;
    cr_assert_eq(gc_run(&spec, sinks, 1, NULL, &summary, &err), GC_OK,
                 "%s: %s", name, err.message);
}

typedef struct {
    const char *fixture;
    const char *expected;
} named_case;

static const named_case cases[] = {
    {"mistake-softmax_derivative.cfg", "softmax-jacobian-mismatch"},
    {"mistake-softmax_derivative-bce.cfg", "softmax-bce-mismatch"},
    {"mistake-derivative_at_activation.cfg", "derivative-at-activation"},
    {"mistake-output_delta_skips_activation.cfg",
     "output-delta-missing-derivative"},
    {"mistake-weight_gradient_from_output.cfg",
     "weight-gradient-from-output"},
    {"mistake-weight_gradient_transposed.cfg", "weight-gradient-transposed"},
    {"mistake-no_bias_gradient.cfg", "missing-bias-gradient"},
    {"mistake-batch_sum.cfg", "batch-sum-not-mean"},
    {"mistake-update_ascent.cfg", "update-ascent"},
    {"mistake-log_unclamped.cfg", "unclamped-log"},
};

Test(fingerprint, every_catalogue_mistake_is_named_and_only_it)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        id_list list;
        run_fixture(cases[c].fixture, &list);
        cr_expect(has(&list, cases[c].expected), "%s: %s not named",
                  cases[c].fixture, cases[c].expected);
        for (size_t i = 0; i < MISTAKE_ID_COUNT; i++)
            cr_expect(strcmp(mistake_ids[i], cases[c].expected) == 0 ||
                          !has(&list, mistake_ids[i]),
                      "%s: %s named beside %s", cases[c].fixture,
                      mistake_ids[i], cases[c].expected);
        cr_expect(!has(&list, "gradient-mismatch"),
                  "%s: a failure was left unexplained beside %s",
                  cases[c].fixture, cases[c].expected);
    }
}

Test(fingerprint, correct_controls_get_no_mistake_named)
{
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char control[160];
        size_t stem = strlen(cases[c].fixture) - strlen(".cfg");
        snprintf(control, sizeof control, "%.*s-control.cfg", (int)stem,
                 cases[c].fixture);
        id_list list;
        run_fixture(control, &list);
        for (size_t i = 0; i < MISTAKE_ID_COUNT; i++)
            cr_expect(!has(&list, mistake_ids[i]), "%s: %s named", control,
                      mistake_ids[i]);
        cr_expect(!has(&list, "gradient-mismatch"), "%s: a mismatch",
                  control);
    }
}

/* ---- unit: hand-made evidence -------------------------------------------- */

/* One dense layer, 3 -> 3, so that the square-layer hypotheses apply:
 * tensors layer1.W (3x3, offset 0) and layer1.b (3, offset 9). */
#define N 3
#define PARAMS (N * N + N)
#define BAND 1e-4      /* the default [checks] fail_above */

typedef struct {
    gc_tensor_info tensors[2];
    gc_check_event checks[2];
    double grad[PARAMS], numeric[PARAMS];
    gc_full_check_evidence ev;
} fixture;

/* A gradient that is right: numeric[i] is an arbitrary non-symmetric
 * matrix and bias, and grad equals it; both checks pass. */
static void fixture_init(fixture *f, size_t batch)
{
    memset(f, 0, sizeof *f);
    f->tensors[0] = (gc_tensor_info){"layer1.W", GC_TENSOR_WEIGHT, 1, N, N,
                                     0};
    f->tensors[1] = (gc_tensor_info){"layer1.b", GC_TENSOR_BIAS, 1, N, 1,
                                     N * N};
    for (size_t i = 0; i < PARAMS; i++)
        f->numeric[i] = f->grad[i] = 0.1 * (double)(i + 1) *
                                     (i % 2 ? -1.0 : 1.0);
    for (size_t t = 0; t < 2; t++) {
        snprintf(f->checks[t].tensor, sizeof f->checks[t].tensor, "%s",
                 f->tensors[t].name);
        f->checks[t].verdict = GC_VERDICT_PASS;
        f->checks[t].numeric_norm = 1.0;
    }
    f->ev.tensor_count = 2;
    f->ev.tensors = f->tensors;
    f->ev.checks = f->checks;
    f->ev.grad = f->grad;
    f->ev.numeric = f->numeric;
    f->ev.batch_count = batch;
    f->ev.layer_count = 0;          /* a black box: no deltas */
    f->ev.numeric_delta_scale = (double)batch;
    f->ev.fail_above = BAND;
}

static void fail_all(fixture *f)
{
    for (size_t t = 0; t < 2; t++)
        f->checks[t].verdict = GC_VERDICT_FAIL;
}

Test(fingerprint_unit, a_right_gradient_marked_failing_is_not_named)
{
    /* Even if a check says fail, a gradient equal to the numeric one
     * leaves no mismatch for any hypothesis to explain. */
    fixture f;
    fixture_init(&f, 4);
    fail_all(&f);
    gc_finding_event out;
    cr_assert(!gc_fingerprint_full_check(&f.ev, 0, &out), "named %s",
              out.id);
}

Test(fingerprint_unit, batch_sum_is_named_from_the_ratio)
{
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = 0; i < PARAMS; i++)
        f.grad[i] = 4.0 * f.numeric[i];
    fail_all(&f);
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&f.ev, 0, &out));
    cr_assert_str_eq(out.id, "batch-sum-not-mean");
    cr_assert_eq(out.severity, GC_SEVERITY_ERROR);
    /* the fitted ratio is exactly 4 up to rounding of a few sums */
    gc_assert_close(out.evidence[0].value, 4.0, 1e-12, 0.0);
}

Test(fingerprint_unit, a_ratio_other_than_the_batch_is_not_batch_sum)
{
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = 0; i < PARAMS; i++)
        f.grad[i] = 3.0 * f.numeric[i];    /* 3, not B = 4 */
    fail_all(&f);
    gc_finding_event out;
    cr_assert(!gc_fingerprint_full_check(&f.ev, 0, &out), "named %s",
              out.id);
}

Test(fingerprint_unit, missing_bias_needs_exact_zero_and_right_weights)
{
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = N * N; i < PARAMS; i++)
        f.grad[i] = 0.0;
    f.checks[1].verdict = GC_VERDICT_FAIL;
    f.checks[1].analytic_all_zero = true;
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&f.ev, 0, &out));
    cr_assert_str_eq(out.id, "missing-bias-gradient");

    /* the weights failing too: something else is wrong as well */
    f.checks[0].verdict = GC_VERDICT_FAIL;
    for (size_t i = 0; i < N * N; i++)
        f.grad[i] = -f.numeric[i];
    cr_assert(!gc_fingerprint_full_check(&f.ev, 0, &out), "named %s",
              out.id);
}

Test(fingerprint_unit, transposed_weight_gradient_is_named)
{
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            f.grad[i * N + j] = f.numeric[j * N + i];
    f.checks[0].verdict = GC_VERDICT_FAIL;
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&f.ev, 0, &out));
    cr_assert_str_eq(out.id, "weight-gradient-transposed");
    cr_assert_str_eq(out.tensor, "layer1.W");
    cr_assert_eq(out.layer, 1);
}

Test(fingerprint_unit, unchecked_elements_are_left_out_of_the_transpose)
{
    /* A sampled element check leaves NaN in the numeric gradient; the
     * transpose test compares only pairs that were both checked. */
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            f.grad[i * N + j] = f.numeric[j * N + i];
    f.numeric[1] = NAN;     /* element [0][1]: its pair [1][0] drops too */
    f.checks[0].verdict = GC_VERDICT_FAIL;
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&f.ev, 0, &out));
    cr_assert_str_eq(out.id, "weight-gradient-transposed");
}

Test(fingerprint_unit, a_roughly_transposed_gradient_is_not_named)
{
    /* The transpose plus a 1% error: better than the plain mismatch, but
     * not a rebuild of the model's values (GC_FINGERPRINT_FIT). */
    fixture f;
    fixture_init(&f, 4);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++)
            f.grad[i * N + j] = 1.01 * f.numeric[j * N + i];
    f.checks[0].verdict = GC_VERDICT_FAIL;
    gc_finding_event out;
    cr_assert(!gc_fingerprint_full_check(&f.ev, 0, &out), "named %s",
              out.id);
}

/* ---- unit: delta hypotheses ---------------------------------------------- */

/* One sigmoid output layer of width N over a batch of 2, with its own
 * z, a and the numeric per-sample delta; the model's delta is what the
 * test makes it. */
typedef struct {
    fixture f;
    double z[2 * N], a[2 * N], model[2 * N], numeric[2 * N];
} delta_fixture;

static void delta_fixture_init(delta_fixture *d, gc_activation act)
{
    fixture_init(&d->f, 2);
    d->f.ev.layer_count = 1;
    d->f.ev.widths[0] = N;
    d->f.ev.widths[1] = N;
    d->f.ev.activation[1] = act;
    for (size_t i = 0; i < 2 * N; i++) {
        d->z[i] = 0.7 * (double)i - 1.5;
        d->a[i] = act == GC_ACT_TANH ? tanh(d->z[i])
                                     : 1.0 / (1.0 + exp(-d->z[i]));
        d->numeric[i] = 0.05 * (double)(i + 1);
    }
    /* numeric_deltas hold the batch-loss gradient: per-sample / B */
    static double batch_loss_gradient[2 * N];
    for (size_t i = 0; i < 2 * N; i++)
        batch_loss_gradient[i] = d->numeric[i] / 2.0;
    d->f.ev.deltas[1] = d->model;
    d->f.ev.numeric_deltas[1] = batch_loss_gradient;
    d->f.ev.pre_activations[1] = d->z;
    d->f.ev.activations[1] = d->a;
    d->f.ev.output_activations = d->a;
    fail_all(&d->f);
    /* weights no hypothesis on the tensors can explain */
    for (size_t i = 0; i < PARAMS; i++)
        d->f.grad[i] = d->f.numeric[i] * (1.0 + 0.3 * (double)(i % 3));
}

static double sigmoid_slope(double x)
{
    double s = 1.0 / (1.0 + exp(-x));
    return s * (1.0 - s);
}

Test(fingerprint_unit, derivative_taken_at_the_activation_is_named)
{
    delta_fixture d;
    delta_fixture_init(&d, GC_ACT_SIGMOID);
    for (size_t i = 0; i < 2 * N; i++)
        d.model[i] = d.numeric[i] * sigmoid_slope(d.a[i]) /
                     sigmoid_slope(d.z[i]);
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&d.f.ev, 1, &out));
    cr_assert_str_eq(out.id, "derivative-at-activation");
    cr_assert_eq(out.layer, 1);
}

Test(fingerprint_unit, output_delta_without_the_derivative_is_named)
{
    delta_fixture d;
    delta_fixture_init(&d, GC_ACT_SIGMOID);
    for (size_t i = 0; i < 2 * N; i++)
        d.model[i] = d.numeric[i] / sigmoid_slope(d.z[i]);
    gc_finding_event out;
    cr_assert(gc_fingerprint_full_check(&d.f.ev, 1, &out));
    cr_assert_str_eq(out.id, "output-delta-missing-derivative");
}

Test(fingerprint_unit, a_delta_off_by_an_unrelated_factor_is_not_named)
{
    delta_fixture d;
    delta_fixture_init(&d, GC_ACT_SIGMOID);
    for (size_t i = 0; i < 2 * N; i++)
        d.model[i] = d.numeric[i] * (2.0 + 0.1 * (double)i);
    gc_finding_event out;
    cr_assert(!gc_fingerprint_full_check(&d.f.ev, 1, &out), "named %s",
              out.id);
}

Test(fingerprint_unit, no_delta_hypothesis_without_the_values)
{
    /* The same wrong delta, but the model does not show its activations:
     * the hypothesis is not tried, nothing is named. */
    delta_fixture d;
    delta_fixture_init(&d, GC_ACT_SIGMOID);
    for (size_t i = 0; i < 2 * N; i++)
        d.model[i] = d.numeric[i] / sigmoid_slope(d.z[i]);
    d.f.ev.activations[1] = NULL;
    gc_finding_event out;
    cr_assert(!gc_fingerprint_full_check(&d.f.ev, 1, &out), "named %s",
              out.id);
}

/* ---- unit: update and trap ----------------------------------------------- */

Test(fingerprint_unit, update_along_the_gradient_is_ascent)
{
    gc_update_evidence u = {.step = 0, .gradient_dot_update = 0.5,
                            .gradient_norm = 1.0, .update_norm = 0.5,
                            .loss_before = 1.0, .loss_after = 1.2};
    gc_finding_event out;
    cr_assert(gc_fingerprint_update(&u, &out));
    cr_assert_str_eq(out.id, "update-ascent");
    gc_assert_close(out.evidence[0].value, 1.0, 1e-15, 0.0);   /* cosine */

    /* descent, even with the loss rising (a step too long): not ascent */
    u.gradient_dot_update = -0.5;
    cr_assert(!gc_fingerprint_update(&u, &out));
    /* along +g but the loss fell: not shown to go uphill */
    u.gradient_dot_update = 0.5;
    u.loss_after = 0.9;
    cr_assert(!gc_fingerprint_update(&u, &out));
    /* no update at all (learning rate 0) */
    u.loss_after = 1.2;
    u.update_norm = 0.0;
    u.gradient_dot_update = 0.0;
    cr_assert(!gc_fingerprint_update(&u, &out));
}

Test(fingerprint_unit, a_non_finite_loss_from_a_log_at_zero_is_unclamped)
{
    gc_trap_event t = {.step = 3, .layer = 2, .op = GC_OP_LOSS,
                       .kind = GC_TRAP_NAN, .fatal = true,
                       .input_max = 1.0, .input_mean = 0.4,
                       .input_min = 0.0};
    gc_finding_event out;
    cr_assert(gc_fingerprint_trap(&t, &out));
    cr_assert_str_eq(out.id, "unclamped-log");
    cr_assert_eq(out.step, 3);

    /* the loss saw no probabilities (it works from the logits) */
    t.input_max = t.input_mean = t.input_min = NAN;
    cr_assert(!gc_fingerprint_trap(&t, &out));
    /* probabilities strictly inside (0, 1): something else went wrong */
    t.input_max = 0.9;
    t.input_min = 0.1;
    cr_assert(!gc_fingerprint_trap(&t, &out));
    /* values that are no probabilities (log-sum-exp arguments, say) */
    t.input_max = -709.98;
    t.input_min = -716.25;
    cr_assert(!gc_fingerprint_trap(&t, &out));
    /* the softmax, not the loss */
    t.op = GC_OP_SOFTMAX_NORMALISE;
    t.input_min = 0.0;
    cr_assert(!gc_fingerprint_trap(&t, &out));
}

/* ---- unit: the assembly of a layer's gradients from its delta ------------ */

Test(fingerprint_unit, gradients_assembled_from_the_models_delta_are_seen)
{
    /* dW = delta^T a0 / B and db = mean of delta (B = 2, the numeric
     * delta scale of a mean loss) from the model's own delta: assembled
     * right, whatever the delta itself is. */
    delta_fixture d;
    delta_fixture_init(&d, GC_ACT_SIGMOID);
    double a0[2 * N];
    for (size_t i = 0; i < 2 * N; i++) {
        a0[i] = 0.3 * (double)i - 0.4;
        d.model[i] = 1.1 * d.numeric[i];
    }
    d.f.ev.activations[0] = a0;
    memset(d.f.grad, 0, sizeof d.f.grad);
    for (size_t b = 0; b < 2; b++)
        for (size_t i = 0; i < N; i++) {
            d.f.grad[N * N + i] += d.model[b * N + i] / 2.0;
            for (size_t j = 0; j < N; j++)
                d.f.grad[i * N + j] += d.model[b * N + i] * a0[b * N + j] /
                                       2.0;
        }
    double fit;
    cr_assert(gc_fingerprint_assembled_from_delta(&d.f.ev, 1, &fit));
    /* rounding of a few products and sums: far below GC_FINGERPRINT_FIT */
    cr_assert(fit < 1e-14, "fit %g", fit);

    /* one weight element off by 1%: the assembly is wrong */
    d.f.grad[4] *= 1.01;
    cr_assert(!gc_fingerprint_assembled_from_delta(&d.f.ev, 1, &fit));
    cr_assert(fit > GC_FINGERPRINT_FIT, "fit %g", fit);

    /* without the layer's input the test cannot be made */
    d.f.ev.activations[0] = NULL;
    cr_assert(!gc_fingerprint_assembled_from_delta(&d.f.ev, 1, &fit));
    cr_assert(isnan(fit));
}
