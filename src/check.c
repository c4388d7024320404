/* check.c - finite-difference checks of a model's gradient (check.h). */
#include "check.h"

#include <float.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gc_checker {
    size_t param_count;
    size_t max_batch;
    size_t layer_count;                      /* 0 for a black box */
    size_t widths[GC_MAX_LAYERS + 1];
    double *direction;                       /* param_count */
    double *perturbed;                       /* param_count */
    double *numeric;                         /* param_count */
    double *numeric_dz[GC_MAX_LAYERS + 1];   /* max_batch x width_l */
    double *noise_dz[GC_MAX_LAYERS + 1];
    unsigned char *kink_dz[GC_MAX_LAYERS + 1];
    double *z_shift;                         /* max_batch x max width */
    size_t *chosen;                          /* sampled element indices */
    size_t max_tensor;
    bool deltas_valid;
    size_t evaluations;                      /* every loss evaluation */
};

/* True when the model's layer view has the partial evaluations the
 * layer-wise methods need; a view without them (a foreign model showing
 * only its values) is checked as a black box. */
static bool has_partials(const gc_model *model)
{
    return model->layers != NULL && model->layers->sample_loss_unit &&
           model->layers->batch_loss_from;
}

/* ---- allocation ---------------------------------------------------------- */

gc_status gc_checker_alloc(const gc_model *model, size_t max_batch,
                           gc_checker **out, gc_error *err)
{
    *out = NULL;
    gc_checker *c = calloc(1, sizeof *c);
    if (c == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the checker");
    c->param_count = model->param_count;
    c->max_batch = max_batch;
    for (size_t t = 0; t < model->tensor_count; t++) {
        size_t n = model->tensors[t].rows * model->tensors[t].cols;
        if (n > c->max_tensor)
            c->max_tensor = n;
    }
    size_t max_width = 1;
    bool ok = true;
    if (model->layers != NULL) {
        c->layer_count = model->layers->layer_count;
        for (size_t l = 0; l <= c->layer_count; l++) {
            c->widths[l] = model->layers->width((gc_model *)model, l);
            if (c->widths[l] > max_width)
                max_width = c->widths[l];
        }
        for (size_t l = 1; l <= c->layer_count && ok; l++) {
            size_t n = max_batch * c->widths[l];
            c->numeric_dz[l] = malloc(n * sizeof(double));
            c->noise_dz[l] = malloc(n * sizeof(double));
            c->kink_dz[l] = malloc(n);
            ok = c->numeric_dz[l] && c->noise_dz[l] && c->kink_dz[l];
        }
    }
    c->direction = malloc(c->param_count * sizeof(double));
    c->perturbed = malloc(c->param_count * sizeof(double));
    c->numeric = malloc(c->param_count * sizeof(double));
    c->z_shift = malloc(max_batch * max_width * sizeof(double));
    c->chosen = malloc(c->max_tensor * sizeof(size_t));
    if (!ok || !c->direction || !c->perturbed || !c->numeric ||
        !c->z_shift || !c->chosen) {
        gc_checker_free(c);
        return gc_error_set(err, GC_ENOMEM, "no memory for the checker");
    }
    *out = c;
    return GC_OK;
}

void gc_checker_free(gc_checker *c)
{
    if (c == NULL)
        return;
    for (size_t l = 0; l <= GC_MAX_LAYERS; l++) {
        free(c->numeric_dz[l]);
        free(c->noise_dz[l]);
        free(c->kink_dz[l]);
    }
    free(c->direction);
    free(c->perturbed);
    free(c->numeric);
    free(c->z_shift);
    free(c->chosen);
    free(c);
}

size_t gc_checker_evaluations(const gc_checker *c)
{
    return c->evaluations;
}

const double *gc_checker_numeric(const gc_checker *c)
{
    return c->numeric;
}

const double *gc_checker_numeric_deltas(const gc_checker *c, size_t layer)
{
    if (!c->deltas_valid || layer == 0 || layer > c->layer_count)
        return NULL;
    return c->numeric_dz[layer];
}

/* ---- verdict ------------------------------------------------------------- */

gc_verdict gc_check_verdict(double rel_error, double analytic_norm,
                            double numeric_norm, double difference_norm,
                            double noise, const gc_check_options *options,
                            char *reason, size_t reason_size)
{
    reason[0] = '\0';
    if (!isfinite(rel_error) && !(analytic_norm == 0.0)) {
        snprintf(reason, reason_size, "non-finite gradient or loss");
        return GC_VERDICT_FAIL;
    }
    if (analytic_norm == 0.0) {
        if (numeric_norm > noise) {
            snprintf(reason, reason_size,
                     "analytic gradient is all zero; numeric is not");
            return GC_VERDICT_FAIL;
        }
        snprintf(reason, reason_size,
                 "analytic and numeric gradients are both zero: "
                 "nothing was tested");
        return GC_VERDICT_INCONCLUSIVE;
    }
    if (analytic_norm + numeric_norm <= noise) {
        snprintf(reason, reason_size,
                 "gradient below the finite-difference noise");
        return GC_VERDICT_INCONCLUSIVE;
    }
    if (rel_error <= options->pass_below)
        return GC_VERDICT_PASS;
    if (difference_norm <= noise) {
        snprintf(reason, reason_size,
                 "difference within the finite-difference noise");
        return GC_VERDICT_INCONCLUSIVE;
    }
    if (rel_error > options->fail_above)
        return GC_VERDICT_FAIL;
    snprintf(reason, reason_size, "between the pass and fail bands");
    return GC_VERDICT_INCONCLUSIVE;
}

static void fill_header(gc_check_event *r, const gc_tensor_info *t,
                        gc_check_kind kind, const char *method)
{
    memset(r, 0, sizeof *r);
    r->layer = t->layer;
    snprintf(r->tensor, sizeof r->tensor, "%s", t->name);
    r->kind = kind;
    snprintf(r->method, sizeof r->method, "%s", method);
}

/* Step for a value of size |x|: eps^(1/3) max(|x|, 1) (see check.h); the
 * floor of 1 keeps the step away from zero for parameters and
 * pre-activations that start at or pass through 0. */
static double step_for(double x, const gc_check_options *options)
{
    return options->step_scale * GC_CBRT_EPSILON * fmax(fabs(x), 1.0);
}

/* Rounding error of (f(+) - f(-)) / 2h. */
static double difference_noise(double plus, double minus, double h)
{
    return GC_LOSS_ROUNDING_ULPS * DBL_EPSILON *
           fmax(fabs(plus), fabs(minus)) / h;
}

/* ---- direction check ----------------------------------------------------- */

/* A random unit direction with entries +-1/sqrt(n), signs from the RNG's
 * bits (32 per draw of mt19937): about 30 times cheaper than a gaussian
 * draw per element, which matters when every tensor is checked at every
 * step. */
static void random_signs(gsl_rng *rng, double *u, size_t n)
{
    double magnitude = 1.0 / sqrt((double)n);
    unsigned long bits = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 32 == 0)
            bits = gsl_rng_get(rng);
        u[i] = (bits & 1UL) ? magnitude : -magnitude;
        bits >>= 1;
    }
}

