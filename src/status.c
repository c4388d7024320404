/* status.c - status strings and the error record. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>

const char *gc_strerror(gc_status code)
{
    switch (code) {
    case GC_OK: return "success";
    case GC_EUSAGE: return "usage error";
    case GC_ECONFIG: return "config error";
    case GC_EDATA: return "data error";
    case GC_EIO: return "input/output error";
    case GC_ENOMEM: return "out of memory";
    case GC_EINVAL: return "invalid argument";
    case GC_ENUMERIC: return "numerical error";
    case GC_EMODEL: return "model under test failed";
    }
    return "unknown error";
}

gc_status gc_error_set(gc_error *err, gc_status code, const char *format, ...)
{
    if (err != NULL) {
        va_list args;
        va_start(args, format);
        err->code = code;
        vsnprintf(err->message, sizeof err->message, format, args);
        va_end(args);
    }
    return code;
}

void gc_error_clear(gc_error *err)
{
    if (err != NULL) {
        err->code = GC_OK;
        err->message[0] = '\0';
    }
}
