/* test_probe.c - the GSL histogram and statistics probe (probe.h) on data
 * whose answers are known: summary statistics, bin counts, values on the
 * range's edges, non-finite values, constant and empty arrays, reuse of
 * one probe, and the argument checks.
 *
 * The trend of a mean across checks (mean_trend) is not the probe's: the
 * run loop computes it (run.c, emit_histogram); here the probe is only
 * required to leave it, like step, layer and quantity, to the caller.
 */
#include "events.h"
#include "probe.h"
#include "status.h"
#include "test_util.h"

#include <criterion/criterion.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_statistics_double.h>

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BINS 5
#define MAX_VALUES 2000

/* GSL's mean is a running recurrence and its standard deviation a
 * two-pass sum; for the handful of small values here each rounds by a few
 * ulps, so 1e-14 relative (~45 ulps) is ample and still catches a wrong
 * formula (n instead of n - 1 changes the std by 7% for n = 8). */
#define STATS_REL 1e-14
#define STATS_ABS 1e-300

/* The top edge is widened by 1e-12 of max(|max|, max - min) so that the
 * maximum, which GSL's exclusive upper edge would drop, is binned
 * (probe.c).  Allow that widening and a few ulps of rounding on top. */
#define TOP_EDGE_WIDEN 1e-12
#define EDGE_ROUNDING (8 * DBL_EPSILON)

/* On a range [0, 10] the widening moves the top edge by 1e-11 and each
 * interior edge by its share of that; 2e-11 absolute covers it, and is far
 * below the bin width of 2. */
#define NOMINAL_EDGE_ABS (2.0 * 10.0 * TOP_EDGE_WIDEN)

/* ---- helpers ------------------------------------------------------------- */

static gc_probe *probe_make(size_t max_values, size_t bins)
{
    gc_probe *p = NULL;
    gc_error err;
    cr_assert_eq(gc_probe_alloc(max_values, bins, &p, &err), GC_OK, "%s",
                 err.message);
    cr_assert_not_null(p);
    return p;
}

static gc_histogram_event histogram_of(gc_probe *p, const double *v,
                                       size_t n)
{
    gc_histogram_event ev;
    memset(&ev, 0, sizeof ev);
    gc_error err;
    cr_assert_eq(gc_probe_histogram(p, v, n, &ev, &err), GC_OK, "%s",
                 err.message);
    return ev;
}

static double counts_sum(const gc_histogram_event *ev)
{
    double s = 0.0;
    for (size_t b = 0; b < ev->bins; b++)
        s += ev->counts[b];
    return s;
}

/* The bin the reported edges put v in: edges[b] <= v < edges[b + 1];
 * bins when none does. */
static size_t bin_by_edges(const gc_histogram_event *ev, double v)
{
    for (size_t b = 0; b < ev->bins; b++)
        if (ev->edges[b] <= v && v < ev->edges[b + 1])
            return b;
    return ev->bins;
}

/* Everything a histogram of finite data must satisfy: edges strictly
 * ascending from min to just above max, every value in a bin by those
 * edges, each bin's count equal to a recount, the counts summing to the
 * number of finite values, the minimum in the first bin, the maximum in
 * the last. */
static void assert_consistent(const gc_histogram_event *ev, const double *v,
                              size_t n)
{
    cr_assert_gt(ev->count, 0);
    cr_assert_eq(ev->edges[0], ev->min, "the range starts at the minimum");
    cr_assert_gt(ev->edges[ev->bins], ev->max,
                 "the top edge (exclusive) lies above the maximum");
    double widen = TOP_EDGE_WIDEN * fmax(fabs(ev->max), ev->max - ev->min);
    cr_assert_leq(ev->edges[ev->bins] - ev->max,
                  widen * (1.0 + EDGE_ROUNDING) +
                      EDGE_ROUNDING * fabs(ev->max),
                  "top edge %.17g, max %.17g", ev->edges[ev->bins], ev->max);
    for (size_t b = 0; b < ev->bins; b++)
        cr_assert_lt(ev->edges[b], ev->edges[b + 1], "edges %zu, %zu", b,
                     b + 1);

    double *recount = calloc(ev->bins, sizeof(double));
    cr_assert_not_null(recount);
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v[i]))
            continue;
        size_t b = bin_by_edges(ev, v[i]);
        cr_assert_lt(b, ev->bins, "value %.17g is in no bin", v[i]);
        recount[b] += 1.0;
    }
    for (size_t b = 0; b < ev->bins; b++)
        cr_assert_eq(ev->counts[b], recount[b], "bin %zu: %g, recount %g", b,
                     ev->counts[b], recount[b]);
    free(recount);
    cr_assert_eq(counts_sum(ev), (double)ev->count);
    cr_assert_eq(bin_by_edges(ev, ev->min), 0);
    cr_assert_eq(bin_by_edges(ev, ev->max), ev->bins - 1);
}

