/* fingerprint.c - structural hypotheses that name a backprop mistake from
 * values (fingerprint.h).
 *
 * Layouts, as the model interface gives them: a weight tensor of layer l
 * is rows = width_l by cols = width_(l-1), row-major, W[i][j] joining
 * input j to unit i; per-sample values (deltas, activations) are
 * batch x width_l, row-major.  The numeric gradient holds NaN where an
 * element was not checked; every comparison skips those elements.
 */
#include "fingerprint.h"

#include "activation.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every fingerprint names a wrong gradient or update: an error. */
static void start(gc_finding_event *f, const char *id, size_t step,
                  size_t layer, const char *tensor)
{
    gc_finding_init(f, id, GC_SEVERITY_ERROR, step, layer);
    snprintf(f->tensor, sizeof f->tensor, "%s", tensor);
}

/* ---- comparing a prediction ---------------------------------------------- */

/* How well `predicted` and `reference` each match `model`, over the n
 * elements where both predicted and reference are finite:
 * fit = |model - predicted| / (|model| + |predicted|), and plain the same
 * with reference.  Both 0 when no element counts. */
typedef struct {
    double fit, plain;
    size_t elements;
} comparison;

static comparison compare(const double *model, const double *predicted,
                          const double *reference, size_t n)
{
    double dp2 = 0.0, dr2 = 0.0, m2 = 0.0, p2 = 0.0, r2 = 0.0;
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        double m = model[i], p = predicted[i], r = reference[i];
        if (!isfinite(p) || !isfinite(r))
            continue;
        used++;
        dp2 += (m - p) * (m - p);
        dr2 += (m - r) * (m - r);
        m2 += m * m;
        p2 += p * p;
        r2 += r * r;
    }
    comparison c = {0.0, 0.0, used};
    double mp = sqrt(m2) + sqrt(p2), mr = sqrt(m2) + sqrt(r2);
    c.fit = mp > 0.0 ? sqrt(dp2) / mp : 0.0;
    c.plain = mr > 0.0 ? sqrt(dr2) / mr : 0.0;
    return c;
}

/* The prediction rebuilds the model's values (GC_FINGERPRINT_FIT) and
 * explains the mismatch (GC_FINGERPRINT_GAIN); the mismatch itself is
 * past the pass band (a tensor of the full check failed, or no hypothesis
 * is tried). */
static bool explains(comparison c, double pass_below)
{
    return c.elements > 0 && isfinite(c.fit) && isfinite(c.plain) &&
           c.plain > pass_below &&
           c.fit <= GC_FINGERPRINT_FIT &&
           c.fit * GC_FINGERPRINT_GAIN <= c.plain;
}

/* ---- the evidence's shape ------------------------------------------------ */

/* The pass band of the checks; a caller that leaves it 0 gets the fail
 * band, the stricter reading. */
static double pass_band(const gc_full_check_evidence *ev)
{
    return ev->pass_below > 0.0 ? ev->pass_below : ev->fail_above;
}

static bool fails(const gc_full_check_evidence *ev, size_t t)
{
    return ev->checks[t].verdict == GC_VERDICT_FAIL;
}

static size_t failing_count(const gc_full_check_evidence *ev)
{
    size_t n = 0;
    for (size_t t = 0; t < ev->tensor_count; t++)
        n += fails(ev, t);
    return n;
}

static size_t elements_of(const gc_tensor_info *ti)
{
    return ti->rows * ti->cols;
}

static const gc_tensor_info *weight_of(const gc_full_check_evidence *ev,
                                       size_t layer)
{
    for (size_t t = 0; t < ev->tensor_count; t++)
        if (ev->tensors[t].layer == layer &&
            ev->tensors[t].kind == GC_TENSOR_WEIGHT)
            return &ev->tensors[t];
    return NULL;
}

static bool is_square_weight(const gc_tensor_info *ti)
{
    return ti->kind == GC_TENSOR_WEIGHT && ti->rows == ti->cols &&
           ti->rows > 1;
}

/* ---- missing-bias-gradient ----------------------------------------------- */

/* Every failing tensor is a bias whose gradient is exactly 0 while its
 * numeric gradient is not, and no weight tensor fails. */
