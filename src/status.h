/* status.h - status codes and the error record every library call fills.
 *
 * The library never prints and never exits.  A function that can fail
 * returns a gc_status and, on failure, fills a caller-owned gc_error with a
 * message that already names the file, the line and what was expected.
 * Only main() decides what to print and which exit status to use.
 */
#ifndef GRADCHECK_STATUS_H
#define GRADCHECK_STATUS_H

#include <stddef.h>

typedef enum {
    GC_OK = 0,       /* success */
    GC_EUSAGE,       /* bad command-line usage */
    GC_ECONFIG,      /* the config file is malformed or out of range */
    GC_EDATA,        /* a data file is missing, truncated or malformed */
    GC_EIO,          /* an operating-system read or write failed */
    GC_ENOMEM,       /* an allocation failed */
    GC_EINVAL,       /* a caller passed arguments that break a contract */
    GC_ENUMERIC,     /* a numerical routine (GSL) reported a failure */
    GC_EMODEL        /* the model under test failed to answer */
} gc_status;

/* The message is complete and self-contained, e.g.
 * "model.cfg:12: [network] layers: expected width:activation, got '10'". */
typedef struct {
    gc_status code;
    char message[1024];
} gc_error;

/* A short, static description of a status code ("config error"). */
const char *gc_strerror(gc_status code);

/* Fills err (if not NULL) with code and a printf-style message; returns
 * code so that callers can write `return gc_error_set(err, ...)`. */
gc_status gc_error_set(gc_error *err, gc_status code, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Clears err to GC_OK with an empty message. */
void gc_error_clear(gc_error *err);

#endif
