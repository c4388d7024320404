/* health.c - training-health rules (health.h). */
#include "health.h"

#include "activation.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Keys "id|what" a run can report: ten ids, each per network, per layer
 * or per tensor (two per layer). */
#define REPORTED_MAX (10 * (2 * GC_MAX_LAYERS + 1))
#define KEY_SIZE 80

/* The peak of each saturating activation's derivative (at z = 0). */
#define SIGMOID_PEAK_SLOPE 0.25
#define TANH_PEAK_SLOPE 1.0

/* A target is missed by a saturated unit when |a - y| exceeds half the
 * unit range of the targets (0 and 1). */
#define WRONG_SIDE_DISTANCE 0.5

typedef struct {
    double key;
    size_t row;
} row_key;

/* Distinct tensors named in the check-rounding counts (two per layer). */
#define ROUNDING_TENSORS_MAX (2 * GC_MAX_LAYERS)

typedef struct {
    size_t checks;
    gc_check_event first, first_larger;
    double worst;
    char tensors[ROUNDING_TENSORS_MAX][32];
    size_t tensor_count;
} rounding_counts;

typedef struct {
    size_t direction_checks, direction_kinked;
    size_t element_checks, elements_compared, elements_excluded;
    size_t first_step;
    bool seen;
} kink_counts;

struct gc_health {
    gc_health_shape shape;
    /* unit counters since the last decision */
    size_t *active[GC_MAX_LAYERS + 1];      /* samples with z > 0 */
    size_t *saturated[GC_MAX_LAYERS + 1];   /* samples saturated */
    size_t unit_samples;
    size_t wrong_side_pairs;                /* output layer */
    /* inputs, until decided */
    double *input_sum_squares, *input_abs_max;
    size_t input_samples;
    bool inputs_decided;
    /* windows */
    size_t windows;
    double first_losses[GC_FLAT_WINDOWS];
    bool started;                      /* step 0 was measured */
    double start_loss, start_weight_norm, start_ratio, start_descent;
    size_t start_ratio_layer;
    double log_ratios[GC_GRADIENT_WINDOWS];   /* newest last */
    size_t vanishing_streak, exploding_streak;
    bool rows_done;
    /* identical rows */
    row_key *keys;
    size_t key_capacity;
    unsigned char *duplicate;
    rounding_counts rounding;
    /* kinks per layer */
    kink_counts kinks[GC_MAX_LAYERS + 1];
    /* reported keys */
    char reported[REPORTED_MAX][KEY_SIZE];
    size_t reported_count;
};

/* ---- allocation ---------------------------------------------------------- */

gc_health *gc_health_alloc(const gc_health_shape *shape)
{
    gc_health *h = calloc(1, sizeof *h);
    if (h == NULL)
        return NULL;
    h->shape = *shape;
    if (h->shape.layer_count > GC_MAX_LAYERS)
        h->shape.layer_count = GC_MAX_LAYERS;
    bool ok = true;
    size_t widest = shape->widths[0];
    for (size_t l = 1; l <= h->shape.layer_count; l++) {
        size_t n = shape->widths[l];
        if (n > widest)
            widest = n;
        h->active[l] = calloc(n ? n : 1, sizeof(size_t));
        h->saturated[l] = calloc(n ? n : 1, sizeof(size_t));
        ok = ok && h->active[l] && h->saturated[l];
    }
    size_t features = shape->widths[0] ? shape->widths[0] : 1;
    h->input_sum_squares = calloc(features, sizeof(double));
    h->input_abs_max = calloc(features, sizeof(double));
    h->key_capacity = widest ? widest : 1;
    h->keys = malloc(h->key_capacity * sizeof *h->keys);
    h->duplicate = malloc(h->key_capacity);
    if (!ok || !h->input_sum_squares || !h->input_abs_max || !h->keys ||
        !h->duplicate) {
        gc_health_free(h);
        return NULL;
    }
    return h;
}

void gc_health_free(gc_health *h)
{
    if (h == NULL)
        return;
    for (size_t l = 0; l <= GC_MAX_LAYERS; l++) {
        free(h->active[l]);
        free(h->saturated[l]);
    }
    free(h->input_sum_squares);
    free(h->input_abs_max);
    free(h->keys);
    free(h->duplicate);
    free(h);
}

/* ---- findings ------------------------------------------------------------ */

/* Starts finding (id, what) unless it was reported or out is full. */
static gc_finding_event *begin(gc_health *h, const char *id,
                               const char *what, gc_severity severity,
                               size_t step, size_t layer,
                               gc_finding_event *out, size_t *n, size_t max)
{
    char key[KEY_SIZE];
    snprintf(key, sizeof key, "%s|%s", id, what);
    if (*n >= max)
        return NULL;
    for (size_t i = 0; i < h->reported_count; i++)
        if (strcmp(h->reported[i], key) == 0)
            return NULL;
    if (h->reported_count < REPORTED_MAX)
        snprintf(h->reported[h->reported_count++], KEY_SIZE, "%s", key);
    gc_finding_event *f = &out[(*n)++];
    gc_finding_init(f, id, severity, step, layer);
    return f;
}

