/* test_trace.c - gradcheck trace and gradcheck sweep, against values the
 * test computes on its own.
 *
 * The trace test runs the case that started gradcheck, cut down
 * (fixtures/networks/small-softmax-mse-elementwise.cfg: 784-100-10,
 * sigmoid, softmax with MSE, the diagonal-only softmax derivative), at
 * step 0, sample 0.  From the model's parameters and the batch it
 * recomputes the forward pass in plain loops, the MSE gradient
 * g = s - y, the diagonal-only delta s(1-s) g, the full-Jacobian delta
 * s (g - s.g), and a numeric dl/dz of its own softmax-MSE by central
 * differences, and compares each with the trace.
 */
#include "cli_run.h"
#include "test_util.h"

#include "config.h"
#include "session.h"
#include "sweep.h"
#include "trace.h"

#include <math.h>
#include <stdlib.h>

#define SOFTMAX_MSE GC_SOURCE_DIR \
    "/fixtures/networks/small-softmax-mse-elementwise.cfg"
#define SMOOTH_CONTROL GC_SOURCE_DIR \
    "/fixtures/networks/mistake-softmax_derivative-control.cfg"

/* The trace's products and the test's are the same formulas on the same
 * numbers, summed in a different order (BLAS against plain loops): they
 * agree to rounding, 1e-12 relative, 1e-15 absolute below that. */
#define SAME_FORMULA_REL 1e-12
#define SAME_FORMULA_ABS 1e-15
/* A central difference at h ~ 6e-6 (GC_CBRT_EPSILON) has truncation and
 * rounding errors near 1e-11 relative for a loss of order 0.5; the test's
 * own difference at 1e-5 has a few 1e-11.  1e-7 relative (with 1e-10
 * absolute for entries near zero) leaves a wide margin and is still four
 * orders of magnitude below the 7.7e-2 the diagonal-only delta is off. */
#define NUMERIC_REL 1e-7
#define NUMERIC_ABS 1e-10
/* The test's own difference step for dl/dz: z is of order 1. */
#define TEST_STEP 1e-5
/* A correct softmax delta sums to zero up to rounding of 10 terms. */
#define SUM_ZERO_ABS 1e-14

static gc_spec spec;
static gc_trace trace;

typedef struct {
    double z1[100], a1[100], z2[10], s[10];
} forward_values;

static const gc_tensor_info *tensor(const gc_model *m, const char *name)
{
    for (size_t t = 0; t < m->tensor_count; t++)
        if (strcmp(m->tensors[t].name, name) == 0)
            return &m->tensors[t];
    cr_assert_fail("no tensor %s", name);
    return NULL;
}

/* s = softmax(z), k = 10, with the max subtracted. */
static void softmax10(const double *z, double *s)
{
    double m = z[0], sum = 0.0;
    for (int k = 1; k < 10; k++)
        m = fmax(m, z[k]);
    for (int k = 0; k < 10; k++)
        sum += s[k] = exp(z[k] - m);
    for (int k = 0; k < 10; k++)
        s[k] /= sum;
}

/* l = 1/2 sum_k (softmax(z)_k - y_k)^2 */
static double mse_of_logits(const double *z, int label)
{
    double s[10], l = 0.0;
    softmax10(z, s);
    for (int k = 0; k < 10; k++) {
        double d = s[k] - (k == label);
        l += 0.5 * d * d;
    }
    return l;
}

static void forward(const gc_model *m, const double *x, forward_values *f)
{
    const gc_tensor_info *w1 = tensor(m, "layer1.W"), *b1 = tensor(m,
        "layer1.b"), *w2 = tensor(m, "layer2.W"), *b2 = tensor(m,
        "layer2.b");
    cr_assert_eq(w1->rows, 100);
    cr_assert_eq(w1->cols, 784);
    cr_assert_eq(w2->rows, 10);
    for (size_t i = 0; i < 100; i++) {
        double z = m->params[b1->offset + i];
        for (size_t j = 0; j < 784; j++)
            z += m->params[w1->offset + i * 784 + j] * x[j];
        f->z1[i] = z;
        f->a1[i] = 1.0 / (1.0 + exp(-z));
    }
    for (size_t k = 0; k < 10; k++) {
        double z = m->params[b2->offset + k];
        for (size_t i = 0; i < 100; i++)
            z += m->params[w2->offset + k * 100 + i] * f->a1[i];
        f->z2[k] = z;
    }
    softmax10(f->z2, f->s);
}