static bool missing_bias(const gc_full_check_evidence *ev,
                         gc_finding_event *f)
{
    size_t zero = 0, biases = 0, first = 0;
    for (size_t t = 0; t < ev->tensor_count; t++) {
        const gc_check_event *c = &ev->checks[t];
        bool bias = ev->tensors[t].kind == GC_TENSOR_BIAS;
        biases += bias;
        if (!fails(ev, t))
            continue;
        if (!bias || !c->analytic_all_zero || !(c->numeric_norm > 0.0))
            return false;
        if (zero++ == 0)
            first = t;
    }
    if (zero == 0)
        return false;
    const gc_check_event *c = &ev->checks[first];
    start(f, "missing-bias-gradient", ev->step, 0, c->tensor);
    gc_finding_text(f->message, sizeof f->message,
         "%zu of %zu bias gradients are exactly zero while the loss does "
         "change with the biases (numeric |db| = %.3g for %s), and no "
         "weight gradient fails: the backward never computes db, so the "
         "biases never move",
         zero, biases, c->numeric_norm, c->tensor);
    gc_finding_text(f->fix, sizeof f->fix,
         "compute the bias gradient of every layer from its delta: "
         "db_l = (1/B) sum over the batch of dL/dz_l (the column sums of "
         "the delta, averaged), and update b -= lr db with the weights");
    gc_finding_evidence(f, "zero_bias_tensors", (double)zero);
    gc_finding_evidence(f, "bias_tensors", (double)biases);
    gc_finding_evidence(f, "numeric_norm", c->numeric_norm);
    gc_finding_evidence(f, "rel_error", c->rel_error);
    return true;
}

/* ---- batch-sum-not-mean -------------------------------------------------- */

/* Every tensor's gradient is B times the numeric one (B > 1): the
 * per-sample gradients were summed where the loss averages them. */
static bool batch_sum(const gc_full_check_evidence *ev, gc_finding_event *f)
{
    double batch = (double)ev->batch_count;
    if (ev->batch_count < 2 || failing_count(ev) == 0)
        return false;
    /* A model that shows its layers says how its loss reduces; a loss
     * that is the batch sum really has B times the mean's gradient. */
    if (ev->layer_count > 0 && ev->numeric_delta_scale != batch)
        return false;
    double gn = 0.0, nn = 0.0, worst_fit = 0.0, least_plain = INFINITY;
    for (size_t t = 0; t < ev->tensor_count; t++) {
        const gc_tensor_info *ti = &ev->tensors[t];
        size_t n = elements_of(ti);
        const double *g = ev->grad + ti->offset;
        const double *num = ev->numeric + ti->offset;
        double *scaled = malloc(n * sizeof *scaled);
        if (scaled == NULL)
            return false;
        for (size_t i = 0; i < n; i++) {
            scaled[i] = batch * num[i];
            if (isfinite(num[i])) {
                gn += g[i] * num[i];
                nn += num[i] * num[i];
            }
        }
        comparison c = compare(g, scaled, num, n);
        free(scaled);
        /* a tensor whose gradient is 0 both ways says nothing */
        if (c.plain == 0.0 && c.fit == 0.0)
            continue;
        if (!explains(c, pass_band(ev)))
            return false;
        worst_fit = fmax(worst_fit, c.fit);
        least_plain = fmin(least_plain, c.plain);
    }
    if (!(nn > 0.0))
        return false;
    double ratio = gn / nn;
    start(f, "batch-sum-not-mean", ev->step, 0, "");
    gc_finding_text(f->message, sizeof f->message,
         "every gradient is %.4g times the numeric one, and the batch "
         "holds %zu samples: the backward sums the per-sample gradients "
         "where the loss averages them (what is left after dividing by "
         "the batch size: %.2g)", ratio, ev->batch_count, worst_fit);
    gc_finding_text(f->fix, sizeof f->fix,
         "divide the summed gradients by the batch size, "
         "dW = (1/B) sum_b delta_b a_b^T and db = (1/B) sum_b delta_b, "
         "to match a loss that is the batch mean; or make the loss the "
         "batch sum, and lower the learning rate B-fold");
    gc_finding_evidence(f, "gradient_ratio", ratio);
    gc_finding_evidence(f, "batch", batch);
    gc_finding_evidence(f, "fit_error", worst_fit);
    gc_finding_evidence(f, "rel_error", least_plain);
    return true;
}

/* ---- square weight hypotheses -------------------------------------------- */

/* Fills predicted and reference (n x n each) for the square weight tensor
 * ti: what the hypothesis says the model computed, and the numeric
 * gradient it is compared against (NaN where an element is left out).
 * False when the values the hypothesis needs are not shown. */
