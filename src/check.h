/* check.h - the model's gradient against finite differences of its loss.
 *
 * Two checks, both through the model interface only (model.h):
 *   - gc_check_directions: per tensor, the analytic gradient projected on
 *     one random unit direction u against the central difference
 *     (L(theta + h u) - L(theta - h u)) / 2h.  Cheap: two loss
 *     evaluations per tensor, run every step.
 *   - gc_check_elements: every element (or a seeded sample of them).
 *     Pre-activation method where the model shows its layers: numeric
 *     dL/dz by perturbing each z[b, i], then dW = dZ^T A_in and
 *     db = sum_b dZ, exact for a dense layer; parameter method otherwise,
 *     perturbing one parameter and recomputing only what it changes.
 *
 * Verdicts (docs/checks.md): with rel = |g - n| / (|g| + |n|) over the
 * tensor's checked elements and `noise` the estimated rounding error of n:
 *   inconclusive  |g| + |n| <= noise, or |g - n| <= noise and rel above
 *                 the pass band, or rel between the bands;
 *   pass          rel <= pass_below;
 *   fail          rel > fail_above and |g - n| > noise, or g is all zero
 *                 while n is not.
 * An all-zero analytic gradient is flagged and never passes.
 */
#ifndef GRADCHECK_CHECK_H
#define GRADCHECK_CHECK_H

#include "events.h"
#include "model.h"
#include "spec.h"
#include "status.h"

#include <gsl/gsl_rng.h>
#include <stddef.h>

/* The cube root of double's machine epsilon, 6.06e-6.  A central
 * difference has truncation error ~ h^2 |f'''| / 6 and rounding error
 * ~ eps |f| / h; their sum is smallest at h ~ eps^(1/3) times the scale on
 * which f varies, where both are ~ eps^(2/3) ~ 4e-11 relative. */
#define GC_CBRT_EPSILON 6.0554544523933395e-06

/* Rounding in a loss evaluation accumulates over many operations; the
 * noise estimate of one central difference allows this many epsilons of
 * the loss value (a forward pass of a few layers stays well within it). */
#define GC_LOSS_ROUNDING_ULPS 64.0

typedef struct {
    gc_check_method method;
    double step_scale;         /* multiplies every default step */
    double pass_below;
    double fail_above;
    size_t sample;             /* elements per tensor, 0 = all */
    /* Parameter method only: when non-NULL, the element check looks at
     * tensor t only where only[t] is true and leaves the other results
     * as they were (run.c localises a foreign model's failures). */
    const bool *only;
} gc_check_options;

typedef struct gc_checker gc_checker;

/* Buffers for a model with up to max_batch samples per batch. */
gc_status gc_checker_alloc(const gc_model *model, size_t max_batch,
                           gc_checker **out, gc_error *err);
void gc_checker_free(gc_checker *checker);

/* One result per tensor (results has model->tensor_count entries; their
 * step field is left for the caller).  grad is the model's gradient at
 * model->params for this batch.  Leaves model->params unchanged. */
gc_status gc_check_directions(gc_checker *checker, gc_model *model,
                              const gc_batch *batch, const double *grad,
                              const gc_check_options *options, gsl_rng *rng,
                              gc_check_event *results, gc_error *err);

gc_status gc_check_elements(gc_checker *checker, gc_model *model,
                            const gc_batch *batch, const double *grad,
                            const gc_check_options *options, gsl_rng *rng,
                            gc_check_event *results, gc_error *err);

/* After gc_check_elements: the numeric gradient (param_count values; NaN
 * where an element was not checked or crossed a kink), and, when the
 * pre-activation method ran, the numeric dL/dz of layer l (count x
 * width_l), else NULL. */
const double *gc_checker_numeric(const gc_checker *checker);
/* Loss evaluations (whole or partial) the checker made so far. */
size_t gc_checker_evaluations(const gc_checker *checker);
const double *gc_checker_numeric_deltas(const gc_checker *checker,
                                        size_t layer);

/* The verdict for one comparison (exposed for tests). */
gc_verdict gc_check_verdict(double rel_error, double analytic_norm,
                            double numeric_norm, double difference_norm,
                            double noise, const gc_check_options *options,
                            char *reason, size_t reason_size);

#endif
