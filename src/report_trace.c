/* report_trace.c - gradcheck trace and sweep as text and JSON Lines
 * (report_trace.h).  Only formatting: every number comes from trace.c or
 * sweep.c. */
#include "report_trace.h"

#include "check.h"

#include <math.h>
#include <string.h>

/* ---- trace --------------------------------------------------------------- */

static const char *activation_formula(const char *name)
{
    if (strcmp(name, "sigmoid") == 0)
        return "a = 1 / (1 + exp(-z)), f'(z) = a (1 - a)";
    if (strcmp(name, "tanh") == 0)
        return "a = tanh(z), f'(z) = 1 - a^2";
    if (strcmp(name, "relu") == 0)
        return "a = max(z, 0), f'(z) = 1 if z >= 0 else 0";
    if (strcmp(name, "leaky-relu") == 0)
        return "a = z if z >= 0 else 0.01 z";
    if (strcmp(name, "identity") == 0)
        return "a = z";
    if (strcmp(name, "softmax") == 0)
        return "a_k = s_k = exp(z_k) / sum_j exp(z_j)";
    return "a = f(z) (the model does not say which f)";
}

static const char *loss_formula(const char *name)
{
    if (strcmp(name, "mse") == 0)
        return "l = 1/2 sum_k (a_k - y_k)^2, y one-hot of the label";
    if (strcmp(name, "cross-entropy") == 0)
        return "l = -sum_k y_k log a_k = -log a_label";
    if (strcmp(name, "binary-cross-entropy") == 0)
        return "l = -sum_k [y_k log a_k + (1 - y_k) log(1 - a_k)]";
    return "l = the model's loss (it does not say which)";
}

/* A number in 11 columns, or the reason it is missing. */
static void cell(FILE *out, double x)
{
    if (isnan(x))
        fprintf(out, " %11s", "kink/none");
    else
        fprintf(out, " % 11.4e", x);
}

/* A value the model does not expose, in the same 11 columns. */
static void absent(FILE *out)
{
    fprintf(out, " %11s", "n/a");
}

/* cell() for a value that is shown, absent() for one that is not. */
static void cell_if(FILE *out, bool shown, double x)
{
    if (shown)
        cell(out, x);
    else
        absent(out);
}

static void left_out(FILE *out, size_t shown, size_t width,
                     const char *what)
{
    if (shown < width)
        fprintf(out, "    (%zu of %zu %s shown; the norms below cover all "
                "of them)\n", shown, width, what);
}

static void write_forward(const gc_trace *t, FILE *out)
{
    fprintf(out, "\nforward, sample %zu (label %d)\n", t->sample, t->label);
    for (size_t l = 1; l <= t->layer_count; l++) {
        const gc_trace_layer *y = &t->layers[l];
        fprintf(out, "  layer %zu, %zu units, %s: z = W%zu a%zu + b%zu\n", l,
                y->width, y->activation, l, l - 1, l);
        fprintf(out, "    %s\n", activation_formula(y->activation));
        fprintf(out, "    %5s %11s %11s%s\n", "unit", "z", "a",
                y->softmax ? "" : "       f'(z)");
        for (size_t i = 0; i < y->shown; i++) {
            fprintf(out, "    %5zu", i);
            cell(out, y->z[i]);
            cell(out, y->a[i]);
            if (!y->softmax)
                cell(out, y->slope[i]);
            fputc('\n', out);
        }
        left_out(out, y->shown, y->width, "units");
        fprintf(out, "    |z| = %.4e  |a| = %.4e\n", y->z_norm, y->a_norm);
    }
    fprintf(out, "  loss (%s): %s\n",
            t->loss_name[0] ? t->loss_name : "not shown",
            loss_formula(t->loss_name));
    if (t->have_numeric_deltas)
        fprintf(out, "    l = %.6e for this sample\n", t->sample_loss);
    else
        fprintf(out, "    l of this sample is not exposed (the model "
                "evaluates whole batches only)\n");
    fprintf(out, "    batch loss L = %.6e (%s over %zu)\n", t->batch_loss,
            t->loss_is_batch_mean ? "mean" : "sum", t->batch_count);
}

