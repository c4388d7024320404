/* report_html.h - the HTML report: one self-contained page per run.
 *
 * The sink keeps a bounded summary of the events it is given (the
 * training curve, every tensor's relative error, the histograms of each
 * layer and quantity, the traps and the findings) and writes the page
 * when it is closed: the text sections as HTML, the series as one JSON
 * block, and the script and style that draw the charts inline, so the
 * file needs no network and no other file (docs/report.md, "The HTML
 * report").
 *
 * Long runs stay small: a series that reaches its limit is halved by
 * merging neighbours (the loss averaged over the steps it covers, the
 * relative error kept at its worst), and from then on takes one point
 * per stride of incoming points; histogram columns are thinned the same
 * way, keeping the newest of each stride.  The first and the latest point
 * of every series survive.
 *
 * The page is written to "<path>.tmp", synced and renamed to path, so
 * path is either absent, its previous version or the complete page.
 */
#ifndef GRADCHECK_REPORT_HTML_H
#define GRADCHECK_REPORT_HTML_H

#include "events.h"
#include "status.h"
#include "sweep.h"

/* Creates "<path>.tmp" (to fail early on a bad path) and returns a sink in
 * *out.  The caller calls (*out)->close exactly once: it writes the page,
 * renames it to path and frees the sink.  When no run event arrived (the
 * run never started), close removes the .tmp and leaves path alone.
 * Fails with GC_EIO (naming the file), GC_ENOMEM or GC_EINVAL. */
gc_status gc_html_sink_open(const char *path, gc_sink **out, gc_error *err);

/* The page of one step-size sweep (gradcheck sweep --html): the sweep's
 * numbers, its error curve on log-log axes with the rounding bound, the
 * check's bands and the chosen step marked, and a table of the points;
 * the same style and script as the run report.  config is the config
 * path to show.  Written to "<path>.tmp" and renamed, as the run report
 * is.  Fails with GC_EINVAL, GC_ENOMEM or GC_EIO (naming the file). */
gc_status gc_sweep_write_html(const gc_sweep *sweep, const char *config,
                              const char *path, gc_error *err);

#endif
