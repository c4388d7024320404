/* finding_catalog.h - the registry of every finding id gradcheck can emit.
 *
 * One row per id: the stable id, its severity and a one-line summary.  The
 * ids, severities and summaries are part of gradcheck's interface (users'
 * CI greps them), so a row changes only with a version note.  Each id has
 * a page docs/findings/<id>.md; the build embeds every page into the
 * library (cmake/embed_findings.cmake), so `gradcheck --explain ID` works
 * from any directory and after installation.  tests/test_catalog.c keeps
 * the registry, the pages on disk and the embedded pages in step.
 *
 * The diagnosis does not read this table: it emits findings with their own
 * severity.  The table serves the command line (--list-findings,
 * --explain) and the validation of [expect] in a config.
 */
#ifndef GRADCHECK_FINDING_CATALOG_H
#define GRADCHECK_FINDING_CATALOG_H

#include "events.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *id;            /* "softmax-jacobian-mismatch" */
    gc_severity severity;
    const char *summary;       /* one line, no final full stop */
} gc_finding_info;

/* Number of registry rows, and row i (0 <= i < count), in the order
 * --list-findings shows them. */
size_t gc_finding_catalog_count(void);
const gc_finding_info *gc_finding_catalog_at(size_t i);

/* The row of id, or NULL when id is not registered. */
const gc_finding_info *gc_finding_catalog_find(const char *id);

/* Writes to close[0..cap) the registered ids that look like what was meant
 * by an unknown word: within a typo's edit distance of it, containing it,
 * or sharing one of its hyphen-separated words.  Closest first.  Returns
 * how many were written. */
size_t gc_finding_catalog_close_ids(const char *word, const char **close,
                                    size_t cap);

/* ---- the embedded pages --------------------------------------------------
 * Generated at build time from every docs/findings/<id>.md: one row per
 * page, in file-name order. */

typedef struct {
    const char *id;            /* the file name without ".md" */
    const char *text;          /* the whole page, NUL-terminated */
    size_t length;             /* strlen(text) */
} gc_finding_page;

extern const gc_finding_page gc_finding_pages[];
extern const size_t gc_finding_page_count;

/* The embedded page of id, or NULL when docs/findings/<id>.md did not
 * exist when gradcheck was built. */
const gc_finding_page *gc_finding_page_find(const char *id);

#endif
