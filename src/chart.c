/*
 * chart.c: colour correction from a ColorChecker Classic 24 in the photo
 * (--chart).
 *
 * In:  a Lab D50 image and the four outer corners of the chart's 6x4 patch
 *      grid, in any order.
 * Out: the image corrected so that the patches take their published D50
 *      values, the fit's figures (smp_calibration) and warnings.
 * Not: finding the chart without corners, a grey card (calibrate.c), any
 *      correction of the photo's geometry.
 *
 * Each patch is sampled in the middle half of its cell (per-channel median
 * in linear light), so a corner a few pixels off, the gaps between patches
 * and dust do not matter. A camera's rendering is undone in two steps, in
 * linear sRGB (D50-adapted, from LittleCMS's own sRGB profile):
 *   1. per channel, a power law a * t^p through the six neutral patches
 *      undoes a tone curve or gamma other than the file's (a pure gamma
 *      change is undone exactly, a gentle S-curve approximately);
 *   2. a 3x3 matrix (or a root-polynomial of degree 2, Finlayson,
 *      Mackiewicz & Hurlbert 2015, IEEE TIP 24(5):1460, when it does
 *      measurably better) from those values to XYZ, fitted by weighted
 *      least squares over the unclipped patches. The weights, Y^(-4/3),
 *      make an error count as it would in L* (dL* ~ Y^(-2/3) dY).
 * The chart's orientation is the one of the 8 (4 turns, mirrored or not)
 * whose fit leaves the smallest mean ΔE00: a wrong one puts the neutral row
 * or the colours in the wrong places and fits far worse.
 */
#include "chart.h"

#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* ColorChecker Classic 24, D50 CIELAB as distributed in ArgyllCMS's
 * ref/ColorChecker.cie ("from Gretag Macbeth reference", 2008); the same
 * values as tests/data/colorchecker24.csv. */
static const smp_chart_patch reference[SMP_CHART_PATCHES] = {
    {"A01", "dark skin", {37.99, 13.56, 14.06}},
    {"A02", "light skin", {65.71, 18.13, 17.81}},
    {"A03", "blue sky", {49.93, -4.88, -21.93}},
    {"A04", "foliage", {43.14, -13.10, 21.91}},
    {"A05", "blue flower", {55.11, 8.84, -25.40}},
    {"A06", "bluish green", {70.72, -33.40, -0.20}},
    {"B01", "orange", {62.66, 36.07, 57.10}},
    {"B02", "purplish blue", {40.02, 10.41, -45.96}},
    {"B03", "moderate red", {51.12, 48.24, 16.25}},
    {"B04", "purple", {30.33, 22.98, -21.59}},
    {"B05", "yellow green", {72.53, -23.71, 57.26}},
    {"B06", "orange yellow", {71.94, 19.36, 67.86}},
    {"C01", "blue", {28.78, 14.18, -50.30}},
    {"C02", "green", {55.26, -38.34, 31.37}},
    {"C03", "red", {42.10, 53.38, 28.19}},
    {"C04", "yellow", {81.73, 4.04, 79.82}},
    {"C05", "magenta", {51.94, 49.99, -14.57}},
    {"C06", "cyan", {51.04, -28.63, -28.64}},
    {"D01", "white 9.5", {96.54, -0.43, 1.19}},
    {"D02", "neutral 8", {81.26, -0.64, -0.34}},
    {"D03", "neutral 6.5", {66.77, -0.73, -0.50}},
    {"D04", "neutral 5", {50.87, -0.15, -0.27}},
    {"D05", "neutral 3.5", {35.66, -0.42, -1.23}},
    {"D06", "black 2", {20.46, -0.08, -0.97}},
};

#define COLS 6
#define ROWS 4
#define FIRST_NEUTRAL 18 /* D01 .. D06 */

/* A patch is left out when more than 2 % of its sampled pixels are clipped
 * (as for the white patch: its true colour is lost) or fewer than 4 are
 * usable. */
#define PATCH_MAX_CLIPPED 0.02
#define PATCH_MIN_PIXELS 4
/* The sampling window: the middle half of each cell, in both directions. */
#define WINDOW_MARGIN 0.25
/* Below 12 usable patches the 9 + 6 numbers of the fit are barely
 * determined; the root-polynomial (18 + 6) needs 20 to be judged. */
#define MIN_PATCHES 12
#define MIN_PATCHES_ROOTPOLY 20
/* Power-law exponents outside this range are no camera's tone curve (sRGB
 * against gamma 1.0 or 3.0 at the extremes): that orientation is wrong. */
#define MIN_EXPONENT 0.33
#define MAX_EXPONENT 3.0
/* No orientation fits: a mean over 10 ΔE00 even for the best, and nothing
 * is applied. On our rendered charts the right orientation fits to about
 * 1 and the wrong ones to 15 and more (tests/test_chart.c prints them). */
#define CHART_NO_FIT 10.0

const smp_chart_patch *smp_chart_reference(void)
{
    return reference;
}

