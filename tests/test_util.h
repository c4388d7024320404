/* test_util.h - comparisons that understand floating point.
 *
 * Criterion offers absolute and ULP comparisons only.  Values whose size
 * varies need a relative plus absolute test:
 *     |actual - expected| <= abs_tol + rel_tol * |expected|
 * NaN equals only NaN, and an infinity only the same infinity, so a
 * function that starts returning NaN fails loudly instead of comparing
 * false in both directions.
 */
#ifndef GRADCHECK_TEST_UTIL_H
#define GRADCHECK_TEST_UTIL_H

#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>

static inline bool gc_test_close(double actual, double expected,
                                 double rel_tol, double abs_tol)
{
    if (isnan(expected) || isnan(actual))
        return isnan(expected) && isnan(actual);
    if (isinf(expected) || isinf(actual))
        return actual == expected;
    return fabs(actual - expected) <= abs_tol + rel_tol * fabs(expected);
}

/* Asserts closeness and prints both values and the tolerances on failure. */
#define gc_assert_close(actual, expected, rel_tol, abs_tol)                 \
    do {                                                                    \
        double gc_a_ = (actual), gc_e_ = (expected);                        \
        cr_assert(gc_test_close(gc_a_, gc_e_, (rel_tol), (abs_tol)),        \
                  "%s = %.17g, expected %.17g (rel %.1e, abs %.1e)",        \
                  #actual, gc_a_, gc_e_, (double)(rel_tol),                 \
                  (double)(abs_tol));                                       \
    } while (0)

#endif
