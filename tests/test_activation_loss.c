/* test_activation_loss.c - activations, softmax and the per-sample losses.
 *
 * Hand values come from the closed forms (typed to 17 significant digits
 * from a double-precision reference); derivatives are also compared with
 * central differences of the functions themselves, so a formula and its
 * derivative cannot drift apart unnoticed.
 */
#include "activation.h"
#include "loss.h"
#include "spec.h"
#include "test_util.h"

#include <criterion/criterion.h>

#include <float.h>
#include <math.h>
#include <stddef.h>

/* Hand values are correctly rounded doubles and libm's exp, log and tanh
 * are accurate to about 1 ulp; a handful of operations on top of them
 * stays within 1e-14 relative (about 50 ulps). */
#define HAND_REL 1e-14
#define HAND_ABS 1e-15

/* Central-difference step for activations of z of order 1: truncation
 * h^2 |f'''| / 6 ~ 2e-11 (|f'''| <= 1 for sigmoid and tanh) balances
 * rounding eps |f| / h ~ 2e-11 near h = 1e-5. */
#define ACT_STEP 1e-5
/* Both error terms are ~2e-11; 1e-8 leaves a factor of ~500 of room
 * while a wrong derivative (off by a factor or sign) misses by >= 1e-2. */
#define ACT_DIFF_TOL 1e-8

/* Step for the loss in a (probabilities 0.2 .. 0.8): truncation
 * h^2 |l'''| / 6 with |l'''| = 2/a^3 <= 250 gives 4e-11; rounding
 * eps |l| / h ~ 2e-16 * 2 / 1e-6 = 4e-10. */
#define LOSS_STEP 1e-6
/* A factor of ~250 above the larger error term (4e-10). */
#define LOSS_DIFF_TOL 1e-7

/* A sum of k <= 10 terms each in (0, 1] rounds by at most k ulps. */
#define SUM_TOL (10 * DBL_EPSILON)

static double central(double (*f)(const void *, double), const void *ctx,
                      double x, double h)
{
    return (f(ctx, x + h) - f(ctx, x - h)) / (2.0 * h);
}

/* ---- activations: hand values ------------------------------------------ */

Test(activation, sigmoid_at_zero_is_half_with_slope_quarter)
{
    cr_assert_eq(gc_activation_value(GC_ACT_SIGMOID, 0.0), 0.5);
    cr_assert_eq(gc_activation_slope(GC_ACT_SIGMOID, 0.0), 0.25);
}

Test(activation, sigmoid_at_one_matches_hand_value)
{
    gc_assert_close(gc_activation_value(GC_ACT_SIGMOID, 1.0),
                    0.7310585786300049, HAND_REL, HAND_ABS);
    gc_assert_close(gc_activation_slope(GC_ACT_SIGMOID, 1.0),
                    0.19661193324148185, HAND_REL, HAND_ABS);
}

Test(activation, tanh_matches_hand_values)
{
    cr_assert_eq(gc_activation_value(GC_ACT_TANH, 0.0), 0.0);
    cr_assert_eq(gc_activation_slope(GC_ACT_TANH, 0.0), 1.0);
    gc_assert_close(gc_activation_value(GC_ACT_TANH, 1.0),
                    0.7615941559557649, HAND_REL, HAND_ABS);
    gc_assert_close(gc_activation_slope(GC_ACT_TANH, 1.0),
                    0.41997434161402614, HAND_REL, HAND_ABS);
    gc_assert_close(gc_activation_value(GC_ACT_TANH, -0.5),
                    -0.46211715726000974, HAND_REL, HAND_ABS);
}

Test(activation, relu_at_plus_and_minus_one)
{
    cr_assert_eq(gc_activation_value(GC_ACT_RELU, 1.0), 1.0);
    cr_assert_eq(gc_activation_value(GC_ACT_RELU, -1.0), 0.0);
    cr_assert_eq(gc_activation_slope(GC_ACT_RELU, 1.0), 1.0);
    cr_assert_eq(gc_activation_slope(GC_ACT_RELU, -1.0), 0.0);
}