/* ------------------------------------------------------------------ */
/* Small linear algebra                                                */
/* ------------------------------------------------------------------ */

/* Solves a x = b in place (a: n x n row-major, b: n) by Gaussian
 * elimination with partial pivoting. Returns -1 when a is singular. */
static int solve(double *a, double *b, int n)
{
    for (int c = 0; c < n; c++) {
        int piv = c;
        for (int r = c + 1; r < n; r++)
            if (fabs(a[r * n + c]) > fabs(a[piv * n + c]))
                piv = r;
        if (fabs(a[piv * n + c]) < 1e-14)
            return -1;
        if (piv != c) {
            for (int k = 0; k < n; k++) {
                double t = a[c * n + k];
                a[c * n + k] = a[piv * n + k];
                a[piv * n + k] = t;
            }
            double t = b[c];
            b[c] = b[piv];
            b[piv] = t;
        }
        for (int r = c + 1; r < n; r++) {
            double f = a[r * n + c] / a[c * n + c];
            for (int k = c; k < n; k++)
                a[r * n + k] -= f * a[c * n + k];
            b[r] -= f * b[c];
        }
    }
    for (int r = n - 1; r >= 0; r--) {
        double s = b[r];
        for (int k = r + 1; k < n; k++)
            s -= a[r * n + k] * b[k];
        b[r] = s / a[r * n + r];
    }
    return 0;
}

static void mat3_apply(const double m[9], const double v[3], double out[3])
{
    for (int r = 0; r < 3; r++)
        out[r] = m[3 * r] * v[0] + m[3 * r + 1] * v[1] + m[3 * r + 2] * v[2];
}

static int mat3_inverse(const double m[9], double out[9])
{
    double det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) +
                 m[2] * (m[3] * m[7] - m[4] * m[6]);
    if (fabs(det) < 1e-18)
        return -1;
    out[0] = (m[4] * m[8] - m[5] * m[7]) / det;
    out[1] = (m[2] * m[7] - m[1] * m[8]) / det;
    out[2] = (m[1] * m[5] - m[2] * m[4]) / det;
    out[3] = (m[5] * m[6] - m[3] * m[8]) / det;
    out[4] = (m[0] * m[8] - m[2] * m[6]) / det;
    out[5] = (m[2] * m[3] - m[0] * m[5]) / det;
    out[6] = (m[3] * m[7] - m[4] * m[6]) / det;
    out[7] = (m[1] * m[6] - m[0] * m[7]) / det;
    out[8] = (m[0] * m[4] - m[1] * m[3]) / det;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Geometry                                                            */
/* ------------------------------------------------------------------ */

/* The homography h (row-major 3x3, h[8] = 1) taking the four points src to
 * dst (x0,y0, .. x3,y3). Returns -1 when three of them lie on a line. */
static int homography(const double src[8], const double dst[8], double h[9])
{
    double a[64], b[8];
    for (int i = 0; i < 4; i++) {
        double u = src[2 * i], v = src[2 * i + 1], x = dst[2 * i], y = dst[2 * i + 1];
        double r0[8] = {u, v, 1, 0, 0, 0, -u * x, -v * x};
        double r1[8] = {0, 0, 0, u, v, 1, -u * y, -v * y};
        memcpy(a + 16 * i, r0, sizeof r0);
        memcpy(a + 16 * i + 8, r1, sizeof r1);
        b[2 * i] = x;
        b[2 * i + 1] = y;
    }
    if (solve(a, b, 8) != 0)
        return -1;
    memcpy(h, b, sizeof b);
    h[8] = 1.0;
    return 0;
}

static void map_point(const double h[9], double u, double v, double *x, double *y)
{
    double w = h[6] * u + h[7] * v + h[8];
    *x = (h[0] * u + h[1] * v + h[2]) / w;
    *y = (h[3] * u + h[4] * v + h[5]) / w;
}

/* The corners in convex order (by angle around their centre: clockwise on
 * the screen, where y grows downwards), with order[i] the index of the
 * given corner. Returns -1 when they do not make a convex four-sided shape,
 * with *area its area. */
