/* trace.c - one sample of one step, layer by layer (trace.h).
 *
 * Notation for sample b of a batch of B: layer l has z_l = W_l a_(l-1) +
 * b_l (width n_l) and a_l = f_l(z_l); delta_l = dl_b/dz_l, the derivative
 * of the sample's own loss l_b; g = dl_b/da_L.
 */
#include "trace.h"

#include "activation.h"
#include "check.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

double gc_trace_rel_error(const double *x, const double *y, size_t n)
{
    double d = 0.0, nx = 0.0, ny = 0.0;
    for (size_t i = 0; i < n; i++) {
        d += (x[i] - y[i]) * (x[i] - y[i]);
        nx += x[i] * x[i];
        ny += y[i] * y[i];
    }
    double denominator = sqrt(nx) + sqrt(ny);
    return denominator == 0.0 ? 0.0 : sqrt(d) / denominator;
}

static double norm(const double *x, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return sqrt(s);
}

static size_t smaller(size_t a, size_t b) { return a < b ? a : b; }

/* Every full-width row of the sample that the trace needs, one block per
 * layer: z, a, the model's delta and the numeric delta (n_l each). */
typedef struct {
    double *z, *a, *delta, *numeric;
} sample_rows;

/* The step of a central difference at value x, as the checks take it
 * (docs/checks.md): eps^(1/3) balances the h^2 truncation error against
 * the eps/h rounding error; the floor of 1 keeps it off zero. */
static double step_at(double x, double step_scale)
{
    return step_scale * GC_CBRT_EPSILON * fmax(fabs(x), 1.0);
}

/* Numeric delta of every unit of layer l for the sample, from central
 * differences of its share of the loss; NaN where the step crossed a
 * kink. */
static gc_status numeric_deltas(gc_model *m, size_t l, size_t sample,
                                double scale, double step_scale,
                                const double *z, size_t width, double *out,
                                size_t *evaluations, gc_error *err)
{
    const gc_layer_view *v = m->layers;
    for (size_t i = 0; i < width; i++) {
        double h = step_at(z[i], step_scale), plus, minus;
        uint64_t p_plus, p_minus;
        gc_status status = v->sample_loss_unit(m, l, sample, i, z[i] + h,
                                               &plus, &p_plus, err);
        if (status == GC_OK)
            status = v->sample_loss_unit(m, l, sample, i, z[i] - h, &minus,
                                         &p_minus, err);
        if (status != GC_OK)
            return status;
        *evaluations += 2;
        out[i] = p_plus != p_minus ? NAN : scale * (plus - minus) / (2 * h);
    }
    return GC_OK;
}

/* The forward values of layer l: the shown units, f'(z), norms. */
static void trace_forward(gc_model *m, size_t l, const sample_rows *row,
                          gc_trace_layer *t)
{
    const gc_layer_view *v = m->layers;
    t->layer = l;
    t->width = v->width(m, l);
    t->shown = smaller(t->width, GC_TRACE_UNITS);
    const char *name = v->activation_name(m, l);
    snprintf(t->activation, sizeof t->activation, "%s", name ? name : "?");
    gc_activation f;
    bool known = name != NULL && gc_activation_from_name(name, &f);
    t->softmax = known && f == GC_ACT_SOFTMAX;
    for (size_t i = 0; i < t->shown; i++) {
        t->z[i] = row->z[i];
        t->a[i] = row->a[i];
        t->slope[i] = known && !t->softmax
                      ? gc_activation_slope(f, row->z[i]) : NAN;
    }
    t->z_norm = norm(row->z, t->width);
    t->a_norm = norm(row->a, t->width);
}

/* Hidden layer l: chain = (W_(l+1)^T delta_(l+1)) * f'(z_l), from the
 * model's own delta above and its own weights. */
