/* health.h - training-health rules: the gradients are right, the training
 * is sick.
 *
 * The rules see values only: per-step batch values the run loop hands over
 * as they pass (the inputs and every layer's pre-activations, accumulated
 * into cheap per-unit and per-feature counters), per-window statistics
 * taken at the last step of each training window ([checks] drift_window
 * steps: the mean loss, per-layer weight, gradient and update norms, the
 * batch loss before and after that step's update), and check events.
 * Nothing here knows which mistake, if any, a config switched on.
 *
 * Ids (docs/findings/<id>.md), each reported once per run, per layer where
 * the rule is per layer:
 *   learning-rate-too-high   warning  network
 *   vanishing-gradients      warning  network
 *   exploding-gradients      warning  network
 *   dead-relu                warning  per layer
 *   saturated-units          warning  per layer
 *   symmetric-init           warning  per layer
 *   unscaled-inputs          warning  network
 *   loss-not-decreasing      warning  network
 *   check-rounding           warning  network, at the end of the run
 *   kink-excluded            info     network, at the end of the run
 *
 * Every threshold is a named constant below, with the reason for its size;
 * the same number and reason appear on the finding's page.
 */
#ifndef GRADCHECK_HEALTH_H
#define GRADCHECK_HEALTH_H

#include "events.h"
#include "spec.h"

#include <stdbool.h>
#include <stddef.h>

/* ---- unit statistics (dead-relu, saturated-units) ------------------------ */

/* Unit rules decide only from at least this many samples since their
 * counters were last reset: a unit inactive on 256 samples in a row is
 * inactive on at least 99% of the data with about 92% confidence
 * (0.99^256 = 0.08), so "never active" is a property of the unit, not of a
 * few unlucky batches.  The counters then start again, so the rules look
 * at recent batches, not the whole run. */
#define GC_HEALTH_UNIT_SAMPLES 256

/* dead-relu: a relu or leaky-relu layer is reported when at least this
 * fraction of its units had z > 0 on none of the recent samples.  A
 * healthy relu layer loses a few percent of its units to the negative side
 * (He-initialised layers on the fixtures: 0 to 3%); a quarter dead is a
 * visible loss of the layer's width, well beyond that. */
#define GC_DEAD_UNIT_FRACTION 0.25

/* saturated-units: a sigmoid or tanh unit is saturated on a sample when
 * its derivative there is below this fraction of the derivative's peak
 * (sigmoid 1/4 at z = 0, tanh 1 at z = 0): the gradient through it is
 * damped a hundredfold.  That is |z| > 5.99 for sigmoid, |z| > 2.99 for
 * tanh. */
#define GC_SATURATION_SLOPE_FRACTION 0.01
/* A unit counts as saturated when it was saturated on at least this
 * fraction of the recent samples: it then learns from at most 1 sample in
 * 20, and from those at full strength, so it barely moves. */
#define GC_SATURATED_SAMPLE_FRACTION 0.95
/* A hidden layer is reported when at least this fraction of its units
 * count as saturated: the healthy sigmoid fixtures keep every unit out of
 * saturation on most samples (0% saturated units), and a quarter of the
 * layer frozen is a visible loss of its width. */
#define GC_SATURATED_UNIT_FRACTION 0.25
/* An output layer (sigmoid or tanh) is reported when at least this
 * fraction of its (sample, unit) pairs are saturated on the wrong side of
 * their target (|a - y| > 1/2 while saturated): there the MSE gradient
 * (a - y) f'(z) is damped a hundredfold exactly where the error is
 * largest.  A trained classifier has some confidently wrong samples, but
 * far fewer than one pair in ten (0% on the sigmoid fixtures). */
#define GC_WRONG_SIDE_FRACTION 0.10

/* ---- learning-rate-too-high ---------------------------------------------- */

/* The rule compares each window with step 0.  It reports when the
 * window's mean loss is at least this fraction above the loss of the
 * first batch before any update: a network that learns is below its
 * starting loss from its first window on (0.3 to 0.85 of it on the
 * healthy fixtures), so a loss 10% above the start means training made
 * the network worse ... */
#define GC_LR_LOSS_RISE 0.10
/* ... while the norm of all weights has grown at least this many times
 * since step 0.  Healthy runs grow it by 2% to 60% over their first
 * windows; steps too large for the curvature throw the weights outward
 * (2.7 to 10^5 times on the fixtures that diverge). */
#define GC_LR_WEIGHT_GROWTH 2.0

/* ---- vanishing-gradients, exploding-gradients ---------------------------- */

