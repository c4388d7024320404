/* model.h - the model under test: the only view of a network that the
 * checker, the probes and the diagnosis ever get.
 *
 * A model is a flat vector of parameters divided into named tensors, a loss
 * and a gradient.  The built-in engine (engine.h) is one implementation;
 * anything that can fill these function pointers is another.  Nothing here
 * says which mistake, if any, the author made: the checker must find it
 * from values.
 *
 * Required: loss() and gradient().  Optional capabilities are NULL when the
 * model lacks them, and a probe that needs one reports itself skipped.
 *
 * Conventions
 *   - params: the flat vector, param_count doubles; tensor t occupies
 *     params[tensors[t].offset .. + rows*cols), row-major (rows x cols).
 *     A weight tensor of layer l is width_l x width_(l-1); a bias is
 *     width_l x 1.
 *   - A batch is `count` samples; x is count x features, row-major;
 *     labels are class indices.
 *   - The loss of a batch is the model's own reduction of the per-sample
 *     losses (the built-in engine uses the mean).
 */
#ifndef GRADCHECK_MODEL_H
#define GRADCHECK_MODEL_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum { GC_TENSOR_WEIGHT, GC_TENSOR_BIAS } gc_tensor_kind;

typedef struct {
    char name[32];            /* "layer2.W", "layer2.b" */
    gc_tensor_kind kind;
    size_t layer;             /* 1-based index of the layer it belongs to */
    size_t rows, cols;
    size_t offset;            /* first element in the flat vector */
} gc_tensor_info;

typedef struct {
    const double *x;          /* count x features */
    const int *labels;        /* count */
    size_t count;
    size_t features;
} gc_batch;

/* Operations the engine reports to a hook after computing them (traps).
 * The names are stable: they appear in reports and JSON (gc_op_name). */
typedef enum {
    GC_OP_DENSE,              /* z = W a + b */
    GC_OP_ACTIVATION,         /* a = f(z), elementwise */
    GC_OP_SOFTMAX_EXP,        /* e = exp(z - shift); inputs: z - shift */
    GC_OP_SOFTMAX_NORMALISE,  /* a = e / sum(e); inputs: the row sums */
    GC_OP_LOSS,               /* per-sample loss, one per sample; inputs:
                                 the probabilities that went into a log
                                 (rows of row_length), or none */
    GC_OP_OUTPUT_DELTA,       /* dL/dz at the output layer */
    GC_OP_HIDDEN_DELTA,       /* dL/dz at a hidden layer */
    GC_OP_WEIGHT_GRADIENT,    /* dL/dW */
    GC_OP_BIAS_GRADIENT,      /* dL/db */
    GC_OP_WEIGHT_UPDATE,      /* theta <- theta - lr g */
    GC_OP_COUNT
} gc_op;

const char *gc_op_name(gc_op op);

/* What a hook sees after one operation of one layer (1-based; 0 for
 * operations that span the network, like the update). */
typedef struct {
    gc_op op;
    size_t layer;
    const double *outputs;    /* the values just computed */
    size_t output_count;
    const double *inputs;     /* what they were computed from; may be NULL */
    size_t input_count;
    size_t row_length;        /* for row-wise ops (softmax): units per row */
} gc_op_record;

/* Called after each operation while a hook is set.  The hook may read the
 * floating-point exception flags; it must not change the values. */
typedef void (*gc_op_hook)(void *context, const gc_op_record *record);

typedef struct gc_model gc_model;

/* Optional: a model that shows its dense layers (the built-in engine),
 * each z = W a + b followed by an activation.  It enables the
 * pre-activation check method, histograms of pre-activations and
 * activations, and the output-delta probes. */
