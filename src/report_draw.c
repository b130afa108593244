/*
 * report_draw.c: the consult sheet, one A4 portrait page drawn with cairo.
 *
 * In:  a finished smp_result, the Lab image the analysis used, its hair and
 *      scalp masks (NULL = none), the date to print, and a path ending in
 *      ".pdf" or ".png".
 * Out: the sheet: a header (file name, date, confidence), the photo with
 *      the measured hair tinted magenta and the scalp cyan (the colours of
 *      --debug-masks), the measured hair and skin colours, up to
 *      SMP_REPORT_MAX_SHADES ranked shades as bottle and healed swatches,
 *      SMP dots over the client's skin colour at a light and a full
 *      density, then mixes, per-area results, advice and warnings.
 * Not: ranking, measuring, choosing the path, the layout (report.c); no
 *      fonts of its own (cairo's toy text API with "DejaVu Sans", Debian's
 *      fonts-dejavu-core).
 *
 * Where it lives. In a shared build this file is the module
 * libsmpmatch-report.so, loaded by report.c's smp_report_write only when a
 * sheet is asked for (src/module.h), so that a run without --report never
 * maps cairo and the fontconfig, freetype, pixman and glib behind it; a
 * static build (or SMP_MODULES=OFF) links it into the library.
 *
 * Colours. Each swatch is the Lab converted by LittleCMS to 8-bit sRGB with
 * the transform smp_lab_to_hex uses (Lab D50 v4 -> built-in sRGB, relative
 * colorimetric, 8-bit output), drawn with cairo_set_source_rgb(v / 255):
 * cairo keeps 8-bit values exactly, so a PNG pixel in a swatch is the hex
 * printed beside it. The PNG is encoded here with libpng from cairo's pixels
 * so that it carries sRGB, gAMA and cHRM chunks (cairo's own PNG writer
 * writes no colour chunk, and a viewer would then merely assume sRGB).
 * The PDF's colours are DeviceRGB holding those sRGB values; cairo 1.16 has
 * no API for an ICC output intent, so the PDF is collected in memory and an
 * sRGB OutputIntent is appended as an incremental update (tag_pdf_srgb)
 * before it is written.
 *
 * Writing. The sheet is drawn into a hidden temporary file (mkstemp) in the
 * target's folder and renamed over the target only when cairo and the disk
 * both reported success; on any failure the temporary file is removed and
 * an existing sheet is left as it was.
 *
 * Threads: everything lives on the stack or in this call's allocations
 * (one LittleCMS context per call); cairo's toy font cache is cairo's own
 * and thread-safe.
 */
#include "report.h"

#include "util.h"

#include <cairo-pdf.h>
#include <cairo.h>
#include <errno.h>
#include <lcms2.h>
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_W SMP_REPORT_PAGE_W
#define PAGE_H SMP_REPORT_PAGE_H
#define PNG_SCALE SMP_REPORT_PNG_SCALE
#define MARGIN SMP_REPORT_MARGIN
#define FONT "DejaVu Sans"

/* ------------------------------------------------------------------ */
/* Colour                                                              */
/* ------------------------------------------------------------------ */

typedef struct sheet {
    cairo_t *cr;
    const smp_result *r;
    smp_report_layout L;
    cmsHTRANSFORM swatch_xf; /* Lab DBL -> RGB 8, as smp_lab_to_hex */
} sheet;

static int lab_ok(const double lab[3])
{
    return isfinite(lab[0]) && isfinite(lab[1]) && isfinite(lab[2]);
}

static void set_lab(sheet *s, const double lab[3])
{
    unsigned char rgb[3] = {128, 128, 128};
    cmsCIELab in = {lab[0], lab[1], lab[2]};
    cmsDoTransform(s->swatch_xf, &in, rgb, 1);
    cairo_set_source_rgb(s->cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

static void set_grey(cairo_t *cr, int v)
{
    cairo_set_source_rgb(cr, v / 255.0, v / 255.0, v / 255.0);
}

static void fill_box(cairo_t *cr, smp_report_box b)
{
    cairo_rectangle(cr, b.x, b.y, b.w, b.h);
    cairo_fill(cr);
}

/* A thin grey frame just outside the box, so the swatch itself keeps its
 * colour to the edge. */
static void frame_box(cairo_t *cr, smp_report_box b)
{
    set_grey(cr, 150);
    cairo_set_line_width(cr, 0.5);
    cairo_rectangle(cr, b.x - 0.25, b.y - 0.25, b.w + 0.5, b.h + 0.5);
    cairo_stroke(cr);
}

/* A swatch, or a hatched "not measured" box for a colour that is not known. */
static void swatch(sheet *s, smp_report_box b, const double lab[3], int known)
{
    cairo_t *cr = s->cr;
    if (known && lab_ok(lab)) {
        set_lab(s, lab);
        fill_box(cr, b);
    } else {
        set_grey(cr, 235);
        fill_box(cr, b);
        set_grey(cr, 190);
        cairo_set_line_width(cr, 0.5);
        cairo_move_to(cr, b.x, b.y + b.h);
        cairo_line_to(cr, b.x + b.w, b.y);
        cairo_stroke(cr);
    }
    frame_box(cr, b);
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, FONT, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

static double text_w(cairo_t *cr, const char *t)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, t, &e);
    return e.x_advance;
}

/* Start of the UTF-8 character before byte offset n of t. */
static size_t utf8_back(const char *t, size_t n)
{
    while (n > 0) {
        n--;
        if (((unsigned char)t[n] & 0xC0) != 0x80)
            break;
    }
    return n;
}

/* Copies the first n bytes of t into buf (room for size bytes), adding
 * "…" when `ellipsis`, shortened at character boundaries until it is no
 * wider than maxw. */
static void fit(cairo_t *cr, const char *t, size_t n, int ellipsis, double maxw, char *buf, size_t size)
{
    if (size < 8)
        return;
    if (n > size - 5)
        n = utf8_back(t, size - 4), ellipsis = 1;
    for (;;) {
        memcpy(buf, t, n);
        buf[n] = 0;
        if (ellipsis)
            strcat(buf, "\xE2\x80\xA6"); /* … */
        if (n == 0 || text_w(cr, buf) <= maxw)
            return;
        n = utf8_back(t, n);
        ellipsis = 1;
    }
}

/* One line at (x, baseline y), cut with "…" to fit maxw. */
static void line(cairo_t *cr, double x, double y, double maxw, const char *t)
{
    char buf[600];
    fit(cr, t, strlen(t), 0, maxw, buf, sizeof buf);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, buf);
}