Test(trace, softmax_mse_step0_sample0_shows_both_output_deltas)
{
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(SOFTMAX_MSE, &spec, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK, "%s",
                 err.message);
    gc_model *m = gc_session_model(session);
    const gc_batch *batch = gc_session_batch(session);
    cr_assert_eq(gc_trace_compute(m, batch, 0, 0, 1.0, &trace, &err), GC_OK,
                 "%s", err.message);
    cr_assert(trace.have_layers);
    cr_assert_eq(trace.layer_count, 2);
    const gc_trace_layer *out = &trace.layers[2];
    cr_assert(out->softmax);
    cr_assert(out->have_g);
    cr_assert(out->have_delta);
    cr_assert_eq(out->shown, 10);

    forward_values f;
    forward(m, batch->x, &f);
    int label = batch->labels[0];
    cr_assert_eq(trace.label, label);
    double g[10], sg = 0.0;
    for (int k = 0; k < 10; k++) {
        g[k] = f.s[k] - (k == label);
        sg += f.s[k] * g[k];
    }
    gc_assert_close(trace.sample_loss, mse_of_logits(f.z2, label),
                    SAME_FORMULA_REL, SAME_FORMULA_ABS);
    double diag_sum = 0.0, full_sum = 0.0;
    for (int k = 0; k < 10; k++) {
        double diagonal = f.s[k] * (1.0 - f.s[k]) * g[k];
        double full = f.s[k] * (g[k] - sg);
        diag_sum += diagonal;
        full_sum += full;
        /* the test's own numeric dl/dz_k of its own softmax-MSE */
        double zp[10], zm[10];
        memcpy(zp, f.z2, sizeof zp);
        memcpy(zm, f.z2, sizeof zm);
        zp[k] += TEST_STEP;
        zm[k] -= TEST_STEP;
        double numeric = (mse_of_logits(zp, label) -
                          mse_of_logits(zm, label)) / (2 * TEST_STEP);
        gc_assert_close(out->z[k], f.z2[k], SAME_FORMULA_REL,
                        SAME_FORMULA_ABS);
        gc_assert_close(out->g[k], g[k], SAME_FORMULA_REL,
                        SAME_FORMULA_ABS);
        gc_assert_close(out->diagonal[k], diagonal, SAME_FORMULA_REL,
                        SAME_FORMULA_ABS);
        gc_assert_close(out->jacobian[k], full, SAME_FORMULA_REL,
                        SAME_FORMULA_ABS);
        /* the model's delta is the diagonal-only one, as written */
        gc_assert_close(out->delta[k], diagonal, SAME_FORMULA_REL,
                        SAME_FORMULA_ABS);
        /* the trace's numeric delta (batch of 1, so dl/dz = dL/dz) is
         * the full-Jacobian one, and so is the test's */
        gc_assert_close(numeric, full, NUMERIC_REL, NUMERIC_ABS);
        gc_assert_close(out->numeric_delta[k], numeric, NUMERIC_REL,
                        NUMERIC_ABS);
    }
    /* The two deltas really differ, so the test can tell them apart. */
    cr_assert_gt(out->jacobian_rel_error, 1e-2);
    cr_assert_lt(out->diagonal_rel_error, SAME_FORMULA_REL);
    cr_assert_lt(fabs(full_sum), SUM_ZERO_ABS);
    cr_assert_gt(fabs(diag_sum), 1e-3);
    gc_assert_close(out->diagonal_sum, diag_sum, SAME_FORMULA_REL,
                    SAME_FORMULA_ABS);

    /* layer2.b: dL/db = delta (B = 1); the numeric entries are the
     * full-Jacobian delta, the model's are the diagonal one. */
    const gc_trace_tensor *b2 = NULL;
    for (size_t t = 0; t < trace.tensor_count; t++)
        if (strcmp(trace.tensors[t].name, "layer2.b") == 0)
            b2 = &trace.tensors[t];
    cr_assert_not_null(b2);
    cr_assert_eq(b2->shown, 10);
    for (int k = 0; k < 10; k++) {
        gc_assert_close(b2->analytic[k], f.s[k] * (1.0 - f.s[k]) * g[k],
                        SAME_FORMULA_REL, SAME_FORMULA_ABS);
        gc_assert_close(b2->numeric[k], f.s[k] * (g[k] - sg), NUMERIC_REL,
                        NUMERIC_ABS);
    }
    gc_session_free(session);
}