static const char *layer_key(size_t layer, char *buffer, size_t size)
{
    snprintf(buffer, size, "layer%zu", layer);
    return buffer;
}

/* ---- per-step observation ------------------------------------------------ */

bool gc_health_saturated(gc_activation activation, double z)
{
    double peak;
    if (activation == GC_ACT_SIGMOID)
        peak = SIGMOID_PEAK_SLOPE;
    else if (activation == GC_ACT_TANH)
        peak = TANH_PEAK_SLOPE;
    else
        return false;
    return gc_activation_slope(activation, z) <
           GC_SATURATION_SLOPE_FRACTION * peak;
}

static bool relu_like(gc_activation a)
{
    return a == GC_ACT_RELU || a == GC_ACT_LEAKY_RELU;
}

static bool saturating(gc_activation a)
{
    return a == GC_ACT_SIGMOID || a == GC_ACT_TANH;
}

static void observe_inputs(gc_health *h, const double *x, size_t count)
{
    size_t features = h->shape.widths[0];
    if (x == NULL || h->inputs_decided || h->input_samples >= GC_INPUT_SAMPLES)
        return;
    for (size_t b = 0; b < count; b++) {
        const double *row = x + b * features;
        for (size_t j = 0; j < features; j++) {
            h->input_sum_squares[j] += row[j] * row[j];
            h->input_abs_max[j] = fmax(h->input_abs_max[j], fabs(row[j]));
        }
    }
    h->input_samples += count;
}

/* One layer's pre-activations, count x width. */
static void observe_layer(gc_health *h, size_t l, const double *z,
                          size_t count, const double *targets)
{
    gc_activation act = h->shape.activation[l];
    size_t width = h->shape.widths[l];
    bool output = l == h->shape.layer_count;
    if (relu_like(act)) {
        for (size_t k = 0; k < count * width; k++)
            h->active[l][k % width] += z[k] > 0.0;
        return;
    }
    if (!saturating(act))
        return;
    for (size_t k = 0; k < count * width; k++) {
        if (!gc_health_saturated(act, z[k]))
            continue;
        h->saturated[l][k % width]++;
        if (output && targets != NULL &&
            fabs(gc_activation_value(act, z[k]) - targets[k]) >
                WRONG_SIDE_DISTANCE)
            h->wrong_side_pairs++;
    }
}

void gc_health_observe_batch(gc_health *h, const gc_health_batch *b)
{
    observe_inputs(h, b->x, b->count);
    bool any = false;
    for (size_t l = 1; l <= h->shape.layer_count; l++) {
        if (b->z[l] == NULL)
            continue;
        observe_layer(h, l, b->z[l], b->count, b->targets);
        any = true;
    }
    if (any)
        h->unit_samples += b->count;
}

/* ---- unit rules ---------------------------------------------------------- */

static size_t dead_relu(gc_health *h, size_t step, size_t l,
                        gc_finding_event *out, size_t max)
{
    size_t width = h->shape.widths[l], dead = 0, first = 0;
    for (size_t i = 0; i < width; i++)
        if (h->active[l][i] == 0 && dead++ == 0)
            first = i;
    double fraction = width ? (double)dead / (double)width : 0.0;
    if (fraction < GC_DEAD_UNIT_FRACTION)
        return 0;
    size_t n = 0;
    char what[16];
    gc_finding_event *f = begin(h, "dead-relu", layer_key(l, what, sizeof what),
                                GC_SEVERITY_WARNING, step, l, out, &n, max);
    if (f == NULL)
        return 0;
    snprintf(f->tensor, sizeof f->tensor, "layer%zu.W", l);
    bool leaky = h->shape.activation[l] == GC_ACT_LEAKY_RELU;
    gc_finding_text(f->message, sizeof f->message,
         "%zu of %zu %s units of layer %zu had z > 0 on none of the last "
         "%zu samples; %s, so the check passes on them trivially",
         dead, width, gc_activation_name(h->shape.activation[l]), l,
         h->unit_samples, leaky
             ? "their gradient is only the leak (0.01 of it)"
             : "their gradient rows are exactly 0, and so are the finite "
               "differences");
    gc_finding_text(f->fix, sizeof f->fix, "%s",
         leaky ? "a leaky unit with z <= 0 on every input learns 100 times "
                 "slower than a live one: lower the learning rate, "
                 "initialise with He (N(0, 2/fan_in)) and a small positive "
                 "bias (0.01); check the inputs are scaled"
               : "a relu unit with z <= 0 on every input gets no gradient "
                 "and never recovers: lower the learning rate, initialise "
                 "with He (N(0, 2/fan_in)) and a small positive bias "
                 "(0.01), or use leaky-relu; check the inputs are scaled");
    gc_finding_evidence(f, "dead_units", (double)dead);
    gc_finding_evidence(f, "units", (double)width);
    gc_finding_evidence(f, "dead_fraction", fraction);
    gc_finding_evidence(f, "samples", (double)h->unit_samples);
    gc_finding_evidence(f, "first_dead_unit", (double)first);
    return n;
}

