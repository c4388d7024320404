/* events.c - the stable names of events and of the enums inside them.
 *
 * These strings appear in the text report and as JSON values, so a name
 * once released does not change.  Each function returns "unknown" for a
 * value outside its enum rather than NULL, so that a sink can always print
 * what it was given.  The switches have no default: the compiler then
 * warns when an enumerator is added without a name.
 */
#include "events.h"
#include "model.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char gc_unknown_name[] = "unknown";

const char *gc_event_name(gc_event_kind kind)
{
    switch (kind) {
    case GC_EVENT_RUN: return "run";
    case GC_EVENT_TRAIN: return "train";
    case GC_EVENT_CHECK: return "check";
    case GC_EVENT_HISTOGRAM: return "histogram";
    case GC_EVENT_TRAP: return "trap";
    case GC_EVENT_FINDING: return "finding";
    case GC_EVENT_SUMMARY: return "summary";
    }
    return gc_unknown_name;
}

const char *gc_verdict_name(gc_verdict v)
{
    switch (v) {
    case GC_VERDICT_PASS: return "pass";
    case GC_VERDICT_FAIL: return "fail";
    case GC_VERDICT_INCONCLUSIVE: return "inconclusive";
    }
    return gc_unknown_name;
}

const char *gc_quantity_name(gc_quantity q)
{
    switch (q) {
    case GC_QTY_WEIGHTS: return "weights";
    case GC_QTY_BIASES: return "biases";
    case GC_QTY_PRE_ACTIVATIONS: return "pre-activations";
    case GC_QTY_ACTIVATIONS: return "activations";
    case GC_QTY_WEIGHT_GRADIENTS: return "weight-gradients";
    case GC_QTY_BIAS_GRADIENTS: return "bias-gradients";
    case GC_QTY_COUNT: break;   /* a count, not a quantity */
    }
    return gc_unknown_name;
}

const char *gc_trap_kind_name(gc_trap_kind k)
{
    switch (k) {
    case GC_TRAP_NAN: return "nan";
    case GC_TRAP_INF: return "inf";
    case GC_TRAP_OVERFLOW: return "overflow";
    case GC_TRAP_ZERO_SUM: return "zero-sum";
    case GC_TRAP_DIVIDE_BY_ZERO: return "divide-by-zero";
    case GC_TRAP_EXP_RANGE: return "exp-range";
    case GC_TRAP_LOG_EDGE: return "log-edge";
    }
    return gc_unknown_name;
}

void gc_finding_init(gc_finding_event *f, const char *id,
                     gc_severity severity, size_t step, size_t layer)
{
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    f->severity = severity;
    f->step = step;
    f->layer = layer;
}

void gc_finding_text(char *dst, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(dst, size, format, args);
    va_end(args);
}

void gc_finding_evidence(gc_finding_event *f, const char *name,
                         double value)
{
    if (f->evidence_count >= GC_EVIDENCE_MAX)
        return;
    gc_evidence *e = &f->evidence[f->evidence_count++];
    snprintf(e->name, sizeof e->name, "%s", name);
    e->value = value;
}

const char *gc_severity_name(gc_severity s)
{
    switch (s) {
    case GC_SEVERITY_INFO: return "info";
    case GC_SEVERITY_WARNING: return "warning";
    case GC_SEVERITY_ERROR: return "error";
    }
    return gc_unknown_name;
}

const char *gc_op_name(gc_op op)
{
    switch (op) {
    case GC_OP_DENSE: return "dense";
    case GC_OP_ACTIVATION: return "activation";
    case GC_OP_SOFTMAX_EXP: return "softmax-exp";
    case GC_OP_SOFTMAX_NORMALISE: return "softmax-normalise";
    case GC_OP_LOSS: return "loss";
    case GC_OP_OUTPUT_DELTA: return "output-delta";
    case GC_OP_HIDDEN_DELTA: return "hidden-delta";
    case GC_OP_WEIGHT_GRADIENT: return "weight-gradient";
    case GC_OP_BIAS_GRADIENT: return "bias-gradient";
    case GC_OP_WEIGHT_UPDATE: return "weight-update";
    case GC_OP_COUNT: break;    /* a count, not an operation */
    }
    return gc_unknown_name;
}
