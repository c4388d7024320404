/* run.c - the run loop (run.h). */
#define _POSIX_C_SOURCE 200809L
#include "run.h"

#include "blas.h"
#include "check.h"
#include "diagnosis.h"
#include "health.h"
#include "loss.h"
#include "probe.h"
#include "setup.h"
#include "trap.h"

#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef GC_VERSION
#define GC_VERSION "0.0.0"
#endif

/* Test accuracy is computed in chunks of this many samples. */
#define EVAL_CHUNK GC_SETUP_EVAL_CHUNK
#define FINDINGS_MAX 16

typedef struct {
    const gc_spec *spec;
    gc_sink *const *sinks;
    size_t sink_count;
    const gc_run_hooks *hooks;
    gc_setup setup;                 /* data, model, batch order (setup.h) */
    gc_model *model;                /* setup.model */
    gc_foreign *foreign;            /* setup.foreign: a plugin or pipe */
    const gc_batch *batch;          /* &setup.batch: the step's batch */
    gc_checker *checker;
    gc_probe *probe;
    gc_diagnosis *diagnosis;
    gc_trap_monitor monitor;
    gsl_rng *check_rng;
    double *grad;
    gc_check_event *checks;
    size_t steps;
    gc_summary_event summary;
    double previous_mean[GC_MAX_LAYERS + 1][GC_QTY_COUNT];
    size_t previous_step;
    bool have_previous;
    bool *direction_reported;       /* first failure per tensor emitted */
    bool exp_range_emitted, log_edge_emitted;
    /* the training window */
    double window_loss, window_logit, window_max, window_min;
    size_t window_steps;
    double last_loss;
    struct timespec started;
    /* training health (health.h) */
    gc_health *health;
    double *params_before;          /* the window step's params, pre-update */
    double *targets;                /* batch x output width */
    double closed_loss;             /* the last closed window's mean loss */
    size_t closed_steps;
    size_t rows_at_start[GC_MAX_LAYERS + 1];
    gsl_rng *recheck_rng;           /* rechecks at a larger step */
    gc_check_event *rechecks;
    bool *localise;                 /* tensors a foreign check samples */
} run_state;

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) +
           1e-9 * (double)(now.tv_nsec - start->tv_nsec);
}

/* ---- events -------------------------------------------------------------- */

static gc_status dispatch(run_state *r, const gc_event *event, gc_error *err)
{
    for (size_t i = 0; i < r->sink_count; i++) {
        gc_status status = r->sinks[i]->emit(r->sinks[i], event, err);
        if (status != GC_OK)
            return status;
    }
    return GC_OK;
}

static gc_status emit_findings(run_state *r, const gc_finding_event *f,
                               size_t count, gc_error *err)
{
    for (size_t i = 0; i < count; i++) {
        gc_event event = {.kind = GC_EVENT_FINDING};
        event.u.finding = f[i];
        switch (f[i].severity) {
        case GC_SEVERITY_ERROR: r->summary.findings_error++; break;
        case GC_SEVERITY_WARNING: r->summary.findings_warning++; break;
        case GC_SEVERITY_INFO: r->summary.findings_info++; break;
        }
        gc_status status = dispatch(r, &event, err);
        if (status != GC_OK)
            return status;
    }
    return GC_OK;
}

static gc_status emit_trap(run_state *r, const gc_trap_event *trap,
                           gc_error *err)
{
    gc_event event = {.kind = GC_EVENT_TRAP};
    event.u.trap = *trap;
    gc_status status = dispatch(r, &event, err);
    if (status != GC_OK)
        return status;
    gc_finding_event findings[FINDINGS_MAX];
    size_t n = gc_diagnose_trap(r->diagnosis, trap, findings, FINDINGS_MAX);
    return emit_findings(r, findings, n, err);
}

static void count_verdict(run_state *r, gc_verdict v)
{
    if (v == GC_VERDICT_PASS)
        r->summary.checks_pass++;
    else if (v == GC_VERDICT_FAIL)
        r->summary.checks_fail++;
    else
        r->summary.checks_inconclusive++;
}

/* ---- setup --------------------------------------------------------------- */

static void describe_network(const gc_spec *spec, size_t inputs, char *out,
                             size_t size)
{
    int used = snprintf(out, size, "%zu", inputs);
    for (size_t l = 0; l < spec->network.layer_count && used > 0 &&
                       (size_t)used < size; l++)
        used += snprintf(out + used, size - (size_t)used, "-%zu(%s)",
                         spec->network.layers[l].width,
                         gc_activation_name(spec->network.layers[l].activation));
}

/* The health rules' view of the network: widths and activations from the
 * layer view, or the weight tensors' shapes for a black box. */