/* ---- statistics ---------------------------------------------------------- */

/* {2, 4, 4, 4, 5, 5, 7, 9}: mean 5, sum of squared deviations 32.  The
 * probe reports GSL's sample standard deviation, sqrt(32 / (n - 1)); the
 * population one would be sqrt(32 / n) = 2. */
Test(probe_stats, mean_std_min_max_of_a_known_vector)
{
    const double v[] = {4, 2, 5, 9, 4, 7, 4, 5};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 8);
    cr_assert_eq(ev.count, 8);
    cr_assert_eq(ev.nonfinite, 0);
    gc_assert_close(ev.mean, 5.0, STATS_REL, STATS_ABS);
    gc_assert_close(ev.std, sqrt(32.0 / 7.0), STATS_REL, STATS_ABS);
    cr_assert_eq(ev.min, 2.0);
    cr_assert_eq(ev.max, 9.0);
    cr_assert_eq(ev.bins, BINS);
    assert_consistent(&ev, v, 8);
    gc_probe_free(p);
}

Test(probe_stats, negative_values_and_their_order_do_not_matter)
{
    const double v[] = {-1.5, -7.25, 3.0, -0.25};
    /* mean -1.5; deviations 0, -5.75, 4.5, 1.25; squares sum 54.875 */
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 4);
    gc_assert_close(ev.mean, -1.5, STATS_REL, STATS_ABS);
    gc_assert_close(ev.std, sqrt(54.875 / 3.0), STATS_REL, STATS_ABS);
    cr_assert_eq(ev.min, -7.25);
    cr_assert_eq(ev.max, 3.0);
    assert_consistent(&ev, v, 4);
    gc_probe_free(p);
}

Test(probe_stats, one_value_has_zero_std)
{
    const double v[] = {-3.5};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 1);
    cr_assert_eq(ev.count, 1);
    cr_assert_eq(ev.mean, -3.5);
    cr_assert_eq(ev.std, 0.0);
    cr_assert_eq(ev.min, -3.5);
    cr_assert_eq(ev.max, -3.5);
    cr_assert_eq(counts_sum(&ev), 1.0);
    gc_probe_free(p);
}

/* The probe fills only what it computes; the caller's fields stay. */
Test(probe_stats, leaves_step_layer_quantity_and_mean_trend_to_the_caller)
{
    const double v[] = {1.0, 2.0, 3.0};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev;
    memset(&ev, 0, sizeof ev);
    ev.step = 41;
    ev.layer = 3;
    ev.quantity = GC_QTY_ACTIVATIONS;
    ev.mean_trend = -0.125;
    gc_error err;
    cr_assert_eq(gc_probe_histogram(p, v, 3, &ev, &err), GC_OK);
    cr_assert_eq(ev.step, 41);
    cr_assert_eq(ev.layer, 3);
    cr_assert_eq(ev.quantity, GC_QTY_ACTIVATIONS);
    cr_assert_eq(ev.mean_trend, -0.125);
    gc_assert_close(ev.mean, 2.0, STATS_REL, STATS_ABS);
    gc_probe_free(p);
}

/* ---- bins ---------------------------------------------------------------- */

/* Range [0, 10] in 5 bins of width 2 (plus the tiny top widening); every
 * value sits well inside its bin, so the counts are known exactly. */
Test(probe_bins, known_counts)
{
    const double v[] = {0.0, 1.0, 3.0, 3.0, 5.0, 7.0, 9.0, 9.0, 9.0, 10.0};
    const double expect[BINS] = {2, 2, 1, 1, 4};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 10);
    for (size_t b = 0; b < BINS; b++) {
        cr_assert_eq(ev.counts[b], expect[b], "bin %zu: %g", b, ev.counts[b]);
        /* nominal edges 0, 2, 4, 6, 8, 10, moved only by the widening */
        gc_assert_close(ev.edges[b], 2.0 * (double)b, 0.0, NOMINAL_EDGE_ABS);
    }
    gc_assert_close(ev.edges[BINS], 10.0, 0.0, NOMINAL_EDGE_ABS);
    cr_assert_eq(counts_sum(&ev), 10.0);
    assert_consistent(&ev, v, 10);
    gc_probe_free(p);
}

