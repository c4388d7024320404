/* test_check.c - the finite-difference checker (check.h) on small built-in
 * engine networks: the correct backward passes with both element methods
 * and the direction check, an as-written mistake fails where it acts, an
 * all-zero gradient never passes, the verdict bands, ReLU kinks are left
 * out and counted, and no check moves the parameters.
 *
 * Every network is 5-4-3 (or 5-4-4-3), every seed fixed, every batch
 * 4 samples of uniform inputs in [-1, 1].
 */
#include "check.h"
#include "engine.h"
#include "events.h"
#include "model.h"
#include "spec.h"
#include "status.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <gsl/gsl_rng.h>

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BATCH 4
#define INPUTS 5
#define HIDDEN 4
#define CLASSES 3
#define SEED 7301u

/* The checker's default bands (src/spec.c, docs/checks.md). */
#define PASS_BELOW 1e-6
#define FAIL_ABOVE 1e-4

/* A correct backward against a double-precision central difference:
 * each numeric element is off by ~eps^(2/3) |L| ~ 4e-11 (check.h), and the
 * tensors' gradient norms here are 1e-2 .. 1, so the per-tensor relative
 * error of a correct backward is 1e-11 .. 1e-9 (measured: at most 5e-10
 * on these networks).  1e-8 leaves a factor of 20 over that and sits two
 * orders of magnitude under the pass band, so a pass is not a near miss;
 * a wrong formula is off by 1e-2 or more. */
#define CORRECT_REL_MAX 1e-8

/* Two numeric gradients of the same loss, element by element.  Each has an
 * error of a few 1e-11 absolute (truncation and rounding balanced at
 * h = eps^(1/3), gradients of order 1e-3 .. 1); the pre-activation method
 * sums B = 4 such errors per element (measured: at most 3e-11 apart).
 * 1e-9 absolute plus 1e-6 relative leaves a factor of 30 of room and is
 * still 1e4 times tighter than the error of any mistake (1e-2 relative or
 * more, i.e. >= 1e-5 absolute on these elements). */
#define NUMERIC_AGREE_REL 1e-6
#define NUMERIC_AGREE_ABS 1e-9

/* The event's norms and relative error recomputed by the test from the
 * same two arrays: the same terms summed possibly in another order, so
 * they agree to a few ulps; 1e-12 relative allows ~4500. */
#define RECOMPUTE_REL 1e-12
#define RECOMPUTE_ABS 1e-300

/* A gradient tensor that is not trivially zero: these networks give norms
 * of 1e-2 .. 1; below 1e-6 a tensor would be dead and its pass would prove
 * nothing. */
#define GRADIENT_FLOOR 1e-6

/* A mistake changes its tensor by O(1) relative; anything above 1e-2 is
 * unambiguously not rounding (1e-16) nor truncation (1e-10). */
#define MISTAKE_REL_MIN 1e-2

/* A pre-activation placed this far from the ReLU kink: far inside the
 * finite-difference step (eps^(1/3) max(|z|, 1) = 6.1e-6, and at least
 * 6.1e-6 * |a_in| ~ 1e-6 for a weight), so every difference that moves it
 * straddles 0, yet non-zero so that the forward sees a definite sign. */
#define KINK_OFFSET 1e-9

/* Every other pre-activation of the kinked network must stay clear of 0
 * under every step the checker takes (at most eps^(1/3) max(|z|, 1), and
 * h |a_in| <= that for a weight): a factor of 100 over the step. */
#define KINK_CLEARANCE (100.0 * GC_CBRT_EPSILON)

/* A bias that drives every ReLU unit of a 5-input layer with weights of
 * size ~1/sqrt(5) and inputs in [-1, 1] below zero by a wide margin:
 * |W a| <= ~3 here, so z <= -97 and steps of 6e-4 cannot reach 0. */
#define DEAD_BIAS (-100.0)

/* ---- fixture ------------------------------------------------------------- */

typedef struct {
    gc_engine *engine;
    gc_model *model;
    double x[BATCH * INPUTS];
    int labels[BATCH];
    gc_batch batch;
    double *grad;           /* the model's own gradient at params */
    double loss;
    gc_checker *checker;
    gsl_rng *rng;
} net;

static gc_as_written_spec correct_as_written(void)
{
    gc_as_written_spec aw;
    memset(&aw, 0, sizeof aw);
    aw.softmax_derivative = GC_SOFTMAX_DERIV_JACOBIAN;
    aw.softmax_subtract_max = true;
    return aw;
}

/* widths: INPUTS, then one entry per layer. */
static gc_network_spec spec_of(size_t layers, const size_t *widths,
                               const gc_activation *acts)
{
    gc_network_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.inputs = widths[0];
    spec.layer_count = layers;
    for (size_t l = 0; l < layers; l++) {
        spec.layers[l].width = widths[l + 1];
        spec.layers[l].activation = acts[l];
    }
    spec.init = GC_INIT_NORMAL;
    spec.init_scale = 0.0;     /* 1/sqrt(fan_in) */
    spec.bias_init = 0.05;     /* non-zero, so biases shape the gradient */
    return spec;
}

static void net_gradient(net *n)
{
    gc_error err;
    cr_assert_eq(n->model->gradient(n->model, n->model->params, &n->batch,
                                    &n->loss, n->grad, &err),
                 GC_OK, "%s", err.message);
}

static void net_make_layers(net *n, size_t layers, const size_t *widths,
                            const gc_activation *acts, gc_loss loss,
                            const gc_as_written_spec *aw, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    gc_network_spec spec = spec_of(layers, widths, acts);
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&spec, loss, aw, INPUTS, BATCH, &n->engine,
                                 &err),
                 GC_OK, "%s", err.message);
    cr_assert_eq(gc_engine_init_params(n->engine, seed, &err), GC_OK, "%s",
                 err.message);
    n->model = gc_engine_model(n->engine);

    n->rng = gsl_rng_alloc(gsl_rng_mt19937);
    cr_assert_not_null(n->rng);
    gsl_rng_set(n->rng, (unsigned long)seed ^ 0x5eedu);
    size_t k = widths[layers];
    for (size_t i = 0; i < BATCH * INPUTS; i++)
        n->x[i] = 2.0 * gsl_rng_uniform(n->rng) - 1.0;
    for (size_t b = 0; b < BATCH; b++)
        n->labels[b] = (int)gsl_rng_uniform_int(n->rng, k);
    n->batch = (gc_batch){n->x, n->labels, BATCH, INPUTS};

    n->grad = calloc(n->model->param_count, sizeof(double));
    cr_assert_not_null(n->grad);
    net_gradient(n);
    cr_assert_eq(gc_checker_alloc(n->model, BATCH, &n->checker, &err), GC_OK,
                 "%s", err.message);
}