Test(trace, hidden_chain_matches_the_model_when_only_the_output_is_wrong)
{
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(SOFTMAX_MSE, &spec, &err), GC_OK);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK);
    cr_assert_eq(gc_trace_compute(gc_session_model(session),
                                  gc_session_batch(session), 0, 0, 1.0,
                                  &trace, &err), GC_OK);
    const gc_trace_layer *hidden = &trace.layers[1];
    cr_assert(hidden->have_chain);
    /* the hidden step is right given the delta above... */
    cr_assert_lt(hidden->chain_rel_error, SAME_FORMULA_REL);
    /* ...and wrong against the numbers, inherited from the output */
    cr_assert_gt(hidden->delta_rel_error, 1e-2);
    gc_session_free(session);
}

Test(trace, sample_out_of_range_is_an_error)
{
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(SOFTMAX_MSE, &spec, &err), GC_OK);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK);
    cr_assert_eq(gc_trace_compute(gc_session_model(session),
                                  gc_session_batch(session), 0, 1, 1.0,
                                  &trace, &err), GC_EINVAL);
    cr_assert(strstr(err.message, "no sample 1") != NULL, "%s",
              err.message);
    gc_session_free(session);
}

/* A correct smooth network (Iris, 4-8-3, sigmoid, softmax with MSE and
 * the full Jacobian): the error curve is a V.  Its floor must lie within
 * SWEEP_DECADES decades of the step gradcheck takes, and both ends must
 * rise at least SWEEP_RISE times above the floor: at h = 1e-12 rounding
 * (eps |L| / h ~ 1e-4 relative) and at h = 1e-1 truncation (h^2 ~ 1e-2
 * times the third derivative) are both far above the ~1e-11 floor. */
#define SWEEP_DECADES 2.0
#define SWEEP_RISE 1e3
/* At the chosen step a correct gradient agrees to well within the pass
 * band (docs/checks.md). */
#define SWEEP_CHOSEN_BELOW 1e-8

Test(sweep, the_curve_is_a_v_with_its_floor_near_the_chosen_step)
{
    static gc_sweep sweep;
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(SMOOTH_CONTROL, &spec, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK, "%s",
                 err.message);
    gc_model *m = gc_session_model(session);
    double *before = malloc(m->param_count * sizeof *before);
    cr_assert_not_null(before);
    memcpy(before, m->params, m->param_count * sizeof *before);
    for (size_t t = 0; t < m->tensor_count; t++) {
        cr_assert_eq(gc_sweep_compute(m, gc_session_batch(session), t, 0,
                                      1.0, 7, &sweep, &err), GC_OK, "%s",
                     err.message);
        cr_assert_eq(sweep.count, GC_SWEEP_POINTS_MAX);
        cr_assert(sweep.points[sweep.chosen].chosen);
        for (size_t k = 1; k < sweep.count; k++)
            cr_assert_gt(sweep.points[k].h, sweep.points[k - 1].h);
        double floor_error = sweep.points[sweep.best].rel_error;
        double decades = fabs(log10(sweep.points[sweep.best].h /
                                    sweep.chosen_step));
        cr_assert_leq(decades, SWEEP_DECADES, "%s: floor at h = %g, chosen "
                      "%g", sweep.tensor, sweep.points[sweep.best].h,
                      sweep.chosen_step);
        double floor_or_tiny = fmax(floor_error, 1e-16);
        cr_assert_gt(sweep.points[0].rel_error, SWEEP_RISE * floor_or_tiny,
                     "%s: no rounding rise at h = 1e-12", sweep.tensor);
        cr_assert_gt(sweep.points[sweep.count - 1].rel_error,
                     SWEEP_RISE * floor_or_tiny,
                     "%s: no truncation rise at h = 1e-1", sweep.tensor);
        cr_assert_lt(sweep.points[sweep.chosen].rel_error,
                     SWEEP_CHOSEN_BELOW, "%s", sweep.tensor);
        cr_assert_neq(sweep.analytic, 0.0);
    }
    /* the sweep leaves the parameters exactly as they were */
    cr_assert_eq(memcmp(before, m->params, m->param_count * sizeof *before),
                 0);
    free(before);
    gc_session_free(session);
}