typedef bool (*square_prediction)(const gc_full_check_evidence *ev,
                                  const gc_tensor_info *ti,
                                  double *predicted, double *reference);

/* How many failing tensors the prediction explains when it explains
 * every one of them (all must be square weights), else 0; the first such
 * tensor's index and comparison go to *first and *first_c. */
static size_t square_weights_explained(const gc_full_check_evidence *ev,
                                       square_prediction predict,
                                       size_t *first, comparison *first_c)
{
    size_t named = 0;
    for (size_t t = 0; t < ev->tensor_count; t++) {
        if (!fails(ev, t))
            continue;
        const gc_tensor_info *ti = &ev->tensors[t];
        size_t count = elements_of(ti);
        if (!is_square_weight(ti))
            return 0;
        double *predicted = malloc(2 * count * sizeof *predicted);
        if (predicted == NULL)
            return 0;
        double *reference = predicted + count;
        bool made = predict(ev, ti, predicted, reference);
        comparison c = made ? compare(ev->grad + ti->offset, predicted,
                                      reference, count)
                            : (comparison){0};
        free(predicted);
        if (!made || !explains(c, pass_band(ev)))
            return 0;
        if (named++ == 0) {
            *first = t;
            *first_c = c;
        }
    }
    return named;
}

/* weight-gradient-transposed: the model's dW is n^T.  Only elements whose
 * mirror was checked too take part. */
static bool predict_transpose(const gc_full_check_evidence *ev,
                              const gc_tensor_info *ti, double *predicted,
                              double *reference)
{
    size_t n = ti->rows;
    const double *num = ev->numeric + ti->offset;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            bool both = isfinite(num[i * n + j]) && isfinite(num[j * n + i]);
            predicted[i * n + j] = both ? num[j * n + i] : NAN;
            reference[i * n + j] = both ? num[i * n + j] : NAN;
        }
    return true;
}

/* weight-gradient-from-output: dW_l built from the layer's own output a_l
 * instead of its input, P[i][j] = s sum_b delta_l[b][i] a_l[b][j], with
 * s = 1 / numeric_delta_scale taking per-sample deltas to the batch
 * loss's gradient (1/B for a mean). */
static bool predict_from_output(const gc_full_check_evidence *ev,
                                const gc_tensor_info *ti, double *predicted,
                                double *reference)
{
    size_t l = ti->layer, n = ti->rows;
    if (ev->layer_count == 0 || l > ev->layer_count ||
        ev->deltas[l] == NULL || ev->activations[l] == NULL ||
        !(ev->numeric_delta_scale > 0.0))
        return false;
    const double *delta = ev->deltas[l], *a_out = ev->activations[l];
    double scale = 1.0 / ev->numeric_delta_scale;
    memset(predicted, 0, n * n * sizeof *predicted);
    for (size_t b = 0; b < ev->batch_count; b++)
        for (size_t i = 0; i < n; i++) {
            double d = scale * delta[b * n + i];
            for (size_t j = 0; j < n; j++)
                predicted[i * n + j] += d * a_out[b * n + j];
        }
    memcpy(reference, ev->numeric + ti->offset, n * n * sizeof *reference);
    return true;
}

static bool transposed(const gc_full_check_evidence *ev, gc_finding_event *f)
{
    size_t first = 0;
    comparison c = {0};
    size_t named = square_weights_explained(ev, predict_transpose, &first,
                                            &c);
    if (named == 0)
        return false;
    const gc_tensor_info *ti = &ev->tensors[first];
    const char *name = ev->checks[first].tensor;
    start(f, "weight-gradient-transposed", ev->step, ti->layer, name);
    gc_finding_text(f->message, sizeof f->message,
         "%s (%zux%zu) is the transpose of the numeric gradient: against "
         "n^T it differs by %.2g, against n by %.2g; its layer's bias "
         "gradient passes, so dW is assembled in the wrong order",
         name, ti->rows, ti->cols, c.fit, c.plain);
    gc_finding_text(f->fix, sizeof f->fix,
         "with z = W a_in + b and W of shape (units, inputs), "
         "dW[i][j] = (1/B) sum_b delta_b[i] a_in,b[j], that is "
         "dW = delta^T a_in (batch-major rows), not a_in^T delta; check "
         "the shape of dW against W's on a layer that is not square");
    gc_finding_evidence(f, "transpose_fit_error", c.fit);
    gc_finding_evidence(f, "rel_error", c.plain);
    gc_finding_evidence(f, "rows", (double)ti->rows);
    gc_finding_evidence(f, "tensors", (double)named);
    return true;
}