/* A 5-4-3 network. */
static void net_make(net *n, gc_activation hidden, gc_activation output,
                     gc_loss loss, const gc_as_written_spec *aw,
                     uint64_t seed)
{
    const size_t widths[] = {INPUTS, HIDDEN, CLASSES};
    const gc_activation acts[] = {hidden, output};
    net_make_layers(n, 2, widths, acts, loss, aw, seed);
}

static void net_free(net *n)
{
    gc_checker_free(n->checker);
    gsl_rng_free(n->rng);
    free(n->grad);
    gc_engine_free(n->engine);
    memset(n, 0, sizeof *n);
}

static gc_check_options options_for(gc_check_method method)
{
    return (gc_check_options){.method = method, .step_scale = 1.0,
                              .pass_below = PASS_BELOW,
                              .fail_above = FAIL_ABOVE,
                              .difference = GC_DIFFERENCE_CENTRAL};
}

static const gc_tensor_info *tensor_named(const gc_model *m, const char *name)
{
    for (size_t t = 0; t < m->tensor_count; t++)
        if (strcmp(m->tensors[t].name, name) == 0)
            return &m->tensors[t];
    cr_assert_fail("no tensor named %s", name);
    return NULL;
}

static size_t tensor_index(const gc_model *m, const char *name)
{
    return (size_t)(tensor_named(m, name) - m->tensors);
}

static double *params_copy(const gc_model *m)
{
    double *p = malloc(m->param_count * sizeof(double));
    cr_assert_not_null(p);
    memcpy(p, m->params, m->param_count * sizeof(double));
    return p;
}

static void assert_params_unchanged(const gc_model *m, const double *before,
                                    const char *what)
{
    cr_assert_eq(memcmp(before, m->params, m->param_count * sizeof(double)),
                 0, "%s moved model->params", what);
}

/* Runs an element check of `model` (the engine's or a black-box copy) and
 * asserts it left the parameters bitwise as they were.  Returns a copy of
 * the numeric gradient (caller frees). */
static double *check_elements_of(net *n, gc_model *model, const double *grad,
                                 gc_check_method method,
                                 gc_check_event *results)
{
    gc_check_options opt = options_for(method);
    double *before = params_copy(model);
    gc_error err;
    cr_assert_eq(gc_check_elements(n->checker, model, &n->batch, grad, &opt,
                                   n->rng, results, &err),
                 GC_OK, "%s", err.message);
    assert_params_unchanged(model, before,
                            method == GC_METHOD_PARAMETER
                                ? "gc_check_elements (parameter)"
                                : "gc_check_elements (preactivation)");
    free(before);
    double *numeric = malloc(model->param_count * sizeof(double));
    cr_assert_not_null(numeric);
    memcpy(numeric, gc_checker_numeric(n->checker),
           model->param_count * sizeof(double));
    return numeric;
}

static double *check_elements(net *n, const double *grad,
                              gc_check_method method,
                              gc_check_event *results)
{
    return check_elements_of(n, n->model, grad, method, results);
}

static void check_directions(net *n, const double *grad,
                             gc_check_event *results)
{
    gc_check_options opt = options_for(GC_METHOD_AUTO);
    double *before = params_copy(n->model);
    gc_error err;
    cr_assert_eq(gc_check_directions(n->checker, n->model, &n->batch, grad,
                                     &opt, n->rng, results, &err),
                 GC_OK, "%s", err.message);
    assert_params_unchanged(n->model, before, "gc_check_directions");
    free(before);
}

/* The plain reference: every parameter moved by +-h in a copy of the
 * parameter vector and the whole loss recomputed through model->loss. */
static double *full_central_difference(net *n)
{
    gc_model *m = n->model;
    double *p = params_copy(m);
    double *numeric = malloc(m->param_count * sizeof(double));
    cr_assert_not_null(numeric);
    for (size_t i = 0; i < m->param_count; i++) {
        double theta = p[i];
        double h = GC_CBRT_EPSILON * fmax(fabs(theta), 1.0);
        double up, down;
        gc_error err;
        p[i] = theta + h;
        cr_assert_eq(m->loss(m, p, &n->batch, &up, NULL, &err), GC_OK);
        p[i] = theta - h;
        cr_assert_eq(m->loss(m, p, &n->batch, &down, NULL, &err), GC_OK);
        p[i] = theta;
        numeric[i] = (up - down) / (2.0 * h);
    }
    free(p);
    return numeric;
}

static void assert_all_close(const gc_model *m, const double *actual,
                             const double *expected, const char *what)
{
    for (size_t t = 0; t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        for (size_t k = 0; k < ti->rows * ti->cols; k++) {
            size_t i = ti->offset + k;
            cr_assert(gc_test_close(actual[i], expected[i], NUMERIC_AGREE_REL,
                                    NUMERIC_AGREE_ABS),
                      "%s: %s[%zu] = %.17g, expected %.17g", what, ti->name,
                      k, actual[i], expected[i]);
        }
    }
}

