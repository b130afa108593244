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

/* Warnings (smp_palette_warning): a palette loads with them, they never
 * refuse it. At most SMP_PALETTE_MAX_WARNINGS lines per file, then one
 * line saying how many more there were: a 10,000-row spreadsheet pasted
 * twice must not bury the photo's results under 10,000 lines.
 *
 * Repeated names. Two rows whose names are the same once spaces around
 * them are trimmed and ASCII case is ignored ("Warm carbon", "warm
 * CARBON "): the later row gets "<file>: line 7: \"warm CARBON\" is also
 * on line 3; ...". Both rows stay in the palette and are ranked, each
 * with its own code and line (they may be two makers' bottles of the same
 * name); where a name refers to a shade (a derived row's base), the first
 * row of that name is meant. Rows of different files are never compared:
 * each match says which palette it came from.
 *
 * Colours no pigment can have, checked on every shade's Lab (hex and
 * derived colours are sRGB by construction and always pass):
 *  - no surface at all: a surface reflects between none and all of the
 *    light falling on it, and the colour-matching functions are never
 *    negative (CIE 15:2004), so its X, Y, Z under D50 lie between 0 and
 *    the white's. Lab values past that (L 20 with b 40: Z below 0) are a
 *    typing or export error. SURFACE_SLACK allows for rounding of values
 *    typed with two decimals.
 *  - too colourful: outside the sRGB gamut by more than
 *    SMP_PALETTE_GAMUT_DE00 after clipping (linear sRGB clipped to 0..1 per
 *    channel, then ΔE00 between the shade and the clipped colour). SMP
 *    pigments are blacks, greys and browns, well inside sRGB; a hair colour
 *    measured from an sRGB or untagged photo lies inside it too, so a shade
 *    that far out could hardly rank better than "no good match". Clipping
 *    over-estimates the distance to the gamut (the clipped colour is not
 *    the nearest one inside), hence a margin rather than 0.
 */
#define SMP_PALETTE_MAX_WARNINGS 100
#define SURFACE_SLACK 1e-3
/* 3.5 ΔE00: the verdict scale's "no good match" boundary (shared/DESIGN.md,
 * the print tolerance). */
#define SMP_PALETTE_GAMUT_DE00 3.5

/* Ranges of the per-shade model parameters: the same as the command line's
 * --veil (0..1) and --blue-shift (0..0.1), src/cli/main.c. */
#define SMP_PALETTE_MAX_VEIL 1.0
#define SMP_PALETTE_MAX_BLUE_SHIFT 0.1

/* The built-in palette (palettes/default.csv, embedded at build time by
 * CMake into a generated source file). */
extern const char smp_default_palette_csv[];
extern const size_t smp_default_palette_csv_size;

#endif /* SMP_PALETTE_H */
