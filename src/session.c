/* session.c - a network at one training step (session.h).
 *
 * The set-up repeats what run.c's set_up() and fill_batch() do, with the
 * same seed streams (0 data, 1 init, 2 shuffle), so that the batches and
 * parameters agree with a full run step for step.  docs/known-issues.md
 * notes the duplication.
 */
#include "session.h"

#include "dataset.h"
#include "engine.h"
#include "run.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct gc_session {
    const gc_spec *spec;
    gc_dataset *train, *test;
    gc_engine *engine;
    gc_model *model;
    gsl_rng *shuffle_rng;
    size_t *order;
    double *grad;
    double *batch_x;
    int *batch_labels;
    gc_batch batch;
    size_t step;              /* the step whose batch is filled */
    size_t planned;
};

/* The samples of `step`, as run.c's fill_batch() takes them: in order
 * through a permutation reshuffled at each epoch when shuffle is on.
 * Must be called for every step in turn (the shuffles consume the RNG). */
static void fill_batch(gc_session *s, size_t step)
{
    size_t n = s->train->samples, batch = s->spec->training.batch_size;
    size_t features = s->train->features;
    for (size_t i = 0; i < batch; i++) {
        size_t position = (step * batch + i) % n;
        if (position == 0 && s->spec->training.shuffle)
            gsl_ran_shuffle(s->shuffle_rng, s->order, n, sizeof(size_t));
        size_t k = s->order[position];
        memcpy(s->batch_x + i * features, s->train->x + k * features,
               features * sizeof(double));
        s->batch_labels[i] = s->train->labels[k];
    }
    s->batch = (gc_batch){s->batch_x, s->batch_labels, batch, features};
    s->step = step;
}

static gc_status build(gc_session *s, gc_error *err)
{
    const gc_spec *spec = s->spec;
    gc_status status = gc_data_load(&spec->data, spec->path,
                                    gc_seed_derive(spec->training.seed, 0),
                                    &s->train, &s->test, err);
    if (status != GC_OK)
        return status;
    size_t inputs = spec->network.inputs ? spec->network.inputs
                                         : s->train->features;
    if (inputs != s->train->features)
        return gc_error_set(err, GC_ECONFIG,
                            "%s: [network] inputs = %zu, but the training "
                            "data has %zu features per sample", spec->path,
                            inputs, s->train->features);
    size_t batch = spec->training.batch_size;
    status = gc_engine_alloc(&spec->network, spec->loss, &spec->as_written,
                             inputs, batch, &s->engine, err);
    if (status != GC_OK)
        return status;
    unsigned long long init_seed = spec->network.seed
        ? spec->network.seed : gc_seed_derive(spec->training.seed, 1);
    status = gc_engine_init_params(s->engine, init_seed, err);
    if (status != GC_OK)
        return status;
    s->model = gc_engine_model(s->engine);
    s->order = malloc(s->train->samples * sizeof *s->order);
    s->grad = calloc(s->model->param_count, sizeof *s->grad);
    s->batch_x = malloc(batch * inputs * sizeof *s->batch_x);
    s->batch_labels = malloc(batch * sizeof *s->batch_labels);
    s->shuffle_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->order || !s->grad || !s->batch_x || !s->batch_labels ||
        !s->shuffle_rng)
        return gc_error_set(err, GC_ENOMEM, "no memory for the session");
    gsl_rng_set(s->shuffle_rng,
                (unsigned long)gc_seed_derive(spec->training.seed, 2));
    for (size_t i = 0; i < s->train->samples; i++)
        s->order[i] = i;
    if (spec->training.steps > 0) {
        s->planned = spec->training.steps;
    } else {
        size_t per_epoch = (s->train->samples + batch - 1) / batch;
        s->planned = per_epoch * (spec->training.epochs
                                  ? spec->training.epochs : 1);
    }
    fill_batch(s, 0);
    return GC_OK;
}

gc_status gc_session_open(const gc_spec *spec, gc_session **out,
                          gc_error *err)
{
    *out = NULL;
    gc_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the session");
    s->spec = spec;
    gc_status status = build(s, err);
    if (status != GC_OK) {
        gc_session_free(s);
        return status;
    }
    *out = s;
    return GC_OK;
}

void gc_session_free(gc_session *s)
{
    if (s == NULL)
        return;
    gc_dataset_free(s->train);
    gc_dataset_free(s->test);
    gc_engine_free(s->engine);
    if (s->shuffle_rng)
        gsl_rng_free(s->shuffle_rng);
    free(s->order);
    free(s->grad);
    free(s->batch_x);
    free(s->batch_labels);
    free(s);
}

gc_status gc_session_advance(gc_session *s, size_t step, gc_error *err)
{
    if (step < s->step)
        return gc_error_set(err, GC_EINVAL,
                            "the session is at step %zu and cannot go back "
                            "to step %zu", s->step, step);
    gc_model *m = s->model;
    double lr = s->spec->training.learning_rate;
    while (s->step < step) {
        double loss;
        gc_status status = m->gradient(m, m->params, &s->batch, &loss,
                                       s->grad, err);
        if (status != GC_OK)
            return status;
        if (!isfinite(loss))
            return gc_error_set(err, GC_ENUMERIC,
                                "the loss is not finite at step %zu (the "
                                "run traps there); ask for step %zu or an "
                                "earlier one", s->step, s->step);
        if (m->update != NULL) {
            status = m->update(m, m->params, s->grad, lr, err);
            if (status != GC_OK)
                return status;
        } else {
            for (size_t i = 0; i < m->param_count; i++)
                m->params[i] -= lr * s->grad[i];
        }
        fill_batch(s, s->step + 1);
    }
    return GC_OK;
}

gc_model *gc_session_model(gc_session *s) { return s->model; }
const gc_batch *gc_session_batch(const gc_session *s) { return &s->batch; }
size_t gc_session_step(const gc_session *s) { return s->step; }
size_t gc_session_planned_steps(const gc_session *s) { return s->planned; }
