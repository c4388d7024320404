/* engine.c - forward, backward and update of the built-in dense network.
 *
 * Notation (per batch of B samples, layer l = 1..L, n_l = width of l):
 *   A_0 = X                         B x n_0, the batch input
 *   Z_l = A_(l-1) W_l^T + 1 b_l^T   B x n_l        (GC_OP_DENSE)
 *   A_l = f_l(Z_l)                  B x n_l        (GC_OP_ACTIVATION, or
 *                                                   the softmax pair)
 *   L   = (1/B) sum_b l(z_L[b], a_L[b], y_b)
 * Backward (correct):
 *   D_L = dL/dZ_L                   B x n_L, per sample (see output_delta)
 *   dW_l = (1/B) D_l^T A_(l-1)      n_l x n_(l-1)
 *   db_l = (1/B) sum_b D_l[b]       n_l
 *   D_(l-1) = (D_l W_l) * f'(Z_(l-1))   elementwise
 * Each gc_as_written_spec field swaps one of these steps (see mistakes.h).
 */
#include "engine.h"

#include "activation.h"
#include "loss.h"
#include "mistakes.h"
#include "vecmath.h"

#include <complex.h>
#include <gsl/gsl_cblas.h>
#include <stdio.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t width;              /* n_l */
    size_t fan_in;             /* n_(l-1) */
    gc_activation activation;
    size_t weight_offset;      /* W_l in the flat vector */
    size_t bias_offset;        /* b_l */
    double *z;                 /* B x n_l pre-activations */
    double *a;                 /* B x n_l activations */
    double *delta;             /* B x n_l, dL/dZ_l from the last backward */
} layer_state;

struct gc_engine {
    gc_model model;            /* the interface handed out; self = engine */
    gc_layer_view view;
    size_t layer_count;
    layer_state layers[GC_MAX_LAYERS + 1];   /* [0] is the input */
    gc_tensor_info tensors[2 * GC_MAX_LAYERS];
    gc_network_spec network;
    gc_loss loss;
    gc_as_written_spec as_written;
    size_t max_batch;
    size_t max_width;
    /* the last forward(): its batch and parameters */
    const double *cached_params;
    const int *cached_labels;
    size_t batch_count;
    /* scratch: two B x max_width matrices for batch_loss_from and
     * backward, four rows for sample_loss_unit */
    double *scratch_a, *scratch_b, *scratch_c;
    double *row_z, *row_a, *row_next, *row_g;
    double *row_sums;          /* B softmax denominators */
    double *sample_losses;     /* B per-sample losses */
    gc_op_hook hook;
    void *hook_context;
    char complex_reason[96];   /* why complex step cannot apply */
    size_t bytes;
    double storage[];          /* every array above points in here */
};

/* ---- small helpers ------------------------------------------------------- */

static gc_engine *engine_of(gc_model *model)
{
    return (gc_engine *)model->self;
}

static void emit(gc_engine *e, gc_op op, size_t layer, const double *out,
                 size_t out_count, const double *in, size_t in_count,
                 size_t row_length)
{
    if (e->hook == NULL)
        return;
    gc_op_record r = {op, layer, out, out_count, in, in_count, row_length};
    e->hook(e->hook_context, &r);
}

static const double *weights(const gc_engine *e, const double *params,
                             size_t l)
{
    return params + e->layers[l].weight_offset;
}

static const double *biases(const gc_engine *e, const double *params,
                            size_t l)
{
    return params + e->layers[l].bias_offset;
}

/* ---- allocation ---------------------------------------------------------- */

static size_t count_doubles(const gc_network_spec *net, size_t inputs,
                            size_t max_batch, size_t *params,
                            size_t *max_width)
{
    size_t total = 0, fan_in = inputs, widest = inputs;
    *params = 0;
    for (size_t l = 0; l < net->layer_count; l++) {
        size_t n = net->layers[l].width;
        *params += n * fan_in + n;
        total += 3 * max_batch * n;            /* z, a, delta */
        if (n > widest)
            widest = n;
        fan_in = n;
    }
    *max_width = widest;
    total += *params;
    total += 3 * max_batch * widest;           /* scratch_a, _b, _c */
    total += 4 * widest + 2 * max_batch;       /* rows, sums, losses */
    return total;
}

static void name_tensors(gc_engine *e)
{
    for (size_t l = 1; l <= e->layer_count; l++) {
        gc_tensor_info *w = &e->tensors[2 * (l - 1)];
        gc_tensor_info *b = w + 1;
        snprintf(w->name, sizeof w->name, "layer%zu.W", l);
        w->kind = GC_TENSOR_WEIGHT;
        w->layer = l;
        w->rows = e->layers[l].width;
        w->cols = e->layers[l].fan_in;
        w->offset = e->layers[l].weight_offset;
        snprintf(b->name, sizeof b->name, "layer%zu.b", l);
        b->kind = GC_TENSOR_BIAS;
        b->layer = l;
        b->rows = e->layers[l].width;
        b->cols = 1;
        b->offset = e->layers[l].bias_offset;
    }
}