static void linef(cairo_t *cr, double x, double y, double maxw, const char *fmt, ...) SMP_PRINTF(5, 6);
static void linef(cairo_t *cr, double x, double y, double maxw, const char *fmt, ...)
{
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    line(cr, x, y, maxw, buf);
}

/* Word-wraps t into lines no wider than maxw, drawn from baseline y at
 * `lh` points apart when `draw`; at most max_lines lines, the last one
 * ending in "…" when the text does not fit. A word wider than a whole line
 * is cut with "…". Returns the lines used (counted the same way when not
 * drawing). */
static int wrap(cairo_t *cr, const char *t, double x, double y, double maxw, double lh, int max_lines,
                int draw)
{
    char buf[600];
    int lines = 0;
    const char *p = t;
    while (*p && lines < max_lines) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        /* the longest run of whole words from p that fits */
        size_t best = 0, i = 0, len = strlen(p);
        while (i < len) {
            size_t j = i;
            while (j < len && p[j] == ' ')
                j++;
            while (j < len && p[j] != ' ')
                j++;
            size_t take = j < sizeof buf - 1 ? j : sizeof buf - 1;
            memcpy(buf, p, take);
            buf[take] = 0;
            if (text_w(cr, buf) > maxw)
                break;
            best = j;
            i = j;
        }
        int last = lines == max_lines - 1;
        size_t used = best;
        if (best == 0 || (last && best < len)) {
            /* one over-long word, or text left over on the last line */
            size_t n = best == 0 ? strcspn(p, " ") : len;
            fit(cr, p, n, last && best < len, maxw, buf, sizeof buf);
            used = best == 0 ? n : len;
        } else {
            memcpy(buf, p, best < sizeof buf - 1 ? best : sizeof buf - 1);
            buf[best < sizeof buf - 1 ? best : sizeof buf - 1] = 0;
        }
        if (draw) {
            cairo_move_to(cr, x, y + lh * lines);
            cairo_show_text(cr, buf);
        }
        lines++;
        p += used;
    }
    return lines > 0 ? lines : 1;
}

/* ------------------------------------------------------------------ */
/* Header, photo, measured colours                                     */
/* ------------------------------------------------------------------ */

/* Words for the confidence (0..1): our own bands, a reading aid for the
 * client next to the number, not a calibrated probability. */
static const char *confidence_words(double c)
{
    if (!isfinite(c))
        return "unknown";
    return c >= 0.75 ? "high" : c >= 0.5 ? "medium" : "low";
}

static void draw_header(sheet *s, time_t when)
{
    cairo_t *cr = s->cr;
    smp_report_box b = s->L.header;
    char date[32] = "";
    struct tm tm;
    if (localtime_r(&when, &tm))
        strftime(date, sizeof date, "%Y-%m-%d", &tm);
    set_grey(cr, 20);
    font(cr, 20, 1);
    line(cr, b.x, b.y + 20, 220, "Consult sheet");
    font(cr, 10, 0);
    char right[96];
    snprintf(right, sizeof right, "%s   confidence: %s (%.2f)", date, confidence_words(s->r->confidence),
             s->r->confidence);
    double rw = text_w(cr, right);
    cairo_move_to(cr, b.x + b.w - rw, b.y + 20);
    cairo_show_text(cr, right);
    font(cr, 11, 0);
    linef(cr, b.x, b.y + 40, b.w, "Photo: %s", smp_basename(s->r->file ? s->r->file : ""));
    set_grey(cr, 180);
    cairo_set_line_width(cr, 0.75);
    cairo_move_to(cr, b.x, b.y + b.h);
    cairo_line_to(cr, b.x + b.w, b.y + b.h);
    cairo_stroke(cr);
}

/* The mask tint: magenta (hair) and cyan (scalp), the colours of the
 * --debug-masks overlay, laid a third of the way over the photo (TINT_NUM /
 * TINT_DEN) so the client still sees their own hair and skin under it. */
#define TINT_NUM 1u
#define TINT_DEN 3u
static const unsigned char HAIR_TINT[3] = {255, 0, 255}, SCALP_TINT[3] = {0, 255, 255};

/* The photo in sRGB as a cairo surface, reduced by whole-pixel blocks to at
 * most about twice the photo box in PNG pixels (more would only be thrown
 * away by the scaling). A block is averaged in Lab, then converted by one
 * LittleCMS transform (Lab float -> sRGB 8-bit); it is tinted when at least
 * half its pixels are in a mask. NULL when memory runs out or LittleCMS
 * fails. */