/* 1000 gaussian values in 30 bins: every one is counted once. */
Test(probe_bins, counts_sum_to_the_element_count)
{
    enum { N = 1000, B = 30 };
    double *v = malloc(N * sizeof(double));
    cr_assert_not_null(v);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    for (size_t i = 0; i < N; i++)
        v[i] = gsl_ran_gaussian(rng, 0.05) + 0.01;
    gsl_rng_free(rng);
    gc_probe *p = probe_make(N, B);
    gc_histogram_event ev = histogram_of(p, v, N);
    cr_assert_eq(ev.count, N);
    cr_assert_eq(ev.bins, B);
    cr_assert_eq(counts_sum(&ev), (double)N);
    assert_consistent(&ev, v, N);
    free(v);
    gc_probe_free(p);
}

/* The minimum and the maximum, repeated, land in the first and last bins:
 * GSL's upper edge is exclusive, and without the widening the maxima would
 * be dropped. */
Test(probe_bins, values_on_the_range_edges_are_binned)
{
    const double v[] = {3.0, -1.0, 0.5, 3.0, -1.0, 3.0};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 6);
    cr_assert_eq(ev.edges[0], -1.0);
    cr_assert_eq(ev.counts[0], 2.0, "the two minima");
    cr_assert_eq(ev.counts[BINS - 1], 3.0, "the three maxima");
    cr_assert_eq(counts_sum(&ev), 6.0);
    assert_consistent(&ev, v, 6);
    gc_probe_free(p);
}

Test(probe_bins, one_bin_holds_everything)
{
    const double v[] = {-2.0, 0.0, 2.0, 8.0};
    gc_probe *p = probe_make(MAX_VALUES, 1);
    gc_histogram_event ev = histogram_of(p, v, 4);
    cr_assert_eq(ev.bins, 1);
    cr_assert_eq(ev.counts[0], 4.0);
    assert_consistent(&ev, v, 4);
    gc_probe_free(p);
}

/* A constant array gets a unit-wide range centred on its value (probe.c),
 * and every copy of the value is in the one bin containing it. */
Test(probe_bins, constant_array_gets_a_unit_range_around_its_value)
{
    const double v[] = {0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25};
    gc_probe *p = probe_make(MAX_VALUES, 4);
    gc_histogram_event ev = histogram_of(p, v, 7);
    cr_assert_eq(ev.std, 0.0);
    cr_assert_eq(ev.mean, 0.25);
    cr_assert_eq(ev.edges[0], 0.25 - 0.5);
    cr_assert_eq(ev.edges[4], 0.25 + 0.5);
    size_t b = bin_by_edges(&ev, 0.25);
    cr_assert_lt(b, 4);
    cr_assert_eq(ev.counts[b], 7.0);
    cr_assert_eq(counts_sum(&ev), 7.0);
    gc_probe_free(p);
}

/* One probe reused: the second histogram counts only the second array
 * (GSL resets the bins when the range is set) and has its own range. */
Test(probe_bins, reuse_does_not_accumulate)
{
    const double first[] = {0.0, 1.0, 2.0, 3.0, 4.0};
    const double second[] = {-10.0, -9.0, -8.5};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event a = histogram_of(p, first, 5);
    cr_assert_eq(counts_sum(&a), 5.0);
    gc_histogram_event b = histogram_of(p, second, 3);
    cr_assert_eq(b.count, 3);
    cr_assert_eq(counts_sum(&b), 3.0);
    cr_assert_eq(b.edges[0], -10.0);
    cr_assert_eq(b.min, -10.0);
    cr_assert_eq(b.max, -8.5);
    assert_consistent(&b, second, 3);
    /* a's arrays belong to the probe: they now show the second histogram */
    cr_assert_eq(a.edges, b.edges);
    cr_assert_eq(a.counts, b.counts);
    gc_probe_free(p);
}

/* ---- non-finite values --------------------------------------------------- */

/* NaN, +Inf and -Inf are counted in nonfinite, left out of the bins and of
 * every statistic. */
Test(probe_nonfinite, counted_not_binned)
{
    const double v[] = {NAN, 1.0, INFINITY, 3.0, -INFINITY, 2.0, -NAN};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 7);
    cr_assert_eq(ev.count, 3);
    cr_assert_eq(ev.nonfinite, 4);
    gc_assert_close(ev.mean, 2.0, STATS_REL, STATS_ABS);
    gc_assert_close(ev.std, 1.0, STATS_REL, STATS_ABS);
    cr_assert_eq(ev.min, 1.0);
    cr_assert_eq(ev.max, 3.0);
    for (size_t b = 0; b <= BINS; b++)
        cr_assert(isfinite(ev.edges[b]), "edge %zu = %g", b, ev.edges[b]);
    cr_assert_eq(counts_sum(&ev), 3.0);
    assert_consistent(&ev, v, 7);
    gc_probe_free(p);
}

