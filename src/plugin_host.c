/* plugin_host.c - the child side of a C plugin (foreign.h).
 *
 * gc_foreign_open() forks; the child calls gc_plugin_host_serve(), which
 * dlopens the plugin, declares it in the pipe protocol's words and then
 * answers requests by calling it, until "quit" or end of input.  This is
 * the only library code that runs in another process: it writes to the
 * socket only, and its caller ends the child with _exit() on its return.
 */
#define _GNU_SOURCE
#include "foreign.h"

#include <gradcheck/plugin.h>

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    FILE *in, *out;
    const gradcheck_plugin *p;
    size_t param_count;
    double *params, *grad, *x, *values;
    int *labels;
    size_t count, max_count;
} host;

static int say_error(host *h, const char *format, const char *detail)
{
    fputs("error ", h->out);
    fprintf(h->out, format, detail ? detail : "");
    fputc('\n', h->out);
    fflush(h->out);
    return 1;
}

/* "error" with the plugin's own message for a non-zero return. */
static void plugin_failed(host *h, const char *call)
{
    const char *why = h->p->last_error ? h->p->last_error() : NULL;
    fprintf(h->out, "error %s returned non-zero%s%s\n", call,
            why ? ": " : "", why ? why : "");
    fflush(h->out);
}

static void reply(host *h, const double *values, size_t n)
{
    fprintf(h->out, "ok %zu\n", n);
    if (n > 0)
        fwrite(values, sizeof(double), n, h->out);
    fflush(h->out);
}

static int declare(host *h)
{
    const gradcheck_plugin *p = h->p;
    FILE *o = h->out;
    fprintf(o, "GRADCHECK 1\nname %s\ninputs %zu\noutputs %zu\n",
            p->name ? p->name : "plugin", p->inputs, p->outputs);
    for (size_t t = 0; t < p->tensor_count; t++) {
        const gradcheck_tensor *ti = &p->tensors[t];
        fprintf(o, "tensor %s %s %zu %zu %zu\n", ti->name,
                ti->kind == GRADCHECK_TENSOR_BIAS ? "bias" : "weight",
                ti->layer, ti->rows, ti->cols);
        h->param_count += ti->rows * ti->cols;
    }
    for (size_t l = 0; l < p->layer_count; l++)
        fprintf(o, "layer %zu %zu %s\n", l + 1, p->layers[l].width,
                p->layers[l].activation);
    if (p->has_deltas && p->layer_count > 0)
        fputs("deltas\n", o);
    fprintf(o, "reduction %s\nend\n", p->loss_is_sum ? "sum" : "mean");
    return fflush(o) == 0 ? 0 : 1;
}

static bool read_values(host *h, double *dst, size_t n)
{
    return fread(dst, sizeof(double), n, h->in) == n;
}

static bool ensure(host *h, size_t count)
{
    if (count <= h->max_count)
        return true;
    size_t values = 0;
    for (size_t l = 0; l < h->p->layer_count; l++)
        values += count * h->p->layers[l].width * 3;
    double *x = realloc(h->x, count * (h->p->inputs + 1) * sizeof(double));
    if (x != NULL)
        h->x = x;
    int *labels = realloc(h->labels, count * sizeof(int));
    if (labels != NULL)
        h->labels = labels;
    double *v = realloc(h->values, (1 + h->param_count + values) *
                                   sizeof(double));
    if (v != NULL)
        h->values = v;
    if (x == NULL || labels == NULL || v == NULL)
        return false;
    h->max_count = count;
    return true;
}

/* "gradient": loss, gradient and the layer values in one answer. */
static void answer_gradient(host *h, const gradcheck_batch *b)
{
    const gradcheck_plugin *p = h->p;
    double *v = h->values;
    if (p->gradient(h->params, b, &v[0], v + 1) != 0) {
        plugin_failed(h, "gradient()");
        return;
    }
    size_t n = 1 + h->param_count;
    for (size_t l = 0; l < p->layer_count; l++) {
        size_t w = b->count * p->layers[l].width;
        double *z = v + n, *a = z + w, *d = p->has_deltas ? a + w : NULL;
        if (p->layer_values == NULL ||
            p->layer_values(l + 1, z, a, d) != 0) {
            plugin_failed(h, "layer_values()");
            return;
        }
        n += w * (p->has_deltas ? 3 : 2);
    }
    reply(h, v, n);
}

