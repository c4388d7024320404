/* test_engine.c - the built-in dense network: its backward against central
 * differences of its own loss, the layer view, the as-written mistakes,
 * the update, the initialisation and the constructor's error paths.
 *
 * Every network is small (3-4-k or 4-5-5-k), every seed fixed, and every
 * batch 3 samples of uniform inputs in [-1, 1].
 */
#include "activation.h"
#include "check.h"
#include "engine.h"
#include "loss.h"
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

#define BATCH 3
#define MAX_INPUTS 8
#define SEED 20240601u

/* Per-tensor relative error |g - n| / (|g| + |n|) of the backward against
 * a per-parameter central difference.  With h = eps^(1/3) max(|theta|, 1)
 * each numeric element is off by ~eps^(2/3) |L| ~ 4e-11 (truncation and
 * rounding balanced, check.h); the tensors' gradient norms here are
 * 5e-4 .. 1, so a correct backward lands at 1e-10 .. 3e-8 and 1e-7 is
 * the bound.  A wrong formula misses by 1e-2 or more. */
#define BACKWARD_REL 1e-7

/* A gradient that is not trivially zero: the random networks here give
 * tensor norms of 5e-4 .. 1; below 1e-6 a tensor is dead or zeroed and
 * its comparison would prove nothing. */
#define GRADIENT_FLOOR 1e-6

/* One sample's share recomputed from a hidden layer goes through a
 * matrix-vector product instead of the forward's matrix product; the two
 * round differently by a few ulps of z, which the loss passes on with a
 * condition number of order 1: 1e-13 relative is ~500 ulps. */
#define SHARE_REL 1e-13

/* Per-sample shares summed before, not after, dividing by B: the two
 * orders differ by a few ulps of the loss (B = 3 terms). */
#define SUM_ORDER_REL (16 * DBL_EPSILON)

/* A mistake changes its tensor by O(1) relative (a dropped Jacobian term,
 * f' at the wrong point, a factor of B); 1e-3 is far above rounding
 * (1e-16) and far below the change. */
#define MISTAKE_MIN_REL 1e-3

/* batch_sum: the same sums scaled by 1 instead of 1/B.  Each element is one
 * scaled dot product of B = 3 terms; the two scalings round differently by
 * a few ulps, more where the terms cancel, so allow 1e-12 relative. */
#define BATCH_SUM_REL 1e-12
#define BATCH_SUM_ABS 1e-18

/* A forward mistake that is harmless for moderate values: -log(a_y) from
 * a rounded softmax against the log1p form, or exp(z) / sum against
 * exp(z - max) / sum: both differ by a few ulps of each probability,
 * i.e. ~1e-15 of a loss of order 1; 1e-13 leaves ample room. */
#define FORWARD_FORM_REL 1e-13
#define FORWARD_FORM_ABS 1e-15

/* theta - lr g done by daxpy (possibly fused) against the test's own
 * rounding: at most 2 ulps of the result apart. */
#define UPDATE_REL (4 * DBL_EPSILON)
#define UPDATE_ABS 1e-300
#define LEARNING_RATE 0.1

/* ---- fixture ------------------------------------------------------------ */

typedef struct {
    gc_engine *engine;
    gc_model *model;
    double x[BATCH * MAX_INPUTS];
    int labels[BATCH];
    gc_batch batch;
} fixture;

static gc_as_written_spec correct_spec(void)
{
    gc_as_written_spec aw;
    memset(&aw, 0, sizeof aw);
    aw.softmax_derivative = GC_SOFTMAX_DERIV_JACOBIAN;
    aw.softmax_subtract_max = true;
    return aw;
}

/* widths[0] is the input width; layers 1..n follow. */
static gc_network_spec network_of(size_t n, const size_t *widths,
                                  const gc_activation *acts)
{
    gc_network_spec net;
    memset(&net, 0, sizeof net);
    net.inputs = widths[0];
    net.layer_count = n;
    for (size_t l = 0; l < n; l++) {
        net.layers[l].width = widths[l + 1];
        net.layers[l].activation = acts[l];
    }
    net.init = GC_INIT_NORMAL;
    net.init_scale = 0.0;          /* 1/sqrt(fan_in) */
    net.bias_init = 0.1;           /* biases matter in every gradient */
    return net;
}

