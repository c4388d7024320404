/* test_check_methods.c - the element checks' methods, schemes and threads
 * (check.h) on small built-in engine networks:
 *   - the batched partial evaluation equals the one-point one and a full
 *     recomputation from the layer, for every activation and loss;
 *   - both element methods agree with a full central difference of the
 *     loss for every hidden activation and every output/loss pair;
 *   - complex step reaches 1e-12 on analytic networks and is refused,
 *     with a reason, where it cannot apply;
 *   - Richardson's per-element error estimate bounds its actual error;
 *   - one thread and two give the same bits.
 *
 * Networks are 5-4-3 or 5-6-5-3, batches of 4 uniform inputs in [-1, 1],
 * every seed fixed.
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
#define SEED 4711u

/* The checker's default bands (src/spec.c). */
#define PASS_BELOW 1e-6
#define FAIL_ABOVE 1e-4

/* Two central differences of the same loss (test_check.c gives the
 * derivation): a few 1e-11 absolute each on gradients of 1e-3 .. 1, so
 * 1e-9 absolute plus 1e-6 relative is a factor of 30 of room and 1e4
 * below any mistake. */
#define NUMERIC_AGREE_REL 1e-6
#define NUMERIC_AGREE_ABS 1e-9

/* Batched against one-point shares: the same formulas, except that the
 * batched one takes exp, tanh and sigmoid from libmvec (4 ulp) and sums
 * in the same order; a share of order 1 then differs by ~1e-15.  1e-13
 * relative is a factor of 100 over that. */
#define SHARE_REL 1e-13

/* A change of one share against the change of the whole batch loss
 * recomputed from the layer: both are differences of values of order
 * |L|, each rounded to GC_LOSS_ROUNDING_ULPS epsilons of |L| (check.h). */
#define RECOMPUTE_ULPS (2.0 * GC_LOSS_ROUNDING_ULPS)

/* Complex step on a correct analytic network (issue 7's target): no
 * subtraction, so only the rounding of the forward pass and of the
 * backward remain, ~1e-15; 1e-12 is the target and leaves a factor of
 * 1000. */
#define COMPLEX_REL_MAX 1e-12

/* The analytic gradient that Richardson's estimate is held against is
 * itself rounded: the backward of a 2-3 layer network is accurate to a
 * few ulps of each element; 1e-14 relative allows ~45. */
#define ANALYTIC_ROUNDING_REL 1e-14

/* An error estimate must also be useful.  A tensor's noise below
 * pass_below |g| can never turn a mismatch above the pass band into
 * "within the noise" (verdict rule 6 needs |g - n| <= noise, hence
 * rel <= noise / |g|).  Richardson's estimate is GSL's: the truncation of
 * the plain difference at h = eps^(1/5), conservative by design
 * (measured: 1.7e-7 and 2.3e-7 of |g| on these networks); the bound is the
 * pass band itself. */
#define USEFUL_NOISE_REL PASS_BELOW

