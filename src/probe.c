/* probe.c - histograms and statistics with GSL (probe.h). */
#include "probe.h"

#include <gsl/gsl_errno.h>
#include <gsl/gsl_histogram.h>
#include <gsl/gsl_statistics_double.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>

struct gc_probe {
    size_t max_values;
    size_t bins;
    double *finite;          /* the finite values, compacted */
    double *edges;           /* bins + 1 */
    double *counts;          /* bins */
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

gc_status gc_probe_histogram(gc_probe *p, const double *values, size_t n,
                             gc_histogram_event *ev, gc_error *err)
{
    if (n > p->max_values)
        return gc_error_set(err, GC_EINVAL,
                            "%zu values exceed the probe's %zu", n,
                            p->max_values);
    size_t finite = 0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(values[i]))
            p->finite[finite++] = values[i];
    ev->count = finite;
    ev->nonfinite = n - finite;
    ev->bins = p->bins;
    ev->edges = p->edges;
    ev->counts = p->counts;
    if (finite == 0) {
        ev->mean = ev->std = ev->min = ev->max = NAN;
        for (size_t b = 0; b <= p->bins; b++)
            p->edges[b] = NAN;
        for (size_t b = 0; b < p->bins; b++)
            p->counts[b] = 0.0;
        return GC_OK;
    }
    gsl_stats_minmax(&ev->min, &ev->max, p->finite, 1, finite);
    ev->mean = gsl_stats_mean(p->finite, 1, finite);
    ev->std = finite > 1 ? gsl_stats_sd_m(p->finite, 1, finite, ev->mean)
                         : 0.0;
    double lo, hi, scale;
    histogram_range(ev->min, ev->max, &lo, &hi, &scale);
    if (gsl_histogram_set_ranges_uniform(p->histogram, lo, hi) != GSL_SUCCESS)
        return gc_error_set(err, GC_ENUMERIC,
                            "GSL could not set histogram range [%g, %g]",
                            lo / scale, hi / scale);
    for (size_t i = 0; i < finite; i++)
        gsl_histogram_increment(p->histogram, p->finite[i] * scale);
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