/* The probe direction u = (g/|g| + r) / |g/|g| + r|, r a random sign
 * direction.  A purely random u of a tensor of n elements sees only
 * |g|/sqrt(n) of the gradient, which for a large tensor sinks the
 * directional derivative toward the rounding noise of the difference; the
 * g/|g| half keeps it at about |g|/sqrt(2), so a wrong scale or sign of
 * the gradient shows at full strength, and the random half still picks up
 * errors orthogonal to g.  With g = 0, u = r. */
static void probe_direction(gsl_rng *rng, const double *g, double *u,
                            size_t n)
{
    random_signs(rng, u, n);
    double g_norm = cblas_dnrm2((int)n, g, 1);
    if (!(g_norm > 0.0) || !isfinite(g_norm))
        return;
    cblas_daxpy((int)n, 1.0 / g_norm, g, 1, u, 1);
    double u_norm = cblas_dnrm2((int)n, u, 1);
    if (u_norm > 0.0)
        cblas_dscal((int)n, 1.0 / u_norm, u, 1);
}

/* Loss with tensor t moved by s*h*u, through the layer view: only layer
 * l's pre-activations change, by s h (A_in U^T) for W or s h u for b. */
static gc_status shifted_layer_loss(gc_checker *c, gc_model *model,
                                    const gc_tensor_info *t, const double *u,
                                    double signed_h, size_t count,
                                    double *loss, uint64_t *pattern,
                                    gc_error *err)
{
    const gc_layer_view *v = model->layers;
    size_t l = t->layer, n = c->widths[l];
    const double *z = v->pre_activations(model, l);
    memcpy(c->z_shift, z, count * n * sizeof(double));
    if (t->kind == GC_TENSOR_WEIGHT) {
        const double *a_in = v->activations(model, l - 1);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)count,
                    (int)n, (int)t->cols, signed_h, a_in, (int)t->cols, u,
                    (int)t->cols, 1.0, c->z_shift, (int)n);
    } else {
        for (size_t b = 0; b < count; b++)
            cblas_daxpy((int)n, signed_h, u, 1, c->z_shift + b * n, 1);
    }
    return v->batch_loss_from(model, l, c->z_shift, loss, pattern, err);
}