Test(activation, leaky_relu_at_plus_and_minus_one)
{
    cr_assert_eq(gc_activation_value(GC_ACT_LEAKY_RELU, 1.0), 1.0);
    cr_assert_eq(gc_activation_value(GC_ACT_LEAKY_RELU, -1.0),
                 -GC_LEAKY_SLOPE);
    cr_assert_eq(gc_activation_slope(GC_ACT_LEAKY_RELU, 1.0), 1.0);
    cr_assert_eq(gc_activation_slope(GC_ACT_LEAKY_RELU, -1.0),
                 GC_LEAKY_SLOPE);
}

Test(activation, kink_derivative_is_taken_from_the_right)
{
    cr_assert_eq(gc_activation_slope(GC_ACT_RELU, 0.0), 1.0);
    cr_assert_eq(gc_activation_slope(GC_ACT_LEAKY_RELU, 0.0), 1.0);
}

Test(activation, identity_is_z_with_slope_one)
{
    cr_assert_eq(gc_activation_value(GC_ACT_IDENTITY, -3.25), -3.25);
    cr_assert_eq(gc_activation_slope(GC_ACT_IDENTITY, -3.25), 1.0);
}

Test(activation, array_forms_match_the_scalar_forms)
{
    const gc_activation fs[] = {GC_ACT_IDENTITY, GC_ACT_SIGMOID,
                                GC_ACT_TANH, GC_ACT_RELU,
                                GC_ACT_LEAKY_RELU};
    const double z[] = {-2.0, -0.5, 0.0, 0.3, 1.7};
    double a[5], d[5];
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++) {
        gc_activation_forward(fs[f], z, a, 5);
        gc_activation_derivative(fs[f], z, d, 5);
        for (size_t i = 0; i < 5; i++) {
            cr_assert_eq(a[i], gc_activation_value(fs[f], z[i]));
            cr_assert_eq(d[i], gc_activation_slope(fs[f], z[i]));
        }
    }
}

Test(activation, forward_works_in_place)
{
    double z[] = {-1.0, 0.0, 2.0};
    gc_activation_forward(GC_ACT_RELU, z, z, 3);
    cr_assert_eq(z[0], 0.0);
    cr_assert_eq(z[1], 0.0);
    cr_assert_eq(z[2], 2.0);
}

/* ---- activations: central differences ---------------------------------- */

static double activation_at(const void *ctx, double z)
{
    return gc_activation_value(*(const gc_activation *)ctx, z);
}

Test(activation, slope_matches_central_difference)
{
    const gc_activation fs[] = {GC_ACT_IDENTITY, GC_ACT_SIGMOID,
                                GC_ACT_TANH, GC_ACT_RELU,
                                GC_ACT_LEAKY_RELU};
    /* points at least 100 steps from the kink of relu and leaky-relu */
    const double z[] = {-2.0, -0.5, 0.3, 1.7, 4.0};
    for (size_t f = 0; f < sizeof fs / sizeof fs[0]; f++)
        for (size_t i = 0; i < sizeof z / sizeof z[0]; i++)
            gc_assert_close(gc_activation_slope(fs[f], z[i]),
                            central(activation_at, &fs[f], z[i], ACT_STEP),
                            ACT_DIFF_TOL, ACT_DIFF_TOL);
}

Test(activation, piecewise_only_for_relu_family)
{
    cr_assert(gc_activation_is_piecewise(GC_ACT_RELU));
    cr_assert(gc_activation_is_piecewise(GC_ACT_LEAKY_RELU));
    cr_assert_not(gc_activation_is_piecewise(GC_ACT_SIGMOID));
    cr_assert_not(gc_activation_is_piecewise(GC_ACT_TANH));
    cr_assert_not(gc_activation_is_piecewise(GC_ACT_IDENTITY));
}

Test(activation, pattern_changes_when_a_sign_flips)
{
    const double before[] = {0.5, -1e-9, 2.0};
    const double after[] = {0.5, 1e-9, 2.0};
    uint64_t seed = 14695981039346656037ULL;
    cr_assert_neq(gc_activation_pattern(GC_ACT_RELU, before, 3, seed),
                  gc_activation_pattern(GC_ACT_RELU, after, 3, seed));
    cr_assert_eq(gc_activation_pattern(GC_ACT_TANH, before, 3, seed), seed);
}