Test(sweep, cli_writes_json_lines_and_names_unknown_tensors)
{
    char dir[4096], json[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_path(json, sizeof json, dir, "sweep.jsonl");
    gc_cli_result r;
    const char *args[] = {"sweep", "--tensor", "layer2.W", "--json", json,
                          SMOOTH_CONTROL, NULL};
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "<- chosen") != NULL);
    char *text = gc_cli_read(json, NULL);
    cr_assert_not_null(text);
    size_t lines = 0;
    for (const char *c = text; *c; c++)
        lines += *c == '\n';
    cr_assert_eq(lines, 1 + GC_SWEEP_POINTS_MAX);
    cr_assert(strstr(text, "{\"event\":\"sweep\",") == text);
    cr_assert(strstr(text, "\"chosen\":true") != NULL);
    free(text);
    gc_cli_result_free(&r);

    const char *bad[] = {"sweep", "--tensor", "layer9.W", SMOOTH_CONTROL,
                         NULL};
    gc_cli_run(&r, dir, bad);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "no tensor 'layer9.W'") != NULL, "%s", r.err);
    gc_cli_result_free(&r);

    const char *late[] = {"trace", "--step", "30", SMOOTH_CONTROL, NULL};
    gc_cli_run(&r, dir, late);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "no step 30") != NULL, "%s", r.err);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

Test(trace, cli_trace_at_a_later_step_prints_every_layer)
{
    char dir[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_result r;
    const char *args[] = {"trace", "--step", "12", "--sample", "3",
                          SMOOTH_CONTROL, NULL};
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "step 12, sample 3 of a batch of 10") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "s(g-s.g)") != NULL);
    cr_assert(strstr(r.out, "layer1.W, 8 x 4") != NULL);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* ---- models gradcheck did not build (docs/sources/) ---------------------- */

#define PLUGIN_CFG GC_SOURCE_DIR "/fixtures/plugins/mlp.cfg"
#define PLUGIN_SE_CFG GC_SOURCE_DIR \
    "/fixtures/plugins/mlp-softmax-elementwise.cfg"
#define SNAPSHOT_CORRECT GC_SOURCE_DIR "/fixtures/snapshots/correct.cfg"
#define SNAPSHOT_SE GC_SOURCE_DIR \
    "/fixtures/snapshots/softmax-elementwise.cfg"
/* The plugin's chain rule and its own hidden delta are the same formula
 * in the same double arithmetic (mlp.c): they agree to rounding. */
#define PLUGIN_CHAIN_REL 1e-12
/* The diagonal-only softmax delta of the elementwise plugin sums to
 * sum_k s_k (1 - s_k) g_k, which is not 0: on sample 0 of step 0 it is
 * -1.5e-2 against the 1e-17 of the correct plugin; 1e-4 lies between. */
#define NONZERO_SUM 1e-4

/* A session on the plugin at path `plugin` for the config `cfg`. */
static gc_session *plugin_session(const char *cfg, const char *plugin)
{
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(cfg, &spec, &err), GC_OK, "%s",
                 err.message);
    snprintf(spec.model.path, sizeof spec.model.path, "%s", plugin);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK, "%s",
                 err.message);
    return session;
}

/* A plugin shows z, a and its deltas but cannot evaluate one sample's
 * loss: the trace keeps what is shown and flags the numeric deltas as
 * absent instead of inventing them. */
