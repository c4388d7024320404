/* setup.c - data, model under test and batch order of a run (setup.h). */
#include "setup.h"

#include <gsl/gsl_randist.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

unsigned long long gc_seed_derive(unsigned long long seed, unsigned stream)
{
    unsigned long long z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t planned_steps(const gc_spec *spec, size_t samples)
{
    if (spec->training.steps > 0)
        return spec->training.steps;
    size_t per_epoch = (samples + spec->training.batch_size - 1) /
                       spec->training.batch_size;
    return per_epoch * (spec->training.epochs ? spec->training.epochs : 1);
}

/* The engine's inputs must be the data's features, and its outputs must
 * tell the data's classes apart. */
static gc_status check_engine_shapes(gc_setup *s, gc_error *err)
{
    const gc_spec *spec = s->spec;
    const gc_dataset *train = s->train;
    s->inputs = spec->network.inputs ? spec->network.inputs
                                     : train->features;
    if (s->inputs != train->features)
        return gc_error_set(err, GC_ECONFIG,
                            "%s: [network] inputs = %zu, but the training "
                            "data has %zu features per sample", spec->path,
                            s->inputs, train->features);
    size_t k = spec->network.layers[spec->network.layer_count - 1].width;
    size_t needed = k == 1 ? 2 : k;
    if ((size_t)train->classes > needed)
        return gc_error_set(err, GC_ECONFIG,
                            "%s: [network] the output layer has %zu units, "
                            "but the data has %d classes (expected at least "
                            "%d output units, or 1 for two classes)",
                            spec->path, k, train->classes, train->classes);
    return GC_OK;
}

/* A plugin or pipe declares its own inputs and outputs. */
static gc_status check_foreign_shapes(gc_setup *s, gc_error *err)
{
    size_t inputs = gc_foreign_inputs(s->foreign);
    size_t k = gc_foreign_outputs(s->foreign);
    size_t needed = k == 1 ? 2 : k;
    if (inputs != s->train->features)
        return gc_error_set(err, GC_ECONFIG, "%s: %s declares %zu inputs, "
                            "but the training data has %zu features per "
                            "sample", s->spec->path,
                            gc_foreign_describe(s->foreign), inputs,
                            s->train->features);
    if ((size_t)s->train->classes > needed)
        return gc_error_set(err, GC_ECONFIG, "%s: %s declares %zu outputs, "
                            "but the data has %d classes", s->spec->path,
                            gc_foreign_describe(s->foreign), k,
                            s->train->classes);
    s->inputs = inputs;
    return GC_OK;
}

static gc_status build_engine(gc_setup *s, gc_error *err)
{
    const gc_spec *spec = s->spec;
    gc_status status = check_engine_shapes(s, err);
    if (status != GC_OK)
        return status;
    size_t batch = spec->training.batch_size;
    status = gc_engine_alloc(&spec->network, spec->loss, &spec->as_written,
                             s->inputs,
                             batch > GC_SETUP_EVAL_CHUNK ? batch
                                                         : GC_SETUP_EVAL_CHUNK,
                             &s->engine, err);
    if (status != GC_OK)
        return status;
    unsigned long long init_seed = spec->network.seed
        ? spec->network.seed
        : gc_seed_derive(spec->training.seed, GC_SEED_INIT);
    status = gc_engine_init_params(s->engine, init_seed, err);
    if (status != GC_OK)
        return status;
    s->model = gc_engine_model(s->engine);
    return GC_OK;
}

/* A plugin or a pipe: the child starts and declares itself.  A pipe's
 * command runs in the config file's directory. */
static gc_status build_foreign(gc_setup *s, gc_error *err)
{
    const gc_spec *spec = s->spec;
    char directory[GC_PATH_MAX];
    snprintf(directory, sizeof directory, "%s", spec->path);
    char *slash = strrchr(directory, '/');
    if (slash != NULL)
        slash[1] = '\0';
    else
        directory[0] = '\0';
    if (spec->model.source == GC_MODEL_PLUGIN && spec->model.path[0] == 0)
        return gc_error_set(err, GC_ECONFIG, "%s: [model] path: expected "
                            "the plugin's shared object when source = "
                            "plugin (or --plugin FILE), got none",
                            spec->path);
    gc_foreign_options o = {spec->model.source, spec->model.path,
                            spec->model.command, directory,
                            spec->model.timeout, spec->training.batch_size};
    gc_status status = gc_foreign_open(&o, &s->foreign, err);
    if (status == GC_OK)
        status = check_foreign_shapes(s, err);
    if (status != GC_OK)
        return status;
    s->model = gc_foreign_model(s->foreign);
    return GC_OK;
}

/* A snapshot: its batch is the training set, one step of the whole of
 * it, in order; the engine of [network] is the reference forward. */
static gc_status build_snapshot(gc_setup *s, gc_error *err)
{
    gc_status status = gc_snapshot_open(s->spec->model.path,
                                        &s->spec->network, s->spec->loss,
                                        &s->snapshot, err);
    if (status != GC_OK)
        return status;
    s->train = gc_snapshot_take_batch(s->snapshot);
    s->adjusted = *s->spec;
    s->adjusted.training.batch_size = s->train->samples;
    s->adjusted.training.steps = 1;
    s->adjusted.training.shuffle = false;
    s->adjusted.checks.full_every = 0;
    s->spec = &s->adjusted;
    s->inputs = s->train->features;
    s->model = gc_snapshot_model(s->snapshot);
    return GC_OK;
}

/* The permutation (identity at first) and the batch buffers. */
static gc_status alloc_order(gc_setup *s, gc_error *err)
{
    size_t batch = s->spec->training.batch_size;
    s->order = malloc(s->train->samples * sizeof *s->order);
    s->batch_x = malloc(batch * s->inputs * sizeof *s->batch_x);
    s->batch_labels = malloc(batch * sizeof *s->batch_labels);
    s->shuffle_rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!s->order || !s->batch_x || !s->batch_labels || !s->shuffle_rng)
        return gc_error_set(err, GC_ENOMEM, "no memory for the run");
    gsl_rng_set(s->shuffle_rng, (unsigned long)gc_seed_derive(
                                    s->spec->training.seed, GC_SEED_SHUFFLE));
    for (size_t i = 0; i < s->train->samples; i++)
        s->order[i] = i;
    return GC_OK;
}