static cairo_surface_t *photo_surface(cmsContext ctx, const smp_lab_image *lab, const unsigned char *hair,
                                      const unsigned char *scalp, double box_px)
{
    int k = 1;
    while ((double)lab->width / k > 2 * box_px || (double)lab->height / k > 2 * box_px)
        k++;
    int w = (lab->width + k - 1) / k, h = (lab->height + k - 1) / k;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return NULL;
    }
    cmsHPROFILE lp = cmsCreateLab4ProfileTHR(ctx, NULL), sp = cmsCreate_sRGBProfileTHR(ctx);
    cmsHTRANSFORM xf = (lp && sp) ? cmsCreateTransformTHR(ctx, lp, TYPE_Lab_FLT, sp, TYPE_RGB_8,
                                                          INTENT_RELATIVE_COLORIMETRIC, 0)
                                  : NULL;
    float *in = malloc((size_t)w * 3 * sizeof *in);
    unsigned char *rgb = malloc((size_t)w * 3);
    size_t *nh = malloc((size_t)w * sizeof *nh), *ns = malloc((size_t)w * sizeof *ns),
           *np = malloc((size_t)w * sizeof *np);
    int ok = xf && in && rgb && nh && ns && np;
    cairo_surface_flush(surf);
    unsigned char *data = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (int by = 0; ok && by < h; by++) {
        memset(in, 0, (size_t)w * 3 * sizeof *in);
        memset(nh, 0, (size_t)w * sizeof *nh);
        memset(ns, 0, (size_t)w * sizeof *ns);
        memset(np, 0, (size_t)w * sizeof *np);
        for (int y = by * k; y < lab->height && y < (by + 1) * k; y++) {
            size_t row = (size_t)y * (size_t)lab->width;
            for (int x = 0; x < lab->width; x++) {
                size_t i = row + (size_t)x, bx = (size_t)(x / k);
                const float *v = lab->lab + 3 * i;
                if (!isfinite(v[0]) || !isfinite(v[1]) || !isfinite(v[2]))
                    continue;
                in[3 * bx] += v[0], in[3 * bx + 1] += v[1], in[3 * bx + 2] += v[2];
                np[bx]++;
                nh[bx] += hair && hair[i];
                ns[bx] += scalp && scalp[i];
            }
        }
        for (int bx = 0; bx < w; bx++)
            for (int c = 0; c < 3; c++)
                in[3 * bx + c] = np[bx] ? in[3 * bx + c] / (float)np[bx] : 50.0f;
        cmsDoTransform(xf, in, rgb, (cmsUInt32Number)w);
        uint32_t *out = (uint32_t *)(void *)(data + (size_t)by * (size_t)stride);
        for (int bx = 0; bx < w; bx++) {
            unsigned char *p = rgb + 3 * bx;
            const unsigned char *t = NULL;
            if (np[bx] && 2 * nh[bx] >= np[bx])
                t = HAIR_TINT;
            else if (np[bx] && 2 * ns[bx] >= np[bx])
                t = SCALP_TINT;
            if (t)
                for (int c = 0; c < 3; c++)
                    p[c] = (unsigned char)(((TINT_DEN - TINT_NUM) * p[c] + TINT_NUM * t[c] + TINT_DEN / 2) /
                                           TINT_DEN);
            out[bx] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
        }
    }
    cairo_surface_mark_dirty(surf);
    free(in), free(rgb), free(nh), free(ns), free(np);
    if (xf)
        cmsDeleteTransform(xf);
    if (lp)
        cmsCloseProfile(lp);
    if (sp)
        cmsCloseProfile(sp);
    if (!ok) {
        cairo_surface_destroy(surf);
        return NULL;
    }
    return surf;
}

static void legend_key(cairo_t *cr, double x, double y, const unsigned char rgb[3], const char *label)
{
    cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
    cairo_rectangle(cr, x, y - 8, 9, 9);
    cairo_fill(cr);
    set_grey(cr, 40);
    line(cr, x + 13, y, 130, label);
}

/* Returns -1 when memory runs out. */
static int draw_photo(sheet *s, cmsContext ctx, const smp_lab_image *lab, const unsigned char *hair,
                      const unsigned char *scalp)
{
    cairo_t *cr = s->cr;
    smp_report_box b = s->L.photo;
    if (lab && lab->lab && lab->width > 0 && lab->height > 0) {
        cairo_surface_t *ps = photo_surface(ctx, lab, hair, scalp, fmax(b.w, b.h) * PNG_SCALE);
        if (!ps)
            return -1;
        cairo_save(cr);
        cairo_rectangle(cr, b.x, b.y, b.w, b.h);
        cairo_clip(cr);
        cairo_translate(cr, b.x, b.y);
        cairo_scale(cr, b.w / cairo_image_surface_get_width(ps), b.h / cairo_image_surface_get_height(ps));
        cairo_set_source_surface(cr, ps, 0, 0);
        cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
        cairo_paint(cr);
        cairo_restore(cr);
        cairo_surface_destroy(ps);
    } else {
        set_grey(cr, 235);
        fill_box(cr, b);
    }
    frame_box(cr, b);
    font(cr, 8.5, 0);
    double y = 100 + 206 + 14;
    legend_key(cr, MARGIN, y, HAIR_TINT, hair ? "hair measured" : "hair: no region");
    legend_key(cr, MARGIN + 140, y, SCALP_TINT, scalp ? "scalp skin measured" : "scalp: no region");
    return 0;
}

static void heading(cairo_t *cr, double x, double y, double maxw, const char *t)
{
    set_grey(cr, 20);
    font(cr, 12, 1);
    line(cr, x, y, maxw, t);
}

static void draw_measured(sheet *s)
{
    cairo_t *cr = s->cr;
    const smp_result *r = s->r;
    double tx = s->L.hair.x + s->L.hair.w + 8, tw = MARGIN + s->L.header.w - tx, lh = 11;
    heading(cr, s->L.hair.x, 110, 209, "Measured colours");

    swatch(s, s->L.hair, r->hair.lab, r->hair.measured);
    double y = s->L.hair.y + 9;
    font(cr, 9.5, 1);
    set_grey(cr, 20);
    line(cr, tx, y, tw, "Hair");
    font(cr, 8.5, 0);
    if (r->hair.measured) {
        double yy = y + 3 * lh;
        linef(cr, tx, y + lh, tw, "Lab %.1f, %.1f, %.1f", r->hair.lab[0], r->hair.lab[1], r->hair.lab[2]);
        linef(cr, tx, y + 2 * lh, tw, "sRGB %s", r->hair.hex);
        if (r->n_hair_clusters > 1 && r->grey_share > 0) {
            linef(cr, tx, yy, tw, "grey hair: %.0f %%", 100 * r->grey_share);
            yy += lh;
        }
        linef(cr, tx, yy, tw, "region: %s", smp_source_name(r->hair.source));
    } else {
        line(cr, tx, y + lh, tw, "not measured");
    }

    swatch(s, s->L.skin, r->scalp.lab, r->scalp.measured);
    y = s->L.skin.y + 9;
    set_grey(cr, 20);
    font(cr, 9.5, 1);
    line(cr, tx, y, tw, "Scalp skin");
    font(cr, 8.5, 0);
    if (r->scalp.measured) {
        linef(cr, tx, y + lh, tw, "Lab %.1f, %.1f, %.1f", r->scalp.lab[0], r->scalp.lab[1], r->scalp.lab[2]);
        linef(cr, tx, y + 2 * lh, tw, "sRGB %s", r->scalp.hex);
        linef(cr, tx, y + 3 * lh, tw, "ITA\xC2\xB0 %.1f (%s)", r->ita_deg,
              r->ita_category ? r->ita_category : "?");
        linef(cr, tx, y + 4 * lh, tw, "undertone: %s", r->undertone ? r->undertone : "unknown");
    } else {
        line(cr, tx, y + lh, tw, "not measured");
    }

    /* how far the numbers can be trusted */
    y = s->L.skin.y + s->L.skin.h + 18;
    set_grey(cr, 70);
    linef(cr, s->L.hair.x, y, 209, "Photo colours: %s%s", r->image.icc_profile ? r->image.icc_profile : "?",
          r->image.icc_assumed ? " (assumed)" : "");
    linef(cr, s->L.hair.x, y + lh, 209, "Calibration: %s",
          r->calibration.method ? r->calibration.method : "none");
    linef(cr, s->L.hair.x, y + 2 * lh, 209, "Analysed at %d x %d px", r->image.analysed_width,
          r->image.analysed_height);
}

