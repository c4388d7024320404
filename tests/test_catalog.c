/* test_catalog.c - the finding registry, its pages, and the two commands
 * that show them (--list-findings, --explain).
 *
 * The registry (src/finding_catalog.c), the pages on disk
 * (docs/findings/<id>.md) and the pages embedded at build time must agree
 * both ways: every registered id has a page, every page a registry row,
 * and the binary carries the pages as they are on disk.  A failure lists
 * every id that is out of step, not just the first.
 */
#include "cli_run.h"

#include "finding_catalog.h"
#include "spec.h"

#include <ctype.h>
#include <glob.h>

#ifndef GC_SOURCE_DIR
#error "GC_SOURCE_DIR must name the source tree (tests/CMakeLists.txt)"
#endif

#define PAGES_DIR GC_SOURCE_DIR "/docs/findings/"

/* The ids agreed for issue 3 and their severities (docs/findings/,
 * HELPER_BRIEF): a wrong gradient, update or non-finite value is an error,
 * a training-health rule a warning, the kink note info.  Removing an id
 * from the registry or changing its severity breaks users' CI, so it must
 * break this test first. */
static const struct {
    const char *id;
    gc_severity severity;
} agreed[] = {
    {"softmax-jacobian-mismatch", GC_SEVERITY_ERROR},
    {"gradient-mismatch", GC_SEVERITY_ERROR},
    {"logit-drift", GC_SEVERITY_WARNING},
    {"unstable-softmax", GC_SEVERITY_WARNING},
    {"non-finite", GC_SEVERITY_ERROR},
    {"softmax-bce-mismatch", GC_SEVERITY_ERROR},
    {"derivative-at-activation", GC_SEVERITY_ERROR},
    {"output-delta-missing-derivative", GC_SEVERITY_ERROR},
    {"weight-gradient-from-output", GC_SEVERITY_ERROR},
    {"missing-bias-gradient", GC_SEVERITY_ERROR},
    {"batch-sum-not-mean", GC_SEVERITY_ERROR},
    {"weight-gradient-transposed", GC_SEVERITY_ERROR},
    {"update-ascent", GC_SEVERITY_ERROR},
    {"unclamped-log", GC_SEVERITY_ERROR},
    {"learning-rate-too-high", GC_SEVERITY_WARNING},
    {"vanishing-gradients", GC_SEVERITY_WARNING},
    {"exploding-gradients", GC_SEVERITY_WARNING},
    {"dead-relu", GC_SEVERITY_WARNING},
    {"saturated-units", GC_SEVERITY_WARNING},
    {"symmetric-init", GC_SEVERITY_WARNING},
    {"unscaled-inputs", GC_SEVERITY_WARNING},
    {"loss-not-decreasing", GC_SEVERITY_WARNING},
    {"check-rounding", GC_SEVERITY_WARNING},
    {"kink-excluded", GC_SEVERITY_INFO},
};

#define AGREED_COUNT (sizeof agreed / sizeof agreed[0])

/* A one-line summary that a terminal shows without wrapping badly: the
 * longest today is about 130 characters. */
#define SUMMARY_MAX_LENGTH 160

/* Appends ", id" to a list of offenders for a failure message. */
static void note(char *list, size_t size, const char *id)
{
    size_t used = strlen(list);
    snprintf(list + used, size - used, "%s%s", used ? ", " : "", id);
}

/* The id of a page path ".../docs/findings/<id>.md", into out. */
static void page_id(const char *path, char *out, size_t size)
{
    const char *name = strrchr(path, '/') + 1;
    size_t len = strlen(name) - 3;
    snprintf(out, size, "%.*s", (int)len, name);
}

/* ---- the registry itself ---------------------------------------------------- */