/* Nothing finite: no statistic exists, so each is NaN, the edges are NaN
 * and every count is 0. */
Test(probe_nonfinite, all_nonfinite_gives_nan_statistics_and_empty_bins)
{
    const double v[] = {NAN, INFINITY, -INFINITY};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 3);
    cr_assert_eq(ev.count, 0);
    cr_assert_eq(ev.nonfinite, 3);
    gc_assert_close(ev.mean, NAN, 0.0, 0.0);
    gc_assert_close(ev.std, NAN, 0.0, 0.0);
    gc_assert_close(ev.min, NAN, 0.0, 0.0);
    gc_assert_close(ev.max, NAN, 0.0, 0.0);
    cr_assert_eq(ev.bins, BINS);
    for (size_t b = 0; b <= BINS; b++)
        cr_assert(isnan(ev.edges[b]), "edge %zu = %g", b, ev.edges[b]);
    for (size_t b = 0; b < BINS; b++)
        cr_assert_eq(ev.counts[b], 0.0);
    gc_probe_free(p);
}

/* After a histogram of real data, an all-NaN one must not show the old
 * counts. */
Test(probe_nonfinite, all_nonfinite_after_data_clears_the_counts)
{
    const double data[] = {1.0, 2.0, 3.0, 4.0};
    const double nans[] = {NAN, NAN};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    histogram_of(p, data, 4);
    gc_histogram_event ev = histogram_of(p, nans, 2);
    cr_assert_eq(ev.count, 0);
    cr_assert_eq(ev.nonfinite, 2);
    cr_assert_eq(counts_sum(&ev), 0.0);
    gc_probe_free(p);
}

Test(probe_nonfinite, empty_array_has_no_values_and_nan_statistics)
{
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, NULL, 0);
    cr_assert_eq(ev.count, 0);
    cr_assert_eq(ev.nonfinite, 0);
    gc_assert_close(ev.mean, NAN, 0.0, 0.0);
    gc_assert_close(ev.std, NAN, 0.0, 0.0);
    cr_assert_eq(counts_sum(&ev), 0.0);
    gc_probe_free(p);
}

/* ---- arguments ----------------------------------------------------------- */

Test(probe_args, zero_bins_is_rejected)
{
    static char sentinel;
    gc_probe *p = (gc_probe *)&sentinel;   /* must be reset to NULL */
    gc_error err;
    cr_assert_eq(gc_probe_alloc(10, 0, &p, &err), GC_EINVAL);
    cr_assert_eq(err.code, GC_EINVAL);
    cr_assert_null(p);
    gc_probe_free(NULL);
}

Test(probe_args, more_values_than_max_values_is_rejected)
{
    const double v[] = {1.0, 2.0, 3.0, 4.0};
    gc_probe *p = probe_make(3, BINS);
    gc_histogram_event ev;
    gc_error err;
    cr_assert_eq(gc_probe_histogram(p, v, 4, &ev, &err), GC_EINVAL);
    cr_assert_eq(err.code, GC_EINVAL);
    cr_assert_neq(strstr(err.message, "4 values"), NULL, "%s", err.message);
    /* exactly max_values is fine */
    ev = histogram_of(p, v, 3);
    cr_assert_eq(ev.count, 3);
    gc_probe_free(p);
}

Test(probe_args, zero_max_values_accepts_an_empty_array)
{
    gc_probe *p = probe_make(0, BINS);
    gc_histogram_event ev = histogram_of(p, NULL, 0);
    cr_assert_eq(ev.count, 0);
    gc_probe_free(p);
}

/* ---- ranges at the edges of double ----------------------------------------- *
 * What probe.h and docs/json.md promise for values whose range is hard to
 * bin.  GSL's abort-on-error handler is switched off, as main() does, so a
 * GSL failure shows as a status instead of a crash. */

/* A constant array: [v - 0.5, v + 0.5] would round back to v for
 * |v| >= 2^52 and GSL would reject the empty range, stopping a run at one
 * large bias (a 1-unit output layer). */