typedef struct {
    gc_engine *engine;
    gc_model *model;
    double x[BATCH * INPUTS];
    int labels[BATCH];
    gc_batch batch;
    double *grad;
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

/* widths: INPUTS, then one per layer; acts one per layer. */
static void net_make(net *n, size_t layers, const size_t *widths,
                     const gc_activation *acts, gc_loss loss, uint64_t seed)
{
    memset(n, 0, sizeof *n);
    gc_network_spec spec;
    memset(&spec, 0, sizeof spec);
    spec.inputs = INPUTS;
    spec.layer_count = layers;
    for (size_t l = 0; l < layers; l++) {
        spec.layers[l].width = widths[l + 1];
        spec.layers[l].activation = acts[l];
    }
    spec.init = GC_INIT_NORMAL;
    spec.bias_init = 0.05;
    gc_as_written_spec aw = correct_as_written();
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&spec, loss, &aw, INPUTS, BATCH, &n->engine,
                                 &err),
                 GC_OK, "%s", err.message);
    cr_assert_eq(gc_engine_init_params(n->engine, seed, &err), GC_OK);
    n->model = gc_engine_model(n->engine);
    n->rng = gsl_rng_alloc(gsl_rng_mt19937);
    cr_assert_not_null(n->rng);
    gsl_rng_set(n->rng, (unsigned long)seed ^ 0x5eedu);
    for (size_t i = 0; i < BATCH * INPUTS; i++)
        n->x[i] = 2.0 * gsl_rng_uniform(n->rng) - 1.0;
    for (size_t b = 0; b < BATCH; b++)
        n->labels[b] = (int)gsl_rng_uniform_int(n->rng, widths[layers]);
    n->batch = (gc_batch){n->x, n->labels, BATCH, INPUTS};
    n->grad = calloc(n->model->param_count, sizeof(double));
    cr_assert_not_null(n->grad);
    double loss_value;
    cr_assert_eq(n->model->gradient(n->model, n->model->params, &n->batch,
                                    &loss_value, n->grad, &err),
                 GC_OK, "%s", err.message);
    cr_assert_eq(gc_checker_alloc(n->model, BATCH, &n->checker, &err),
                 GC_OK);
}

static void net_make2(net *n, gc_activation hidden, gc_activation output,
                      gc_loss loss, uint64_t seed)
{
    const size_t widths[] = {INPUTS, 4, 3};
    const gc_activation acts[] = {hidden, output};
    net_make(n, 2, widths, acts, loss, seed);
}

static void net_make3(net *n, gc_activation hidden, gc_activation output,
                      gc_loss loss, uint64_t seed)
{
    const size_t widths[] = {INPUTS, 6, 5, 3};
    const gc_activation acts[] = {hidden, hidden, output};
    net_make(n, 3, widths, acts, loss, seed);
}

static void net_free(net *n)
{
    gc_checker_free(n->checker);
    gsl_rng_free(n->rng);
    free(n->grad);
    gc_engine_free(n->engine);
}

static gc_check_options options_of(gc_check_method method,
                                   gc_difference difference, size_t threads)
{
    return (gc_check_options){
        .method = method, .step_scale = 1.0, .pass_below = PASS_BELOW,
        .fail_above = FAIL_ABOVE, .sample = 0, .difference = difference,
        .threads = threads};
}

/* Runs an element check and returns a copy of the numeric gradient. */
static double *run_elements(net *n, const gc_check_options *opt,
                            gc_check_event *results)
{
    gc_error err;
    cr_assert_eq(gc_check_elements(n->checker, n->model, &n->batch, n->grad,
                                   opt, n->rng, results, &err),
                 GC_OK, "%s", err.message);
    size_t bytes = n->model->param_count * sizeof(double);
    double *numeric = malloc(bytes);
    cr_assert_not_null(numeric);
    memcpy(numeric, gc_checker_numeric(n->checker), bytes);
    return numeric;
}

/* The plain reference: each parameter moved by +-h, the whole loss
 * recomputed through model->loss. */