/* A softmax delta sums to 0 over the units: the one check of the
 * model's output delta that needs neither g nor a numeric delta. */
static void write_delta_sum(const gc_trace_layer *y, FILE *out)
{
    fprintf(out, "    sum of the model's delta over the %zu units: %.4e\n"
            "    (moving every logit by the same amount leaves s unchanged, "
            "so the true\n    delta sums to 0)\n", y->width, y->delta_sum);
}

/* The output layer of a model that does not show dl/da: the model's delta
 * beside the numeric one, whichever of them is exposed. */
static void write_output_delta_alone(const gc_trace_layer *y, FILE *out)
{
    fprintf(out, "    g = dl/da is not exposed by this model, so the "
            "products the delta could\n    be (s(1-s) g, s(g-s.g), "
            "f'(z) g) are not formed\n");
    fprintf(out, "    %5s %11s %11s\n", "unit", "model", "numeric");
    for (size_t i = 0; i < y->shown; i++) {
        fprintf(out, "    %5zu", i);
        cell_if(out, y->have_delta, y->delta[i]);
        cell_if(out, y->have_numeric_delta, y->numeric_delta[i]);
        fputc('\n', out);
    }
    left_out(out, y->shown, y->width, "units");
    if (y->softmax && y->have_delta)
        write_delta_sum(y, out);
}

static void write_output_delta(const gc_trace_layer *y, FILE *out)
{
    if (!y->have_g) {
        write_output_delta_alone(y, out);
        return;
    }
    if (y->softmax) {
        fprintf(out, "    g = dl/da; the full Jacobian J = diag(s) - s s^T "
                "gives\n      delta = J^T g = s (g - s.g)\n"
                "    its diagonal alone (no -s s^T) gives delta = "
                "s (1 - s) g\n");
        fprintf(out, "    %5s %11s %11s %11s %11s %11s\n", "unit", "g",
                "s(1-s)g", "s(g-s.g)", "model", "numeric");
    } else {
        fprintf(out, "    g = dl/da; delta = f'(z) g\n");
        fprintf(out, "    %5s %11s %11s %11s %11s\n", "unit", "g",
                "f'(z) g", "model", "numeric");
    }
    for (size_t i = 0; i < y->shown; i++) {
        fprintf(out, "    %5zu", i);
        cell(out, y->g[i]);
        if (y->softmax)
            cell(out, y->diagonal[i]);
        cell(out, y->jacobian[i]);
        cell_if(out, y->have_delta, y->delta[i]);
        cell_if(out, y->have_numeric_delta, y->numeric_delta[i]);
        fputc('\n', out);
    }
    left_out(out, y->shown, y->width, "units");
    if (y->softmax) {
        fprintf(out, "    s.g = %.4e; sums over the %zu units:\n"
                "      s(1-s)g %.4e, s(g-s.g) %.4e\n", y->s_dot_g, y->width,
                y->diagonal_sum, y->jacobian_sum);
        fprintf(out, "    (moving every logit by the same amount leaves s "
                "unchanged, so the true\n    delta sums to 0)\n");
        if (y->have_delta)
            fprintf(out, "    model delta vs s(1-s)g: rel %.2e; vs "
                    "s(g-s.g): rel %.2e\n", y->diagonal_rel_error,
                    y->jacobian_rel_error);
    } else if (y->have_delta) {
        fprintf(out, "    model delta vs f'(z) g: rel %.2e\n",
                y->jacobian_rel_error);
    }
}

static void write_hidden_delta(const gc_trace *t, size_t l, FILE *out)
{
    const gc_trace_layer *y = &t->layers[l];
    fprintf(out, "    delta%zu = (W%zu^T delta%zu) * f'(z%zu)\n", l, l + 1,
            l + 1, l);
    if (!y->have_chain)
        fprintf(out, "    (the chain rule from the model's delta above "
                "cannot be formed:\n    %s)\n",
                y->have_delta ? "no weight or no f' for this layer"
                              : "the model does not expose its deltas");
    fprintf(out, "    %5s %11s %11s %11s\n", "unit",
            "chain", "model", "numeric");
    for (size_t i = 0; i < y->shown; i++) {
        fprintf(out, "    %5zu", i);
        cell_if(out, y->have_chain, y->chain[i]);
        cell_if(out, y->have_delta, y->delta[i]);
        cell_if(out, y->have_numeric_delta, y->numeric_delta[i]);
        fputc('\n', out);
    }
    left_out(out, y->shown, y->width, "units");
    if (y->have_chain)
        fprintf(out, "    model delta vs chain from the model's delta%zu: "
                "rel %.2e\n", l + 1, y->chain_rel_error);
}