static void lay_out_storage(gc_engine *e, size_t inputs, size_t param_count)
{
    double *p = e->storage;
    e->model.params = p;
    p += param_count;
    size_t offset = 0, fan_in = inputs;
    e->layers[0].width = inputs;
    for (size_t l = 1; l <= e->layer_count; l++) {
        layer_state *s = &e->layers[l];
        s->width = e->network.layers[l - 1].width;
        s->fan_in = fan_in;
        s->activation = e->network.layers[l - 1].activation;
        s->weight_offset = offset;
        s->bias_offset = offset + s->width * fan_in;
        offset = s->bias_offset + s->width;
        s->z = p;
        p += e->max_batch * s->width;
        s->a = p;
        p += e->max_batch * s->width;
        s->delta = p;
        p += e->max_batch * s->width;
        fan_in = s->width;
    }
    e->scratch_a = p;
    p += e->max_batch * e->max_width;
    e->scratch_b = p;
    p += e->max_batch * e->max_width;
    e->scratch_c = p;
    p += e->max_batch * e->max_width;
    e->row_z = p;
    p += e->max_width;
    e->row_a = p;
    p += e->max_width;
    e->row_next = p;
    p += e->max_width;
    e->row_g = p;
    p += e->max_width;
    e->row_sums = p;
    p += e->max_batch;
    e->sample_losses = p;
}

static void wire_model(gc_engine *e);

gc_status gc_engine_alloc(const gc_network_spec *network, gc_loss loss,
                          const gc_as_written_spec *as_written,
                          size_t inputs, size_t max_batch, gc_engine **out,
                          gc_error *err)
{
    *out = NULL;
    if (network->layer_count == 0 || network->layer_count > GC_MAX_LAYERS)
        return gc_error_set(err, GC_EINVAL,
                            "network needs 1 to %d layers, got %zu",
                            GC_MAX_LAYERS, network->layer_count);
    if (inputs == 0 || max_batch == 0)
        return gc_error_set(err, GC_EINVAL,
                            "network needs inputs and a batch size >= 1");
    gc_status status = gc_mistakes_validate(as_written, network, inputs,
                                            err);
    if (status != GC_OK)
        return status;

    size_t param_count, max_width;
    size_t doubles = count_doubles(network, inputs, max_batch, &param_count,
                                   &max_width);
    size_t bytes = sizeof(gc_engine) + doubles * sizeof(double);
    gc_engine *e = calloc(1, bytes);
    if (e == NULL)
        return gc_error_set(err, GC_ENOMEM,
                            "cannot allocate %zu bytes for the network",
                            bytes);
    e->network = *network;
    e->loss = loss;
    e->as_written = *as_written;
    e->layer_count = network->layer_count;
    e->max_batch = max_batch;
    e->max_width = max_width;
    e->bytes = bytes;
    e->model.param_count = param_count;
    lay_out_storage(e, inputs, param_count);
    name_tensors(e);
    wire_model(e);
    *out = e;
    return GC_OK;
}

void gc_engine_free(gc_engine *engine)
{
    free(engine);
}

gc_model *gc_engine_model(gc_engine *engine)
{
    return &engine->model;
}

size_t gc_engine_bytes(const gc_engine *engine)
{
    return engine->bytes;
}

/* ---- initialisation ------------------------------------------------------ */

/* Standard deviation or half-width for one layer; init_scale 0 means the
 * LeCun choice 1/sqrt(fan_in), which keeps z of order 1 for inputs of
 * order 1. */
static double init_scale(const gc_network_spec *net, size_t fan_in)
{
    if (net->init_scale > 0.0)
        return net->init_scale;
    return 1.0 / sqrt((double)fan_in);
}

static double draw_weight(const gc_network_spec *net, gsl_rng *rng,
                          size_t fan_in, size_t fan_out)
{
    switch (net->init) {
    case GC_INIT_NORMAL:
        return gsl_ran_gaussian(rng, init_scale(net, fan_in));
    case GC_INIT_UNIFORM: {
        double s = init_scale(net, fan_in);
        return gsl_ran_flat(rng, -s, s);
    }
    case GC_INIT_XAVIER: {
        double s = sqrt(6.0 / (double)(fan_in + fan_out));
        return gsl_ran_flat(rng, -s, s);
    }
    case GC_INIT_HE:
        return gsl_ran_gaussian(rng, sqrt(2.0 / (double)fan_in));
    case GC_INIT_CONSTANT:
        return net->init_scale;
    }
    return 0.0;
}

gc_status gc_engine_init_params(gc_engine *e, uint64_t seed, gc_error *err)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (rng == NULL)
        return gc_error_set(err, GC_ENOMEM, "cannot allocate a GSL RNG");
    gsl_rng_set(rng, (unsigned long)seed);
    double *params = e->model.params;
    for (size_t l = 1; l <= e->layer_count; l++) {
        const layer_state *s = &e->layers[l];
        for (size_t i = 0; i < s->width * s->fan_in; i++)
            params[s->weight_offset + i] =
                draw_weight(&e->network, rng, s->fan_in, s->width);
        for (size_t i = 0; i < s->width; i++)
            params[s->bias_offset + i] = e->network.bias_init;
    }
    gsl_rng_free(rng);
    return GC_OK;
}

/* ---- forward ------------------------------------------------------------- */

/* Z = A W^T + 1 b^T: A is B x n_in, W is n x n_in, Z is B x n. */
static void dense_forward(const double *a, const double *w, const double *b,
                          size_t count, size_t n_in, size_t n, double *z)
{
    for (size_t r = 0; r < count; r++)
        memcpy(z + r * n, b, n * sizeof *z);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)count, (int)n,
                (int)n_in, 1.0, a, (int)n_in, w, (int)n_in, 1.0, z, (int)n);
}

/* Softmax of each row of Z (B x k) into A, in two reported steps: the
 * exponentials, then the division by each row's sum. */