static size_t saturated_hidden(gc_health *h, size_t step, size_t l,
                               gc_finding_event *out, size_t max)
{
    size_t width = h->shape.widths[l], count = 0, first = 0;
    double needed = GC_SATURATED_SAMPLE_FRACTION * (double)h->unit_samples;
    for (size_t i = 0; i < width; i++)
        if ((double)h->saturated[l][i] >= needed && count++ == 0)
            first = i;
    double fraction = width ? (double)count / (double)width : 0.0;
    if (fraction < GC_SATURATED_UNIT_FRACTION)
        return 0;
    size_t n = 0;
    char what[16];
    gc_finding_event *f = begin(h, "saturated-units",
                                layer_key(l, what, sizeof what),
                                GC_SEVERITY_WARNING, step, l, out, &n, max);
    if (f == NULL)
        return 0;
    snprintf(f->tensor, sizeof f->tensor, "layer%zu.W", l);
    gc_finding_text(f->message, sizeof f->message,
         "%zu of %zu %s units of layer %zu were saturated (derivative below "
         "%g of its peak) on at least %.0f%% of the last %zu samples; the "
         "gradient through them is damped a hundredfold and they barely "
         "learn", count, width, gc_activation_name(h->shape.activation[l]),
         l, GC_SATURATION_SLOPE_FRACTION,
         100.0 * GC_SATURATED_SAMPLE_FRACTION, h->unit_samples);
    gc_finding_text(f->fix, sizeof f->fix,
         "keep pre-activations within a few units of 0: scale the inputs "
         "(to [0, 1] or mean 0, std 1), initialise with 1/sqrt(fan_in) "
         "(Xavier for tanh), and lower the learning rate if the weights "
         "grew there during training");
    gc_finding_evidence(f, "saturated_units", (double)count);
    gc_finding_evidence(f, "units", (double)width);
    gc_finding_evidence(f, "saturated_fraction", fraction);
    gc_finding_evidence(f, "samples", (double)h->unit_samples);
    gc_finding_evidence(f, "first_saturated_unit", (double)first);
    return n;
}

static size_t saturated_output(gc_health *h, size_t step, size_t l,
                               gc_finding_event *out, size_t max)
{
    size_t width = h->shape.widths[l];
    double pairs = (double)h->unit_samples * (double)width;
    double fraction = pairs > 0.0 ? (double)h->wrong_side_pairs / pairs : 0.0;
    if (fraction < GC_WRONG_SIDE_FRACTION)
        return 0;
    size_t n = 0;
    char what[16];
    gc_finding_event *f = begin(h, "saturated-units",
                                layer_key(l, what, sizeof what),
                                GC_SEVERITY_WARNING, step, l, out, &n, max);
    if (f == NULL)
        return 0;
    snprintf(f->tensor, sizeof f->tensor, "layer%zu.W", l);
    gc_finding_text(f->message, sizeof f->message,
         "%.1f%% of the output layer's (sample, unit) pairs over the last "
         "%zu samples were saturated on the wrong side of their target "
         "(|a - y| > 0.5 with the %s derivative below %g of its peak): "
         "confidently wrong, with almost no gradient to correct it",
         100.0 * fraction, h->unit_samples,
         gc_activation_name(h->shape.activation[l]),
         GC_SATURATION_SLOPE_FRACTION);
    gc_finding_text(f->fix, sizeof f->fix,
         "for a sigmoid output use binary cross-entropy, whose output delta "
         "a - y does not vanish when the unit saturates (or softmax with "
         "cross-entropy for one class per sample); initialise the output "
         "layer small (1/sqrt(fan_in)) and keep its inputs scaled");
    gc_finding_evidence(f, "wrong_side_pairs", (double)h->wrong_side_pairs);
    gc_finding_evidence(f, "pairs", pairs);
    gc_finding_evidence(f, "wrong_side_fraction", fraction);
    gc_finding_evidence(f, "samples", (double)h->unit_samples);
    return n;
}

static size_t unit_rules(gc_health *h, size_t step, gc_finding_event *out,
                         size_t max)
{
    if (h->unit_samples < GC_HEALTH_UNIT_SAMPLES)
        return 0;
    size_t n = 0, L = h->shape.layer_count;
    for (size_t l = 1; l <= L; l++) {
        gc_activation act = h->shape.activation[l];
        if (relu_like(act))
            n += dead_relu(h, step, l, out + n, max - n);
        else if (saturating(act) && l < L)
            n += saturated_hidden(h, step, l, out + n, max - n);
        else if (saturating(act))
            n += saturated_output(h, step, l, out + n, max - n);
    }
    for (size_t l = 1; l <= L; l++) {
        memset(h->active[l], 0, h->shape.widths[l] * sizeof(size_t));
        memset(h->saturated[l], 0, h->shape.widths[l] * sizeof(size_t));
    }
    h->unit_samples = 0;
    h->wrong_side_pairs = 0;
    return n;
}