static void write_backward(const gc_trace *t, FILE *out)
{
    double h = t->step_scale * GC_CBRT_EPSILON;
    if (t->have_numeric_deltas)
        fprintf(out, "\nbackward, delta = dl/dz of this sample; numeric = "
                "(l(z+h) - l(z-h)) / 2h\n  with h = %.3g max(|z|, 1), one "
                "unit at a time\n", h);
    else
        fprintf(out, "\nbackward, delta = dl/dz of this sample, as the "
                "model computed it\n  numeric deltas are not exposed: "
                "the model cannot evaluate one sample's\n  loss with one "
                "z replaced, so the numeric column is n/a\n");
    for (size_t l = t->layer_count; l >= 1; l--) {
        const gc_trace_layer *y = &t->layers[l];
        fprintf(out, "  layer %zu, %s%s\n", l, y->activation,
                l == t->layer_count ? ", output" : "");
        if (l == t->layer_count)
            write_output_delta(y, out);
        else
            write_hidden_delta(t, l, out);
        if (y->have_delta && y->have_numeric_delta)
            fprintf(out, "    |model| = %.4e  |numeric| = %.4e\n"
                    "    model vs numeric: rel %.2e\n", y->delta_norm,
                    y->numeric_delta_norm, y->delta_rel_error);
        else if (y->have_delta)
            fprintf(out, "    |model| = %.4e (no numeric delta to compare "
                    "it with)\n", y->delta_norm);
        else if (y->have_numeric_delta)
            fprintf(out, "    |numeric| = %.4e (the model does not expose "
                    "its deltas)\n", y->numeric_delta_norm);
        else
            fprintf(out, "    (neither the model's delta nor a numeric one "
                    "is exposed)\n");
    }
}

static void write_tensors(const gc_trace *t, FILE *out)
{
    double h = t->step_scale * GC_CBRT_EPSILON;
    fprintf(out, "\ngradients of the batch loss L; numeric = (L(theta+h) - "
            "L(theta-h)) / 2h\n  with h = %.3g max(|theta|, 1), for the "
            "entries shown only\n", h);
    for (size_t k = 0; k < t->tensor_count; k++) {
        const gc_trace_tensor *x = &t->tensors[k];
        bool w = x->kind == GC_TENSOR_WEIGHT;
        fprintf(out, "  %s, %zu x %zu: %s\n", x->name, x->rows, x->cols,
                !t->have_layers ? "the model's gradient"
                : w ? "dW = (1/B) sum_b delta_b a_b^T (a of the layer below)"
                    : "db = (1/B) sum_b delta_b");
        fprintf(out, "    %9s %11s %11s\n", "entry", "model", "numeric");
        for (size_t e = 0; e < x->shown; e++) {
            char entry[48];
            snprintf(entry, sizeof entry, "[%zu,%zu]", x->row[e], x->col[e]);
            fprintf(out, "    %9s", entry);
            cell(out, x->analytic[e]);
            cell(out, x->numeric[e]);
            fputc('\n', out);
        }
        size_t all = x->rows * x->cols;
        fprintf(out, "    %zu of %zu entries shown%s; rel over them %.2e\n"
                "    |model| over all %.4e\n", x->shown, all,
                x->largest && x->shown < all ? " (largest |model|)" : "",
                x->shown_rel_error, x->analytic_norm);
    }
    if (t->tensors_left_out > 0)
        fprintf(out, "  (%zu more tensors not traced)\n",
                t->tensors_left_out);
}