static void softmax_forward(gc_engine *e, size_t l, const double *z,
                            double *a, size_t count, size_t k, bool report)
{
    double *shifted = e->scratch_b;
    for (size_t r = 0; r < count; r++) {
        const double *zr = z + r * k;
        double m = 0.0;
        if (e->as_written.softmax_subtract_max) {
            m = zr[0];
            for (size_t i = 1; i < k; i++)
                if (zr[i] > m)
                    m = zr[i];
        }
        double sum = 0.0;
        for (size_t i = 0; i < k; i++) {
            shifted[r * k + i] = zr[i] - m;
            a[r * k + i] = exp(shifted[r * k + i]);
            sum += a[r * k + i];
        }
        e->row_sums[r] = sum;
    }
    if (report)
        emit(e, GC_OP_SOFTMAX_EXP, l, a, count * k, shifted, count * k, k);
    for (size_t r = 0; r < count; r++)
        for (size_t i = 0; i < k; i++)
            a[r * k + i] /= e->row_sums[r];
    if (report)
        emit(e, GC_OP_SOFTMAX_NORMALISE, l, a, count * k, e->row_sums,
             count, k);
}

static void activate(gc_engine *e, size_t l, const double *z, double *a,
                     size_t count, bool report)
{
    const layer_state *s = &e->layers[l];
    if (s->activation == GC_ACT_SOFTMAX) {
        softmax_forward(e, l, z, a, count, s->width, report);
        return;
    }
    gc_activation_forward(s->activation, z, a, count * s->width);
    if (report)
        emit(e, GC_OP_ACTIVATION, l, a, count * s->width, z,
             count * s->width, s->width);
}

/* Per-sample losses of the output rows; returns their mean. */
static double batch_loss(gc_engine *e, const double *z, const double *a,
                         size_t count, const int *labels, bool report)
{
    const layer_state *out = &e->layers[e->layer_count];
    size_t k = out->width;
    double total = 0.0;
    for (size_t r = 0; r < count; r++) {
        e->sample_losses[r] = gc_loss_sample(
            e->loss, out->activation, z + r * k, a + r * k, k, labels[r],
            e->as_written.log_unclamped);
        total += e->sample_losses[r];
    }
    /* The probabilities reach a log as they are only when the author's
     * loss takes log of an unclamped probability. */
    bool logs_probabilities = e->as_written.log_unclamped &&
                              e->loss != GC_LOSS_MSE;
    if (report)
        emit(e, GC_OP_LOSS, e->layer_count, e->sample_losses, count,
             logs_probabilities ? a : NULL, logs_probabilities ? count * k : 0,
             k);
    return total / (double)count;
}

static uint64_t pattern_of_layers(const gc_engine *e, size_t from,
                                  size_t count, const double *z_from)
{
    uint64_t hash = 14695981039346656037ULL;
    for (size_t l = from; l <= e->layer_count; l++) {
        const layer_state *s = &e->layers[l];
        const double *z = (l == from && z_from != NULL) ? z_from : s->z;
        hash = gc_activation_pattern(s->activation, z, count * s->width,
                                     hash);
    }
    return hash;
}

static gc_status run_forward(gc_engine *e, const double *params,
                             const gc_batch *batch, double *loss,
                             bool report, gc_error *err)
{
    if (batch->count == 0 || batch->count > e->max_batch)
        return gc_error_set(err, GC_EINVAL,
                            "batch of %zu samples; the network holds 1 to %zu",
                            batch->count, e->max_batch);
    if (batch->features != e->layers[0].width)
        return gc_error_set(err, GC_EINVAL,
                            "batch has %zu features; the network expects %zu",
                            batch->features, e->layers[0].width);
    size_t count = batch->count;
    e->layers[0].a = (double *)batch->x;   /* read only */
    for (size_t l = 1; l <= e->layer_count; l++) {
        layer_state *s = &e->layers[l];
        dense_forward(e->layers[l - 1].a, weights(e, params, l),
                      biases(e, params, l), count, s->fan_in, s->width,
                      s->z);
        if (report)
            emit(e, GC_OP_DENSE, l, s->z, count * s->width,
                 e->layers[l - 1].a, count * s->fan_in, s->width);
        activate(e, l, s->z, s->a, count, report);
    }
    const layer_state *out = &e->layers[e->layer_count];
    *loss = batch_loss(e, out->z, out->a, count, batch->labels, report);
    e->cached_params = params;
    e->cached_labels = batch->labels;
    e->batch_count = count;
    return GC_OK;
}

/* ---- backward ------------------------------------------------------------ */

/* D_L, one row per sample, as the author wrote it (mistakes.c decides
 * which formula each flag selects). */
static void output_delta(gc_engine *e, size_t count)
{
    const layer_state *out = &e->layers[e->layer_count];
    size_t k = out->width;
    for (size_t r = 0; r < count; r++)
        gc_mistakes_output_delta(&e->as_written, e->loss, out->activation,
                                 out->z + r * k, out->a + r * k, k,
                                 e->cached_labels[r], e->row_g,
                                 out->delta + r * k);
    emit(e, GC_OP_OUTPUT_DELTA, e->layer_count, out->delta, count * k,
         out->z, count * k, k);
}

