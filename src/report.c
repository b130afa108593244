/*
 * report.c: the consult sheet's layout, and the door to its drawing.
 *
 * In:  a finished smp_result and the analysed photo's size (the layout);
 *      for smp_report_write, what report_draw.c draws from.
 * Out: where each part of the A4 page goes (smp_report_layout_for: pure
 *      geometry, which tests use to find each swatch on a rendered page);
 *      smp_report_write hands the drawing to report_draw.c.
 * Not: drawing. report_draw.c draws with cairo and, in a shared build, is
 *      the module libsmpmatch-report.so, loaded here only when a sheet is
 *      asked for (src/module.h): a run without --report maps no cairo.
 *      A static build (or SMP_MODULES=OFF) calls it directly.
 */
#include "report.h"

#include <math.h>
#include <string.h>

#include "module.h"

#define PAGE_W SMP_REPORT_PAGE_W
#define PAGE_H SMP_REPORT_PAGE_H
#define PNG_SCALE SMP_REPORT_PNG_SCALE
#define MARGIN SMP_REPORT_MARGIN

/* ------------------------------------------------------------------ */
/* Layout                                                              */
/* ------------------------------------------------------------------ */

static smp_report_box box(double x, double y, double w, double h)
{
    return (smp_report_box){x, y, w, h};
}

/* Preview patches: the probe is a 6-point square at the patch's centre that
 * the dots keep clear of. */
#define PROBE 6.0

void smp_report_layout_for(const smp_result *r, int photo_w, int photo_h, smp_report_layout *out)
{
    smp_report_layout L;
    memset(&L, 0, sizeof L);
    L.page_w = PAGE_W;
    L.page_h = PAGE_H;
    L.png_scale = PNG_SCALE;
    L.header = box(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, 52);

    /* The photo fits a 300 x 206 area, aspect kept, centred. */
    double aw = 300, ah = 206, ax = MARGIN, ay = 100;
    if (photo_w > 0 && photo_h > 0) {
        double s = fmin(aw / photo_w, ah / photo_h);
        double w = photo_w * s, h = photo_h * s;
        L.photo = box(ax + (aw - w) / 2, ay + (ah - h) / 2, w, h);
    } else {
        L.photo = box(ax, ay, aw, ah);
    }
    L.hair = box(350, 118, 56, 56);
    L.skin = box(350, 196, 56, 56);

    size_t n = r ? r->n_matches : 0;
    L.n_shades = n < SMP_REPORT_MAX_SHADES ? n : SMP_REPORT_MAX_SHADES;
    for (size_t i = 0; i < L.n_shades; i++) {
        double y = 366 + 54.0 * (double)i;
        L.bottle[i] = box(MARGIN, y, 46, 46);
        L.healed[i] = box(MARGIN + 52, y, 46, 46);
    }
    L.preview_light = box(395, 366, 164, 104);
    L.preview_full = box(395, 498, 164, 104);
    L.preview_skin_probe = box(L.preview_full.x + (L.preview_full.w - PROBE) / 2,
                               L.preview_full.y + (L.preview_full.h - PROBE) / 2, PROBE, PROBE);
    L.notes_left = box(MARGIN, 672, 254, 130);
    L.notes_right = box(305, 672, PAGE_W - MARGIN - 305, 130);
    *out = L;
}

/* ------------------------------------------------------------------ */
/* Drawing                                                             */
/* ------------------------------------------------------------------ */

smp_status smp_report_write(const char *path, const smp_result *r, const smp_lab_image *lab,
                            const unsigned char *hair_mask, const unsigned char *scalp_mask,
                            time_t when, smp_error *err)
{
#ifdef SMP_USE_MODULES
    smp_module m;
    smp_status st = smp_module_open(&m, "report", "smp_module_report_write",
                                    path && path[0] ? path : "(no path)", "consult sheets need", err);
    if (st != SMP_OK)
        return st;
    smp_report_write_fn *draw = (smp_report_write_fn *)m.entry;
    st = draw(path, r, lab, hair_mask, scalp_mask, when, err);
    smp_module_close(&m);
    return st;
#else
    return smp_module_report_write(path, r, lab, hair_mask, scalp_mask, when, err);
#endif
}
