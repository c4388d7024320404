/* expect.c - [expect] parsing, the comparison of a run's findings with it,
 * and the expectation sink (see expect.h).
 */
#include "expect.h"

#include "finding_catalog.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many close ids an "unknown id" message suggests: enough for the
 * usual slip, few enough to read at a glance. */
#define GC_SUGGESTIONS_MAX 4

/* How much of a bad item a message quotes. */
#define GC_ITEM_SHOWN 60

const char *gc_expect_verdict_name(gc_expect_verdict v)
{
    switch (v) {
    case GC_EXPECT_MET: return "ok";
    case GC_EXPECT_MISSING: return "missing";
    case GC_EXPECT_LATE: return "late";
    case GC_EXPECT_UNEXPECTED: return "extra";
    }
    return "unknown";
}

/* ---- parsing -------------------------------------------------------------- */

static bool is_blank(char c)
{
    return c == ' ' || c == '\t';
}

static void trim(const char **s, size_t *len)
{
    while (*len > 0 && is_blank(**s)) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && is_blank((*s)[*len - 1]))
        (*len)--;
}

__attribute__((format(printf, 3, 4)))
static bool fail(char *why, size_t why_size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, why_size, format, args);
    va_end(args);
    return false;
}

/* Writes s[0..len) to out (GC_ITEM_SHOWN + 4 bytes) for a message, bytes
 * outside printable ASCII as '?', cut with "..." when long. */
static const char *shown(char *out, const char *s, size_t len)
{
    size_t n = len < GC_ITEM_SHOWN ? len : GC_ITEM_SHOWN;
    for (size_t i = 0; i < n; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (n < len) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
    return out;
}

/* Digits only, within size_t. */
static bool parse_step(const char *s, size_t len, size_t *out)
{
    size_t v = 0;
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        size_t digit = (size_t)(s[i] - '0');
        if (v > (SIZE_MAX - digit) / 10)
            return false;
        v = v * 10 + digit;
    }
    *out = v;
    return true;
}

static bool fail_unknown_id(const char *id, char *why, size_t why_size)
{
    const char *close[GC_SUGGESTIONS_MAX];
    char list[GC_SUGGESTIONS_MAX * (GC_FINDING_ID_MAX + 2) + 1];
    char show[GC_ITEM_SHOWN + 4];
    size_t n = gc_finding_catalog_close_ids(id, close, GC_SUGGESTIONS_MAX);
    size_t used = 0;

    list[0] = '\0';
    for (size_t i = 0; i < n; i++)
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s",
                                 i ? ", " : "", close[i]);
    if (n > 0)
        return fail(why, why_size, "expected a registered finding id, got "
                    "'%s'; did you mean %s? (gradcheck --list-findings "
                    "lists every id)", shown(show, id, strlen(id)), list);
    return fail(why, why_size, "expected a registered finding id, got '%s' "
                "(gradcheck --list-findings lists every id)",
                shown(show, id, strlen(id)));
}

/* One item "id" or "id@step", s[0..len) already trimmed. */
static bool parse_item(const char *s, size_t len, gc_expected_finding *out,
                       char *why, size_t why_size)
{
    char show[GC_ITEM_SHOWN + 4];
    const char *at = memchr(s, '@', len);
    const char *id = s;
    size_t id_len = at ? (size_t)(at - s) : len;

    trim(&id, &id_len);
    if (id_len == 0)
        return fail(why, why_size, "expected a finding id before '@', got "
                    "'%s'", shown(show, s, len));
    if (id_len >= GC_FINDING_ID_MAX) {
        /* Longer than any id can be: unknown, with the text quoted. */
        char long_id[GC_ITEM_SHOWN + 4];
        shown(long_id, id, id_len);
        return fail_unknown_id(long_id, why, why_size);
    }
    memcpy(out->id, id, id_len);
    out->id[id_len] = '\0';
    if (gc_finding_catalog_find(out->id) == NULL)
        return fail_unknown_id(out->id, why, why_size);

    out->by_step = at != NULL;
    out->step = 0;
    if (at != NULL) {
        const char *step = at + 1;
        size_t step_len = len - (size_t)(step - s);
        trim(&step, &step_len);
        char show_step[GC_ITEM_SHOWN + 4];
        if (!parse_step(step, step_len, &out->step))
            return fail(why, why_size, "expected a step number (digits) "
                        "after '@' in '%s', got '%s'", shown(show, s, len),
                        shown(show_step, step, step_len));
    }
    return true;
}