/* ---- unscaled-inputs ----------------------------------------------------- */

static size_t unscaled_inputs(gc_health *h, size_t step,
                              gc_finding_event *out, size_t max)
{
    size_t features = h->shape.widths[0];
    if (h->inputs_decided || h->input_samples < GC_INPUT_SAMPLES ||
        features == 0)
        return 0;
    h->inputs_decided = true;
    double samples = (double)h->input_samples, worst = 0.0, total = 0.0;
    size_t feature = 0;
    for (size_t j = 0; j < features; j++) {
        double rms = sqrt(h->input_sum_squares[j] / samples);
        total += h->input_sum_squares[j];
        if (rms > worst) {
            worst = rms;
            feature = j;
        }
    }
    if (!(worst > GC_INPUT_RMS_MAX))
        return 0;
    size_t n = 0;
    gc_finding_event *f = begin(h, "unscaled-inputs", "", GC_SEVERITY_WARNING,
                                step, 0, out, &n, max);
    if (f == NULL)
        return 0;
    gc_finding_text(f->message, sizeof f->message,
         "input feature %zu has root mean square %.4g over the first %zu "
         "samples (largest |x| %.4g), far beyond the unit scale the "
         "initialisation assumes; the first layer's pre-activations are as "
         "large", feature, worst, h->input_samples,
         h->input_abs_max[feature]);
    gc_finding_text(f->fix, sizeof f->fix,
         "scale the inputs: x / 255 for pixels ([data] scale = divide), "
         "(x - min) / (max - min) per feature (minmax), or (x - mean) / std "
         "per feature (standardize), with statistics of the training set");
    gc_finding_evidence(f, "feature_rms_max", worst);
    gc_finding_evidence(f, "feature", (double)feature);
    gc_finding_evidence(f, "feature_abs_max", h->input_abs_max[feature]);
    gc_finding_evidence(f, "input_rms", sqrt(total / (samples * features)));
    gc_finding_evidence(f, "samples", samples);
    return n;
}

/* ---- learning-rate-too-high ---------------------------------------------- */

static size_t gradient_flow(gc_health *h, const gc_health_window *w,
                            bool start, gc_finding_event *out, size_t max);

static double total_weight_norm(const gc_health_window *w)
{
    double s = 0.0;
    for (size_t l = 1; l <= w->layer_count; l++)
        s += w->weight_norm[l] * w->weight_norm[l];
    return sqrt(s);
}

/* The largest update/weight ratio |dW_l| / |W_l| over the layers. */
static double update_ratio(const gc_health_window *w, size_t *layer)
{
    double ratio = 0.0;
    *layer = 0;
    for (size_t l = 1; l <= w->layer_count; l++) {
        if (!(w->weight_norm[l] > 0.0))
            continue;
        double r = w->update_norm[l] / w->weight_norm[l];
        if (r > ratio) {
            ratio = r;
            *layer = l;
        }
    }
    return ratio;
}

size_t gc_health_first_step(gc_health *h, const gc_health_window *w,
                            gc_finding_event *out, size_t max)
{
    h->started = true;
    h->start_loss = w->batch_loss;
    h->start_descent = w->descent;
    h->start_weight_norm = total_weight_norm(w);
    h->start_ratio = update_ratio(w, &h->start_ratio_layer);
    return gradient_flow(h, w, true, out, max);
}

static size_t learning_rate(gc_health *h, const gc_health_window *w,
                            gc_finding_event *out, size_t max)
{
    /* an update that goes uphill is a wrong update rule, not a step too
     * long (update-ascent) */
    if (!h->started || !(h->start_loss > 0.0) ||
        !(h->start_weight_norm > 0.0) || !isfinite(w->loss) ||
        !(h->start_descent < 0.0) || !(w->descent < 0.0))
        return 0;
    double rise = w->loss / h->start_loss;
    double growth = total_weight_norm(w) / h->start_weight_norm;
    if (rise < 1.0 + GC_LR_LOSS_RISE || growth < GC_LR_WEIGHT_GROWTH)
        return 0;
    size_t n = 0;
    gc_finding_event *f = begin(h, "learning-rate-too-high", "",
                                GC_SEVERITY_WARNING, w->step, 0, out, &n,
                                max);
    if (f == NULL)
        return 0;
    size_t layer;
    double ratio = update_ratio(w, &layer);
    gc_finding_text(f->message, sizeof f->message,
         "the mean loss of the window to step %zu is %.4g, %.2f times the "
         "%.4g of step 0, and the weights grew %.3g-fold; the first update "
         "changed layer %zu's weights by %.3g of their size (about 1e-3 is "
         "healthy)", w->step, w->loss, rise, h->start_loss, growth,
         h->start_ratio_layer, h->start_ratio);
    gc_finding_text(f->fix, sizeof f->fix,
         "lower [training] learning_rate, by a factor of 3 to 10 to start "
         "with, until the loss falls from the first window on and the "
         "update/weight ratio |lr g| / |W| of each layer is near 1e-3 "
         "(larger with one sample per step)");
    gc_finding_evidence(f, "window_loss", w->loss);
    gc_finding_evidence(f, "start_loss", h->start_loss);
    gc_finding_evidence(f, "loss_rise", rise);
    gc_finding_evidence(f, "weight_norm_growth", growth);
    gc_finding_evidence(f, "start_update_ratio", h->start_ratio);
    gc_finding_evidence(f, "start_update_ratio_layer",
                        (double)h->start_ratio_layer);
    gc_finding_evidence(f, "update_ratio", ratio);
    gc_finding_evidence(f, "update_ratio_layer", (double)layer);
    return n;
}