static double norm_of(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* |x - y| / (|x| + |y|) over one tensor. */
static double tensor_rel(const gc_tensor_info *t, const double *x,
                         const double *y)
{
    double d2 = 0.0, x2 = 0.0, y2 = 0.0;
    for (size_t i = t->offset; i < t->offset + t->rows * t->cols; i++) {
        d2 += (x[i] - y[i]) * (x[i] - y[i]);
        x2 += x[i] * x[i];
        y2 += y[i] * y[i];
    }
    double den = sqrt(x2) + sqrt(y2);
    return den > 0.0 ? sqrt(d2) / den : 0.0;
}

/* The event's numbers are what its name says: |g|, |n| and
 * |g - n| / (|g| + |n|) over the tensor's elements whose numeric value is
 * not NaN, and `elements` is how many those are. */
static void assert_event_numbers(const gc_check_event *r,
                                 const gc_tensor_info *t, const double *grad,
                                 const double *numeric)
{
    double g2 = 0.0, n2 = 0.0, d2 = 0.0;
    size_t count = 0;
    for (size_t k = t->offset; k < t->offset + t->rows * t->cols; k++) {
        if (isnan(numeric[k]))
            continue;
        g2 += grad[k] * grad[k];
        n2 += numeric[k] * numeric[k];
        d2 += (grad[k] - numeric[k]) * (grad[k] - numeric[k]);
        count++;
    }
    cr_assert_eq(r->elements, count, "%s (%s)", t->name, r->method);
    gc_assert_close(r->analytic_norm, sqrt(g2), RECOMPUTE_REL, RECOMPUTE_ABS);
    gc_assert_close(r->numeric_norm, sqrt(n2), RECOMPUTE_REL, RECOMPUTE_ABS);
    double den = sqrt(g2) + sqrt(n2);
    gc_assert_close(r->rel_error, den > 0.0 ? sqrt(d2) / den : 0.0,
                    RECOMPUTE_REL, RECOMPUTE_ABS);
}

static void assert_event_passes(const gc_check_event *r, size_t elements)
{
    cr_assert_eq(r->verdict, GC_VERDICT_PASS,
                 "%s (%s): verdict %s, rel %.3e, reason '%s'", r->tensor,
                 r->method, gc_verdict_name(r->verdict), r->rel_error,
                 r->reason);
    cr_assert_lt(r->rel_error, CORRECT_REL_MAX, "%s (%s): rel %.3e",
                 r->tensor, r->method, r->rel_error);
    cr_assert_eq(r->elements, elements, "%s (%s)", r->tensor, r->method);
    cr_assert_eq(r->kinks_excluded, 0, "%s (%s)", r->tensor, r->method);
    cr_assert(!r->analytic_all_zero, "%s (%s)", r->tensor, r->method);
    cr_assert_str_eq(r->reason, "");
}

/* ---- the correct backward passes -------------------------------------- */

/* Both element methods pass every tensor; the numeric gradients of the two
 * methods and of the test's own full recomputation agree element by
 * element and all lie on the analytic gradient. */
static void assert_correct_network_passes(gc_activation hidden,
                                          gc_activation output, gc_loss loss,
                                          uint64_t seed)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, hidden, output, loss, &aw, seed);
    gc_model *m = n.model;
    gc_check_event *pre = calloc(m->tensor_count, sizeof *pre);
    gc_check_event *par = calloc(m->tensor_count, sizeof *par);
    cr_assert(pre && par);

    double *n_pre = check_elements(&n, n.grad, GC_METHOD_PREACTIVATION, pre);
    cr_assert_not_null(gc_checker_numeric_deltas(n.checker, 1));
    cr_assert_not_null(gc_checker_numeric_deltas(n.checker, 2));
    double *n_par = check_elements(&n, n.grad, GC_METHOD_PARAMETER, par);
    cr_assert_null(gc_checker_numeric_deltas(n.checker, 1),
                   "the parameter method keeps no numeric deltas");
    double *n_full = full_central_difference(&n);

    for (size_t t = 0; t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        size_t elements = ti->rows * ti->cols;
        cr_assert_gt(norm_of(n.grad + ti->offset, elements), GRADIENT_FLOOR,
                     "%s: gradient trivially small", ti->name);
        cr_assert_str_eq(pre[t].tensor, ti->name);
        cr_assert_str_eq(pre[t].method, "preactivation");
        cr_assert_eq(pre[t].kind, GC_CHECK_ELEMENT);
        cr_assert_eq(pre[t].layer, ti->layer);
        assert_event_passes(&pre[t], elements);
        assert_event_numbers(&pre[t], ti, n.grad, n_pre);
        cr_assert_str_eq(par[t].method, "parameter");
        assert_event_passes(&par[t], elements);
        assert_event_numbers(&par[t], ti, n.grad, n_par);
        cr_assert_lt(tensor_rel(ti, n.grad, n_full), CORRECT_REL_MAX,
                     "%s: the full recomputation disagrees with the "
                     "backward", ti->name);
    }
    assert_all_close(m, n_pre, n_full, "preactivation vs full difference");
    assert_all_close(m, n_par, n_full, "parameter vs full difference");
    assert_all_close(m, n_pre, n_par, "preactivation vs parameter");
    assert_all_close(m, n_pre, n.grad, "preactivation vs backward");

    free(n_pre);
    free(n_par);
    free(n_full);
    free(pre);
    free(par);
    net_free(&n);
}

Test(check_correct, sigmoid_softmax_cross_entropy_passes_both_methods)
{
    assert_correct_network_passes(GC_ACT_SIGMOID, GC_ACT_SOFTMAX,
                                  GC_LOSS_CROSS_ENTROPY, SEED);
}

Test(check_correct, tanh_softmax_cross_entropy_passes_both_methods)
{
    assert_correct_network_passes(GC_ACT_TANH, GC_ACT_SOFTMAX,
                                  GC_LOSS_CROSS_ENTROPY, SEED + 1);
}

Test(check_correct, tanh_identity_mse_passes_both_methods)
{
    assert_correct_network_passes(GC_ACT_TANH, GC_ACT_IDENTITY, GC_LOSS_MSE,
                                  SEED + 2);
}

Test(check_correct, sigmoid_softmax_mse_passes_both_methods)
{
    assert_correct_network_passes(GC_ACT_SIGMOID, GC_ACT_SOFTMAX,
                                  GC_LOSS_MSE, SEED + 3);
}

/* A black box (no layer view) takes the parameter method's whole-loss path
 * and the direction check's whole-loss path; both still pass. */