static gc_status alloc_health(run_state *r, size_t inputs, gc_error *err)
{
    gc_model *m = r->model;
    const gc_layer_view *v = m->layers;
    gc_health_shape shape;
    memset(&shape, 0, sizeof shape);
    shape.widths[0] = inputs;
    for (size_t t = 0; t < m->tensor_count; t++) {
        size_t l = m->tensors[t].layer;
        if (m->tensors[t].kind != GC_TENSOR_WEIGHT || l > GC_MAX_LAYERS)
            continue;
        shape.widths[l] = m->tensors[t].rows;
        if (l > shape.layer_count)
            shape.layer_count = l;
    }
    for (size_t l = 1; v != NULL && l <= v->layer_count &&
                       l <= GC_MAX_LAYERS; l++) {
        shape.widths[l] = v->width(m, l);
        if (!gc_activation_from_name(v->activation_name(m, l),
                                     &shape.activation[l]))
            shape.activation[l] = GC_ACT_IDENTITY;
    }
    size_t k = shape.widths[shape.layer_count];
    r->health = gc_health_alloc(&shape);
    r->params_before = malloc(m->param_count * sizeof(double));
    r->targets = malloc((k ? k : 1) * r->spec->training.batch_size *
                        sizeof(double));
    r->rechecks = calloc(m->tensor_count, sizeof *r->rechecks);
    r->recheck_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r->health || !r->params_before || !r->targets || !r->rechecks ||
        !r->recheck_rng)
        return gc_error_set(err, GC_ENOMEM, "no memory for the run");
    gsl_rng_set(r->recheck_rng,
                (unsigned long)gc_seed_derive(r->spec->training.seed,
                                               GC_SEED_RECHECKS));
    return GC_OK;
}

static gc_check_options check_options(const gc_spec *spec);

static gc_status allocate_buffers(run_state *r, size_t inputs, gc_error *err)
{
    size_t batch = r->spec->training.batch_size;
    size_t max_values = r->model->param_count;
    for (size_t t = 0; t < r->model->tensor_count; t++) {
        size_t width = r->model->tensors[t].rows;
        if (batch * width > max_values)
            max_values = batch * width;
    }
    r->grad = calloc(r->model->param_count, sizeof *r->grad);
    r->checks = calloc(r->model->tensor_count, sizeof *r->checks);
    r->direction_reported = calloc(r->model->tensor_count, sizeof(bool));
    r->check_rng = gsl_rng_alloc(gsl_rng_mt19937);
    r->diagnosis = gc_diagnosis_alloc();
    if (!r->grad || !r->checks || !r->direction_reported || !r->check_rng ||
        !r->diagnosis)
        return gc_error_set(err, GC_ENOMEM, "no memory for the run");
    gsl_rng_set(r->check_rng, (unsigned long)gc_seed_derive(
                                  r->spec->training.seed, GC_SEED_CHECKS));
    gc_status status = gc_checker_alloc(r->model, batch, &r->checker, err);
    if (status == GC_OK) {
        /* [checks] difference = complex-step on a relu network, say:
         * refuse before the first step, saying why. */
        gc_check_options options = check_options(r->spec);
        status = gc_check_supported(r->model, &options, err);
    }
    if (status == GC_OK)
        status = gc_probe_alloc(max_values, r->spec->report.histogram_bins,
                                &r->probe, err);
    if (status == GC_OK)
        status = alloc_health(r, inputs, err);
    return status;
}

static gc_status set_up(run_state *r, gc_error *err)
{
    gc_status status = gc_setup_open(&r->setup, r->spec, err);
    r->spec = r->setup.spec;        /* adjusted for a snapshot */
    r->model = r->setup.model;
    r->foreign = r->setup.foreign;
    r->steps = r->setup.steps;
    r->batch = &r->setup.batch;
    if (status != GC_OK)
        return status;
    if (r->foreign != NULL) {
        r->localise = calloc(r->model->tensor_count, sizeof(bool));
        if (r->localise == NULL)
            return gc_error_set(err, GC_ENOMEM, "no memory for the run");
    }
    return allocate_buffers(r, r->setup.inputs, err);
}

static void tear_down(run_state *r)
{
    gc_setup_close(&r->setup);
    free(r->localise);
    gc_checker_free(r->checker);
    gc_probe_free(r->probe);
    gc_diagnosis_free(r->diagnosis);
    if (r->check_rng)
        gsl_rng_free(r->check_rng);
    free(r->grad);
    free(r->checks);
    free(r->direction_reported);
    gc_health_free(r->health);
    free(r->params_before);
    free(r->targets);
    free(r->rechecks);
    if (r->recheck_rng)
        gsl_rng_free(r->recheck_rng);
}

/* The network as the tensors show it: "64-32(sigmoid)-10(softmax)", the
 * activations where the model names them. */
static void describe_tensors(const gc_model *m, char *out, size_t size)
{
    const gc_layer_view *v = m->layers;
    int used = 0;
    out[0] = '\0';
    for (size_t t = 0; t < m->tensor_count && used >= 0 &&
                       (size_t)used < size; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        if (ti->kind != GC_TENSOR_WEIGHT)
            continue;
        if (used == 0)
            used += snprintf(out, size, "%zu", ti->cols);
        if (v != NULL && ti->layer <= v->layer_count)
            used += snprintf(out + used, size - (size_t)used, "-%zu(%s)",
                             ti->rows,
                             v->activation_name((gc_model *)m, ti->layer));
        else if ((size_t)used < size)
            used += snprintf(out + used, size - (size_t)used, "-%zu",
                             ti->rows);
    }
}

