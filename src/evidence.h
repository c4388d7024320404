/* evidence.h - what a full (element) check leaves for the diagnosis and
 * the fingerprints: check results, gradients, deltas and layer values.
 * Values only: nothing here says which mistake, if any, was switched on.
 */
#ifndef GRADCHECK_EVIDENCE_H
#define GRADCHECK_EVIDENCE_H

#include "events.h"
#include "model.h"
#include "spec.h"

#include <stddef.h>

/* What a full (element) check leaves for the diagnosis.  Arrays indexed by
 * layer (1..layer_count) may hold NULL where the model does not show it. */
typedef struct {
    size_t step;
    size_t tensor_count;
    const gc_tensor_info *tensors;
    const gc_check_event *checks;      /* one per tensor */
    const double *grad;                /* the model's gradient */
    const double *numeric;             /* NaN where not checked */
    size_t batch_count;
    size_t layer_count;                /* 0: black box */
    size_t widths[GC_MAX_LAYERS + 1];
    const double *deltas[GC_MAX_LAYERS + 1];   /* model's per-sample dl/dz */
    const double *numeric_deltas[GC_MAX_LAYERS + 1]; /* numeric dL/dz of
                                                         the batch loss */
    /* numeric_deltas times this are per-sample deltas comparable with
     * deltas: the batch size for a mean-reduced loss, 1 for a sum. */
    double numeric_delta_scale;
    const double *output_activations;  /* batch x width_L, or NULL */
    /* Layer values of the checked batch (count x width_l, row-major), or
     * NULL where the model does not show them: activations[0] is the
     * input; pre_activations[0] is unused. */
    const double *activations[GC_MAX_LAYERS + 1];
    const double *pre_activations[GC_MAX_LAYERS + 1];
    /* Each layer's activation as the model declares it (the forward the
     * author wrote; not a switch of the backward); unused for a black box. */
    gc_activation activation[GC_MAX_LAYERS + 1];
    double pass_below;                 /* [checks] pass_below */
    double fail_above;                 /* [checks] fail_above */
} gc_full_check_evidence;

#endif