Test(trace, plugin_shows_its_own_deltas_and_no_numeric_ones)
{
    gc_error err;
    gc_session *session = plugin_session(PLUGIN_CFG, GC_PLUGIN_MLP);
    cr_assert_eq(gc_session_advance(session, 4, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(gc_trace_compute(gc_session_model(session),
                                  gc_session_batch(session), 4, 2, 1.0,
                                  &trace, &err), GC_OK, "%s", err.message);
    cr_assert(trace.have_layers);
    cr_assert_not(trace.have_numeric_deltas);
    cr_assert(isnan(trace.sample_loss));
    cr_assert_eq(trace.layer_count, 2);
    const gc_trace_layer *out = &trace.layers[2], *hidden = &trace.layers[1];
    cr_assert(out->softmax);
    cr_assert(out->have_delta);
    cr_assert_not(out->have_numeric_delta);
    cr_assert_not(out->have_g);
    cr_assert_neq(out->delta_norm, 0.0);
    gc_assert_close(out->delta_sum, 0.0, 0.0, SUM_ZERO_ABS);
    cr_assert(hidden->have_chain);
    cr_assert_lt(hidden->chain_rel_error, PLUGIN_CHAIN_REL);
    /* the gradients are still checked, by whole-batch differences */
    cr_assert_eq(trace.tensor_count, 4);
    cr_assert_lt(trace.tensors[3].shown_rel_error, NUMERIC_REL);
    gc_session_free(session);

    session = plugin_session(PLUGIN_SE_CFG, GC_PLUGIN_MLP_SE);
    cr_assert_eq(gc_trace_compute(gc_session_model(session),
                                  gc_session_batch(session), 0, 0, 1.0,
                                  &trace, &err), GC_OK, "%s", err.message);
    cr_assert_gt(fabs(trace.layers[2].delta_sum), NONZERO_SUM);
    gc_session_free(session);
}

Test(trace, cli_trace_and_sweep_on_the_plugin)
{
    char dir[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_result r;
    const char *args[] = {"trace", "--plugin", GC_PLUGIN_MLP, "--step", "3",
                          PLUGIN_CFG, NULL};
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "layer 2, 10 units, softmax") != NULL, "%s",
              r.out);
    cr_assert(strstr(r.out, "sum of the model's delta over the 10 units")
              != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "numeric deltas are not exposed") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "g = dl/da is not exposed") != NULL, "%s",
              r.out);
    cr_assert(strstr(r.out, "n/a") != NULL);
    cr_assert(strstr(r.out, "kink/none") == NULL, "%s", r.out);
    gc_cli_result_free(&r);

    const char *sweep[] = {"sweep", "--plugin", GC_PLUGIN_MLP, "--tensor",
                           "layer2.W", PLUGIN_CFG, NULL};
    gc_cli_run(&r, dir, sweep);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "<- chosen") != NULL, "%s", r.out);
    gc_cli_result_free(&r);

    /* without --plugin the fixture names no shared object */
    const char *bare[] = {"trace", PLUGIN_CFG, NULL};
    gc_cli_run(&r, dir, bare);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "[model] path") != NULL, "%s", r.err);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* A snapshot holds the parameters and a gradient but no deltas; the
 * declared forward gives z, a, g and the numeric deltas, and the output
 * products say which delta the saved gradient came from. */
Test(trace, snapshot_shows_the_softmax_products_without_model_deltas)
{
    gc_error err;
    gc_session *session;
    cr_assert_eq(gc_config_load(SNAPSHOT_SE, &spec, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(gc_session_open(&spec, &session, &err), GC_OK, "%s",
                 err.message);
    cr_assert_eq(gc_session_planned_steps(session), 1);
    cr_assert_eq(gc_trace_compute(gc_session_model(session),
                                  gc_session_batch(session), 0, 0, 1.0,
                                  &trace, &err), GC_OK, "%s", err.message);
    cr_assert(trace.have_numeric_deltas);
    const gc_trace_layer *out = &trace.layers[2];
    cr_assert(out->softmax);
    cr_assert(out->have_g);
    cr_assert_not(out->have_delta);
    cr_assert_not(trace.layers[1].have_chain);
    /* the declared forward's numeric delta is the full Jacobian product */
    for (size_t i = 0; i < out->shown; i++)
        gc_assert_close(out->numeric_delta[i], out->jacobian[i],
                        NUMERIC_REL, NUMERIC_ABS);
    /* the saved gradient (diagonal-only numpy backward) is not the
     * numeric one */
    cr_assert_gt(trace.tensors[3].shown_rel_error, 1e-2);
    gc_session_free(session);
}

Test(trace, cli_trace_and_sweep_on_a_snapshot)
{
    char dir[4096];
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_result r;
    const char *args[] = {"trace", "--sample", "5", SNAPSHOT_CORRECT, NULL};
    gc_cli_run(&r, dir, args);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "step 0, sample 5 of a batch of 16") != NULL,
              "%s", r.out);
    cr_assert(strstr(r.out, "s(g-s.g)") != NULL, "%s", r.out);
    cr_assert(strstr(r.out, "the model does not expose its deltas") != NULL,
              "%s", r.out);
    gc_cli_result_free(&r);

    const char *sweep[] = {"sweep", SNAPSHOT_CORRECT, NULL};
    gc_cli_run(&r, dir, sweep);
    cr_assert_eq(r.status, 0, "%s", r.err);
    cr_assert(strstr(r.out, "layer1.W (32 elements), step 0") != NULL,
              "%s", r.out);
    gc_cli_result_free(&r);

    /* a snapshot is one step */
    const char *late[] = {"trace", "--step", "1", SNAPSHOT_CORRECT, NULL};
    gc_cli_run(&r, dir, late);
    cr_assert_eq(r.status, 2);
    cr_assert(strstr(r.err, "no step 1") != NULL, "%s", r.err);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}