static void describe_model(run_state *r, gc_run_event *e)
{
    const gc_spec *spec = r->spec;
    snprintf(e->source, sizeof e->source, "%s",
             gc_model_source_name(spec->model.source));
    snprintf(e->loss, sizeof e->loss, "%s", gc_loss_name(spec->loss));
    if (spec->model.source == GC_MODEL_ENGINE) {
        describe_network(spec, r->setup.train->features, e->network,
                         sizeof e->network);
        return;
    }
    if (spec->model.source == GC_MODEL_SNAPSHOT) {
        describe_network(spec, r->setup.train->features, e->network,
                         sizeof e->network);
        snprintf(e->model, sizeof e->model,
                 "snapshot %.100s: the gradients in it are checked against "
                 "finite differences of the forward [network] and [loss] "
                 "declare; that declared forward is the reference, not "
                 "the code that wrote the snapshot", spec->model.path);
        return;
    }
    snprintf(e->loss, sizeof e->loss, "the model's own");
    if (r->model != NULL)
        describe_tensors(r->model, e->network, sizeof e->network);
    snprintf(e->model, sizeof e->model, "%s: its own forward and backward",
             r->foreign ? gc_foreign_describe(r->foreign)
                        : gc_model_source_name(spec->model.source));
}

static gc_status emit_run(run_state *r, gc_error *err)
{
    gc_event event = {.kind = GC_EVENT_RUN};
    gc_run_event *e = &event.u.run;
    const gc_spec *spec = r->spec;
    snprintf(e->config, sizeof e->config, "%s", spec->path);
    snprintf(e->version, sizeof e->version, "%s", GC_VERSION);
    describe_model(r, e);
    snprintf(e->blas, sizeof e->blas, "%s", gc_blas_name());
    e->seed = spec->training.seed;
    e->parameters = r->model ? r->model->param_count : 0;
    e->train_samples = r->setup.train->samples;
    e->test_samples = r->setup.test ? r->setup.test->samples : 0;
    e->planned_steps = r->steps;
    e->batch_size = spec->training.batch_size;
    e->learning_rate = spec->training.learning_rate;
    e->pass_below = spec->checks.pass_below;
    e->fail_above = spec->checks.fail_above;
    e->full_every = spec->checks.full_every;
    return dispatch(r, &event, err);
}

/* ---- one step ------------------------------------------------------------ */

static gc_status monitored_gradient(run_state *r, double *loss,
                                    gc_error *err)
{
    gc_trap_clear_flags();
    if (r->model->set_hook && r->spec->checks.traps)
        r->model->set_hook(r->model, gc_trap_hook, &r->monitor);
    gc_status status = r->model->gradient(r->model, r->model->params,
                                          r->batch, loss, r->grad, err);
    if (r->model->set_hook)
        r->model->set_hook(r->model, NULL, NULL);
    return status;
}

static gc_status monitored_update(run_state *r, gc_error *err)
{
    double lr = r->spec->training.learning_rate;
    gc_trap_clear_flags();
    if (r->model->set_hook && r->spec->checks.traps)
        r->model->set_hook(r->model, gc_trap_hook, &r->monitor);
    gc_status status = gc_setup_update(r->model, r->grad, lr, err);
    if (r->model->set_hook)
        r->model->set_hook(r->model, NULL, NULL);
    return status;
}

/* Non-fatal trap warnings, once each, in the order they happened. */
static gc_status emit_warnings(run_state *r, gc_error *err)
{
    gc_status status = GC_OK;
    if (r->monitor.exp_range_seen && !r->exp_range_emitted) {
        r->exp_range_emitted = true;
        status = emit_trap(r, &r->monitor.exp_range, err);
    }
    if (status == GC_OK && r->monitor.log_edge_seen && !r->log_edge_emitted) {
        r->log_edge_emitted = true;
        status = emit_trap(r, &r->monitor.log_edge, err);
    }
    return status;
}

static void accumulate_window(run_state *r, double loss)
{
    const gc_layer_view *v = r->model->layers;
    r->window_loss += loss;
    r->window_steps++;
    r->last_loss = loss;
    if (v == NULL)
        return;
    size_t L = v->layer_count, n = r->batch->count * v->width(r->model, L);
    const double *z = v->pre_activations(r->model, L);
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        sum += z[i];
        r->window_max = fmax(r->window_max, z[i]);
        r->window_min = fmin(r->window_min, z[i]);
    }
    r->window_logit += sum / (double)n;
}

static void reset_window(run_state *r)
{
    r->window_loss = r->window_logit = 0.0;
    r->window_max = -INFINITY;
    r->window_min = INFINITY;
    r->window_steps = 0;
}

