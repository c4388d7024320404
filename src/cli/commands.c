/* commands.c - gradcheck trace and gradcheck sweep (commands.h). */
#define _POSIX_C_SOURCE 200809L

#include "commands.h"

#include "config.h"
#include "report_html.h"
#include "report_replay.h"
#include "report_trace.h"
#include "session.h"
#include "setup.h"
#include "sweep.h"
#include "trace.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

void gc_cli_commands_usage(FILE *stream)
{
    fputs("  gradcheck trace [--step N] [--sample K] [--plugin FILE] "
          "MODEL.cfg\n"
          "      forward and backward of one sample of one step, layer by\n"
          "      layer, each delta and gradient beside its finite difference\n"
          "      (defaults: step 0, sample 0)\n"
          "  gradcheck sweep [--tensor NAME] [--step N] [--json FILE]\n"
          "                  [--html FILE] [--plugin FILE] MODEL.cfg\n"
          "      one tensor's directional check at steps h from 1e-12 to\n"
          "      1e-1: the error curve, with the step gradcheck takes\n"
          "      (defaults: the first tensor, step 0)\n",
          stream);
}

typedef struct {
    const char *config;
    size_t step, sample;
    const char *tensor;
    const char *json;
    const char *plugin;
    const char *html;
} command_options;

/* A non-negative integer option value; false (and a message) if not. */
static bool parse_count(const char *option, const char *text, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (text[0] == '\0' || text[0] == '-' || *end != '\0' || errno != 0) {
        fprintf(stderr, "gradcheck: %s needs a whole number >= 0, got "
                "'%s'\n", option, text);
        return false;
    }
    *out = (size_t)v;
    return true;
}

/* Parses argv[1..] for the options `allowed` names ("step", "sample",
 * "tensor", "json", "plugin", "html"); returns 0 or an exit status. */