/* ------------------------------------------------------------------ */
/* Shades and the dots preview                                         */
/* ------------------------------------------------------------------ */

static int same_shade(const smp_match *a, const smp_match *b)
{
    return a->name && b->name && strcmp(a->name, b->name) == 0 &&
           strcmp(a->code ? a->code : "", b->code ? b->code : "") == 0 &&
           strcmp(a->palette ? a->palette : "", b->palette ? b->palette : "") == 0;
}

/* The lighter start when it is a different shade from the top one. */
static const smp_match *distinct_lighter(const smp_result *r)
{
    if (!r->has_lighter_start || r->n_matches == 0 || same_shade(&r->lighter_start, &r->matches[0]))
        return NULL;
    return &r->lighter_start;
}

static void shade_label(const smp_match *m, char *buf, size_t size)
{
    if (m->code && m->code[0])
        snprintf(buf, size, "%s (%s)", m->name ? m->name : "?", m->code);
    else
        snprintf(buf, size, "%s", m->name ? m->name : "?");
}

static void draw_shades(sheet *s)
{
    cairo_t *cr = s->cr;
    const smp_result *r = s->r;
    const smp_match *ls = distinct_lighter(r);
    double tx = MARGIN + 106, tw = 380 - tx, lh = 11;
    heading(cr, MARGIN, 344, 340, r->model == SMP_MODEL_HEALED ? "Ranked shades (healed on this skin)"
                                                                : "Ranked shades");
    font(cr, 7.5, 0);
    set_grey(cr, 90);
    line(cr, MARGIN, 360, 46, "bottle");
    line(cr, MARGIN + 52, 360, 46, "healed");
    if (s->L.n_shades == 0) {
        font(cr, 9, 0);
        line(cr, tx, 380, tw, "no shade could be ranked");
    }
    int ls_shown = 0;
    for (size_t i = 0; i < s->L.n_shades; i++) {
        const smp_match *m = &r->matches[i];
        swatch(s, s->L.bottle[i], m->lab, 1);
        swatch(s, s->L.healed[i], m->healed_lab, 1);
        double y = s->L.bottle[i].y + 10;
        char name[300];
        shade_label(m, name, sizeof name);
        set_grey(cr, 20);
        font(cr, 9.5, 1);
        linef(cr, tx, y, tw, "%d. %s", m->rank, name);
        font(cr, 8.5, 0);
        linef(cr, tx, y + lh, tw, "\xCE\x94" "E00 %.1f, %s", m->delta_e00, m->verdict ? m->verdict : "?");
        linef(cr, tx, y + 2 * lh, tw, "bottle %s, healed %s", m->hex, m->healed_hex);
        if (ls && same_shade(ls, m)) {
            set_grey(cr, 20);
            font(cr, 8.5, 1);
            line(cr, tx, y + 3 * lh, tw, "\xE2\x86\x90 lighter start for the first session");
            ls_shown = 1;
        } else if (m->palette && m->palette[0]) {
            set_grey(cr, 110);
            linef(cr, tx, y + 3 * lh, tw, "palette: %s", m->palette);
        }
    }
    if (ls && !ls_shown) {
        char name[300];
        shade_label(ls, name, sizeof name);
        double y = 366 + 54.0 * (double)s->L.n_shades + 10;
        font(cr, 8.5, 1);
        set_grey(cr, 20);
        linef(cr, MARGIN, y, 340, "Lighter start for the first session: %s, healed %s, \xCE\x94" "E00 %.1f",
              name, ls->healed_hex, ls->delta_e00);
    }
}

/* A small linear congruential generator (Numerical Recipes' constants):
 * the dots are the same on every run and every thread. */
static double next_unit(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return (double)(*state >> 8) / 16777216.0;
}

/* Dots of the healed colour over the skin colour: one impression per cell
 * of a jittered grid, `cell` points apart, `radius` points each. The area
 * around `keep` (the skin probe) stays bare. */
static void dots(sheet *s, smp_report_box b, const double skin[3], const double ink[3], double cell,
                 double radius, uint32_t seed, const smp_report_box *keep)
{
    cairo_t *cr = s->cr;
    set_lab(s, skin);
    fill_box(cr, b);
    cairo_save(cr);
    cairo_rectangle(cr, b.x, b.y, b.w, b.h);
    cairo_clip(cr);
    set_lab(s, ink);
    uint32_t st = seed;
    double jitter = cell / 2 - radius * 0.6;
    for (double cy = b.y + cell / 2; cy < b.y + b.h; cy += cell) {
        for (double cx = b.x + cell / 2; cx < b.x + b.w; cx += cell) {
            double x = cx + (2 * next_unit(&st) - 1) * jitter;
            double y = cy + (2 * next_unit(&st) - 1) * jitter;
            double rr = radius * (0.8 + 0.4 * next_unit(&st));
            if (keep && x + rr + 1.5 > keep->x && x - rr - 1.5 < keep->x + keep->w &&
                y + rr + 1.5 > keep->y && y - rr - 1.5 < keep->y + keep->h)
                continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, x, y, rr, 0, 2 * SMP_PI);
        }
    }
    cairo_fill(cr);
    cairo_restore(cr);
    frame_box(cr, b);
}

/* The skin the dots lie on: the model's skin, else the measured scalp;
 * 0 when neither is known. */
static int preview_skin(const smp_result *r, double skin[3])
{
    if (r->heal.skin_source && strcmp(r->heal.skin_source, "none") != 0 && lab_ok(r->heal.skin_lab)) {
        memcpy(skin, r->heal.skin_lab, 3 * sizeof *skin);
        return 1;
    }
    if (r->scalp.measured && lab_ok(r->scalp.lab)) {
        memcpy(skin, r->scalp.lab, 3 * sizeof *skin);
        return 1;
    }
    return 0;
}