Test(check_correct, black_box_model_passes_parameter_and_direction_checks)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, GC_ACT_TANH, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED + 4);
    gc_model box = *n.model;
    box.layers = NULL;
    gc_check_event *r = calloc(box.tensor_count, sizeof *r);
    cr_assert_not_null(r);

    /* the pre-activation method needs the layer view */
    gc_check_options pre = options_for(GC_METHOD_PREACTIVATION);
    gc_error err;
    cr_assert_eq(gc_check_elements(n.checker, &box, &n.batch, n.grad, &pre,
                                   n.rng, r, &err),
                 GC_EINVAL);

    double *numeric = check_elements_of(&n, &box, n.grad, GC_METHOD_AUTO, r);
    double *full = full_central_difference(&n);
    for (size_t t = 0; t < box.tensor_count; t++) {
        cr_assert_str_eq(r[t].method, "parameter");
        assert_event_passes(&r[t], box.tensors[t].rows * box.tensors[t].cols);
    }
    assert_all_close(&box, numeric, full, "black box vs full difference");

    gc_check_options opt = options_for(GC_METHOD_AUTO);
    double *before = params_copy(&box);
    cr_assert_eq(gc_check_directions(n.checker, &box, &n.batch, n.grad, &opt,
                                     n.rng, r, &err),
                 GC_OK, "%s", err.message);
    assert_params_unchanged(&box, before, "gc_check_directions (black box)");
    for (size_t t = 0; t < box.tensor_count; t++)
        cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s: rel %.3e '%s'",
                     r[t].tensor, r[t].rel_error, r[t].reason);
    free(before);
    free(numeric);
    free(full);
    free(r);
    net_free(&n);
}

/* The numeric dL/dz of every layer is the engine's own per-sample delta
 * divided by B (the engine averages only when it forms dW and db,
 * docs/mistakes.md): the pre-activation method measures the quantity it
 * claims to. */
Test(check_correct, numeric_deltas_match_the_models_own_deltas)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, GC_ACT_SIGMOID, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED);
    gc_check_event r[4];
    double *numeric = check_elements(&n, n.grad, GC_METHOD_PREACTIVATION, r);
    const gc_layer_view *v = n.model->layers;
    cr_assert_not_null(v->deltas);
    for (size_t l = 1; l <= v->layer_count; l++) {
        const double *dz = gc_checker_numeric_deltas(n.checker, l);
        const double *own = v->deltas(n.model, l);
        cr_assert_not_null(dz);
        cr_assert_not_null(own);
        size_t width = v->width(n.model, l);
        for (size_t k = 0; k < BATCH * width; k++)
            gc_assert_close(dz[k] * BATCH, own[k], NUMERIC_AGREE_REL,
                            NUMERIC_AGREE_ABS);
    }
    cr_assert_null(gc_checker_numeric_deltas(n.checker, 0));
    cr_assert_null(gc_checker_numeric_deltas(n.checker, 3));
    free(numeric);
    net_free(&n);
}

/* ---- an as-written mistake fails, decided from values -------------------- */

static const gc_activation elementwise_acts[] = {GC_ACT_SIGMOID,
                                                 GC_ACT_SOFTMAX};

/* The elementwise softmax derivative with MSE, next to the correct twin
 * (same seed, same batch, same parameters). */
typedef struct {
    net wrong, right;
} twin;

static void twin_make(twin *tw)
{
    gc_as_written_spec aw = correct_as_written();
    gc_as_written_spec bad = correct_as_written();
    bad.softmax_derivative = GC_SOFTMAX_DERIV_ELEMENTWISE;
    net_make(&tw->wrong, elementwise_acts[0], elementwise_acts[1],
             GC_LOSS_MSE, &bad, SEED + 10);
    net_make(&tw->right, elementwise_acts[0], elementwise_acts[1],
             GC_LOSS_MSE, &aw, SEED + 10);
    cr_assert_eq(memcmp(tw->wrong.model->params, tw->right.model->params,
                        tw->wrong.model->param_count * sizeof(double)),
                 0);
    cr_assert_eq(tw->wrong.loss, tw->right.loss,
                 "the mistake is in the backward only");
    const gc_tensor_info *w = tensor_named(tw->wrong.model, "layer2.W");
    cr_assert_gt(tensor_rel(w, tw->wrong.grad, tw->right.grad),
                 MISTAKE_REL_MIN, "the mistake must change layer2.W");
}

static void twin_free(twin *tw)
{
    net_free(&tw->wrong);
    net_free(&tw->right);
}

static void assert_elementwise_fails(gc_check_method method)
{
    twin tw;
    twin_make(&tw);
    gc_model *m = tw.wrong.model;
    gc_check_event *r = calloc(m->tensor_count, sizeof *r);
    cr_assert_not_null(r);
    double *numeric = check_elements(&tw.wrong, tw.wrong.grad, method, r);

    size_t out = tensor_index(m, "layer2.W");
    cr_assert_eq(r[out].verdict, GC_VERDICT_FAIL,
                 "layer2.W: verdict %s, rel %.3e, noise %.3e",
                 gc_verdict_name(r[out].verdict), r[out].rel_error,
                 r[out].noise);
    cr_assert_gt(r[out].rel_error, FAIL_ABOVE);
    cr_assert_gt(r[out].rel_error, MISTAKE_REL_MIN);
    cr_assert(!r[out].analytic_all_zero);
    cr_assert_eq(r[out].kinks_excluded, 0);
    for (size_t t = 0; t < m->tensor_count; t++)
        assert_event_numbers(&r[t], &m->tensors[t], tw.wrong.grad, numeric);
    /* the worst element is reported as it is in the arrays */
    const gc_tensor_info *w = &m->tensors[out];
    size_t worst = w->offset + r[out].worst_row * w->cols + r[out].worst_col;
    cr_assert_lt(r[out].worst_row, w->rows);
    cr_assert_lt(r[out].worst_col, w->cols);
    cr_assert_eq(r[out].worst_analytic, tw.wrong.grad[worst]);
    cr_assert_eq(r[out].worst_numeric, numeric[worst]);

    /* The numeric gradient measures the loss, which the mistake does not
     * touch: it is the correct network's analytic gradient... */
    assert_all_close(m, numeric, tw.right.grad,
                     "numeric of the wrong network vs correct backward");
    /* ... and bitwise what the checker computes for the correct twin: it
     * sees only the loss, identical in both. */
    gc_check_event *ok = calloc(m->tensor_count, sizeof *ok);
    cr_assert_not_null(ok);
    double *numeric_right = check_elements(&tw.right, tw.right.grad, method,
                                           ok);
    for (size_t i = 0; i < m->param_count; i++)
        cr_assert_eq(numeric[i], numeric_right[i],
                     "numeric[%zu] differs between the twins: %.17g vs "
                     "%.17g (the loss, hence every difference, is the same)",
                     i, numeric[i], numeric_right[i]);
    for (size_t t = 0; t < m->tensor_count; t++)
        cr_assert_eq(ok[t].verdict, GC_VERDICT_PASS, "correct twin %s: %s",
                     ok[t].tensor, gc_verdict_name(ok[t].verdict));

    free(numeric_right);
    free(ok);
    free(numeric);
    free(r);
    twin_free(&tw);
}