/* ---- vanishing-gradients, exploding-gradients ---------------------------- */

static double rms(double norm, size_t elements)
{
    return elements ? norm / sqrt((double)elements) : NAN;
}

/* Layer l's gradient size per unit: the root mean square of its
 * per-sample deltas where the model shows them, else of its weight
 * gradient per parameter. */
static double layer_gradient(const gc_health_window *w, size_t l)
{
    return w->deltas_known ? w->delta_rms[l]
                           : rms(w->gradient_norm[l], w->weight_elements[l]);
}

/* At step 0 (start) one measurement decides: the network as initialised
 * is what it is.  At window ends GC_GRADIENT_WINDOWS in a row must agree. */
static size_t gradient_flow(gc_health *h, const gc_health_window *w,
                            bool start, gc_finding_event *out, size_t max)
{
    size_t L = w->layer_count;
    if (L < 2)
        return 0;
    double first = layer_gradient(w, 1), last = layer_gradient(w, L);
    if (!isfinite(first) || !(last > 0.0) || !isfinite(last)) {
        h->vanishing_streak = h->exploding_streak = 0;
        return 0;
    }
    double ratio = first / last;
    memmove(h->log_ratios, h->log_ratios + 1,
            (GC_GRADIENT_WINDOWS - 1) * sizeof(double));
    h->log_ratios[GC_GRADIENT_WINDOWS - 1] = log(ratio);
    h->vanishing_streak = ratio < GC_VANISHING_RATIO
                              ? h->vanishing_streak + 1 : 0;
    h->exploding_streak = ratio > GC_EXPLODING_RATIO
                              ? h->exploding_streak + 1 : 0;
    size_t needed = start ? 1 : GC_GRADIENT_WINDOWS;
    bool vanishing = h->vanishing_streak >= needed;
    bool exploding = h->exploding_streak >= needed;
    if (start)
        h->vanishing_streak = h->exploding_streak = 0;
    if (!vanishing && !exploding)
        return 0;
    double mean_log = 0.0;
    for (size_t i = GC_GRADIENT_WINDOWS - needed; i < GC_GRADIENT_WINDOWS;
         i++)
        mean_log += h->log_ratios[i];
    double geometric = exp(mean_log / (double)needed);
    const char *id = vanishing ? "vanishing-gradients" : "exploding-gradients";
    size_t n = 0;
    gc_finding_event *f = begin(h, id, "", GC_SEVERITY_WARNING, w->step, 0,
                                out, &n, max);
    if (f == NULL)
        return 0;
    char layers[120] = "";
    size_t used = 0;
    for (size_t l = 1; l <= L && used < sizeof layers; l++)
        used += (size_t)snprintf(layers + used, sizeof layers - used,
                                 "%s%.2g", l > 1 ? ", " : "",
                                 layer_gradient(w, l));
    char when[48];
    if (start)
        snprintf(when, sizeof when, "at step 0, before any update");
    else
        snprintf(when, sizeof when, "geometric mean of the last %d windows",
                 GC_GRADIENT_WINDOWS);
    gc_finding_text(f->message, sizeof f->message,
         "the first layer's %s is %.3g times the last layer's (%s); "
         "per layer at step %zu: %s",
         w->deltas_known ? "backward signal dL/dz per unit"
                         : "weight gradient per parameter",
         geometric, when, w->step, layers);
    if (vanishing)
        gc_finding_text(f->fix, sizeof f->fix,
             "the backward signal shrinks through the layers: use relu or "
             "leaky-relu hidden layers with He init (N(0, 2/fan_in)), or "
             "tanh with Xavier init, instead of stacked sigmoids; use fewer "
             "layers; look for saturated or dead units");
    else
        gc_finding_text(f->fix, sizeof f->fix,
             "the backward signal grows through the layers: initialise "
             "each layer with variance 2/fan_in (He, relu) or 1/fan_in "
             "(Xavier, tanh) instead of larger weights; then lower the "
             "learning rate or clip the gradient norm if it still grows");
    gc_finding_evidence(f, "gradient_ratio", geometric);
    gc_finding_evidence(f, "gradient_ratio_now", ratio);
    gc_finding_evidence(f, "first_layer_rms", first);
    gc_finding_evidence(f, "last_layer_rms", last);
    gc_finding_evidence(f, "layers", (double)L);
    gc_finding_evidence(f, "measurements", (double)needed);
    gc_finding_evidence(f, "from_deltas", w->deltas_known ? 1.0 : 0.0);
    return n;
}