static gc_status close_window(run_state *r, size_t step, gc_error *err)
{
    if (r->window_steps == 0)
        return GC_OK;
    gc_event event = {.kind = GC_EVENT_TRAIN};
    gc_train_event *t = &event.u.train;
    t->step = step;
    t->window = r->window_steps;
    t->loss = r->window_loss / (double)r->window_steps;
    r->closed_loss = t->loss;
    r->closed_steps = t->window;
    bool shown = r->model->layers != NULL;
    t->mean_logit = shown ? r->window_logit / (double)r->window_steps : NAN;
    t->max_logit = shown ? r->window_max : NAN;
    t->min_logit = shown ? r->window_min : NAN;
    reset_window(r);
    gc_status status = dispatch(r, &event, err);
    if (status != GC_OK)
        return status;
    gc_finding_event findings[FINDINGS_MAX];
    size_t n = gc_diagnose_train(r->diagnosis, t, &r->monitor, findings,
                                 FINDINGS_MAX);
    return emit_findings(r, findings, n, err);
}

/* ---- training health ----------------------------------------------------- */

/* Every step: the batch inputs, each layer's pre-activations and the
 * output targets (one-hot, or the label itself for one output unit). */
static void observe_health(run_state *r)
{
    const gc_layer_view *v = r->model->layers;
    gc_health_batch b;
    memset(&b, 0, sizeof b);
    b.count = r->batch->count;
    b.x = r->batch->x;
    if (v != NULL) {
        size_t L = v->layer_count, k = v->width(r->model, L);
        for (size_t l = 1; l <= L && l <= GC_MAX_LAYERS; l++)
            b.z[l] = v->pre_activations(r->model, l);
        for (size_t s = 0; s < b.count; s++)
            for (size_t u = 0; u < k; u++)
                r->targets[s * k + u] =
                    gc_loss_target(k, r->batch->labels[s], u);
        b.targets = r->targets;
    }
    gc_health_observe_batch(r->health, &b);
}

/* Rows of each layer's weight tensor equal to another of its rows. */
static void identical_rows(run_state *r, size_t *out)
{
    const gc_model *m = r->model;
    for (size_t t = 0; t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        if (ti->kind == GC_TENSOR_WEIGHT && ti->layer <= GC_MAX_LAYERS)
            out[ti->layer] = gc_health_identical_rows(
                r->health, m->params + ti->offset, ti->rows, ti->cols);
    }
}

/* The update just made as values (every parameter, its gradient and its
 * change; the batch loss before and, from one more forward, after) for
 * the update-ascent fingerprint. */
static gc_status update_ascent(run_state *r, size_t step, gc_error *err)
{
    gc_model *m = r->model;
    gc_update_evidence u = {.step = step, .loss_before = r->last_loss};
    double g2 = 0.0, d2 = 0.0;
    for (size_t i = 0; i < m->param_count; i++) {
        double d = m->params[i] - r->params_before[i];
        u.gradient_dot_update += r->grad[i] * d;
        g2 += r->grad[i] * r->grad[i];
        d2 += d * d;
    }
    u.gradient_norm = sqrt(g2);
    u.update_norm = sqrt(d2);
    gc_status status = m->loss(m, m->params, r->batch, &u.loss_after, NULL,
                               err);
    if (status != GC_OK)
        return status;
    gc_finding_event finding;
    size_t n = gc_diagnose_update(r->diagnosis, &u, &finding, 1);
    return emit_findings(r, &finding, n, err);
}

/* After the update of step 0 and of a window's last step: per-layer
 * weight, gradient and update norms, the batch's loss before and after
 * the update; at step 0 the starting point of the health rules, at a
 * window's end the rules themselves. */
static gc_status health_measure(run_state *r, size_t step, bool window_end,
                                gc_error *err)
{
    gc_model *m = r->model;
    gc_health_window w;
    memset(&w, 0, sizeof w);
    w.step = step;
    w.steps = r->closed_steps;
    w.loss = r->closed_loss;
    for (size_t t = 0; t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        size_t n = ti->rows * ti->cols, l = ti->layer;
        if (ti->kind != GC_TENSOR_WEIGHT || l > GC_MAX_LAYERS)
            continue;
        const double *before = r->params_before + ti->offset;
        const double *after = m->params + ti->offset;
        const double *g = r->grad + ti->offset;
        double w2 = 0.0, g2 = 0.0, u2 = 0.0;
        for (size_t i = 0; i < n; i++) {
            double d = after[i] - before[i];
            w.descent += g[i] * d;
            w2 += before[i] * before[i];
            g2 += g[i] * g[i];
            u2 += d * d;
        }
        w.weight_elements[l] = n;
        w.weight_norm[l] = sqrt(w2);
        w.gradient_norm[l] = sqrt(g2);
        w.update_norm[l] = sqrt(u2);
        w.rows[l] = ti->rows;
        if (l > w.layer_count)
            w.layer_count = l;
    }
    w.batch_loss = r->last_loss;
    const gc_layer_view *v = m->layers;
    w.deltas_known = v != NULL && v->deltas != NULL &&
                     v->layer_count == w.layer_count;
    for (size_t l = 1; w.deltas_known && l <= w.layer_count; l++) {
        const double *d = v->deltas(m, l);
        size_t count = r->batch->count * v->width(m, l);
        double s2 = 0.0;
        for (size_t i = 0; d != NULL && i < count; i++)
            s2 += d[i] * d[i];
        w.deltas_known = d != NULL && count > 0;
        w.delta_rms[l] = w.deltas_known ? sqrt(s2 / (double)count) : NAN;
    }
    gc_finding_event findings[FINDINGS_MAX];
    size_t n = 0;
    gc_status status = update_ascent(r, step, err);
    if (status != GC_OK)
        return status;
    if (step == 0)
        n = gc_health_first_step(r->health, &w, findings, FINDINGS_MAX);
    status = emit_findings(r, findings, n, err);
    if (status != GC_OK || !window_end)
        return status;
    if (gc_health_wants_rows(r->health)) {
        w.rows_known = true;
        identical_rows(r, w.identical_rows);
        memcpy(w.identical_rows_at_start, r->rows_at_start,
               sizeof w.identical_rows_at_start);
    }
    n = gc_health_window_end(r->health, &w, findings, FINDINGS_MAX);
    return emit_findings(r, findings, n, err);
}

