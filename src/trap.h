/* trap.h - floating-point traps after every operation of the model.
 *
 * The monitor is a gc_op_hook (model.h): after each forward and backward
 * operation it reads and clears the fenv.h exception flags (invalid,
 * divide-by-zero, overflow) and scans the operation's outputs for NaN and
 * Inf.  It keeps the first fatal event (the one that stops the run) and the
 * first early warning of each kind:
 *   exp-range  a softmax row whose largest exp argument lies outside
 *              [GC_EXP_ARG_MIN, GC_EXP_ARG_MAX]: its exponentials are all
 *              subnormal or zero (the row sum heads to 0) or overflow;
 *   log-edge   a probability of exactly 0 or 1 went into a log.
 * It also counts softmax rows whose largest exp argument is not 0, which
 * is what a softmax without max subtraction looks like from its values.
 */
#ifndef GRADCHECK_TRAP_H
#define GRADCHECK_TRAP_H

#include "events.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>

/* exp(x) is a normal, finite double for x in [log(DBL_MIN), log(DBL_MAX)]
 * = [-708.396, 709.782]. */
#define GC_EXP_ARG_MIN (-708.3964185322641)
#define GC_EXP_ARG_MAX 709.782712893384

typedef struct {
    size_t step;                     /* set by the run loop */
    bool fatal_seen;
    gc_trap_event fatal;
    bool exp_range_seen;
    gc_trap_event exp_range;
    bool log_edge_seen;
    gc_trap_event log_edge;
    size_t softmax_rows;             /* rows seen by the softmax-exp op */
    size_t softmax_rows_unshifted;   /* of which the max argument != 0 */
    double exp_arg_max, exp_arg_mean, exp_arg_min;  /* last softmax-exp */
} gc_trap_monitor;

void gc_trap_monitor_init(gc_trap_monitor *monitor);

/* Clears the floating-point exception flags before a monitored call. */
void gc_trap_clear_flags(void);

/* The gc_op_hook; context is a gc_trap_monitor. */
void gc_trap_hook(void *context, const gc_op_record *record);

#endif