static gc_status shifted_params_loss(gc_checker *c, gc_model *model,
                                     const gc_tensor_info *t, const double *u,
                                     double signed_h, const gc_batch *batch,
                                     double *loss, uint64_t *pattern,
                                     gc_error *err)
{
    size_t n = t->rows * t->cols;
    memcpy(c->perturbed, model->params, c->param_count * sizeof(double));
    cblas_daxpy((int)n, signed_h, u, 1, c->perturbed + t->offset, 1);
    return model->loss(model, c->perturbed, batch, loss, pattern, err);
}

/* (L(theta + h u) - L(theta - h u)) / 2h for tensor t, ignoring kinks. */
static gc_status direction_difference(gc_checker *c, gc_model *model,
                                      const gc_batch *batch,
                                      const gc_tensor_info *t,
                                      const double *u, double h,
                                      bool through_layers, double *numeric,
                                      gc_error *err)
{
    double plus, minus;
    gc_status status =
        through_layers
            ? shifted_layer_loss(c, model, t, u, h, batch->count, &plus,
                                 NULL, err)
            : shifted_params_loss(c, model, t, u, h, batch, &plus, NULL,
                                  err);
    if (status != GC_OK)
        return status;
    status = through_layers
                 ? shifted_layer_loss(c, model, t, u, -h, batch->count,
                                      &minus, NULL, err)
                 : shifted_params_loss(c, model, t, u, -h, batch, &minus,
                                       NULL, err);
    if (status != GC_OK)
        return status;
    *numeric = (plus - minus) / (2.0 * h);
    return GC_OK;
}