/* ---- loss-not-decreasing ------------------------------------------------- */

static size_t loss_flat(gc_health *h, const gc_health_window *w,
                        gc_finding_event *out, size_t max)
{
    if (h->windows != GC_FLAT_WINDOWS)
        return 0;
    size_t half = GC_FLAT_WINDOWS / 2;
    double a = 0.0, b = 0.0;
    for (size_t i = 0; i < half; i++) {
        a += h->first_losses[i];
        b += h->first_losses[half + i];
    }
    a /= (double)half;
    b /= (double)(GC_FLAT_WINDOWS - half);
    if (!isfinite(a) || !isfinite(b) || !(a > 0.0))
        return 0;
    double drop = (a - b) / a;
    if (drop >= GC_FLAT_DROP)
        return 0;
    size_t n = 0;
    gc_finding_event *f = begin(h, "loss-not-decreasing", "",
                                GC_SEVERITY_WARNING, w->step, 0, out, &n,
                                max);
    if (f == NULL)
        return 0;
    gc_finding_text(f->message, sizeof f->message,
         "over the first %d windows (to step %zu) the mean loss went from "
         "%.4g (first half) to %.4g (second half), a change of %+.2f%%: the "
         "network is not learning", GC_FLAT_WINDOWS, w->step, a, b,
         -100.0 * drop);
    gc_finding_text(f->fix, sizeof f->fix,
         "look at the other findings first (dead or saturated units, "
         "vanishing gradients, symmetric init, a wrong update); otherwise "
         "raise the learning rate by a factor of 3 to 10, and check that "
         "the labels match the inputs");
    gc_finding_evidence(f, "first_half_loss", a);
    gc_finding_evidence(f, "second_half_loss", b);
    gc_finding_evidence(f, "relative_drop", drop);
    gc_finding_evidence(f, "windows", (double)GC_FLAT_WINDOWS);
    gc_finding_evidence(f, "first_window_loss", h->first_losses[0]);
    return n;
}

/* ---- symmetric-init ------------------------------------------------------ */

bool gc_health_wants_rows(const gc_health *h)
{
    return !h->rows_done;
}

static size_t symmetric_init(gc_health *h, const gc_health_window *w,
                             gc_finding_event *out, size_t max)
{
    if (h->rows_done || !w->rows_known)
        return 0;
    h->rows_done = true;
    size_t n = 0;
    for (size_t l = 1; l <= w->layer_count; l++) {
        if (w->identical_rows_at_start[l] < 2 || w->identical_rows[l] < 2)
            continue;
        char what[16];
        gc_finding_event *f = begin(h, "symmetric-init",
                                    layer_key(l, what, sizeof what),
                                    GC_SEVERITY_WARNING, w->step, l, out, &n,
                                    max);
        if (f == NULL)
            continue;
        snprintf(f->tensor, sizeof f->tensor, "layer%zu.W", l);
        gc_finding_text(f->message, sizeof f->message,
             "%zu of the %zu weight rows of layer %zu were identical at "
             "step 0 and %zu still are at step %zu: units with equal "
             "weights compute the same value, get the same gradient, and "
             "can never become different", w->identical_rows_at_start[l],
             w->rows[l], l, w->identical_rows[l], w->step);
        gc_finding_text(f->fix, sizeof f->fix,
             "initialise the weights randomly to break the symmetry: "
             "N(0, 1/fan_in), Xavier U(+-sqrt(6/(fan_in+fan_out))) or He "
             "N(0, 2/fan_in); a constant (or zero) weight initialisation "
             "is only right for biases");
        gc_finding_evidence(f, "identical_rows", (double)w->identical_rows[l]);
        gc_finding_evidence(f, "identical_rows_at_start",
                            (double)w->identical_rows_at_start[l]);
        gc_finding_evidence(f, "rows", (double)w->rows[l]);
    }
    return n;
}

/* A signature weight for column j in [1, 2): rows that are permutations
 * of each other get different signatures. */
static double column_weight(size_t j)
{
    uint64_t z = (uint64_t)j * 0x9e3779b97f4a7c15ULL;
    z ^= z >> 29;
    return 1.0 + (double)(z >> 11) * 0x1.0p-53;
}

static int compare_keys(const void *a, const void *b)
{
    double x = ((const row_key *)a)->key, y = ((const row_key *)b)->key;
    return (x > y) - (x < y);
}