/* ---- checks and probes --------------------------------------------------- */

static gc_check_options check_options(const gc_spec *spec)
{
    return (gc_check_options){.method = spec->checks.method,
                              .step_scale = spec->checks.step_scale,
                              .pass_below = spec->checks.pass_below,
                              .fail_above = spec->checks.fail_above,
                              .sample = spec->checks.sample,
                              .difference = spec->checks.difference,
                              .threads = spec->checks.threads};
}

/* A plugin or pipe answers each loss over a process boundary: its element
 * checks cover only the tensors whose direction check failed, on a
 * seeded sample of [model] sample elements each. */
static gc_check_options element_options(const run_state *r)
{
    gc_check_options o = check_options(r->spec);
    if (r->foreign != NULL) {
        o.sample = r->spec->model.sample;
        o.only = r->localise;
    }
    return o;
}

/* Checks that did not pass and may be rounding are repeated with a step
 * GC_ROUNDING_STEP_FACTOR times larger; where the mismatch shrank and the
 * repeat passes, the repeat's result takes the check's place and the pair
 * counts toward check-rounding (health.h).  Element checks leave the
 * numeric gradient of the larger step in the checker. */
static gc_status recheck_rounding(run_state *r, size_t step, bool elements,
                                  gc_error *err)
{
    size_t count = r->model->tensor_count;
    bool wanted = false;
    for (size_t t = 0; t < count; t++)
        wanted = wanted || gc_health_rounding_candidate(&r->checks[t]);
    if (!wanted)
        return GC_OK;
    gc_check_options options = elements ? element_options(r)
                                        : check_options(r->spec);
    options.step_scale *= GC_ROUNDING_STEP_FACTOR;
    gc_status status =
        elements ? gc_check_elements(r->checker, r->model, r->batch,
                                     r->grad, &options, r->recheck_rng,
                                     r->rechecks, err)
                 : gc_check_directions(r->checker, r->model, r->batch,
                                       r->grad, &options, r->recheck_rng,
                                       r->rechecks, err);
    if (status != GC_OK)
        return status;
    for (size_t t = 0; t < count; t++) {
        gc_check_event *c = &r->checks[t];
        if (elements && r->localise != NULL && !r->localise[t])
            continue;
        c->step = r->rechecks[t].step = step;
        if (!gc_health_rounding_candidate(c) ||
            !gc_health_is_rounding(c, &r->rechecks[t]))
            continue;
        gc_health_observe_rounding(r->health, c, &r->rechecks[t]);
        *c = r->rechecks[t];
    }
    return GC_OK;
}

static gc_status emit_histogram(run_state *r, size_t step, size_t layer,
                                gc_quantity q, const double *values,
                                size_t n, gc_error *err)
{
    gc_event event = {.kind = GC_EVENT_HISTOGRAM};
    gc_histogram_event *h = &event.u.histogram;
    gc_status status = gc_probe_histogram(r->probe, values, n, h, err);
    if (status != GC_OK)
        return status;
    h->step = step;
    h->layer = layer;
    h->quantity = q;
    h->mean_trend = NAN;
    if (r->have_previous && step > r->previous_step)
        h->mean_trend = (h->mean - r->previous_mean[layer][q]) /
                        (double)(step - r->previous_step);
    r->previous_mean[layer][q] = h->mean;
    return dispatch(r, &event, err);
}

