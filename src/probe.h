/* probe.h - histograms and summary statistics of one quantity of a layer.
 *
 * A probe bins the finite values of an array (weights, biases,
 * pre-activations, activations, gradients) into a GSL histogram spanning
 * [min, max] of those values and computes their mean, standard deviation,
 * minimum and maximum with GSL's statistics.  Non-finite values are
 * counted, not binned.
 */
#ifndef GRADCHECK_PROBE_H
#define GRADCHECK_PROBE_H

#include "events.h"
#include "status.h"

#include <stddef.h>

/* Above this many finite values the bins count a systematic sample of
 * them (every k-th value, k = ceil(count / GC_PROBE_BIN_SAMPLE)); the
 * count, mean, standard deviation, minimum, maximum and the bin edges
 * still use every value.  Binning is the costly part of a histogram (a
 * division and a scattered increment per value), and at batch 1 the
 * first layer's 78,400 weights and as many gradients made the histograms
 * of a full check cost twice the check itself.  A sample of 8,192 puts
 * a bin holding 5% of the values within about 5% of its share (the
 * binomial standard error sqrt(0.05 * 0.95 / 8192) = 0.24% of all
 * values), finer than a heat strip's shading shows. */
#define GC_PROBE_BIN_SAMPLE 8192

typedef struct gc_probe gc_probe;

/* Workspace for arrays of up to max_values values and `bins` bins. */
gc_status gc_probe_alloc(size_t max_values, size_t bins, gc_probe **out,
                         gc_error *err);
void gc_probe_free(gc_probe *probe);

/* Fills ev (count, nonfinite, mean, std, min, max, bins, edges, counts,
 * binned: how many values the counts hold) from values[0..n).  edges and
 * counts point into the probe and stay valid until its next use.  step,
 * layer, quantity and mean_trend are left for the caller. */
gc_status gc_probe_histogram(gc_probe *probe, const double *values, size_t n,
                             gc_histogram_event *ev, gc_error *err);

#endif