/* The size of a layer's gradient per unit: the root mean square of the
 * model's per-sample dL/dz over the batch and the layer's units where the
 * model shows its deltas (the backward signal at that depth, whatever the
 * scale of the layer's inputs), else of its weight gradient per
 * parameter, |dL/dW_l| / sqrt(n_l).  The rules take the ratio of the
 * first layer's to the last layer's.  At step 0 one measurement decides
 * (the network as initialised); later, this many consecutive windows must
 * agree, because one-sample gradients vary by a factor of a few from step
 * to step. */
#define GC_GRADIENT_WINDOWS 3
/* Vanishing below this ratio.  The healthy fixtures sit between 0.03 and
 * 0.9 (two-layer sigmoid networks at the low end: each sigmoid passes at
 * most 1/4 of the signal back); a thousandth means the first layer learns
 * a thousand times more slowly than the last, what some five stacked
 * sigmoid layers do (ten give 1e-6). */
#define GC_VANISHING_RATIO 1e-3
/* Exploding above this ratio: a hundred times the largest healthy ratio,
 * a signal that grows by about 1.4 per layer over 14 layers.  The first
 * layer then takes steps a hundred times larger than the last, and no
 * single learning rate suits both. */
#define GC_EXPLODING_RATIO 1e2

/* ---- symmetric-init ------------------------------------------------------ */

/* Two weight rows are identical when no element differs by more than this
 * fraction of the larger of the two rows' largest |w|.  Rows drawn from
 * any random initialisation differ by O(1) relative; rows that start equal
 * and get equal gradients stay equal to the last few bits (the BLAS may
 * round two equal rows differently); 1e-9 separates the two by many
 * orders of magnitude. */
#define GC_SYMMETRIC_TOLERANCE 1e-9

/* ---- unscaled-inputs ----------------------------------------------------- */

/* The input check decides from at least this many samples: a per-feature
 * root mean square over 256 samples is not thrown off by one rare large
 * value of a standardised sparse feature. */
#define GC_INPUT_SAMPLES 256
/* A feature whose root mean square over those samples exceeds this is
 * unscaled.  With the usual 1/sqrt(fan_in) initialisation a first-layer
 * pre-activation has about the size of the inputs' root mean square, and
 * sigmoid and tanh saturate past |z| ~ 3..6; inputs ten times the unit
 * scale put them there at the first step (raw 0..255 pixels: ~100). */
#define GC_INPUT_RMS_MAX 10.0

/* ---- loss-not-decreasing ------------------------------------------------- */

/* Decided once, at the end of this many windows from the start ... */
#define GC_FLAT_WINDOWS 8
/* ... when the mean loss of the second half of them is not at least this
 * fraction below the mean of the first half.  A network that learns at
 * all drops its loss by tens of percent over its first windows (the
 * healthy fixtures: 2.3 to under 1 in 2,000 steps); 1% is within what
 * averaging a few windows leaves of their noise. */
#define GC_FLAT_DROP 0.01

/* ---- check-rounding ------------------------------------------------------ */

/* Only a check whose mismatch |g - n| is at most this many times its
 * estimated finite-difference error (noise) is repeated: the estimate is
 * the larger of a 64-ulp rounding bound and |D(h) - D(2h)|, which a
 * rounding error can exceed by a small factor when the estimate is
 * unlucky, but not a hundredfold.  A wrong gradient's mismatch is many
 * orders larger (1e8 times the noise on the softmax-mse fixtures), so a
 * broken backward is never repeated. */
#define GC_ROUNDING_CANDIDATE 100.0
/* A check that did not pass is repeated with a step this many times
 * larger.  A central difference's rounding error scales as 1/h, its
 * truncation error as h^2: at the default step (eps^(1/3)) both are
 * ~4e-11 relative, and ten times the step moves truncation to ~4e-9, still
 * far inside the pass band (1e-6), while rounding falls tenfold. */
#define GC_ROUNDING_STEP_FACTOR 10.0
/* The mismatch is rounding when, at the larger step, the check passes and
 * its relative error fell at least this many times.  Rounding predicts a
 * tenfold fall (GC_ROUNDING_STEP_FACTOR); a wrong gradient's mismatch does
 * not depend on the step and stays put; a factor of 3 leaves room for the
 * randomness of the rounding errors themselves. */
#define GC_ROUNDING_SHRINK 3.0

/* ---- interface ----------------------------------------------------------- */

typedef struct gc_health gc_health;

/* The network the rules watch.  widths[0] is the number of input
 * features; layers 1..layer_count have widths[l] units and activation[l]
 * (GC_ACT_IDENTITY where unknown).  layer_count 0: a black box, whose
 * unit rules stay silent. */
typedef struct {
    size_t layer_count;
    size_t widths[GC_MAX_LAYERS + 1];
    gc_activation activation[GC_MAX_LAYERS + 1];
} gc_health_shape;