gc_status gc_setup_open(gc_setup *s, const gc_spec *spec, gc_error *err)
{
    memset(s, 0, sizeof *s);
    s->spec = spec;
    gc_status status = GC_OK;
    if (spec->model.source == GC_MODEL_SNAPSHOT) {
        status = build_snapshot(s, err);
    } else {
        status = gc_data_load(&spec->data, spec->path,
                              gc_seed_derive(spec->training.seed,
                                             GC_SEED_DATA),
                              &s->train, &s->test, err);
        if (status == GC_OK)
            status = spec->model.source == GC_MODEL_ENGINE
                     ? build_engine(s, err) : build_foreign(s, err);
    }
    if (status != GC_OK)
        return status;
    s->steps = s->snapshot ? 1 : planned_steps(s->spec, s->train->samples);
    return alloc_order(s, err);
}

void gc_setup_close(gc_setup *s)
{
    gc_dataset_free(s->train);
    gc_dataset_free(s->test);
    gc_engine_free(s->engine);
    gc_foreign_free(s->foreign);
    gc_snapshot_free(s->snapshot);
    if (s->shuffle_rng)
        gsl_rng_free(s->shuffle_rng);
    free(s->order);
    free(s->batch_x);
    free(s->batch_labels);
    memset(s, 0, sizeof *s);
}

void gc_setup_fill_batch(gc_setup *s, size_t step)
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
}

gc_status gc_setup_update(gc_model *model, const double *grad,
                          double learning_rate, gc_error *err)
{
    if (model->update != NULL)
        return model->update(model, model->params, grad, learning_rate,
                             err);
    for (size_t i = 0; i < model->param_count; i++)
        model->params[i] -= learning_rate * grad[i];
    return GC_OK;
}