/* Histograms of every layer's parameters, values and gradients. */
static gc_status probe_layers(run_state *r, size_t step, gc_error *err)
{
    const gc_model *m = r->model;
    const gc_layer_view *v = m->layers;
    gc_status status = GC_OK;
    for (size_t t = 0; t < m->tensor_count && status == GC_OK; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        size_t n = ti->rows * ti->cols;
        bool w = ti->kind == GC_TENSOR_WEIGHT;
        status = emit_histogram(r, step, ti->layer,
                                w ? GC_QTY_WEIGHTS : GC_QTY_BIASES,
                                m->params + ti->offset, n, err);
        if (status == GC_OK)
            status = emit_histogram(r, step, ti->layer,
                                    w ? GC_QTY_WEIGHT_GRADIENTS
                                      : GC_QTY_BIAS_GRADIENTS,
                                    r->grad + ti->offset, n, err);
        if (status != GC_OK || !w || v == NULL)
            continue;
        size_t values = r->batch->count * v->width(r->model, ti->layer);
        status = emit_histogram(r, step, ti->layer, GC_QTY_PRE_ACTIVATIONS,
                                v->pre_activations(r->model, ti->layer),
                                values, err);
        if (status == GC_OK)
            status = emit_histogram(r, step, ti->layer, GC_QTY_ACTIVATIONS,
                                    v->activations(r->model, ti->layer),
                                    values, err);
    }
    r->previous_step = step;
    r->have_previous = true;
    return status;
}

static void fill_evidence(run_state *r, size_t step,
                          gc_full_check_evidence *ev)
{
    gc_model *m = r->model;
    const gc_layer_view *v = m->layers;
    memset(ev, 0, sizeof *ev);
    ev->step = step;
    ev->tensor_count = m->tensor_count;
    ev->tensors = m->tensors;
    ev->checks = r->checks;
    ev->grad = r->grad;
    ev->numeric = gc_checker_numeric(r->checker);
    ev->batch_count = r->batch->count;
    ev->pass_below = r->spec->checks.pass_below;
    ev->fail_above = r->spec->checks.fail_above;
    ev->numeric_delta_scale = 1.0;
    if (v == NULL)
        return;
    ev->layer_count = v->layer_count;
    ev->numeric_delta_scale = v->loss_is_batch_mean ? (double)r->batch->count
                                                    : 1.0;
    for (size_t l = 0; l <= v->layer_count; l++)
        ev->widths[l] = v->width(m, l);
    ev->activations[0] = v->activations(m, 0);
    for (size_t l = 1; l <= v->layer_count; l++) {
        ev->deltas[l] = v->deltas ? v->deltas(m, l) : NULL;
        ev->numeric_deltas[l] = gc_checker_numeric_deltas(r->checker, l);
        ev->activations[l] = v->activations(m, l);
        ev->pre_activations[l] = v->pre_activations(m, l);
        if (!gc_activation_from_name(v->activation_name(m, l),
                                     &ev->activation[l]))
            ev->activation[l] = GC_ACT_IDENTITY;
    }
    ev->output_activations = v->activations(m, v->layer_count);
}

static gc_status full_check(run_state *r, size_t step, gc_error *err)
{
    gc_check_options options = element_options(r);
    gc_status status = gc_check_elements(r->checker, r->model, r->batch,
                                         r->grad, &options, r->check_rng,
                                         r->checks, err);
    if (status == GC_OK)
        status = recheck_rounding(r, step, true, err);
    for (size_t t = 0; t < r->model->tensor_count && status == GC_OK; t++) {
        gc_event event = {.kind = GC_EVENT_CHECK};
        if (r->localise != NULL && !r->localise[t])
            continue;   /* its direction check stands; already counted */
        r->checks[t].step = step;
        event.u.check = r->checks[t];
        count_verdict(r, r->checks[t].verdict);
        gc_health_observe_check(r->health, &r->checks[t]);
        status = dispatch(r, &event, err);
    }
    if (status != GC_OK)
        return status;
    gc_full_check_evidence ev;
    fill_evidence(r, step, &ev);
    gc_finding_event findings[FINDINGS_MAX];
    size_t n = gc_diagnose_full_check(r->diagnosis, &ev, findings,
                                      FINDINGS_MAX);
    status = emit_findings(r, findings, n, err);
    if (status == GC_OK)
        status = probe_layers(r, step, err);
    return status;
}

/* Direction checks every step; their events are recorded at full-check
 * and window steps, and at the first failure of each tensor, so that a
 * long run's JSON stays small while the summary counts every check. */
static gc_status direction_checks(run_state *r, size_t step, bool record,
                                  bool *wants_full, gc_error *err)
{
    gc_check_options options = check_options(r->spec);
    gc_status status = gc_check_directions(r->checker, r->model, r->batch,
                                           r->grad, &options, r->check_rng,
                                           r->checks, err);
    if (status == GC_OK)
        status = recheck_rounding(r, step, false, err);
    for (size_t t = 0; t < r->model->tensor_count && status == GC_OK; t++) {
        gc_check_event *c = &r->checks[t];
        c->step = step;
        count_verdict(r, c->verdict);
        gc_health_observe_check(r->health, c);
        bool first_fail = c->verdict == GC_VERDICT_FAIL &&
                          !r->direction_reported[t];
        if (first_fail)
            r->direction_reported[t] = true;
        if (record || first_fail) {
            gc_event event = {.kind = GC_EVENT_CHECK};
            event.u.check = *c;
            status = dispatch(r, &event, err);
        }
    }
    if (status != GC_OK)
        return status;
    gc_finding_event findings[FINDINGS_MAX];
    size_t n = gc_diagnose_directions(r->diagnosis, r->checks,
                                      r->model->tensor_count, wants_full,
                                      findings, FINDINGS_MAX);
    return emit_findings(r, findings, n, err);
}