/* dW_l = scale D_l^T A_(l-1) and db_l = scale sum_b D_l[b] into grad. */
static void parameter_gradients(gc_engine *e, size_t l, size_t count,
                                double *grad)
{
    const layer_state *s = &e->layers[l];
    double scale = gc_mistakes_batch_scale(&e->as_written, count);
    const double *input = gc_mistakes_weight_gradient_input(
        &e->as_written, s->width, s->fan_in, e->layers[l - 1].a, s->a);
    double *dw = grad + s->weight_offset;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)s->width,
                (int)s->fan_in, (int)count, scale, s->delta, (int)s->width,
                input, (int)s->fan_in, 0.0, dw, (int)s->fan_in);
    gc_mistakes_weight_gradient_layout(&e->as_written, dw, s->width,
                                       s->fan_in);
    emit(e, GC_OP_WEIGHT_GRADIENT, l, dw, s->width * s->fan_in, s->delta,
         count * s->width, s->fan_in);

    double *db = grad + s->bias_offset;
    for (size_t i = 0; i < s->width; i++) {
        double sum = 0.0;
        for (size_t r = 0; r < count; r++)
            sum += s->delta[r * s->width + i];
        db[i] = scale * sum;
    }
    gc_mistakes_bias_gradient(&e->as_written, db, s->width);
    emit(e, GC_OP_BIAS_GRADIENT, l, db, s->width, s->delta,
         count * s->width, s->width);
}

/* D_(l-1) = (D_l W_l) * f'(x), x = Z_(l-1) (or A_(l-1) as written). */
static void hidden_delta(gc_engine *e, const double *params, size_t l,
                         size_t count)
{
    const layer_state *s = &e->layers[l];
    layer_state *below = &e->layers[l - 1];
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)count,
                (int)s->fan_in, (int)s->width, 1.0, s->delta, (int)s->width,
                weights(e, params, l), (int)s->fan_in, 0.0, below->delta,
                (int)s->fan_in);
    size_t n = count * below->width;
    const double *at = gc_mistakes_derivative_point(&e->as_written,
                                                    below->z, below->a);
    gc_activation_derivative(below->activation, at, e->scratch_a, n);
    for (size_t i = 0; i < n; i++)
        below->delta[i] *= e->scratch_a[i];
    emit(e, GC_OP_HIDDEN_DELTA, l - 1, below->delta, n, below->z, n,
         below->width);
}

/* ---- the model interface ------------------------------------------------- */

static gc_status model_loss(gc_model *model, const double *params,
                            const gc_batch *batch, double *loss,
                            uint64_t *pattern, gc_error *err)
{
    gc_engine *e = engine_of(model);
    gc_status status = run_forward(e, params, batch, loss, false, err);
    if (status == GC_OK && pattern != NULL)
        *pattern = pattern_of_layers(e, 1, batch->count, NULL);
    return status;
}

static gc_status model_gradient(gc_model *model, const double *params,
                                const gc_batch *batch, double *loss,
                                double *grad, gc_error *err)
{
    gc_engine *e = engine_of(model);
    gc_status status = run_forward(e, params, batch, loss, true, err);
    if (status != GC_OK)
        return status;
    size_t count = batch->count;
    output_delta(e, count);
    for (size_t l = e->layer_count; l >= 1; l--) {
        parameter_gradients(e, l, count, grad);
        if (l > 1)
            hidden_delta(e, params, l, count);
    }
    return GC_OK;
}

static gc_status model_update(gc_model *model, double *params,
                              const double *grad, double learning_rate,
                              gc_error *err)
{
    (void)err;
    gc_engine *e = engine_of(model);
    double step = gc_mistakes_update_sign(&e->as_written) * learning_rate;
    cblas_daxpy((int)model->param_count, -step, grad, 1, params, 1);
    emit(e, GC_OP_WEIGHT_UPDATE, 0, params, model->param_count, grad,
         model->param_count, 0);
    return GC_OK;
}

static void model_set_hook(gc_model *model, gc_op_hook hook, void *context)
{
    gc_engine *e = engine_of(model);
    e->hook = context != NULL ? hook : NULL;
    e->hook_context = context;
}

static gc_status model_predict(gc_model *model, const double *params,
                               const gc_batch *batch, int *classes,
                               gc_error *err)
{
    gc_engine *e = engine_of(model);
    double loss;
    gc_status status = run_forward(e, params, batch, &loss, false, err);
    if (status != GC_OK)
        return status;
    const layer_state *out = &e->layers[e->layer_count];
    for (size_t r = 0; r < batch->count; r++) {
        const double *row = out->a + r * out->width;
        size_t best = 0;
        for (size_t i = 1; i < out->width; i++)
            if (row[i] > row[best])
                best = i;
        if (out->width == 1)
            best = row[0] >= 0.5 ? 1 : 0;
        classes[r] = (int)best;
    }
    return GC_OK;
}

/* ---- the layer view ------------------------------------------------------ */

static gc_status view_forward(gc_model *model, const double *params,
                              const gc_batch *batch, double *loss,
                              gc_error *err)
{
    return run_forward(engine_of(model), params, batch, loss, false, err);
}

static size_t view_width(gc_model *model, size_t layer)
{
    gc_engine *e = engine_of(model);
    return layer <= e->layer_count ? e->layers[layer].width : 0;
}

static const double *view_z(gc_model *model, size_t layer)
{
    gc_engine *e = engine_of(model);
    if (layer == 0 || layer > e->layer_count)
        return NULL;
    return e->layers[layer].z;
}

static const double *view_a(gc_model *model, size_t layer)
{
    gc_engine *e = engine_of(model);
    return layer <= e->layer_count ? e->layers[layer].a : NULL;
}

static const double *view_delta(gc_model *model, size_t layer)
{
    gc_engine *e = engine_of(model);
    if (layer == 0 || layer > e->layer_count)
        return NULL;
    return e->layers[layer].delta;
}

static const char *view_activation_name(gc_model *model, size_t layer)
{
    gc_engine *e = engine_of(model);
    if (layer == 0 || layer > e->layer_count)
        return "input";
    return gc_activation_name(e->layers[layer].activation);
}