bool gc_expect_parse_findings(const char *text, gc_expect_spec *expect,
                              char *why, size_t why_size)
{
    gc_expected_finding items[GC_EXPECT_MAX];
    char show[GC_ITEM_SHOWN + 4];
    size_t count = 0;
    const char *s = text;
    size_t len = strlen(text);

    trim(&s, &len);
    if (len == 0 || (len == 4 && memcmp(s, "none", 4) == 0)) {
        expect->count = 0;
        return true;
    }
    for (const char *item = s;;) {
        const char *comma = memchr(item, ',', len - (size_t)(item - s));
        size_t item_len = comma ? (size_t)(comma - item)
                                : len - (size_t)(item - s);
        const char *t = item;
        trim(&t, &item_len);
        if (item_len == 0)
            return fail(why, why_size, "expected id or id@step between "
                        "commas, got an empty item in '%s'",
                        shown(show, s, len));
        if (count == GC_EXPECT_MAX)
            return fail(why, why_size, "expected at most %d ids, got more "
                        "in '%s'", GC_EXPECT_MAX, shown(show, s, len));
        if (!parse_item(t, item_len, &items[count], why, why_size))
            return false;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(items[i].id, items[count].id) == 0)
                return fail(why, why_size, "expected each id once, got "
                            "'%s' twice", items[count].id);
        }
        count++;
        if (comma == NULL)
            break;
        item = comma + 1;
    }
    memcpy(expect->findings, items, count * sizeof items[0]);
    expect->count = count;
    return true;
}

/* ---- the comparison --------------------------------------------------------- */

void gc_expect_begin(gc_expect_outcome *outcome, const gc_expect_spec *spec)
{
    memset(outcome, 0, sizeof *outcome);
    outcome->no_other_errors = spec->no_other_errors;
    for (size_t i = 0; i < spec->count && i < GC_EXPECT_MAX; i++) {
        gc_expect_item *item = &outcome->items[i];
        snprintf(item->id, sizeof item->id, "%s", spec->findings[i].id);
        item->listed = true;
        item->by_step = spec->findings[i].by_step;
        item->step_limit = spec->findings[i].step;
        item->verdict = GC_EXPECT_MISSING;
    }
    outcome->listed_count = spec->count < GC_EXPECT_MAX ? spec->count
                                                         : GC_EXPECT_MAX;
    outcome->count = outcome->listed_count;
}

static gc_expect_item *find_item(gc_expect_outcome *outcome, const char *id)
{
    for (size_t i = 0; i < outcome->count; i++) {
        if (strcmp(outcome->items[i].id, id) == 0)
            return &outcome->items[i];
    }
    return NULL;
}

static void record(gc_expect_item *item, const gc_finding_event *f)
{
    if (item->seen++ > 0)
        return;
    item->first_step = f->step;
    item->first_layer = f->layer;
    item->first_severity = f->severity;
    snprintf(item->first_tensor, sizeof item->first_tensor, "%s",
             f->tensor);
    snprintf(item->first_message, sizeof item->first_message, "%s",
             f->message);
}

