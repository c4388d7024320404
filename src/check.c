/* check.c - finite-difference checks of a model's gradient (check.h). */
#include "check.h"

#include "blas.h"

#include <complex.h>
#include <float.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

typedef struct gc_worker gc_worker;

/* One thread's buffers: the model's scratch, a call's worth of points
 * and their values, and one unit's per-element accumulators. */
struct gc_worker {
    double *scratch;            /* unit_scratch(GC_POINTS_PER_CALL) */
    double *z;                  /* GC_POINTS_PER_CALL points */
    double *share;              /* their loss shares */
    uint64_t *pattern;
    double complex *cscratch;   /* unit_scratch(1) complex values */
    double complex *cz, *cshare;
    double *offset;             /* max_fan_in + 1: one unit's offsets */
    size_t *slot;               /* which element each offset belongs to */
    double *sum_main;           /* per element: sum over samples of g */
    double *sum_low;            /* Richardson: the plain central part */
    double *var;                /* squared rounding bounds */
    unsigned char *kink;
    gc_status status;
    size_t failed_job;
    gc_error err;
};

struct gc_checker {
    size_t param_count;
    size_t max_batch;
    size_t layer_count;                      /* 0 for a black box */
    size_t widths[GC_MAX_LAYERS + 1];
    double *perturbed;                       /* param_count */
    double *numeric;                         /* param_count */
    double *numeric_dz[GC_MAX_LAYERS + 1];   /* max_batch x width_l */
    double *noise_dz[GC_MAX_LAYERS + 1];
    unsigned char *kink_dz[GC_MAX_LAYERS + 1];
    double *z_shift;                         /* max_batch x max units */
    bool deltas_valid;
    size_t evaluations;                      /* every loss evaluation */
    /* element checks */
    double *numeric_error;                   /* param_count */
    unsigned char *chosen_mask;              /* param_count */
    double *a_squared;                       /* max_batch x max width */
    double *e_squared;                       /* max_batch x max units */
    size_t *unit_evals;                      /* 2 per unit: W and b */
    size_t max_fan_in;                       /* widest layer input */
    size_t batch_count;                      /* of the running check */
    gc_worker *workers;                      /* one per thread */
    size_t worker_count;
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

static void worker_free(gc_worker *w);

gc_status gc_checker_alloc(const gc_model *model, size_t max_batch,
                           gc_checker **out, gc_error *err)
{
    *out = NULL;
    gc_checker *c = calloc(1, sizeof *c);
    if (c == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the checker");
    c->param_count = model->param_count;
    c->max_batch = max_batch;
    /* max_width: the widest layer, the input included (a layer's input
     * activations); max_units: the widest layer of units (pre-activations
     * and deltas), often far narrower than the input */
    size_t max_width = 1, max_units = 1;
    bool ok = true;
    if (model->layers != NULL) {
        c->layer_count = model->layers->layer_count;
        for (size_t l = 0; l <= c->layer_count; l++) {
            c->widths[l] = model->layers->width((gc_model *)model, l);
            if (c->widths[l] > max_width)
                max_width = c->widths[l];
        }
        size_t units = 0;
        for (size_t l = 1; l <= c->layer_count; l++) {
            units += c->widths[l];
            if (c->widths[l] > max_units)
                max_units = c->widths[l];
            if (c->widths[l - 1] > c->max_fan_in)
                c->max_fan_in = c->widths[l - 1];
        }
        c->unit_evals = malloc(2 * units * sizeof(size_t));
        ok = c->unit_evals != NULL;
        for (size_t l = 1; l <= c->layer_count && ok; l++) {
            size_t n = max_batch * c->widths[l];
            c->numeric_dz[l] = malloc(n * sizeof(double));
            c->noise_dz[l] = malloc(n * sizeof(double));
            c->kink_dz[l] = malloc(n);
            ok = c->numeric_dz[l] && c->noise_dz[l] && c->kink_dz[l];
        }
    }
    c->numeric = malloc(c->param_count * sizeof(double));
    c->z_shift = malloc(max_batch * max_units * sizeof(double));
    c->numeric_error = malloc(c->param_count * sizeof(double));
    c->chosen_mask = malloc(c->param_count);
    c->a_squared = malloc(max_batch * max_width * sizeof(double));
    c->e_squared = malloc(max_batch * max_units * sizeof(double));
    if (!ok || !c->numeric ||
        !c->z_shift || !c->numeric_error ||
        !c->chosen_mask || !c->a_squared || !c->e_squared) {
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
    free(c->perturbed);
    free(c->numeric);
    free(c->z_shift);
    free(c->numeric_error);
    free(c->chosen_mask);
    free(c->a_squared);
    free(c->e_squared);
    free(c->unit_evals);
    for (size_t t = 0; t < c->worker_count; t++)
        worker_free(&c->workers[t]);
    free(c->workers);
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

const double *gc_checker_numeric_error(const gc_checker *c)
{
    return c->numeric_error;
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
    /* a table, not a branch: the bits are random, so a branch on them is
     * mispredicted half the time (it was most of a batch-1 run's time) */
    const double sign[2] = {-magnitude, magnitude};
    for (size_t i = 0; i < n; i += 32) {
        unsigned long bits = gsl_rng_get(rng);
        size_t end = n - i < 32 ? n - i : 32;
        for (size_t k = 0; k < end; k++, bits >>= 1)
            u[i + k] = sign[bits & 1UL];
    }
}

/* |x| of n values.  The direction check takes four norms of every tensor
 * at every step, and BLAS's dnrm2 scales as it goes to survive values
 * near the ends of double's range, several times slower than a dot
 * product.  sqrt(x.x) is exact enough (a relative error of about n eps
 * at worst, far below any tolerance here) whenever x.x neither overflows
 * nor lands among the subnormals, which needs every |x_i| between about
 * 1e-145 and 1e154; outside that dnrm2 takes over. */
static double norm2(size_t n, const double *x)
{
    double squares = cblas_ddot((int)n, x, 1, x, 1);
    if (isfinite(squares) && squares > 1e-290)
        return sqrt(squares);
    return cblas_dnrm2((int)n, x, 1);
}

/* The probe direction u = (g/|g| + r) / |g/|g| + r|, r a random sign
 * direction.  A purely random u of a tensor of n elements sees only
 * |g|/sqrt(n) of the gradient, which for a large tensor sinks the
 * directional derivative toward the rounding noise of the difference; the
 * g/|g| half keeps it at about |g|/sqrt(2), so a wrong scale or sign of
 * the gradient shows at full strength, and the random half still picks up
 * errors orthogonal to g.  With g = 0, u = r. */
static void probe_direction(gsl_rng *rng, const double *g, double g_norm,
                            double *u, size_t n)
{
    random_signs(rng, u, n);
    if (!(g_norm > 0.0) || !isfinite(g_norm))
        return;
    cblas_daxpy((int)n, 1.0 / g_norm, g, 1, u, 1);
    double u_norm = norm2(n, u);
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

/* The whole perturbed parameter vector of the black-box paths, allocated
 * on first use: a model that evaluates the loss from one of its layers
 * never needs it, and it is as large as the parameters. */
static gc_status ensure_perturbed(gc_checker *c, gc_error *err)
{
    if (c->perturbed == NULL)
        c->perturbed = malloc(c->param_count * sizeof(double));
    return c->perturbed != NULL
               ? GC_OK
               : gc_error_set(err, GC_ENOMEM, "no memory for a perturbed "
                              "copy of %zu parameters", c->param_count);
}

static gc_status shifted_params_loss(gc_checker *c, gc_model *model,
                                     const gc_tensor_info *t, const double *u,
                                     double signed_h, const gc_batch *batch,
                                     double *loss, uint64_t *pattern,
                                     gc_error *err)
{
    size_t n = t->rows * t->cols;
    gc_status status = ensure_perturbed(c, err);
    if (status != GC_OK)
        return status;
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
    /* the probe direction lives in the element checks' error buffer:
     * the two are never needed at once, and the buffer is as large as
     * the parameters (check.h: valid only until the next check) */
    double *u = c->numeric_error + t->offset;
    double grad_norm = norm2(n, grad + t->offset);
    probe_direction(rng, grad + t->offset, grad_norm, u, n);
    /* The step along the unit direction is sized like one parameter's
     * step, from the tensor's root-mean-square value: u puts most of its
     * length along the gradient, where the loss curves about as fast as
     * along its steepest single parameter.  Sizing it from the tensor's
     * whole norm (sqrt(n) times larger) made the truncation error of the
     * difference dominate: measured on the Fashion-MNIST twin, 7e-8
     * against 5e-9 over 15,000 steps. */
    double theta_rms = norm2(n, model->params + t->offset) /
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

/* ---- element check: workers and difference schemes ------------------------ *
 * An element check is many independent jobs (one unit of one layer for the
 * parameter method, one (sample, unit) for the pre-activation method).
 * Each job writes only its own elements of the checker's arrays, and the
 * per-tensor sums are taken afterwards in element order, so the results
 * are the same bits for any number of threads. */


static void worker_free(gc_worker *w)
{
    free(w->scratch);
    free(w->z);
    free(w->share);
    free(w->pattern);
    free(w->cscratch);
    free(w->cz);
    free(w->cshare);
    free(w->offset);
    free(w->slot);
    free(w->sum_main);
    free(w->sum_low);
    free(w->var);
    free(w->kink);
}

static bool worker_alloc(gc_worker *w, gc_model *model, size_t elements)
{
    const gc_layer_view *v = model->layers;
    size_t points = GC_POINTS_PER_CALL;
    memset(w, 0, sizeof *w);
    if (v != NULL && v->unit_scratch != NULL) {
        w->scratch = malloc(v->unit_scratch(model, points) * sizeof(double));
        w->cscratch = malloc(v->unit_scratch(model, 1) *
                             sizeof(double complex));
        if (w->scratch == NULL || w->cscratch == NULL)
            return false;
    }
    w->z = malloc(points * sizeof(double));
    w->share = malloc(points * sizeof(double));
    w->pattern = malloc(points * sizeof(uint64_t));
    w->cz = malloc(points * sizeof(double complex));
    w->cshare = malloc(points * sizeof(double complex));
    w->offset = malloc(elements * sizeof(double));
    w->slot = malloc(elements * sizeof(size_t));
    w->sum_main = malloc(elements * sizeof(double));
    w->sum_low = malloc(elements * sizeof(double));
    w->var = malloc(elements * sizeof(double));
    w->kink = malloc(elements);
    return w->z && w->share && w->pattern && w->cz && w->cshare &&
           w->offset && w->slot && w->sum_main && w->sum_low && w->var &&
           w->kink;
}

/* How many threads the options ask for: 0 means OpenMP's default (every
 * core, or OMP_NUM_THREADS); 1 without OpenMP. */
static size_t thread_count(const gc_check_options *options)
{
#ifdef _OPENMP
    if (options->threads > 0)
        return options->threads;
    int t = omp_get_max_threads();
    return t > 0 ? (size_t)t : 1;
#else
    (void)options;
    return 1;
#endif
}

static gc_status ensure_workers(gc_checker *c, gc_model *model,
                                size_t threads, gc_error *err)
{
    if (c->worker_count >= threads)
        return GC_OK;
    gc_worker *more = realloc(c->workers, threads * sizeof *more);
    if (more == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for %zu check "
                            "threads", threads);
    c->workers = more;
    for (size_t t = c->worker_count; t < threads; t++) {
        if (!worker_alloc(&c->workers[t], model, c->max_fan_in + 1)) {
            worker_free(&c->workers[t]);
            return gc_error_set(err, GC_ENOMEM, "no memory for %zu check "
                                "threads", threads);
        }
        c->worker_count = t + 1;
    }
    return GC_OK;
}

/* The step of each scheme for a value of size |x|.
 *   central:    eps^(1/3) max(|x|, 1): truncation h^2 against rounding
 *               eps/h (check.h, GC_CBRT_EPSILON).
 *   richardson: eps^(1/5) max(|x|, 1): the combination of h and h/2 has
 *               truncation O(h^4), which balances rounding eps/h at
 *               h ~ eps^(1/5), where both are ~ eps^(4/5) ~ 3e-13.
 *   complex:    1e-20 max(|x|, 1): Im f(x + ih) / h has truncation
 *               h^2 |f'''| / 6 and no subtraction, so h can be far below
 *               any rounding scale; 1e-20 makes the truncation ~1e-40
 *               relative while h |a| stays far above the smallest normal
 *               double (2e-308). */
static double scheme_step(double x, gc_difference d,
                          const gc_check_options *options)
{
    double base = d == GC_DIFFERENCE_RICHARDSON ? GC_FIFTH_ROOT_EPSILON
                  : d == GC_DIFFERENCE_COMPLEX  ? GC_COMPLEX_STEP
                                                : GC_CBRT_EPSILON;
    return options->step_scale * base * fmax(fabs(x), 1.0);
}

static size_t points_per_offset(gc_difference d)
{
    return d == GC_DIFFERENCE_RICHARDSON ? 4 : d == GC_DIFFERENCE_COMPLEX
                                                   ? 1
                                                   : 2;
}

/* Loss shares of one sample at n values of z[b, i] of layer l (in
 * w->z), into w->share and w->pattern.  Through the model's batched,
 * thread-safe evaluation when it has one, else one call of
 * sample_loss_unit per point (then the caller runs on one thread). */
static gc_status eval_points(gc_model *model, gc_worker *w, size_t l,
                             size_t b, size_t i, size_t n)
{
    const gc_layer_view *v = model->layers;
    if (v->sample_losses_unit != NULL)
        return v->sample_losses_unit(model, l, b, i, w->z, n, w->share,
                                     w->pattern, w->scratch, &w->err);
    for (size_t p = 0; p < n; p++) {
        gc_status status = v->sample_loss_unit(model, l, b, i, w->z[p],
                                               &w->share[p], &w->pattern[p],
                                               &w->err);
        if (status != GC_OK)
            return status;
    }
    return GC_OK;
}

/* For one (layer l, sample b, unit i) at pre-activation z and m offsets
 * o[q]: adds to element slot[q] the scheme's estimate of c'(z) o[q], with
 * c the sample's loss share as a function of z[b, i], and its squared
 * rounding bound; for Richardson also the plain central estimate at the
 * same step.  In these units (change of the loss, not yet divided by the
 * element's step):
 *   central     g = (c(z+o) - c(z-o)) / 2, bound u = U max |c|;
 *   richardson  r3 = that, r5 = (4 (c(z+o/2) - c(z-o/2)) - r3) / 3, the
 *               h^2 term cancelled; |r5 - r3| estimates r3's truncation,
 *               a bound on r5's while h is in the asymptotic range, and
 *               the rounding bound of r5 is 3u (4/3 of two terms of u
 *               each plus 1/3 of one);
 *   complex     g = Im c(z + i o), bound U |g|;
 * with U = GC_LOSS_ROUNDING_ULPS * eps.  *evaluations counts points. */
static gc_status stencil_accumulate(gc_model *model, gc_worker *w,
                                    gc_difference d, size_t l, size_t b,
                                    size_t i, double z, size_t m,
                                    size_t *evaluations)
{
    const double ulp = GC_LOSS_ROUNDING_ULPS * DBL_EPSILON;
    size_t per = points_per_offset(d), per_call = GC_POINTS_PER_CALL / per;
    for (size_t q0 = 0; q0 < m; q0 += per_call) {
        size_t n = m - q0 < per_call ? m - q0 : per_call;
        const double *o = w->offset + q0;
        const size_t *slot = w->slot + q0;
        gc_status status;
        if (d == GC_DIFFERENCE_COMPLEX) {
            for (size_t q = 0; q < n; q++)
                w->cz[q] = CMPLX(z, o[q]);
            status = model->layers->sample_losses_unit_complex(
                model, l, b, i, w->cz, n, w->cshare, w->cscratch, &w->err);
            if (status != GC_OK)
                return status;
            for (size_t q = 0; q < n; q++) {
                double g = cimag(w->cshare[q]);
                w->sum_main[slot[q]] += g;
                w->var[slot[q]] += (ulp * g) * (ulp * g);
            }
            *evaluations += n;
            continue;
        }
        for (size_t q = 0; q < n; q++) {
            w->z[per * q] = z + o[q];
            w->z[per * q + 1] = z - o[q];
            if (per == 4) {
                w->z[per * q + 2] = z + 0.5 * o[q];
                w->z[per * q + 3] = z - 0.5 * o[q];
            }
        }
        status = eval_points(model, w, l, b, i, per * n);
        if (status != GC_OK)
            return status;
        for (size_t q = 0; q < n; q++) {
            const double *c = w->share + per * q;
            const uint64_t *p = w->pattern + per * q;
            double r3 = 0.5 * (c[0] - c[1]);
            double u = ulp * fmax(fabs(c[0]), fabs(c[1]));
            bool kink = p[0] != p[1];
            if (per == 4) {
                double r5 = (4.0 * (c[2] - c[3]) - r3) / 3.0;
                u = 3.0 * fmax(u, ulp * fmax(fabs(c[2]), fabs(c[3])));
                kink = kink || p[2] != p[0] || p[3] != p[0];
                w->sum_low[slot[q]] += r3;
                r3 = r5;
            }
            w->sum_main[slot[q]] += r3;
            w->var[slot[q]] += u * u;
            w->kink[slot[q]] |= kink;
        }
        *evaluations += per * n;
    }
    return GC_OK;
}

/* Value and error estimate of one element from its accumulators and its
 * step h: the sum over samples divided by h; the error is the root sum
 * of the squared rounding bounds, plus |r5 - r3| for Richardson. */
static void finish_element(const gc_worker *w, size_t slot, gc_difference d,
                           double h, double *value, double *error)
{
    double e = sqrt(w->var[slot]);
    if (d == GC_DIFFERENCE_RICHARDSON)
        e += fabs(w->sum_main[slot] - w->sum_low[slot]);
    *value = w->kink[slot] ? NAN : w->sum_main[slot] / h;
    *error = e / h;
}

static void clear_accumulators(gc_worker *w, size_t n)
{
    memset(w->sum_main, 0, n * sizeof(double));
    memset(w->sum_low, 0, n * sizeof(double));
    memset(w->var, 0, n * sizeof(double));
    memset(w->kink, 0, n);
}

/* Runs jobs 0..count-1 of `run` on `threads` threads (one gc_worker
 * each); returns the failure of the lowest-numbered failing job. */
typedef gc_status (*job_fn)(gc_checker *c, gc_model *model,
                            const gc_check_options *options, gc_worker *w,
                            size_t job);

static gc_status run_jobs(gc_checker *c, gc_model *model,
                          const gc_check_options *options, size_t threads,
                          size_t count, job_fn run, gc_error *err)
{
    for (size_t t = 0; t < threads; t++) {
        c->workers[t].status = GC_OK;
        c->workers[t].failed_job = count;
    }
    int failed = 0;
#ifdef _OPENMP
#pragma omp parallel for num_threads((int)threads) schedule(dynamic, 1)
#endif
    for (size_t job = 0; job < count; job++) {
        int stop;
#ifdef _OPENMP
#pragma omp atomic read
#endif
        stop = failed;
        if (stop)
            continue;
#ifdef _OPENMP
        gc_worker *w = &c->workers[omp_get_thread_num()];
#else
        gc_worker *w = &c->workers[0];
#endif
        gc_status status = run(c, model, options, w, job);
        if (status != GC_OK && job < w->failed_job) {
            w->status = status;
            w->failed_job = job;
#ifdef _OPENMP
#pragma omp atomic write
#endif
            failed = 1;
        }
    }
    size_t first = count;
    gc_status status = GC_OK;
    for (size_t t = 0; t < threads; t++) {
        gc_worker *w = &c->workers[t];
        if (w->status != GC_OK && w->failed_job < first) {
            first = w->failed_job;
            status = w->status;
            if (err != NULL)
                *err = w->err;
        }
    }
    return status;
}

/* Threads a check may use: the batched evaluation is thread-safe, the
 * one-point sample_loss_unit is not.  With the default (threads = 0), a
 * check of fewer than GC_PARALLEL_MIN_POINTS evaluations (a few
 * milliseconds) stays on one thread, where starting a team and waiting
 * for a thread that the OS descheduled on a shared machine cost more
 * than a second core saves; an explicit count is taken as given.  The
 * results are the same either way. */
static size_t usable_threads(const gc_model *model,
                             const gc_check_options *options, size_t points)
{
    if (model->layers == NULL || model->layers->sample_losses_unit == NULL)
        return 1;
    if (options->threads == 0 && points < GC_PARALLEL_MIN_POINTS)
        return 1;
    return thread_count(options);
}

/* Refuses a scheme the model cannot take, saying why. */
static gc_status scheme_supported(gc_model *model, gc_difference d,
                                  bool black_box, gc_error *err)
{
    if (d != GC_DIFFERENCE_COMPLEX)
        return GC_OK;
    const gc_layer_view *v = model->layers;
    if (black_box || v == NULL || v->sample_losses_unit_complex == NULL ||
        v->complex_unsupported == NULL)
        return gc_error_set(err, GC_EINVAL,
                            "complex step needs a model that evaluates its "
                            "layers in complex arithmetic; this one does "
                            "not (use central or richardson)");
    const char *why = v->complex_unsupported(model);
    if (why != NULL)
        return gc_error_set(err, GC_EINVAL,
                            "complex step needs a network whose every "
                            "operation is analytic: %s (use central or "
                            "richardson)", why);
    return GC_OK;
}

static const char *method_label(bool preactivation, gc_difference d)
{
    if (preactivation)
        return d == GC_DIFFERENCE_RICHARDSON ? "preact/richardson"
               : d == GC_DIFFERENCE_COMPLEX  ? "preact/complex"
                                             : "preactivation";
    return d == GC_DIFFERENCE_RICHARDSON ? "param/richardson"
           : d == GC_DIFFERENCE_COMPLEX  ? "param/complex"
                                         : "parameter";
}

/* ---- element check: pre-activation method -------------------------------- */

/* Job (l, b, i) of the pre-activation method, from a flat job number
 * over every layer's count x width_l pre-activations. */
static void preactivation_job(const gc_checker *c, size_t job, size_t *l,
                              size_t *k)
{
    size_t layer = 1;
    while (job >= c->batch_count * c->widths[layer]) {
        job -= c->batch_count * c->widths[layer];
        layer++;
    }
    *l = layer;
    *k = job;
}

/* Numeric dL/dz[b, i] of one pre-activation.  Central: the step-h
 * difference D(h), with error estimate max(rounding bound, |D(h) -
 * D(2h)|), which exceeds D(h)'s truncation error (for an error c h^2,
 * D(h) - D(2h) = -3 c h^2, three times it): measured, not assumed.
 * Richardson and complex step: stencil_accumulate() with the offset h. */
static gc_status preactivation_unit(gc_checker *c, gc_model *model,
                                    const gc_check_options *options,
                                    gc_worker *w, size_t job)
{
    size_t l, k;
    preactivation_job(c, job, &l, &k);
    size_t n = c->widths[l], b = k / n, i = k % n;
    double z = model->layers->pre_activations(model, l)[k];
    gc_difference d = options->difference;
    double h = scheme_step(z, d, options);
    if (d != GC_DIFFERENCE_CENTRAL) {
        size_t evaluations = 0;
        clear_accumulators(w, 1);
        w->offset[0] = h;
        w->slot[0] = 0;
        gc_status status = stencil_accumulate(model, w, d, l, b, i, z, 1,
                                              &evaluations);
        if (status != GC_OK)
            return status;
        finish_element(w, 0, d, h, &c->numeric_dz[l][k], &c->noise_dz[l][k]);
        c->kink_dz[l][k] = w->kink[0];
        if (w->kink[0])
            c->numeric_dz[l][k] = 0.0;   /* assemble_layer marks NaN */
        return GC_OK;
    }
    w->z[0] = z + h;
    w->z[1] = z - h;
    w->z[2] = z + 2.0 * h;
    w->z[3] = z - 2.0 * h;
    gc_status status = eval_points(model, w, l, b, i, 4);
    if (status != GC_OK)
        return status;
    const double *s = w->share;
    double d1 = (s[0] - s[1]) / (2.0 * h), d2 = (s[2] - s[3]) / (4.0 * h);
    c->numeric_dz[l][k] = d1;
    c->noise_dz[l][k] = fmax(difference_noise(s[0], s[1], h), fabs(d1 - d2));
    c->kink_dz[l][k] = w->pattern[0] != w->pattern[1] ||
                       w->pattern[2] != w->pattern[3];
    return GC_OK;
}

/* numeric dW = dZ^T A_in, db = sum_b dZ (n_l x n_(l-1) and n_l), and
 * their per-element error estimates sqrt(E^2^T A_in^2) and
 * sqrt(sum_b E^2), E the dZ estimates; elements touched by a kinked
 * (b, i) become NaN.  Returns the tensors' noise through *noise_w/b. */
static void assemble_layer(gc_checker *c, gc_model *model, size_t l,
                           size_t count, const gc_tensor_info *tw,
                           const gc_tensor_info *tb, double *noise_w,
                           double *noise_b)
{
    size_t n = c->widths[l], fan_in = c->widths[l - 1];
    const double *a_in = model->layers->activations(model, l - 1);
    const double *dz = c->numeric_dz[l];
    double *dw = c->numeric + tw->offset, *db = c->numeric + tb->offset;
    double *ew = c->numeric_error + tw->offset;
    double *eb = c->numeric_error + tb->offset;
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)fan_in,
                (int)count, 1.0, dz, (int)n, a_in, (int)fan_in, 0.0, dw,
                (int)fan_in);
    for (size_t k = 0; k < count * fan_in; k++)
        c->a_squared[k] = a_in[k] * a_in[k];
    for (size_t k = 0; k < count * n; k++)
        c->e_squared[k] = c->noise_dz[l][k] * c->noise_dz[l][k];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)n, (int)fan_in,
                (int)count, 1.0, c->e_squared, (int)n, c->a_squared,
                (int)fan_in, 0.0, ew, (int)fan_in);
    for (size_t k = 0; k < n * fan_in; k++)
        ew[k] = sqrt(ew[k]);
    double var_w = 0.0, var_b = 0.0;
    for (size_t i = 0; i < n; i++) {
        double sum = 0.0, e2 = 0.0;
        for (size_t b = 0; b < count; b++) {
            sum += dz[b * n + i];
            e2 += c->e_squared[b * n + i];
        }
        db[i] = sum;
        eb[i] = sqrt(e2);
    }
    for (size_t b = 0; b < count; b++) {
        const double *ab = a_in + b * fan_in;
        double a2 = cblas_ddot((int)fan_in, ab, 1, ab, 1), e2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            e2 += c->e_squared[b * n + i];
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
    size_t jobs = 0;
    for (size_t l = 1; l <= c->layer_count; l++)
        jobs += batch->count * c->widths[l];
    size_t threads = usable_threads(model, options, 4 * jobs);
    status = ensure_workers(c, model, threads, err);
    if (status != GC_OK)
        return status;
    c->batch_count = batch->count;
    status = run_jobs(c, model, options, threads, jobs, preactivation_unit,
                      err);
    if (status != GC_OK)
        return status;
    const char *label = method_label(true, options->difference);
    size_t per = options->difference == GC_DIFFERENCE_CENTRAL
                     ? 4 : points_per_offset(options->difference);
    for (size_t l = 1; l <= c->layer_count; l++) {
        size_t evaluations = per * batch->count * c->widths[l];
        c->evaluations += evaluations;
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
            fill_header(r, t, GC_CHECK_ELEMENT, label);
            r->step_size = scheme_step(0.0, options->difference, options);
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

/* Marks which elements of tensor t to check: all, or a seeded sample of
 * `sample` of them.  Selection sampling (Knuth's algorithm S): element i
 * is taken with probability (still wanted) / (still left), which keeps
 * every subset of that size equally likely and needs no index array.  It
 * draws the same uniforms in the same order as gsl_ran_choose, so a seed
 * picks the same elements as it did when this called gsl_ran_choose on
 * an array of indices. */
static void choose_elements(gc_checker *c, const gc_tensor_info *t,
                            size_t sample, gsl_rng *rng)
{
    size_t n = t->rows * t->cols;
    unsigned char *mask = c->chosen_mask + t->offset;
    if (sample == 0 || sample >= n) {
        memset(mask, 1, n);
        return;
    }
    memset(mask, 0, n);
    for (size_t i = 0, taken = 0; i < n && taken < sample; i++)
        if ((double)(n - i) * gsl_rng_uniform(rng) <
            (double)(sample - taken)) {
            mask[i] = 1;
            taken++;
        }
}

/* Job number to (layer, unit) over every layer's units. */
static void parameter_job(const gc_checker *c, size_t job, size_t *l,
                          size_t *i)
{
    size_t layer = 1;
    while (job >= c->widths[layer]) {
        job -= c->widths[layer];
        layer++;
    }
    *l = layer;
    *i = job;
}

/* Every chosen element of row i of W_l and of b_l[i], through the layer
 * view.  W[i, j] moves z[:, i] by +-h_j a_in[:, j] and b[i] moves it by
 * +-h_b, so for each sample one batched call evaluates the sample's loss
 * share at every offset of the row; samples with a_in[b, j] == 0 move
 * nothing for W[i, j] and are skipped (they contribute exactly 0). */
static gc_status parameter_unit(gc_checker *c, gc_model *model,
                                const gc_check_options *options,
                                gc_worker *w, size_t job)
{
    size_t l, i;
    parameter_job(c, job, &l, &i);
    const gc_layer_view *v = model->layers;
    const gc_tensor_info *tw = &model->tensors[2 * (l - 1)];
    const gc_tensor_info *tb = tw + 1;
    size_t fan = tw->cols, n = tw->rows;
    const double *z = v->pre_activations(model, l);
    const double *a_in = v->activations(model, l - 1);
    const unsigned char *mask_w = c->chosen_mask + tw->offset + i * fan;
    bool bias = c->chosen_mask[tb->offset + i];
    const double *w_row = model->params + tw->offset + i * fan;
    double h_b = scheme_step(model->params[tb->offset + i],
                             options->difference, options);
    gc_difference d = options->difference;
    size_t evals_w = 0, evals_b = 0;
    clear_accumulators(w, fan + 1);
    for (size_t b = 0; b < c->batch_count; b++) {
        size_t m = 0;
        for (size_t j = 0; j < fan; j++) {
            double a = a_in[b * fan + j];
            if (!mask_w[j] || a == 0.0)
                continue;
            w->offset[m] = scheme_step(w_row[j], d, options) * a;
            w->slot[m++] = j;
        }
        size_t weights_here = m;
        if (bias) {
            w->offset[m] = h_b;
            w->slot[m++] = fan;
        }
        size_t evaluations = 0;
        gc_status status = stencil_accumulate(model, w, d, l, b, i,
                                              z[b * n + i], m, &evaluations);
        if (status != GC_OK)
            return status;
        size_t per = points_per_offset(d);
        evals_w += per * weights_here;
        evals_b += evaluations - per * weights_here;
    }
    for (size_t j = 0; j < fan; j++) {
        if (!mask_w[j])
            continue;
        size_t index = tw->offset + i * fan + j;
        finish_element(w, j, d, scheme_step(w_row[j], d, options),
                       &c->numeric[index], &c->numeric_error[index]);
    }
    if (bias)
        finish_element(w, fan, d, h_b, &c->numeric[tb->offset + i],
                       &c->numeric_error[tb->offset + i]);
    c->unit_evals[2 * job] = evals_w;
    c->unit_evals[2 * job + 1] = evals_b;
    return GC_OK;
}

/* A black box: the whole loss at theta +- h e_k (and +- h/2 e_k for
 * Richardson), with the same estimates as stencil_accumulate(). */
static gc_status parameter_black_box(gc_checker *c, gc_model *model,
                                     const gc_batch *batch, size_t index,
                                     const gc_check_options *options,
                                     size_t *evaluations, gc_error *err)
{
    gc_difference d = options->difference;
    double keep = c->perturbed[index], h = scheme_step(keep, d, options);
    double offsets[4] = {h, -h, 0.5 * h, -0.5 * h}, f[4];
    uint64_t p[4] = {0, 0, 0, 0};
    size_t per = points_per_offset(d);
    for (size_t q = 0; q < per; q++) {
        c->perturbed[index] = keep + offsets[q];
        gc_status status = model->loss(model, c->perturbed, batch, &f[q],
                                       &p[q], err);
        c->perturbed[index] = keep;
        if (status != GC_OK)
            return status;
    }
    *evaluations += per;
    const double ulp = GC_LOSS_ROUNDING_ULPS * DBL_EPSILON;
    double r3 = 0.5 * (f[0] - f[1]), u = ulp * fmax(fabs(f[0]), fabs(f[1]));
    double value = r3, error = u;
    bool kink = p[0] != p[1];
    if (per == 4) {
        value = (4.0 * (f[2] - f[3]) - r3) / 3.0;
        error = 3.0 * fmax(u, ulp * fmax(fabs(f[2]), fabs(f[3]))) +
                fabs(value - r3);
        kink = kink || p[2] != p[0] || p[3] != p[0];
    }
    c->numeric[index] = kink ? NAN : value / h;
    c->numeric_error[index] = error / h;
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
    if (!via_layers) {
        gc_status status = ensure_perturbed(c, err);
        if (status != GC_OK)
            return status;
        memcpy(c->perturbed, model->params, c->param_count * sizeof(double));
    }
    for (size_t p = 0; p < c->param_count; p++) {
        c->numeric[p] = NAN;
        c->numeric_error[p] = NAN;
    }
    for (size_t ti = 0; ti < model->tensor_count; ti++) {
        const gc_tensor_info *t = &model->tensors[ti];
        if (options->only != NULL && !options->only[ti])
            memset(c->chosen_mask + t->offset, 0, t->rows * t->cols);
        else
            choose_elements(c, t, options->sample, rng);
    }

    if (via_layers) {
        size_t chosen = 0, jobs = 0;
        for (size_t p = 0; p < c->param_count; p++)
            chosen += c->chosen_mask[p];
        size_t threads = usable_threads(
            model, options,
            chosen * batch->count * points_per_offset(options->difference));
        gc_status status = ensure_workers(c, model, threads, err);
        if (status != GC_OK)
            return status;
        c->batch_count = batch->count;
        for (size_t l = 1; l <= c->layer_count; l++)
            jobs += c->widths[l];
        status = run_jobs(c, model, options, threads, jobs, parameter_unit,
                          err);
        if (status != GC_OK)
            return status;
    }
    const char *label = method_label(false, options->difference);
    size_t job0 = 0;
    for (size_t ti = 0; ti < model->tensor_count; ti++) {
        const gc_tensor_info *t = &model->tensors[ti];
        size_t n = t->rows * t->cols, evaluations = 0, kinks = 0;
        double var = 0.0;
        for (size_t k = 0; k < n; k++) {
            size_t index = t->offset + k;
            if (!c->chosen_mask[index])
                continue;
            if (!via_layers) {
                gc_status status = parameter_black_box(
                    c, model, batch, index, options, &evaluations, err);
                if (status != GC_OK)
                    return status;
            }
            kinks += isnan(c->numeric[index]);
            var += c->numeric_error[index] * c->numeric_error[index];
        }
        if (via_layers) {
            /* tensors come in W, b order: the units of layer t->layer */
            for (size_t u = 0; u < t->rows; u++)
                evaluations +=
                    c->unit_evals[2 * (job0 + u) +
                                  (t->kind == GC_TENSOR_BIAS)];
            if (t->kind == GC_TENSOR_BIAS)
                job0 += t->rows;
        }
        c->evaluations += evaluations;
        /* a tensor left out keeps the result it had */
        if (options->only != NULL && !options->only[ti])
            continue;
        gc_check_event *r = &results[ti];
        fill_header(r, t, GC_CHECK_ELEMENT, label);
        r->step_size = scheme_step(0.0, options->difference, options);
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
    gc_status status = gc_check_supported(model, options, err);
    if (status != GC_OK)
        return status;
    /* The jobs call BLAS from several threads: it must not start threads
     * of its own inside them. */
    gc_blas_single_thread();
    if (method == GC_METHOD_PREACTIVATION) {
        for (size_t p = 0; p < c->param_count; p++) {
            c->numeric[p] = NAN;
            c->numeric_error[p] = NAN;
        }
        return check_preactivation(c, model, batch, grad, options, results,
                                   err);
    }
    return check_parameters(c, model, batch, grad, options, rng, results,
                            err);
}

gc_status gc_check_supported(gc_model *model, const gc_check_options *options,
                             gc_error *err)
{
    return scheme_supported(model, options->difference,
                            model->layers == NULL, err);
}