static int serve(host *h)
{
    char line[256];
    while (fgets(line, sizeof line, h->in) != NULL) {
        size_t count;
        gradcheck_batch b = {h->x, h->labels, h->count, h->p->inputs};
        if (strcmp(line, "quit\n") == 0)
            return 0;
        if (strcmp(line, "init\n") == 0) {
            if (h->p->init(h->params) != 0)
                plugin_failed(h, "init()");
            else
                reply(h, h->params, h->param_count);
        } else if (sscanf(line, "batch %zu", &count) == 1) {
            if (!ensure(h, count))
                return say_error(h, "no memory for a batch%s", NULL);
            if (!read_values(h, h->x, count * h->p->inputs) ||
                !read_values(h, h->x + count * h->p->inputs, count))
                return 1;
            for (size_t i = 0; i < count; i++)
                h->labels[i] = (int)h->x[count * h->p->inputs + i];
            h->count = count;
            reply(h, NULL, 0);
        } else if (strcmp(line, "loss\n") == 0) {
            double loss;
            if (!read_values(h, h->params, h->param_count))
                return 1;
            if (h->p->loss(h->params, &b, &loss) != 0)
                plugin_failed(h, "loss()");
            else
                reply(h, &loss, 1);
        } else if (strcmp(line, "gradient\n") == 0) {
            if (!read_values(h, h->params, h->param_count))
                return 1;
            answer_gradient(h, &b);
        } else {
            return say_error(h, "the plugin host got an unknown request%s",
                             NULL);
        }
    }
    return 0;
}

int gc_plugin_host_serve(const char *path, int fd)
{
    host h;
    memset(&h, 0, sizeof h);
    int fd2 = dup(fd);
    h.in = fdopen(fd, "rb");
    h.out = fd2 >= 0 ? fdopen(fd2, "wb") : NULL;
    if (h.in == NULL || h.out == NULL)
        return 126;
    void *lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (lib == NULL)
        return say_error(&h, "cannot load the plugin: %s", dlerror());
    gradcheck_plugin_entry entry;
    void *symbol = dlsym(lib, GRADCHECK_PLUGIN_ENTRY);
    memcpy(&entry, &symbol, sizeof entry);
    if (symbol == NULL)
        return say_error(&h, "the plugin exports no " GRADCHECK_PLUGIN_ENTRY
                         "() (include/gradcheck/plugin.h)%s", NULL);
    h.p = entry();
    if (h.p == NULL)
        return say_error(&h, GRADCHECK_PLUGIN_ENTRY "() returned NULL%s",
                         NULL);
    if (h.p->abi_version != GRADCHECK_PLUGIN_ABI_VERSION)
        return say_error(&h, "the plugin was built for another ABI version "
                         "than 1 (rebuild it against this gradcheck's "
                         "gradcheck/plugin.h)%s", NULL);
    if (h.p->init == NULL || h.p->loss == NULL || h.p->gradient == NULL ||
        h.p->tensors == NULL || h.p->tensor_count == 0 ||
        (h.p->layer_count > 0 && h.p->layers == NULL))
        return say_error(&h, "the plugin lacks init, loss, gradient or its "
                         "tensors (all required)%s", NULL);
    if (declare(&h) != 0)
        return 1;
    h.params = malloc((h.param_count ? h.param_count : 1) * sizeof(double));
    if (h.params == NULL || !ensure(&h, 1))
        return say_error(&h, "no memory for the parameters%s", NULL);
    int rc = serve(&h);
    fflush(h.out);
    return rc;
}