static void observe_finding(gc_expect_outcome *outcome,
                            const gc_finding_event *f)
{
    gc_expect_item *item = find_item(outcome, f->id);
    if (item != NULL) {
        record(item, f);
        return;
    }
    if (!outcome->no_other_errors || f->severity != GC_SEVERITY_ERROR)
        return;
    if (outcome->count == sizeof outcome->items / sizeof outcome->items[0]) {
        outcome->unlisted_dropped++;
        return;
    }
    item = &outcome->items[outcome->count++];
    memset(item, 0, sizeof *item);
    snprintf(item->id, sizeof item->id, "%s", f->id);
    item->verdict = GC_EXPECT_UNEXPECTED;
    record(item, f);
}

void gc_expect_observe(gc_expect_outcome *outcome, const gc_event *event)
{
    switch (event->kind) {
    case GC_EVENT_RUN:
        outcome->run_started = true;
        snprintf(outcome->config, sizeof outcome->config, "%s",
                 event->u.run.config);
        break;
    case GC_EVENT_FINDING:
        observe_finding(outcome, &event->u.finding);
        break;
    case GC_EVENT_SUMMARY:
        outcome->run_finished = true;
        outcome->steps = event->u.summary.steps;
        outcome->interrupted = event->u.summary.interrupted;
        outcome->trapped = event->u.summary.trapped;
        break;
    default:
        break;
    }
}

void gc_expect_finish(gc_expect_outcome *outcome)
{
    size_t mismatches = outcome->unlisted_dropped;
    for (size_t i = 0; i < outcome->count; i++) {
        gc_expect_item *item = &outcome->items[i];
        if (!item->listed)
            item->verdict = GC_EXPECT_UNEXPECTED;
        else if (item->seen == 0)
            item->verdict = GC_EXPECT_MISSING;
        else if (item->by_step && item->first_step > item->step_limit)
            item->verdict = GC_EXPECT_LATE;
        else
            item->verdict = GC_EXPECT_MET;
        if (item->verdict != GC_EXPECT_MET)
            mismatches++;
    }
    outcome->mismatches = mismatches;
    outcome->met = mismatches == 0 && outcome->run_finished;
}

/* ---- describing --------------------------------------------------------------- */

/* Appends to a fixed buffer, remembering whether anything was cut. */
typedef struct {
    char *out;
    size_t cap, used;
    bool cut;
} text_buffer;

__attribute__((format(printf, 2, 3)))
static void append(text_buffer *b, const char *format, ...)
{
    va_list args;
    int w;
    if (b->cut || b->cap == 0)
        return;
    va_start(args, format);
    w = vsnprintf(b->out + b->used, b->cap - b->used, format, args);
    va_end(args);
    if (w < 0 || (size_t)w >= b->cap - b->used) {
        b->cut = true;
        b->used = b->cap - 1;
    } else {
        b->used += (size_t)w;
    }
}

/* " (layer 2, layer2.W)", " (layer 2)" or "" for the first appearance. */
static void append_where(text_buffer *b, const gc_expect_item *item)
{
    if (item->first_layer != 0 && item->first_tensor[0] != '\0')
        append(b, " (layer %zu, %s)", item->first_layer,
               item->first_tensor);
    else if (item->first_layer != 0)
        append(b, " (layer %zu)", item->first_layer);
    else if (item->first_tensor[0] != '\0')
        append(b, " (%s)", item->first_tensor);
}

/* How the run ended, for a missing id: "in 2000 steps", "in 25733 steps
 * (the run trapped)". */
static void append_run_length(text_buffer *b,
                              const gc_expect_outcome *outcome)
{
    if (!outcome->run_finished) {
        append(b, " (the run did not finish)");
        return;
    }
    append(b, " in %zu step%s", outcome->steps,
           outcome->steps == 1 ? "" : "s");
    if (outcome->trapped)
        append(b, " (the run stopped at a trap)");
    else if (outcome->interrupted)
        append(b, " (the run was interrupted)");
}