static void trace_chain(const gc_model *m, size_t l, const sample_rows *rows,
                        gc_trace_layer *t, double *scratch)
{
    const sample_rows *up = &rows[l + 1], *here = &rows[l];
    const gc_tensor_info *w = NULL;
    for (size_t k = 0; k < m->tensor_count; k++)
        if (m->tensors[k].layer == l + 1 &&
            m->tensors[k].kind == GC_TENSOR_WEIGHT)
            w = &m->tensors[k];
    gc_activation f;
    if (w == NULL || w->cols != t->width || up->delta == NULL ||
        here->delta == NULL || t->softmax ||
        !gc_activation_from_name(t->activation, &f))
        return;
    const double *W = m->params + w->offset;
    for (size_t i = 0; i < t->width; i++) {
        double s = 0.0;
        for (size_t j = 0; j < w->rows; j++)
            s += W[j * w->cols + i] * up->delta[j];
        scratch[i] = s * gc_activation_slope(f, here->z[i]);
    }
    t->have_chain = true;
    memcpy(t->chain, scratch, t->shown * sizeof(double));
    t->chain_rel_error = gc_trace_rel_error(here->delta, scratch, t->width);
}

/* Output layer: g = dl/da, and the products the output delta can be. */
static gc_status trace_output(gc_model *m, size_t sample,
                              const sample_rows *row, gc_trace_layer *t,
                              double *g, double *scratch, gc_error *err)
{
    const gc_layer_view *v = m->layers;
    if (v->output_loss_gradient == NULL)
        return GC_OK;
    gc_status status = v->output_loss_gradient(m, sample, g, err);
    if (status != GC_OK)
        return status;
    size_t n = t->width;
    t->have_g = true;
    double *diagonal = scratch, *jacobian = scratch + n;
    if (t->softmax) {
        /* J = diag(s) - s s^T, so J^T g = s * (g - s.g); its diagonal
         * alone gives s(1-s) g. */
        double sg = 0.0;
        for (size_t i = 0; i < n; i++)
            sg += row->a[i] * g[i];
        t->s_dot_g = sg;
        for (size_t i = 0; i < n; i++) {
            diagonal[i] = row->a[i] * (1.0 - row->a[i]) * g[i];
            jacobian[i] = row->a[i] * (g[i] - sg);
        }
    } else {
        gc_activation f;
        bool known = gc_activation_from_name(t->activation, &f);
        t->s_dot_g = NAN;
        for (size_t i = 0; i < n; i++) {
            diagonal[i] = NAN;
            jacobian[i] = known ? gc_activation_slope(f, row->z[i]) * g[i]
                                : NAN;
        }
    }
    t->diagonal_sum = t->jacobian_sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        t->diagonal_sum += diagonal[i];
        t->jacobian_sum += jacobian[i];
    }
    for (size_t i = 0; i < t->shown; i++) {
        t->g[i] = g[i];
        t->diagonal[i] = diagonal[i];
        t->jacobian[i] = jacobian[i];
    }
    t->diagonal_rel_error = t->jacobian_rel_error = NAN;
    if (row->delta != NULL) {
        if (t->softmax)
            t->diagonal_rel_error =
                gc_trace_rel_error(row->delta, diagonal, n);
        t->jacobian_rel_error = gc_trace_rel_error(row->delta, jacobian, n);
    }
    return GC_OK;
}

/* The layer view's part: rows of every layer, numeric deltas, chain and
 * output products.  `block` has room for 4 n_l doubles per layer plus
 * 3 max_width of scratch. */