/* Densities: a first session lays a sparse layer and later sessions fill
 * in. Our drawing choice, about 12 % and 33 % of the skin covered (a dot of
 * radius r per cell c covers pi r^2 / c^2): enlarged for a sheet, not to
 * scale with real impressions. */
#define DOT_R 1.5
#define CELL_LIGHT 7.6
#define CELL_FULL 4.6

static void draw_preview(sheet *s)
{
    cairo_t *cr = s->cr;
    const smp_result *r = s->r;
    smp_report_box a = s->L.preview_light, b = s->L.preview_full;
    double skin[3];
    heading(cr, a.x, 344, a.w, "SMP dots preview");
    font(cr, 8.5, 0);
    set_grey(cr, 20);
    if (r->n_matches == 0 || !preview_skin(r, skin)) {
        line(cr, a.x, a.y + 12, a.w, r->n_matches ? "skin colour not known" : "no shade to preview");
        return;
    }
    const smp_match *top = &r->matches[0], *ls = distinct_lighter(r);
    const smp_match *first = ls ? ls : top;
    char name[300];
    shade_label(first, name, sizeof name);
    linef(cr, a.x, a.y - 4, a.w, "First session: %s", name);
    dots(s, a, skin, first->healed_lab, CELL_LIGHT, DOT_R, 0x5eed0001u, NULL);
    shade_label(top, name, sizeof name);
    set_grey(cr, 20);
    font(cr, 8.5, 0);
    linef(cr, b.x, b.y - 4, b.w, "Built up: %s", name);
    dots(s, b, skin, top->healed_lab, CELL_FULL, DOT_R, 0x5eed0002u, &s->L.preview_skin_probe);
    font(cr, 7.5, 0);
    set_grey(cr, 90);
    line(cr, b.x, b.y + b.h + 11, b.w, "healed colour on the client's skin, enlarged");
}

/* ------------------------------------------------------------------ */
/* Notes: mixes, areas, advice, warnings                               */
/* ------------------------------------------------------------------ */

/* One item of a notes list: its text and up to two small swatches. */
typedef struct note {
    char text[600];
    double lab[2][3];
    int n_lab;
} note;

typedef void (*note_fn)(const smp_result *r, size_t i, note *out);

#define NOTE_LH 10.0
#define NOTE_SW 9.0

/* Draws (or measures, draw = 0) a titled list in column b from y down to
 * at most `bottom`. An item that does not fit, and all after it, become
 * "… and N more". Returns the y below what was (or would be) drawn. */
static double notes(sheet *s, smp_report_box b, double y, double bottom, const char *title, size_t n,
                    note_fn get, const char *empty, int draw)
{
    cairo_t *cr = s->cr;
    if (draw)
        heading(cr, b.x, y + 11, b.w, title);
    y += 16;
    font(cr, 8, 0);
    if (n == 0) {
        if (draw) {
            set_grey(cr, 90);
            line(cr, b.x, y + 8, b.w, empty);
        }
        return y + NOTE_LH + 4;
    }
    note *it = malloc(sizeof *it);
    if (!it)
        return y;
    for (size_t i = 0; i < n; i++) {
        memset(it, 0, sizeof *it);
        get(s->r, i, it);
        double indent = it->n_lab * (NOTE_SW + 2) + (it->n_lab ? 2 : 0);
        int lines = wrap(cr, it->text, 0, 0, b.w - indent, NOTE_LH, 4, 0);
        double need = lines * NOTE_LH + 2;
        int more_after = i + 1 < n;
        if (y + need + (more_after ? NOTE_LH : 0) > bottom) {
            if (draw) {
                set_grey(cr, 90);
                linef(cr, b.x, y + 8, b.w, "\xE2\x80\xA6 and %zu more", n - i);
            }
            y += NOTE_LH;
            break;
        }
        if (draw) {
            for (int k = 0; k < it->n_lab; k++)
                swatch(s, (smp_report_box){b.x + k * (NOTE_SW + 2), y, NOTE_SW, NOTE_SW}, it->lab[k], 1);
            set_grey(cr, 20);
            font(cr, 8, 0);
            wrap(cr, it->text, b.x + indent, y + 8, b.w - indent, NOTE_LH, 4, 1);
        }
        y += need;
    }
    free(it);
    return y + 4;
}

static void note_mix(const smp_result *r, size_t i, note *out)
{
    const smp_recipe *m = &r->recipes[i];
    snprintf(out->text, sizeof out->text, "%s: healed %s, \xCE\x94" "E00 %.1f (%s)",
             m->text ? m->text : "?", m->healed_hex, m->delta_e00, m->verdict ? m->verdict : "?");
    memcpy(out->lab[0], m->healed_lab, sizeof out->lab[0]);
    out->n_lab = 1;
}

static void note_area(const smp_result *r, size_t i, note *out)
{
    const smp_area *a = &r->areas[i];
    const smp_result *ar = a->result;
    const char *name = a->name ? a->name : "?";
    if (!ar) {
        snprintf(out->text, sizeof out->text, "%s: not measured", name);
        return;
    }
    char shade[300] = "no shade";
    if (ar->n_matches > 0) {
        char label[280];
        shade_label(&ar->matches[0], label, sizeof label);
        snprintf(shade, sizeof shade, "%s, \xCE\x94" "E00 %.1f", label, ar->matches[0].delta_e00);
        memcpy(out->lab[out->n_lab++], ar->matches[0].healed_lab, sizeof out->lab[0]);
    }
    if (ar->hair.measured && out->n_lab < 2)
        memcpy(out->lab[out->n_lab++], ar->hair.lab, sizeof out->lab[0]);
    if (a->scar)
        snprintf(out->text, sizeof out->text, "%s (scar): %+.1f L* against the scalp around; %s", name,
                 a->scar_delta_l, shade);
    else
        snprintf(out->text, sizeof out->text, "%s: hair %s, skin %s; %s", name,
                 ar->hair.measured ? ar->hair.hex : "not measured",
                 ar->scalp.measured ? ar->scalp.hex : "not measured", shade);
}

static void note_advice(const smp_result *r, size_t i, note *out)
{
    snprintf(out->text, sizeof out->text, "%s", r->guidance[i] ? r->guidance[i] : "");
}