/* NULL when out of memory. */
gc_health *gc_health_alloc(const gc_health_shape *shape);
void gc_health_free(gc_health *health);

/* One training batch, every step (cheap: a pass over the layers'
 * pre-activations and, until GC_INPUT_SAMPLES samples were seen, over the
 * inputs).  x: count x widths[0]; z[l]: count x widths[l], NULL where the
 * model does not show it; targets[k * widths[L] + unit] is the target of
 * output unit `unit` for sample k, or NULL when unknown. */
typedef struct {
    size_t count;
    const double *x;
    const double *z[GC_MAX_LAYERS + 1];
    const double *targets;
} gc_health_batch;

void gc_health_observe_batch(gc_health *health, const gc_health_batch *b);

/* The last step of a complete training window.  Per-layer arrays are
 * indexed 1..layer_count and describe the layer's weight tensor only. */
typedef struct {
    size_t step;                  /* the window's last step */
    size_t steps;                 /* steps in the window */
    double loss;                  /* mean training loss over the window */
    size_t layer_count;
    size_t weight_elements[GC_MAX_LAYERS + 1];
    double weight_norm[GC_MAX_LAYERS + 1];    /* |W_l| before the update */
    double gradient_norm[GC_MAX_LAYERS + 1];  /* |dL/dW_l| of this step */
    double update_norm[GC_MAX_LAYERS + 1];    /* |W_l after - before| */
    /* root mean square of the model's per-sample dL/dz of layer l over the
     * batch and the layer's units, when the model shows its deltas */
    bool deltas_known;
    double delta_rms[GC_MAX_LAYERS + 1];
    double batch_loss;            /* that step's batch loss, pre-update */
    /* g . (W after - W before) over the weight tensors: negative when the
     * update went downhill, as a descent step does */
    double descent;
    /* rows of W_l that equal another row (gc_health_identical_rows),
     * after this step's update and at step 0 before any update; used
     * when rows_known */
    bool rows_known;
    size_t identical_rows[GC_MAX_LAYERS + 1];
    size_t identical_rows_at_start[GC_MAX_LAYERS + 1];
    size_t rows[GC_MAX_LAYERS + 1];
} gc_health_window;

/* Step 0, after its update (steps and loss unused): where training
 * starts, for learning-rate-too-high, and the gradient flow of the network
 * as initialised (vanishing-gradients, exploding-gradients). */
size_t gc_health_first_step(gc_health *health, const gc_health_window *w,
                            gc_finding_event *out, size_t max);

/* Rules of the training curve, the weights and the units.  Writes up to
 * max findings to out; returns how many. */
size_t gc_health_window_end(gc_health *health, const gc_health_window *w,
                            gc_finding_event *out, size_t max);

/* True while the next window still needs identical-row counts (only the
 * first complete window does). */
bool gc_health_wants_rows(const gc_health *health);

/* How many rows of the rows x cols matrix w equal another of its rows to
 * within GC_SYMMETRIC_TOLERANCE.  O(rows log rows + cols rows) for
 * distinct rows.  rows must not exceed the widest layer of the shape
 * (or the input width). */
size_t gc_health_identical_rows(gc_health *health, const double *w,
                                size_t rows, size_t cols);

/* True when a check that did not pass is worth repeating at a larger
 * step: no kink crossing, and a mismatch within GC_ROUNDING_CANDIDATE
 * times its noise. */
bool gc_health_rounding_candidate(const gc_check_event *c);

/* True when `larger` (the same tensor checked with a step
 * GC_ROUNDING_STEP_FACTOR times larger) shows that `at_h`'s non-pass was
 * rounding: it passes, and its relative error fell at least
 * GC_ROUNDING_SHRINK times.  Never for a kink crossing. */
bool gc_health_is_rounding(const gc_check_event *at_h,
                           const gc_check_event *larger);

/* A pair for which gc_health_is_rounding() holds: counted for the
 * check-rounding finding of gc_health_finish(). */
void gc_health_observe_rounding(gc_health *health,
                                const gc_check_event *at_h,
                                const gc_check_event *larger);

/* Every check event of the run, for the kink counts. */
void gc_health_observe_check(gc_health *health, const gc_check_event *c);

/* The end of the run, with the counts over the run: check-rounding (at
 * the step and tensor of the first such check) and kink-excluded (at the
 * step and layer of the first kink crossing). */
size_t gc_health_finish(gc_health *health, gc_finding_event *out,
                        size_t max);

/* True when `activation` at pre-activation z is saturated (sigmoid and
 * tanh only; see GC_SATURATION_SLOPE_FRACTION). */
bool gc_health_saturated(gc_activation activation, double z);

#endif