static gc_status one_step(run_state *r, size_t step, bool *stop,
                          gc_error *err)
{
    const gc_checks_spec *checks = &r->spec->checks;
    gc_setup_fill_batch(&r->setup, step);
    r->monitor.step = step;
    double loss;
    gc_status status = monitored_gradient(r, &loss, err);
    if (status == GC_OK)
        status = emit_warnings(r, err);
    if (status != GC_OK)
        return status;
    if (r->monitor.fatal_seen) {
        *stop = true;
        return GC_OK;
    }
    accumulate_window(r, loss);
    observe_health(r);
    if (step == 0)
        identical_rows(r, r->rows_at_start);
    bool full = step == 0 ||
                (checks->full_every > 0 && step % checks->full_every == 0);
    bool wants_full = false;
    bool directions = checks->every_step;
    if (r->foreign != NULL) {
        /* cheap first: directions at step 0 (and every step when asked),
         * elements only where a direction failed */
        directions = directions || step == 0;
        full = false;
    }
    if (directions)
        status = direction_checks(r, step, full || step == 0 ||
                                  step % checks->drift_window == 0,
                                  &wants_full, err);
    if (r->foreign != NULL && wants_full)
        for (size_t t = 0; t < r->model->tensor_count; t++)
            r->localise[t] = r->checks[t].verdict == GC_VERDICT_FAIL;
    if (status == GC_OK && (full || wants_full))
        status = full_check(r, step, err);
    bool window_end = (step + 1) % checks->drift_window == 0;
    if (status == GC_OK && window_end)
        status = close_window(r, step, err);
    if (status == GC_OK && (window_end || step == 0))
        memcpy(r->params_before, r->model->params,
               r->model->param_count * sizeof(double));
    if (status == GC_OK)
        status = monitored_update(r, err);
    if (status == GC_OK && r->monitor.fatal_seen)
        *stop = true;
    if (status == GC_OK && (window_end || step == 0) && !*stop)
        status = health_measure(r, step, window_end, err);
    return status;
}

/* ---- finish -------------------------------------------------------------- */

static double test_accuracy(run_state *r, gc_error *err)
{
    const gc_dataset *test = r->setup.test;
    if (test == NULL || test->samples == 0 || r->model->predict == NULL)
        return NAN;
    int classes[EVAL_CHUNK];
    size_t correct = 0;
    for (size_t start = 0; start < test->samples; start += EVAL_CHUNK) {
        size_t count = test->samples - start;
        if (count > EVAL_CHUNK)
            count = EVAL_CHUNK;
        gc_batch batch = {test->x + start * test->features,
                          test->labels + start, count, test->features};
        if (r->model->predict(r->model, r->model->params, &batch, classes,
                              err) != GC_OK)
            return NAN;
        for (size_t i = 0; i < count; i++)
            correct += classes[i] == test->labels[start + i];
    }
    return (double)correct / (double)test->samples;
}

static gc_status finish(run_state *r, size_t steps_done, gc_error *err)
{
    gc_status status = GC_OK;
    if (r->monitor.fatal_seen) {
        r->summary.trapped = true;
        status = emit_trap(r, &r->monitor.fatal, err);
    } else {
        status = close_window(r, steps_done ? steps_done - 1 : 0, err);
    }
    if (status == GC_OK) {
        gc_finding_event findings[FINDINGS_MAX];
        size_t n = gc_health_finish(r->health, findings, FINDINGS_MAX);
        status = emit_findings(r, findings, n, err);
    }
    if (status != GC_OK)
        return status;
    r->summary.steps = steps_done;
    r->summary.final_loss = r->last_loss;
    r->summary.test_accuracy = r->summary.trapped ? NAN
                                                  : test_accuracy(r, err);
    r->summary.seconds = seconds_since(&r->started);
    r->summary.loss_evaluations = gc_checker_evaluations(r->checker);
    r->summary.exit_status = r->summary.findings_error > 0 ? 1 : 0;
    gc_event event = {.kind = GC_EVENT_SUMMARY};
    event.u.summary = r->summary;
    return dispatch(r, &event, err);
}

/* One info finding per probe the model cannot feed, so that a report
 * never reads as if a probe had run and found nothing. */
