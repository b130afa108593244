/*
 * palette.h: palette internals (private). The public API is in smpmatch.h.
 *
 * In:  a palette file's bytes: CSV (RFC 4180, UTF-8, '#' comment lines, one
 *      header row; columns name, code, L,a,b or hex, brand, kind, base,
 *      dilution, notes, veil, blue_shift) or CGATS.17/IT8 text (read with
 *      LittleCMS's IT8 parser: SAMPLE_ID, SAMPLE_NAME, LAB_L LAB_A LAB_B or
 *      RGB_R RGB_G RGB_B).
 * Out: an smp_palette, an array of smp_shade with owned strings. CSV rows
 *      with no colour but a base and a dilution are worked out from their
 *      base and the file's first diluent (Kubelka-Munk, heal.c).
 * Not: matching (match.c).
 */
#ifndef SMP_PALETTE_H
#define SMP_PALETTE_H

#include "smpmatch.h"

/* Limits, checked while parsing, before growing anything. */
#define SMP_PALETTE_MAX_ENTRIES 10000
#define SMP_PALETTE_MAX_LINE 4096
#define SMP_PALETTE_MAX_BYTES ((size_t)16 * 1024 * 1024)

/* Ranges of the per-shade model parameters: the same as the command line's
 * --veil (0..1) and --blue-shift (0..0.1), src/cli/main.c. */
#define SMP_PALETTE_MAX_VEIL 1.0
#define SMP_PALETTE_MAX_BLUE_SHIFT 0.1

/* The built-in palette (palettes/default.csv, embedded at build time by
 * CMake into a generated source file). */
extern const char smp_default_palette_csv[];
extern const size_t smp_default_palette_csv_size;

#endif /* SMP_PALETTE_H */
