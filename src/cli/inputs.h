/*
 * inputs.h: the list of photos a command line names (CLI only).
 *
 * In:  the PHOTO arguments, --files-from lists (one path per line, or
 *      NUL-separated with -0), and -r.
 * Out: the photos to analyse, in the order given; folders (with -r) walked
 *      in name order, their photos recognised by content (JPEG or PNG
 *      bytes), everything else in them counted as skipped.
 * Not: analysis, printing.
 *
 * A path named explicitly is always analysed, whatever it holds: its error
 * ("not a JPEG or PNG file") is part of the report. A folder named without
 * -r becomes an entry that fails with a hint to use -r.
 */
#ifndef SMP_CLI_INPUTS_H
#define SMP_CLI_INPUTS_H

#include <stddef.h>
#include <stdio.h>

typedef struct input {
    char *path;
    const char *error; /* set: not analysed, fails with this cause */
} input;

typedef struct input_list {
    input *items;
    size_t n, cap;
    size_t skipped;     /* files in walked folders that are not photos */
    size_t unwalked;    /* folders and links not followed (symbolic links to folders) */
} input_list;

/* Adds one argument. Returns 0, or -1 when memory runs out. */
int inputs_add(input_list *l, const char *arg, int recursive);

/* Adds every path of a list (--files-from): lines, or NUL-separated
 * entries with `nul`; empty entries are ignored, a CR before a line's LF
 * is dropped (lists saved on Windows). Returns 0, or -1 with errno set
 * (read error, or ENOMEM). */
int inputs_add_list(input_list *l, FILE *f, int nul, int recursive);

void inputs_free(input_list *l);

#endif /* SMP_CLI_INPUTS_H */