gc_status gc_trace_write_text(const gc_trace *t, const char *config,
                              FILE *out, gc_error *err)
{
    fprintf(out, "trace of %s\nstep %zu, sample %zu of a batch of %zu\n",
            config, t->step, t->sample, t->batch_count);
    if (t->have_layers) {
        write_forward(t, out);
        write_backward(t, out);
    } else {
        fprintf(out, "the model shows no layers: no pre-activations, "
                "activations or deltas;\nonly the gradients are traced "
                "(batch loss L = %.6e)\n", t->batch_loss);
    }
    write_tensors(t, out);
    fprintf(out, "\n%zu loss evaluations\n", t->loss_evaluations);
    if (fflush(out) != 0 || ferror(out))
        return gc_error_set(err, GC_EIO, "could not write the trace");
    return GC_OK;
}

/* ---- sweep --------------------------------------------------------------- */

/* The plot's rows: one per decade of rel error, 10^0 down to
 * 10^PLOT_FLOOR_EXP; smaller errors (and exact zeros) sit on the floor. */
#define PLOT_FLOOR_EXP (-16)

static int plot_row(double rel)
{
    if (!(rel > 0.0))
        return -PLOT_FLOOR_EXP;
    int row = (int)lround(-log10(rel));
    if (row < 0)
        row = 0;
    return row > -PLOT_FLOOR_EXP ? -PLOT_FLOOR_EXP : row;
}

static int plot_column(double h)
{
    return (int)lround((log10(h) - GC_SWEEP_LOW_EXP) * GC_SWEEP_PER_DECADE);
}

static void write_plot(const gc_sweep *s, FILE *out)
{
    enum { COLUMNS = (GC_SWEEP_HIGH_EXP - GC_SWEEP_LOW_EXP) *
                     GC_SWEEP_PER_DECADE + 1 };
    char grid[1 - PLOT_FLOOR_EXP][COLUMNS + 1];
    memset(grid, ' ', sizeof grid);
    for (int r = 0; r <= -PLOT_FLOOR_EXP; r++)
        grid[r][COLUMNS] = '\0';
    for (size_t k = 0; k < s->count; k++) {
        int c = plot_column(s->points[k].h);
        if (c < 0 || c >= COLUMNS || !isfinite(s->points[k].rel_error))
            continue;
        char mark = s->points[k].chosen ? 'o' : '*';
        char *at = &grid[plot_row(s->points[k].rel_error)][c];
        if (*at != 'o')
            *at = mark;
    }
    fprintf(out, "\n  rel. error (log scale) against the step h (log "
            "scale)\n");
    for (int r = 0; r <= -PLOT_FLOOR_EXP; r++) {
        /* trailing spaces are cut so the doc tests compare what shows */
        size_t end = strlen(grid[r]);
        while (end > 0 && grid[r][end - 1] == ' ')
            end--;
        char label[8] = "";
        if (r % 2 == 0)
            snprintf(label, sizeof label, "1e%+03d", -r);
        fprintf(out, "  %5s |%.*s\n", label, (int)end, grid[r]);
    }
}

static void write_plot_axes(const gc_sweep *s, FILE *out)
{
    enum { COLUMNS = (GC_SWEEP_HIGH_EXP - GC_SWEEP_LOW_EXP) *
                     GC_SWEEP_PER_DECADE + 1 };
    char axis[COLUMNS + 1], marker[COLUMNS + 1], labels[COLUMNS + 8];
    memset(axis, '-', COLUMNS);
    axis[COLUMNS] = '\0';
    memset(marker, ' ', COLUMNS);
    marker[COLUMNS] = '\0';
    int c = plot_column(s->chosen_step);
    if (c >= 0 && c < COLUMNS)
        marker[c] = '^';
    memset(labels, ' ', sizeof labels);
    for (int e = GC_SWEEP_LOW_EXP; e <= GC_SWEEP_HIGH_EXP; e += 3) {
        int at = (e - GC_SWEEP_LOW_EXP) * GC_SWEEP_PER_DECADE;
        char text[8];
        snprintf(text, sizeof text, "1e%+03d", e);
        memcpy(labels + at, text, strlen(text));
    }
    labels[COLUMNS + 4] = '\0';
    size_t end = strlen(labels);
    while (end > 0 && labels[end - 1] == ' ')
        end--;
    labels[end] = '\0';
    end = strlen(marker);
    while (end > 0 && marker[end - 1] == ' ')
        end--;
    marker[end] = '\0';
    fprintf(out, "        +%s\n", axis);
    fprintf(out, "         %s\n", labels);
    fprintf(out, "         %s  the step gradcheck takes, o: h = %.3g\n",
            marker, s->chosen_step);
}