typedef struct {
    size_t layer_count;
    /* Runs the forward pass at params and keeps every layer's
     * pre-activations and activations for the batch; returns the loss. */
    gc_status (*forward)(gc_model *model, const double *params,
                         const gc_batch *batch, double *loss, gc_error *err);
    /* After forward(): layer l (1-based) width, and its count x width
     * pre-activations z and activations a.  Layer 0's activations are the
     * batch inputs (width = features). */
    size_t (*width)(gc_model *model, size_t layer);
    const double *(*pre_activations)(gc_model *model, size_t layer);
    const double *(*activations)(gc_model *model, size_t layer);
    const char *(*activation_name)(gc_model *model, size_t layer);
    /* After forward(): sample `sample`'s contribution to the batch loss
     * when the single pre-activation z[sample, unit] of layer l is replaced
     * by z_value and only what depends on it is recomputed (that unit, then
     * the layers above for that sample).  Samples are independent, so the
     * batch loss changes by exactly the change of this contribution.
     * pattern (may be NULL) receives a hash of the signs of every
     * piecewise-linear unit recomputed, to detect kink crossings. */
    gc_status (*sample_loss_unit)(gc_model *model, size_t layer,
                                  size_t sample, size_t unit, double z_value,
                                  double *contribution, uint64_t *pattern,
                                  gc_error *err);
    /* After forward(): the batch loss when layer l's pre-activations are
     * replaced by z (count x width_l) and the layers above are recomputed
     * with the parameters of the last forward().  pattern as above. */
    gc_status (*batch_loss_from)(gc_model *model, size_t layer,
                                 const double *z, double *loss,
                                 uint64_t *pattern, gc_error *err);
    /* After gradient(): the model's own per-sample deltas of layer l,
     * dl_b/dz[b, :] of each sample's own loss l_b (count x width_l), or
     * NULL if the backward does not keep it. */
    const double *(*deltas)(gc_model *model, size_t layer);
    /* How the batch loss reduces the per-sample losses: true for the mean
     * (each sample weighs 1/count), false for the sum.  A numeric dL/dz
     * of the batch loss times count (mean) or 1 (sum) is comparable with
     * deltas(). */
    bool loss_is_batch_mean;

    /* Optional (NULL if absent): sample_loss_unit at many values of one
     * pre-activation at once, and safe to run concurrently.  After
     * forward(): contributions[p] is sample `sample`'s share of the batch
     * loss with z[sample, unit] of layer l replaced by z_values[p], for
     * p < points; patterns (may be NULL) as in sample_loss_unit, one per
     * point.  scratch is caller-owned, unit_scratch(model, points)
     * doubles.  Calls with distinct scratch may run on several threads at
     * once: they only read what forward() left.  The same arguments give
     * the same bits on every call. */
    size_t (*unit_scratch)(gc_model *model, size_t points);
    gc_status (*sample_losses_unit)(gc_model *model, size_t layer,
                                    size_t sample, size_t unit,
                                    const double *z_values, size_t points,
                                    double *contributions,
                                    uint64_t *patterns, double *scratch,
                                    gc_error *err);

    /* Optional (NULL if absent): the same share in complex arithmetic,
     * for complex-step derivatives.  Every operation above z must be
     * analytic, so that Im c(z + i h) / h is dc/dz to O(h^2) with no
     * subtraction.  complex_unsupported() returns NULL when the network
     * qualifies, else a sentence saying why not (a relu layer, say).
     * scratch holds unit_scratch(model, 1) complex values (not doubles),
     * whatever the number of points; concurrent calls as above. */
    const char *(*complex_unsupported)(gc_model *model);
    gc_status (*sample_losses_unit_complex)(gc_model *model, size_t layer,
                                            size_t sample, size_t unit,
                                            const double _Complex *z_values,
                                            size_t points,
                                            double _Complex *contributions,
                                            double _Complex *scratch,
                                            gc_error *err);

    /* Optional (NULL when not shown): after forward(), dl_b/da_L[b, :],
     * the derivative of sample b's own loss with respect to the output
     * activations (width_L values into dl_da), before any activation
     * Jacobian is applied.  Used by gradcheck trace. */
    gc_status (*output_loss_gradient)(gc_model *model, size_t sample,
                                      double *dl_da, gc_error *err);
    /* Optional (NULL when not shown): the loss's name ("mse"). */
    const char *(*loss_name)(gc_model *model);
} gc_layer_view;

struct gc_model {
    void *self;                       /* the implementation's state */
    size_t tensor_count;
    const gc_tensor_info *tensors;
    size_t param_count;
    double *params;                   /* the live parameters */

    /* Loss of the batch at params.  pattern as in sample_loss_unit. */
    gc_status (*loss)(gc_model *model, const double *params,
                      const gc_batch *batch, double *loss, uint64_t *pattern,
                      gc_error *err);
    /* The model's own gradient (its backward pass) at params: grad has
     * param_count doubles; loss receives the loss of the same forward. */
    gc_status (*gradient)(gc_model *model, const double *params,
                          const gc_batch *batch, double *loss, double *grad,
                          gc_error *err);

    /* Optional: the model's own update rule (NULL: params -= lr * grad). */
    gc_status (*update)(gc_model *model, double *params, const double *grad,
                        double learning_rate, gc_error *err);
    /* Optional: per-operation hook for traps; NULL context clears it. */
    void (*set_hook)(gc_model *model, gc_op_hook hook, void *context);
    /* Optional: the layer view, NULL if the model is a black box. */
    const gc_layer_view *layers;
    /* Optional: predicted class of each sample (for accuracy). */
    gc_status (*predict)(gc_model *model, const double *params,
                         const gc_batch *batch, int *classes, gc_error *err);
};

#endif