Test(catalog, rows_are_well_formed_and_unique)
{
    size_t count = gc_finding_catalog_count();
    cr_assert_geq(count, AGREED_COUNT);
    for (size_t i = 0; i < count; i++) {
        const gc_finding_info *f = gc_finding_catalog_at(i);
        cr_assert_not_null(f);
        size_t len = strlen(f->id);
        cr_assert(len > 0 && len < GC_FINDING_ID_MAX, "id '%s' length",
                  f->id);
        for (size_t k = 0; k < len; k++)
            cr_assert(islower((unsigned char)f->id[k])
                          || isdigit((unsigned char)f->id[k])
                          || f->id[k] == '-',
                      "id '%s': only a-z, 0-9 and '-'", f->id);
        cr_assert(f->id[0] != '-' && f->id[len - 1] != '-', "%s", f->id);
        cr_assert(f->severity == GC_SEVERITY_ERROR
                  || f->severity == GC_SEVERITY_WARNING
                  || f->severity == GC_SEVERITY_INFO);
        size_t slen = strlen(f->summary);
        cr_assert(slen > 0 && slen <= SUMMARY_MAX_LENGTH,
                  "summary of %s: %zu characters", f->id, slen);
        cr_assert_null(strchr(f->summary, '\n'), "summary of %s", f->id);
        cr_assert_neq(f->summary[slen - 1], '.', "summary of %s", f->id);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(gc_finding_catalog_at(j)->id, f->id,
                              "id '%s' registered twice", f->id);
        cr_assert_eq(gc_finding_catalog_find(f->id), f);
    }
    cr_assert_null(gc_finding_catalog_at(count));
    cr_assert_null(gc_finding_catalog_find("no-such-finding"));
    cr_assert_null(gc_finding_catalog_find(NULL));
}

Test(catalog, every_agreed_id_is_registered_with_its_severity)
{
    for (size_t i = 0; i < AGREED_COUNT; i++) {
        const gc_finding_info *f = gc_finding_catalog_find(agreed[i].id);
        cr_assert_not_null(f, "'%s' is not registered", agreed[i].id);
        cr_assert_eq(f->severity, agreed[i].severity,
                     "'%s' is %s, agreed %s", agreed[i].id,
                     gc_severity_name(f->severity),
                     gc_severity_name(agreed[i].severity));
    }
}

/* ---- registry and pages ---------------------------------------------------- */

Test(catalog, every_registered_id_has_a_page)
{
    char missing[4096] = "";
    size_t count = 0;
    for (size_t i = 0; i < gc_finding_catalog_count(); i++) {
        const char *id = gc_finding_catalog_at(i)->id;
        char path[1024];
        struct stat st;
        snprintf(path, sizeof path, PAGES_DIR "%s.md", id);
        if (stat(path, &st) != 0) {
            note(missing, sizeof missing, id);
            count++;
        }
    }
    cr_assert_eq(count, 0, "%zu registered ids have no docs/findings/<id>.md"
                 ": %s", count, missing);
}

Test(catalog, every_page_has_a_registry_row)
{
    glob_t pages;
    char unregistered[4096] = "";
    size_t count = 0;
    int rc = glob(PAGES_DIR "*.md", 0, NULL, &pages);
    cr_assert_eq(rc, 0, "no pages in " PAGES_DIR);
    for (size_t i = 0; i < pages.gl_pathc; i++) {
        char id[256];
        page_id(pages.gl_pathv[i], id, sizeof id);
        if (gc_finding_catalog_find(id) == NULL) {
            note(unregistered, sizeof unregistered, id);
            count++;
        }
    }
    globfree(&pages);
    cr_assert_eq(count, 0, "%zu pages have no row in src/finding_catalog.c: "
                 "%s", count, unregistered);
}

Test(catalog, embedded_pages_are_the_pages_on_disk)
{
    glob_t pages;
    cr_assert_eq(glob(PAGES_DIR "*.md", 0, NULL, &pages), 0);
    cr_assert_eq(gc_finding_page_count, pages.gl_pathc,
                 "%zu pages embedded, %zu on disk: rebuild", 
                 gc_finding_page_count, pages.gl_pathc);
    for (size_t i = 0; i < pages.gl_pathc; i++) {
        char id[256];
        size_t length;
        page_id(pages.gl_pathv[i], id, sizeof id);
        char *text = gc_cli_read(pages.gl_pathv[i], &length);
        cr_assert_not_null(text);
        const gc_finding_page *page = gc_finding_page_find(id);
        cr_assert_not_null(page, "%s.md is not embedded", id);
        cr_assert_eq(page->length, length, "%s.md: %zu bytes embedded, %zu "
                     "on disk", id, page->length, length);
        cr_assert_eq(strlen(page->text), page->length);
        cr_assert(memcmp(page->text, text, length) == 0,
                  "%s.md differs from its embedded copy", id);
        free(text);
    }
    globfree(&pages);
    cr_assert_null(gc_finding_page_find("no-such-finding"));
}

/* ---- close ids -------------------------------------------------------------- */

