/* foreign.c - the parent's side of a plugin or pipe model (foreign.h).
 *
 * The protocol (docs/sources/pipe.md) in brief: the child first writes
 * text lines declaring itself ("GRADCHECK 1", inputs, outputs, tensor,
 * layer, deltas, reduction, name, "end"); then gradcheck sends requests,
 * each a text line followed by float64 little-endian values, and the
 * child answers "ok N" followed by N float64 values, or "error MESSAGE".
 *
 *   init                      -> ok P          the starting parameters
 *   batch B, B*F x, B labels  -> ok 0          the batch of later calls
 *   loss, P params            -> ok 1          the loss
 *   gradient, P params        -> ok 1+P+V      loss, gradient, then V
 *                                              layer values: per layer
 *                                              z, a (and delta), B x w
 *   quit                      -> (exits)
 *
 * Every read and write has the call's deadline (poll); the socket is a
 * SOCK_STREAM pair written with MSG_NOSIGNAL, so a dead child is a
 * message, never a SIGPIPE for gradcheck.
 */
#define _GNU_SOURCE
#include "foreign.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the pipe protocol's payloads are little-endian; port the I/O"
#endif

#define MAX_TENSORS (4 * GC_MAX_LAYERS)
#define MAX_ARGS 64
#define LINE_MAX_BYTES 1024
/* A child that was asked to quit gets this long before it is killed. */
#define QUIT_GRACE_SECONDS 1.0

struct gc_foreign {
    gc_model model;
    gc_layer_view view;
    gc_tensor_info tensors[MAX_TENSORS];
    size_t inputs, outputs, max_batch;
    size_t layer_count;
    size_t widths[GC_MAX_LAYERS + 1];
    char activation[GC_MAX_LAYERS + 1][16];
    bool has_deltas, loss_is_sum;
    double *z[GC_MAX_LAYERS + 1], *a[GC_MAX_LAYERS + 1];
    double *delta[GC_MAX_LAYERS + 1];
    const double *input_x;       /* layer 0 of the last gradient call */
    size_t values_count;         /* B x widths, per layer, of that call */
    /* the batch the child holds */
    double *sent_x;
    int *sent_labels;
    size_t sent_count;
    bool batch_sent;
    double *io;                  /* payload scratch */
    size_t io_count;
    double *scratch_grad;        /* forward() through gradient */
    /* the child */
    int fd;
    pid_t pid;
    double timeout;
    double deadline;
    char what[GC_PATH_MAX + 64]; /* "plugin PATH" / "pipe 'COMMAND'" */
    char name[64];
    char call[256];              /* the call in progress, for messages */
    size_t calls;
    bool failed;
    gc_error failure;
    char failed_call[256];
    char failed_reason[700];
    char in[8192];
    size_t in_start, in_end;
};

/* ---- time and failure ---------------------------------------------------- */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Reaps the child, waiting up to `grace` seconds, then kills it; writes
 * how it ended ("exited with status 3", "was killed by signal 11
 * (Segmentation fault)") to out, or "" if it was still running. */
static void reap(gc_foreign *f, double grace, char *out, size_t size)
{
    out[0] = '\0';
    if (f->pid <= 0)
        return;
    int status = 0;
    double until = now() + grace;
    pid_t got = 0;
    while ((got = waitpid(f->pid, &status, WNOHANG)) == 0 && now() < until)
        usleep(2000);
    if (got == 0) {
        kill(f->pid, SIGKILL);
        got = waitpid(f->pid, &status, 0);
        f->pid = -1;
        return;
    }
    f->pid = -1;
    if (got < 0)
        return;
    if (WIFEXITED(status))
        snprintf(out, size, "it exited with status %d",
                 WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(out, size, "it was killed by signal %d (%s)",
                 WTERMSIG(status), strsignal(WTERMSIG(status)));
}

/* Marks the model failed with "WHAT: CALL: reason[; how it ended]". */
static gc_status fail(gc_foreign *f, gc_error *err, bool dead,
                      const char *format, ...)
    __attribute__((format(printf, 4, 5)));

static gc_status fail(gc_foreign *f, gc_error *err, bool dead,
                      const char *format, ...)
{
    char reason[512], ended[128];
    va_list args;
    va_start(args, format);
    vsnprintf(reason, sizeof reason, format, args);
    va_end(args);
    if (!dead && f->pid > 0) {
        kill(f->pid, SIGKILL);
    }
    reap(f, dead ? QUIT_GRACE_SECONDS : 5.0, ended, sizeof ended);
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
    }
    f->failed = true;
    snprintf(f->failed_call, sizeof f->failed_call, "%s", f->call);
    if (!dead)
        ended[0] = '\0';   /* we killed it; how it ended says nothing */
    snprintf(f->failed_reason, sizeof f->failed_reason, "%s%s%s", reason,
             ended[0] ? "; " : "", ended);
    gc_error_set(&f->failure, GC_EMODEL, "%s: %s: %s", f->what, f->call,
                 f->failed_reason);
    if (err != NULL)
        *err = f->failure;
    return GC_EMODEL;
}

/* Printable copy of at most 60 bytes of s, for messages about garbage. */
static void printable(char *out, size_t size, const char *s, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < n && i < 60 && used + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isprint(c) && c != '\'')
            out[used++] = (char)c;
        else
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", c);
    }
    out[used] = '\0';
    if (n > 60 && used + 4 < size)
        strcat(out, "...");
}

