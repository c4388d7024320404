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

typedef struct gc_probe gc_probe;

/* Workspace for arrays of up to max_values values and `bins` bins. */
gc_status gc_probe_alloc(size_t max_values, size_t bins, gc_probe **out,
                         gc_error *err);
void gc_probe_free(gc_probe *probe);

/* Fills ev (count, nonfinite, mean, std, min, max, bins, edges, counts)
 * from values[0..n).  edges and counts point into the probe and stay
 * valid until its next use.  step, layer, quantity and mean_trend are
 * left for the caller. */
gc_status gc_probe_histogram(gc_probe *probe, const double *values, size_t n,
                             gc_histogram_event *ev, gc_error *err);

#endif