static gc_status trace_layers(gc_model *m, const gc_batch *batch,
                              size_t sample, double step_scale,
                              gc_trace *trace, double *block, gc_error *err)
{
    const gc_layer_view *v = m->layers;
    size_t L = v->layer_count, B = batch->count;
    sample_rows rows[GC_MAX_LAYERS + 2];
    memset(rows, 0, sizeof rows);
    double *next = block;
    size_t max_width = 0;
    for (size_t l = 1; l <= L; l++) {
        size_t n = v->width(m, l);
        max_width = n > max_width ? n : max_width;
        rows[l].z = next;
        rows[l].a = next + n;
        rows[l].numeric = next + 3 * n;
        memcpy(rows[l].z, v->pre_activations(m, l) + sample * n,
               n * sizeof(double));
        memcpy(rows[l].a, v->activations(m, l) + sample * n,
               n * sizeof(double));
        const double *d = v->deltas ? v->deltas(m, l) : NULL;
        if (d != NULL) {
            rows[l].delta = next + 2 * n;
            memcpy(rows[l].delta, d + sample * n, n * sizeof(double));
        }
        next += 4 * n;
    }
    double *scratch = next;
    trace->layer_count = L;
    trace->loss_is_batch_mean = v->loss_is_batch_mean;
    double scale = v->loss_is_batch_mean ? (double)B : 1.0;
    bool numeric = trace->have_numeric_deltas;
    gc_status status = GC_OK;
    if (numeric) {
        double share;
        status = v->sample_loss_unit(m, L, sample, 0, rows[L].z[0], &share,
                                     NULL, err);
        if (status != GC_OK)
            return status;
        trace->sample_loss = scale * share;
    }
    if (v->loss_name != NULL)
        snprintf(trace->loss_name, sizeof trace->loss_name, "%s",
                 v->loss_name(m));
    for (size_t l = 1; l <= L && status == GC_OK; l++) {
        gc_trace_layer *t = &trace->layers[l];
        trace_forward(m, l, &rows[l], t);
        t->have_numeric_delta = numeric;
        if (numeric)
            status = numeric_deltas(m, l, sample, scale, step_scale,
                                    rows[l].z, t->width, rows[l].numeric,
                                    &trace->loss_evaluations, err);
        else
            for (size_t i = 0; i < t->width; i++)
                rows[l].numeric[i] = NAN;
        if (status != GC_OK)
            break;
        memcpy(t->numeric_delta, rows[l].numeric, t->shown * sizeof(double));
        t->numeric_delta_norm = numeric ? norm(rows[l].numeric, t->width)
                                        : NAN;
        t->have_delta = rows[l].delta != NULL;
        t->delta_rel_error = t->delta_sum = NAN;
        if (t->have_delta) {
            memcpy(t->delta, rows[l].delta, t->shown * sizeof(double));
            t->delta_norm = norm(rows[l].delta, t->width);
            t->delta_sum = 0.0;
            for (size_t i = 0; i < t->width; i++)
                t->delta_sum += rows[l].delta[i];
            if (numeric)
                t->delta_rel_error = gc_trace_rel_error(
                    rows[l].delta, rows[l].numeric, t->width);
        }
        if (l < L)
            trace_chain(m, l, rows, t, scratch);
        else
            status = trace_output(m, sample, &rows[l], t, scratch,
                                  scratch + max_width, err);
    }
    return status;
}

/* The indices of the `want` entries of g (n values) of largest |g|, in
 * increasing index order; ties go to the lower index.  want is small
 * (GC_TRACE_ENTRIES), so one pass with an insertion list is enough. */
static void pick_largest(const double *g, size_t n, size_t want,
                         size_t *picked)
{
    size_t have = 0;
    for (size_t i = 0; i < n; i++) {
        double v = fabs(g[i]);
        if (isnan(v))
            v = INFINITY;   /* a NaN gradient is the first thing to see */
        size_t at = have;
        while (at > 0 && fabs(g[picked[at - 1]]) < v)
            at--;
        if (at >= want)
            continue;
        size_t end = have < want ? have : want - 1;
        memmove(picked + at + 1, picked + at, (end - at) * sizeof *picked);
        picked[at] = i;
        if (have < want)
            have++;
    }
    for (size_t i = 1; i < have; i++)
        for (size_t j = i; j > 0 && picked[j - 1] > picked[j]; j--) {
            size_t t = picked[j];
            picked[j] = picked[j - 1];
            picked[j - 1] = t;
        }
}

/* The model's gradient of each tensor, and central differences of the
 * batch loss for the entries shown, at a copy of the parameters. */
