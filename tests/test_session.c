/* test_session.c - a session at step N holds the parameters of a run
 * stopped after N steps, bit for bit.
 *
 * gc_run (with its checks, probes and diagnosis) and gc_session (training
 * only) take their data, model, seeds and batch order from setup.c; the
 * run's checks must leave the parameters as they found them.  The run's
 * `finished` hook hands the test the parameters the run ended with, and
 * the test compares them with memcmp, not a tolerance: both sides do the
 * same floating-point operations in the same order, so any difference
 * means the two walked different batches or the checks moved a
 * parameter.
 */
#include <criterion/criterion.h>

#include "config.h"
#include "run.h"
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CONTROL GC_SOURCE_DIR \
    "/fixtures/networks/mistake-softmax_derivative-control.cfg"
#define UPDATE_ASCENT GC_SOURCE_DIR \
    "/fixtures/networks/mistake-update_ascent.cfg"
#define PLUGIN_CFG GC_SOURCE_DIR "/fixtures/plugins/mlp.cfg"

static gc_spec spec;

static gc_status drop(gc_sink *sink, const gc_event *event, gc_error *err)
{
    (void)sink;
    (void)event;
    (void)err;
    return GC_OK;
}

static gc_status close_nothing(gc_sink *sink, gc_error *err)
{
    (void)sink;
    (void)err;
    return GC_OK;
}

typedef struct {
    double *params;
    size_t count, steps_done;
} final_params;

static void keep_params(void *context, const gc_model *model,
                        size_t steps_done)
{
    final_params *f = context;
    f->count = model->param_count;
    f->steps_done = steps_done;
    f->params = malloc(f->count * sizeof(double));
    cr_assert_not_null(f->params);
    memcpy(f->params, model->params, f->count * sizeof(double));
}

/* The spec with the run cut to `steps` steps (the planned length does
 * not change what a step does). */
static void run_for(const gc_spec *base, size_t steps, final_params *out)
{
    static gc_spec cut;
    cut = *base;
    cut.training.steps = steps;
    gc_sink sink = {NULL, drop, close_nothing};
    gc_sink *sinks[] = {&sink};
    gc_run_hooks hooks = {.finished = keep_params, .finished_context = out};
    gc_summary_event summary;
    gc_error err;
    memset(out, 0, sizeof *out);
    cr_assert_eq(gc_run(&cut, sinks, 1, &hooks, &summary, &err), GC_OK,
                 "%s", err.message);
    cr_assert_eq(out->steps_done, steps);
    cr_assert_not(summary.trapped);
}

/* For each N of steps[]: a run of N steps, and one session advanced to
 * each N in turn. */
static void compare_at(const gc_spec *base, const size_t *steps,
                       size_t count)
{
    gc_session *session;
    gc_error err;
    cr_assert_eq(gc_session_open(base, &session, &err), GC_OK, "%s",
                 err.message);
    for (size_t k = 0; k < count; k++) {
        final_params run;
        run_for(base, steps[k], &run);
        cr_assert_eq(gc_session_advance(session, steps[k], &err), GC_OK,
                     "%s", err.message);
        const gc_model *m = gc_session_model(session);
        cr_assert_eq(gc_session_step(session), steps[k]);
        cr_assert_eq(m->param_count, run.count);
        cr_assert_eq(memcmp(m->params, run.params,
                            run.count * sizeof(double)), 0,
                     "the session's parameters at step %zu differ from "
                     "the run's after %zu steps", steps[k], steps[k]);
        free(run.params);
    }
    gc_session_free(session);
}

/* Iris (150 samples) in batches of 10, shuffled at every epoch of 15
 * steps: steps 1 and 2; 15 and 16, on either side of the first
 * reshuffle; 21, just after the full check the run makes at step 20; 30,
 * the fixture's whole run. */
Test(session, engine_parameters_match_a_run_bit_for_bit)
{
    gc_error err;
    cr_assert_eq(gc_config_load(CONTROL, &spec, &err), GC_OK, "%s",
                 err.message);
    cr_assert(spec.training.shuffle);
    const size_t steps[] = {1, 2, 15, 16, 21, 30};
    compare_at(&spec, steps, sizeof steps / sizeof steps[0]);
}

/* Batches of 7 do not divide 150: a batch straddles each epoch's end, so
 * the reshuffle happens in the middle of a batch. */
Test(session, a_batch_across_the_epoch_boundary_is_the_runs)
{
    gc_error err;
    cr_assert_eq(gc_config_load(CONTROL, &spec, &err), GC_OK, "%s",
                 err.message);
    spec.training.batch_size = 7;
    const size_t steps[] = {21, 22, 43, 44};
    compare_at(&spec, steps, sizeof steps / sizeof steps[0]);
}

/* The engine's own update rule (here the as-written ascent) is the one
 * both sides apply. */
Test(session, the_models_own_update_is_the_runs)
{
    gc_error err;
    cr_assert_eq(gc_config_load(UPDATE_ASCENT, &spec, &err), GC_OK, "%s",
                 err.message);
    const size_t steps[] = {1, 5};
    compare_at(&spec, steps, sizeof steps / sizeof steps[0]);
}

/* A plugin trains in its child process through the same set-up. */
Test(session, plugin_parameters_match_a_run_bit_for_bit)
{
    gc_error err;
    cr_assert_eq(gc_config_load(PLUGIN_CFG, &spec, &err), GC_OK, "%s",
                 err.message);
    snprintf(spec.model.path, sizeof spec.model.path, "%s", GC_PLUGIN_MLP);
    const size_t steps[] = {3, 12};
    compare_at(&spec, steps, sizeof steps / sizeof steps[0]);
}
