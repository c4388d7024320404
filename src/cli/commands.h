/* commands.h - the subcommands of the gradcheck command line that look at
 * one step closely: `gradcheck trace` and `gradcheck sweep`.
 *
 * Part of the command line, not of the library: these functions print and
 * return the process exit status (0 done, 2 usage, config, data or output
 * error), which main() returns.  argv[0] is the subcommand's name.
 */
#ifndef GRADCHECK_CLI_COMMANDS_H
#define GRADCHECK_CLI_COMMANDS_H

#include <stdbool.h>
#include <stdio.h>

int gc_cli_trace(int argc, char **argv);
int gc_cli_sweep(int argc, char **argv);

/* gradcheck report SWEEP.jsonl [--html FILE]: when path is a file that
 * `gradcheck sweep --json` wrote (*is_sweep set), prints the sweep's text
 * again, or with html writes its page; when it is not (*is_sweep false),
 * does nothing and returns 0 unless the file cannot be read. */
int gc_cli_report_sweep(const char *path, const char *html, bool *is_sweep);

/* The usage lines of both, for gradcheck --help. */
void gc_cli_commands_usage(FILE *stream);

#endif