Test(check_mistake, elementwise_softmax_fails_output_weights_preactivation)
{
    assert_elementwise_fails(GC_METHOD_PREACTIVATION);
}

Test(check_mistake, elementwise_softmax_fails_output_weights_parameter)
{
    assert_elementwise_fails(GC_METHOD_PARAMETER);
}

/* ---- the direction check ------------------------------------------------- */

Test(check_directions, correct_network_passes_every_tensor)
{
    static const gc_activation hidden[] = {GC_ACT_SIGMOID, GC_ACT_TANH};
    for (size_t h = 0; h < 2; h++) {
        gc_as_written_spec aw = correct_as_written();
        net n;
        net_make(&n, hidden[h], GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
                 SEED + 20 + h);
        gc_check_event r[4];
        check_directions(&n, n.grad, r);
        for (size_t t = 0; t < n.model->tensor_count; t++) {
            const gc_tensor_info *ti = &n.model->tensors[t];
            cr_assert_str_eq(r[t].tensor, ti->name);
            cr_assert_eq(r[t].kind, GC_CHECK_DIRECTION);
            cr_assert_str_eq(r[t].method, "direction");
            cr_assert_eq(r[t].verdict, GC_VERDICT_PASS,
                         "%s: %s, rel %.3e '%s'", ti->name,
                         gc_verdict_name(r[t].verdict), r[t].rel_error,
                         r[t].reason);
            cr_assert_lt(r[t].rel_error, CORRECT_REL_MAX);
            cr_assert_eq(r[t].elements, ti->rows * ti->cols);
            cr_assert_eq(r[t].loss_evaluations, 2,
                         "a pass needs no repeat at 2h");
            cr_assert_eq(r[t].kinks_excluded, 0);
        }
        net_free(&n);
    }
}

Test(check_directions, elementwise_softmax_fails_at_the_output_tensor)
{
    twin tw;
    twin_make(&tw);
    gc_check_event wrong[4], right[4];
    check_directions(&tw.wrong, tw.wrong.grad, wrong);
    check_directions(&tw.right, tw.right.grad, right);
    size_t out = tensor_index(tw.wrong.model, "layer2.W");
    cr_assert_eq(wrong[out].verdict, GC_VERDICT_FAIL,
                 "layer2.W: %s, rel %.3e, noise %.3e",
                 gc_verdict_name(wrong[out].verdict), wrong[out].rel_error,
                 wrong[out].noise);
    cr_assert_gt(wrong[out].rel_error, MISTAKE_REL_MIN);
    cr_assert_eq(wrong[out].loss_evaluations, 4,
                 "a check that did not pass is repeated at 2h");
    for (size_t t = 0; t < tw.right.model->tensor_count; t++)
        cr_assert_eq(right[t].verdict, GC_VERDICT_PASS, "correct twin %s",
                     right[t].tensor);
    twin_free(&tw);
}

/* ---- an all-zero analytic gradient never passes ------------------------- */

/* Element checks: the true gradient of every tensor is far from zero
 * here, so a zeroed analytic gradient is a failure with the all-zero
 * reason. */
static void assert_zero_fails(const gc_check_event *r, size_t count,
                              const char *what)
{
    for (size_t t = 0; t < count; t++) {
        cr_assert_neq(r[t].verdict, GC_VERDICT_PASS, "%s %s passed", what,
                      r[t].tensor);
        cr_assert(r[t].analytic_all_zero, "%s %s: not flagged", what,
                  r[t].tensor);
        cr_assert_eq(r[t].analytic_norm, 0.0);
        cr_assert_gt(r[t].numeric_norm, r[t].noise, "%s %s", what,
                     r[t].tensor);
        cr_assert_eq(r[t].verdict, GC_VERDICT_FAIL, "%s %s: %s", what,
                     r[t].tensor, gc_verdict_name(r[t].verdict));
        cr_assert_str_eq(r[t].reason,
                         "analytic gradient is all zero; numeric is not");
    }
}

Test(check_zero, zeroed_gradient_fails_every_check)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, GC_ACT_TANH, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED + 30);
    size_t tc = n.model->tensor_count;
    double *zero = calloc(n.model->param_count, sizeof(double));
    gc_check_event *r = calloc(tc, sizeof *r);
    cr_assert(zero && r);

    free(check_elements(&n, zero, GC_METHOD_PREACTIVATION, r));
    assert_zero_fails(r, tc, "preactivation");
    free(check_elements(&n, zero, GC_METHOD_PARAMETER, r));
    assert_zero_fails(r, tc, "parameter");

    /* With g = 0 the direction is the random sign vector alone.  Along
     * (1, ..., 1) the softmax output bias has an exactly zero derivative
     * (softmax ignores a common shift), so a direction check of it may
     * find nothing to compare: it must then say so, and never pass. */
    for (int repeat = 0; repeat < 4; repeat++) {
        check_directions(&n, zero, r);
        for (size_t t = 0; t < tc; t++) {
            cr_assert_neq(r[t].verdict, GC_VERDICT_PASS, "direction %s",
                          r[t].tensor);
            cr_assert(r[t].analytic_all_zero, "direction %s", r[t].tensor);
            cr_assert_eq(r[t].analytic_norm, 0.0);
            if (r[t].numeric_norm > r[t].noise)
                cr_assert_eq(r[t].verdict, GC_VERDICT_FAIL, "direction %s",
                             r[t].tensor);
            else
                cr_assert_str_eq(r[t].reason,
                                 "analytic and numeric gradients are both "
                                 "zero: nothing was tested");
        }
        /* the weights' sign directions miss the null space here: for
         * layer1.W (tanh below) there is none, and for layer2.W it needs
         * every row of U equal, which this seed does not draw */
        cr_assert_eq(r[tensor_index(n.model, "layer1.W")].verdict,
                     GC_VERDICT_FAIL);
        cr_assert_eq(r[tensor_index(n.model, "layer2.W")].verdict,
                     GC_VERDICT_FAIL);
    }

    free(zero);
    free(r);
    net_free(&n);
}