static bool from_output(const gc_full_check_evidence *ev, gc_finding_event *f)
{
    size_t first = 0;
    comparison c = {0};
    size_t named = square_weights_explained(ev, predict_from_output, &first,
                                            &c);
    if (named == 0)
        return false;
    const gc_tensor_info *ti = &ev->tensors[first];
    const char *name = ev->checks[first].tensor;
    start(f, "weight-gradient-from-output", ev->step, ti->layer, name);
    gc_finding_text(f->message, sizeof f->message,
         "%s equals delta^T a_out, built from layer %zu's own output "
         "instead of its input (it matches that, from the model's own "
         "delta, to %.2g; the numeric gradient only to %.2g)",
         name, ti->layer, c.fit, c.plain);
    gc_finding_text(f->fix, sizeof f->fix,
         "build each weight gradient from the activations that went INTO "
         "the layer: dW_l = (1/B) delta_l^T a_(l-1), with a_0 the input; "
         "a_l, what the layer put out, only feeds the layer above");
    gc_finding_evidence(f, "output_fit_error", c.fit);
    gc_finding_evidence(f, "rel_error", c.plain);
    gc_finding_evidence(f, "rows", (double)ti->rows);
    gc_finding_evidence(f, "tensors", (double)named);
    return true;
}

/* ---- assembly from the delta -------------------------------------------- */

bool gc_fingerprint_assembled_from_delta(const gc_full_check_evidence *ev,
                                         size_t l, double *fit)
{
    *fit = NAN;
    const gc_tensor_info *w = weight_of(ev, l), *b = NULL;
    for (size_t t = 0; t < ev->tensor_count; t++)
        if (ev->tensors[t].layer == l &&
            ev->tensors[t].kind == GC_TENSOR_BIAS)
            b = &ev->tensors[t];
    if (l == 0 || l > ev->layer_count || w == NULL || b == NULL ||
        ev->deltas[l] == NULL || ev->activations[l - 1] == NULL ||
        !(ev->numeric_delta_scale > 0.0))
        return false;
    size_t rows = w->rows, cols = w->cols, batch = ev->batch_count;
    if (b->rows * b->cols != rows || ev->widths[l] != rows ||
        ev->widths[l - 1] != cols)
        return false;
    double *p = calloc(rows * cols + rows, sizeof *p);
    if (p == NULL)
        return false;
    double *pb = p + rows * cols, s = 1.0 / ev->numeric_delta_scale;
    const double *delta = ev->deltas[l], *a_in = ev->activations[l - 1];
    for (size_t k = 0; k < batch; k++)
        for (size_t i = 0; i < rows; i++) {
            double d = s * delta[k * rows + i];
            pb[i] += d;
            for (size_t j = 0; j < cols; j++)
                p[i * cols + j] += d * a_in[k * cols + j];
        }
    comparison cw = compare(ev->grad + w->offset, p, p, rows * cols);
    comparison cb = compare(ev->grad + b->offset, pb, pb, rows);
    free(p);
    *fit = fmax(cw.fit, cb.fit);
    return cw.elements > 0 && *fit <= GC_FINGERPRINT_FIT;
}

/* ---- delta hypotheses ---------------------------------------------------- */

/* The values of the root layer's delta, per sample: the model's, the
 * numeric one scaled to per-sample, and the layer's z and a. */
typedef struct {
    size_t layer, batch, width, count;
    gc_activation activation;
    const double *model, *z, *a;
    double *numeric;        /* owned: numeric_deltas * scale */
    double *predicted;      /* owned scratch, count */
} delta_values;

static bool delta_values_get(const gc_full_check_evidence *ev, size_t root,
                             delta_values *dv)
{
    memset(dv, 0, sizeof *dv);
    if (root == 0 || root > ev->layer_count || ev->deltas[root] == NULL ||
        ev->numeric_deltas[root] == NULL || ev->activations[root] == NULL ||
        ev->pre_activations[root] == NULL)
        return false;
    dv->layer = root;
    dv->batch = ev->batch_count;
    dv->width = ev->widths[root];
    dv->count = dv->batch * dv->width;
    dv->activation = ev->activation[root];
    dv->model = ev->deltas[root];
    dv->z = ev->pre_activations[root];
    dv->a = ev->activations[root];
    dv->numeric = malloc(dv->count * sizeof(double));
    dv->predicted = malloc(dv->count * sizeof(double));
    if (dv->numeric == NULL || dv->predicted == NULL) {
        free(dv->numeric);
        free(dv->predicted);
        return false;
    }
    for (size_t i = 0; i < dv->count; i++)
        dv->numeric[i] = ev->numeric_deltas[root][i] *
                         ev->numeric_delta_scale;
    return true;
}

