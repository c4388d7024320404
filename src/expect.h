/* expect.h - what a run must find, and whether it did ([expect], --expect).
 *
 * A config's [expect] section (docs/config.md, docs/ci.md) lists the
 * finding ids a run must report, each optionally "by step N" (id@N: its
 * first appearance at step N or earlier), and says whether any other
 * finding of severity error may appear (no_other_errors, default true).
 *
 * The comparison is made from the event stream alone, like any sink's
 * work: gc_expect_begin() starts an outcome from the spec,
 * gc_expect_observe() takes every event, gc_expect_finish() decides.  The
 * expectation sink does exactly that and leaves the outcome in memory the
 * caller owns; the JUnit sink keeps an outcome of its own.  Nothing here
 * prints: gc_expect_describe() writes the difference as text for main to
 * print.
 */
#ifndef GRADCHECK_EXPECT_H
#define GRADCHECK_EXPECT_H

#include "events.h"
#include "spec.h"
#include "status.h"

#include <stdbool.h>
#include <stddef.h>

/* Parses the value of [expect] findings: a comma-separated list of
 * registered ids, each optionally followed by @STEP; an empty value or
 * "none" lists nothing.  Fills expect->findings and expect->count (other
 * fields are left alone).  On error returns false and writes why (without
 * file or line; config.c adds them) to why[0..why_size), naming the item
 * and, for an unknown id, the registered ids close to it. */
bool gc_expect_parse_findings(const char *text, gc_expect_spec *expect,
                              char *why, size_t why_size);

typedef enum {
    GC_EXPECT_MET,         /* listed and found in time; or, for an
                              unlisted error, never happens */
    GC_EXPECT_MISSING,     /* listed, never found */
    GC_EXPECT_LATE,        /* listed, first found after its step */
    GC_EXPECT_UNEXPECTED   /* not listed, severity error, and
                              no_other_errors is on */
} gc_expect_verdict;

const char *gc_expect_verdict_name(gc_expect_verdict v);

/* One listed id, or one unlisted id of severity error that appeared. */
typedef struct {
    char id[GC_FINDING_ID_MAX];
    bool listed;                 /* from [expect] findings */
    bool by_step;                /* listed with @step */
    size_t step_limit;
    gc_expect_verdict verdict;   /* set by gc_expect_finish() */
    size_t seen;                 /* times a finding with this id appeared */
    /* the first appearance (when seen > 0) */
    size_t first_step;
    size_t first_layer;
    gc_severity first_severity;
    char first_tensor[32];
    char first_message[240];
} gc_expect_item;

/* Distinct unlisted error ids an outcome keeps; more are only counted.
 * The registry holds about 25 ids, a run rarely reports more than a few. */
#define GC_EXPECT_UNLISTED_MAX 32

typedef struct {
    char config[GC_PATH_MAX];    /* from the run event; "" before it */
    bool no_other_errors;
    bool run_started;            /* a run event arrived */
    bool run_finished;           /* a summary event arrived */
    bool interrupted, trapped;   /* from the summary */
    size_t steps;                /* steps completed (from the summary) */
    size_t listed_count;         /* items[0..listed_count) are listed */
    size_t count;                /* then unlisted errors up to count */
    gc_expect_item items[GC_EXPECT_MAX + GC_EXPECT_UNLISTED_MAX];
    size_t unlisted_dropped;     /* distinct unlisted error ids not kept */
    /* set by gc_expect_finish() */
    size_t mismatches;           /* items whose verdict is not MET, plus
                                    unlisted_dropped */
    bool met;                    /* mismatches == 0 and the run finished */
} gc_expect_outcome;

/* Starts an outcome for spec: one item per listed id, nothing seen. */
void gc_expect_begin(gc_expect_outcome *outcome, const gc_expect_spec *spec);

/* Takes one event; only run, finding and summary events matter. */
void gc_expect_observe(gc_expect_outcome *outcome, const gc_event *event);

/* Sets every verdict, mismatches and met. */
void gc_expect_finish(gc_expect_outcome *outcome);

/* One line about one item, without a line break, e.g.
 * "logit-drift by step 20000: not found in 2000 steps".
 * Returns out. */
const char *gc_expect_item_describe(const gc_expect_outcome *outcome,
                                    const gc_expect_item *item, char *out,
                                    size_t cap);

/* The whole result as lines ending in '\n': a header saying whether the
 * expectation was met, then one line per item marked "ok", "missing",
 * "late" or "extra", then a line for no_other_errors.  Writes at most cap
 * bytes (cut text ends in "...\n"); returns out. */
const char *gc_expect_describe(const gc_expect_outcome *outcome, char *out,
                               size_t cap);

/* A sink that observes every event and, at close, finishes *outcome.
 * outcome must stay valid until close, which frees the sink.  Fails only
 * with GC_ENOMEM or GC_EINVAL (NULL arguments). */
gc_status gc_expect_sink_open(const gc_expect_spec *spec,
                              gc_expect_outcome *outcome, gc_sink **out,
                              gc_error *err);

#endif