static gc_status emit_skipped(run_state *r, gc_error *err)
{
    const gc_model *m = r->model;
    const gc_layer_view *v = m->layers;
    const char *who = gc_model_source_name(r->spec->model.source);
    bool partials = v != NULL && v->sample_loss_unit != NULL &&
                    v->batch_loss_from != NULL;
    gc_finding_event f[5];
    size_t n = 0;
    memset(f, 0, sizeof f);
    if (m->set_hook == NULL && r->spec->checks.traps)
        snprintf(f[n++].message, sizeof f[0].message,
                 "traps skipped: the %s model reports no operations to a "
                 "hook, so no NaN/Inf is traced to an operation (NaN in "
                 "a loss or gradient still fails its check)", who);
    if (v == NULL)
        snprintf(f[n++].message, sizeof f[0].message,
                 "layer probes skipped: the %s model shows no layer "
                 "values, so no z/a histograms, logit-drift, unit-health "
                 "rules, softmax detection or delta fingerprints", who);
    else if (v->deltas == NULL)
        snprintf(f[n++].message, sizeof f[0].message,
                 "delta probes skipped: the %s model shows no deltas "
                 "(dL/dz), so a wrong delta is not localised to its layer "
                 "and the delta fingerprints are not tried", who);
    if (!partials)
        snprintf(f[n++].message, sizeof f[0].message,
                 "numeric deltas skipped: the %s model cannot evaluate the "
                 "loss from one layer's z, so elements are checked by "
                 "whole-loss differences (parameter method)", who);
    if (m->predict == NULL)
        snprintf(f[n++].message, sizeof f[0].message,
                 "test accuracy skipped: the %s model has no predict", who);
    for (size_t i = 0; i < n; i++) {
        snprintf(f[i].id, sizeof f[i].id, "probe-skipped");
        f[i].severity = GC_SEVERITY_INFO;
        snprintf(f[i].fix, sizeof f[i].fix,
                 "nothing is wrong; to run the probe, expose what it needs "
                 "(docs/sources/ lists which capability feeds which probe)");
    }
    return emit_findings(r, f, n, err);
}

/* The model stopped answering (crash, time limit, garbage): a finding
 * with what happened and in which call, then the summary, so the report
 * is complete; gc_run still returns GC_EMODEL (exit status 2). */
static gc_status fail_model(run_state *r, size_t steps_done,
                            const gc_error *model_err, gc_error *err)
{
    gc_finding_event f;
    memset(&f, 0, sizeof f);
    snprintf(f.id, sizeof f.id, "model-failed");
    f.severity = GC_SEVERITY_ERROR;
    f.step = steps_done;
    const char *call = NULL, *reason = NULL;
    if (r->foreign != NULL && gc_foreign_failure(r->foreign, &call, &reason)) {
        snprintf(f.message, sizeof f.message, "%s", reason);
        snprintf(f.fix, sizeof f.fix, "in %s, at step %zu; run the model "
                 "alone on a batch like this one to reproduce it (the "
                 "full message is on stderr)", call, steps_done);
    } else {
        snprintf(f.message, sizeof f.message, "%.239s", model_err->message);
        snprintf(f.fix, sizeof f.fix, "the full message is on stderr");
    }
    gc_status status = emit_findings(r, &f, 1, err);
    r->summary.steps = steps_done;
    r->summary.final_loss = r->last_loss;
    r->summary.test_accuracy = NAN;
    r->summary.seconds = seconds_since(&r->started);
    r->summary.loss_evaluations =
        r->checker ? gc_checker_evaluations(r->checker) : 0;
    r->summary.model_failed = true;
    r->summary.exit_status = 2;
    gc_event event = {.kind = GC_EVENT_SUMMARY};
    event.u.summary = r->summary;
    if (status == GC_OK)
        status = dispatch(r, &event, err);
    return status;
}

gc_status gc_run(const gc_spec *spec, gc_sink *const *sinks,
                 size_t sink_count, const gc_run_hooks *hooks,
                 gc_summary_event *summary, gc_error *err)
{
    run_state r;
    memset(&r, 0, sizeof r);
    r.spec = spec;
    r.sinks = sinks;
    r.sink_count = sink_count;
    r.hooks = hooks;
    gc_trap_monitor_init(&r.monitor);
    reset_window(&r);
    clock_gettime(CLOCK_MONOTONIC, &r.started);
    gc_status status = set_up(&r, err);
    bool run_emitted = false;
    if (status == GC_OK || (status == GC_EMODEL && r.setup.train != NULL)) {
        gc_status s = emit_run(&r, err);
        run_emitted = s == GC_OK;
        if (status == GC_OK)
            status = s;
    }
    if (status == GC_OK)
        status = emit_skipped(&r, err);
    size_t step = 0;
    double last_progress = -1.0;
    bool stop = false;
    for (; status == GC_OK && step < r.steps && !stop; step++) {
        status = one_step(&r, step, &stop, err);
        if (hooks && hooks->interrupted && *hooks->interrupted) {
            r.summary.interrupted = true;
            stop = true;
        }
        double now = seconds_since(&r.started);
        if (hooks && hooks->progress && now - last_progress >= 0.25) {
            hooks->progress(hooks->progress_context, step + 1, r.steps,
                            now);
            last_progress = now;
        }
    }
    size_t steps_done = r.monitor.fatal_seen ? step - 1 : step;
    if (status == GC_OK && hooks && hooks->finished)
        hooks->finished(hooks->finished_context, r.model, steps_done);
    if (status == GC_OK)
        status = finish(&r, steps_done, err);
    if (status == GC_EMODEL && run_emitted) {
        gc_error model_err = *err;
        size_t done = step > 0 ? step - 1 : 0;
        if (fail_model(&r, done, &model_err, err) == GC_OK)
            *err = model_err;
    }
    if (summary != NULL)
        *summary = r.summary;
    tear_down(&r);
    return status;
}