static int convex_order(const double c[8], double q[8], int order[4], double *area)
{
    double cx = (c[0] + c[2] + c[4] + c[6]) / 4.0, cy = (c[1] + c[3] + c[5] + c[7]) / 4.0;
    double ang[4];
    for (int i = 0; i < 4; i++) {
        ang[i] = atan2(c[2 * i + 1] - cy, c[2 * i] - cx);
        order[i] = i;
    }
    for (int i = 1; i < 4; i++) /* insertion sort of four */
        for (int k = i; k > 0 && ang[order[k]] < ang[order[k - 1]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    for (int i = 0; i < 4; i++) {
        q[2 * i] = c[2 * order[i]];
        q[2 * i + 1] = c[2 * order[i] + 1];
    }
    /* Convex: every turn the same way, none straight. The shoelace sum is
     * the area. */
    double sum = 0;
    int pos = 0, neg = 0;
    for (int i = 0; i < 4; i++) {
        const double *p0 = q + 2 * i, *p1 = q + 2 * ((i + 1) % 4), *p2 = q + 2 * ((i + 2) % 4);
        double cross = (p1[0] - p0[0]) * (p2[1] - p1[1]) - (p1[1] - p0[1]) * (p2[0] - p1[0]);
        pos += cross > 1e-9;
        neg += cross < -1e-9;
        sum += p0[0] * p1[1] - p1[0] * p0[1];
    }
    *area = fabs(sum) / 2.0;
    return (pos == 4 || neg == 4) ? 0 : -1;
}

/* The four points for orientation o (0..7): the given corners, in convex
 * order, starting at corner o & 3 and going one way round or the other. */
static void orient(const double q[8], int o, double p[8], int which[4], const int order[4])
{
    int start = o & 3, dir = (o & 4) ? 3 : 1;
    for (int i = 0; i < 4; i++) {
        int k = (start + dir * i) % 4;
        p[2 * i] = q[2 * k];
        p[2 * i + 1] = q[2 * k + 1];
        which[i] = order[k];
    }
}

/* ------------------------------------------------------------------ */
/* Colour spaces                                                       */
/* ------------------------------------------------------------------ */

/* Linear sRGB (D50-adapted) <-> XYZ D50, from the colorants of LittleCMS's
 * built-in sRGB profile (made in a context of our own, as colour.c does:
 * nothing shared between threads). */
typedef struct basis {
    double to_xyz[9], from_xyz[9];
} basis;

static int make_basis(basis *b)
{
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsHPROFILE srgb = ctx ? cmsCreate_sRGBProfileTHR(ctx) : NULL;
    if (!srgb) {
        if (ctx)
            cmsDeleteContext(ctx);
        return -1;
    }
    static const cmsTagSignature tags[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag,
                                            cmsSigBlueColorantTag};
    int rc = 0;
    for (int c = 0; c < 3 && rc == 0; c++) {
        const cmsCIEXYZ *v = cmsReadTag(srgb, tags[c]);
        if (!v) {
            rc = -1;
            break;
        }
        b->to_xyz[c] = v->X;
        b->to_xyz[3 + c] = v->Y;
        b->to_xyz[6 + c] = v->Z;
    }
    cmsCloseProfile(srgb);
    cmsDeleteContext(ctx);
    return rc == 0 ? mat3_inverse(b->to_xyz, b->from_xyz) : -1;
}

static void lab_to_rgb(const basis *b, const double lab[3], double rgb[3])
{
    double xyz[3];
    smp_lab_to_xyz(lab, xyz);
    mat3_apply(b->from_xyz, xyz, rgb);
}

/* ------------------------------------------------------------------ */
/* Sampling                                                            */
/* ------------------------------------------------------------------ */

typedef struct patch_sample {
    double rgb[3];  /* per-channel median, linear sRGB */
    size_t used, clipped;
    double spread;  /* median ΔE00 of its pixels from its colour */
    int ok;         /* usable in the fit */
} patch_sample;

/* Samples the middle half of cell (col, row) of the grid mapped by h (grid
 * units: one per patch). With `spread`, also its spread. */
static smp_status sample_patch(const smp_lab_image *img, const basis *bs, const double h[9],
                               const double hinv[9], int col, int row, int spread,
                               patch_sample *s)
{
    const unsigned char clip = SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;
    double u0 = col + WINDOW_MARGIN, u1 = col + 1 - WINDOW_MARGIN;
    double v0 = row + WINDOW_MARGIN, v1 = row + 1 - WINDOW_MARGIN;
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int k = 0; k < 4; k++) {
        double x, y;
        map_point(h, (k & 1) ? u1 : u0, (k & 2) ? v1 : v0, &x, &y);
        x0 = fmin(x0, x);
        y0 = fmin(y0, y);
        x1 = fmax(x1, x);
        y1 = fmax(y1, y);
    }
    /* Clamped to the image before the conversion to int. */
    int ix0 = (int)fmin(img->width, fmax(0, floor(x0)));
    int iy0 = (int)fmin(img->height, fmax(0, floor(y0)));
    int ix1 = (int)fmax(-1, fmin(img->width - 1, ceil(x1)));
    int iy1 = (int)fmax(-1, fmin(img->height - 1, ceil(y1)));
    memset(s, 0, sizeof *s);
    if (ix1 < ix0 || iy1 < iy0)
        return SMP_OK;
    size_t box = (size_t)(ix1 - ix0 + 1) * (size_t)(iy1 - iy0 + 1);
    float *v = malloc(box * 4 * sizeof *v);
    size_t *idx = malloc(box * sizeof *idx);
    if (!v || !idx) {
        free(v);
        free(idx);
        return SMP_E_NOMEM;
    }
    size_t n = 0;
    for (int y = iy0; y <= iy1; y++)
        for (int x = ix0; x <= ix1; x++) {
            double u, w;
            map_point(hinv, x + 0.5, y + 0.5, &u, &w);
            if (u < u0 || u >= u1 || w < v0 || w >= v1)
                continue;
            size_t i = (size_t)y * (size_t)img->width + (size_t)x;
            if (img->flags[i] & SMP_PX_TRANSPARENT)
                continue;
            if (img->flags[i] & clip) {
                s->clipped++;
                continue;
            }
            double lab[3] = {img->lab[3 * i], img->lab[3 * i + 1], img->lab[3 * i + 2]}, rgb[3];
            lab_to_rgb(bs, lab, rgb);
            for (int c = 0; c < 3; c++)
                v[c * box + n] = (float)rgb[c];
            idx[n++] = i;
        }
    s->used = n;
    if (n > 0) {
        for (int c = 0; c < 3; c++)
            s->rgb[c] = smp_select_float(v + c * box, n, n / 2);
        if (spread) {
            double xyz[3], centre[3];
            mat3_apply(bs->to_xyz, s->rgb, xyz);
            smp_xyz_to_lab(xyz, centre);
            float *d = v + 3 * box;
            for (size_t k = 0; k < n; k++) {
                const float *p = img->lab + 3 * idx[k];
                double lab[3] = {p[0], p[1], p[2]};
                d[k] = (float)smp_de00(lab, centre);
            }
            s->spread = smp_select_float(d, n, n / 2);
        }
    }
    s->ok = n >= PATCH_MIN_PIXELS &&
            (double)s->clipped <= PATCH_MAX_CLIPPED * (double)(s->clipped + n);
    free(v);
    free(idx);
    return SMP_OK;
}

/* Samples all 24 patches for the grid corners p (A01, A06, D06, D01). */
static smp_status sample_chart(const smp_lab_image *img, const basis *bs, const double p[8],
                               int spread, patch_sample s[SMP_CHART_PATCHES])
{
    static const double grid[8] = {0, 0, COLS, 0, COLS, ROWS, 0, ROWS};
    double h[9], hinv[9];
    if (homography(grid, p, h) != 0 || mat3_inverse(h, hinv) != 0) {
        for (int k = 0; k < SMP_CHART_PATCHES; k++)
            memset(&s[k], 0, sizeof s[k]);
        return SMP_OK;
    }
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        smp_status st = sample_patch(img, bs, h, hinv, k % COLS, k / COLS, spread, &s[k]);
        if (st != SMP_OK)
            return st;
    }
    return SMP_OK;
}