static void delta_values_free(delta_values *dv)
{
    free(dv->numeric);
    free(dv->predicted);
}

static bool smooth_elementwise(gc_activation a)
{
    return a == GC_ACT_SIGMOID || a == GC_ACT_TANH;
}

static void weight_name(const gc_full_check_evidence *ev, size_t layer,
                        gc_finding_event *f)
{
    const gc_tensor_info *w = weight_of(ev, layer);
    for (size_t t = 0; w != NULL && t < ev->tensor_count; t++)
        if (&ev->tensors[t] == w)
            snprintf(f->tensor, sizeof f->tensor, "%s", ev->checks[t].tensor);
}

/* The model's delta is the true one times f'(a) / f'(z). */
static bool at_activation(const gc_full_check_evidence *ev, delta_values *dv,
                          gc_finding_event *f)
{
    if (!smooth_elementwise(dv->activation))
        return false;
    for (size_t i = 0; i < dv->count; i++) {
        double at_z = gc_activation_slope(dv->activation, dv->z[i]);
        double at_a = gc_activation_slope(dv->activation, dv->a[i]);
        dv->predicted[i] = at_z != 0.0 ? dv->numeric[i] * at_a / at_z : NAN;
    }
    comparison c = compare(dv->model, dv->predicted, dv->numeric, dv->count);
    if (!explains(c, pass_band(ev)))
        return false;
    const char *name = gc_activation_name(dv->activation);
    start(f, "derivative-at-activation", ev->step, dv->layer, "");
    weight_name(ev, dv->layer, f);
    gc_finding_text(f->message, sizeof f->message,
         "layer %zu's delta is the right one times %s'(a) / %s'(z) (it "
         "matches that to %.2g, the numeric delta only to %.2g): the "
         "backward evaluates the derivative at the activation a = f(z) "
         "instead of at z", dv->layer, name, name, c.fit, c.plain);
    gc_finding_text(f->fix, sizeof f->fix,
         "evaluate f' at the pre-activation: delta_l = (W_(l+1)^T "
         "delta_(l+1)) * f'(z_l); with a kept instead of z, use the form "
         "in a: sigmoid'(z) = a (1 - a), tanh'(z) = 1 - a^2, not "
         "sigmoid(a) (1 - sigmoid(a))");
    gc_finding_evidence(f, "fit_error", c.fit);
    gc_finding_evidence(f, "delta_rel_error", c.plain);
    gc_finding_evidence(f, "layer", (double)dv->layer);
    return true;
}

/* The output layer's delta is the true one divided by f'(z): the loss's
 * dl/da passed on as dl/dz. */
static bool missing_output_derivative(const gc_full_check_evidence *ev,
                                      delta_values *dv, gc_finding_event *f)
{
    if (dv->layer != ev->layer_count || !smooth_elementwise(dv->activation))
        return false;
    for (size_t i = 0; i < dv->count; i++) {
        double slope = gc_activation_slope(dv->activation, dv->z[i]);
        dv->predicted[i] = slope != 0.0 ? dv->numeric[i] / slope : NAN;
    }
    comparison c = compare(dv->model, dv->predicted, dv->numeric, dv->count);
    if (!explains(c, pass_band(ev)))
        return false;
    const char *name = gc_activation_name(dv->activation);
    start(f, "output-delta-missing-derivative", ev->step, dv->layer, "");
    weight_name(ev, dv->layer, f);
    gc_finding_text(f->message, sizeof f->message,
         "the output delta is the right one divided by %s'(z) (it matches "
         "that to %.2g, the numeric delta only to %.2g): the backward "
         "passes the loss's dl/da on as dl/dz and leaves out the output "
         "activation's derivative", name, c.fit, c.plain);
    gc_finding_text(f->fix, sizeof f->fix,
         "multiply by the output activation's derivative: under MSE "
         "dL/dz = (a - y) * f'(z), for sigmoid (a - y) a (1 - a); or pair "
         "a sigmoid output with binary cross-entropy, whose delta is "
         "exactly a - y");
    gc_finding_evidence(f, "fit_error", c.fit);
    gc_finding_evidence(f, "delta_rel_error", c.plain);
    return true;
}