static gc_status check_one_direction(gc_checker *c, gc_model *model,
                                     const gc_batch *batch,
                                     const double *grad, size_t t_index,
                                     const gc_check_options *options,
                                     gsl_rng *rng, gc_check_event *r,
                                     gc_error *err)
{
    const gc_tensor_info *t = &model->tensors[t_index];
    size_t n = t->rows * t->cols;
    double *u = c->direction + t->offset;
    probe_direction(rng, grad + t->offset, u, n);
    /* The step along the unit direction is sized like one parameter's
     * step, from the tensor's root-mean-square value: u puts most of its
     * length along the gradient, where the loss curves about as fast as
     * along its steepest single parameter.  Sizing it from the tensor's
     * whole norm (sqrt(n) times larger) made the truncation error of the
     * difference dominate: measured on the Fashion-MNIST twin, 7e-8
     * against 5e-9 over 15,000 steps. */
    double theta_rms = cblas_dnrm2((int)n, model->params + t->offset, 1) /
                       sqrt((double)n);
    double h = step_for(theta_rms, options);
    double plus, minus;
    uint64_t pattern_plus = 0, pattern_minus = 0;
    gc_status status;
    bool through_layers = has_partials(model);
    fill_header(r, t, GC_CHECK_DIRECTION, "direction");
    if (through_layers) {
        status = shifted_layer_loss(c, model, t, u, h, batch->count, &plus,
                                    &pattern_plus, err);
        if (status == GC_OK)
            status = shifted_layer_loss(c, model, t, u, -h, batch->count,
                                        &minus, &pattern_minus, err);
    } else {
        status = shifted_params_loss(c, model, t, u, h, batch, &plus,
                                     &pattern_plus, err);
        if (status == GC_OK)
            status = shifted_params_loss(c, model, t, u, -h, batch, &minus,
                                         &pattern_minus, err);
    }
    if (status != GC_OK)
        return status;
    double numeric = (plus - minus) / (2.0 * h);
    double analytic = cblas_ddot((int)n, grad + t->offset, 1, u, 1);
    double grad_norm = cblas_dnrm2((int)n, grad + t->offset, 1);
    r->step_size = h;
    r->elements = n;
    r->loss_evaluations = 2;
    c->evaluations += 2;
    r->noise = difference_noise(plus, minus, h);
    r->analytic_norm = fabs(analytic);
    r->numeric_norm = fabs(numeric);
    r->analytic_all_zero = grad_norm == 0.0;
    double diff = fabs(analytic - numeric);
    double denominator = fabs(analytic) + fabs(numeric);
    r->rel_error = denominator > 0.0 ? diff / denominator : 0.0;
    if (pattern_plus != pattern_minus) {
        r->kinks_excluded = 1;
        r->verdict = GC_VERDICT_INCONCLUSIVE;
        snprintf(r->reason, sizeof r->reason,
                 "the step crossed a kink (a unit changed sign)");
        return GC_OK;
    }
    r->verdict = gc_check_verdict(r->rel_error, grad_norm == 0.0 ? 0.0
                                  : r->analytic_norm, r->numeric_norm,
                                  diff, r->noise, options, r->reason,
                                  sizeof r->reason);
    if (r->verdict == GC_VERDICT_PASS)
        return GC_OK;
    /* Not a pass: measure the difference's error by repeating at 2h.  A
     * mismatch no larger than |D(h) - D(2h)| is rounding or truncation,
     * not a wrong gradient. */
    double numeric_2h;
    status = direction_difference(c, model, batch, t, u, 2.0 * h,
                                  through_layers, &numeric_2h, err);
    c->evaluations += 2;
    if (status != GC_OK)
        return status;
    r->loss_evaluations += 2;
    r->noise = fmax(r->noise, fabs(numeric - numeric_2h));
    r->verdict = gc_check_verdict(r->rel_error, grad_norm == 0.0 ? 0.0
                                  : r->analytic_norm, r->numeric_norm,
                                  diff, r->noise, options, r->reason,
                                  sizeof r->reason);
    return GC_OK;
}

gc_status gc_check_directions(gc_checker *c, gc_model *model,
                              const gc_batch *batch, const double *grad,
                              const gc_check_options *options, gsl_rng *rng,
                              gc_check_event *results, gc_error *err)
{
    if (has_partials(model)) {
        double loss;
        gc_status status = model->layers->forward(model, model->params,
                                                  batch, &loss, err);
        if (status != GC_OK)
            return status;
    }
    for (size_t t = 0; t < model->tensor_count; t++) {
        gc_status status = check_one_direction(c, model, batch, grad, t,
                                               options, rng, &results[t],
                                               err);
        if (status != GC_OK)
            return status;
    }
    return GC_OK;
}

/* ---- element check: comparison ------------------------------------------- */

/* Compares grad and numeric over the tensor's elements that are not NaN
 * in numeric (NaN marks unchecked or kink-crossing elements). */
static void compare_tensor(const gc_tensor_info *t, const double *grad,
                           const double *numeric, double noise,
                           const gc_check_options *options,
                           gc_check_event *r)
{
    double g2 = 0.0, n2 = 0.0, d2 = 0.0, worst = -1.0;
    size_t count = 0;
    bool all_zero = true;
    for (size_t k = 0; k < t->rows * t->cols; k++) {
        double g = grad[t->offset + k], n = numeric[t->offset + k];
        if (isnan(n))
            continue;
        double d = g - n;
        g2 += g * g;
        n2 += n * n;
        d2 += d * d;
        if (g != 0.0)
            all_zero = false;
        count++;
        if (!(fabs(d) <= worst)) {   /* also catches a NaN difference */
            worst = fabs(d);
            r->worst_row = k / t->cols;
            r->worst_col = k % t->cols;
            r->worst_analytic = g;
            r->worst_numeric = n;
        }
    }
    r->elements = count;
    r->analytic_norm = sqrt(g2);
    r->numeric_norm = sqrt(n2);
    r->noise = noise;
    r->analytic_all_zero = all_zero && count > 0;
    double denominator = r->analytic_norm + r->numeric_norm;
    r->rel_error = denominator > 0.0 ? sqrt(d2) / denominator : 0.0;
    if (count == 0) {
        r->verdict = GC_VERDICT_INCONCLUSIVE;
        snprintf(r->reason, sizeof r->reason,
                 "every element was excluded (kink crossings)");
        return;
    }
    r->verdict = gc_check_verdict(r->rel_error, r->analytic_norm,
                                  r->numeric_norm, sqrt(d2), noise, options,
                                  r->reason, sizeof r->reason);
}