/* ------------------------------------------------------------------ */
/* The fit                                                             */
/* ------------------------------------------------------------------ */

typedef struct model {
    double gain[3], expo[3]; /* per channel: measured = gain * linear^expo */
    int terms;               /* 3: matrix; 6: root-polynomial of degree 2 */
    double m[3][6];          /* XYZ = m * terms */
} model;

/* The reference patches in XYZ and linear sRGB, and the fit's weights. */
typedef struct targets {
    double xyz[SMP_CHART_PATCHES][3], rgb[SMP_CHART_PATCHES][3], weight[SMP_CHART_PATCHES];
} targets;

static void make_targets(const basis *bs, targets *t)
{
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        smp_lab_to_xyz(reference[k].lab, t->xyz[k]);
        mat3_apply(bs->from_xyz, t->xyz[k], t->rgb[k]);
        t->weight[k] = pow(fmax(t->xyz[k][1], 0.01), -4.0 / 3.0);
    }
}

/* Step 1: per channel, log m = log gain + expo log t over the usable
 * neutral patches. Fewer than 3: no tone correction (gain 1, expo 1).
 * Returns -1 when the exponent is no camera's. */
static int fit_tone(const patch_sample s[], const targets *t, model *md)
{
    for (int c = 0; c < 3; c++) {
        double sx = 0, sy = 0, sxx = 0, sxy = 0;
        int n = 0;
        for (int k = FIRST_NEUTRAL; k < SMP_CHART_PATCHES; k++) {
            if (!s[k].ok || s[k].rgb[c] <= 1e-5 || t->rgb[k][c] <= 1e-5)
                continue;
            double x = log(t->rgb[k][c]), y = log(s[k].rgb[c]);
            sx += x;
            sy += y;
            sxx += x * x;
            sxy += x * y;
            n++;
        }
        double var = sxx - sx * sx / (n ? n : 1);
        if (n < 3 || var < 1e-6) {
            md->gain[c] = md->expo[c] = 1.0;
            continue;
        }
        double p = (sxy - sx * sy / n) / var;
        if (!(p >= MIN_EXPONENT && p <= MAX_EXPONENT))
            return -1;
        md->expo[c] = p;
        md->gain[c] = exp((sy - p * sx) / n);
    }
    return 0;
}

/* The fit's inputs for a measured linear colour: the tone curve undone
 * (sign kept, so that noise below black stays continuous), then the
 * terms. */