/* One sample's loss from the output row (z, a), divided by B: its share
 * of the batch mean. */
static double share_of_loss(const gc_engine *e, const double *z,
                            const double *a, int label)
{
    const layer_state *out = &e->layers[e->layer_count];
    double l = gc_loss_sample(e->loss, out->activation, z, a, out->width,
                              label, e->as_written.log_unclamped);
    return l / (double)e->batch_count;
}

/* Activation of one row (n units) of layer l: z -> a. */
static void activate_row(gc_engine *e, size_t l, const double *z, double *a)
{
    const layer_state *s = &e->layers[l];
    if (s->activation == GC_ACT_SOFTMAX)
        gc_softmax(z, a, s->width, e->as_written.softmax_subtract_max, NULL,
                   NULL);
    else
        gc_activation_forward(s->activation, z, a, s->width);
}

/* Recomputes one sample from layer l's pre-activation row (in row_z) up
 * to the loss; returns its share of the batch loss.  Overwrites row_z,
 * row_a and row_next; hash accumulates the signs of piecewise units. */
static double sample_from_row(gc_engine *e, size_t l, size_t sample,
                              uint64_t *hash)
{
    const double *params = e->cached_params;
    for (size_t k = l;; k++) {
        const layer_state *s = &e->layers[k];
        activate_row(e, k, e->row_z, e->row_a);
        *hash = gc_activation_pattern(s->activation, e->row_z, s->width,
                                      *hash);
        if (k == e->layer_count)
            return share_of_loss(e, e->row_z, e->row_a,
                                 e->cached_labels[sample]);
        const layer_state *up = &e->layers[k + 1];
        memcpy(e->row_next, biases(e, params, k + 1),
               up->width * sizeof(double));
        cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)up->width,
                    (int)up->fan_in, 1.0, weights(e, params, k + 1),
                    (int)up->fan_in, e->row_a, 1, 1.0, e->row_next, 1);
        memcpy(e->row_z, e->row_next, up->width * sizeof(double));
    }
}

static gc_status view_sample_loss_unit(gc_model *model, size_t layer,
                                       size_t sample, size_t unit,
                                       double z_value, double *contribution,
                                       uint64_t *pattern, gc_error *err)
{
    gc_engine *e = engine_of(model);
    if (layer == 0 || layer > e->layer_count || sample >= e->batch_count ||
        unit >= e->layers[layer].width)
        return gc_error_set(err, GC_EINVAL,
                            "no unit %zu of sample %zu in layer %zu", unit,
                            sample, layer);
    const layer_state *s = &e->layers[layer];
    const double *params = e->cached_params;
    uint64_t hash = 14695981039346656037ULL;
    bool elementwise = s->activation != GC_ACT_SOFTMAX;
    if (layer == e->layer_count || !elementwise) {
        memcpy(e->row_z, s->z + sample * s->width, s->width * sizeof(double));
        e->row_z[unit] = z_value;
        *contribution = sample_from_row(e, layer, sample, &hash);
    } else {
        /* Only unit `unit` of layer l changes, so the next layer's
         * pre-activations change by a rank-1 term: dz_(l+1) = W[:, unit]
         * (f(z') - f(z)). */
        const layer_state *up = &e->layers[layer + 1];
        double old_a = s->a[sample * s->width + unit];
        double new_a = gc_activation_value(s->activation, z_value);
        hash = gc_activation_pattern(s->activation, &z_value, 1, hash);
        const double *column = weights(e, params, layer + 1) + unit;
        memcpy(e->row_z, up->z + sample * up->width,
               up->width * sizeof(double));
        cblas_daxpy((int)up->width, new_a - old_a, column, (int)up->fan_in,
                    e->row_z, 1);
        *contribution = sample_from_row(e, layer + 1, sample, &hash);
    }
    if (pattern != NULL)
        *pattern = hash;
    return GC_OK;
}

static gc_status view_batch_loss_from(gc_model *model, size_t layer,
                                      const double *z, double *loss,
                                      uint64_t *pattern, gc_error *err)
{
    gc_engine *e = engine_of(model);
    if (layer == 0 || layer > e->layer_count)
        return gc_error_set(err, GC_EINVAL, "no layer %zu", layer);
    const double *params = e->cached_params;
    size_t count = e->batch_count;
    uint64_t hash = 14695981039346656037ULL;
    double *zs = e->scratch_a, *as = e->scratch_b;
    memcpy(zs, z, count * e->layers[layer].width * sizeof *zs);
    double *act = e->scratch_c;
    for (size_t k = layer;; k++) {
        const layer_state *s = &e->layers[k];
        hash = gc_activation_pattern(s->activation, zs, count * s->width,
                                     hash);
        if (s->activation == GC_ACT_SOFTMAX) {
            for (size_t r = 0; r < count; r++)
                activate_row(e, k, zs + r * s->width, act + r * s->width);
        } else {
            gc_activation_forward(s->activation, zs, act, count * s->width);
        }
        if (k == e->layer_count)
            break;
        const layer_state *up = &e->layers[k + 1];
        dense_forward(act, weights(e, params, k + 1),
                      biases(e, params, k + 1), count, up->fan_in,
                      up->width, as);
        double *swap = zs;
        zs = as;
        as = swap;
    }
    *loss = 0.0;
    for (size_t r = 0; r < count; r++) {
        size_t k = e->layers[e->layer_count].width;
        *loss += share_of_loss(e, zs + r * k, act + r * k,
                               e->cached_labels[r]);
    }
    if (pattern != NULL)
        *pattern = hash;
    return GC_OK;
}