static double row_abs_max(const double *row, size_t cols)
{
    double m = 0.0;
    for (size_t j = 0; j < cols; j++)
        m = fmax(m, fabs(row[j]));
    return m;
}

static bool rows_equal(const double *a, const double *b, size_t cols)
{
    double limit = GC_SYMMETRIC_TOLERANCE *
                   fmax(row_abs_max(a, cols), row_abs_max(b, cols));
    for (size_t j = 0; j < cols; j++)
        if (!(fabs(a[j] - b[j]) <= limit))
            return false;
    return true;
}

size_t gc_health_identical_rows(gc_health *h, const double *w, size_t rows,
                                size_t cols)
{
    if (rows < 2 || rows > h->key_capacity)
        return 0;
    double scale = 0.0;
    for (size_t i = 0; i < rows; i++) {
        double s = 0.0;
        for (size_t j = 0; j < cols; j++)
            s += w[i * cols + j] * column_weight(j);
        h->keys[i] = (row_key){s, i};
        h->duplicate[i] = 0;
        scale = fmax(scale, row_abs_max(w + i * cols, cols));
    }
    qsort(h->keys, rows, sizeof *h->keys, compare_keys);
    /* equal rows have signatures within 2 cols tol max|w| of each other
     * (each column weight is below 2), plus the rounding of the sums */
    double window = 2.0 * (double)cols * GC_SYMMETRIC_TOLERANCE * scale *
                    (1.0 + 1e-6);
    for (size_t a = 0; a < rows; a++) {
        for (size_t b = a + 1;
             b < rows && h->keys[b].key - h->keys[a].key <= window; b++) {
            size_t ra = h->keys[a].row, rb = h->keys[b].row;
            if (rows_equal(w + ra * cols, w + rb * cols, cols))
                h->duplicate[ra] = h->duplicate[rb] = 1;
        }
    }
    size_t count = 0;
    for (size_t i = 0; i < rows; i++)
        count += h->duplicate[i];
    return count;
}

/* ---- window -------------------------------------------------------------- */

size_t gc_health_window_end(gc_health *h, const gc_health_window *w,
                            gc_finding_event *out, size_t max)
{
    if (h->windows < GC_FLAT_WINDOWS)
        h->first_losses[h->windows] = w->loss;
    h->windows++;
    size_t n = 0;
    n += unscaled_inputs(h, w->step, out + n, max - n);
    n += symmetric_init(h, w, out + n, max - n);
    n += unit_rules(h, w->step, out + n, max - n);
    n += gradient_flow(h, w, false, out + n, max - n);
    n += learning_rate(h, w, out + n, max - n);
    n += loss_flat(h, w, out + n, max - n);
    return n;
}

/* ---- checks: rounding and kinks ------------------------------------------ */

static double mismatch(const gc_check_event *c)
{
    return c->rel_error * (c->analytic_norm + c->numeric_norm);
}

bool gc_health_rounding_candidate(const gc_check_event *c)
{
    if (c->verdict == GC_VERDICT_PASS || c->elements == 0 ||
        (c->kind == GC_CHECK_DIRECTION && c->kinks_excluded > 0))
        return false;
    return mismatch(c) <= GC_ROUNDING_CANDIDATE * c->noise;
}

bool gc_health_is_rounding(const gc_check_event *at_h,
                           const gc_check_event *larger)
{
    bool kink_h = at_h->kind == GC_CHECK_DIRECTION && at_h->kinks_excluded;
    bool kink_l = larger->kind == GC_CHECK_DIRECTION &&
                  larger->kinks_excluded;
    return at_h->verdict != GC_VERDICT_PASS && !kink_h && !kink_l &&
           larger->verdict == GC_VERDICT_PASS && at_h->rel_error > 0.0 &&
           at_h->rel_error >= GC_ROUNDING_SHRINK * larger->rel_error;
}

void gc_health_observe_rounding(gc_health *h, const gc_check_event *at_h,
                                const gc_check_event *larger)
{
    rounding_counts *r = &h->rounding;
    if (r->checks == 0) {
        r->first = *at_h;
        r->first_larger = *larger;
    }
    r->checks++;
    r->worst = fmax(r->worst, at_h->rel_error);
    for (size_t i = 0; i < r->tensor_count; i++)
        if (strcmp(r->tensors[i], at_h->tensor) == 0)
            return;
    if (r->tensor_count < ROUNDING_TENSORS_MAX)
        snprintf(r->tensors[r->tensor_count++], sizeof r->tensors[0], "%s",
                 at_h->tensor);
}

