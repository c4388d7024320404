/* main.c - the gradcheck command: arguments, wiring, printing, exit status.
 *
 * The only file that prints or exits.  Exit status: 0 when the run found
 * no error, 1 when it found one, 2 for usage, config, data or I/O errors.
 * With --expect (or [expect] enforce = true) 0 and 1 say instead whether
 * the run found what the config's [expect] section says it must.
 */
#define _POSIX_C_SOURCE 200809L
#include "blas.h"
#include "cli/commands.h"
#include "config.h"
#include "expect.h"
#include "finding_catalog.h"
#include "report_html.h"
#include "report_json.h"
#include "report_junit.h"
#include "report_replay.h"
#include "report_text.h"
#include "run.h"

#include <ctype.h>
#include <gsl/gsl_errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define EXIT_USAGE 2

typedef enum { COLOR_AUTO, COLOR_ALWAYS, COLOR_NEVER } color_mode;

typedef struct {
    const char *config;
    const char *json;
    bool quiet;
    bool progress;
    color_mode color;
    bool expect;               /* --expect */
    const char *junit;         /* --junit FILE */
    bool list_findings;        /* --list-findings */
    const char *explain;       /* --explain ID */
    const char *plugin;        /* --plugin FILE: [model] source = plugin */
    const char *html;          /* --html FILE */
    bool ascii;                /* --ascii: no Unicode in the text report */
} options;

/* Close ids an unknown --explain ID suggests. */
#define EXPLAIN_SUGGESTIONS_MAX 5

/* Room for the expectation's description: a header, one line (about 400
 * bytes at most) per listed id and per unexpected error id. */
#define EXPECT_TEXT_MAX 65536

static volatile sig_atomic_t interrupted;

static void on_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

static void usage(FILE *stream)
{
    fputs("usage: gradcheck [options] MODEL.cfg\n"
          "       gradcheck report RUN.jsonl|SWEEP.jsonl [--html FILE] "
          "[options]\n"
          "       gradcheck trace [--step N] [--sample K] [--plugin FILE] "
          "MODEL.cfg\n"
          "       gradcheck sweep [--tensor NAME] [--step N] [--json FILE]\n"
          "                       [--html FILE] [--plugin FILE] MODEL.cfg\n"
          "       gradcheck --list-findings | --explain ID | --help | "
          "--version\n"
          "\n"
          "Trains the network MODEL.cfg describes, checks its backward pass\n"
          "against finite differences at every step, traps the first NaN or\n"
          "Inf, and reports findings with their fixes.\n"
          "\n"
          "options:\n"
          "  --json FILE        also write every event as JSON Lines to FILE\n"
          "  --html FILE        also write a self-contained HTML report\n"
          "  --quiet            leave value statistics out of the text "
          "report\n"
          "  --color=WHEN       auto (default), always or never; NO_COLOR\n"
          "                     in the environment means never for auto\n"
          "  --no-progress      no progress bar on stderr\n"
          "  --ascii            histograms and progress bar in ASCII only\n"
          "                     (the default unless the locale is UTF-8)\n"
          "  --expect           exit status says whether the run found what\n"
          "                     the config's [expect] section lists\n"
          "  --junit FILE       also write a JUnit XML report to FILE\n"
          "  --plugin FILE      check the C plugin FILE (a shared object,\n"
          "                     docs/sources/plugin.md) instead of [model]\n"
          "  --list-findings    list every finding id, its severity and "
          "summary\n"
          "  --explain ID       print the page of finding ID\n"
          "  --help, -h         this text\n"
          "  --version          the version\n"
          "\n"
          "commands:\n",
          stream);
    gc_cli_commands_usage(stream);
    fputs("  options of trace and sweep:\n"
          "  --step N           train N steps first, as the run does\n"
          "  --sample K         trace: sample K of the step's batch\n"
          "  --tensor NAME      sweep: the tensor, e.g. layer2.W\n"
          "  --json FILE        sweep: also write the points as JSON Lines\n"
          "  --html FILE        sweep: also write the error curve as a page\n"
          "\n"
          "files: reads MODEL.cfg and the data it names (IDX, CSV, .npy),\n"
          "and RUN.jsonl for report; writes only the files given to --json,\n"
          "--html and --junit (or [report] json).\n"
          "The report goes to stdout, messages and progress to stderr.\n"
          "\n"
          "exit status: 0 no error finding, 1 an error finding, 2 usage,\n"
          "config, data or output errors; with --expect, 0 expectation met,\n"
          "1 not met; trace and sweep: 0 done, 2 as above.\n"
          "See man gradcheck, docs/ (docs/walkthroughs/ to learn, docs/ci.md\n"
          "for CI) and README.md.\n",
          stream);
}