Test(probe_edges, constant_large_value_gets_a_histogram)
{
    gsl_set_error_handler_off();
    const double v[] = {1e17};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev;
    gc_error err;
    cr_assert_eq(gc_probe_histogram(p, v, 1, &ev, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(counts_sum(&ev), 1.0);
    gc_probe_free(p);
}

/* max - min overflows (values near +-DBL_MAX): the edges must still be
 * finite and ascending, as docs/json.md says, and each value binned. */
Test(probe_edges, huge_range_gives_finite_ascending_edges)
{
    gsl_set_error_handler_off();
    const double v[] = {-1e308, 0.0, 1e308};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 3);
    for (size_t b = 0; b <= BINS; b++)
        cr_assert(isfinite(ev.edges[b]), "edge %zu = %g", b, ev.edges[b]);
    assert_consistent(&ev, v, 3);
    gc_probe_free(p);
}

/* A spread far below the values' size: widening the top edge relative
 * to the values' size would swamp the data (all four in bin 0); the
 * maximum must land in the last bin. */
Test(probe_edges, tight_spread_keeps_the_maximum_in_the_last_bin)
{
    const double v[] = {1e6, 1e6 + 1e-8, 1e6 + 2e-8, 1e6 + 3e-8};
    gc_probe *p = probe_make(MAX_VALUES, BINS);
    gc_histogram_event ev = histogram_of(p, v, 4);
    cr_assert_eq(bin_by_edges(&ev, ev.max), BINS - 1);
    cr_assert_gt(ev.counts[BINS - 1], 0.0);
    gc_probe_free(p);
}

/* ---- large arrays: the bins count a systematic sample ------------------- */

/* 100,000 gaussian values: the statistics and edges use every value, the
 * bins a sample of every 13th (ceil(100000 / 8192) = 13), 7,693 values.
 * Each bin's share of the sample stays near its share of all values: the
 * binomial standard error of a share is at most sqrt(0.25 / 7693) =
 * 0.0057, and a systematic sample of values in random order behaves like
 * a random one, so SHARE_ABS = 0.03 (over five standard errors) fails
 * only for a sample that is not representative. */
#define SHARE_ABS 0.03

Test(probe_sample, large_arrays_bin_a_sample_and_keep_exact_statistics)
{
    enum { N = 100000, B = 20 };
    double *v = malloc(N * sizeof(double));
    cr_assert_not_null(v);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    for (size_t i = 0; i < N; i++)
        v[i] = gsl_ran_gaussian(rng, 1.0);
    gsl_rng_free(rng);
    gc_probe *p = probe_make(N, B);
    gc_histogram_event ev = histogram_of(p, v, N);
    size_t stride = (N + GC_PROBE_BIN_SAMPLE - 1) / GC_PROBE_BIN_SAMPLE;
    cr_assert_eq(ev.count, N);
    cr_assert_eq(ev.binned, (N + stride - 1) / stride);
    cr_assert_eq(counts_sum(&ev), (double)ev.binned);
    /* the statistics over every value, as GSL computes them: the lane
     * sums round differently from GSL's running mean by a few ulps of
     * the values' size, far below 1e-12 */
    gc_assert_close(ev.mean, gsl_stats_mean(v, 1, N), 0.0, 1e-12);
    gc_assert_close(ev.std, gsl_stats_sd(v, 1, N), 1e-12, 0.0);
    gc_assert_close(ev.min, gsl_stats_min(v, 1, N), 0.0, 0.0);
    gc_assert_close(ev.max, gsl_stats_max(v, 1, N), 0.0, 0.0);
    cr_assert_eq(ev.edges[0], ev.min);
    /* each bin's share of the sample against its share of every value */
    for (size_t b = 0; b < B; b++) {
        size_t all = 0;
        for (size_t i = 0; i < N; i++)
            all += bin_by_edges(&ev, v[i]) == b;
        double share = (double)all / N;
        gc_assert_close(ev.counts[b] / (double)ev.binned, share, 0.0,
                        SHARE_ABS);
    }
    free(v);
    gc_probe_free(p);
}

Test(probe_sample, arrays_up_to_the_sample_size_bin_every_value)
{
    enum { N = GC_PROBE_BIN_SAMPLE, B = 10 };
    double *v = malloc(N * sizeof(double));
    cr_assert_not_null(v);
    for (size_t i = 0; i < N; i++)
        v[i] = (double)(i % 97) - 48.0;
    gc_probe *p = probe_make(N, B);
    gc_histogram_event ev = histogram_of(p, v, N);
    cr_assert_eq(ev.binned, N);
    cr_assert_eq(counts_sum(&ev), (double)N);
    assert_consistent(&ev, v, N);
    free(v);
    gc_probe_free(p);
}
