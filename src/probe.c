/* probe.c - histograms and statistics with GSL (probe.h). */
#include "probe.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_histogram.h>
#include <gsl/gsl_statistics_double.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

struct gc_probe {
    size_t max_values;
    size_t bins;
    double *finite;          /* the finite values, compacted */
    double *edges;           /* bins + 1 */
    double *counts;          /* bins */
    size_t filled;           /* finite values in `source` */
    const double *source;    /* the finite values: the caller's array, or
                                `finite` when some were not */
    gsl_histogram *histogram;
};

gc_status gc_probe_alloc(size_t max_values, size_t bins, gc_probe **out,
                         gc_error *err)
{
    *out = NULL;
    if (bins == 0)
        return gc_error_set(err, GC_EINVAL, "a histogram needs >= 1 bin");
    gc_probe *p = calloc(1, sizeof *p);
    if (p == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for a histogram");
    p->max_values = max_values;
    p->bins = bins;
    p->finite = malloc((max_values ? max_values : 1) * sizeof(double));
    p->edges = malloc((bins + 1) * sizeof(double));
    p->counts = malloc(bins * sizeof(double));
    p->histogram = gsl_histogram_alloc(bins);
    if (!p->finite || !p->edges || !p->counts || !p->histogram) {
        gc_probe_free(p);
        return gc_error_set(err, GC_ENOMEM, "no memory for a histogram");
    }
    *out = p;
    return GC_OK;
}

void gc_probe_free(gc_probe *p)
{
    if (p == NULL)
        return;
    free(p->finite);
    free(p->edges);
    free(p->counts);
    if (p->histogram != NULL)
        gsl_histogram_free(p->histogram);
    free(p);
}

/* The bins' range for values in [lo, hi], in units of *scale (values are
 * binned as x * scale).  GSL wants hi > lo, finite, and excludes the top
 * edge, so:
 *   - the top edge is widened by the larger of 1e-12 of the range (far
 *     below a bin width for any bin count under a million) and 4 ulps of
 *     the largest magnitude (so that the widening survives rounding when
 *     the spread is tiny next to the values);
 *   - a constant array gets a bin range of half-width max(0.5, 1e-9 |v|)
 *     around its value (0.5 alone vanishes in rounding above 2^52);
 *   - values near DBL_MAX, whose range would overflow, are binned at a
 *     quarter of their size (an exact power-of-two scaling). */
static void histogram_range(double lo, double hi, double *a, double *b,
                            double *scale)
{
    bool fits = fabs(lo) < DBL_MAX / 4 && fabs(hi) < DBL_MAX / 4;
    *scale = fits ? 1.0 : 0.25;
    lo *= *scale;
    hi *= *scale;
    double big = fmax(fabs(lo), fabs(hi));
    double ulp = nextafter(big, INFINITY) - big;
    if (hi > lo) {
        *a = lo;
        *b = hi + fmax((hi - lo) * 1e-12, 4.0 * ulp);
        return;
    }
    double half = fmax(0.5 * *scale, 1e-9 * big);
    *a = lo - half;
    *b = hi + half;
}

/* Adds every stride-th finite value to the histogram's bins (stride 1:
 * all of them).  The bin is computed from the uniform width, then moved by
 * one where rounding put it on the wrong side of an edge, so each value
 * lands in the bin GSL's own gsl_histogram_increment would choose
 * ([lower, upper)), at a fraction of its per-call cost.  Returns how many
 * values were binned. */
static size_t bin_values(gc_probe *p, double scale, size_t stride)
{
    gsl_histogram *h = p->histogram;
    const double *range = h->range;
    size_t bins = h->n, binned = 0;
    double lo = range[0], per = (double)bins / (range[bins] - range[0]);
    for (size_t i = 0; i < p->bins; i++)
        h->bin[i] = 0.0;
    for (size_t i = 0; i < p->filled; i += stride, binned++) {
        double x = p->source[i] * scale;
        double u = (x - lo) * per;
        size_t k = u <= 0.0 ? 0 : u >= (double)bins ? bins - 1 : (size_t)u;
        if (k > 0 && x < range[k])
            k--;
        else if (k + 1 < bins && x >= range[k + 1])
            k++;
        h->bin[k] += 1.0;
    }
    return binned;
}

/* Sums and extremes run in LANES independent accumulators, combined at
 * the end: one serial chain of additions waits out the adder's latency
 * (about 4 cycles) at every value, four chains keep it busy.  The order
 * of the additions is fixed, so the result is the same on every run. */
#define LANES 4

/* Minimum, maximum and sum of x[0..n) when every value is finite (true);
 * false when some value is not (a NaN or an infinity makes the sum NaN or
 * infinite) or the finite sum overflowed: the caller then takes the
 * careful path. */
static bool range_and_sum(const double *x, size_t n, double *lo, double *hi,
                          double *sum)
{
    double l[LANES], h[LANES], s[LANES];
    for (size_t k = 0; k < LANES; k++) {
        l[k] = INFINITY;
        h[k] = -INFINITY;
        s[k] = 0.0;
    }
    size_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++) {
            double v = x[i + k];
            l[k] = v < l[k] ? v : l[k];
            h[k] = v > h[k] ? v : h[k];
            s[k] += v;
        }
    for (; i < n; i++) {
        l[0] = x[i] < l[0] ? x[i] : l[0];
        h[0] = x[i] > h[0] ? x[i] : h[0];
        s[0] += x[i];
    }
    *lo = fmin(fmin(l[0], l[1]), fmin(l[2], l[3]));
    *hi = fmax(fmax(h[0], h[1]), fmax(h[2], h[3]));
    *sum = (s[0] + s[1]) + (s[2] + s[3]);
    return isfinite(*sum);
}