/* ---- element check: pre-activation method -------------------------------- */

/* Central difference of sample b's loss share in z[b, i] with step h;
 * *kink is set when the two evaluations saw different unit signs. */
static gc_status unit_difference(gc_model *model, size_t l, size_t b,
                                 size_t i, double z, double h,
                                 double *difference, double *rounding,
                                 bool *kink, gc_error *err)
{
    const gc_layer_view *v = model->layers;
    double plus, minus;
    uint64_t p_plus, p_minus;
    gc_status status = v->sample_loss_unit(model, l, b, i, z + h, &plus,
                                           &p_plus, err);
    if (status == GC_OK)
        status = v->sample_loss_unit(model, l, b, i, z - h, &minus,
                                     &p_minus, err);
    if (status != GC_OK)
        return status;
    *difference = (plus - minus) / (2.0 * h);
    *rounding = difference_noise(plus, minus, h);
    *kink = *kink || p_plus != p_minus;
    return GC_OK;
}

/* Numeric dL/dz[b, i] for every sample and unit of layer l, at steps h and
 * 2h.  The value is the step-h difference; its error estimate is the
 * larger of the rounding bound and |D(h) - D(2h)|, which exceeds the
 * truncation error of D(h) (for an error c h^2, D(h) - D(2h) = -3 c h^2,
 * three times the truncation error of D(h)) and
 * is of the order of its rounding error: a measured, not assumed, error. */
static gc_status numeric_layer_deltas(gc_checker *c, gc_model *model,
                                      size_t l, size_t count,
                                      const gc_check_options *options,
                                      size_t *evaluations, size_t *kinks,
                                      gc_error *err)
{
    const gc_layer_view *v = model->layers;
    size_t n = c->widths[l];
    const double *z = v->pre_activations(model, l);
    for (size_t b = 0; b < count; b++) {
        for (size_t i = 0; i < n; i++) {
            size_t k = b * n + i;
            double h = step_for(z[k], options), d1, d2, r1, r2;
            bool kink = false;
            gc_status status = unit_difference(model, l, b, i, z[k], h, &d1,
                                               &r1, &kink, err);
            if (status == GC_OK)
                status = unit_difference(model, l, b, i, z[k], 2.0 * h, &d2,
                                         &r2, &kink, err);
            if (status != GC_OK)
                return status;
            c->numeric_dz[l][k] = d1;
            c->noise_dz[l][k] = fmax(r1, fabs(d1 - d2));
            c->kink_dz[l][k] = kink;
            *kinks += kink;
        }
    }
    *evaluations += 4 * count * n;
    return GC_OK;
}

/* numeric dW = dZ^T A_in, db = sum_b dZ; elements touched by a kinked
 * (b, i) become NaN.  Returns the noise of W and b through *noise_w/b. */
static void assemble_layer(gc_checker *c, gc_model *model, size_t l,
                           size_t count, const gc_tensor_info *tw,
                           const gc_tensor_info *tb, double *noise_w,
                           double *noise_b)
{
    size_t n = c->widths[l], fan_in = c->widths[l - 1];
    const double *a_in = model->layers->activations(model, l - 1);
    const double *dz = c->numeric_dz[l];
    double *dw = c->numeric + tw->offset, *db = c->numeric + tb->offset;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)fan_in,
                (int)count, 1.0, dz, (int)n, a_in, (int)fan_in, 0.0, dw,
                (int)fan_in);
    double var_w = 0.0, var_b = 0.0;
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0;
        for (size_t b = 0; b < count; b++)
            sum += dz[b * n + i];
        db[i] = sum;
    }
    for (size_t b = 0; b < count; b++) {
        const double *ab = a_in + b * fan_in;
        double a2 = cblas_ddot((int)fan_in, ab, 1, ab, 1), e2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            double e = c->noise_dz[l][b * n + i];
            e2 += e * e;
            if (!c->kink_dz[l][b * n + i])
                continue;
            db[i] = NAN;
            for (size_t j = 0; j < fan_in; j++)
                if (ab[j] != 0.0)
                    dw[i * fan_in + j] = NAN;
        }
        var_w += e2 * a2;
        var_b += e2;
    }
    *noise_w = sqrt(var_w);
    *noise_b = sqrt(var_b);
}