static int parse(int argc, char **argv, const char *allowed,
                 command_options *o)
{
    *o = (command_options){0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *names[] = {"step", "sample", "tensor", "json",
                               "plugin", "html"};
        bool matched = false;
        for (size_t n = 0; n < sizeof names / sizeof names[0] && !matched;
             n++) {
            size_t len = strlen(names[n]);
            if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, names[n], len) ||
                (a[2 + len] != '\0' && a[2 + len] != '='))
                continue;
            matched = true;
            if (strstr(allowed, names[n]) == NULL)
                break;
            const char *value = a[2 + len] == '=' ? a + 3 + len : NULL;
            if (value == NULL) {
                if (i + 1 == argc) {
                    fprintf(stderr, "gradcheck %s: %s needs a value\n",
                            argv[0], a);
                    return EXIT_USAGE;
                }
                value = argv[++i];
            }
            if ((n == 0 && !parse_count("--step", value, &o->step)) ||
                (n == 1 && !parse_count("--sample", value, &o->sample)))
                return EXIT_USAGE;
            if (n == 2)
                o->tensor = value;
            if (n == 3)
                o->json = value;
            if (n == 4)
                o->plugin = value;
            if (n == 5)
                o->html = value;
            a = NULL;
        }
        if (a == NULL)
            continue;
        if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "gradcheck %s: unknown option '%s' (gradcheck "
                    "--help lists them)\n", argv[0], a);
            return EXIT_USAGE;
        }
        if (o->config != NULL) {
            fprintf(stderr, "gradcheck %s: one config file, got '%s' too\n",
                    argv[0], a);
            return EXIT_USAGE;
        }
        o->config = a;
    }
    if (o->config == NULL) {
        fprintf(stderr, "gradcheck %s: which MODEL.cfg?  usage:\n", argv[0]);
        gc_cli_commands_usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* Loads the config and brings a session to `step`; 0 or an exit status. */
static int open_at(const command_options *o, gc_spec *spec,
                   gc_session **session)
{
    gc_error err;
    gc_error_clear(&err);
    if (gc_config_load(o->config, spec, &err) != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    if (o->plugin != NULL) {
        /* as gradcheck --plugin FILE does for a run (main.c) */
        if (strlen(o->plugin) >= sizeof spec->model.path) {
            fprintf(stderr, "gradcheck: --plugin: a path of at most %zu "
                    "characters expected\n", sizeof spec->model.path - 1);
            return EXIT_USAGE;
        }
        spec->model.source = GC_MODEL_PLUGIN;
        snprintf(spec->model.path, sizeof spec->model.path, "%s",
                 o->plugin);
    }
    gc_status status = gc_session_open(spec, session, &err);
    if (status == GC_OK && o->step >= gc_session_planned_steps(*session))
        status = gc_error_set(&err, GC_EUSAGE, "%s has %zu steps (0 to "
                              "%zu); no step %zu", o->config,
                              gc_session_planned_steps(*session),
                              gc_session_planned_steps(*session) - 1,
                              o->step);
    if (status == GC_OK)
        status = gc_session_advance(*session, o->step, &err);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    return 0;
}

int gc_cli_trace(int argc, char **argv)
{
    command_options o;
    int rc = parse(argc, argv, "step sample plugin", &o);
    if (rc != 0)
        return rc;
    static gc_spec spec;
    gc_session *session = NULL;
    rc = open_at(&o, &spec, &session);
    static gc_trace trace;
    gc_error err;
    gc_error_clear(&err);
    if (rc == 0 &&
        (gc_trace_compute(gc_session_model(session),
                          gc_session_batch(session), o.step, o.sample,
                          spec.checks.step_scale, &trace, &err) != GC_OK ||
         gc_trace_write_text(&trace, o.config, stdout, &err) != GC_OK)) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        rc = EXIT_USAGE;
    }
    gc_session_free(session);
    return rc;
}

int gc_cli_sweep(int argc, char **argv)
{
    command_options o;
    int rc = parse(argc, argv, "step tensor json plugin html", &o);
    if (rc != 0)
        return rc;
    static gc_spec spec;
    gc_session *session = NULL;
    rc = open_at(&o, &spec, &session);
    if (rc != 0) {
        gc_session_free(session);
        return rc;
    }
    gc_model *model = gc_session_model(session);
    size_t tensor = o.tensor ? gc_sweep_find_tensor(model, o.tensor) : 0;
    if (tensor == model->tensor_count) {
        fprintf(stderr, "gradcheck sweep: no tensor '%s'; this model has",
                o.tensor);
        for (size_t t = 0; t < model->tensor_count; t++)
            fprintf(stderr, " %s", model->tensors[t].name);
        fputc('\n', stderr);
        gc_session_free(session);
        return EXIT_USAGE;
    }
    static gc_sweep sweep;
    gc_error err;
    gc_error_clear(&err);
    /* The direction is drawn from the run's check stream (seed stream 3),
     * so one config always sweeps along the same u. */
    gc_status status = gc_sweep_compute(
        model, gc_session_batch(session), tensor, o.step,
        spec.checks.step_scale,
        gc_seed_derive(spec.training.seed, GC_SEED_CHECKS),
        &sweep, &err);
    sweep.pass_below = spec.checks.pass_below;
    sweep.fail_above = spec.checks.fail_above;
    if (status == GC_OK)
        status = gc_sweep_write_text(&sweep, o.config, stdout, &err);
    if (status == GC_OK && o.json != NULL) {
        FILE *f = fopen(o.json, "w");
        if (f == NULL) {
            status = gc_error_set(&err, GC_EIO, "cannot write %s: %s",
                                  o.json, strerror(errno));
        } else {
            status = gc_sweep_write_json(&sweep, o.config, f, &err);
            if (fclose(f) != 0 && status == GC_OK)
                status = gc_error_set(&err, GC_EIO, "cannot write %s: %s",
                                      o.json, strerror(errno));
        }
    }
    if (status == GC_OK && o.html != NULL)
        status = gc_sweep_write_html(&sweep, o.config, o.html, &err);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        rc = EXIT_USAGE;
    }
    gc_session_free(session);
    return rc;
}

int gc_cli_report_sweep(const char *path, const char *html, bool *is_sweep)
{
    static gc_sweep sweep;
    char config[1024];
    gc_error err;
    gc_error_clear(&err);
    gc_status status = gc_jsonl_read_sweep(path, &sweep, config,
                                           sizeof config, is_sweep, &err);
    if (status == GC_OK && *is_sweep)
        status = html != NULL
                 ? gc_sweep_write_html(&sweep, config, html, &err)
                 : gc_sweep_write_text(&sweep, config, stdout, &err);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    return 0;
}
