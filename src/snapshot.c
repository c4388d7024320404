/* snapshot.c - saved gradients against the declared forward (snapshot.h).
 */
#include "snapshot.h"

#include "engine.h"
#include "npy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gc_snapshot {
    gc_model model;          /* the engine's, with the saved gradient */
    gc_layer_view view;      /* the engine's, without deltas */
    gc_engine *engine;
    gc_dataset *batch;
    double *saved_params;    /* param_count: where the gradient holds */
    double *saved_grad;      /* param_count */
    char directory[GC_PATH_MAX];
};

static gc_snapshot *snapshot_of(gc_model *model)
{
    return (gc_snapshot *)model;   /* model is the first member */
}

/* The engine's loss of the batch; the gradient saved in the snapshot. */
static gc_status saved_gradient(gc_model *model, const double *params,
                                const gc_batch *batch, double *loss,
                                double *grad, gc_error *err)
{
    gc_snapshot *s = snapshot_of(model);
    if (memcmp(params, s->saved_params,
               model->param_count * sizeof(double)) != 0)
        return gc_error_set(err, GC_EMODEL, "snapshot %s: its gradient is "
                            "known at its saved parameters only (the run "
                            "asked at others)", s->directory);
    memcpy(grad, s->saved_grad, model->param_count * sizeof(double));
    return model->loss(model, params, batch, loss, NULL, err);
}

static gc_status file_path(const gc_snapshot *s, const char *name,
                           char *out, gc_error *err)
{
    int n = snprintf(out, GC_PATH_MAX, "%s/%s.npy", s->directory, name);
    if (n < 0 || n >= GC_PATH_MAX)
        return gc_error_set(err, GC_EDATA, "snapshot %s: path too long",
                            s->directory);
    return GC_OK;
}

/* Reads one tensor's file (prefix "" or "grad.") into dst, checking its
 * shape: rows x cols, or rows for a bias. */
static gc_status read_tensor(gc_snapshot *s, const char *prefix,
                             const gc_tensor_info *t, double *dst,
                             gc_error *err)
{
    char name[64], path[GC_PATH_MAX];
    snprintf(name, sizeof name, "%s%s", prefix, t->name);
    gc_status status = file_path(s, name, path, err);
    gc_npy_array *a = NULL;
    if (status == GC_OK)
        status = gc_npy_read(path, GC_NPY_FLOAT64, &a, err);
    if (status != GC_OK)
        return status;
    bool as_matrix = a->ndim == 2 && a->shape[0] == t->rows &&
                     a->shape[1] == t->cols;
    bool as_vector = t->cols == 1 && a->ndim == 1 && a->shape[0] == t->rows;
    if (!as_matrix && !as_vector) {
        char found[64] = "(";
        for (size_t d = 0; d < a->ndim; d++)
            snprintf(found + strlen(found), sizeof found - strlen(found),
                     "%s%zu", d ? ", " : "", a->shape[d]);
        strcat(found, ")");
        gc_npy_free(a);
        bool transposed = t->kind == GC_TENSOR_WEIGHT;
        return gc_error_set(err, GC_EDATA, "%s: expected shape (%zu, %zu)%s "
                            "for %s of the network [network] declares, got "
                            "%s%s", path, t->rows, t->cols,
                            t->cols == 1 ? " or (n,)" : "", t->name, found,
                            transposed ? " (weights are (outputs, inputs), "
                            "z = W a + b: save W.T if yours is a @ W)" : "");
    }
    memcpy(dst, a->values, a->count * sizeof(double));
    gc_npy_free(a);
    return GC_OK;
}