/* The same over the finite values only; returns how many there are. */
static size_t finite_range_and_sum(const double *x, size_t n, double *lo,
                                   double *hi, double *sum)
{
    size_t finite = 0;
    *lo = INFINITY;
    *hi = -INFINITY;
    *sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i]))
            continue;
        finite++;
        *lo = x[i] < *lo ? x[i] : *lo;
        *hi = x[i] > *hi ? x[i] : *hi;
        *sum += x[i];
    }
    return finite;
}

/* The sum of squared deviations of every finite value from mean. */
static double squared_deviations(const gc_probe *p, double mean)
{
    double s[LANES] = {0.0};
    size_t i = 0, n = p->filled;
    const double *x = p->source;
    for (; i + LANES <= n; i += LANES)
        for (size_t k = 0; k < LANES; k++) {
            double d = x[i + k] - mean;
            s[k] += d * d;
        }
    for (; i < n; i++)
        s[0] += (x[i] - mean) * (x[i] - mean);
    return (s[0] + s[1]) + (s[2] + s[3]);
}

gc_status gc_probe_histogram(gc_probe *p, const double *values, size_t n,
                             gc_histogram_event *ev, gc_error *err)
{
    if (n > p->max_values)
        return gc_error_set(err, GC_EINVAL,
                            "%zu values exceed the probe's %zu", n,
                            p->max_values);
    /* First pass: the finite values' count, range and sum.  Only when
     * some value is not finite are the others copied aside. */
    size_t finite = n;
    double lo, hi, sum;
    if (!range_and_sum(values, n, &lo, &hi, &sum))
        finite = finite_range_and_sum(values, n, &lo, &hi, &sum);
    p->source = values;
    if (finite < n) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (isfinite(values[i]))
                p->finite[k++] = values[i];
        p->source = p->finite;
    }
    p->filled = finite;
    ev->count = finite;
    ev->nonfinite = n - finite;
    ev->bins = p->bins;
    ev->edges = p->edges;
    ev->counts = p->counts;
    ev->binned = 0;
    if (finite == 0) {
        ev->mean = ev->std = ev->min = ev->max = NAN;
        for (size_t b = 0; b <= p->bins; b++)
            p->edges[b] = NAN;
        for (size_t b = 0; b < p->bins; b++)
            p->counts[b] = 0.0;
        return GC_OK;
    }
    ev->min = lo;
    ev->max = hi;
    /* A sum that overflowed (values near DBL_MAX) falls back on GSL's
     * running mean, which cannot. */
    ev->mean = isfinite(sum) ? sum / (double)finite
                             : gsl_stats_mean(p->source, 1, finite);
    double bottom, top, scale;
    histogram_range(ev->min, ev->max, &bottom, &top, &scale);
    if (gsl_histogram_set_ranges_uniform(p->histogram, bottom, top)
        != GSL_SUCCESS)
        return gc_error_set(err, GC_ENUMERIC,
                            "GSL could not set histogram range [%g, %g]",
                            bottom / scale, top / scale);
    /* Second pass: the squared deviations from the mean (GSL's two-pass
     * formula, in double; an overflowing sum of squares falls back on
     * GSL's scaled computation), and the bins, of a sample above
     * GC_PROBE_BIN_SAMPLE values. */
    double squares = squared_deviations(p, ev->mean);
    size_t stride = (finite + GC_PROBE_BIN_SAMPLE - 1) / GC_PROBE_BIN_SAMPLE;
    ev->binned = bin_values(p, scale, stride);
    if (finite < 2)
        ev->std = 0.0;
    else if (isfinite(squares))
        ev->std = sqrt(squares / (double)(finite - 1));
    else
        ev->std = gsl_stats_sd_m(p->source, 1, finite, ev->mean);
    for (size_t b = 0; b < p->bins; b++) {
        double lower, upper;
        gsl_histogram_get_range(p->histogram, b, &lower, &upper);
        /* back in the values' units; a top edge just past DBL_MAX is
         * reported as DBL_MAX so that every edge stays finite */
        p->edges[b] = fmax(-DBL_MAX, fmin(DBL_MAX, lower / scale));
        p->edges[b + 1] = fmax(-DBL_MAX, fmin(DBL_MAX, upper / scale));
        p->counts[b] = gsl_histogram_get(p->histogram, b);
    }
    return GC_OK;
}