/* ---- batched partial evaluations (thread-safe) --------------------------- *
 * The checker's parameter method asks for one sample's loss share at many
 * values of one pre-activation z[b, i].  These functions take every
 * buffer from the caller's scratch and only read what run_forward() left,
 * so several threads may call them at once. */

/* The widest layer above the input: rows of the scratch matrices. */
static size_t widest_layer(const gc_engine *e)
{
    size_t w = 1;
    for (size_t l = 1; l <= e->layer_count; l++)
        if (e->layers[l].width > w)
            w = e->layers[l].width;
    return w;
}

/* Three points x widest matrices and one points-long column. */
static size_t view_unit_scratch(gc_model *model, size_t points)
{
    gc_engine *e = engine_of(model);
    return 3 * points * widest_layer(e) + points;
}

/* A = f(Z) over rows x n values of layer l, vectorised where f allows. */
static void activate_matrix(const gc_engine *e, size_t l, const double *z,
                            double *a, size_t rows)
{
    const layer_state *s = &e->layers[l];
    size_t n = rows * s->width;
    switch (s->activation) {
    case GC_ACT_TANH:
        gc_vec_tanh(z, a, n);
        break;
    case GC_ACT_SIGMOID:
        gc_vec_sigmoid(z, a, n);
        break;
    case GC_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++)
            gc_softmax(z + r * s->width, a + r * s->width, s->width,
                       e->as_written.softmax_subtract_max, NULL, NULL);
        break;
    default:
        gc_activation_forward(s->activation, z, a, n);
        break;
    }
}

/* Shares of the loss of `rows` copies of one sample from their output
 * pre-activations Z (rows x k), with act (rows x k) as scratch.  Softmax
 * with the correct cross-entropy takes the vectorised form of
 * softmax_cross_entropy() in loss.c, (z_top - z_y) + log1p(sum over
 * i != top of exp(z_i - z_top)); every other pair goes row by row. */
static void output_shares(const gc_engine *e, const double *z, double *act,
                          size_t rows, int label, double *shares)
{
    const layer_state *out = &e->layers[e->layer_count];
    size_t k = out->width;
    double scale = 1.0 / (double)e->batch_count;
    if (out->activation != GC_ACT_SOFTMAX ||
        e->loss != GC_LOSS_CROSS_ENTROPY || e->as_written.log_unclamped ||
        k < 2) {
        for (size_t r = 0; r < rows; r++) {
            activate_row((gc_engine *)e, e->layer_count, z + r * k,
                         act + r * k);
            shares[r] = gc_loss_sample(e->loss, out->activation, z + r * k,
                                       act + r * k, k, label,
                                       e->as_written.log_unclamped) *
                        scale;
        }
        return;
    }
    for (size_t r = 0; r < rows; r++) {
        const double *zr = z + r * k;
        size_t top = 0;
        for (size_t i = 1; i < k; i++)
            if (zr[i] > zr[top])
                top = i;
        for (size_t i = 0; i < k; i++)
            act[r * k + i] = zr[i] - zr[top];
    }
    gc_vec_exp(act, act, rows * k);
    for (size_t r = 0; r < rows; r++) {
        const double *zr = z + r * k, *er = act + r * k;
        size_t top = 0;
        for (size_t i = 1; i < k; i++)
            if (zr[i] > zr[top])
                top = i;
        double rest = 0.0;
        for (size_t i = 0; i < k; i++)
            if (i != top)
                rest += er[i];
        shares[r] = ((zr[top] - zr[label]) + log1p(rest)) * scale;
    }
}

/* From `rows` pre-activation rows of layer `from` (in zs, rows x width)
 * to their loss shares: activation, next dense layer, and so on up.  zs,
 * spare and act are rows x widest scratch; zs and spare are overwritten.
 * patterns (may be NULL) accumulate each row's piecewise signs. */
static void rows_to_shares(const gc_engine *e, size_t from, size_t rows,
                           double *zs, double *spare, double *act,
                           int label, double *shares, uint64_t *patterns)
{
    const double *params = e->cached_params;
    for (size_t k = from;; k++) {
        const layer_state *s = &e->layers[k];
        if (patterns != NULL && gc_activation_is_piecewise(s->activation))
            for (size_t r = 0; r < rows; r++)
                patterns[r] = gc_activation_pattern(
                    s->activation, zs + r * s->width, s->width, patterns[r]);
        if (k == e->layer_count)
            break;
        activate_matrix(e, k, zs, act, rows);
        const layer_state *up = &e->layers[k + 1];
        dense_forward(act, weights(e, params, k + 1),
                      biases(e, params, k + 1), rows, up->fan_in,
                      up->width, spare);
        double *swap = zs;
        zs = spare;
        spare = swap;
    }
    output_shares(e, zs, act, rows, label, shares);
}

static gc_status check_unit(const gc_engine *e, size_t layer, size_t sample,
                            size_t unit, gc_error *err)
{
    if (layer == 0 || layer > e->layer_count || sample >= e->batch_count ||
        unit >= e->layers[layer].width)
        return gc_error_set(err, GC_EINVAL,
                            "no unit %zu of sample %zu in layer %zu", unit,
                            sample, layer);
    return GC_OK;
}