bool gc_rows_look_like_softmax(const double *a, size_t rows, size_t k)
{
    if (a == NULL || k < 2)
        return false;
    for (size_t r = 0; r < rows; r++) {
        double sum = 0.0;
        for (size_t i = 0; i < k; i++) {
            if (!(a[r * k + i] >= 0.0 && a[r * k + i] <= 1.0))
                return false;
            sum += a[r * k + i];
        }
        if (fabs(sum - 1.0) > GC_SOFTMAX_ROW_TOLERANCE)
            return false;
    }
    return true;
}

/* The one-hot y with a - delta = y for one row; false if there is none. */
static bool one_hot_target(const double *a, const double *delta, size_t k,
                           double *y)
{
    size_t ones = 0;
    for (size_t i = 0; i < k; i++) {
        double v = a[i] - delta[i];
        if (fabs(v - 1.0) <= GC_ONE_HOT_TOLERANCE) {
            y[i] = 1.0;
            ones++;
        } else if (fabs(v) <= GC_ONE_HOT_TOLERANCE) {
            y[i] = 0.0;
        } else {
            return false;
        }
    }
    return ones == 1;
}

/* The model's output delta is a - y for a one-hot y (softmax with
 * categorical cross-entropy), while the numeric delta is that of
 * per-output binary cross-entropy over the softmax:
 * J^T g with g_i = (a_i - y_i) / (a_i (1 - a_i)). */
static bool softmax_bce(const gc_full_check_evidence *ev, delta_values *dv,
                        gc_finding_event *f)
{
    size_t k = dv->width;
    if (dv->layer != ev->layer_count ||
        !gc_rows_look_like_softmax(dv->a, dv->batch, k))
        return false;
    double *y = malloc(2 * k * sizeof *y);
    if (y == NULL)
        return false;
    double *g = y + k;
    bool one_hot = true;
    for (size_t b = 0; b < dv->batch && one_hot; b++) {
        const double *a = dv->a + b * k;
        double *p = dv->predicted + b * k;
        one_hot = one_hot_target(a, dv->model + b * k, k, y);
        double dot = 0.0;
        bool edge = false;
        for (size_t i = 0; one_hot && i < k; i++) {
            double curvature = a[i] * (1.0 - a[i]);
            edge = edge || !(curvature > 0.0);
            g[i] = curvature > 0.0 ? (a[i] - y[i]) / curvature : 0.0;
            dot += a[i] * g[i];
        }
        for (size_t i = 0; one_hot && i < k; i++)
            p[i] = edge ? NAN : a[i] * (g[i] - dot);
    }
    free(y);
    if (!one_hot)
        return false;
    /* here the prediction is of the numeric delta, the reference the
     * model's: compare(numeric, bce delta, model delta) */
    comparison c = compare(dv->numeric, dv->predicted, dv->model, dv->count);
    if (!explains(c, pass_band(ev)))
        return false;
    start(f, "softmax-bce-mismatch", ev->step, dv->layer, "");
    weight_name(ev, dv->layer, f);
    gc_finding_text(f->message, sizeof f->message,
         "the output delta is a - y, the delta of softmax with "
         "categorical cross-entropy, but the loss is per-output binary "
         "cross-entropy over the softmax (its gradient matches the "
         "numeric delta to %.2g; a - y only to %.2g)", c.fit, c.plain);
    gc_finding_text(f->fix, sizeof f->fix,
         "with a softmax output use categorical cross-entropy, "
         "l = -sum_k y_k log a_k, whose delta is a - y; or keep binary "
         "cross-entropy with sigmoid outputs (one per class, not summing "
         "to 1); or backpropagate this loss through the full softmax "
         "Jacobian, dL/dz = s * (g - s.g), g_i = (a_i - y_i)/(a_i(1-a_i))");
    gc_finding_evidence(f, "fit_error", c.fit);
    gc_finding_evidence(f, "delta_rel_error", c.plain);
    return true;
}

