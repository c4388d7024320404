/* trace.h - one sample of one step, forward and backward, layer by layer,
 * with the numeric gradient of the same entries (gradcheck trace).
 *
 * gc_trace_compute() reads everything through gc_model (model.h):
 *   - with the layer view: each layer's z and a for the sample, the
 *     model's own delta dl/dz (when it shows deltas), and, for a hidden
 *     layer, the chain rule (W_(l+1)^T delta_(l+1)) * f'(z_l) applied to
 *     the model's own delta above; for the output, dl/da when the model
 *     shows it, and for a softmax output the diagonal-only product
 *     s(1-s) g beside the full Jacobian product s * (g - s.g), and the
 *     sum of the model's delta over the units (0 for a true softmax
 *     delta);
 *   - with the layer view's sample_loss_unit as well: the sample's loss
 *     and the numeric delta from central differences of it (a plugin or
 *     pipe has no such partial evaluation: no numeric deltas);
 *   - always: the model's gradient of each tensor and the central
 *     difference of the batch loss for the entries shown.
 * What the model does not show is flagged (have_* false), never guessed.
 *
 * Sizes: a layer shows its first GC_TRACE_UNITS units; a weight the
 * GC_TRACE_ENTRIES entries of largest |gradient|, a bias its first
 * GC_TRACE_UNITS.
 * Norms and relative errors cover every unit of the sample (deltas) or
 * the entries shown (gradients), and the counts say what was left out.
 */
#ifndef GRADCHECK_TRACE_H
#define GRADCHECK_TRACE_H

#include "model.h"
#include "spec.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define GC_TRACE_UNITS 10

/* Entries of one tensor shown: a weight's GC_TRACE_ENTRIES of largest
 * |model gradient| (ties to the lower index), a bias's first
 * GC_TRACE_UNITS. */
#define GC_TRACE_ENTRIES 12
#define GC_TRACE_SHOWN_MAX \
    (GC_TRACE_ENTRIES > GC_TRACE_UNITS ? GC_TRACE_ENTRIES : GC_TRACE_UNITS)

/* One tensor's gradient: the model's (analytic) and the central
 * difference of the batch loss (numeric) for the entries shown. */
typedef struct {
    char name[32];
    gc_tensor_kind kind;
    size_t layer;
    size_t rows, cols;                 /* the whole tensor */
    size_t shown;                      /* entries shown */
    bool largest;                      /* chosen by largest |gradient| */
    size_t row[GC_TRACE_SHOWN_MAX], col[GC_TRACE_SHOWN_MAX];
    double analytic[GC_TRACE_SHOWN_MAX], numeric[GC_TRACE_SHOWN_MAX];
    double analytic_norm;              /* |g| over the whole tensor */
    double shown_rel_error;            /* |g - n| / (|g| + |n|), shown */
} gc_trace_tensor;

/* One layer of the sample.  Arrays hold the first `shown` units. */
typedef struct {
    size_t layer;                      /* 1-based */
    size_t width, shown;
    char activation[16];
    bool softmax;
    double z[GC_TRACE_UNITS], a[GC_TRACE_UNITS];
    double z_norm, a_norm;             /* over every unit of the sample */
    /* f'(z) for elementwise activations (NaN for softmax or unknown) */
    double slope[GC_TRACE_UNITS];
    /* backward: the model's dl/dz of the sample, and the numeric one */
    bool have_delta, have_numeric_delta;
    double delta[GC_TRACE_UNITS], numeric_delta[GC_TRACE_UNITS];
    double delta_norm, numeric_delta_norm, delta_rel_error;
    double delta_sum;                  /* model delta, over every unit */
    /* hidden layers: the chain rule from the model's own delta above */
    bool have_chain;
    double chain[GC_TRACE_UNITS];
    double chain_rel_error;            /* model delta vs chain, all units */
    /* output layer: g = dl/da and the two products */
    bool have_g;
    double g[GC_TRACE_UNITS];
    double diagonal[GC_TRACE_UNITS];   /* s(1-s) g, softmax only */
    double jacobian[GC_TRACE_UNITS];   /* s (g - s.g) or f'(z) g */
    double s_dot_g;                    /* softmax only */
    double diagonal_sum, jacobian_sum; /* sums over every unit */
    double diagonal_rel_error;         /* model delta vs s(1-s) g */
    double jacobian_rel_error;         /* model delta vs full product */
} gc_trace_layer;

typedef struct {
    size_t step, sample, batch_count;
    int label;
    double step_scale;                 /* [checks] step_scale */
    double batch_loss;
    bool have_layers;                  /* the model shows a layer view */
    bool have_numeric_deltas;          /* ... with sample_loss_unit */
    bool loss_is_batch_mean;
    char loss_name[32];                /* "" when the model does not say */
    double sample_loss;                /* l_b of the sample (NaN if unknown) */
    size_t layer_count;
    gc_trace_layer layers[GC_MAX_LAYERS + 1];   /* [1..layer_count] */
    size_t tensor_count;
    gc_trace_tensor tensors[2 * GC_MAX_LAYERS];
    size_t tensors_left_out;           /* tensors beyond the array */
    size_t loss_evaluations;
} gc_trace;

/* Fills trace for sample `sample` of batch at model->params; `step` is
 * recorded only.  Calls model->gradient once, then the layer view's
 * partial evaluations and model->loss at copies of the parameters;
 * model->params is left unchanged.  step_scale multiplies every finite
 * difference step (docs/checks.md, "Step size"). */
gc_status gc_trace_compute(gc_model *model, const gc_batch *batch,
                           size_t step, size_t sample, double step_scale,
                           gc_trace *trace, gc_error *err);

/* The relative error |x - y| / (|x| + |y|) of two n-vectors (0 when both
 * are zero), the measure the checks use (exposed for tests). */
double gc_trace_rel_error(const double *x, const double *y, size_t n);

#endif