static void features(const model *md, const double rgb[3], double f[6])
{
    double l[3];
    for (int c = 0; c < 3; c++) {
        double v = rgb[c] / md->gain[c];
        l[c] = v >= 0 ? pow(v, 1.0 / md->expo[c]) : -pow(-v, 1.0 / md->expo[c]);
    }
    f[0] = l[0];
    f[1] = l[1];
    f[2] = l[2];
    /* Root-polynomial degree 2 (Finlayson et al. 2015, eq. 7): the square
     * roots of the products keep the fit exposure-invariant. */
    f[3] = sqrt(fmax(l[0], 0) * fmax(l[1], 0));
    f[4] = sqrt(fmax(l[1], 0) * fmax(l[2], 0));
    f[5] = sqrt(fmax(l[0], 0) * fmax(l[2], 0));
}

static void predict(const model *md, const double rgb[3], double xyz[3])
{
    double f[6];
    features(md, rgb, f);
    for (int r = 0; r < 3; r++) {
        xyz[r] = 0;
        for (int k = 0; k < md->terms; k++)
            xyz[r] += md->m[r][k] * f[k];
    }
}

/* Step 2: weighted least squares over the usable patches but `skip`
 * (-1: none). Returns -1 when the patches do not determine the fit. */
static int fit_map(const patch_sample s[], const targets *t, int skip, model *md)
{
    int n = md->terms;
    double ata[36] = {0}, atb[3][6] = {{0}};
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        if (!s[k].ok || k == skip)
            continue;
        double f[6], w = t->weight[k];
        features(md, s[k].rgb, f);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++)
                ata[i * n + j] += w * f[i] * f[j];
            for (int r = 0; r < 3; r++)
                atb[r][i] += w * f[i] * t->xyz[k][r];
        }
    }
    for (int r = 0; r < 3; r++) {
        double a[36];
        memcpy(a, ata, sizeof a);
        if (solve(a, atb[r], n) != 0)
            return -1;
        memcpy(md->m[r], atb[r], (size_t)n * sizeof(double));
    }
    return 0;
}

static double patch_de(const model *md, const patch_sample *s, int k)
{
    double xyz[3], lab[3];
    predict(md, s->rgb, xyz);
    smp_xyz_to_lab(xyz, lab);
    return smp_de00(lab, reference[k].lab);
}

/* Mean ΔE00 over the usable patches, in sample; INFINITY when unfitted. */
static double fit_all(const patch_sample s[], const targets *t, int terms, model *md)
{
    md->terms = terms;
    if (fit_tone(s, t, md) != 0 || fit_map(s, t, -1, md) != 0)
        return INFINITY;
    double sum = 0;
    int n = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++)
        if (s[k].ok) {
            sum += patch_de(md, &s[k], k);
            n++;
        }
    return n ? sum / n : INFINITY;
}

/* Leave-one-out mean ΔE00: each usable patch predicted by a fit without
 * it (the tone curve stays fitted on all neutrals). */
static double leave_one_out(const patch_sample s[], const targets *t, const model *full)
{
    double sum = 0;
    int n = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        if (!s[k].ok)
            continue;
        model md = *full;
        if (fit_map(s, t, k, &md) != 0)
            return INFINITY;
        sum += patch_de(&md, &s[k], k);
        n++;
    }
    return n ? sum / n : INFINITY;
}

/* The root-polynomial is chosen only when its leave-one-out mean ΔE00 is
 * lower by at least 0.25: below that the gain is under a third of the
 * perceptibility threshold (0.8 ΔE00, Paravina et al. 2015), not worth 18
 * numbers fitted on 24 patches, which extrapolate less safely than 9. */
#define ROOTPOLY_MIN_GAIN 0.25

static void apply(const model *md, smp_lab_image *img, const basis *bs)
{
    size_t npx = (size_t)img->width * (size_t)img->height;
    for (size_t i = 0; i < npx; i++) {
        float *p = img->lab + 3 * i;
        double lab[3] = {p[0], p[1], p[2]}, rgb[3], xyz[3];
        lab_to_rgb(bs, lab, rgb);
        predict(md, rgb, xyz);
        smp_xyz_to_lab(xyz, lab);
        p[0] = (float)lab[0];
        p[1] = (float)lab[1];
        p[2] = (float)lab[2];
    }
}