static bool contains_id(const char *const *ids, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(ids[i], id) == 0)
            return true;
    }
    return false;
}

Test(catalog, close_ids_catch_typos_and_words)
{
    const char *close[8];
    /* Two letters swapped: distance 2, the only id that close. */
    size_t n = gc_finding_catalog_close_ids("logit-drfit", close, 8);
    cr_assert_geq(n, 1);
    cr_assert_str_eq(close[0], "logit-drift");

    /* A word of several ids: all of them, none without it. */
    n = gc_finding_catalog_close_ids("softmax", close, 8);
    cr_assert(contains_id(close, n, "softmax-jacobian-mismatch"));
    cr_assert(contains_id(close, n, "unstable-softmax"));
    cr_assert(contains_id(close, n, "softmax-bce-mismatch"));
    cr_assert(!contains_id(close, n, "logit-drift"));

    /* A typo beats a shared word: the exact-ish match comes first. */
    n = gc_finding_catalog_close_ids("dead-rel", close, 8);
    cr_assert_geq(n, 1);
    cr_assert_str_eq(close[0], "dead-relu");

    /* The cap is respected. */
    cr_assert_eq(gc_finding_catalog_close_ids("gradient", close, 1), 1);

    /* Nothing like any id. */
    cr_assert_eq(gc_finding_catalog_close_ids("zzzzzzzzzzzz", close, 8), 0);
}

/* ---- the commands ------------------------------------------------------------- */

Test(catalog_cli, list_findings_prints_every_row)
{
    char dir[4096];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_run(&r, dir, (const char *[]){"--list-findings", NULL});
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_str_eq(r.err, "");
    for (size_t i = 0; i < gc_finding_catalog_count(); i++) {
        const gc_finding_info *f = gc_finding_catalog_at(i);
        char line[512];
        /* id, then its severity and summary on the same line. */
        const char *at = strstr(r.out, f->id);
        cr_assert_not_null(at, "%s not listed", f->id);
        const char *end = strchr(at, '\n');
        cr_assert_not_null(end);
        snprintf(line, sizeof line, "%.*s", (int)(end - at), at);
        cr_assert_not_null(strstr(line, gc_severity_name(f->severity)),
                           "line '%s'", line);
        cr_assert_not_null(strstr(line, f->summary), "line '%s'", line);
    }
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}

/* Run from a directory with no docs/ in reach: the page must come from
 * the binary. */
Test(catalog_cli, explain_prints_the_page_from_anywhere)
{
    char dir[4096];
    size_t length;
    gc_cli_result r;
    char *page = gc_cli_read(PAGES_DIR "softmax-jacobian-mismatch.md",
                             &length);
    cr_assert_not_null(page);
    gc_cli_dir_make(dir, sizeof dir);
    cr_assert_eq(chdir(dir), 0);
    gc_cli_run(&r, dir, (const char *[]){"--explain",
                                         "softmax-jacobian-mismatch", NULL});
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert_str_eq(r.out, page);
    cr_assert_str_eq(r.err, "");
    gc_cli_result_free(&r);

    gc_cli_run(&r, dir, (const char *[]){"--explain=logit-drift", NULL});
    cr_assert_eq(r.status, 0, "stderr: %s", r.err);
    cr_assert(strncmp(r.out, "# logit-drift", 13) == 0, "%.40s", r.out);
    gc_cli_result_free(&r);
    free(page);
    gc_cli_dir_remove(dir);
}

Test(catalog_cli, explain_unknown_id_names_close_ids)
{
    char dir[4096];
    gc_cli_result r;
    gc_cli_dir_make(dir, sizeof dir);
    gc_cli_run(&r, dir, (const char *[]){"--explain", "logit-drfit", NULL});
    cr_assert_eq(r.status, 2);
    cr_assert_str_eq(r.out, "");
    cr_assert_not_null(strstr(r.err, "'logit-drfit'"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "logit-drift"), "%s", r.err);
    cr_assert_not_null(strstr(r.err, "--list-findings"), "%s", r.err);
    gc_cli_result_free(&r);

    gc_cli_run(&r, dir, (const char *[]){"--explain", NULL});
    cr_assert_eq(r.status, 2);
    cr_assert_not_null(strstr(r.err, "--explain needs a finding id"),
                       "%s", r.err);
    gc_cli_result_free(&r);
    gc_cli_dir_remove(dir);
}