/* ---- the socket ---------------------------------------------------------- */

/* Waits for fd to be ready for `events` until the deadline; false on
 * timeout (and sets *timed_out). */
static bool wait_ready(gc_foreign *f, short events, bool *timed_out)
{
    for (;;) {
        double left = f->deadline - now();
        if (left <= 0.0) {
            *timed_out = true;
            return false;
        }
        struct pollfd p = {f->fd, events, 0};
        int ms = left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1;
        int n = poll(&p, 1, ms);
        if (n > 0)
            return true;
        if (n < 0 && errno != EINTR)
            return true;        /* let the read or write report it */
    }
}

static gc_status timed_out(gc_foreign *f, gc_error *err)
{
    return fail(f, err, false, "no answer within the time limit of %g s "
                "([model] timeout); the model's process was killed", f->timeout);
}

static gc_status send_all(gc_foreign *f, const void *data, size_t n,
                          gc_error *err)
{
    const char *p = data;
    while (n > 0) {
        bool late = false;
        if (!wait_ready(f, POLLOUT, &late))
            return timed_out(f, err);
        ssize_t w = send(f->fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (w <= 0)
            return fail(f, err, true, "the request could not be sent (%s): "
                        "the child stopped reading", strerror(errno));
        p += w;
        n -= (size_t)w;
    }
    return GC_OK;
}

/* Reads more bytes into the input buffer; EOF is a failure. */
static gc_status fill(gc_foreign *f, gc_error *err)
{
    if (f->in_start > 0) {
        memmove(f->in, f->in + f->in_start, f->in_end - f->in_start);
        f->in_end -= f->in_start;
        f->in_start = 0;
    }
    for (;;) {
        bool late = false;
        if (!wait_ready(f, POLLIN, &late))
            return timed_out(f, err);
        ssize_t r = recv(f->fd, f->in + f->in_end, sizeof f->in - f->in_end,
                         0);
        if (r < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (r < 0)
            return fail(f, err, true, "reading the answer failed (%s)",
                        strerror(errno));
        if (r == 0)
            return fail(f, err, true, "the model's process closed its "
                        "output before answering");
        f->in_end += (size_t)r;
        return GC_OK;
    }
}

/* One line without its newline into out. */
static gc_status read_line(gc_foreign *f, char *out, size_t size,
                           gc_error *err)
{
    for (;;) {
        char *start = f->in + f->in_start;
        size_t have = f->in_end - f->in_start;
        char *nl = memchr(start, '\n', have);
        if (nl != NULL) {
            size_t n = (size_t)(nl - start);
            if (n >= size) {
                char shown[300];
                printable(shown, sizeof shown, start, n);
                return fail(f, err, false, "answered a line of %zu bytes "
                            "('%s'); expected a protocol line "
                            "(docs/sources/pipe.md)", n, shown);
            }
            memcpy(out, start, n);
            out[n] = '\0';
            if (n > 0 && out[n - 1] == '\r')
                out[n - 1] = '\0';
            f->in_start += n + 1;
            return GC_OK;
        }
        if (have >= LINE_MAX_BYTES) {
            char shown[300];
            printable(shown, sizeof shown, start, have);
            return fail(f, err, false, "answered %zu bytes without a "
                        "newline ('%s'); expected a protocol line such as "
                        "'ok 1' (docs/sources/pipe.md)", have, shown);
        }
        gc_status status = fill(f, err);
        if (status != GC_OK)
            return status;
    }
}

static gc_status read_exact(gc_foreign *f, void *dst, size_t n,
                            gc_error *err)
{
    char *p = dst;
    while (n > 0) {
        size_t have = f->in_end - f->in_start;
        if (have == 0) {
            gc_status status = fill(f, err);
            if (status != GC_OK)
                return status;
            continue;
        }
        size_t take = have < n ? have : n;
        memcpy(p, f->in + f->in_start, take);
        f->in_start += take;
        p += take;
        n -= take;
    }
    return GC_OK;
}

/* Reads "ok N" with N == expected and the N values into dst. */
static gc_status read_reply(gc_foreign *f, size_t expected, double *dst,
                            gc_error *err)
{
    char line[LINE_MAX_BYTES];
    gc_status status = read_line(f, line, sizeof line, err);
    if (status != GC_OK)
        return status;
    if (strncmp(line, "error", 5) == 0 && (line[5] == ' ' || !line[5]))
        return fail(f, err, false, "the model reported an error: %s",
                    line[5] ? line + 6 : "(no message)");
    unsigned long long n = 0;
    int used = 0;
    char shown[300];
    if (sscanf(line, "ok %llu%n", &n, &used) != 1 || line[used] != '\0') {
        printable(shown, sizeof shown, line, strlen(line));
        return fail(f, err, false, "answered '%s'; expected 'ok %zu' or "
                    "'error MESSAGE' (docs/sources/pipe.md)", shown,
                    expected);
    }
    if (n != expected)
        return fail(f, err, false, "answered with %llu values; expected "
                    "%zu", n, expected);
    return read_exact(f, dst, expected * sizeof(double), err);
}

/* ---- requests ------------------------------------------------------------ */

static void describe_params(gc_foreign *f, const char *what,
                            const double *params, size_t count)
{
    double norm = 0.0, largest = 0.0;
    size_t bad = 0;
    for (size_t i = 0; params != NULL && i < f->model.param_count; i++) {
        if (!isfinite(params[i])) {
            bad++;
            continue;
        }
        norm += params[i] * params[i];
        largest = fmax(largest, fabs(params[i]));
    }
    f->calls++;
    if (params == NULL) {
        snprintf(f->call, sizeof f->call, "call %zu (%s)", f->calls, what);
        return;
    }
    snprintf(f->call, sizeof f->call, "call %zu (%s of a batch of %zu at "
             "%zu parameters: 2-norm %.6g, largest |value| %.6g%s)",
             f->calls, what, count, f->model.param_count, sqrt(norm),
             largest, bad ? ", some not finite" : "");
}

static gc_status request(gc_foreign *f, const char *line,
                         const double *payload, size_t count, gc_error *err)
{
    f->deadline = now() + f->timeout;
    gc_status status = send_all(f, line, strlen(line), err);
    if (status == GC_OK && count > 0)
        status = send_all(f, payload, count * sizeof(double), err);
    return status;
}

static gc_status ensure_batch(gc_foreign *f, const gc_batch *batch,
                              gc_error *err)
{
    if (batch->features != f->inputs)
        return gc_error_set(err, GC_EINVAL, "%s: a batch of %zu features; "
                            "the model declared %zu inputs", f->what,
                            batch->features, f->inputs);
    if (batch->count > f->max_batch)
        return gc_error_set(err, GC_EINVAL, "%s: a batch of %zu exceeds "
                            "the %zu planned", f->what, batch->count,
                            f->max_batch);
    size_t nx = batch->count * batch->features;
    if (f->batch_sent && f->sent_count == batch->count &&
        memcmp(f->sent_x, batch->x, nx * sizeof(double)) == 0 &&
        memcmp(f->sent_labels, batch->labels,
               batch->count * sizeof(int)) == 0)
        return GC_OK;
    memcpy(f->sent_x, batch->x, nx * sizeof(double));
    memcpy(f->sent_labels, batch->labels, batch->count * sizeof(int));
    f->sent_count = batch->count;
    f->batch_sent = true;
    memcpy(f->io, batch->x, nx * sizeof(double));
    for (size_t i = 0; i < batch->count; i++)
        f->io[nx + i] = (double)batch->labels[i];
    char line[64];
    snprintf(line, sizeof line, "batch %zu\n", batch->count);
    gc_status status = request(f, line, f->io, nx + batch->count, err);
    if (status == GC_OK)
        status = read_reply(f, 0, NULL, err);
    if (status != GC_OK)
        f->batch_sent = false;
    return status;
}

static gc_foreign *foreign_of(gc_model *model)
{
    return (gc_foreign *)model->self;
}

static gc_status foreign_loss(gc_model *model, const double *params,
                              const gc_batch *batch, double *loss,
                              uint64_t *pattern, gc_error *err)
{
    gc_foreign *f = foreign_of(model);
    if (pattern != NULL)
        *pattern = 0;
    if (f->failed) {
        *err = f->failure;
        return GC_EMODEL;
    }
    describe_params(f, "loss", params, batch->count);
    gc_status status = ensure_batch(f, batch, err);
    if (status == GC_OK)
        status = request(f, "loss\n", params, model->param_count, err);
    if (status == GC_OK)
        status = read_reply(f, 1, loss, err);
    return status;
}

static gc_status foreign_gradient(gc_model *model, const double *params,
                                  const gc_batch *batch, double *loss,
                                  double *grad, gc_error *err)
{
    gc_foreign *f = foreign_of(model);
    if (f->failed) {
        *err = f->failure;
        return GC_EMODEL;
    }
    describe_params(f, "gradient", params, batch->count);
    size_t p = model->param_count, values = 0;
    for (size_t l = 1; l <= f->layer_count; l++)
        values += batch->count * f->widths[l] * (f->has_deltas ? 3 : 2);
    gc_status status = ensure_batch(f, batch, err);
    if (status == GC_OK)
        status = request(f, "gradient\n", params, p, err);
    if (status == GC_OK)
        status = read_reply(f, 1 + p + values, f->io, err);
    if (status != GC_OK)
        return status;
    *loss = f->io[0];
    memcpy(grad, f->io + 1, p * sizeof(double));
    const double *v = f->io + 1 + p;
    for (size_t l = 1; l <= f->layer_count; l++) {
        size_t n = batch->count * f->widths[l];
        memcpy(f->z[l], v, n * sizeof(double));
        memcpy(f->a[l], v + n, n * sizeof(double));
        if (f->has_deltas)
            memcpy(f->delta[l], v + 2 * n, n * sizeof(double));
        v += n * (f->has_deltas ? 3 : 2);
    }
    f->input_x = batch->x;
    return GC_OK;
}

/* ---- the layer view ------------------------------------------------------ */

static gc_status view_forward(gc_model *model, const double *params,
                              const gc_batch *batch, double *loss,
                              gc_error *err)
{
    gc_foreign *f = foreign_of(model);
    return foreign_gradient(model, params, batch, loss, f->scratch_grad,
                            err);
}

static size_t view_width(gc_model *model, size_t layer)
{
    gc_foreign *f = foreign_of(model);
    return layer <= f->layer_count ? f->widths[layer] : 0;
}

static const double *view_z(gc_model *model, size_t layer)
{
    gc_foreign *f = foreign_of(model);
    return layer >= 1 && layer <= f->layer_count ? f->z[layer] : NULL;
}

static const double *view_a(gc_model *model, size_t layer)
{
    gc_foreign *f = foreign_of(model);
    if (layer == 0)
        return f->input_x;
    return layer <= f->layer_count ? f->a[layer] : NULL;
}

static const char *view_activation(gc_model *model, size_t layer)
{
    gc_foreign *f = foreign_of(model);
    return layer <= f->layer_count ? f->activation[layer] : "identity";
}

static const double *view_deltas(gc_model *model, size_t layer)
{
    gc_foreign *f = foreign_of(model);
    return layer >= 1 && layer <= f->layer_count ? f->delta[layer] : NULL;
}

/* ---- the declaration ----------------------------------------------------- */

static gc_status bad_line(gc_foreign *f, const char *line, const char *what,
                          gc_error *err)
{
    char shown[300];
    printable(shown, sizeof shown, line, strlen(line));
    return fail(f, err, false, "declared '%s'; expected %s "
                "(docs/sources/pipe.md)", shown, what);
}

static gc_status declare_tensor(gc_foreign *f, const char *line,
                                gc_error *err)
{
    char name[64], kind[16];
    size_t layer, rows, cols;
    int used = 0;
    if (sscanf(line, "tensor %63s %15s %zu %zu %zu%n", name, kind, &layer,
               &rows, &cols, &used) != 5 || line[used] != '\0' ||
        strlen(name) >= sizeof f->tensors[0].name ||
        (strcmp(kind, "weight") != 0 && strcmp(kind, "bias") != 0) ||
        layer == 0 || layer > GC_MAX_LAYERS || rows == 0 || cols == 0)
        return bad_line(f, line, "'tensor NAME weight|bias LAYER ROWS "
                        "COLS' with a name of at most 31 characters, a "
                        "layer from 1 to 16 and sizes >= 1", err);
    if (f->model.tensor_count == MAX_TENSORS)
        return bad_line(f, line, "at most 64 tensors", err);
    gc_tensor_info *t = &f->tensors[f->model.tensor_count++];
    memcpy(t->name, name, strlen(name) + 1);   /* checked: < 32 bytes */
    t->kind = kind[0] == 'w' ? GC_TENSOR_WEIGHT : GC_TENSOR_BIAS;
    t->layer = layer;
    t->rows = rows;
    t->cols = cols;
    t->offset = f->model.param_count;
    f->model.param_count += rows * cols;
    return GC_OK;
}

static gc_status declare_layer(gc_foreign *f, const char *line,
                               gc_error *err)
{
    size_t layer, width;
    char act[16];
    int used = 0;
    gc_activation a;
    if (sscanf(line, "layer %zu %zu %15s%n", &layer, &width, act, &used) !=
            3 || line[used] != '\0' || width == 0 ||
        layer != f->layer_count + 1 || layer > GC_MAX_LAYERS ||
        !gc_activation_from_name(act, &a))
        return bad_line(f, line, "'layer L WIDTH ACTIVATION' for layers "
                        "1, 2, ... in order, with an activation gradcheck "
                        "knows (sigmoid, tanh, relu, leaky-relu, identity, "
                        "softmax)", err);
    f->layer_count = layer;
    f->widths[layer] = width;
    snprintf(f->activation[layer], sizeof f->activation[layer], "%s", act);
    return GC_OK;
}

/* The declaration's lines up to "end". */
static gc_status read_declaration(gc_foreign *f, gc_error *err)
{
    char line[LINE_MAX_BYTES];
    snprintf(f->call, sizeof f->call, "its declaration");
    f->deadline = now() + f->timeout;
    gc_status status = read_line(f, line, sizeof line, err);
    if (status != GC_OK)
        return status;
    if (strncmp(line, "error ", 6) == 0)
        return fail(f, err, false, "%s", line + 6);
    if (strcmp(line, "GRADCHECK 1") != 0)
        return bad_line(f, line, "'GRADCHECK 1' as the first line", err);
    for (;;) {
        status = read_line(f, line, sizeof line, err);
        if (status != GC_OK)
            return status;
        if (strcmp(line, "end") == 0)
            break;
        if (strncmp(line, "tensor ", 7) == 0)
            status = declare_tensor(f, line, err);
        else if (strncmp(line, "layer ", 6) == 0)
            status = declare_layer(f, line, err);
        else if (sscanf(line, "inputs %zu", &f->inputs) == 1 ||
                 sscanf(line, "outputs %zu", &f->outputs) == 1)
            status = GC_OK;
        else if (strcmp(line, "deltas") == 0)
            f->has_deltas = true;
        else if (strcmp(line, "reduction mean") == 0)
            f->loss_is_sum = false;
        else if (strcmp(line, "reduction sum") == 0)
            f->loss_is_sum = true;
        else if (strncmp(line, "name ", 5) == 0)
            snprintf(f->name, sizeof f->name, "%.60s", line + 5);
        else if (line[0] != '\0' && line[0] != '#')
            status = bad_line(f, line, "inputs, outputs, tensor, layer, "
                              "deltas, reduction, name or end", err);
        if (status != GC_OK)
            return status;
    }
    if (f->inputs == 0 || f->outputs == 0 || f->model.tensor_count == 0)
        return fail(f, err, false, "declared no inputs, outputs or tensors; "
                    "expected 'inputs N', 'outputs K' and at least one "
                    "'tensor' line before 'end'");
    if (f->has_deltas && f->layer_count == 0)
        return fail(f, err, false, "declared deltas but no layers");
    if (f->layer_count > 0 && f->widths[f->layer_count] != f->outputs)
        return fail(f, err, false, "declared %zu outputs but a last layer "
                    "of width %zu", f->outputs, f->widths[f->layer_count]);
    f->widths[0] = f->inputs;
    snprintf(f->activation[0], sizeof f->activation[0], "identity");
    return GC_OK;
}

/* ---- starting the child -------------------------------------------------- */

/* Splits a command line on blanks; "..." and '...' group words. */
static size_t split_command(char *text, char **argv, size_t max)
{
    size_t n = 0;
    char *r = text, *w = text;
    while (*r && n + 1 < max) {
        while (*r == ' ' || *r == '\t')
            r++;
        if (!*r)
            break;
        argv[n++] = w;
        char quote = 0;
        while (*r && (quote || (*r != ' ' && *r != '\t'))) {
            if (!quote && (*r == '"' || *r == '\''))
                quote = *r++;
            else if (quote && *r == quote) {
                quote = 0;
                r++;
            } else
                *w++ = *r++;
        }
        if (*r)
            r++;
        *w++ = '\0';
    }
    argv[n] = NULL;
    return n;
}

static gc_status start_child(gc_foreign *f, const gc_foreign_options *o,
                             gc_error *err)
{
    char command[GC_PATH_MAX];
    char *argv[MAX_ARGS];
    if (o->source == GC_MODEL_PIPE) {
        snprintf(command, sizeof command, "%s", o->command);
        if (split_command(command, argv, MAX_ARGS) == 0)
            return gc_error_set(err, GC_ECONFIG, "[model] command: "
                                "expected a program to start, got '%s'",
                                o->command);
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return gc_error_set(err, GC_EIO, "%s: socketpair failed: %s",
                            f->what, strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(sv[0]);
        close(sv[1]);
        return gc_error_set(err, GC_EIO, "%s: fork failed: %s", f->what,
                            strerror(errno));
    }
    if (pid == 0) {
        /* The child: ends with _exit, never returns into gradcheck. */
        close(sv[0]);
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        signal(SIGFPE, SIG_DFL);
        signal(SIGILL, SIG_DFL);
        signal(SIGINT, SIG_IGN);   /* gradcheck decides when to stop */
        if (o->source == GC_MODEL_PLUGIN)
            _exit(gc_plugin_host_serve(o->path, sv[1]));
        if (dup2(sv[1], STDIN_FILENO) < 0 || dup2(sv[1], STDOUT_FILENO) < 0)
            _exit(127);
        if (o->directory && o->directory[0] && chdir(o->directory) != 0) {
            dprintf(STDOUT_FILENO, "error cannot enter %s: %s\n",
                    o->directory, strerror(errno));
            _exit(127);
        }
        execvp(argv[0], argv);
        dprintf(STDOUT_FILENO, "error cannot start '%s': %s\n", argv[0],
                strerror(errno));
        _exit(127);
    }
    close(sv[1]);
    f->fd = sv[0];
    f->pid = pid;
    int flags = fcntl(f->fd, F_GETFL);
    fcntl(f->fd, F_SETFL, flags | O_NONBLOCK);
    return GC_OK;
}

static gc_status allocate(gc_foreign *f, gc_error *err)
{
    size_t p = f->model.param_count, b = f->max_batch, values = 0;
    for (size_t l = 1; l <= f->layer_count; l++)
        values += b * f->widths[l] * 3;
    size_t io = 1 + p + values;
    if (io < b * (f->inputs + 1))
        io = b * (f->inputs + 1);
    f->io_count = io;
    f->io = malloc(io * sizeof(double));
    f->model.params = calloc(p, sizeof(double));
    f->scratch_grad = malloc(p * sizeof(double));
    f->sent_x = malloc(b * f->inputs * sizeof(double));
    f->sent_labels = malloc(b * sizeof(int));
    bool ok = f->io && f->model.params && f->scratch_grad && f->sent_x &&
              f->sent_labels;
    for (size_t l = 1; ok && l <= f->layer_count; l++) {
        size_t n = b * f->widths[l];
        f->z[l] = calloc(n, sizeof(double));
        f->a[l] = calloc(n, sizeof(double));
        f->delta[l] = f->has_deltas ? calloc(n, sizeof(double)) : NULL;
        ok = f->z[l] && f->a[l] && (!f->has_deltas || f->delta[l]);
    }
    return ok ? GC_OK
              : gc_error_set(err, GC_ENOMEM, "no memory for %s", f->what);
}

static void wire(gc_foreign *f)
{
    gc_model *m = &f->model;
    m->self = f;
    m->tensors = f->tensors;
    m->loss = foreign_loss;
    m->gradient = foreign_gradient;
    if (f->layer_count == 0)
        return;
    gc_layer_view *v = &f->view;
    v->layer_count = f->layer_count;
    v->forward = view_forward;
    v->width = view_width;
    v->pre_activations = view_z;
    v->activations = view_a;
    v->activation_name = view_activation;
    v->deltas = f->has_deltas ? view_deltas : NULL;
    v->loss_is_batch_mean = !f->loss_is_sum;
    m->layers = v;
}

gc_status gc_foreign_open(const gc_foreign_options *o, gc_foreign **out,
                          gc_error *err)
{
    *out = NULL;
    gc_foreign *f = calloc(1, sizeof *f);
    if (f == NULL)
        return gc_error_set(err, GC_ENOMEM, "no memory for the model");
    f->fd = -1;
    f->pid = -1;
    f->timeout = o->timeout > 0.0 ? o->timeout : 10.0;
    f->max_batch = o->max_batch ? o->max_batch : 1;
    if (o->source == GC_MODEL_PLUGIN)
        snprintf(f->what, sizeof f->what, "plugin %s", o->path);
    else
        snprintf(f->what, sizeof f->what, "pipe '%s'", o->command);
    gc_status status = start_child(f, o, err);
    if (status == GC_OK)
        status = read_declaration(f, err);
    if (status == GC_OK)
        status = allocate(f, err);
    if (status == GC_OK) {
        wire(f);
        describe_params(f, "init", NULL, 0);
        status = request(f, "init\n", NULL, 0, err);
    }
    if (status == GC_OK)
        status = read_reply(f, f->model.param_count, f->model.params, err);
    if (status != GC_OK) {
        gc_foreign_free(f);
        return status;
    }
    if (f->name[0] != '\0') {
        size_t used = strlen(f->what);
        snprintf(f->what + used, sizeof f->what - used, " (%s)", f->name);
    }
    *out = f;
    return GC_OK;
}

void gc_foreign_free(gc_foreign *f)
{
    if (f == NULL)
        return;
    if (f->fd >= 0) {
        send(f->fd, "quit\n", 5, MSG_NOSIGNAL);
        shutdown(f->fd, SHUT_WR);
    }
    char ended[128];
    reap(f, QUIT_GRACE_SECONDS, ended, sizeof ended);
    if (f->fd >= 0)
        close(f->fd);
    for (size_t l = 0; l <= GC_MAX_LAYERS; l++) {
        free(f->z[l]);
        free(f->a[l]);
        free(f->delta[l]);
    }
    free(f->io);
    free(f->model.params);
    free(f->scratch_grad);
    free(f->sent_x);
    free(f->sent_labels);
    free(f);
}

gc_model *gc_foreign_model(gc_foreign *f)
{
    return &f->model;
}

size_t gc_foreign_inputs(const gc_foreign *f)
{
    return f->inputs;
}

size_t gc_foreign_outputs(const gc_foreign *f)
{
    return f->outputs;
}

const char *gc_foreign_describe(const gc_foreign *f)
{
    return f->what;
}

size_t gc_foreign_calls(const gc_foreign *f)
{
    return f->calls;
}

bool gc_foreign_failure(const gc_foreign *f, const char **call,
                        const char **reason)
{
    *call = f->failed_call;
    *reason = f->failed_reason;
    return f->failed;
}