smp_status smp_chart_fit(const char *name, smp_lab_image *img, const double corners[8],
                         smp_chart_fit_info *info, smp_error *err)
{
    memset(info, 0, sizeof *info);
    info->orientation = -1;
    double q[8], area;
    int order[4];
    basis bs;
    targets t;
    if (convex_order(corners, q, order, &area) != 0)
        return smp_fail(err, SMP_E_ARG, "%s: the four chart corners do not make a four-sided shape", name);
    /* The sampled middle of a patch is a quarter of its cell: at least
     * 3 x 3 pixels of it, or the median rests on too few. */
    if (area / SMP_CHART_PATCHES * (1 - 2 * WINDOW_MARGIN) * (1 - 2 * WINDOW_MARGIN) < 9.0)
        return smp_fail(err, SMP_E_ARG,
                        "%s: the chart is too small in the photo to measure its patches (under 3 "
                        "pixels across at the analysed size): photograph it closer or use "
                        "--analysis-size 0",
                        name);
    if (make_basis(&bs) != 0)
        return smp_fail(err, SMP_E_COLOUR, "%s: colour management failed while reading the chart", name);
    make_targets(&bs, &t);

    patch_sample s[SMP_CHART_PATCHES], best_s[SMP_CHART_PATCHES];
    model best_md = {0};
    double best = INFINITY, second = INFINITY, best_p[8] = {0};
    int best_which[4] = {0, 1, 2, 3};
    for (int o = 0; o < 8; o++) {
        double p[8];
        int which[4];
        orient(q, o, p, which, order);
        smp_status st = sample_chart(img, &bs, p, 0, s);
        if (st != SMP_OK)
            return smp_fail(err, st, "%s: out of memory while reading the chart", name);
        int usable = 0;
        for (int k = 0; k < SMP_CHART_PATCHES; k++)
            usable += s[k].ok;
        model md = {0};
        double de = usable >= MIN_PATCHES ? fit_all(s, &t, 3, &md) : INFINITY;
        if (de < best) {
            second = best;
            best = de;
            best_md = md;
            info->orientation = o;
            memcpy(best_p, p, sizeof best_p);
            memcpy(best_which, which, sizeof best_which);
        } else if (de < second) {
            second = de;
        }
    }
    info->runner_up_de = second;
    /* The chosen orientation again, with each patch's spread. */
    orient(q, info->orientation < 0 ? 0 : info->orientation, best_p, best_which, order);
    memcpy(info->corners, best_which, sizeof info->corners);
    if (sample_chart(img, &bs, best_p, 1, best_s) != SMP_OK)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory while reading the chart", name);
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        info->patch_spread[k] = best_s[k].spread;
        info->patch_de[k] = NAN;
        if (!best_s[k].ok)
            info->clipped |= 1UL << k;
    }
    info->mean_de = best;
    if (!(best <= CHART_NO_FIT)) {
        info->orientation = -1;
        return SMP_OK;
    }

    /* Matrix or root-polynomial, by leave-one-out. */
    int usable = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++)
        usable += best_s[k].ok;
    info->loo_matrix = leave_one_out(best_s, &t, &best_md);
    info->loo_rootpoly = NAN;
    model chosen = best_md;
    if (usable >= MIN_PATCHES_ROOTPOLY) {
        model rp = {0};
        if (isfinite(fit_all(best_s, &t, 6, &rp))) {
            info->loo_rootpoly = leave_one_out(best_s, &t, &rp);
            if (info->loo_rootpoly <= info->loo_matrix - ROOTPOLY_MIN_GAIN) {
                chosen = rp;
                info->rootpoly = 1;
            }
        }
    }
    double sum = 0, max = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        if (!best_s[k].ok)
            continue;
        info->patch_de[k] = patch_de(&chosen, &best_s[k], k);
        sum += info->patch_de[k];
        max = fmax(max, info->patch_de[k]);
    }
    info->mean_de = sum / usable;
    info->max_de = max;
    apply(&chosen, img, &bs);
    return SMP_OK;
}

/* ------------------------------------------------------------------ */
/* The pipeline's step                                                 */
/* ------------------------------------------------------------------ */

smp_status smp_chart_check(const char *name, const double c[8], int width, int height,
                           smp_error *err)
{
    for (int i = 0; i < 4; i++) {
        double x = c[2 * i], y = c[2 * i + 1];
        if (!(x >= 0 && y >= 0 && x <= width && y <= height))
            return smp_fail(err, SMP_E_ARG, "%s: chart corner %g,%g is outside the %dx%d photo", name,
                            x, y, width, height);
    }
    double q[8], area;
    int order[4];
    if (convex_order(c, q, order, &area) != 0)
        return smp_fail(err, SMP_E_ARG,
                        "%s: the four chart corners do not make a four-sided shape (two are the "
                        "same, three lie on a line, or they are not the chart's outer corners)",
                        name);
    /* Each side at least 12 px: 2 px per patch on the long side. */
    for (int i = 0; i < 4; i++) {
        const double *a = q + 2 * i, *b = q + 2 * ((i + 1) % 4);
        if (hypot(b[0] - a[0], b[1] - a[1]) < 12.0)
            return smp_fail(err, SMP_E_ARG,
                            "%s: the chart corners are too close together (a side under 12 pixels)",
                            name);
    }
    return SMP_OK;
}

/* Residual limits. A mean over 3.5 ΔE00 is past the print tolerance that
 * ends "marginal" in our verdicts (shared/DESIGN.md): a correction that
 * misses its own patches by that much cannot support an "acceptable" match.
 * One patch over 7 (twice that) means a patch, or the rendering, the fit
 * cannot follow (a glare spot, an ink outside the camera's gamut). */
#define CHART_WARN_MEAN 3.5
#define CHART_WARN_MAX 7.0
/* The best orientation less than 2 ΔE00 better than the next: which way
 * round the chart lies is not clear (our judgement, from the same
 * figures). */