/* A dead ReLU layer: the true gradient of layer 1 (and of layer 2's W,
 * whose input is all zero) is exactly 0, so even the correct backward is
 * all zero there.  That tests nothing: inconclusive, never a pass. */
Test(check_zero, correct_but_identically_zero_gradient_is_inconclusive)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, GC_ACT_RELU, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED + 31);
    const gc_tensor_info *b1 = tensor_named(n.model, "layer1.b");
    for (size_t i = 0; i < b1->rows; i++)
        n.model->params[b1->offset + i] = DEAD_BIAS;
    net_gradient(&n);
    const char *dead[] = {"layer1.W", "layer1.b", "layer2.W"};
    gc_check_event r[4];
    static const gc_check_method methods[] = {GC_METHOD_PREACTIVATION,
                                              GC_METHOD_PARAMETER};
    for (size_t k = 0; k < 2; k++) {
        free(check_elements(&n, n.grad, methods[k], r));
        for (size_t d = 0; d < 3; d++) {
            const gc_tensor_info *ti = tensor_named(n.model, dead[d]);
            const gc_check_event *e = &r[tensor_index(n.model, dead[d])];
            cr_assert_eq(norm_of(n.grad + ti->offset, ti->rows * ti->cols),
                         0.0, "%s should be dead", dead[d]);
            cr_assert(e->analytic_all_zero, "%s", dead[d]);
            cr_assert_eq(e->verdict, GC_VERDICT_INCONCLUSIVE,
                         "%s (%s): %s '%s'", dead[d], e->method,
                         gc_verdict_name(e->verdict), e->reason);
            cr_assert_str_eq(e->reason,
                             "analytic and numeric gradients are both zero: "
                             "nothing was tested");
        }
        /* the live output bias still passes */
        const gc_check_event *b2 = &r[tensor_index(n.model, "layer2.b")];
        cr_assert_eq(b2->verdict, GC_VERDICT_PASS, "layer2.b (%s): %s",
                     b2->method, gc_verdict_name(b2->verdict));
    }
    net_free(&n);
}

/* ---- verdict bands ------------------------------------------------------- */

/* Synthetic norms: |g| = |n| ~ 1 and a noise far below every difference
 * used, so only the band decides unless a case sets the noise itself. */
#define V_NORM 1.0
#define V_NOISE 1e-12

static gc_verdict verdict(double rel, double g, double n, double diff,
                          double noise, char *reason)
{
    gc_check_options opt = options_for(GC_METHOD_AUTO);
    return gc_check_verdict(rel, g, n, diff, noise, &opt, reason, 96);
}

/* rel -> the |g - n| that goes with it for |g| + |n| = 2 V_NORM. */
static gc_verdict band(double rel, char *reason)
{
    return verdict(rel, V_NORM, V_NORM, 2.0 * V_NORM * rel, V_NOISE, reason);
}

Test(check_verdict, pass_at_and_below_pass_below)
{
    char reason[96];
    cr_assert_eq(band(0.0, reason), GC_VERDICT_PASS);
    cr_assert_str_eq(reason, "");
    cr_assert_eq(band(1e-9, reason), GC_VERDICT_PASS);
    cr_assert_eq(band(PASS_BELOW, reason), GC_VERDICT_PASS,
                 "the pass band is closed");
    cr_assert_eq(band(0.5 * PASS_BELOW, reason), GC_VERDICT_PASS);
}

Test(check_verdict, fail_above_fail_above_with_difference_above_noise)
{
    char reason[96];
    cr_assert_eq(band(1e-2, reason), GC_VERDICT_FAIL);
    cr_assert_str_eq(reason, "");
    cr_assert_eq(band(2.0 * FAIL_ABOVE, reason), GC_VERDICT_FAIL);
    cr_assert_eq(band(1.0, reason), GC_VERDICT_FAIL);
    /* the fail band is open: exactly fail_above is not yet a failure */
    cr_assert_eq(band(FAIL_ABOVE, reason), GC_VERDICT_INCONCLUSIVE);
    cr_assert_str_eq(reason, "between the pass and fail bands");
}

Test(check_verdict, between_the_bands_is_inconclusive)
{
    char reason[96];
    const double between[] = {2.0 * PASS_BELOW, 1e-5, 0.5 * FAIL_ABOVE};
    for (size_t i = 0; i < 3; i++) {
        cr_assert_eq(band(between[i], reason), GC_VERDICT_INCONCLUSIVE,
                     "rel %g", between[i]);
        cr_assert_str_eq(reason, "between the pass and fail bands");
    }
}

Test(check_verdict, large_rel_within_noise_is_not_a_failure)
{
    char reason[96];
    /* rel 0.1, but |g - n| = 0.2 is no larger than the measured noise */
    cr_assert_eq(verdict(0.1, V_NORM, V_NORM, 0.2, 0.2, reason),
                 GC_VERDICT_INCONCLUSIVE);
    cr_assert_str_eq(reason, "difference within the finite-difference noise");
    /* a hair above the noise: a failure */
    cr_assert_eq(verdict(0.1, V_NORM, V_NORM, 0.2, 0.199, reason),
                 GC_VERDICT_FAIL);
}

Test(check_verdict, gradient_below_noise_is_inconclusive)
{
    char reason[96];
    /* |g| + |n| = 4e-13 <= noise 1e-12: even rel = 0.5 says nothing */
    cr_assert_eq(verdict(0.5, 1e-13, 3e-13, 2e-13, V_NOISE, reason),
                 GC_VERDICT_INCONCLUSIVE);
    cr_assert_str_eq(reason, "gradient below the finite-difference noise");
    /* ... and a perfect agreement below the noise is no pass either */
    cr_assert_eq(verdict(0.0, 5e-13, 5e-13, 0.0, V_NOISE, reason),
                 GC_VERDICT_INCONCLUSIVE);
    /* the boundary |g| + |n| == noise is still inconclusive */
    cr_assert_eq(verdict(0.0, 0.5, 0.5, 0.0, 1.0, reason),
                 GC_VERDICT_INCONCLUSIVE);
}