static void fixture_make(fixture *f, const gc_network_spec *net,
                         gc_loss loss, const gc_as_written_spec *aw,
                         uint64_t seed)
{
    gc_error err;
    size_t inputs = net->inputs;
    cr_assert(inputs <= MAX_INPUTS);
    gc_status status = gc_engine_alloc(net, loss, aw, inputs, BATCH,
                                       &f->engine, &err);
    cr_assert_eq(status, GC_OK, "%s", err.message);
    cr_assert_eq(gc_engine_init_params(f->engine, seed, &err), GC_OK);
    f->model = gc_engine_model(f->engine);

    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, (unsigned long)seed + 1);
    size_t k = net->layers[net->layer_count - 1].width;
    for (size_t i = 0; i < BATCH * inputs; i++)
        f->x[i] = 2.0 * gsl_rng_uniform(rng) - 1.0;
    for (size_t b = 0; b < BATCH; b++)
        f->labels[b] = (int)gsl_rng_uniform_int(rng, k == 1 ? 2 : k);
    gsl_rng_free(rng);
    f->batch = (gc_batch){f->x, f->labels, BATCH, inputs};
}

static void fixture_free(fixture *f)
{
    gc_engine_free(f->engine);
    f->engine = NULL;
}

static double gradient_of(fixture *f, double *grad)
{
    gc_error err;
    double loss;
    gc_status status = f->model->gradient(f->model, f->model->params,
                                          &f->batch, &loss, grad, &err);
    cr_assert_eq(status, GC_OK, "%s", err.message);
    return loss;
}

static double norm_of(const double *v, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += v[i] * v[i];
    return sqrt(s);
}

/* |x - y| / (|x| + |y|) over one tensor (0 when both are 0). */
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

static bool tensor_identical(const gc_tensor_info *t, const double *x,
                             const double *y)
{
    return memcmp(x + t->offset, y + t->offset,
                  t->rows * t->cols * sizeof(double)) == 0;
}

/* Per-parameter central difference of model->loss into numeric (NaN where
 * the difference crossed a kink); returns how many did. */
static size_t numeric_gradient(fixture *f, double *numeric)
{
    gc_model *m = f->model;
    double *p = malloc(m->param_count * sizeof(double));
    cr_assert_not_null(p);
    memcpy(p, m->params, m->param_count * sizeof(double));
    size_t kinks = 0;
    for (size_t i = 0; i < m->param_count; i++) {
        double keep = p[i], h = GC_CBRT_EPSILON * fmax(fabs(keep), 1.0);
        double plus, minus;
        uint64_t pp, pm;
        gc_error err;
        p[i] = keep + h;
        cr_assert_eq(m->loss(m, p, &f->batch, &plus, &pp, &err), GC_OK);
        p[i] = keep - h;
        cr_assert_eq(m->loss(m, p, &f->batch, &minus, &pm, &err), GC_OK);
        p[i] = keep;
        numeric[i] = pp == pm ? (plus - minus) / (2.0 * h) : NAN;
        kinks += pp != pm;
    }
    free(p);
    return kinks;
}

/* ---- backward against central differences -------------------------------- */

typedef struct {
    gc_loss loss;
    gc_activation output;
} output_pair;

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

/* Builds the network, compares every tensor of the backward with the
 * central differences and checks the gradient is not trivially zero. */
