/*
 * testutil.h: helpers shared by the cmocka tests.
 */
#ifndef SMP_TESTUTIL_H
#define SMP_TESTUTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "smpmatch.h"

/* A fresh scratch folder under the build tree for this test program
 * (created on first call, emptied of nothing: names are per test). */
const char *tu_tmpdir(void);

/* tu_tmpdir()/name into a static rotating buffer (8 slots). */
const char *tu_path(const char *name);

/* Writes bytes to a file; fails the test on error. */
void tu_write_file(const char *path, const void *data, size_t size);

/* Reads a whole file (malloc'd, NUL-terminated); fails the test on error. */
char *tu_read_file(const char *path, size_t *size);

/* Runs a shell command, captures its stdout (malloc'd, NUL-terminated) and
 * returns its exit status (or -1). */
int tu_run(const char *cmd, char **out);

/* Runs "SMP_CLI <args>" through the shell (args are shell words, quote
 * paths) with stderr to a file in tu_tmpdir(); returns the exit status and
 * hands back stdout and stderr (malloc'd; either pointer may be NULL). */
int tu_run_cli(const char *args, char **out, char **err);

/* Reads a numeric CSV file (lines starting with '#' and the first other
 * line, the header, are skipped): returns the number of rows and sets *rows
 * to a malloc'd array of rows*ncols doubles (the first ncols columns). Fails
 * the test on a short row. */
size_t tu_csv_numbers(const char *path, int ncols, double **rows);

/* An 8-bit grey or RGB PNG as stored (fails the test on anything else). */
typedef struct tu_png {
    int width, height, channels;
    unsigned char *pixels; /* width*height*channels, malloc'd */
} tu_png;
tu_png tu_read_png(const char *path);

/* The sample photos (samples/), every kind the library reads: JPEG, PNG,
 * a turned JPEG, ICC profiles. */
extern const char *const tu_samples[];
#define TU_N_SAMPLES 9

/* smp_analyse_file of samples/<file> with *opt (NULL: the defaults), as
 * JSON (malloc'd); fails the test unless the analysis succeeded. */
char *tu_sample_json(const smp_palette *pal, const char *file, const smp_options *opt);

#endif
