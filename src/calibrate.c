/*
 * calibrate.c: white balance on a neutral patch (--white-roi).
 *
 * In:  a Lab D50 image, a rectangle on a grey card or white patch.
 * Out: the image adapted so that the patch is neutral (a* = b* = 0) at its
 *      own L*, and the patch as photographed, its spread and clipping.
 * Not: colour-chart correction (chart.c).
 *
 * The adaptation is Bradford's (Lam 1985; the CAT of ICC.1 Annex E), which
 * LittleCMS implements in cmsAdaptToIlluminant. It is linear in XYZ, so we
 * ask LittleCMS to adapt the three unit vectors once and apply the
 * resulting matrix to every pixel.
 */
#include "calibrate.h"

#include <lcms2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "team.h"
#include "util.h"

void smp_bradford_to_d50(const double white[3], double m[9])
{
    /* Normalise the patch to Y = 1: it then maps to the D50 white times
     * its own Y, i.e. a neutral of the same lightness. */
    double y = white[1] > 1e-9 ? white[1] : 1e-9;
    cmsCIEXYZ src = {white[0] / y, 1.0, white[2] / y};
    for (int col = 0; col < 3; col++) {
        cmsCIEXYZ unit = {col == 0, col == 1, col == 2}, res;
        if (!cmsAdaptToIlluminant(&res, &src, cmsD50_XYZ(), &unit)) {
            /* Degenerate white (LittleCMS refuses): identity. */
            res.X = col == 0;
            res.Y = col == 1;
            res.Z = col == 2;
        }
        m[0 + col] = res.X;
        m[3 + col] = res.Y;
        m[6 + col] = res.Z;
    }
}

smp_status smp_calibrate_white(smp_lab_image *img, smp_rect roi, smp_calibration *cal)
{
    const unsigned char clipped = SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;
    size_t total = (size_t)roi.w * roi.h, used = 0, nclip = 0;
    float *ch[3];
    for (int c = 0; c < 3; c++)
        ch[c] = malloc(total * sizeof(float));
    if (!ch[0] || !ch[1] || !ch[2]) {
        for (int c = 0; c < 3; c++)
            free(ch[c]);
        return SMP_E_NOMEM;
    }
    for (int y = roi.y; y < roi.y + roi.h; y++) {
        for (int x = roi.x; x < roi.x + roi.w; x++) {
            size_t i = (size_t)y * img->width + x;
            if (img->flags[i] & SMP_PX_TRANSPARENT)
                continue;
            if (img->flags[i] & clipped) {
                nclip++;
                continue;
            }
            for (int c = 0; c < 3; c++)
                ch[c][used] = img->lab[3 * i + c];
            used++;
        }
    }
    cal->clipped_share = (used + nclip) ? (double)nclip / (double)(used + nclip) : 0.0;
    if (used == 0) {
        for (int c = 0; c < 3; c++)
            free(ch[c]);
        return SMP_E_ARG;
    }
    /* The patch colour is the per-channel median: robust to dust and to a
     * rectangle drawn a little over the card's edge. */
    double patch[3];
    for (int c = 0; c < 3; c++) {
        qsort(ch[c], used, sizeof(float), smp_cmp_float);
        patch[c] = ch[c][used / 2];
    }
    for (int c = 0; c < 3; c++)
        free(ch[c]);
    memcpy(cal->patch_lab, patch, sizeof patch);
    cal->roi = roi;

    /* Spread: median ΔE00 of the patch's pixels from its colour. */
    float *d = malloc(used * sizeof *d);
    if (!d)
        return SMP_E_NOMEM;
    size_t k = 0;
    for (int y = roi.y; y < roi.y + roi.h; y++)
        for (int x = roi.x; x < roi.x + roi.w; x++) {
            size_t i = (size_t)y * img->width + x;
            if (img->flags[i] & (clipped | SMP_PX_TRANSPARENT))
                continue;
            double p[3] = {img->lab[3 * i], img->lab[3 * i + 1], img->lab[3 * i + 2]};
            d[k++] = (float)smp_de00(p, patch);
        }
    qsort(d, k, sizeof *d, smp_cmp_float);
    cal->spread_de = d[k / 2];
    free(d);

    double white[3], m[9];
    smp_lab_to_xyz(patch, white);
    smp_bradford_to_d50(white, m);
    size_t npx = (size_t)img->width * img->height;
    for (size_t i = 0; i < npx; i++) {
        float *p = img->lab + 3 * i;
        double lab[3] = {p[0], p[1], p[2]}, xyz[3], out[3];
        smp_lab_to_xyz(lab, xyz);
        for (int r = 0; r < 3; r++)
            out[r] = m[3 * r] * xyz[0] + m[3 * r + 1] * xyz[1] + m[3 * r + 2] * xyz[2];
        smp_xyz_to_lab(out, lab);
        p[0] = (float)lab[0];
        p[1] = (float)lab[1];
        p[2] = (float)lab[2];
    }
    cal->method = "white-roi";
    return SMP_OK;
}

/* The highlights' a* and b*, each part of the image (team.h) counting
 * its own, then writing them after the upper part's. */
typedef struct highlights {
    const smp_lab_image *img;
    double above_l;
    size_t count[SMP_PARTS];
    float *a, *b;
} highlights;

static int is_highlight(const smp_lab_image *img, size_t i, double above_l)
{
    const unsigned char bad = SMP_PX_TRANSPARENT | SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;
    return !(img->flags[i] & bad) && img->lab[3 * i] > above_l;
}

static void count_part(void *arg, int part)
{
    highlights *h = arg;
    size_t from, to, k = 0;
    smp_part_range((size_t)h->img->width * h->img->height, part, &from, &to);
    for (size_t i = from; i < to; i++)
        k += is_highlight(h->img, i, h->above_l);
    h->count[part] = k;
}

static void take_part(void *arg, int part)
{
    highlights *h = arg;
    size_t from, to, m = part ? h->count[0] : 0;
    smp_part_range((size_t)h->img->width * h->img->height, part, &from, &to);
    for (size_t i = from; i < to; i++)
        if (is_highlight(h->img, i, h->above_l)) {
            h->a[m] = h->img->lab[3 * i + 1];
            h->b[m] = h->img->lab[3 * i + 2];
            m++;
        }
}

double smp_highlight_chroma(const smp_lab_image *img, double above_l, size_t *n)
{
    size_t npx = (size_t)img->width * img->height;
    highlights h = {.img = img, .above_l = above_l};
    *n = 0;
    smp_team_split(img->team, count_part, &h);
    size_t k = h.count[0] + h.count[1];
    if (k < SMP_HIGHLIGHT_MIN || k * SMP_HIGHLIGHT_SHARE < npx)
        return -1;
    h.a = malloc(k * sizeof *h.a);
    h.b = malloc(k * sizeof *h.b);
    if (!h.a || !h.b) {
        free(h.a);
        free(h.b);
        return -1;
    }
    smp_team_split(img->team, take_part, &h);
    qsort(h.a, k, sizeof *h.a, smp_cmp_float);
    qsort(h.b, k, sizeof *h.b, smp_cmp_float);
    double c = hypot(h.a[k / 2], h.b[k / 2]);
    free(h.a);
    free(h.b);
    *n = k;
    return c;
}