Test(check_verdict, all_zero_analytic_never_passes)
{
    char reason[96];
    cr_assert_eq(verdict(1.0, 0.0, 0.3, 0.3, V_NOISE, reason),
                 GC_VERDICT_FAIL);
    cr_assert_str_eq(reason, "analytic gradient is all zero; numeric is not");
    /* both zero: rel 0 would be in the pass band, yet nothing was tested */
    cr_assert_eq(verdict(0.0, 0.0, 0.0, 0.0, V_NOISE, reason),
                 GC_VERDICT_INCONCLUSIVE);
    cr_assert_str_eq(reason, "analytic and numeric gradients are both zero: "
                             "nothing was tested");
    cr_assert_eq(verdict(1.0, 0.0, 1e-13, 1e-13, V_NOISE, reason),
                 GC_VERDICT_INCONCLUSIVE);
}

Test(check_verdict, non_finite_relative_error_fails)
{
    char reason[96];
    cr_assert_eq(verdict(NAN, V_NORM, NAN, NAN, V_NOISE, reason),
                 GC_VERDICT_FAIL);
    cr_assert_str_eq(reason, "non-finite gradient or loss");
    cr_assert_eq(verdict(INFINITY, V_NORM, INFINITY, INFINITY, V_NOISE,
                         reason),
                 GC_VERDICT_FAIL);
}

/* ---- ReLU kinks ---------------------------------------------------------- */

/* A 5-4-3 relu/softmax network whose unit KINK_UNIT of layer 1 has, for
 * sample KINK_SAMPLE only, a pre-activation KINK_OFFSET above 0: bias set
 * to -(W a) + KINK_OFFSET.  Every other sample of that unit, and every
 * other unit, sits well away from 0. */
#define KINK_UNIT 2
#define KINK_SAMPLE 1

static void kinked_net(net *n)
{
    gc_as_written_spec aw = correct_as_written();
    net_make(n, GC_ACT_RELU, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED + 40);
    gc_model *m = n->model;
    const gc_tensor_info *w1 = tensor_named(m, "layer1.W");
    const gc_tensor_info *b1 = tensor_named(m, "layer1.b");
    const double *row = m->params + w1->offset + KINK_UNIT * INPUTS;
    const double *x = n->x + KINK_SAMPLE * INPUTS;
    double wa = 0.0;
    for (size_t j = 0; j < INPUTS; j++)
        wa += row[j] * x[j];
    m->params[b1->offset + KINK_UNIT] = -wa + KINK_OFFSET;
    net_gradient(n);

    /* the setup did what it says: the one z near 0, every other far */
    double loss;
    gc_error err;
    cr_assert_eq(m->layers->forward(m, m->params, &n->batch, &loss, &err),
                 GC_OK);
    const double *z = m->layers->pre_activations(m, 1);
    for (size_t b = 0; b < BATCH; b++)
        for (size_t i = 0; i < HIDDEN; i++) {
            double zi = z[b * HIDDEN + i];
            if (b == KINK_SAMPLE && i == KINK_UNIT)
                /* KINK_OFFSET plus the rounding of W a (~1e-16) */
                cr_assert(zi > 0.0 && zi < 2.0 * KINK_OFFSET, "z = %g", zi);
            else
                cr_assert_gt(fabs(zi), KINK_CLEARANCE,
                             "z[%zu,%zu] = %g too close to the kink", b, i,
                             zi);
        }
    /* every weight of the unit moves that z by more than KINK_OFFSET */
    for (size_t j = 0; j < INPUTS; j++)
        cr_assert_gt(fabs(x[j]) * GC_CBRT_EPSILON, 2.0 * KINK_OFFSET,
                     "x[%zu] = %g", j, x[j]);
}

Test(check_kinks, preactivation_excludes_and_counts_kink_elements)
{
    net n;
    kinked_net(&n);
    gc_model *m = n.model;
    gc_check_event r[4];
    double *numeric = check_elements(&n, n.grad, GC_METHOD_PREACTIVATION, r);
    size_t w1 = tensor_index(m, "layer1.W"), b1 = tensor_index(m, "layer1.b");
    for (size_t t = 0; t < m->tensor_count; t++)
        assert_event_numbers(&r[t], &m->tensors[t], n.grad, numeric);
    const gc_tensor_info *tw = &m->tensors[w1], *tb = &m->tensors[b1];

    /* every weight of the unit (all inputs non-zero) and its bias */
    cr_assert_eq(r[w1].kinks_excluded, INPUTS);
    cr_assert_eq(r[w1].elements, HIDDEN * INPUTS - INPUTS);
    cr_assert_eq(r[b1].kinks_excluded, 1);
    cr_assert_eq(r[b1].elements, HIDDEN - 1);
    for (size_t j = 0; j < INPUTS; j++)
        cr_assert(isnan(numeric[tw->offset + KINK_UNIT * INPUTS + j]));
    cr_assert(isnan(numeric[tb->offset + KINK_UNIT]));
    for (size_t i = 0; i < HIDDEN; i++)
        if (i != KINK_UNIT)
            cr_assert(!isnan(numeric[tb->offset + i]), "b[%zu]", i);
    /* excluded, not failed: what remains passes */
    for (size_t t = 0; t < m->tensor_count; t++) {
        cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s: %s rel %.3e '%s'",
                     r[t].tensor, gc_verdict_name(r[t].verdict),
                     r[t].rel_error, r[t].reason);
        if (t != w1 && t != b1)
            cr_assert_eq(r[t].kinks_excluded, 0, "%s", r[t].tensor);
    }
    /* the numeric dz of the kinked unit in that sample is a difference
     * across the kink; the deltas of other (b, i) are unaffected */
    const double *dz = gc_checker_numeric_deltas(n.checker, 1);
    cr_assert_not_null(dz);
    const double *own = m->layers->deltas(m, 1);
    for (size_t b = 0; b < BATCH; b++)
        for (size_t i = 0; i < HIDDEN; i++)
            if (!(b == KINK_SAMPLE && i == KINK_UNIT))
                gc_assert_close(dz[b * HIDDEN + i] * BATCH,
                                own[b * HIDDEN + i], NUMERIC_AGREE_REL,
                                NUMERIC_AGREE_ABS);
    free(numeric);
    net_free(&n);
}