static int parse_arguments(int argc, char **argv, options *opt)
{
    *opt = (options){.progress = true, .color = COLOR_AUTO};
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
        } else if (strcmp(a, "--html") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "gradcheck: --html needs a FILE, as in "
                        "--html report.html\n");
                return EXIT_USAGE;
            }
            opt->html = argv[++i];
        } else if (strncmp(a, "--html=", 7) == 0) {
            opt->html = a + 7;
        } else if (strcmp(a, "--ascii") == 0) {
            opt->ascii = true;
        } else if (strcmp(a, "--junit") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "gradcheck: --junit needs a FILE, as in "
                        "--junit report.xml\n");
                return EXIT_USAGE;
            }
            opt->junit = argv[++i];
        } else if (strncmp(a, "--junit=", 8) == 0) {
            opt->junit = a + 8;
        } else if (strcmp(a, "--expect") == 0) {
            opt->expect = true;
        } else if (strcmp(a, "--list-findings") == 0) {
            opt->list_findings = true;
        } else if (strcmp(a, "--explain") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "gradcheck: --explain needs a finding id, "
                        "as in --explain logit-drift\n");
                return EXIT_USAGE;
            }
            opt->explain = argv[++i];
        } else if (strncmp(a, "--explain=", 10) == 0) {
            opt->explain = a + 10;
        } else if (strcmp(a, "--plugin") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "gradcheck: --plugin needs a FILE, as in "
                        "--plugin ./libmynet.so\n");
                return EXIT_USAGE;
            }
            opt->plugin = argv[++i];
        } else if (strncmp(a, "--plugin=", 9) == 0) {
            opt->plugin = a + 9;
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
            fprintf(stderr, "gradcheck: unknown option '%s' (gradcheck "
                    "--help lists them)\n", a);
            return EXIT_USAGE;
        } else if (opt->config == NULL) {
            opt->config = a;
        } else {
            fprintf(stderr, "gradcheck: one config file, got '%s' too\n", a);
            return EXIT_USAGE;
        }
    }
    if (opt->list_findings || opt->explain != NULL)
        return 0;
    if (opt->config == NULL) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* --list-findings: the registry, one id a line. */
static int list_findings(void)
{
    printf("%-32s %-8s %s\n", "id", "severity", "summary");
    for (size_t i = 0; i < gc_finding_catalog_count(); i++) {
        const gc_finding_info *f = gc_finding_catalog_at(i);
        printf("%-32s %-8s %s\n", f->id, gc_severity_name(f->severity),
               f->summary);
    }
    return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
}

/* --explain ID: the embedded page of ID. */
static int explain(const char *id)
{
    const gc_finding_page *page = gc_finding_page_find(id);
    const gc_finding_info *info = gc_finding_catalog_find(id);
    if (page != NULL) {
        fwrite(page->text, 1, page->length, stdout);
        return fflush(stdout) == 0 ? 0 : EXIT_USAGE;
    }
    if (info != NULL) {
        fprintf(stderr, "gradcheck: finding '%s' (%s: %s) has no page in "
                "this build: docs/findings/%s.md was missing\n", id,
                gc_severity_name(info->severity), info->summary, id);
        return EXIT_USAGE;
    }
    const char *close[EXPLAIN_SUGGESTIONS_MAX];
    size_t n = gc_finding_catalog_close_ids(id, close,
                                            EXPLAIN_SUGGESTIONS_MAX);
    fprintf(stderr, "gradcheck: no finding '%s'", id);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "%s%s", i == 0 ? "; close ids: " : ", ", close[i]);
    fprintf(stderr, " (gradcheck --list-findings lists every id)\n");
    return EXIT_USAGE;
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