/* ---- sigmoid stability --------------------------------------------------- */

Test(activation, sigmoid_is_finite_at_minus_800)
{
    double s = gc_activation_value(GC_ACT_SIGMOID, -800.0);
    double d = gc_activation_slope(GC_ACT_SIGMOID, -800.0);
    cr_assert(isfinite(s) && isfinite(d));
    cr_assert(s >= 0.0 && s < 1e-300);
    cr_assert(d >= 0.0 && d < 1e-300);
}

Test(activation, sigmoid_is_finite_at_plus_800)
{
    double s = gc_activation_value(GC_ACT_SIGMOID, 800.0);
    double d = gc_activation_slope(GC_ACT_SIGMOID, 800.0);
    cr_assert(isfinite(s) && isfinite(d));
    cr_assert_eq(s, 1.0);
    cr_assert_eq(d, 0.0);
}

/* ---- softmax and log-sum-exp --------------------------------------------- */

Test(softmax, rows_sum_to_one)
{
    const double z[] = {0.3, -1.2, 2.5, 0.0, 4.1};
    double a[5], sum_a = 0.0;
    gc_softmax(z, a, 5, true, NULL, NULL);
    for (size_t i = 0; i < 5; i++) {
        cr_assert(a[i] > 0.0 && a[i] < 1.0);
        sum_a += a[i];
    }
    gc_assert_close(sum_a, 1.0, 0.0, SUM_TOL);
}

Test(softmax, max_subtraction_changes_nothing_for_moderate_z)
{
    const double z[] = {0.3, -1.2, 2.5, 0.0, 4.1};
    double shifted_a[5], raw_a[5];
    gc_softmax(z, shifted_a, 5, true, NULL, NULL);
    gc_softmax(z, raw_a, 5, false, NULL, NULL);
    for (size_t i = 0; i < 5; i++)
        gc_assert_close(raw_a[i], shifted_a[i], HAND_REL, HAND_ABS);
}

Test(softmax, reports_shifted_arguments_and_sum)
{
    const double z[] = {1.0, 3.0, 2.0};
    double a[3], shifted[3], sum;
    gc_softmax(z, a, 3, true, shifted, &sum);
    cr_assert_eq(shifted[0], -2.0);
    cr_assert_eq(shifted[1], 0.0);
    cr_assert_eq(shifted[2], -1.0);
    gc_assert_close(sum, 1.0 + exp(-2.0) + exp(-1.0), HAND_REL, HAND_ABS);
}

Test(softmax, without_max_subtraction_all_minus_800_gives_nan)
{
    const double z[] = {-800.0, -800.0, -800.0};
    double a[3], sum;
    gc_softmax(z, a, 3, false, NULL, &sum);
    cr_assert_eq(sum, 0.0);   /* exp(-800) underflows to 0 */
    for (size_t i = 0; i < 3; i++)
        cr_assert(isnan(a[i]), "a[%zu] = %g, expected 0/0 = NaN", i, a[i]);
}

Test(softmax, with_max_subtraction_all_minus_800_stays_finite)
{
    const double z[] = {-800.0, -800.0, -800.0};
    double a[3];
    gc_softmax(z, a, 3, true, NULL, NULL);
    for (size_t i = 0; i < 3; i++)
        gc_assert_close(a[i], 1.0 / 3.0, HAND_REL, HAND_ABS);
}

Test(softmax, log_sum_exp_matches_hand_value)
{
    const double z[] = {1.0, 2.0, 3.0};
    gc_assert_close(gc_log_sum_exp(z, 3), 3.40760596444438, HAND_REL,
                    HAND_ABS);
}

Test(softmax, log_sum_exp_survives_huge_arguments)
{
    const double z[] = {1000.0, 1000.0};
    gc_assert_close(gc_log_sum_exp(z, 2), 1000.6931471805599, HAND_REL,
                    HAND_ABS);
}