static size_t check_rounding(gc_health *h, gc_finding_event *out,
                             size_t max)
{
    const rounding_counts *r = &h->rounding;
    if (r->checks == 0)
        return 0;
    const gc_check_event *a = &r->first, *b = &r->first_larger;
    size_t n = 0;
    gc_finding_event *f = begin(h, "check-rounding", "", GC_SEVERITY_WARNING,
                                a->step, a->layer, out, &n, max);
    if (f == NULL)
        return 0;
    snprintf(f->tensor, sizeof f->tensor, "%s", a->tensor);
    gc_finding_text(f->message, sizeof f->message,
         "%zu checks (%zu tensors) did not pass but passed at a %gx "
         "larger step; first the %s check of %s at step %zu, relative "
         "error %.2e -> %.2e.  The mismatch shrank as the step grew: "
         "rounding, not a wrong gradient", r->checks, r->tensor_count,
         GC_ROUNDING_STEP_FACTOR,
         a->kind == GC_CHECK_DIRECTION ? "direction" : "element", a->tensor,
         a->step, a->rel_error, b->rel_error);
    gc_finding_text(f->fix, sizeof f->fix,
         "nothing to fix in the backward.  The finite-difference step is "
         "too small for the size of the loss and of these gradients: raise "
         "[checks] step_scale (the default 1 gives h = eps^(1/3) "
         "max(|x|, 1)), or keep the loss a mean rather than a large sum");
    gc_finding_evidence(f, "checks", (double)r->checks);
    gc_finding_evidence(f, "tensors", (double)r->tensor_count);
    gc_finding_evidence(f, "rel_error", a->rel_error);
    gc_finding_evidence(f, "rel_error_larger_step", b->rel_error);
    gc_finding_evidence(f, "step_size", a->step_size);
    gc_finding_evidence(f, "larger_step_size", b->step_size);
    gc_finding_evidence(f, "noise", a->noise);
    gc_finding_evidence(f, "worst_rel_error", r->worst);
    return n;
}

void gc_health_observe_check(gc_health *h, const gc_check_event *c)
{
    if (c->layer > GC_MAX_LAYERS)
        return;
    kink_counts *k = &h->kinks[c->layer];
    if (c->kind == GC_CHECK_DIRECTION) {
        k->direction_checks++;
        k->direction_kinked += c->kinks_excluded > 0;
    } else {
        k->element_checks++;
        k->elements_compared += c->elements;
        k->elements_excluded += c->kinks_excluded;
    }
    if (c->kinks_excluded > 0 && !k->seen) {
        k->seen = true;
        k->first_step = c->step;
    }
}

/* Totals of the kink counts over the layers, and the layers involved. */
static kink_counts kink_totals(const gc_health *h, char *layers,
                               size_t size, size_t *first_layer)
{
    kink_counts total;
    memset(&total, 0, sizeof total);
    size_t used = 0;
    layers[0] = '\0';
    *first_layer = 0;
    for (size_t l = 0; l <= GC_MAX_LAYERS; l++) {
        const kink_counts *k = &h->kinks[l];
        total.direction_checks += k->direction_checks;
        total.direction_kinked += k->direction_kinked;
        total.element_checks += k->element_checks;
        total.elements_compared += k->elements_compared;
        total.elements_excluded += k->elements_excluded;
        if (!k->seen)
            continue;
        if (!total.seen || k->first_step < total.first_step) {
            total.first_step = k->first_step;
            *first_layer = l;
        }
        total.seen = true;
        if (used < size)
            used += (size_t)snprintf(layers + used, size - used, "%s%zu",
                                     used ? ", " : "", l);
    }
    return total;
}

size_t gc_health_finish(gc_health *h, gc_finding_event *out, size_t max)
{
    size_t n = check_rounding(h, out, max);
    char layers[48];
    size_t first_layer;
    kink_counts k = kink_totals(h, layers, sizeof layers, &first_layer);
    if (!k.seen)
        return n;
    gc_finding_event *f = begin(h, "kink-excluded", "", GC_SEVERITY_INFO,
                                k.first_step, first_layer, out, &n, max);
    if (f == NULL)
        return n;
    gc_finding_text(f->message, sizeof f->message,
         "%zu of %zu direction checks crossed a kink (a relu unit "
         "changed sign within the step) and were left inconclusive; %zu "
         "elements were left out of element checks (%zu compared); "
         "layers %s; first at step %zu", k.direction_kinked,
         k.direction_checks, k.elements_excluded, k.elements_compared,
         layers, k.first_step);
    gc_finding_text(f->fix, sizeof f->fix,
         "nothing to fix: a difference across z = 0 of a relu measures "
         "neither slope, so those comparisons are excluded rather than "
         "failed.  If most are excluded, a smaller [checks] step_scale "
         "crosses fewer kinks");
    gc_finding_evidence(f, "direction_checks_kinked",
                        (double)k.direction_kinked);
    gc_finding_evidence(f, "direction_checks", (double)k.direction_checks);
    gc_finding_evidence(f, "elements_excluded", (double)k.elements_excluded);
    gc_finding_evidence(f, "elements_compared", (double)k.elements_compared);
    gc_finding_evidence(f, "element_checks", (double)k.element_checks);
    return n;
}