static void note_warning(const smp_result *r, size_t i, note *out)
{
    snprintf(out->text, sizeof out->text, "%s", r->warnings[i] ? r->warnings[i] : "");
}

/* Two titled lists in one column; the first may take the whole column
 * when the second is short, and at most what leaves the second its room
 * (up to half the column) otherwise. */
static void notes_column(sheet *s, smp_report_box b, const char *t1, size_t n1, note_fn f1, const char *e1,
                         const char *t2, size_t n2, note_fn f2, const char *e2)
{
    double bottom = b.y + b.h;
    double need2 = notes(s, b, 0, 1e9, t2, n2, f2, e2, 0);
    double keep2 = fmin(need2, b.h / 2);
    double y = notes(s, b, b.y, bottom - keep2, t1, n1, f1, e1, 1);
    notes(s, b, y, bottom, t2, n2, f2, e2, 1);
}

static void draw_notes(sheet *s)
{
    const smp_result *r = s->r;
    notes_column(s, s->L.notes_left, "Mixes", r->n_recipes, note_mix, "no mix beats the best shade",
                 "Areas", r->n_areas, note_area, "no areas marked");
    notes_column(s, s->L.notes_right, "Advice", r->n_guidance, note_advice, "none", "Warnings",
                 r->n_warnings, note_warning, "none");
}

static void draw_footer(sheet *s)
{
    cairo_t *cr = s->cr;
    font(cr, 7, 0);
    set_grey(cr, 110);
    line(cr, MARGIN, PAGE_H - 28, PAGE_W - 2 * MARGIN,
         "smpmatch " SMP_VERSION ". Colours shown in sRGB. \xCE\x94" "E00 \xE2\x89\xA4 0.8 indistinguishable, "
         "\xE2\x89\xA4 1.8 acceptable, \xE2\x89\xA4 3.5 marginal, above: no good match.");
    line(cr, MARGIN, PAGE_H - 19, PAGE_W - 2 * MARGIN,
         "A photo without a grey card or colour chart can be several \xCE\x94" "E00 off; a screen or "
         "printer shows the swatches only as well as it is calibrated.");
}

/* Draws the whole page on cr (in points). Returns -1 when memory runs out
 * (the photo); cairo's own errors are in cr's status. */