#define CHART_AMBIGUOUS 2.0
/* A patch whose pixels differ from its colour by a median over 3 ΔE00 (a
 * grey card shows 0.5-1 from noise; calibrate's limit is 2, with room for
 * the chart's smaller patches) holds an edge: the corners are off. */
#define CHART_MAX_SPREAD 3.0

#define WARN(r, ...) smp_list_add(&(r)->warnings, &(r)->n_warnings, __VA_ARGS__)

/* "D01 white 9.5, D02 neutral 8" for the patches in `set`, at most 4. */
static void patch_list(unsigned long set, char *buf, size_t size)
{
    size_t len = 0;
    int shown = 0, total = 0;
    buf[0] = '\0';
    for (int k = 0; k < SMP_CHART_PATCHES; k++) {
        if (!(set & (1UL << k)))
            continue;
        if (total++ >= 4)
            continue;
        int w = snprintf(buf + len, size - len, "%s%s %s", shown ? ", " : "", reference[k].id,
                         reference[k].name);
        if (w < 0 || (size_t)w >= size - len)
            break;
        len += (size_t)w;
        shown++;
    }
    if (total > shown && len + 8 < size)
        snprintf(buf + len, size - len, ", ...");
}

static const char *orientation_name(const double p[8])
{
    static const char *const names[2][4] = {
        {"upright", "rotated 90° clockwise", "rotated 180°", "rotated 90° anticlockwise"},
        {"mirrored", "rotated 90° clockwise, mirrored", "rotated 180°, mirrored",
         "rotated 90° anticlockwise, mirrored"}};
    double dx = p[2] - p[0], dy = p[3] - p[1];
    double cross = dx * (p[7] - p[1]) - dy * (p[6] - p[0]);
    double deg = atan2(dy, dx) * 180.0 / SMP_PI;
    int turn = ((int)lround(deg / 90.0) + 4) % 4;
    return names[cross < 0][turn];
}