static gc_status view_sample_losses_unit(gc_model *model, size_t layer,
                                         size_t sample, size_t unit,
                                         const double *z_values,
                                         size_t points, double *shares,
                                         uint64_t *patterns, double *scratch,
                                         gc_error *err)
{
    gc_engine *e = engine_of(model);
    gc_status status = check_unit(e, layer, sample, unit, err);
    if (status != GC_OK || points == 0)
        return status;
    size_t w = widest_layer(e);
    double *zs = scratch, *spare = zs + points * w, *act = spare + points * w;
    double *column = act + points * w;
    const layer_state *s = &e->layers[layer];
    int label = e->cached_labels[sample];
    if (patterns != NULL)
        for (size_t p = 0; p < points; p++)
            patterns[p] = 14695981039346656037ULL;
    if (layer == e->layer_count || s->activation == GC_ACT_SOFTMAX) {
        for (size_t p = 0; p < points; p++) {
            memcpy(zs + p * s->width, s->z + sample * s->width,
                   s->width * sizeof(double));
            zs[p * s->width + unit] = z_values[p];
        }
        rows_to_shares(e, layer, points, zs, spare, act, label, shares,
                       patterns);
        return GC_OK;
    }
    /* Only unit `unit` of layer l moves: the next layer's rows are its
     * cached row plus (f(z') - f(z)) W_(l+1)[:, unit], a rank-1 change
     * per point. */
    const layer_state *up = &e->layers[layer + 1];
    switch (s->activation) {
    case GC_ACT_TANH:
        gc_vec_tanh(z_values, column, points);
        break;
    case GC_ACT_SIGMOID:
        gc_vec_sigmoid(z_values, column, points);
        break;
    default:
        gc_activation_forward(s->activation, z_values, column, points);
        break;
    }
    double old_a = s->a[sample * s->width + unit];
    if (patterns != NULL)
        for (size_t p = 0; p < points; p++)
            patterns[p] = gc_activation_pattern(s->activation, &z_values[p],
                                                1, patterns[p]);
    const double *w_col = weights(e, e->cached_params, layer + 1) + unit;
    const double *z_up = up->z + sample * up->width;
    for (size_t p = 0; p < points; p++) {
        double da = column[p] - old_a, *row = zs + p * up->width;
        for (size_t o = 0; o < up->width; o++)
            row[o] = z_up[o] + da * w_col[o * up->fan_in];
    }
    rows_to_shares(e, layer + 1, points, zs, spare, act, label, shares,
                   patterns);
    return GC_OK;
}

/* ---- complex evaluation (complex-step derivatives) ----------------------- */

/* The first layer whose activation has no complex extension (relu and
 * leaky-relu: a kink at 0), or 0 when every operation is analytic. */
static size_t first_piecewise_layer(const gc_engine *e)
{
    for (size_t l = 1; l <= e->layer_count; l++)
        if (gc_activation_is_piecewise(e->layers[l].activation))
            return l;
    return 0;
}

/* Writes the engine's reason buffer: not for concurrent use. */
static const char *view_complex_unsupported(gc_model *model)
{
    gc_engine *e = engine_of(model);
    size_t l = first_piecewise_layer(e);
    if (l == 0)
        return NULL;
    snprintf(e->complex_reason, sizeof e->complex_reason,
             "layer %zu is %s, which has a kink at 0 and no complex "
             "extension", l, gc_activation_name(e->layers[l].activation));
    return e->complex_reason;
}

static double complex sigmoid_c(double complex z)
{
    if (creal(z) >= 0.0)
        return 1.0 / (1.0 + cexp(-z));
    double complex ez = cexp(z);
    return ez / (1.0 + ez);
}

/* The clamp of loss.c: where the real part is clamped the loss is flat
 * (derivative 0), elsewhere it is the identity; either way analytic
 * unless a probability sits exactly on the floor. */
static double complex clamp_c(double complex p, bool log_unclamped)
{
    if (log_unclamped)
        return p;
    if (creal(p) < GC_PROB_FLOOR)
        return GC_PROB_FLOOR;
    if (creal(p) > 1.0 - GC_PROB_FLOOR)
        return 1.0 - GC_PROB_FLOOR;
    return p;
}

/* Row of n complex activations of layer l, in place. */
static void activate_row_c(const gc_engine *e, size_t l, double complex *z)
{
    const layer_state *s = &e->layers[l];
    size_t n = s->width;
    if (s->activation == GC_ACT_SOFTMAX) {
        double m = 0.0;
        if (e->as_written.softmax_subtract_max) {
            m = creal(z[0]);
            for (size_t i = 1; i < n; i++)
                m = fmax(m, creal(z[i]));
        }
        double complex sum = 0.0;
        for (size_t i = 0; i < n; i++) {
            z[i] = cexp(z[i] - m);
            sum += z[i];
        }
        for (size_t i = 0; i < n; i++)
            z[i] /= sum;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        switch (s->activation) {
        case GC_ACT_SIGMOID: z[i] = sigmoid_c(z[i]); break;
        case GC_ACT_TANH: z[i] = ctanh(z[i]); break;
        default: break;            /* identity; piecewise are refused */
        }
    }
}

/* One sample's loss from complex output pre-activations z (k values);
 * a (k) is scratch.  The same formulas as loss.c, in complex form. */