/* ---- losses: hand values ------------------------------------------------- */

static const double probs[] = {0.2, 0.5, 0.3};

Test(loss, mse_matches_hand_value)
{
    /* 1/2 (0.2^2 + 0.5^2 + 0.3^2) with the target one-hot at unit 1 */
    gc_assert_close(gc_loss_sample(GC_LOSS_MSE, GC_ACT_IDENTITY, probs,
                                   probs, 3, 1, false),
                    0.19, HAND_REL, HAND_ABS);
}

Test(loss, single_output_target_is_the_label)
{
    cr_assert_eq(gc_loss_target(1, 1, 0), 1.0);
    cr_assert_eq(gc_loss_target(1, 0, 0), 0.0);
    cr_assert_eq(gc_loss_target(3, 2, 2), 1.0);
    cr_assert_eq(gc_loss_target(3, 2, 0), 0.0);
}

Test(loss, cross_entropy_with_softmax_is_lse_minus_true_logit)
{
    const double z[] = {1.0, 2.0, 3.0};
    double a[3];
    gc_softmax(z, a, 3, true, NULL, NULL);
    gc_assert_close(gc_loss_sample(GC_LOSS_CROSS_ENTROPY, GC_ACT_SOFTMAX, z,
                                   a, 3, 0, false),
                    3.40760596444438 - 1.0, HAND_REL, HAND_ABS);
}

Test(loss, cross_entropy_of_probabilities_is_minus_log)
{
    gc_assert_close(gc_loss_sample(GC_LOSS_CROSS_ENTROPY, GC_ACT_IDENTITY,
                                   probs, probs, 3, 1, false),
                    0.6931471805599453, HAND_REL, HAND_ABS);
}

Test(loss, binary_cross_entropy_with_sigmoid_matches_hand_value)
{
    const double z = 0.5;
    const double a = gc_activation_value(GC_ACT_SIGMOID, z);
    /* -log sigmoid(0.5) = log(1 + exp(-0.5)) */
    gc_assert_close(gc_loss_sample(GC_LOSS_BINARY_CROSS_ENTROPY,
                                   GC_ACT_SIGMOID, &z, &a, 1, 1, false),
                    0.4740769841801067, HAND_REL, HAND_ABS);
}

Test(loss, binary_cross_entropy_clamped_single_output)
{
    const double a = 0.25;
    gc_assert_close(gc_loss_sample(GC_LOSS_BINARY_CROSS_ENTROPY,
                                   GC_ACT_IDENTITY, &a, &a, 1, 0, false),
                    0.2876820724517809, HAND_REL, HAND_ABS);
}

Test(loss, binary_cross_entropy_clamped_one_hot)
{
    /* -(log 0.8 + log 0.5 + log 0.7) */
    gc_assert_close(gc_loss_sample(GC_LOSS_BINARY_CROSS_ENTROPY,
                                   GC_ACT_IDENTITY, probs, probs, 3, 1,
                                   false),
                    1.2729656758128876, HAND_REL, HAND_ABS);
}

Test(loss, unclamped_log_of_zero_is_infinite_clamped_is_not)
{
    const double a[] = {0.0, 1.0, 0.0};
    double unclamped = gc_loss_sample(GC_LOSS_CROSS_ENTROPY, GC_ACT_IDENTITY,
                                      a, a, 3, 0, true);
    double clamped = gc_loss_sample(GC_LOSS_CROSS_ENTROPY, GC_ACT_IDENTITY,
                                    a, a, 3, 0, false);
    cr_assert(isinf(unclamped) && unclamped > 0.0, "got %g", unclamped);
    /* -log(GC_PROB_FLOOR) = -log(1e-15) */
    gc_assert_close(clamped, 34.538776394910684, HAND_REL, HAND_ABS);
}