static void assert_backward_correct(size_t n, const size_t *widths,
                                    const gc_activation *acts, gc_loss loss,
                                    uint64_t seed)
{
    gc_network_spec net = network_of(n, widths, acts);
    gc_as_written_spec aw = correct_spec();
    fixture f;
    fixture_make(&f, &net, loss, &aw, seed);
    size_t pc = f.model->param_count;
    double *grad = calloc(pc, sizeof(double));
    double *numeric = calloc(pc, sizeof(double));
    cr_assert(grad && numeric);
    gradient_of(&f, grad);
    size_t kinks = numeric_gradient(&f, numeric);
    cr_assert(kinks < pc / 4, "%zu of %zu differences crossed kinks",
              kinks, pc);
    for (size_t t = 0; t < f.model->tensor_count; t++) {
        const gc_tensor_info *ti = &f.model->tensors[t];
        /* kink-crossing elements leave both sides out of the comparison */
        for (size_t i = ti->offset; i < ti->offset + ti->rows * ti->cols;
             i++)
            if (isnan(numeric[i]))
                numeric[i] = grad[i];
        double rel = tensor_rel(ti, grad, numeric);
        double norm = norm_of(grad + ti->offset, ti->rows * ti->cols);
        cr_assert(norm > GRADIENT_FLOOR, "%s (hidden %s, output %s, %s): "
                  "gradient norm %.3e is trivially small", ti->name,
                  gc_activation_name(acts[0]),
                  gc_activation_name(acts[n - 1]), gc_loss_name(loss), norm);
        cr_assert(rel <= BACKWARD_REL, "%s (hidden %s, output %s, %s): "
                  "relative error %.3e", ti->name,
                  gc_activation_name(acts[0]),
                  gc_activation_name(acts[n - 1]), gc_loss_name(loss), rel);
    }
    free(grad);
    free(numeric);
    fixture_free(&f);
}

Test(engine_backward, matches_central_difference_3_4_k)
{
    for (size_t p = 0; p < COUNT(pairs); p++)
        for (size_t h = 0; h < COUNT(hidden_acts); h++) {
            size_t widths[] = {3, 4, 3};
            gc_activation acts[] = {hidden_acts[h], pairs[p].output};
            assert_backward_correct(2, widths, acts, pairs[p].loss,
                                    SEED + 10 * p + h);
        }
}

Test(engine_backward, matches_central_difference_4_5_5_2)
{
    for (size_t p = 0; p < COUNT(pairs); p++)
        for (size_t h = 0; h < COUNT(hidden_acts); h++) {
            size_t widths[] = {4, 5, 5, 2};
            gc_activation acts[] = {hidden_acts[h],
                                    hidden_acts[(h + 2) % COUNT(hidden_acts)],
                                    pairs[p].output};
            assert_backward_correct(3, widths, acts, pairs[p].loss,
                                    SEED + 10 * p + h);
        }
}

Test(engine_backward, matches_central_difference_single_sigmoid_output)
{
    for (size_t h = 0; h < COUNT(hidden_acts); h++) {
        size_t widths[] = {3, 4, 1};
        gc_activation acts[] = {hidden_acts[h], GC_ACT_SIGMOID};
        assert_backward_correct(2, widths, acts,
                                GC_LOSS_BINARY_CROSS_ENTROPY, SEED + h);
        assert_backward_correct(2, widths, acts, GC_LOSS_MSE, SEED + h);
    }
}

/* ---- the layer view ------------------------------------------------------ */

static void make_view_fixture(fixture *f)
{
    size_t widths[] = {4, 5, 5, 3};
    gc_activation acts[] = {GC_ACT_TANH, GC_ACT_SIGMOID, GC_ACT_SOFTMAX};
    gc_network_spec net = network_of(3, widths, acts);
    gc_as_written_spec aw = correct_spec();
    fixture_make(f, &net, GC_LOSS_CROSS_ENTROPY, &aw, SEED);
}

static double view_forward(fixture *f)
{
    gc_error err;
    double loss;
    cr_assert_eq(f->model->layers->forward(f->model, f->model->params,
                                           &f->batch, &loss, &err),
                 GC_OK);
    return loss;
}

