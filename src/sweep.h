/* sweep.h - one tensor's directional check over a range of steps h, the
 * error curve a finite difference traces (gradcheck sweep).
 *
 * For a tensor with n elements and the model's gradient g at the current
 * parameters, a unit direction u is drawn as the direction check draws it
 * (docs/checks.md): u = (g/|g| + r)/|g/|g| + r| with r of random signs
 * +-1/sqrt(n) from a seeded mt19937.  For each h the central difference
 * D(h) = (L(theta + h u) - L(theta - h u)) / 2h of the whole batch loss
 * (model->loss only, so any model can be swept) is compared with g . u:
 *     rel(h) = |D(h) - g.u| / (|D(h)| + |g.u|).
 * Truncation error falls as h^2, rounding error rises as eps/h, so
 * log rel against log h is a V with its floor near eps^(1/3) times the
 * scale of the parameters.
 *
 * Steps: GC_SWEEP_PER_DECADE per decade from 10^GC_SWEEP_LOW_EXP to
 * 10^GC_SWEEP_HIGH_EXP, plus the step the direction check would choose.
 */
#ifndef GRADCHECK_SWEEP_H
#define GRADCHECK_SWEEP_H

#include "model.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define GC_SWEEP_LOW_EXP (-12)
#define GC_SWEEP_HIGH_EXP (-1)
#define GC_SWEEP_PER_DECADE 4
#define GC_SWEEP_POINTS_MAX \
    ((GC_SWEEP_HIGH_EXP - GC_SWEEP_LOW_EXP) * GC_SWEEP_PER_DECADE + 2)

typedef struct {
    double h;
    double numeric;        /* D(h) */
    double rel_error;      /* against g . u */
    double rounding;       /* 64 eps max|L(+-)| / h, GC_LOSS_ROUNDING_ULPS */
    bool chosen;           /* the step gradcheck's direction check takes */
    bool kink;             /* the two evaluations crossed a kink */
} gc_sweep_point;

typedef struct {
    char tensor[32];
    size_t elements;
    size_t step;           /* training step, recorded only */
    double analytic;       /* g . u */
    double chosen_step;    /* step_scale eps^(1/3) max(rms(theta_t), 1) */
    double rms;            /* rms(theta_t) */
    size_t count;
    gc_sweep_point points[GC_SWEEP_POINTS_MAX];
    size_t best;           /* index of the smallest finite rel_error */
    size_t chosen;         /* index of the chosen step */
    /* The check's bands ([checks] pass_below, fail_above), for the
     * reports to draw; gc_sweep_compute leaves them NaN, the caller sets
     * them from its spec. */
    double pass_below, fail_above;
} gc_sweep;

/* Sweeps tensor `tensor` (an index into model->tensors) at model->params
 * for batch, with the direction drawn from `seed`.  model->params is left
 * unchanged.  step_scale is [checks] step_scale. */
gc_status gc_sweep_compute(gc_model *model, const gc_batch *batch,
                           size_t tensor, size_t step, double step_scale,
                           uint64_t seed, gc_sweep *sweep, gc_error *err);

/* The index of the tensor called name, or model->tensor_count when none
 * is. */
size_t gc_sweep_find_tensor(const gc_model *model, const char *name);

#endif