static gc_status read_batch(gc_snapshot *s, const gc_network_spec *net,
                            gc_error *err)
{
    char path[GC_PATH_MAX], lpath[GC_PATH_MAX];
    gc_npy_array *x = NULL, *y = NULL;
    gc_status status = file_path(s, "x", path, err);
    if (status == GC_OK)
        status = file_path(s, "labels", lpath, err);
    if (status == GC_OK)
        status = gc_npy_read(path, GC_NPY_FLOAT64, &x, err);
    if (status == GC_OK)
        status = gc_npy_read(lpath, GC_NPY_INTEGER, &y, err);
    if (status == GC_OK && (x->ndim != 2 || x->shape[0] == 0 ||
                            x->shape[1] == 0))
        status = gc_error_set(err, GC_EDATA, "%s: expected a 2-d array "
                              "(batch, inputs) of at least one sample",
                              path);
    if (status == GC_OK && (y->ndim != 1 || y->shape[0] != x->shape[0]))
        status = gc_error_set(err, GC_EDATA, "%s: expected a 1-d array of "
                              "%zu labels, one per row of x.npy", lpath,
                              x->shape[0]);
    if (status == GC_OK && net->inputs != 0 && net->inputs != x->shape[1])
        status = gc_error_set(err, GC_EDATA, "%s: expected %zu inputs per "
                              "sample ([network] inputs), got %zu", path,
                              net->inputs, x->shape[1]);
    size_t k = net->layers[net->layer_count - 1].width;
    int classes = k == 1 ? 2 : (int)k;
    for (size_t i = 0; status == GC_OK && i < y->count; i++)
        if (y->values[i] < 0 || y->values[i] >= classes)
            status = gc_error_set(err, GC_EDATA, "%s: expected labels in "
                                  "[0, %d) for the declared output layer, "
                                  "got %.0f at %zu", lpath, classes,
                                  y->values[i], i);
    if (status == GC_OK) {
        s->batch = gc_dataset_alloc(x->shape[0], x->shape[1], classes);
        if (s->batch == NULL)
            status = gc_error_set(err, GC_ENOMEM, "no memory for %s", path);
    }
    if (status == GC_OK) {
        memcpy(s->batch->x, x->values, x->count * sizeof(double));
        for (size_t i = 0; i < y->count; i++)
            s->batch->labels[i] = (int)y->values[i];
    }
    gc_npy_free(x);
    gc_npy_free(y);
    return status;
}

gc_status gc_snapshot_open(const char *directory,
                           const gc_network_spec *network, gc_loss loss,
                           gc_snapshot **out, gc_error *err)
{
    *out = NULL;
    gc_snapshot *s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the snapshot");
    snprintf(s->directory, sizeof s->directory, "%s", directory);
    gc_spec defaults;
    gc_spec_init(&defaults);   /* the correct backward: never used here */
    gc_status status = read_batch(s, network, err);
    if (status == GC_OK)
        status = gc_engine_alloc(network, loss, &defaults.as_written,
                                 s->batch->features, s->batch->samples,
                                 &s->engine, err);
    if (status != GC_OK) {
        gc_snapshot_free(s);
        return status;
    }
    const gc_model *m = gc_engine_model(s->engine);
    s->model = *m;
    s->view = *m->layers;
    s->view.deltas = NULL;          /* a snapshot holds no deltas */
    s->model.layers = &s->view;
    s->model.gradient = saved_gradient;
    s->model.set_hook = NULL;       /* the user's backward is not run */
    s->model.update = NULL;
    s->model.predict = NULL;
    s->saved_params = malloc(m->param_count * sizeof(double));
    s->saved_grad = malloc(m->param_count * sizeof(double));
    if (s->saved_params == NULL || s->saved_grad == NULL)
        status = gc_error_set(err, GC_ENOMEM, "no memory for the snapshot");
    for (size_t t = 0; status == GC_OK && t < m->tensor_count; t++) {
        const gc_tensor_info *ti = &m->tensors[t];
        status = read_tensor(s, "", ti, m->params + ti->offset, err);
        if (status == GC_OK)
            status = read_tensor(s, "grad.", ti, s->saved_grad + ti->offset,
                                 err);
    }
    if (status != GC_OK) {
        gc_snapshot_free(s);
        return status;
    }
    memcpy(s->saved_params, m->params, m->param_count * sizeof(double));
    *out = s;
    return GC_OK;
}

void gc_snapshot_free(gc_snapshot *s)
{
    if (s == NULL)
        return;
    gc_engine_free(s->engine);
    gc_dataset_free(s->batch);
    free(s->saved_params);
    free(s->saved_grad);
    free(s);
}

gc_model *gc_snapshot_model(gc_snapshot *s)
{
    return &s->model;
}

gc_dataset *gc_snapshot_take_batch(gc_snapshot *s)
{
    gc_dataset *batch = s->batch;
    s->batch = NULL;
    return batch;
}