static gc_status check_preactivation(gc_checker *c, gc_model *model,
                                     const gc_batch *batch,
                                     const double *grad,
                                     const gc_check_options *options,
                                     gc_check_event *results, gc_error *err)
{
    double loss;
    gc_status status = model->layers->forward(model, model->params, batch,
                                              &loss, err);
    if (status != GC_OK)
        return status;
    for (size_t l = 1; l <= c->layer_count; l++) {
        size_t evaluations = 0, kinks = 0;
        status = numeric_layer_deltas(c, model, l, batch->count, options,
                                      &evaluations, &kinks, err);
        c->evaluations += evaluations;
        if (status != GC_OK)
            return status;
        /* the engine's tensors come in W, b order per layer */
        size_t tw = 2 * (l - 1), tb = tw + 1;
        double noise_w, noise_b;
        assemble_layer(c, model, l, batch->count, &model->tensors[tw],
                       &model->tensors[tb], &noise_w, &noise_b);
        size_t idx[2] = {tw, tb};
        double noise[2] = {noise_w, noise_b};
        for (size_t k = 0; k < 2; k++) {
            const gc_tensor_info *t = &model->tensors[idx[k]];
            gc_check_event *r = &results[idx[k]];
            fill_header(r, t, GC_CHECK_ELEMENT, "preactivation");
            r->step_size = step_for(0.0, options);
            r->loss_evaluations = evaluations;
            compare_tensor(t, grad, c->numeric, noise[k], options, r);
            size_t excluded = 0;
            for (size_t e = 0; e < t->rows * t->cols; e++)
                excluded += isnan(c->numeric[t->offset + e]);
            r->kinks_excluded = excluded;
        }
    }
    c->deltas_valid = true;
    return GC_OK;
}

/* ---- element check: parameter method ------------------------------------- */

/* Chooses which elements of an n-element tensor to check: all, or a
 * seeded sample of `sample` of them in increasing order. */
static size_t choose_elements(gc_checker *c, size_t n, size_t sample,
                              gsl_rng *rng)
{
    for (size_t k = 0; k < n; k++)
        c->chosen[k] = k;
    if (sample == 0 || sample >= n)
        return n;
    gsl_ran_choose(rng, c->chosen, sample, c->chosen, n, sizeof(size_t));
    return sample;
}

/* One parameter through the layer view: W[i, j] moves z[:, i] by
 * +-h a_in[:, j]; b[i] moves z[:, i] by +-h.  Samples whose z does not
 * move (a_in[b, j] == 0) contribute exactly nothing and are skipped. */
static gc_status parameter_via_layers(gc_model *model,
                                      const gc_tensor_info *t, size_t k,
                                      size_t count, double h,
                                      double *numeric, double *noise,
                                      bool *kink, size_t *evaluations,
                                      gc_error *err)
{
    const gc_layer_view *v = model->layers;
    size_t l = t->layer, n = t->rows;
    size_t i = k / t->cols, j = k % t->cols;
    const double *z = v->pre_activations(model, l);
    const double *a_in = v->activations(model, l - 1);
    double sum = 0.0, var = 0.0;
    *kink = false;
    for (size_t b = 0; b < count; b++) {
        double dz = t->kind == GC_TENSOR_WEIGHT ? h * a_in[b * t->cols + j]
                                                : h;
        if (dz == 0.0)
            continue;
        double plus, minus;
        uint64_t p_plus, p_minus;
        gc_status status = v->sample_loss_unit(model, l, b, i,
                                               z[b * n + i] + dz, &plus,
                                               &p_plus, err);
        if (status == GC_OK)
            status = v->sample_loss_unit(model, l, b, i, z[b * n + i] - dz,
                                         &minus, &p_minus, err);
        if (status != GC_OK)
            return status;
        *evaluations += 2;
        *kink = *kink || p_plus != p_minus;
        sum += plus - minus;
        double e = difference_noise(plus, minus, h);
        var += e * e;
    }
    *numeric = sum / (2.0 * h);
    *noise = sqrt(var);
    return GC_OK;
}