static bool delta_hypotheses(const gc_full_check_evidence *ev, size_t root,
                             gc_finding_event *f)
{
    /* the layers above the root have right deltas: their tensors must
     * pass, or something besides the root's delta is wrong */
    for (size_t t = 0; t < ev->tensor_count; t++)
        if (fails(ev, t) && ev->tensors[t].layer > root)
            return false;
    delta_values dv;
    if (!delta_values_get(ev, root, &dv))
        return false;
    bool named = at_activation(ev, &dv, f) ||
                 missing_output_derivative(ev, &dv, f) ||
                 softmax_bce(ev, &dv, f);
    delta_values_free(&dv);
    return named;
}

/* ---- entry points -------------------------------------------------------- */

bool gc_fingerprint_full_check(const gc_full_check_evidence *ev, size_t root,
                               gc_finding_event *out)
{
    if (failing_count(ev) == 0)
        return false;
    /* The hypotheses exclude one another (each rebuilds the model's
     * values a different way); the cheapest are tried first. */
    return missing_bias(ev, out) || batch_sum(ev, out) ||
           transposed(ev, out) || from_output(ev, out) ||
           delta_hypotheses(ev, root, out);
}

bool gc_fingerprint_update(const gc_update_evidence *u, gc_finding_event *out)
{
    if (!(u->gradient_norm > 0.0) || !(u->update_norm > 0.0) ||
        !isfinite(u->gradient_dot_update))
        return false;
    double cosine = u->gradient_dot_update /
                    (u->gradient_norm * u->update_norm);
    if (!(cosine > GC_ASCENT_COSINE) || !isfinite(u->loss_before) ||
        !isfinite(u->loss_after) || !(u->loss_after > u->loss_before))
        return false;
    start(out, "update-ascent", u->step, 0, "");
    gc_finding_text(out->message, sizeof out->message,
         "the update at step %zu moved the parameters along the gradient "
         "(cosine %+.3f with +g), so the batch loss rose from %.6g to "
         "%.6g; the gradient can be right and training still climbs",
         u->step, cosine, u->loss_before, u->loss_after);
    gc_finding_text(out->fix, sizeof out->fix,
         "step against the gradient: theta = theta - lr * dL/dtheta "
         "(check the sign where the update is applied, and that the "
         "learning rate is positive)");
    gc_finding_evidence(out, "cosine", cosine);
    gc_finding_evidence(out, "loss_before", u->loss_before);
    gc_finding_evidence(out, "loss_after", u->loss_after);
    gc_finding_evidence(out, "update_norm", u->update_norm);
    gc_finding_evidence(out, "gradient_norm", u->gradient_norm);
    return true;
}

bool gc_fingerprint_trap(const gc_trap_event *trap, gc_finding_event *out)
{
    bool non_finite = trap->kind == GC_TRAP_NAN ||
                      trap->kind == GC_TRAP_INF ||
                      trap->kind == GC_TRAP_DIVIDE_BY_ZERO;
    /* the values are probabilities, and one of them sits on an edge
     * (NaN statistics, when the loss logged none, fail both tests) */
    bool probabilities = trap->input_min >= 0.0 && trap->input_max <= 1.0;
    bool at_edge = probabilities &&
                   (trap->input_min == 0.0 || trap->input_max == 1.0);
    if (!trap->fatal || trap->op != GC_OP_LOSS || !non_finite || !at_edge)
        return false;
    start(out, "unclamped-log", trap->step, trap->layer, "");
    gc_finding_text(out->message, sizeof out->message,
         "the loss went non-finite (%s) at step %zu with a probability of "
         "exactly %s among the values it took the log of (min %.3g, max "
         "%.3g): log(0) = -Inf, and 0 * -Inf = NaN",
         gc_trap_kind_name(trap->kind), trap->step,
         trap->input_min == 0.0 && trap->input_max == 1.0
             ? "0 and of exactly 1"
             : (trap->input_min == 0.0 ? "0" : "1"), trap->input_min,
         trap->input_max);
    gc_finding_text(out->fix, sizeof out->fix,
         "compute the loss from the logits, not the probabilities: "
         "binary cross-entropy as softplus(z) - y z, categorical as "
         "logsumexp(z) - z_y; or clamp a to [eps, 1 - eps] (eps ~ 1e-12) "
         "before the log, and take the gradient of the clamped loss");
    gc_finding_evidence(out, "input_min", trap->input_min);
    gc_finding_evidence(out, "input_max", trap->input_max);
    gc_finding_evidence(out, "sample", (double)trap->sample);
    return true;
}