static double complex loss_c(const gc_engine *e, const double complex *z,
                             double complex *a, int label)
{
    const layer_state *out = &e->layers[e->layer_count];
    size_t k = out->width;
    bool raw = e->as_written.log_unclamped;
    if (e->loss == GC_LOSS_CROSS_ENTROPY && out->activation == GC_ACT_SOFTMAX
        && !raw && k > 1) {
        size_t top = 0;
        for (size_t i = 1; i < k; i++)
            if (creal(z[i]) > creal(z[top]))
                top = i;
        double complex rest = 0.0;
        for (size_t i = 0; i < k; i++)
            if (i != top)
                rest += cexp(z[i] - z[top]);
        return (z[top] - z[label]) + clog(1.0 + rest);
    }
    memcpy(a, z, k * sizeof *a);
    activate_row_c(e, e->layer_count, a);
    double complex total = 0.0;
    for (size_t i = 0; i < k; i++) {
        double y = gc_loss_target(k, label, i);
        switch (e->loss) {
        case GC_LOSS_MSE:
            total += 0.5 * (a[i] - y) * (a[i] - y);
            break;
        case GC_LOSS_CROSS_ENTROPY:
            if (y != 0.0)
                total -= y * clog(clamp_c(a[i], raw));
            break;
        case GC_LOSS_BINARY_CROSS_ENTROPY:
            if (out->activation == GC_ACT_SIGMOID && !raw) {
                double complex sp = creal(z[i]) > 0.0
                                        ? z[i] + clog(1.0 + cexp(-z[i]))
                                        : clog(1.0 + cexp(z[i]));
                total += sp - y * z[i];
            } else {
                double complex p = clamp_c(a[i], raw);
                total -= y * clog(p) + (1.0 - y) * clog(1.0 - p);
            }
            break;
        }
    }
    return total;
}

static gc_status view_sample_losses_unit_complex(
    gc_model *model, size_t layer, size_t sample, size_t unit,
    const double complex *z_values, size_t points, double complex *shares,
    double complex *scratch, gc_error *err)
{
    gc_engine *e = engine_of(model);
    gc_status status = check_unit(e, layer, sample, unit, err);
    if (status != GC_OK)
        return status;
    size_t kinked = first_piecewise_layer(e);
    if (kinked != 0)
        return gc_error_set(err, GC_EINVAL,
                            "complex step: layer %zu is %s, not analytic",
                            kinked,
                            gc_activation_name(e->layers[kinked].activation));
    size_t w = widest_layer(e);
    double complex *row = scratch, *next = scratch + w;
    const double *params = e->cached_params;
    const layer_state *s = &e->layers[layer];
    int label = e->cached_labels[sample];
    for (size_t p = 0; p < points; p++) {
        size_t k = layer;
        if (layer == e->layer_count || s->activation == GC_ACT_SOFTMAX) {
            for (size_t i = 0; i < s->width; i++)
                row[i] = s->z[sample * s->width + i];
            row[unit] = z_values[p];
        } else {
            double complex a_new = z_values[p];
            if (s->activation == GC_ACT_SIGMOID)
                a_new = sigmoid_c(a_new);
            else if (s->activation == GC_ACT_TANH)
                a_new = ctanh(a_new);
            double complex da = a_new - s->a[sample * s->width + unit];
            const layer_state *up = &e->layers[layer + 1];
            const double *w_col = weights(e, params, layer + 1) + unit;
            for (size_t o = 0; o < up->width; o++)
                row[o] = up->z[sample * up->width + o] +
                         da * w_col[o * up->fan_in];
            k = layer + 1;
        }
        for (;; k++) {
            if (k == e->layer_count) {
                shares[p] = loss_c(e, row, next, label) /
                            (double)e->batch_count;
                break;
            }
            activate_row_c(e, k, row);
            const layer_state *up = &e->layers[k + 1];
            const double *wk = weights(e, params, k + 1);
            const double *bk = biases(e, params, k + 1);
            for (size_t o = 0; o < up->width; o++) {
                double complex sum = bk[o];
                for (size_t j = 0; j < up->fan_in; j++)
                    sum += wk[o * up->fan_in + j] * row[j];
                next[o] = sum;
            }
            memcpy(row, next, up->width * sizeof *row);
        }
    }
    return GC_OK;
}

static gc_status view_output_loss_gradient(gc_model *model, size_t sample,
                                           double *dl_da, gc_error *err)
{
    gc_engine *e = engine_of(model);
    const layer_state *out = &e->layers[e->layer_count];
    if (sample >= e->batch_count)
        return gc_error_set(err, GC_EINVAL, "no sample %zu in the batch",
                            sample);
    gc_loss_gradient(e->loss, out->a + sample * out->width, out->width,
                     e->cached_labels[sample], e->as_written.log_unclamped,
                     dl_da);
    return GC_OK;
}

static const char *view_loss_name(gc_model *model)
{
    return gc_loss_name(engine_of(model)->loss);
}

static void wire_model(gc_engine *e)
{
    e->model.self = e;
    e->model.tensor_count = 2 * e->layer_count;
    e->model.tensors = e->tensors;
    e->model.loss = model_loss;
    e->model.gradient = model_gradient;
    e->model.update = model_update;
    e->model.set_hook = model_set_hook;
    e->model.predict = model_predict;
    e->view.layer_count = e->layer_count;
    e->view.forward = view_forward;
    e->view.width = view_width;
    e->view.pre_activations = view_z;
    e->view.activations = view_a;
    e->view.activation_name = view_activation_name;
    e->view.sample_loss_unit = view_sample_loss_unit;
    e->view.batch_loss_from = view_batch_loss_from;
    e->view.deltas = view_delta;
    e->view.loss_is_batch_mean = true;   /* batch_loss: mean over samples */
    e->view.unit_scratch = view_unit_scratch;
    e->view.sample_losses_unit = view_sample_losses_unit;
    e->view.complex_unsupported = view_complex_unsupported;
    e->view.sample_losses_unit_complex = view_sample_losses_unit_complex;
    e->view.output_loss_gradient = view_output_loss_gradient;
    e->view.loss_name = view_loss_name;
    e->model.layers = &e->view;
}