gc_status gc_sweep_write_text(const gc_sweep *s, const char *config,
                              FILE *out, gc_error *err)
{
    fprintf(out, "step sweep of %s, %s (%zu elements), step %zu\n", config,
            s->tensor, s->elements, s->step);
    fprintf(out, "direction u as the direction check draws it; g.u = "
            "%.6e; rms(theta) = %.3g\n", s->analytic, s->rms);
    fprintf(out, "D(h) = (L(theta + h u) - L(theta - h u)) / 2h;  rel = "
            "|D - g.u| / (|D| + |g.u|)\n\n");
    fprintf(out, "  %10s %14s %10s %10s\n", "h", "D(h)", "rel.error",
            "rounding");
    for (size_t k = 0; k < s->count; k++) {
        const gc_sweep_point *p = &s->points[k];
        fprintf(out, "  %10.3e % 14.7e %10.2e %10.2e%s%s\n", p->h,
                p->numeric, p->rel_error, p->rounding,
                p->chosen ? "  <- chosen" : "",
                k == s->best && !p->chosen ? "  <- smallest" : "");
    }
    write_plot(s, out);
    write_plot_axes(s, out);
    const gc_sweep_point *best = &s->points[s->best];
    const gc_sweep_point *chosen = &s->points[s->chosen];
    fprintf(out, "\nsmallest error %.2e at h = %.3g; at the chosen h = %.3g "
            "it is %.2e\n", best->rel_error, best->h, chosen->h,
            chosen->rel_error);
    fprintf(out, "left of the floor rounding (eps |L| / h) dominates, right "
            "of it truncation (h^2)\n");
    if (fflush(out) != 0 || ferror(out))
        return gc_error_set(err, GC_EIO, "could not write the sweep");
    return GC_OK;
}

/* A JSON number, or null for NaN and infinities (JSON has neither). */
static void json_number(FILE *out, const char *key, double x, bool comma)
{
    if (isfinite(x))
        fprintf(out, "\"%s\":%.17g%s", key, x, comma ? "," : "");
    else
        fprintf(out, "\"%s\":null%s", key, comma ? "," : "");
}

static void json_string(FILE *out, const char *key, const char *value)
{
    fprintf(out, "\"%s\":\"", key);
    for (const char *c = value; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if ((unsigned char)*c < 0x20)
            fprintf(out, "\\u%04x", (unsigned char)*c);
        else
            fputc(*c, out);
    }
    fputs("\",", out);
}

gc_status gc_sweep_write_json(const gc_sweep *s, const char *config,
                              FILE *out, gc_error *err)
{
    fputs("{\"event\":\"sweep\",", out);
    json_string(out, "config", config);
    json_string(out, "tensor", s->tensor);
    fprintf(out, "\"elements\":%zu,\"step\":%zu,\"points\":%zu,",
            s->elements, s->step, s->count);
    json_number(out, "analytic", s->analytic, true);
    json_number(out, "rms", s->rms, true);
    json_number(out, "chosen_step", s->chosen_step, true);
    json_number(out, "pass_below", s->pass_below, true);
    json_number(out, "fail_above", s->fail_above, true);
    json_number(out, "best_step", s->points[s->best].h, false);
    fputs("}\n", out);
    for (size_t k = 0; k < s->count; k++) {
        const gc_sweep_point *p = &s->points[k];
        fputs("{\"event\":\"sweep_point\",", out);
        json_string(out, "tensor", s->tensor);
        json_number(out, "h", p->h, true);
        json_number(out, "numeric", p->numeric, true);
        json_number(out, "rel_error", p->rel_error, true);
        json_number(out, "rounding", p->rounding, true);
        fprintf(out, "\"chosen\":%s,\"kink\":%s}\n",
                p->chosen ? "true" : "false", p->kink ? "true" : "false");
    }
    if (fflush(out) != 0 || ferror(out))
        return gc_error_set(err, GC_EIO, "could not write the sweep JSON");
    return GC_OK;
}