const char *gc_expect_item_describe(const gc_expect_outcome *outcome,
                                    const gc_expect_item *item, char *out,
                                    size_t cap)
{
    text_buffer b = {out, cap, 0, false};
    if (cap == 0)
        return out;
    out[0] = '\0';
    append(&b, "%s", item->id);
    if (item->listed && item->by_step)
        append(&b, " by step %zu", item->step_limit);
    switch (item->verdict) {
    case GC_EXPECT_MET:
        append(&b, ": found at step %zu", item->first_step);
        append_where(&b, item);
        break;
    case GC_EXPECT_MISSING:
        append(&b, ": not found");
        append_run_length(&b, outcome);
        break;
    case GC_EXPECT_LATE:
        append(&b, ": first found at step %zu", item->first_step);
        append_where(&b, item);
        break;
    case GC_EXPECT_UNEXPECTED:
        append(&b, ": %s not expected, first at step %zu",
               gc_severity_name(item->first_severity), item->first_step);
        append_where(&b, item);
        if (item->seen > 1)
            append(&b, ", %zu times", item->seen);
        append(&b, ": %s", item->first_message);
        break;
    }
    return out;
}

const char *gc_expect_describe(const gc_expect_outcome *outcome, char *out,
                               size_t cap)
{
    /* One item's line: id, step, where, message (240). */
    char line[512];
    text_buffer b = {out, cap, 0, false};
    size_t extra = 0;

    if (cap == 0)
        return out;
    out[0] = '\0';
    if (outcome->met)
        append(&b, "expectation met");
    else if (!outcome->run_finished)
        append(&b, "expectation not met: the run did not finish");
    else
        append(&b, "expectation not met: %zu difference%s",
               outcome->mismatches, outcome->mismatches == 1 ? "" : "s");
    if (outcome->config[0] != '\0')
        append(&b, " (%s [expect])", outcome->config);
    append(&b, "\n");
    for (size_t i = 0; i < outcome->count; i++) {
        const gc_expect_item *item = &outcome->items[i];
        if (!item->listed)
            extra++;
        append(&b, "  %-8s%s\n", gc_expect_verdict_name(item->verdict),
               gc_expect_item_describe(outcome, item, line, sizeof line));
    }
    if (outcome->unlisted_dropped > 0)
        append(&b, "  %-8s%zu more error ids not expected\n", "extra",
               outcome->unlisted_dropped);
    if (!outcome->no_other_errors)
        append(&b, "  %-8sother error findings allowed "
               "(no_other_errors = false)\n", "-");
    else if (extra == 0 && outcome->unlisted_dropped == 0)
        append(&b, "  %-8sno other error finding\n", "ok");
    if (b.cut && cap >= 5)
        memcpy(out + cap - 5, "...\n", 5);
    return out;
}

/* ---- the sink ------------------------------------------------------------------ */

typedef struct {
    gc_sink sink;
    gc_expect_outcome *outcome;
} gc_expect_sink_state;

static gc_status expect_emit(gc_sink *sink, const gc_event *event,
                             gc_error *err)
{
    gc_expect_sink_state *s = sink->self;
    if (event == NULL)
        return gc_error_set(err, GC_EINVAL, "expectation: NULL event");
    gc_expect_observe(s->outcome, event);
    return GC_OK;
}

static gc_status expect_close(gc_sink *sink, gc_error *err)
{
    gc_expect_sink_state *s = sink->self;
    (void)err;
    gc_expect_finish(s->outcome);
    free(s);
    return GC_OK;
}

gc_status gc_expect_sink_open(const gc_expect_spec *spec,
                              gc_expect_outcome *outcome, gc_sink **out,
                              gc_error *err)
{
    gc_expect_sink_state *s;
    if (spec == NULL || outcome == NULL || out == NULL)
        return gc_error_set(err, GC_EINVAL, "gc_expect_sink_open: NULL "
                            "argument");
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return gc_error_set(err, GC_ENOMEM, "out of memory opening the "
                            "expectation check");
    gc_expect_begin(outcome, spec);
    s->outcome = outcome;
    s->sink.self = s;
    s->sink.emit = expect_emit;
    s->sink.close = expect_close;
    *out = &s->sink;
    return GC_OK;
}