Test(check_kinks, parameter_method_excludes_and_counts_kink_elements)
{
    net n;
    kinked_net(&n);
    gc_model *m = n.model;
    gc_check_event r[4];
    double *numeric = check_elements(&n, n.grad, GC_METHOD_PARAMETER, r);
    size_t w1 = tensor_index(m, "layer1.W"), b1 = tensor_index(m, "layer1.b");
    for (size_t t = 0; t < m->tensor_count; t++)
        assert_event_numbers(&r[t], &m->tensors[t], n.grad, numeric);
    const gc_tensor_info *tw = &m->tensors[w1], *tb = &m->tensors[b1];

    /* W[u, j] moves z[KINK_SAMPLE, u] by h x_j > 2 KINK_OFFSET (checked in
     * kinked_net): every weight of the unit crosses, and so does its bias */
    cr_assert_eq(r[w1].kinks_excluded, INPUTS);
    cr_assert_eq(r[w1].elements, HIDDEN * INPUTS - INPUTS);
    cr_assert_eq(r[b1].kinks_excluded, 1);
    cr_assert_eq(r[b1].elements, HIDDEN - 1);
    for (size_t j = 0; j < INPUTS; j++)
        cr_assert(isnan(numeric[tw->offset + KINK_UNIT * INPUTS + j]));
    cr_assert(isnan(numeric[tb->offset + KINK_UNIT]));
    for (size_t t = 0; t < m->tensor_count; t++) {
        cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s: %s rel %.3e '%s'",
                     r[t].tensor, gc_verdict_name(r[t].verdict),
                     r[t].rel_error, r[t].reason);
        if (t != w1 && t != b1)
            cr_assert_eq(r[t].kinks_excluded, 0, "%s", r[t].tensor);
    }
    free(numeric);
    net_free(&n);
}

/* Without the exclusion the kink would look like a wrong gradient: the
 * test's own plain difference of the kinked bias is far from the
 * backward's one-sided slope. */
Test(check_kinks, a_difference_across_the_kink_would_have_failed)
{
    net n;
    kinked_net(&n);
    double *full = full_central_difference(&n);
    const gc_tensor_info *tb = tensor_named(n.model, "layer1.b");
    size_t i = tb->offset + KINK_UNIT;
    double g = n.grad[i], d = full[i];
    cr_assert_gt(fabs(g - d) / (fabs(g) + fabs(d)), FAIL_ABOVE,
                 "g %.17g, difference %.17g", g, d);
    free(full);
    net_free(&n);
}

Test(check_kinks, direction_check_across_a_kink_is_inconclusive)
{
    net n;
    kinked_net(&n);
    gc_model *m = n.model;
    gc_check_event r[4];
    check_directions(&n, n.grad, r);
    size_t w1 = tensor_index(m, "layer1.W"), b1 = tensor_index(m, "layer1.b");
    const size_t kinked[] = {w1, b1};
    for (size_t k = 0; k < 2; k++) {
        const gc_check_event *e = &r[kinked[k]];
        cr_assert_eq(e->verdict, GC_VERDICT_INCONCLUSIVE, "%s: %s",
                     e->tensor, gc_verdict_name(e->verdict));
        cr_assert_eq(e->kinks_excluded, 1, "%s", e->tensor);
        cr_assert_str_eq(e->reason,
                         "the step crossed a kink (a unit changed sign)");
    }
    for (size_t t = 0; t < m->tensor_count; t++)
        if (t != w1 && t != b1)
            cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s", r[t].tensor);
    net_free(&n);
}

/* ---- parameters are never moved ----------------------------------------- */

/* Every check kind and method, repeated, on a deeper network with a kink
 * and a failing tensor (each of which takes an extra path through the
 * checker), leaves model->params bitwise as it was. */
Test(check_params, unchanged_by_every_check)
{
    gc_as_written_spec bad = correct_as_written();
    bad.softmax_derivative = GC_SOFTMAX_DERIV_ELEMENTWISE;
    const size_t widths[] = {INPUTS, HIDDEN, HIDDEN, CLASSES};
    const gc_activation acts[] = {GC_ACT_RELU, GC_ACT_TANH, GC_ACT_SOFTMAX};
    net n;
    net_make_layers(&n, 3, widths, acts, GC_LOSS_MSE, &bad, SEED + 50);
    double *original = params_copy(n.model);
    gc_check_event r[6];
    gc_model box = *n.model;
    box.layers = NULL;
    for (int round = 0; round < 2; round++) {
        free(check_elements(&n, n.grad, GC_METHOD_PREACTIVATION, r));
        free(check_elements(&n, n.grad, GC_METHOD_PARAMETER, r));
        free(check_elements_of(&n, &box, n.grad, GC_METHOD_PARAMETER, r));
        check_directions(&n, n.grad, r);
        cr_assert_eq(r[tensor_index(n.model, "layer3.W")].verdict,
                     GC_VERDICT_FAIL, "the failing path was exercised");
    }
    assert_params_unchanged(n.model, original, "two rounds of checks");
    free(original);
    net_free(&n);
}

/* A seeded sample checks exactly `sample` elements per tensor and leaves
 * the others NaN in the numeric gradient. */
Test(check_params, sampled_parameter_check_checks_sample_elements)
{
    gc_as_written_spec aw = correct_as_written();
    net n;
    net_make(&n, GC_ACT_TANH, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY, &aw,
             SEED + 60);
    gc_check_options opt = options_for(GC_METHOD_PARAMETER);
    opt.sample = 3;
    gc_check_event r[4];
    double *before = params_copy(n.model);
    gc_error err;
    cr_assert_eq(gc_check_elements(n.checker, n.model, &n.batch, n.grad, &opt,
                                   n.rng, r, &err),
                 GC_OK);
    assert_params_unchanged(n.model, before, "sampled parameter check");
    const double *numeric = gc_checker_numeric(n.checker);
    for (size_t t = 0; t < n.model->tensor_count; t++) {
        const gc_tensor_info *ti = &n.model->tensors[t];
        size_t size = ti->rows * ti->cols, checked = 0;
        for (size_t k = 0; k < size; k++)
            checked += !isnan(numeric[ti->offset + k]);
        size_t expect = size < 3 ? size : 3;
        cr_assert_eq(r[t].elements, expect, "%s", ti->name);
        cr_assert_eq(checked, expect, "%s", ti->name);
        cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s", ti->name);
    }
    free(before);
    net_free(&n);
}