Test(engine_view, output_unit_share_is_exactly_the_sample_loss_over_b)
{
    fixture f;
    make_view_fixture(&f);
    view_forward(&f);
    const gc_layer_view *v = f.model->layers;
    size_t L = v->layer_count, k = v->width(f.model, L);
    const double *z = v->pre_activations(f.model, L);
    const double *a = v->activations(f.model, L);
    for (size_t b = 0; b < BATCH; b++) {
        double expected = gc_loss_sample(GC_LOSS_CROSS_ENTROPY,
                                         GC_ACT_SOFTMAX, z + b * k,
                                         a + b * k, k, f.labels[b], false) /
                          BATCH;
        for (size_t u = 0; u < k; u++) {
            double share;
            gc_error err;
            cr_assert_eq(v->sample_loss_unit(f.model, L, b, u, z[b * k + u],
                                             &share, NULL, &err),
                         GC_OK);
            cr_assert_eq(share, expected, "sample %zu unit %zu: %.17g vs "
                         "%.17g", b, u, share, expected);
        }
    }
    fixture_free(&f);
}

Test(engine_view, shares_from_every_layer_sum_to_the_batch_loss)
{
    fixture f;
    make_view_fixture(&f);
    double loss = view_forward(&f);
    const gc_layer_view *v = f.model->layers;
    for (size_t l = 1; l <= v->layer_count; l++) {
        size_t n = v->width(f.model, l);
        const double *z = v->pre_activations(f.model, l);
        double total = 0.0;
        for (size_t b = 0; b < BATCH; b++) {
            double share;
            gc_error err;
            cr_assert_eq(v->sample_loss_unit(f.model, l, b, 1, z[b * n + 1],
                                             &share, NULL, &err),
                         GC_OK);
            total += share;
        }
        gc_assert_close(total, loss, SHARE_REL, 0.0);
    }
    fixture_free(&f);
}

Test(engine_view, batch_loss_from_cached_z_reproduces_the_loss)
{
    fixture f;
    make_view_fixture(&f);
    double loss = view_forward(&f);
    const gc_layer_view *v = f.model->layers;
    for (size_t l = 1; l <= v->layer_count; l++) {
        double again;
        gc_error err;
        cr_assert_eq(v->batch_loss_from(f.model, l,
                                        v->pre_activations(f.model, l),
                                        &again, NULL, &err),
                     GC_OK);
        gc_assert_close(again, loss, SUM_ORDER_REL, 0.0);
    }
    fixture_free(&f);
}

Test(engine_view, sample_loss_unit_rejects_a_unit_out_of_range)
{
    fixture f;
    make_view_fixture(&f);
    view_forward(&f);
    double share;
    gc_error err;
    cr_assert_eq(f.model->layers->sample_loss_unit(f.model, 1, 0, 5, 0.0,
                                                   &share, NULL, &err),
                 GC_EINVAL);
    cr_assert_eq(f.model->layers->sample_loss_unit(f.model, 1, BATCH, 0,
                                                   0.0, &share, NULL, &err),
                 GC_EINVAL);
    fixture_free(&f);
}

Test(engine_view, gradient_loss_equals_forward_loss)
{
    fixture f;
    make_view_fixture(&f);
    double *grad = calloc(f.model->param_count, sizeof(double));
    double from_gradient = gradient_of(&f, grad);
    double from_loss;
    gc_error err;
    cr_assert_eq(f.model->loss(f.model, f.model->params, &f.batch,
                               &from_loss, NULL, &err),
                 GC_OK);
    cr_assert_eq(from_gradient, from_loss);
    cr_assert_eq(from_loss, view_forward(&f));
    free(grad);
    fixture_free(&f);
}

/* ---- as-written mistakes ------------------------------------------------- */

/* Gradients and losses of the correct network and of the same network
 * (same seed, same batch) as written with one mistake. */
typedef struct {
    fixture right, wrong;
    double *g_right, *g_wrong;
    double loss_right, loss_wrong;
} mistake_pair;

