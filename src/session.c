/* session.c - a network at one training step (session.h).
 *
 * The data, the model, the seed streams and the batch order are those of
 * gc_run because both take them from setup.c; this file adds only the
 * training between steps.
 */
#include "session.h"

#include "setup.h"

#include <math.h>
#include <stdlib.h>

struct gc_session {
    gc_setup setup;
    double *grad;             /* param_count */
    size_t step;              /* the step whose batch is filled */
};

gc_status gc_session_open(const gc_spec *spec, gc_session **out,
                          gc_error *err)
{
    *out = NULL;
    gc_session *s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the session");
    gc_status status = gc_setup_open(&s->setup, spec, err);
    if (status == GC_OK) {
        s->grad = calloc(s->setup.model->param_count, sizeof *s->grad);
        if (s->grad == NULL)
            status = gc_error_set(err, GC_ENOMEM,
                                  "no memory for the session");
    }
    if (status != GC_OK) {
        gc_session_free(s);
        return status;
    }
    gc_setup_fill_batch(&s->setup, 0);
    *out = s;
    return GC_OK;
}

void gc_session_free(gc_session *s)
{
    if (s == NULL)
        return;
    gc_setup_close(&s->setup);
    free(s->grad);
    free(s);
}

gc_status gc_session_advance(gc_session *s, size_t step, gc_error *err)
{
    if (step < s->step)
        return gc_error_set(err, GC_EINVAL,
                            "the session is at step %zu and cannot go back "
                            "to step %zu", s->step, step);
    gc_model *m = s->setup.model;
    double lr = s->setup.spec->training.learning_rate;
    while (s->step < step) {
        double loss;
        gc_status status = m->gradient(m, m->params, &s->setup.batch, &loss,
                                       s->grad, err);
        if (status != GC_OK)
            return status;
        if (!isfinite(loss))
            return gc_error_set(err, GC_ENUMERIC,
                                "the loss is not finite at step %zu (the "
                                "run traps there); ask for step %zu or an "
                                "earlier one", s->step, s->step);
        status = gc_setup_update(m, s->grad, lr, err);
        if (status != GC_OK)
            return status;
        s->step++;
        gc_setup_fill_batch(&s->setup, s->step);
    }
    return GC_OK;
}

gc_model *gc_session_model(gc_session *s) { return s->setup.model; }

const gc_batch *gc_session_batch(const gc_session *s)
{
    return &s->setup.batch;
}

size_t gc_session_step(const gc_session *s) { return s->step; }

size_t gc_session_planned_steps(const gc_session *s)
{
    return s->setup.steps;
}