static int draw_sheet(sheet *s, cmsContext ctx, const smp_lab_image *lab, const unsigned char *hair,
                      const unsigned char *scalp, time_t when)
{
    cairo_t *cr = s->cr;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    draw_header(s, when);
    if (draw_photo(s, ctx, lab, hair, scalp) != 0)
        return -1;
    draw_measured(s);
    draw_shades(s);
    draw_preview(s);
    draw_notes(s);
    draw_footer(s);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

/* Where the bytes go: a FILE on the temporary file, and the first write
 * error's errno. */
typedef struct sink {
    FILE *f;
    int write_errno;
    int to_memory;        /* PDF: collect the bytes, tag them, then write */
    smp_sbuf mem;
} sink;

static cairo_status_t sink_cairo(void *closure, const unsigned char *data, unsigned int n)
{
    sink *k = closure;
    if (k->to_memory) {
        smp_sb_put(&k->mem, data, n);
        return k->mem.failed ? CAIRO_STATUS_NO_MEMORY : CAIRO_STATUS_SUCCESS;
    }
    errno = 0;
    if (fwrite(data, 1, n, k->f) != n) {
        if (!k->write_errno)
            k->write_errno = errno ? errno : EIO;
        return CAIRO_STATUS_WRITE_ERROR;
    }
    return CAIRO_STATUS_SUCCESS;
}

typedef struct png_job {
    jmp_buf jump;
    sink *k;
    int failed_write;
} png_job;

static void png_err(png_structp png, png_const_charp msg)
{
    (void)msg;
    png_job *j = png_get_error_ptr(png);
    longjmp(j->jump, 1);
}

static void png_warn(png_structp png, png_const_charp msg)
{
    (void)png, (void)msg; /* the library never prints */
}

static void png_out(png_structp png, png_bytep data, size_t n)
{
    png_job *j = png_get_io_ptr(png);
    errno = 0;
    if (fwrite(data, 1, n, j->k->f) != n) {
        if (!j->k->write_errno)
            j->k->write_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void png_flush_fn(png_structp png)
{
    (void)png;
}

/* Encodes an RGB24 cairo surface as an 8-bit RGB PNG tagged sRGB. Returns
 * 0, or -1 (k->write_errno says when the disk failed; else out of memory). */
static int encode_png(cairo_surface_t *surf, sink *k, unsigned char *row)
{
    png_job job;
    memset(&job, 0, sizeof job);
    job.k = k;
    png_structp png = NULL;
    png_infop info = NULL;
    if (setjmp(job.jump)) {
        png_destroy_write_struct(&png, &info);
        return -1;
    }
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &job, png_err, png_warn);
    if (!png)
        return -1;
    info = png_create_info_struct(png);
    if (!info)
        png_error(png, "out of memory");
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const unsigned char *data = cairo_image_surface_get_data(surf);
    png_set_write_fn(png, &job, png_out, png_flush_fn);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_sRGB_gAMA_and_cHRM(png, info, PNG_sRGB_INTENT_RELATIVE);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *src = (const uint32_t *)(const void *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            row[3 * x] = (unsigned char)(src[x] >> 16);
            row[3 * x + 1] = (unsigned char)(src[x] >> 8);
            row[3 * x + 2] = (unsigned char)src[x];
        }
        png_write_row(png, row);
    }
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

/* 1 for ".pdf", 0 for ".png" (any case), -1 otherwise. */
static int is_pdf(const char *path)
{
    size_t n = strlen(path);
    if (n >= 4 && strcasecmp(path + n - 4, ".pdf") == 0)
        return 1;
    if (n >= 4 && strcasecmp(path + n - 4, ".png") == 0)
        return 0;
    return -1;
}

/* "dir/.name.XXXXXX" for mkstemp, malloc'd. */
static char *temp_name(const char *path)
{
    const char *base = strrchr(path, '/');
    size_t dirlen = base ? (size_t)(base - path) + 1 : 0;
    base = base ? base + 1 : path;
    size_t n = strlen(path) + 16;
    char *t = malloc(n);
    if (t)
        snprintf(t, n, "%.*s.%s.XXXXXX", (int)dirlen, path, base);
    return t;
}

static smp_status cairo_failure(const char *path, cairo_status_t cs, const sink *k, smp_error *err)
{
    if (k->write_errno)
        return smp_fail(err, SMP_E_IO, "%s: %s", path, smp_write_cause(k->write_errno));
    if (cs == CAIRO_STATUS_NO_MEMORY)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory while drawing the sheet", path);
    return smp_fail(err, SMP_E_IO, "%s: the sheet could not be drawn (%s)", path,
                    cairo_status_to_string(cs));
}

/* The last occurrence of `word` in the n bytes at p, or NULL. */
static const unsigned char *find_last(const unsigned char *p, size_t n, const char *word)
{
    size_t w = strlen(word);
    for (size_t i = n >= w ? n - w + 1 : 0; i-- > 0;)
        if (memcmp(p + i, word, w) == 0)
            return p + i;
    return NULL;
}

/* The number after `key` in the trailer (e.g. "/Root 28 0 R" -> 28), or -1. */
static long trailer_number(const unsigned char *trailer, size_t n, const char *key)
{
    const unsigned char *k = find_last(trailer, n, key);
    if (!k)
        return -1;
    char num[24];
    size_t i = 0, at = (size_t)(k - trailer) + strlen(key);
    while (at < n && (trailer[at] == ' ' || trailer[at] == '\n' || trailer[at] == '\r'))
        at++;
    while (at < n && i + 1 < sizeof num && trailer[at] >= '0' && trailer[at] <= '9')
        num[i++] = (char)trailer[at++];
    num[i] = '\0';
    return i ? strtol(num, NULL, 10) : -1;
}

/* Says in the PDF that its colours are sRGB: an OutputIntent with the sRGB
 * ICC profile (ISO 32000-1, 14.11.5), which cairo 1.16 has no API for. It
 * is added as an incremental update (ISO 32000-1, 7.5.6): the profile, the
 * intent, a new version of the catalog that lists it, and a cross-reference
 * section for those three objects pointing back at cairo's. Returns 0; -1
 * when memory runs out; -2 when the PDF is not laid out as cairo writes it. */
static int tag_pdf_srgb(sink *k, cmsContext ctx)
{
    const unsigned char *pdf = (const unsigned char *)k->mem.data;
    size_t n = k->mem.len;
    const unsigned char *trailer = find_last(pdf, n, "trailer");
    const unsigned char *sx = find_last(pdf, n, "startxref");
    if (!trailer || !sx || sx < trailer)
        return -2;
    size_t tn = (size_t)(sx - trailer);
    long size = trailer_number(trailer, tn, "/Size"), root = trailer_number(trailer, tn, "/Root");
    long info = trailer_number(trailer, tn, "/Info");
    long prev = trailer_number(sx, n - (size_t)(sx - pdf), "startxref");
    if (size <= 0 || root <= 0 || prev <= 0)
        return -2;
    /* The catalog's dictionary, without its closing ">>". */
    char head[32];
    snprintf(head, sizeof head, "\n%ld 0 obj", root);
    const unsigned char *obj = find_last(pdf, (size_t)(trailer - pdf), head);
    const unsigned char *end = NULL; /* the catalog's own end: the first "endobj" after it */
    for (const unsigned char *q = obj; q && q + 6 <= trailer && !end; q++)
        if (memcmp(q, "endobj", 6) == 0)
            end = q;
    const unsigned char *open = obj ? find_last(obj, end ? (size_t)(end - obj) : 0, "<<") : NULL;
    const unsigned char *close = end ? find_last(obj, (size_t)(end - obj), ">>") : NULL;
    if (!obj || !end || !open || !close || close < open || open != find_last(obj, (size_t)(close - obj), "<<"))
        return -2; /* a nested dictionary: not cairo's flat catalog */
    const unsigned char *dict = obj + strlen(head);

    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(ctx);
    cmsUInt32Number icc_n = 0;
    unsigned char *icc = NULL;
    if (srgb && cmsSaveProfileToMem(srgb, NULL, &icc_n) && icc_n > 0 && (icc = malloc(icc_n)))
        if (!cmsSaveProfileToMem(srgb, icc, &icc_n)) {
            free(icc);
            icc = NULL;
        }
    if (srgb)
        cmsCloseProfile(srgb);
    if (!icc)
        return -1;
    long profile = size, intent = size + 1;
    smp_sbuf *b = &k->mem;
    /* the catalog as cairo wrote it, then the new entry; copied first, as
     * the buffer may move while it grows */
    size_t dn = (size_t)(close - dict);
    char *catalog = malloc(dn ? dn : 1);
    if (!catalog) {
        free(icc);
        return -1;
    }
    memcpy(catalog, dict, dn);
    smp_sb_put(b, "\n", 1);
    size_t at_catalog = b->len;
    smp_sb_printf(b, "%ld 0 obj", root);
    smp_sb_put(b, catalog, dn);
    free(catalog);
    smp_sb_printf(b, "   /OutputIntents [ %ld 0 R ]\n>>\nendobj\n", intent);
    size_t at_profile = b->len;
    smp_sb_printf(b, "%ld 0 obj\n<< /N 3 /Length %u >>\nstream\n", profile, (unsigned)icc_n);
    smp_sb_put(b, icc, icc_n);
    free(icc);
    smp_sb_puts(b, "\nendstream\nendobj\n");
    size_t at_intent = b->len;
    smp_sb_printf(b,
                  "%ld 0 obj\n<< /Type /OutputIntent /S /GTS_PDFA1\n"
                  "   /OutputConditionIdentifier (sRGB IEC61966-2.1)\n"
                  "   /RegistryName (http://www.color.org)\n"
                  "   /Info (sRGB IEC61966-2.1)\n   /DestOutputProfile %ld 0 R\n>>\nendobj\n",
                  intent, profile);
    size_t at_xref = b->len;
    /* Entries are exactly 20 bytes: 10-digit offset, 5-digit generation,
     * "n", and a two-byte end of line (ISO 32000-1, 7.5.4). */
    smp_sb_printf(b, "xref\n%ld 1\n%010zu 00000 n \n%ld 2\n%010zu 00000 n \n%010zu 00000 n \n", root,
                  at_catalog, profile, at_profile, at_intent);
    smp_sb_printf(b, "trailer\n<< /Size %ld\n   /Root %ld 0 R\n", size + 2, root);
    if (info > 0)
        smp_sb_printf(b, "   /Info %ld 0 R\n", info);
    smp_sb_printf(b, "   /Prev %ld\n>>\nstartxref\n%zu\n%%%%EOF\n", prev, at_xref);
    return b->failed ? -1 : 0;
}

/* Draws the page into k->f as PDF or PNG. */
static smp_status render(const char *path, int pdf, sheet *s, cmsContext ctx, const smp_lab_image *lab,
                         const unsigned char *hair, const unsigned char *scalp, time_t when, sink *k,
                         smp_error *err)
{
    cairo_surface_t *surf;
    int tagged = 0;
    int pw = (int)ceil(PAGE_W * PNG_SCALE), ph = (int)ceil(PAGE_H * PNG_SCALE);
    if (pdf) {
        surf = cairo_pdf_surface_create_for_stream(sink_cairo, k, PAGE_W, PAGE_H);
        /* PDF 1.4: a classic cross-reference table and trailer, the layout
         * tag_pdf_srgb appends to (1.5 allows cross-reference streams). */
        cairo_pdf_surface_restrict_to_version(surf, CAIRO_PDF_VERSION_1_4);
    } else {
        surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, pw, ph);
    }
    cairo_t *cr = cairo_create(surf);
    if (!pdf)
        cairo_scale(cr, PNG_SCALE, PNG_SCALE);
    s->cr = cr;
    smp_status st = SMP_OK;
    int drew = cairo_status(cr) == CAIRO_STATUS_SUCCESS ? draw_sheet(s, ctx, lab, hair, scalp, when) : 0;
    cairo_status_t cs = cairo_status(cr);
    if (drew != 0)
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory while drawing the photo", path);
    else if (cs != CAIRO_STATUS_SUCCESS)
        st = cairo_failure(path, cs, k, err);
    cairo_destroy(cr);
    s->cr = NULL;
    if (st == SMP_OK && pdf) {
        cairo_surface_finish(surf); /* the PDF's last bytes are written here */
        cs = cairo_surface_status(surf);
        if (cs != CAIRO_STATUS_SUCCESS || k->write_errno)
            st = cairo_failure(path, cs, k, err);
        else if (k->mem.failed || (tagged = tag_pdf_srgb(k, ctx)) == -1)
            st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory while writing the sheet", path);
        /* tagged == -2: cairo wrote a layout this code does not know (a
         * newer cairo); the sheet is still right, only untagged (DeviceRGB,
         * which readers show as sRGB): better than no sheet. */
        else if (fwrite(k->mem.data, 1, k->mem.len, k->f) != k->mem.len)
            st = smp_fail(err, SMP_E_IO, "%s: %s", path, smp_write_cause(errno ? errno : EIO));
    } else if (st == SMP_OK) {
        cairo_surface_flush(surf);
        unsigned char *row = malloc((size_t)pw * 3);
        if (!row)
            st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory", path);
        else if (encode_png(surf, k, row) != 0)
            st = k->write_errno ? smp_fail(err, SMP_E_IO, "%s: %s", path, smp_write_cause(k->write_errno))
                                : smp_fail(err, SMP_E_NOMEM, "%s: out of memory while encoding", path);
        free(row);
    }
    cairo_surface_destroy(surf);
    return st;
}

smp_status smp_module_report_write(const char *path, const smp_result *r, const smp_lab_image *lab,
                                   const unsigned char *hair_mask, const unsigned char *scalp_mask,
                                   time_t when, smp_error *err)
{
    if (!path || !path[0] || !r)
        return smp_fail(err, SMP_E_ARG, "%s: no sheet path or no result", path ? path : "(null)");
    int pdf = is_pdf(path);
    if (pdf < 0)
        return smp_fail(err, SMP_E_ARG, "%s: a consult sheet must end in .pdf or .png", path);

    sheet s;
    memset(&s, 0, sizeof s);
    s.r = r;
    smp_report_layout_for(r, lab ? lab->width : 0, lab ? lab->height : 0, &s.L);
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsHPROFILE lp = ctx ? cmsCreateLab4ProfileTHR(ctx, NULL) : NULL;
    cmsHPROFILE sp = ctx ? cmsCreate_sRGBProfileTHR(ctx) : NULL;
    s.swatch_xf = (lp && sp) ? cmsCreateTransformTHR(ctx, lp, TYPE_Lab_DBL, sp, TYPE_RGB_8,
                                                     INTENT_RELATIVE_COLORIMETRIC, 0)
                             : NULL;
    smp_status st = SMP_OK;
    char *tmp = NULL;
    if (!s.swatch_xf) {
        st = smp_fail(err, SMP_E_COLOUR, "%s: colour management failed (LittleCMS)", path);
        goto out;
    }
    tmp = temp_name(path);
    if (!tmp) {
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory", path);
        goto out;
    }
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = smp_fail(err, SMP_E_IO, "%s: %s", path, smp_write_cause(errno));
        goto out;
    }
    /* mkstemp makes the file private (0600); a sheet is for anyone who may
     * read the folder, like a file made with fopen under umask 022. */
    (void)fchmod(fd, 0644);
    sink k = {.f = fdopen(fd, "wb"), .to_memory = pdf};
    if (!k.f) {
        close(fd);
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory", path);
    } else {
        st = render(path, pdf, &s, ctx, lab, hair_mask, scalp_mask, when, &k, err);
        free(k.mem.data);
        errno = 0;
        int closed = fclose(k.f); /* buffered bytes reach the disk here: a full disk shows now */
        if (st == SMP_OK && closed != 0)
            st = smp_fail(err, SMP_E_IO, "%s: %s", path, smp_write_cause(errno ? errno : EIO));
        if (st == SMP_OK && rename(tmp, path) != 0)
            st = smp_fail(err, SMP_E_IO, "%s: cannot put the sheet in place (%s)", path, smp_write_cause(errno));
    }
    if (st != SMP_OK)
        unlink(tmp);
out:
    free(tmp);
    if (s.swatch_xf)
        cmsDeleteTransform(s.swatch_xf);
    if (lp)
        cmsCloseProfile(lp);
    if (sp)
        cmsCloseProfile(sp);
    if (ctx)
        cmsDeleteContext(ctx);
    return st;
}
