/* main.c - the gradcheck command: arguments, wiring, printing, exit status.
 *
 * The only file that prints or exits.  Exit status: 0 when the run found
 * no error, 1 when it found one, 2 for usage, config, data or I/O errors.
 */
#define _POSIX_C_SOURCE 200809L
#include "blas.h"
#include "config.h"
#include "report_json.h"
#include "report_text.h"
#include "run.h"

#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_USAGE 2

typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color_mode;

typedef struct {
    const char *config;
    const char *json;
    bool quiet;
    bool progress;
    color_mode color;
} options;

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

static void usage(FILE *stream)
{
    fputs("usage: gradcheck [options] MODEL.cfg\n"
          "\n"
          "Trains the network MODEL.cfg describes, checks its backward pass\n"
          "against finite differences at every step, traps the first NaN or\n"
          "Inf, and reports findings with their fixes.\n"
          "\n"
          "options:\n"
          "  --json FILE        also write every event as JSON Lines to FILE\n"
          "  --quiet            leave value statistics out of the text "
          "report\n"
          "  --color=WHEN       auto (default), always or never; NO_COLOR\n"
          "                     in the environment means never for auto\n"
          "  --no-progress      no progress line on stderr\n"
          "  --help             this text\n"
          "  --version          the version\n"
          "\n"
          "exit status: 0 no error finding, 1 an error finding, 2 usage,\n"
          "config, data or output errors.  See docs/ and README.md.\n",
          stream);
}

static int parse_arguments(int argc, char **argv, options *opt)
{
    *opt = (options){NULL, NULL, false, true, COLOR_AUTO};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--version") == 0) {
            printf("gradcheck %s\n", GC_VERSION);
            exit(0);
        } else if (strcmp(a, "--json") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "gradcheck: --json needs a FILE, as in "
                        "--json run.jsonl\n");
                return EXIT_USAGE;
            }
            opt->json = argv[++i];
        } else if (strncmp(a, "--json=", 7) == 0) {
            opt->json = a + 7;
        } else if (strcmp(a, "--quiet") == 0) {
            opt->quiet = true;
        } else if (strcmp(a, "--no-progress") == 0) {
            opt->progress = false;
        } else if (strcmp(a, "--color=auto") == 0) {
            opt->color = COLOR_AUTO;
        } else if (strcmp(a, "--color=always") == 0) {
            opt->color = COLOR_ALWAYS;
        } else if (strcmp(a, "--color=never") == 0) {
            opt->color = COLOR_NEVER;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "gradcheck: unknown option '%s'\n", a);
            return EXIT_USAGE;
        } else if (opt->config == NULL) {
            opt->config = a;
        } else {
            fprintf(stderr, "gradcheck: one config file, got '%s' too\n", a);
            return EXIT_USAGE;
        }
    }
    if (opt->config == NULL) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

static bool use_color(color_mode mode)
{
    if (mode == COLOR_ALWAYS)
        return true;
    if (mode == COLOR_NEVER)
        return false;
    const char *no_color = getenv("NO_COLOR");
    if (no_color != NULL && no_color[0] != '\0')
        return false;
    return isatty(STDOUT_FILENO);
}

static void show_progress(void *context, size_t step, size_t steps,
                          double seconds)
{
    (void)context;
    double rate = seconds > 0.0 ? (double)step / seconds : 0.0;
    double eta = rate > 0.0 ? (double)(steps - step) / rate : 0.0;
    fprintf(stderr, "\rstep %zu/%zu  %.0f steps/s  ETA %.0fs   ", step,
            steps, rate, eta);
    if (step == steps)
        fputc('\n', stderr);
    fflush(stderr);
}

/* Closes every sink once, keeping the first error. */
static gc_status close_sinks(gc_sink **sinks, size_t count,
                             gc_status status, gc_error *err)
{
    for (size_t i = 0; i < count; i++) {
        gc_error close_err;
        gc_status s = sinks[i]->close(sinks[i], &close_err);
        if (s != GC_OK && status == GC_OK) {
            status = s;
            *err = close_err;
        }
    }
    return status;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();   /* every GSL status is checked */
    gc_blas_single_thread();
    options opt;
    int rc = parse_arguments(argc, argv, &opt);
    if (rc != 0)
        return rc;

    static gc_spec spec;
    gc_error err;
    gc_error_clear(&err);
    if (gc_config_load(opt.config, &spec, &err) != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    const char *json = opt.json ? opt.json
                                : (spec.report.json[0] ? spec.report.json
                                                       : NULL);
    gc_sink *sinks[2];
    size_t sink_count = 0;
    gc_text_options text = {opt.quiet || spec.report.quiet,
                            use_color(opt.color)};
    gc_status status = gc_text_sink_open(stdout, &text, &sinks[0], &err);
    if (status == GC_OK)
        sink_count++;
    if (status == GC_OK && json != NULL) {
        status = gc_json_sink_open(json, &sinks[1], &err);
        if (status == GC_OK)
            sink_count++;
    }
    gc_summary_event summary;
    memset(&summary, 0, sizeof summary);
    if (status == GC_OK) {
        signal(SIGINT, on_interrupt);
        gc_run_hooks hooks = {
            opt.progress && isatty(STDERR_FILENO) ? show_progress : NULL,
            NULL, &interrupted};
        status = gc_run(&spec, sinks, sink_count, &hooks, &summary, &err);
    }
    gc_error run_err = err;
    status = close_sinks(sinks, sink_count, status, &run_err);
    fflush(stdout);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", run_err.message);
        return EXIT_USAGE;
    }
    return summary.exit_status;
}