static int popcount(unsigned long v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static int chart_warnings(smp_result *r, const smp_chart_fit_info *info)
{
    char list[256];
    int doubt = 0;
    if (info->clipped) {
        patch_list(info->clipped, list, sizeof list);
        WARN(r, "%d colour-chart patch%s clipped or unreadable (%s): left out of the fit; "
                "photograph the chart less bright or fully in the frame",
             popcount(info->clipped), popcount(info->clipped) == 1 ? " is" : "es are", list);
        doubt = 1;
    }
    unsigned long rough = 0;
    for (int k = 0; k < SMP_CHART_PATCHES; k++)
        if (!(info->clipped & (1UL << k)) && info->patch_spread[k] > CHART_MAX_SPREAD)
            rough |= 1UL << k;
    if (rough) {
        patch_list(rough, list, sizeof list);
        WARN(r, "the colour-chart corners look wrong: %d patch%s not uniform (%s); give the outer "
                "corners of the 24-patch grid",
             popcount(rough), popcount(rough) == 1 ? " is" : "es are", list);
        doubt = 1;
    }
    if (info->mean_de > CHART_WARN_MEAN || info->max_de > CHART_WARN_MAX) {
        WARN(r, "the colour chart fits poorly (mean ΔE00 %.1f, worst patch %.1f after "
                "correction): the corrected colours are uncertain",
             info->mean_de, info->max_de);
        doubt = 1;
    }
    if (info->runner_up_de - info->mean_de < CHART_AMBIGUOUS) {
        WARN(r, "which way round the colour chart lies is unclear (two orientations fit within "
                "%.1f ΔE00): check its corners",
             info->runner_up_de - info->mean_de);
        doubt = 1;
    }
    return doubt;
}

/* Half a patch pitch: our allowance for the ColorChecker Classic's black
 * margin beyond its patch grid. The card is 11 x 8.5 in (X-Rite) and the
 * 6 x 4 grid fills all of it but a narrow margin, widest above and below;
 * half a pitch is our estimate of that margin, not a published figure. A
 * wider surround (a chart in a holder) is not masked. */
#define CARD_MARGIN 0.5

/* Marks the chart card (the patch grid `c`, analysed pixels, widened by
 * CARD_MARGIN patch pitches on every side) as not part of the subject
 * (SMP_PX_TRANSPARENT), so that the automatic finder never takes its
 * patches for skin or hair and a rectangle that overlaps it measures only
 * what is outside it. The card is 6 x 4 pitches in an unknown orientation:
 * the unit square of the grid is widened by CARD_MARGIN / 4 on both axes,
 * the larger share. */
static void mask_card(smp_lab_image *img, const double c[8])
{
    double q[8], area;
    int order[4];
    if (convex_order(c, q, order, &area) != 0)
        return;
    static const double unit[8] = {0, 0, 1, 0, 1, 1, 0, 1};
    double h[9], hinv[9];
    if (homography(unit, q, h) != 0 || mat3_inverse(h, hinv) != 0)
        return;
    double m = CARD_MARGIN / ROWS;
    /* Seen at a steep angle, the widened card can reach the grid's
     * vanishing line (the projective divisor changes sign there): past it
     * the mapping folds over and would mask a wedge of the photo far from
     * the card. Then only the grid itself is masked. */
    double wc = h[6] * 0.5 + h[7] * 0.5 + h[8];
    for (int i = 0; i < 4; i++) {
        double u = (i & 1) ? 1 + m : -m, v = (i & 2) ? 1 + m : -m;
        if ((h[6] * u + h[7] * v + h[8]) * wc <= 0)
            m = 0;
    }
    double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    const double box[8] = {-m, -m, 1 + m, -m, 1 + m, 1 + m, -m, 1 + m};
    for (int i = 0; i < 4; i++) {
        double x, y;
        map_point(h, box[2 * i], box[2 * i + 1], &x, &y);
        x0 = fmin(x0, x), y0 = fmin(y0, y), x1 = fmax(x1, x), y1 = fmax(y1, y);
    }
    /* Clamped to the image before the conversion to int. */
    int ya = (int)fmin(img->height, fmax(0, floor(y0)));
    int yb = (int)fmax(-1, fmin(img->height - 1, ceil(y1)));
    int xa = (int)fmin(img->width, fmax(0, floor(x0)));
    int xb = (int)fmax(-1, fmin(img->width - 1, ceil(x1)));
    for (int y = ya; y <= yb; y++)
        for (int x = xa; x <= xb; x++) {
            double u, v;
            map_point(hinv, x + 0.5, y + 0.5, &u, &v);
            if (u >= -m && u <= 1 + m && v >= -m && v <= 1 + m)
                img->flags[(size_t)y * (size_t)img->width + (size_t)x] |= SMP_PX_TRANSPARENT;
        }
}

smp_status smp_chart_run(const char *name, const double corners[8], const smp_scale *scale,
                         smp_lab_image *img, smp_result *r, int *doubt, smp_error *err)
{
    *doubt = 0;
    if (smp_chart_check(name, corners, r->image.width, r->image.height, err) != SMP_OK)
        return SMP_E_ARG;
    /* Displayed -> analysed: analysed pixel i covers displayed
     * [i f - off, (i + 1) f - off) (image.h). */
    double f = scale && scale->factor > 1 ? scale->factor : 1.0;
    double ox = scale && scale->factor > 1 ? scale->off_x : 0, oy = scale && scale->factor > 1 ? scale->off_y : 0;
    double c[8];
    for (int i = 0; i < 4; i++) {
        c[2 * i] = (corners[2 * i] + ox) / f;
        c[2 * i + 1] = (corners[2 * i + 1] + oy) / f;
    }
    smp_chart_fit_info info;
    smp_status st = smp_chart_fit(name, img, c, &info, err);
    if (st != SMP_OK)
        return st;
    smp_calibration *cal = &r->calibration;
    if (info.orientation < 0) {
        /* Never apply a chart that is not one: smp_chart_fit left the
         * image as it was. */
        *doubt = 1;
        cal->method = "none";
        /* No finite fit with enough patches read: their colours fit no
         * camera's rendering in any orientation (a grey wall, noise), which
         * is the same verdict without a figure. The unread count is of the
         * first orientation's cells, which may differ from the others'. */
        int unread = popcount(info.clipped);
        int bad = !isfinite(info.mean_de) && SMP_CHART_PATCHES - unread >= MIN_PATCHES
                      ? WARN(r, "the colour chart was not used: its patches match a ColorChecker "
                                "Classic 24 in no orientation (no correction fits them); check "
                                "the four corners, or that the chart is one")
                  : isfinite(info.mean_de)
                      ? WARN(r, "the colour chart was not used: its patches match a ColorChecker "
                                "Classic 24 in no orientation (best mean ΔE00 %.1f); check the "
                                "four corners, or that the chart is one",
                             info.mean_de)
                      : WARN(r, "the colour chart was not used: too few of its patches could be "
                                "read (%d clipped or unreadable); check the four corners and the "
                                "exposure",
                             unread);
        return bad
                   ? smp_fail(err, SMP_E_NOMEM, "%s: out of memory", name)
                   : SMP_OK;
    }
    cal->method = "chart";
    mask_card(img, c);
    cal->fit = info.rootpoly ? "root-polynomial" : "matrix";
    for (int i = 0; i < 4; i++) {
        cal->chart_corners[2 * i] = corners[2 * info.corners[i]];
        cal->chart_corners[2 * i + 1] = corners[2 * info.corners[i] + 1];
    }
    cal->chart_orientation = orientation_name(cal->chart_corners);
    cal->chart_mean_de = info.mean_de;
    cal->chart_max_de = info.max_de;
    cal->chart_loo_matrix = info.loo_matrix;
    cal->chart_loo_rootpoly = info.loo_rootpoly;
    cal->chart_clipped = info.clipped;
    *doubt = chart_warnings(r, &info);
    if (strstr(cal->chart_orientation, "mirrored"))
        WARN(r, "the colour chart appears mirrored (a selfie camera, or corners given in "
                "mirror order): check that the photo is not flipped");
    return SMP_OK;
}
