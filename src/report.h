/*
 * report.h: the consult sheet (--report), drawn with cairo (private).
 *
 * In:  a finished smp_result (colours, shades, healed colours, mixes,
 *      areas, advice, warnings, confidence), the Lab image the analysis
 *      used and its hair and scalp masks (for the photo with the measured
 *      regions outlined), the time to print on it.
 * Out: one page, PDF or PNG chosen by the path's extension (".pdf",
 *      ".png", any case), written to a temporary file in the same folder
 *      and renamed over `path` only once complete.
 * Not: choosing the path (the CLI does: a file, or a folder with one sheet
 *      per photo), measuring or ranking anything.
 *
 * Colours: every swatch is the result's Lab converted to sRGB through
 * LittleCMS (relative colorimetric, clipped), the same conversion as the
 * hex strings. The PNG carries sRGB, gAMA and cHRM chunks (written with
 * libpng from cairo's pixels). The PDF's colours are DeviceRGB holding
 * sRGB values, and the PDF carries an sRGB OutputIntent with the sRGB ICC
 * profile, added after cairo (1.16 has no API for it) as an incremental
 * update.
 *
 * The layout is computed apart from the drawing so that tests can find each
 * swatch on the rendered page and check its colour.
 */
#ifndef SMP_REPORT_H
#define SMP_REPORT_H

#include <time.h>

#include "colour.h"
#include "smpmatch.h"

/* Shades drawn as large swatches: the top of the list. */
#define SMP_REPORT_MAX_SHADES 5

typedef struct smp_report_box {
    double x, y, w, h; /* in points (1/72 inch) from the page's top-left */
} smp_report_box;

typedef struct smp_report_layout {
    double page_w, page_h;       /* points: A4 portrait, 595.28 x 841.89 */
    double png_scale;            /* PNG pixels per point */
    smp_report_box photo;        /* the photo, scaled to fit, aspect kept */
    smp_report_box hair, skin;   /* measured colour swatches */
    size_t n_shades;             /* min(n_matches, SMP_REPORT_MAX_SHADES) */
    smp_report_box bottle[SMP_REPORT_MAX_SHADES]; /* matches[i].lab */
    smp_report_box healed[SMP_REPORT_MAX_SHADES]; /* matches[i].healed_lab */
    smp_report_box preview_light; /* lighter start (or top shade) dots, light density,
                                     on the skin colour */
    smp_report_box preview_full;  /* top shade dots, full density, on the skin colour */
    smp_report_box preview_skin_probe; /* a spot of bare skin colour inside preview_full,
                                     between dots (for tests) */
    smp_report_box header;        /* title, file name, date, confidence */
    smp_report_box notes_left;    /* mixes, then per-area results */
    smp_report_box notes_right;   /* advice, then warnings */
} smp_report_layout;

/* The layout for this result and this photo size (analysed pixels). */
void smp_report_layout_for(const smp_result *r, int photo_w, int photo_h, smp_report_layout *out);

/* Writes the sheet. `when` is printed as the date (local time); pass
 * time(NULL) for now. Errors name `path` and the cause ("sheet.pdf: the
 * folder does not exist"). */
smp_status smp_report_write(const char *path, const smp_result *r, const smp_lab_image *lab,
                            const unsigned char *hair_mask, const unsigned char *scalp_mask,
                            time_t when, smp_error *err);

#endif /* SMP_REPORT_H */