static void mistake_pair_make(mistake_pair *mp, const gc_activation *acts,
                              gc_loss loss, const gc_as_written_spec *aw)
{
    size_t widths[] = {4, 5, 5, 3};   /* layer 2 is square */
    gc_network_spec net = network_of(3, widths, acts);
    gc_as_written_spec ok = correct_spec();
    fixture_make(&mp->right, &net, loss, &ok, SEED);
    fixture_make(&mp->wrong, &net, loss, aw, SEED);
    size_t pc = mp->right.model->param_count;
    cr_assert_eq(memcmp(mp->right.model->params, mp->wrong.model->params,
                        pc * sizeof(double)),
                 0);
    mp->g_right = calloc(pc, sizeof(double));
    mp->g_wrong = calloc(pc, sizeof(double));
    cr_assert(mp->g_right && mp->g_wrong);
    mp->loss_right = gradient_of(&mp->right, mp->g_right);
    mp->loss_wrong = gradient_of(&mp->wrong, mp->g_wrong);
}

static void mistake_pair_free(mistake_pair *mp)
{
    free(mp->g_right);
    free(mp->g_wrong);
    fixture_free(&mp->right);
    fixture_free(&mp->wrong);
}

static const gc_tensor_info *tensor_named(const gc_model *m,
                                          const char *name)
{
    for (size_t t = 0; t < m->tensor_count; t++)
        if (strcmp(m->tensors[t].name, name) == 0)
            return &m->tensors[t];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

static void assert_changed(const mistake_pair *mp, const char *name)
{
    const gc_tensor_info *t = tensor_named(mp->right.model, name);
    double rel = tensor_rel(t, mp->g_right, mp->g_wrong);
    cr_assert(rel > MISTAKE_MIN_REL, "%s changed by only %.3e", name, rel);
}

static void assert_unchanged(const mistake_pair *mp, const char *name)
{
    const gc_tensor_info *t = tensor_named(mp->right.model, name);
    cr_assert(tensor_identical(t, mp->g_right, mp->g_wrong),
              "%s changed by %.3e", name,
              tensor_rel(t, mp->g_right, mp->g_wrong));
}

static const gc_activation smooth_softmax[] = {GC_ACT_TANH, GC_ACT_SIGMOID,
                                               GC_ACT_SOFTMAX};

Test(engine_mistakes, elementwise_softmax_changes_output_layer_not_loss)
{
    gc_as_written_spec aw = correct_spec();
    aw.softmax_derivative = GC_SOFTMAX_DERIV_ELEMENTWISE;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_MSE, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    assert_changed(&mp, "layer3.W");
    assert_changed(&mp, "layer3.b");
    mistake_pair_free(&mp);
}

Test(engine_mistakes, derivative_at_activation_changes_hidden_not_output)
{
    const gc_activation acts[] = {GC_ACT_SIGMOID, GC_ACT_SIGMOID,
                                  GC_ACT_IDENTITY};
    gc_as_written_spec aw = correct_spec();
    aw.derivative_at_activation = true;
    mistake_pair mp;
    mistake_pair_make(&mp, acts, GC_LOSS_MSE, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    /* identity output: f' = 1 wherever it is evaluated */
    assert_unchanged(&mp, "layer3.W");
    assert_unchanged(&mp, "layer3.b");
    assert_changed(&mp, "layer2.W");
    assert_changed(&mp, "layer2.b");
    mistake_pair_free(&mp);
}

Test(engine_mistakes, output_delta_skipping_activation_changes_output)
{
    const gc_activation acts[] = {GC_ACT_TANH, GC_ACT_TANH, GC_ACT_SIGMOID};
    gc_as_written_spec aw = correct_spec();
    aw.output_delta_skips_activation = true;
    mistake_pair mp;
    mistake_pair_make(&mp, acts, GC_LOSS_MSE, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    assert_changed(&mp, "layer3.W");
    assert_changed(&mp, "layer3.b");
    mistake_pair_free(&mp);
}

Test(engine_mistakes, weight_gradient_from_output_changes_square_w_only)
{
    gc_as_written_spec aw = correct_spec();
    aw.weight_gradient_from_output = true;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    assert_changed(&mp, "layer2.W");
    const char *others[] = {"layer1.W", "layer1.b", "layer2.b", "layer3.W",
                            "layer3.b"};
    for (size_t i = 0; i < COUNT(others); i++)
        assert_unchanged(&mp, others[i]);
    mistake_pair_free(&mp);
}

Test(engine_mistakes, transposed_weight_gradient_is_the_transpose)
{
    gc_as_written_spec aw = correct_spec();
    aw.weight_gradient_transposed = true;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    const gc_tensor_info *t = tensor_named(mp.right.model, "layer2.W");
    for (size_t i = 0; i < t->rows; i++)
        for (size_t j = 0; j < t->cols; j++)
            cr_assert_eq(mp.g_wrong[t->offset + i * t->cols + j],
                         mp.g_right[t->offset + j * t->cols + i]);
    assert_changed(&mp, "layer2.W");
    const char *others[] = {"layer1.W", "layer1.b", "layer2.b", "layer3.W",
                            "layer3.b"};
    for (size_t i = 0; i < COUNT(others); i++)
        assert_unchanged(&mp, others[i]);
    mistake_pair_free(&mp);
}

Test(engine_mistakes, no_bias_gradient_zeroes_biases_keeps_weights)
{
    gc_as_written_spec aw = correct_spec();
    aw.no_bias_gradient = true;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    for (size_t t = 0; t < mp.right.model->tensor_count; t++) {
        const gc_tensor_info *ti = &mp.right.model->tensors[t];
        if (ti->kind == GC_TENSOR_WEIGHT) {
            assert_unchanged(&mp, ti->name);
            continue;
        }
        cr_assert(norm_of(mp.g_right + ti->offset, ti->rows) > 0.0);
        for (size_t i = 0; i < ti->rows; i++)
            cr_assert_eq(mp.g_wrong[ti->offset + i], 0.0);
    }
    mistake_pair_free(&mp);
}

Test(engine_mistakes, batch_sum_scales_every_tensor_by_b)
{
    gc_as_written_spec aw = correct_spec();
    aw.batch_sum = true;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    for (size_t i = 0; i < mp.right.model->param_count; i++)
        gc_assert_close(mp.g_wrong[i], BATCH * mp.g_right[i], BATCH_SUM_REL,
                        BATCH_SUM_ABS);
    assert_changed(&mp, "layer1.W");
    mistake_pair_free(&mp);
}

/* A mistake that changes only the form of a computation, not its value
 * on moderate inputs: the loss and every tensor's gradient agree with the
 * correct engine's to FORWARD_FORM_REL. */
static void assert_same_loss_and_gradient(const mistake_pair *mp)
{
    gc_assert_close(mp->loss_wrong, mp->loss_right, FORWARD_FORM_REL,
                    FORWARD_FORM_ABS);
    for (size_t t = 0; t < mp->right.model->tensor_count; t++) {
        const gc_tensor_info *ti = &mp->right.model->tensors[t];
        cr_assert(tensor_rel(ti, mp->g_right, mp->g_wrong) <= FORWARD_FORM_REL,
                  "%s", ti->name);
    }
}

Test(engine_mistakes, log_unclamped_keeps_loss_and_gradient_for_moderate_a)
{
    gc_as_written_spec aw = correct_spec();
    aw.log_unclamped = true;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    assert_same_loss_and_gradient(&mp);
    mistake_pair_free(&mp);
}

Test(engine_mistakes, unshifted_softmax_keeps_loss_and_gradient_for_moderate_z)
{
    gc_as_written_spec aw = correct_spec();
    aw.softmax_subtract_max = false;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    assert_same_loss_and_gradient(&mp);
    mistake_pair_free(&mp);
}

Test(engine_mistakes, unshifted_softmax_gives_nan_loss_for_logits_of_minus_800)
{
    gc_as_written_spec aw = correct_spec();
    aw.softmax_subtract_max = false;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_MSE, &aw);
    const gc_tensor_info *b3 = tensor_named(mp.wrong.model, "layer3.b");
    for (size_t i = 0; i < b3->rows; i++) {
        mp.wrong.model->params[b3->offset + i] = -800.0;
        mp.right.model->params[b3->offset + i] = -800.0;
    }
    gc_error err;
    double wrong, right;
    cr_assert_eq(mp.wrong.model->loss(mp.wrong.model, mp.wrong.model->params,
                                      &mp.wrong.batch, &wrong, NULL, &err),
                 GC_OK);
    cr_assert_eq(mp.right.model->loss(mp.right.model, mp.right.model->params,
                                      &mp.right.batch, &right, NULL, &err),
                 GC_OK);
    cr_assert(isnan(wrong), "loss %g", wrong);
    cr_assert(isfinite(right), "loss %g", right);
    mistake_pair_free(&mp);
}

/* ---- update -------------------------------------------------------------- */

static void assert_update(bool ascent)
{
    gc_as_written_spec aw = correct_spec();
    aw.update_ascent = ascent;
    mistake_pair mp;
    mistake_pair_make(&mp, smooth_softmax, GC_LOSS_CROSS_ENTROPY, &aw);
    cr_assert_eq(mp.loss_wrong, mp.loss_right);
    gc_model *m = ascent ? mp.wrong.model : mp.right.model;
    const double *g = ascent ? mp.g_wrong : mp.g_right;
    size_t pc = m->param_count;
    double *before = malloc(pc * sizeof(double));
    memcpy(before, m->params, pc * sizeof(double));
    gc_error err;
    cr_assert_not_null(m->update);
    cr_assert_eq(m->update(m, m->params, g, LEARNING_RATE, &err), GC_OK);
    double sign = ascent ? -1.0 : 1.0;
    for (size_t i = 0; i < pc; i++)
        gc_assert_close(m->params[i], before[i] - sign * LEARNING_RATE * g[i],
                        UPDATE_REL, UPDATE_ABS);
    cr_assert(memcmp(before, m->params, pc * sizeof(double)) != 0);
    free(before);
    mistake_pair_free(&mp);
}

Test(engine_update, descent_subtracts_learning_rate_times_gradient)
{
    assert_update(false);
}

Test(engine_update, ascent_adds_learning_rate_times_gradient)
{
    assert_update(true);
}

Test(engine_update, descent_step_lowers_the_loss)
{
    fixture f;
    make_view_fixture(&f);
    double *grad = calloc(f.model->param_count, sizeof(double));
    double before = gradient_of(&f, grad), after;
    gc_error err;
    cr_assert_eq(f.model->update(f.model, f.model->params, grad, 0.01, &err),
                 GC_OK);
    cr_assert_eq(f.model->loss(f.model, f.model->params, &f.batch, &after,
                               NULL, &err),
                 GC_OK);
    cr_assert_lt(after, before);
    free(grad);
    fixture_free(&f);
}

/* ---- initialisation ------------------------------------------------------ */

static gc_network_spec init_network(void)
{
    size_t widths[] = {4, 5, 5, 3};
    return network_of(3, widths, smooth_softmax);
}

Test(engine_init, same_seed_gives_same_parameters)
{
    gc_network_spec net = init_network();
    gc_as_written_spec aw = correct_spec();
    fixture a, b;
    fixture_make(&a, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    fixture_make(&b, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    cr_assert_eq(memcmp(a.model->params, b.model->params,
                        a.model->param_count * sizeof(double)),
                 0);
    fixture_free(&a);
    fixture_free(&b);
}

Test(engine_init, different_seed_gives_different_weights)
{
    gc_network_spec net = init_network();
    gc_as_written_spec aw = correct_spec();
    fixture a, b;
    fixture_make(&a, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    fixture_make(&b, &net, GC_LOSS_CROSS_ENTROPY, &aw, 8);
    const gc_tensor_info *w = &a.model->tensors[0];
    cr_assert(!tensor_identical(w, a.model->params, b.model->params));
    fixture_free(&a);
    fixture_free(&b);
}

Test(engine_init, biases_start_at_bias_init)
{
    gc_network_spec net = init_network();
    gc_as_written_spec aw = correct_spec();
    fixture f;
    fixture_make(&f, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    for (size_t t = 0; t < f.model->tensor_count; t++) {
        const gc_tensor_info *ti = &f.model->tensors[t];
        if (ti->kind != GC_TENSOR_BIAS)
            continue;
        for (size_t i = 0; i < ti->rows; i++)
            cr_assert_eq(f.model->params[ti->offset + i], net.bias_init);
    }
    fixture_free(&f);
}

Test(engine_init, constant_init_sets_every_weight)
{
    gc_network_spec net = init_network();
    net.init = GC_INIT_CONSTANT;
    net.init_scale = 0.25;
    gc_as_written_spec aw = correct_spec();
    fixture f;
    fixture_make(&f, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    const gc_tensor_info *w = &f.model->tensors[2];
    cr_assert_eq(w->kind, GC_TENSOR_WEIGHT);
    for (size_t i = 0; i < w->rows * w->cols; i++)
        cr_assert_eq(f.model->params[w->offset + i], 0.25);
    fixture_free(&f);
}

Test(engine_init, tensors_tile_the_parameter_vector_in_w_b_order)
{
    gc_network_spec net = init_network();
    gc_as_written_spec aw = correct_spec();
    fixture f;
    fixture_make(&f, &net, GC_LOSS_CROSS_ENTROPY, &aw, 7);
    size_t next = 0;
    for (size_t t = 0; t < f.model->tensor_count; t++) {
        const gc_tensor_info *ti = &f.model->tensors[t];
        cr_assert_eq(ti->offset, next);
        cr_assert_eq(ti->layer, t / 2 + 1);
        cr_assert_eq(ti->kind, t % 2 ? GC_TENSOR_BIAS : GC_TENSOR_WEIGHT);
        next += ti->rows * ti->cols;
    }
    cr_assert_eq(next, f.model->param_count);
    cr_assert_eq(next, 4 * 5 + 5 + 5 * 5 + 5 + 5 * 3 + 3);
    cr_assert_str_eq(f.model->tensors[2].name, "layer2.W");
    fixture_free(&f);
}

/* ---- constructor errors -------------------------------------------------- */

Test(engine_alloc, rejects_zero_layers)
{
    gc_network_spec net;
    memset(&net, 0, sizeof net);
    gc_as_written_spec aw = correct_spec();
    static char sentinel;
    gc_engine *e = (gc_engine *)&sentinel;   /* must be reset to NULL */
    gc_error err;
    gc_status status = gc_engine_alloc(&net, GC_LOSS_MSE, &aw, 3, BATCH, &e,
                                       &err);
    cr_assert_eq(status, GC_EINVAL);
    cr_assert_eq(err.code, GC_EINVAL);
    cr_assert_null(e);
}

Test(engine_alloc, rejects_transposed_gradient_without_square_layer)
{
    size_t widths[] = {3, 4, 3};
    gc_activation acts[] = {GC_ACT_TANH, GC_ACT_SOFTMAX};
    gc_network_spec net = network_of(2, widths, acts);
    gc_as_written_spec aw = correct_spec();
    aw.weight_gradient_transposed = true;
    gc_engine *e = NULL;
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&net, GC_LOSS_MSE, &aw, 3, BATCH, &e, &err),
                 GC_ECONFIG);
    cr_assert_eq(err.code, GC_ECONFIG);
    cr_assert_null(e);
}

Test(engine_alloc, accepts_transposed_gradient_with_square_layer)
{
    gc_network_spec net = init_network();
    gc_as_written_spec aw = correct_spec();
    aw.weight_gradient_transposed = true;
    gc_engine *e = NULL;
    gc_error err;
    cr_assert_eq(gc_engine_alloc(&net, GC_LOSS_MSE, &aw, 4, BATCH, &e, &err),
                 GC_OK);
    cr_assert_not_null(e);
    cr_assert_gt(gc_engine_bytes(e), 0);
    gc_engine_free(e);
    gc_engine_free(NULL);
}

Test(engine_alloc, forward_rejects_a_batch_larger_than_max_batch)
{
    fixture f;
    make_view_fixture(&f);
    gc_batch big = f.batch;
    big.count = BATCH + 1;
    double loss;
    gc_error err;
    cr_assert_eq(f.model->loss(f.model, f.model->params, &big, &loss, NULL,
                               &err),
                 GC_EINVAL);
    fixture_free(&f);
}