static double *full_central_difference(net *n)
{
    gc_model *m = n->model;
    double *p = malloc(m->param_count * sizeof(double));
    double *numeric = malloc(m->param_count * sizeof(double));
    cr_assert(p && numeric);
    memcpy(p, m->params, m->param_count * sizeof(double));
    for (size_t i = 0; i < m->param_count; i++) {
        double theta = p[i], h = GC_CBRT_EPSILON * fmax(fabs(theta), 1.0);
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

typedef struct {
    gc_loss loss;
    gc_activation output;
} output_pair;

/* Every output activation and loss the engine accepts. */
static const output_pair pairs[] = {
    {GC_LOSS_MSE, GC_ACT_IDENTITY},
    {GC_LOSS_MSE, GC_ACT_SIGMOID},
    {GC_LOSS_MSE, GC_ACT_TANH},
    {GC_LOSS_MSE, GC_ACT_RELU},
    {GC_LOSS_MSE, GC_ACT_LEAKY_RELU},
    {GC_LOSS_MSE, GC_ACT_SOFTMAX},
    {GC_LOSS_CROSS_ENTROPY, GC_ACT_SOFTMAX},
    {GC_LOSS_CROSS_ENTROPY, GC_ACT_SIGMOID},
    {GC_LOSS_BINARY_CROSS_ENTROPY, GC_ACT_SIGMOID},
    {GC_LOSS_BINARY_CROSS_ENTROPY, GC_ACT_SOFTMAX},
};

static const gc_activation hidden_acts[] = {
    GC_ACT_IDENTITY, GC_ACT_SIGMOID, GC_ACT_TANH, GC_ACT_RELU,
    GC_ACT_LEAKY_RELU,
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- partial evaluations against full recomputation --------------------- */

/* For every layer, sample and unit and three values of z[b, i]: the
 * batched share equals the one-point share, and its change equals the
 * change of the batch loss recomputed from that layer (batch_loss_from,
 * every unit of every sample above it). */
static void assert_batched_shares(gc_activation hidden, gc_activation out,
                                  gc_loss loss, uint64_t seed)
{
    net n;
    net_make3(&n, hidden, out, loss, seed);
    gc_model *m = n.model;
    const gc_layer_view *v = m->layers;
    cr_assert_not_null(v->sample_losses_unit);
    double base;
    gc_error err;
    cr_assert_eq(v->forward(m, m->params, &n.batch, &base, &err), GC_OK);
    double *scratch = malloc(v->unit_scratch(m, 4) * sizeof(double));
    double *z_copy = malloc(BATCH * 6 * sizeof(double));
    cr_assert(scratch && z_copy);
    for (size_t l = 1; l <= v->layer_count; l++) {
        size_t w = v->width(m, l);
        const double *z = v->pre_activations(m, l);
        for (size_t b = 0; b < BATCH; b++) {
            for (size_t i = 0; i < w; i++) {
                double zv = z[b * w + i];
                double values[4] = {zv, zv + 0.3, zv - 0.7, zv + 1e-4};
                double shares[4];
                cr_assert_eq(v->sample_losses_unit(m, l, b, i, values, 4,
                                                   shares, NULL, scratch,
                                                   &err),
                             GC_OK, "%s", err.message);
                for (size_t p = 0; p < 4; p++) {
                    double one;
                    cr_assert_eq(v->sample_loss_unit(m, l, b, i, values[p],
                                                     &one, NULL, &err),
                                 GC_OK);
                    gc_assert_close(shares[p], one, SHARE_REL, 1e-300);
                    memcpy(z_copy, z, BATCH * w * sizeof(double));
                    z_copy[b * w + i] = values[p];
                    double full;
                    cr_assert_eq(v->batch_loss_from(m, l, z_copy, &full,
                                                    NULL, &err),
                                 GC_OK);
                    double tol = RECOMPUTE_ULPS * DBL_EPSILON * fabs(base);
                    cr_assert(fabs((shares[p] - shares[0]) -
                                   (full - base)) <= tol,
                              "%s/%s layer %zu sample %zu unit %zu: share "
                              "change %.17g, recomputed %.17g",
                              gc_activation_name(hidden),
                              gc_activation_name(out), l, b, i,
                              shares[p] - shares[0], full - base);
                }
            }
        }
    }
    free(scratch);
    free(z_copy);
    net_free(&n);
}

Test(check_methods, batched_shares_match_full_recomputation_everywhere)
{
    for (size_t h = 0; h < COUNT(hidden_acts); h++)
        for (size_t p = 0; p < COUNT(pairs); p++)
            assert_batched_shares(hidden_acts[h], pairs[p].output,
                                  pairs[p].loss, SEED + 10 * h + p);
}

/* Both element methods agree with the full central difference, element
 * by element, for every hidden activation and every output/loss pair. */
static void assert_methods_agree(gc_activation hidden, gc_activation out,
                                 gc_loss loss, uint64_t seed)
{
    net n;
    net_make3(&n, hidden, out, loss, seed);
    gc_model *m = n.model;
    gc_check_event r[6];
    gc_check_options pre = options_of(GC_METHOD_PREACTIVATION,
                                      GC_DIFFERENCE_CENTRAL, 0);
    gc_check_options par = options_of(GC_METHOD_PARAMETER,
                                      GC_DIFFERENCE_CENTRAL, 0);
    double *n_pre = run_elements(&n, &pre, r);
    for (size_t t = 0; t < m->tensor_count; t++)
        cr_assert_str_eq(r[t].method, "preactivation");
    double *n_par = run_elements(&n, &par, r);
    for (size_t t = 0; t < m->tensor_count; t++)
        cr_assert_str_eq(r[t].method, "parameter");
    double *full = full_central_difference(&n);
    size_t compared = 0;
    for (size_t k = 0; k < m->param_count; k++) {
        /* an element whose step crossed a relu kink is NaN: left out */
        if (isnan(n_pre[k]) || isnan(n_par[k]))
            continue;
        compared++;
        cr_assert(gc_test_close(n_pre[k], full[k], NUMERIC_AGREE_REL,
                                NUMERIC_AGREE_ABS),
                  "%s/%s: preactivation[%zu] %.17g, full %.17g",
                  gc_activation_name(hidden), gc_activation_name(out), k,
                  n_pre[k], full[k]);
        cr_assert(gc_test_close(n_par[k], full[k], NUMERIC_AGREE_REL,
                                NUMERIC_AGREE_ABS),
                  "%s/%s: parameter[%zu] %.17g, full %.17g",
                  gc_activation_name(hidden), gc_activation_name(out), k,
                  n_par[k], full[k]);
    }
    /* nearly every element compared: a kink is a rare event here */
    cr_assert_geq(compared + m->param_count / 10, m->param_count);
    free(n_pre);
    free(n_par);
    free(full);
    net_free(&n);
}

Test(check_methods, both_methods_match_full_difference_everywhere)
{
    for (size_t h = 0; h < COUNT(hidden_acts); h++)
        for (size_t p = 0; p < COUNT(pairs); p++)
            assert_methods_agree(hidden_acts[h], pairs[p].output,
                                 pairs[p].loss, SEED + 100 + 10 * h + p);
}

/* ---- complex step -------------------------------------------------------- */

static void assert_complex_reaches_target(gc_activation hidden,
                                          gc_activation out, gc_loss loss,
                                          uint64_t seed)
{
    net n;
    net_make3(&n, hidden, out, loss, seed);
    gc_check_event r[6];
    gc_check_method methods[2] = {GC_METHOD_PREACTIVATION,
                                  GC_METHOD_PARAMETER};
    for (size_t k = 0; k < 2; k++) {
        gc_check_options opt = options_of(methods[k], GC_DIFFERENCE_COMPLEX,
                                          0);
        double *numeric = run_elements(&n, &opt, r);
        for (size_t t = 0; t < n.model->tensor_count; t++) {
            cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s %s: %s",
                         r[t].method, r[t].tensor, r[t].reason);
            cr_assert_leq(r[t].rel_error, COMPLEX_REL_MAX,
                          "%s/%s %s %s: rel %.3e",
                          gc_activation_name(hidden),
                          gc_activation_name(out), r[t].method, r[t].tensor,
                          r[t].rel_error);
            cr_assert_gt(r[t].analytic_norm, 0.0);
        }
        cr_assert_str_eq(r[0].method, k == 0 ? "preact/complex"
                                             : "param/complex");
        free(numeric);
    }
    net_free(&n);
}

Test(check_methods, complex_step_reaches_1e12_on_tanh_softmax)
{
    assert_complex_reaches_target(GC_ACT_TANH, GC_ACT_SOFTMAX,
                                  GC_LOSS_CROSS_ENTROPY, SEED + 300);
}

Test(check_methods, complex_step_reaches_1e12_on_other_analytic_networks)
{
    assert_complex_reaches_target(GC_ACT_SIGMOID, GC_ACT_SOFTMAX,
                                  GC_LOSS_MSE, SEED + 301);
    assert_complex_reaches_target(GC_ACT_TANH, GC_ACT_SIGMOID,
                                  GC_LOSS_BINARY_CROSS_ENTROPY, SEED + 302);
    assert_complex_reaches_target(GC_ACT_IDENTITY, GC_ACT_IDENTITY,
                                  GC_LOSS_MSE, SEED + 303);
}

Test(check_methods, complex_step_is_refused_for_relu_with_a_reason)
{
    net n;
    net_make2(&n, GC_ACT_RELU, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY,
              SEED + 310);
    gc_check_event r[4];
    gc_check_options opt = options_of(GC_METHOD_PARAMETER,
                                      GC_DIFFERENCE_COMPLEX, 0);
    gc_error err;
    gc_error_clear(&err);
    cr_assert_eq(gc_check_supported(n.model, &opt, &err), GC_EINVAL);
    cr_assert_not_null(strstr(err.message, "relu"), "%s", err.message);
    cr_assert_not_null(strstr(err.message, "analytic"), "%s", err.message);
    gc_error_clear(&err);
    cr_assert_eq(gc_check_elements(n.checker, n.model, &n.batch, n.grad, &opt,
                                   n.rng, r, &err),
                 GC_EINVAL);
    cr_assert_not_null(strstr(err.message, "layer 1 is relu"), "%s",
                       err.message);
    net_free(&n);
}

Test(check_methods, complex_step_is_refused_for_a_model_without_it)
{
    net n;
    net_make2(&n, GC_ACT_TANH, GC_ACT_SOFTMAX, GC_LOSS_CROSS_ENTROPY,
              SEED + 311);
    gc_model box = *n.model;
    box.layers = NULL;
    gc_check_options opt = options_of(GC_METHOD_PARAMETER,
                                      GC_DIFFERENCE_COMPLEX, 0);
    gc_error err;
    gc_error_clear(&err);
    cr_assert_eq(gc_check_supported(&box, &opt, &err), GC_EINVAL);
    cr_assert_not_null(strstr(err.message, "complex arithmetic"), "%s",
                       err.message);
    net_free(&n);
}

/* ---- Richardson ---------------------------------------------------------- */

/* Every element's Richardson value lies within its own error estimate of
 * the analytic derivative (the correct backward, exact to rounding), and
 * the estimate is small enough to be useful. */
static void assert_richardson_honest(gc_activation hidden, gc_activation out,
                                     gc_loss loss, gc_check_method method,
                                     uint64_t seed)
{
    net n;
    net_make3(&n, hidden, out, loss, seed);
    gc_model *m = n.model;
    gc_check_event r[6];
    gc_check_options opt = options_of(method, GC_DIFFERENCE_RICHARDSON, 0);
    double *numeric = run_elements(&n, &opt, r);
    const double *error = gc_checker_numeric_error(n.checker);
    double worst_ratio = 0.0;
    for (size_t k = 0; k < m->param_count; k++) {
        double g = n.grad[k];
        double actual = fabs(numeric[k] - g);
        double allowed = error[k] + ANALYTIC_ROUNDING_REL * fabs(g) +
                         1e-300;
        cr_assert(isfinite(error[k]) && error[k] > 0.0,
                  "element %zu: estimate %g", k, error[k]);
        cr_assert_leq(actual, allowed,
                      "%s element %zu: |n - g| = %.3e above its estimate "
                      "%.3e (n %.17g, g %.17g)", r[0].method, k, actual,
                      error[k], numeric[k], g);
        if (actual / allowed > worst_ratio)
            worst_ratio = actual / allowed;
    }
    for (size_t t = 0; t < m->tensor_count; t++) {
        cr_assert_eq(r[t].verdict, GC_VERDICT_PASS, "%s", r[t].tensor);
        cr_assert_leq(r[t].noise, USEFUL_NOISE_REL * r[t].analytic_norm,
                      "%s %s: noise %.3e against |g| %.3e", r[t].method,
                      r[t].tensor, r[t].noise, r[t].analytic_norm);
    }
    cr_assert_gt(worst_ratio, 0.0, "the comparison compared nothing");
    free(numeric);
    net_free(&n);
}

Test(check_methods, richardson_estimate_bounds_the_error_parameter)
{
    assert_richardson_honest(GC_ACT_TANH, GC_ACT_SOFTMAX,
                             GC_LOSS_CROSS_ENTROPY, GC_METHOD_PARAMETER,
                             SEED + 400);
    assert_richardson_honest(GC_ACT_SIGMOID, GC_ACT_SOFTMAX, GC_LOSS_MSE,
                             GC_METHOD_PARAMETER, SEED + 401);
}

Test(check_methods, richardson_estimate_bounds_the_error_preactivation)
{
    assert_richardson_honest(GC_ACT_TANH, GC_ACT_SOFTMAX,
                             GC_LOSS_CROSS_ENTROPY, GC_METHOD_PREACTIVATION,
                             SEED + 402);
    assert_richardson_honest(GC_ACT_SIGMOID, GC_ACT_SIGMOID,
                             GC_LOSS_BINARY_CROSS_ENTROPY,
                             GC_METHOD_PREACTIVATION, SEED + 403);
}

/* ---- threads ------------------------------------------------------------- */

/* One thread and two: the same numeric gradient, error estimates and
 * events, bit for bit, for every method and scheme. */
Test(check_methods, one_and_two_threads_give_identical_bits)
{
    const size_t widths[] = {INPUTS, 24, 16, 3};
    const gc_activation acts[] = {GC_ACT_TANH, GC_ACT_SIGMOID,
                                  GC_ACT_SOFTMAX};
    gc_check_method methods[2] = {GC_METHOD_PREACTIVATION,
                                  GC_METHOD_PARAMETER};
    gc_difference schemes[3] = {GC_DIFFERENCE_CENTRAL,
                                GC_DIFFERENCE_RICHARDSON,
                                GC_DIFFERENCE_COMPLEX};
    for (size_t mk = 0; mk < 2; mk++) {
        for (size_t s = 0; s < 3; s++) {
            net one, two;
            net_make(&one, 3, widths, acts, GC_LOSS_CROSS_ENTROPY,
                     SEED + 500);
            net_make(&two, 3, widths, acts, GC_LOSS_CROSS_ENTROPY,
                     SEED + 500);
            size_t count = one.model->param_count;
            gc_check_event r1[6], r2[6];
            gc_check_options o1 = options_of(methods[mk], schemes[s], 1);
            gc_check_options o2 = options_of(methods[mk], schemes[s], 2);
            double *n1 = run_elements(&one, &o1, r1);
            double *n2 = run_elements(&two, &o2, r2);
            cr_assert_eq(memcmp(n1, n2, count * sizeof(double)), 0,
                         "%s: numeric gradients differ", r1[0].method);
            cr_assert_eq(memcmp(gc_checker_numeric_error(one.checker),
                                gc_checker_numeric_error(two.checker),
                                count * sizeof(double)),
                         0, "%s: error estimates differ", r1[0].method);
            cr_assert_eq(memcmp(r1, r2, sizeof r1), 0,
                         "%s: events differ", r1[0].method);
            for (size_t t = 0; t < 6; t++)
                cr_assert_eq(r1[t].verdict, GC_VERDICT_PASS, "%s %s",
                             r1[t].method, r1[t].tensor);
            free(n1);
            free(n2);
            net_free(&one);
            net_free(&two);
        }
    }
}