static gc_status trace_tensors(gc_model *m, const gc_batch *batch,
                               const double *grad, double step_scale,
                               gc_trace *trace, double *theta, gc_error *err)
{
    memcpy(theta, m->params, m->param_count * sizeof(double));
    size_t count = smaller(m->tensor_count, 2 * GC_MAX_LAYERS);
    trace->tensor_count = count;
    trace->tensors_left_out = m->tensor_count - count;
    for (size_t t = 0; t < count; t++) {
        const gc_tensor_info *info = &m->tensors[t];
        gc_trace_tensor *out = &trace->tensors[t];
        snprintf(out->name, sizeof out->name, "%s", info->name);
        out->kind = info->kind;
        out->layer = info->layer;
        out->rows = info->rows;
        out->cols = info->cols;
        size_t all = info->rows * info->cols;
        const double *g = grad + info->offset;
        out->analytic_norm = norm(g, all);
        out->largest = info->kind == GC_TENSOR_WEIGHT && info->cols > 1;
        out->shown = smaller(all, out->largest ? GC_TRACE_ENTRIES
                                               : GC_TRACE_UNITS);
        size_t picked[GC_TRACE_SHOWN_MAX];
        if (out->largest)
            pick_largest(g, all, out->shown, picked);
        else
            for (size_t i = 0; i < out->shown; i++)
                picked[i] = i;
        for (size_t e = 0; e < out->shown; e++) {
            size_t k = info->offset + picked[e];
            out->row[e] = picked[e] / info->cols;
            out->col[e] = picked[e] % info->cols;
            double x = theta[k], h = step_at(x, step_scale);
            double plus, minus;
            uint64_t p_plus, p_minus;
            theta[k] = x + h;
            gc_status status = m->loss(m, theta, batch, &plus, &p_plus, err);
            theta[k] = x - h;
            if (status == GC_OK)
                status = m->loss(m, theta, batch, &minus, &p_minus, err);
            theta[k] = x;
            if (status != GC_OK)
                return status;
            trace->loss_evaluations += 2;
            out->analytic[e] = grad[k];
            out->numeric[e] = p_plus != p_minus ? NAN
                                                : (plus - minus) / (2 * h);
        }
        out->shown_rel_error = gc_trace_rel_error(out->analytic,
                                                  out->numeric, out->shown);
    }
    return GC_OK;
}

gc_status gc_trace_compute(gc_model *m, const gc_batch *batch, size_t step,
                           size_t sample, double step_scale, gc_trace *trace,
                           gc_error *err)
{
    memset(trace, 0, sizeof *trace);
    if (sample >= batch->count)
        return gc_error_set(err, GC_EINVAL,
                            "no sample %zu: the batch of step %zu has %zu "
                            "(0 to %zu)", sample, step, batch->count,
                            batch->count - 1);
    trace->step = step;
    trace->sample = sample;
    trace->batch_count = batch->count;
    trace->label = batch->labels[sample];
    trace->step_scale = step_scale;
    trace->sample_loss = NAN;
    const gc_layer_view *v = m->layers;
    trace->have_layers = v != NULL;
    trace->have_numeric_deltas = v != NULL && v->sample_loss_unit != NULL;
    size_t block = m->param_count * 2;
    if (trace->have_layers) {
        size_t widths = 0, max_width = 0;
        for (size_t l = 1; l <= v->layer_count; l++) {
            widths += v->width(m, l);
            if (v->width(m, l) > max_width)
                max_width = v->width(m, l);
        }
        size_t needed = 4 * widths + 3 * max_width;
        block = needed > block ? needed : block;
    }
    double *grad = malloc(m->param_count * sizeof *grad);
    double *work = malloc(block * sizeof *work);
    if (grad == NULL || work == NULL) {
        free(grad);
        free(work);
        return gc_error_set(err, GC_ENOMEM, "no memory for the trace");
    }
    gc_status status = m->gradient(m, m->params, batch, &trace->batch_loss,
                                   grad, err);
    trace->loss_evaluations = 1;
    /* The layer view's values are those of its last forward(): run it
     * at the live parameters (it leaves the deltas of the gradient). */
    double loss;
    if (status == GC_OK && trace->have_layers)
        status = v->forward(m, m->params, batch, &loss, err);
    if (status == GC_OK && trace->have_layers)
        status = trace_layers(m, batch, sample, step_scale, trace, work,
                              err);
    if (status == GC_OK)
        status = trace_tensors(m, batch, grad, step_scale, trace, work, err);
    /* Leave the model's state at the live parameters. */
    if (status == GC_OK)
        status = m->loss(m, m->params, batch, &loss, NULL, err);
    free(grad);
    free(work);
    return status;
}
