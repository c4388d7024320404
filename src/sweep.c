/* sweep.c - one tensor's directional check over many steps (sweep.h). */
#include "sweep.h"

#include "check.h"

#include <float.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t gc_sweep_find_tensor(const gc_model *model, const char *name)
{
    for (size_t t = 0; t < model->tensor_count; t++)
        if (strcmp(model->tensors[t].name, name) == 0)
            return t;
    return model->tensor_count;
}

/* u (n values, unit length) from g (n values) and the RNG, as the
 * direction check builds it: the g/|g| half keeps g . u near |g|/sqrt(2)
 * so the derivative stands clear of rounding; the random half still
 * sees errors orthogonal to g. */
static void draw_direction(const double *g, size_t n, gsl_rng *rng,
                           double *u)
{
    double gn = 0.0;
    for (size_t i = 0; i < n; i++)
        gn += g[i] * g[i];
    gn = sqrt(gn);
    bool use_g = gn > 0.0 && isfinite(gn);
    double r = 1.0 / sqrt((double)n), un = 0.0;
    for (size_t i = 0; i < n; i++) {
        double sign = gsl_rng_uniform_int(rng, 2) ? r : -r;
        u[i] = sign + (use_g ? g[i] / gn : 0.0);
        un += u[i] * u[i];
    }
    un = sqrt(un);
    for (size_t i = 0; i < n; i++)
        u[i] /= un;
}

/* D(h) at theta (a copy of the parameters), moved along u in the
 * tensor's slice [offset, offset + n). */
static gc_status difference(gc_model *m, const gc_batch *batch,
                            double *theta, const double *u, size_t offset,
                            size_t n, gc_sweep_point *p, gc_error *err)
{
    double *slice = theta + offset;
    double plus, minus;
    uint64_t p_plus, p_minus;
    for (size_t i = 0; i < n; i++)
        slice[i] = m->params[offset + i] + p->h * u[i];
    gc_status status = m->loss(m, theta, batch, &plus, &p_plus, err);
    for (size_t i = 0; i < n; i++)
        slice[i] = m->params[offset + i] - p->h * u[i];
    if (status == GC_OK)
        status = m->loss(m, theta, batch, &minus, &p_minus, err);
    memcpy(slice, m->params + offset, n * sizeof(double));
    if (status != GC_OK)
        return status;
    p->kink = p_plus != p_minus;
    p->numeric = (plus - minus) / (2.0 * p->h);
    p->rounding = GC_LOSS_ROUNDING_ULPS * DBL_EPSILON *
                  fmax(fabs(plus), fabs(minus)) / p->h;
    return GC_OK;
}

/* The steps, increasing: the grid and the chosen step in its place. */
static void lay_out_steps(gc_sweep *s)
{
    size_t k = 0;
    bool placed = false;
    int last = (GC_SWEEP_HIGH_EXP - GC_SWEEP_LOW_EXP) * GC_SWEEP_PER_DECADE;
    for (int i = 0; i <= last; i++) {
        double h = pow(10.0, GC_SWEEP_LOW_EXP +
                             (double)i / GC_SWEEP_PER_DECADE);
        if (!placed && s->chosen_step <= h) {
            s->chosen = k;
            s->points[k++] = (gc_sweep_point){.h = s->chosen_step,
                                              .chosen = true};
            placed = true;
        }
        s->points[k++] = (gc_sweep_point){.h = h};
    }
    if (!placed) {
        s->chosen = k;
        s->points[k++] = (gc_sweep_point){.h = s->chosen_step,
                                          .chosen = true};
    }
    s->count = k;
}

gc_status gc_sweep_compute(gc_model *m, const gc_batch *batch, size_t tensor,
                           size_t step, double step_scale, uint64_t seed,
                           gc_sweep *s, gc_error *err)
{
    memset(s, 0, sizeof *s);
    s->pass_below = NAN;
    s->fail_above = NAN;
    if (tensor >= m->tensor_count)
        return gc_error_set(err, GC_EINVAL, "no tensor %zu (the model has "
                            "%zu)", tensor, m->tensor_count);
    const gc_tensor_info *info = &m->tensors[tensor];
    size_t n = info->rows * info->cols;
    snprintf(s->tensor, sizeof s->tensor, "%s", info->name);
    s->elements = n;
    s->step = step;
    double *grad = malloc(m->param_count * sizeof *grad);
    double *theta = malloc(m->param_count * sizeof *theta);
    double *u = malloc(n * sizeof *u);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gc_status status = GC_OK;
    if (!grad || !theta || !u || !rng)
        status = gc_error_set(err, GC_ENOMEM, "no memory for the sweep");
    double loss;
    if (status == GC_OK)
        status = m->gradient(m, m->params, batch, &loss, grad, err);
    if (status == GC_OK) {
        gsl_rng_set(rng, (unsigned long)seed);
        const double *g = grad + info->offset;
        draw_direction(g, n, rng, u);
        double sq = 0.0;
        s->analytic = 0.0;
        for (size_t i = 0; i < n; i++) {
            s->analytic += g[i] * u[i];
            sq += m->params[info->offset + i] * m->params[info->offset + i];
        }
        s->rms = sqrt(sq / (double)n);
        /* The direction check's step (docs/checks.md, "Step size"). */
        s->chosen_step = step_scale * GC_CBRT_EPSILON * fmax(s->rms, 1.0);
        lay_out_steps(s);
        memcpy(theta, m->params, m->param_count * sizeof(double));
    }
    for (size_t k = 0; status == GC_OK && k < s->count; k++) {
        gc_sweep_point *p = &s->points[k];
        status = difference(m, batch, theta, u, info->offset, n, p, err);
        double d = fabs(p->numeric - s->analytic);
        double scale = fabs(p->numeric) + fabs(s->analytic);
        p->rel_error = scale == 0.0 ? 0.0 : d / scale;
    }
    s->best = s->chosen;
    for (size_t k = 0; status == GC_OK && k < s->count; k++)
        if (isfinite(s->points[k].rel_error) &&
            s->points[k].rel_error < s->points[s->best].rel_error)
            s->best = k;
    if (status == GC_OK)
        status = m->loss(m, m->params, batch, &loss, NULL, err);
    free(grad);
    free(theta);
    free(u);
    if (rng)
        gsl_rng_free(rng);
    return status;
}
