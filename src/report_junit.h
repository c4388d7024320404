/* report_junit.h - the JUnit XML sink (--junit FILE), for CI systems.
 *
 * At close the sink writes one <testsuites> with two <testsuite>s:
 *   - "checks": one <testcase> per checked tensor, its verdict over the
 *     whole run: <failure> when any check of it failed (message: how many,
 *     the worst relative error and its step), <skipped> when every check
 *     of it was inconclusive, else a pass;
 *   - "expect": one <testcase> per id listed in [expect] findings and one
 *     "no other error finding" (when no_other_errors is on), judged as
 *     expect.h judges them.
 * A run that started but sent no summary adds a <testcase> "run" with an
 * <error>.  Every count attribute (tests, failures, errors, skipped) is
 * the count of the testcases below it; all text is XML-escaped, and bytes
 * that XML 1.0 cannot carry (control characters, invalid UTF-8) become
 * '?'.  The layout is the common JUnit one; tests/junit.xsd is the schema
 * the tests validate against, and docs/ci.md describes it.
 *
 * The file is written as the JSON sink writes its own: "<path>.tmp" is
 * created at open (so a path that cannot be written fails before the run),
 * filled at close and renamed to path.  A run that never started leaves
 * path as it was and removes the .tmp.
 */
#ifndef GRADCHECK_REPORT_JUNIT_H
#define GRADCHECK_REPORT_JUNIT_H

#include "events.h"
#include "spec.h"
#include "status.h"

/* Creates "<path>.tmp" and returns a sink in *out that judges the run
 * against *expect (copied).  The caller calls (*out)->close exactly once;
 * close writes the file and frees the sink.  Fails with GC_EIO (naming the
 * file and the system's reason), GC_ENOMEM or GC_EINVAL. */
gc_status gc_junit_sink_open(const char *path, const gc_expect_spec *expect,
                             gc_sink **out, gc_error *err);

#endif
