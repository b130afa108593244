/*
 * report.h: the consult sheet (--report), drawn with cairo (private):
 * the layout in report.c, the drawing in report_draw.c (in a shared build
 * the module libsmpmatch-report.so, loaded only when a sheet is written).
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

/* The page, shared by the layout (report.c) and the drawing
 * (report_draw.c). A4 in points: 210 x 297 mm (ISO 216) at 72 points per
 * inch. PNG pixels per point: 144 dpi, sharp text on a screen, 1191 x 1684
 * px (our choice). The margin: half an inch, our choice. */
#define SMP_REPORT_PAGE_W 595.28
#define SMP_REPORT_PAGE_H 841.89
#define SMP_REPORT_PNG_SCALE 2.0
#define SMP_REPORT_MARGIN 36.0

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

/* The drawing itself (report_draw.c), which smp_report_write calls: in a
 * shared build the entry point of the module libsmpmatch-report.so, so that
 * only a run that asks for a sheet maps cairo (src/module.h). Same contract
 * as smp_report_write; a missing module is an SMP_E_UNSUPPORTED line
 * naming `path`. */
typedef smp_status smp_report_write_fn(const char *path, const smp_result *r, const smp_lab_image *lab,
                                       const unsigned char *hair_mask, const unsigned char *scalp_mask,
                                       time_t when, smp_error *err);
smp_status smp_module_report_write(const char *path, const smp_result *r, const smp_lab_image *lab,
                                   const unsigned char *hair_mask, const unsigned char *scalp_mask,
                                   time_t when, smp_error *err);

#endif /* SMP_REPORT_H */
