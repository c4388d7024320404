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

/* The fifth root of double's epsilon, 7.40e-4: the Richardson step.  The
 * combination of steps h and h/2 cancels the h^2 term, leaving
 * truncation ~ h^4 against rounding ~ eps / h; they balance at
 * h ~ eps^(1/5), both ~ eps^(4/5) ~ 3e-13 relative. */
#define GC_FIFTH_ROOT_EPSILON 7.4009597974140505e-04

/* The complex step: Im f(x + ih) / h has no subtraction, so its rounding
 * error does not grow as h shrinks; its truncation h^2 |f'''| / 6 is
 * ~1e-40 relative at 1e-20, far below rounding. */
#define GC_COMPLEX_STEP 1e-20

/* Points per batched partial evaluation (gc_layer_view's
 * sample_losses_unit).  Fixed, so that how points are grouped never
 * depends on the thread count.  A thread's scratch is 3 x 64 x (widest
 * layer) doubles, 200 KB for a 128-unit layer: small enough that even
 * on 64-32-10 the check stays within issue 7's memory bound (twice a
 * forward-backward plus the parameters), where 128 points made it 1.42
 * times that; one thread's parameter-method time was the same within
 * the noise of a shared machine (784-64-10: 161 against 168 ms;
 * 784-128-64-10: 2.00 against 2.08 s). */
#define GC_POINTS_PER_CALL 64

/* Element checks with fewer loss evaluations than this run on one thread
 * (check.c, usable_threads): 65,536 one-sample evaluations take a few
 * milliseconds, about what a thread team costs on a loaded machine. */
#define GC_PARALLEL_MIN_POINTS 65536

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
    gc_difference difference;  /* element checks: central by default */
    size_t threads;            /* element checks; 0 = OpenMP's default */
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
/* After gc_check_elements: the error estimate of each numeric element
 * (param_count values, NaN where not checked): rounding bounds, plus for
 * Richardson the measured truncation |r5 - r3|, plus for the central
 * pre-activation method |D(h) - D(2h)| (docs/checks.md, "Error
 * estimate").  Like the numeric gradient it is valid until the next
 * check of either kind: a direction check keeps its probe directions in
 * the same buffer. */
const double *gc_checker_numeric_error(const gc_checker *checker);
const double *gc_checker_numeric_deltas(const gc_checker *checker,
                                        size_t layer);

/* GC_OK when the element checks can use options->difference on this
 * model; otherwise GC_EINVAL with a message that says why (complex step
 * on a relu network, or on a model without a complex evaluation). */
gc_status gc_check_supported(gc_model *model, const gc_check_options *options,
                             gc_error *err);

/* The verdict for one comparison (exposed for tests). */
gc_verdict gc_check_verdict(double rel_error, double analytic_norm,
                            double numeric_norm, double difference_norm,
                            double noise, const gc_check_options *options,
                            char *reason, size_t reason_size);

#endif