Test(loss, residual_pairs_are_softmax_ce_and_sigmoid_bce)
{
    cr_assert(gc_loss_delta_is_residual(GC_LOSS_CROSS_ENTROPY,
                                        GC_ACT_SOFTMAX));
    cr_assert(gc_loss_delta_is_residual(GC_LOSS_BINARY_CROSS_ENTROPY,
                                        GC_ACT_SIGMOID));
    cr_assert_not(gc_loss_delta_is_residual(GC_LOSS_MSE, GC_ACT_SOFTMAX));
    cr_assert_not(gc_loss_delta_is_residual(GC_LOSS_CROSS_ENTROPY,
                                            GC_ACT_SIGMOID));
}

/* ---- losses: gradients against central differences ----------------------- */

typedef struct {
    gc_loss loss;
    double a[3];
    size_t k;
    size_t unit;
    int label;
} loss_in_a;

/* The loss as a function of a[unit] alone; the output is the identity so
 * that gc_loss_sample reads a rather than z. */
static double loss_at(const void *ctx, double x)
{
    const loss_in_a *c = ctx;
    double a[3] = {c->a[0], c->a[1], c->a[2]};
    a[c->unit] = x;
    return gc_loss_sample(c->loss, GC_ACT_IDENTITY, a, a, c->k, c->label,
                          false);
}

static void assert_gradient_matches(gc_loss loss, size_t k, int label)
{
    loss_in_a c = {loss, {0.2, 0.5, 0.3}, k, 0, label};
    double g[3];
    gc_loss_gradient(loss, c.a, k, label, false, g);
    for (c.unit = 0; c.unit < k; c.unit++)
        gc_assert_close(g[c.unit], central(loss_at, &c, c.a[c.unit],
                                           LOSS_STEP),
                        LOSS_DIFF_TOL, LOSS_DIFF_TOL);
}

Test(loss, mse_gradient_matches_central_difference)
{
    assert_gradient_matches(GC_LOSS_MSE, 3, 1);
    assert_gradient_matches(GC_LOSS_MSE, 1, 1);
}

Test(loss, cross_entropy_gradient_matches_central_difference)
{
    assert_gradient_matches(GC_LOSS_CROSS_ENTROPY, 3, 1);
    assert_gradient_matches(GC_LOSS_CROSS_ENTROPY, 3, 2);
}

Test(loss, binary_cross_entropy_gradient_matches_central_difference)
{
    assert_gradient_matches(GC_LOSS_BINARY_CROSS_ENTROPY, 3, 0);
    assert_gradient_matches(GC_LOSS_BINARY_CROSS_ENTROPY, 1, 1);
    assert_gradient_matches(GC_LOSS_BINARY_CROSS_ENTROPY, 1, 0);
}

typedef struct {
    double z[4];
    size_t unit;
    int label;
} ce_in_z;

/* -log softmax(z)[label] as a function of z[unit] alone. */
static double softmax_ce_at(const void *ctx, double x)
{
    const ce_in_z *c = ctx;
    double z[4], a[4];
    for (size_t i = 0; i < 4; i++)
        z[i] = c->z[i];
    z[c->unit] = x;
    gc_softmax(z, a, 4, true, NULL, NULL);
    return gc_loss_sample(GC_LOSS_CROSS_ENTROPY, GC_ACT_SOFTMAX, z, a, 4,
                          c->label, false);
}

Test(loss, softmax_cross_entropy_logit_gradient_is_a_minus_y)
{
    ce_in_z c = {{0.4, -1.1, 2.0, 0.7}, 0, 2};
    double a[4];
    gc_softmax(c.z, a, 4, true, NULL, NULL);
    for (c.unit = 0; c.unit < 4; c.unit++) {
        double residual = a[c.unit] - gc_loss_target(4, c.label, c.unit);
        gc_assert_close(central(softmax_ce_at, &c, c.z[c.unit], ACT_STEP),
                        residual, ACT_DIFF_TOL, ACT_DIFF_TOL);
    }
}

Test(loss, clamped_gradient_is_zero_where_the_clamp_is_active)
{
    const double a[] = {0.0, 1.0, 0.0};
    double g[3];
    gc_loss_gradient(GC_LOSS_CROSS_ENTROPY, a, 3, 0, false, g);
    cr_assert_eq(g[0], 0.0);
    cr_assert(isfinite(g[1]) && isfinite(g[2]));
}