static gc_status parameter_black_box(gc_checker *c, gc_model *model,
                                     const gc_batch *batch, size_t index,
                                     double h, double *numeric,
                                     double *noise, bool *kink,
                                     size_t *evaluations, gc_error *err)
{
    double plus, minus;
    uint64_t p_plus = 0, p_minus = 0;
    double keep = c->perturbed[index];
    c->perturbed[index] = keep + h;
    gc_status status = model->loss(model, c->perturbed, batch, &plus,
                                   &p_plus, err);
    c->perturbed[index] = keep - h;
    if (status == GC_OK)
        status = model->loss(model, c->perturbed, batch, &minus, &p_minus,
                             err);
    c->perturbed[index] = keep;
    if (status != GC_OK)
        return status;
    *evaluations += 2;
    *numeric = (plus - minus) / (2.0 * h);
    *noise = difference_noise(plus, minus, h);
    *kink = p_plus != p_minus;
    return GC_OK;
}

static gc_status check_parameters(gc_checker *c, gc_model *model,
                                  const gc_batch *batch, const double *grad,
                                  const gc_check_options *options,
                                  gsl_rng *rng, gc_check_event *results,
                                  gc_error *err)
{
    bool via_layers = has_partials(model);
    if (via_layers) {
        double loss;
        gc_status status = model->layers->forward(model, model->params,
                                                  batch, &loss, err);
        if (status != GC_OK)
            return status;
    }
    memcpy(c->perturbed, model->params, c->param_count * sizeof(double));
    for (size_t p = 0; p < c->param_count; p++)
        c->numeric[p] = NAN;
    for (size_t ti = 0; ti < model->tensor_count; ti++) {
        const gc_tensor_info *t = &model->tensors[ti];
        if (options->only != NULL && !options->only[ti])
            continue;
        size_t chosen = choose_elements(c, t->rows * t->cols,
                                        options->sample, rng);
        size_t evaluations = 0, kinks = 0;
        double var = 0.0;
        for (size_t e = 0; e < chosen; e++) {
            size_t k = c->chosen[e], index = t->offset + k;
            double h = step_for(model->params[index], options);
            double numeric, noise;
            bool kink;
            gc_status status =
                via_layers
                    ? parameter_via_layers(model, t, k, batch->count, h,
                                           &numeric, &noise, &kink,
                                           &evaluations, err)
                    : parameter_black_box(c, model, batch, index, h,
                                          &numeric, &noise, &kink,
                                          &evaluations, err);
            if (status != GC_OK)
                return status;
            kinks += kink;
            c->numeric[index] = kink ? NAN : numeric;
            var += noise * noise;
        }
        c->evaluations += evaluations;
        gc_check_event *r = &results[ti];
        fill_header(r, t, GC_CHECK_ELEMENT, "parameter");
        r->step_size = step_for(0.0, options);
        r->loss_evaluations = evaluations;
        compare_tensor(t, grad, c->numeric, sqrt(var), options, r);
        r->kinks_excluded = kinks;
    }
    return GC_OK;
}

gc_status gc_check_elements(gc_checker *c, gc_model *model,
                            const gc_batch *batch, const double *grad,
                            const gc_check_options *options, gsl_rng *rng,
                            gc_check_event *results, gc_error *err)
{
    c->deltas_valid = false;
    if (batch->count > c->max_batch)
        return gc_error_set(err, GC_EINVAL,
                            "batch of %zu exceeds the checker's %zu",
                            batch->count, c->max_batch);
    gc_check_method method = options->method;
    if (method == GC_METHOD_AUTO)
        method = has_partials(model) ? GC_METHOD_PREACTIVATION
                                     : GC_METHOD_PARAMETER;
    if (method == GC_METHOD_PREACTIVATION && !has_partials(model))
        return gc_error_set(err, GC_EINVAL,
                            "the pre-activation method needs a model that "
                            "shows its layers and evaluates the loss from "
                            "one of them (the built-in engine)");
    if (method == GC_METHOD_PREACTIVATION)
        return check_preactivation(c, model, batch, grad, options, results,
                                   err);
    return check_parameters(c, model, batch, grad, options, rng, results,
                            err);
}