/* Whether the locale (LC_ALL, else LC_CTYPE, else LANG) is UTF-8. */
static bool locale_is_utf8(void)
{
    const char *names[] = {"LC_ALL", "LC_CTYPE", "LANG"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const char *v = getenv(names[i]);
        if (v == NULL || v[0] == '\0')
            continue;
        char lower[128];
        size_t n = 0;
        for (; v[n] != '\0' && n + 1 < sizeof lower; n++)
            lower[n] = (char)tolower((unsigned char)v[n]);
        lower[n] = '\0';
        return strstr(lower, "utf-8") != NULL || strstr(lower, "utf8");
    }
    return false;
}

/* The progress bar's state: whether a line is showing, which glyphs. */
typedef struct {
    bool shown;
    bool unicode;
    bool done;                 /* the run ended: show the time it took */
    size_t steps;              /* the planned steps, as last reported */
} progress_state;

/* "h:mm:ss" or "m:ss". */
static void duration_format(double seconds, char buf[32])
{
    unsigned long s = seconds > 0.0 && seconds < 1e9
                      ? (unsigned long)(seconds + 0.5) : 0;
    if (s >= 3600)
        snprintf(buf, 32, "%lu:%02lu:%02lu", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(buf, 32, "%lu:%02lu", s / 60, s % 60);
}

/* "[#####-----]  42%  12000/28700 steps  1450 steps/s  ETA 0:11", sized
 * to the terminal (the bar takes what the numbers leave, up to 40). */
static void show_progress(void *context, size_t step, size_t steps,
                          double seconds)
{
    progress_state *p = context;
    struct winsize ws;
    int columns = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0
                  ? ws.ws_col : 80;
    double share = steps > 0 ? (double)step / (double)steps : 1.0;
    double rate = seconds > 0.0 ? (double)step / seconds : 0.0;
    char eta[32], spent[32], tail[160];
    p->steps = steps;
    duration_format(rate > 0.0 ? (double)(steps - step) / rate : 0.0, eta);
    duration_format(seconds, spent);
    int n = snprintf(tail, sizeof tail, " %3.0f%%  %zu/%zu steps  %.0f "
                     "steps/s  %s %s ", 100.0 * share, step, steps, rate,
                     p->done ? "took" : "ETA", p->done ? spent : eta);
    int bar = columns - 3 - n;
    bar = bar > 40 ? 40 : bar;
    fputc('\r', stderr);
    if (bar >= 10) {
        int full = (int)(share * bar + 0.5);
        fputc('[', stderr);
        for (int i = 0; i < bar; i++)
            fputs(i < full ? (p->unicode ? "\u2588" : "#")
                           : (p->unicode ? "\u2591" : "-"), stderr);
        fputc(']', stderr);
    }
    fputs(tail, stderr);
    p->shown = true;
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

/* gradcheck report RUN.jsonl [--html FILE] [options]: the saved events
 * again, into an HTML report when --html is given, else the text report;
 * a sweep's file (gradcheck sweep --json) gives the sweep's. */
static int report_command(const options *opt)
{
    bool sweep_file = false;
    int rc = gc_cli_report_sweep(opt->config, opt->html, &sweep_file);
    if (rc != 0 || sweep_file)
        return rc;
    gc_error err;
    gc_error_clear(&err);
    gc_sink *sink = NULL;
    gc_text_options text = {opt->quiet, use_color(opt->color),
                            !opt->ascii && locale_is_utf8()};
    gc_status status = opt->html != NULL
                       ? gc_html_sink_open(opt->html, &sink, &err)
                       : gc_text_sink_open(stdout, &text, &sink, &err);
    if (status == GC_OK) {
        status = gc_jsonl_replay(opt->config, &sink, 1, &err);
        gc_error close_err;
        gc_status closed = sink->close(sink, &close_err);
        if (status == GC_OK && closed != GC_OK) {
            status = closed;
            err = close_err;
        }
    }
    fflush(stdout);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    return 0;
}

int main(int argc, char **argv)
{
    gsl_set_error_handler_off();   /* every GSL status is checked */
    gc_blas_single_thread();
    if (argc > 1 && strcmp(argv[1], "trace") == 0)
        return gc_cli_trace(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "sweep") == 0)
        return gc_cli_sweep(argc - 1, argv + 1);
    options opt;
    bool report = argc > 1 && strcmp(argv[1], "report") == 0;
    if (report) {
        argv[1] = argv[0];     /* parse what follows "report" */
        argc--;
        argv++;
    }
    int rc = parse_arguments(argc, argv, &opt);
    if (rc == 0 && report)
        return report_command(&opt);
    if (rc != 0)
        return rc;
    if (opt.list_findings)
        return list_findings();
    if (opt.explain != NULL)
        return explain(opt.explain);

    static gc_spec spec;
    gc_error err;
    gc_error_clear(&err);
    if (gc_config_load(opt.config, &spec, &err) != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", err.message);
        return EXIT_USAGE;
    }
    if (opt.plugin != NULL) {
        if (strlen(opt.plugin) >= sizeof spec.model.path) {
            fprintf(stderr, "gradcheck: --plugin: a path of at most %zu "
                    "characters expected\n", sizeof spec.model.path - 1);
            return EXIT_USAGE;
        }
        spec.model.source = GC_MODEL_PLUGIN;
        snprintf(spec.model.path, sizeof spec.model.path, "%s", opt.plugin);
    }
    const char *json = opt.json ? opt.json
                                : (spec.report.json[0] ? spec.report.json
                                                       : NULL);
    gc_sink *sinks[5];
    size_t sink_count = 0;
    bool expecting = opt.expect || spec.expect.enforce;
    static gc_expect_outcome outcome;
    bool unicode = !opt.ascii && locale_is_utf8();
    gc_text_options text = {opt.quiet || spec.report.quiet,
                            use_color(opt.color), unicode};
    gc_status status = gc_text_sink_open(stdout, &text, &sinks[0], &err);
    if (status == GC_OK)
        sink_count++;
    if (status == GC_OK && json != NULL) {
        status = gc_json_sink_open(json, &sinks[sink_count], &err);
        if (status == GC_OK)
            sink_count++;
    }
    if (status == GC_OK && opt.html != NULL) {
        status = gc_html_sink_open(opt.html, &sinks[sink_count], &err);
        if (status == GC_OK)
            sink_count++;
    }
    if (status == GC_OK && opt.junit != NULL) {
        status = gc_junit_sink_open(opt.junit, &spec.expect,
                                    &sinks[sink_count], &err);
        if (status == GC_OK)
            sink_count++;
    }
    if (status == GC_OK && expecting) {
        status = gc_expect_sink_open(&spec.expect, &outcome,
                                     &sinks[sink_count], &err);
        if (status == GC_OK)
            sink_count++;
    }
    gc_summary_event summary;
    memset(&summary, 0, sizeof summary);
    progress_state progress = {false, unicode, false, 0};
    if (status == GC_OK) {
        signal(SIGINT, on_interrupt);
        gc_run_hooks hooks = {
            .progress = opt.progress && isatty(STDERR_FILENO)
                        ? show_progress : NULL,
            .progress_context = &progress, .interrupted = &interrupted};
        status = gc_run(&spec, sinks, sink_count, &hooks, &summary, &err);
    }
    if (progress.shown) {
        /* the bar as the run left it (completed, trapped or interrupted) */
        progress.done = true;
        show_progress(&progress, summary.steps, progress.steps,
                      summary.seconds);
        fputc('\n', stderr);
    }
    gc_error run_err = err;
    status = close_sinks(sinks, sink_count, status, &run_err);
    fflush(stdout);
    if (status != GC_OK) {
        fprintf(stderr, "gradcheck: %s\n", run_err.message);
        return EXIT_USAGE;
    }
    if (expecting) {
        static char expect_text[EXPECT_TEXT_MAX];
        fputs(gc_expect_describe(&outcome, expect_text, sizeof expect_text),
              stdout);
        fflush(stdout);
        return outcome.met ? 0 : 1;
    }
    return summary.exit_status;
}
