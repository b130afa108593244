/*
 * regions_auto.c: finding hair and bare scalp without rectangles.
 *
 * In:  the Lab image of a consult photo (close-up of hair over scalp).
 * Out: a hair mask and a scalp-skin mask, and what was seen (shares,
 *      contrast, whether it looks like hair on skin at all).
 * Not: measuring colours (measure.c), deciding warnings (pipeline.c).
 *
 * The method, classical and deterministic (numbers in pixels are at the
 * analysis scale, the photo shrunk by whole factors to at most 1.2 MP):
 *   1. Skin seeds: pixels whose colour is skin-like (a box in Lab that holds
 *      scalp skin of every ITA° category, see is_skin_colour) and
 *      whose neighbourhood is smooth (local L* standard deviation in the
 *      lowest 30 % of those pixels): bare scalp, not hair of a skin-like
 *      colour (blond, red, brown), which is textured by its strands.
 *   2. The skin colour S is the mode of the seeds; every pixel within
 *      T_s = 3 noise spreads of S is skin-like ("skin"), the rest "non-skin".
 *   3. Hair is non-skin that is interleaved with skin: strands are thin, so
 *      a hair pixel is never far from skin. Non-skin that survives a
 *      morphological opening of radius R (a wall, cloth, a comb, a grey card
 *      at the edge: thick objects) is neither hair nor skin. Distances come
 *      from a 3-4 chamfer transform (Borgefors 1986), so the opening costs
 *      two passes whatever R is.
 *   4. Of the thin non-skin, the pixels at least half as far from S as the
 *      hair's mode are hair: strand edges mixed with skin are left out.
 *   5. The scalp mask is skin at least 2 px from any non-skin pixel, so
 *      that strand edges do not tint it.
 *   6. It looks like hair on skin only when there is some of each, they
 *      differ, and the "strands" curve: brick mortar and wood grain have a
 *      skin-like ground and thin lines on it, but their lines are straight.
 * Line and ridge filters were the other candidate; on thinning hair the
 * skin-interleaving test does the same work with colour alone and needs no
 * scale selection.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "regions.h"
#include "util.h"

/* Analysis scale: 1.2 MP keeps strands of a 12 MP close-up 3 px or wider
 * (they are 8-25 px there) and the work near 0.1 s. */
#define AUTO_MAX_PIXELS 1200000

#define INF_DIST (INT32_MAX / 4)

/* A hair pixel is at least this fraction of the way from the skin to the
 * hair's mode: strand edges mixed with skin stay out. */
#ifndef HAIR_FRACTION
#define HAIR_FRACTION 0.5
#endif

typedef struct small {
    int w, h, f;    /* size and the factor it was shrunk by */
    float *lab;     /* 3 per pixel */
    unsigned char *ok; /* 1 = usable (no transparent or clipped pixel in its block) */
} small;

static void small_release(small *s)
{
    free(s->lab);
    free(s->ok);
}

/* Block means of Lab: good enough to find regions (measuring uses the full
 * image); a block with a transparent or clipped pixel is not usable. */
static smp_status shrink(const smp_lab_image *img, small *s)
{
    int f = 1;
    while ((size_t)(img->width / f) * (size_t)(img->height / f) > AUTO_MAX_PIXELS)
        f++;
    s->f = f;
    s->w = img->width / f;
    s->h = img->height / f;
    if (s->w < 8 || s->h < 8)
        return SMP_E_ARG;
    size_t n = (size_t)s->w * s->h;
    s->lab = malloc(n * 3 * sizeof(float));
    s->ok = malloc(n);
    if (!s->lab || !s->ok)
        return SMP_E_NOMEM;
    const unsigned char bad = SMP_PX_TRANSPARENT | SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            double acc[3] = {0, 0, 0};
            int okay = 1;
            for (int j = 0; j < f; j++)
                for (int i = 0; i < f; i++) {
                    size_t p = (size_t)(y * f + j) * img->width + (x * f + i);
                    okay &= !(img->flags[p] & bad);
                    for (int c = 0; c < 3; c++)
                        acc[c] += img->lab[3 * p + c];
                }
            size_t q = (size_t)y * s->w + x;
            for (int c = 0; c < 3; c++)
                s->lab[3 * q + c] = (float)(acc[c] / (f * f));
            s->ok[q] = (unsigned char)okay;
        }
    return SMP_OK;
}

/* Local standard deviation of L* over a (2r+1)^2 window, from integral
 * images of L and L^2. */
static smp_status local_std(const small *s, int r, float *out)
{
    size_t W = (size_t)s->w + 1;
    double *i1 = calloc(W * (s->h + 1), sizeof *i1), *i2 = calloc(W * (s->h + 1), sizeof *i2);
    if (!i1 || !i2) {
        free(i1);
        free(i2);
        return SMP_E_NOMEM;
    }
    for (int y = 0; y < s->h; y++) {
        double a = 0, b = 0;
        for (int x = 0; x < s->w; x++) {
            double l = s->lab[3 * ((size_t)y * s->w + x)];
            a += l;
            b += l * l;
            i1[(y + 1) * W + x + 1] = i1[y * W + x + 1] + a;
            i2[(y + 1) * W + x + 1] = i2[y * W + x + 1] + b;
        }
    }
    for (int y = 0; y < s->h; y++) {
        int y0 = y - r < 0 ? 0 : y - r, y1 = y + r + 1 > s->h ? s->h : y + r + 1;
        for (int x = 0; x < s->w; x++) {
            int x0 = x - r < 0 ? 0 : x - r, x1 = x + r + 1 > s->w ? s->w : x + r + 1;
            double n = (double)(y1 - y0) * (x1 - x0);
            double a = i1[y1 * W + x1] - i1[y0 * W + x1] - i1[y1 * W + x0] + i1[y0 * W + x0];
            double b = i2[y1 * W + x1] - i2[y0 * W + x1] - i2[y1 * W + x0] + i2[y0 * W + x0];
            double v = b / n - (a / n) * (a / n);
            out[(size_t)y * s->w + x] = (float)sqrt(v > 0 ? v : 0);
        }
    }
    free(i1);
    free(i2);
    return SMP_OK;
}

/* Chamfer 3-4 distance (in thirds of a pixel) from every pixel to the
 * nearest pixel with src != 0 (Borgefors 1986, two raster passes). */
static void chamfer(const unsigned char *src, int w, int h, int32_t *d)
{
    for (size_t i = 0; i < (size_t)w * h; i++)
        d[i] = src[i] ? 0 : INF_DIST;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int32_t *p = d + (size_t)y * w + x, v = *p;
            if (x > 0 && p[-1] + 3 < v)
                v = p[-1] + 3;
            if (y > 0) {
                const int32_t *u = p - w;
                if (u[0] + 3 < v)
                    v = u[0] + 3;
                if (x > 0 && u[-1] + 4 < v)
                    v = u[-1] + 4;
                if (x + 1 < w && u[1] + 4 < v)
                    v = u[1] + 4;
            }
            *p = v;
        }
    for (int y = h - 1; y >= 0; y--)
        for (int x = w - 1; x >= 0; x--) {
            int32_t *p = d + (size_t)y * w + x, v = *p;
            if (x + 1 < w && p[1] + 3 < v)
                v = p[1] + 3;
            if (y + 1 < h) {
                const int32_t *u = p + w;
                if (u[0] + 3 < v)
                    v = u[0] + 3;
                if (x + 1 < w && u[1] + 4 < v)
                    v = u[1] + 4;
                if (x > 0 && u[-1] + 4 < v)
                    v = u[-1] + 4;
            }
            *p = v;
        }
}

/* Scalp skin in CIELAB D50, every ITA° category: L* 20-92, a* 4-20 (the
 * redness of blood under the skin), b* 3-27, C* 7-30 and hue 25-72°. The
 * box is drawn around skin colorimetry surveys (Del Bino et al. 2006, Br J
 * Dermatol 155:1073; Xiao et al. 2017, Skin Res Technol 23:21: a* about
 * 5-18, b* 8-25, hue 45-70°) with a little room for phone-photo error.
 * Walls, cloth and grey cards fall outside it, and so do red brick (a*
 * over 20), orange wood (b* over 27) and blond hair (hue over 72°); brown
 * and red hair do not, which is why texture and pick_skin_b decide too.
 * A photo whose "skin" is outside it is not taken for a scalp, so a strong
 * uncorrected colour cast can make a scalp look like something else: the
 * grey card (--white-roi) is applied before this. */
static int is_skin_colour(const float *p)
{
    double c = hypot(p[1], p[2]), h = atan2(p[2], p[1]) * 180.0 / SMP_PI;
    return p[0] >= 20 && p[0] <= 92 && p[1] >= 4 && p[1] <= 20 && p[2] >= 3 && p[2] <= 27 &&
           c >= 7 && c <= 30 && h >= 25 && h <= 72;
}

/* When the hair's colour is skin-like too (brown or red hair so dense that
 * it, not the scalp, forms the smooth areas), which of the two is skin?
 * The redder one (higher a*: blood; brown and black hair have a* 1-7,
 * skin 7-18), unless that one is red hair (a* over 14 with C* over 22)
 * while the other is reddish enough (a* 7 or more) to be skin. Returns 1
 * when b, not a, is the skin. */
static int pick_skin_b(const double a[3], const double b[3])
{
    int b_redder = b[1] > a[1];
    const double *red = b_redder ? b : a, *other = b_redder ? a : b;
    int red_hair = red[1] > 14.0 && hypot(red[1], red[2]) > 22.0 && other[1] >= 7.0;
    return red_hair ? !b_redder : b_redder;
}

static double dist_lab(const float *p, const double c[3])
{
    double a = p[0] - c[0], b = p[1] - c[1], d = p[2] - c[2];
    return sqrt(a * a + b * b + d * d);
}

/* Collects the Lab of pixels where sel[i] != 0 (at most `cap`, on a fixed
 * stride) into a new array; *n is the count. */
static float *collect(const small *s, const unsigned char *sel, size_t count, size_t cap, size_t *n)
{
    size_t stride = count > cap ? (count + cap - 1) / cap : 1, k = 0, m = 0;
    float *px = malloc((count / stride + 1) * 3 * sizeof(float));
    if (!px)
        return NULL;
    for (size_t i = 0; i < (size_t)s->w * s->h; i++) {
        if (!sel[i])
            continue;
        if (k++ % stride == 0) {
            memcpy(px + 3 * m, s->lab + 3 * i, 3 * sizeof(float));
            m++;
        }
    }
    *n = m;
    return px;
}

/* Scales a mask of the small image up to the full size (nearest). */
static unsigned char *upscale(const unsigned char *m, const small *s, int w, int h)
{
    unsigned char *out = malloc((size_t)w * h);
    if (!out)
        return NULL;
    for (int y = 0; y < h; y++) {
        int sy = y / s->f < s->h ? y / s->f : s->h - 1;
        for (int x = 0; x < w; x++) {
            int sx = x / s->f < s->w ? x / s->f : s->w - 1;
            out[(size_t)y * w + x] = m[(size_t)sy * s->w + sx];
        }
    }
    return out;
}

/* Keeps only the core of the hair mask: pixels whose 3x3 neighbourhood is
 * all hair. Phone JPEGs keep colour at half resolution (4:2:0), so the
 * pixels at a strand's edge carry the skin's chroma; on fine strands that
 * biases the hair towards the skin by 2-5 ΔE00 in the evaluation set. When
 * fewer than a fifth of the pixels would remain (stubble), the mask is kept
 * whole: some colour beats none. */
static void core_of(unsigned char *m, int w, int h)
{
    size_t n = (size_t)w * h, before = 0, after = 0;
    unsigned char *e = malloc(n);
    if (!e)
        return;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            size_t i = (size_t)y * w + x;
            int in = m[i] != 0;
            before += in;
            for (int dy = -1; in && dy <= 1; dy++)
                for (int dx = -1; in && dx <= 1; dx++) {
                    int yy = y + dy, xx = x + dx;
                    in = yy >= 0 && yy < h && xx >= 0 && xx < w && m[(size_t)yy * w + xx];
                }
            e[i] = (unsigned char)in;
            after += in;
        }
    if (after * 5 >= before)
        memcpy(m, e, n);
    free(e);
}

/* How straight the hair's edges are: the largest share of the gradient
 * energy (Sobel on L*, inside the hair mask, at the analysis scale) that
 * falls in one 5° band of orientation. Hair strands curve, so their edges
 * spread over many bands (at most 0.27 on the 114 consult photos of the
 * evaluation set, 0.15 on most); the straight parallel lines of brick mortar
 * and wood grain put 0.37 and 0.34 in one band. */
static double straightness(const small *s, const unsigned char *hair)
{
    double hist[36] = {0}, total = 0;
    for (int y = 1; y < s->h - 1; y++)
        for (int x = 1; x < s->w - 1; x++) {
            size_t i = (size_t)y * s->w + x;
            if (!hair[i])
                continue;
#define LSTAR(dx, dy) s->lab[3 * (i + (ptrdiff_t)(dy) * s->w + (dx))]
            double gx = LSTAR(1, -1) + 2 * LSTAR(1, 0) + LSTAR(1, 1) - LSTAR(-1, -1) - 2 * LSTAR(-1, 0) -
                        LSTAR(-1, 1);
            double gy = LSTAR(-1, 1) + 2 * LSTAR(0, 1) + LSTAR(1, 1) - LSTAR(-1, -1) - 2 * LSTAR(0, -1) -
                        LSTAR(1, -1);
#undef LSTAR
            double m = gx * gx + gy * gy;
            if (m < 1.0)
                continue; /* flat: no edge to orient */
            double a = atan2(gy, gx) * 180.0 / SMP_PI;
            if (a < 0)
                a += 180.0;
            hist[(int)(a / 5.0) % 36] += m;
            total += m;
        }
    double peak = 0;
    for (int b = 0; b < 36; b++)
        if (hist[b] > peak)
            peak = hist[b];
    return total > 0 ? peak / total : 0.0;
}

/* Bare scalp is what shows a photo is of hair on skin: with less than 1 %
 * of the photo, a texture's thin dark lines (wood grain) can pass for skin
 * and its ground for hair. The consult photos of the evaluation set show
 * 2.5 % or more; wood grain 0.6 %. */
#define MIN_SCALP_SHARE 0.01

/* Above this, the "strands" are straight lines (see straightness): midway
 * between the straightest hair and the least straight texture measured. A
 * photo of very straight, combed-flat hair may pass it: it is then flagged
 * for a look rather than measured with confidence. */
#define MAX_STRAIGHTNESS 0.30

typedef struct work {
    small s;
    float *sd;
    unsigned char *skin, *nonskin, *hair, *scalp, *tmp;
    int32_t *d1, *d2;
    float *px;
} work;

static void work_release(work *k)
{
    small_release(&k->s);
    free(k->sd);
    free(k->skin);
    free(k->nonskin);
    free(k->hair);
    free(k->scalp);
    free(k->tmp);
    free(k->d1);
    free(k->d2);
    free(k->px);
}

/* Step 1-2: the skin colour from smooth skin-coloured pixels. Returns 0
 * when there are too few (not a photo of skin). */
static int find_skin(work *k, double skin[3], double *ts)
{
    small *s = &k->s;
    size_t n = (size_t)s->w * s->h, cand = 0;
    for (size_t i = 0; i < n; i++) {
        k->tmp[i] = s->ok[i] && is_skin_colour(s->lab + 3 * i);
        cand += k->tmp[i];
    }
    /* 1 % of the photo: less bare skin than that gives no reliable colour. */
    if (cand < n / 100 || cand < 50)
        return 0;
    float *sds = malloc(cand * sizeof *sds);
    if (!sds)
        return -1;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (k->tmp[i])
            sds[m++] = k->sd[i];
    qsort(sds, m, sizeof *sds, smp_cmp_float);
    float tau = sds[(m * 3) / 10];
    free(sds);
    size_t seeds = 0;
    for (size_t i = 0; i < n; i++) {
        k->tmp[i] = k->tmp[i] && k->sd[i] <= tau;
        seeds += k->tmp[i];
    }
    size_t np;
    free(k->px);
    k->px = collect(s, k->tmp, seeds, 200000, &np);
    if (!k->px || smp_centre_mode(k->px, np, skin) != SMP_OK)
        return -1;
    /* The seeds' mode must itself be a skin colour: brick or wood whose
     * texture strays into the skin box pixel by pixel is not skin. */
    float sf[3] = {(float)skin[0], (float)skin[1], (float)skin[2]};
    if (!is_skin_colour(sf))
        return 0;
    /* Noise spread of the skin: median distance of the seeds from S. */
    float *d = malloc(np * sizeof *d);
    if (!d)
        return -1;
    for (size_t i = 0; i < np; i++)
        d[i] = (float)dist_lab(k->px + 3 * i, skin);
    qsort(d, np, sizeof *d, smp_cmp_float);
    double spread = d[np / 2];
    free(d);
    /* 3 spreads (plus 2 for texture the seeds missed), kept within 5-12
     * ΔE76: hair of every colour in the evaluation set differs from its
     * skin by 12 or more. */
    *ts = 3.0 * spread + 2.0;
    *ts = *ts < 5.0 ? 5.0 : *ts > 12.0 ? 12.0 : *ts;
    return 1;
}

/* Steps 2-5 for a given skin colour: fills k->skin, nonskin, hair, scalp
 * and returns the hair's mode in hair[] (zero when none). */
static smp_status segment(work *k, const double skin[3], double ts, double hair[3], size_t *nskin_out,
                          size_t *nhair_out, size_t *nscalp_out)
{
    small *s = &k->s;
    size_t n = (size_t)s->w * s->h;
    size_t nskin = 0;
    for (size_t i = 0; i < n; i++) {
        double d = dist_lab(s->lab + 3 * i, skin);
        k->skin[i] = s->ok[i] && d < ts;
        k->nonskin[i] = s->ok[i] && d >= ts;
        nskin += k->skin[i];
    }

    /* Step 3: thick non-skin (opening of radius R) is background. R: twice
     * the widest strand at the analysis scale (about 1/60 of the short
     * side), at least 8 px. */
    int shortside = s->w < s->h ? s->w : s->h;
    int32_t R = 3 * (shortside / 60 > 8 ? shortside / 60 : 8); /* chamfer units */
    chamfer(k->skin, s->w, s->h, k->d1);
    for (size_t i = 0; i < n; i++)
        k->tmp[i] = k->nonskin[i] && k->d1[i] > R;
    chamfer(k->tmp, s->w, s->h, k->d2);
    size_t ncand = 0;
    for (size_t i = 0; i < n; i++) {
        k->tmp[i] = k->nonskin[i] && k->d2[i] > R; /* thin non-skin: hair candidates */
        ncand += k->tmp[i];
    }

    /* Step 4: the hair's mode, then the pixels at least half as far from
     * the skin as it is. */
    double dh = 0;
    hair[0] = hair[1] = hair[2] = 0;
    memset(k->hair, 0, n);
    size_t nhair = 0;
    if (ncand >= 50) {
        size_t np;
        free(k->px);
        k->px = collect(s, k->tmp, ncand, 200000, &np);
        if (!k->px || smp_centre_mode(k->px, np, hair) != SMP_OK)
            return SMP_E_NOMEM;
        dh = sqrt((hair[0] - skin[0]) * (hair[0] - skin[0]) + (hair[1] - skin[1]) * (hair[1] - skin[1]) +
                  (hair[2] - skin[2]) * (hair[2] - skin[2]));
        for (size_t i = 0; i < n; i++) {
            k->hair[i] = k->tmp[i] && dist_lab(s->lab + 3 * i, skin) >= HAIR_FRACTION * dh;
            nhair += k->hair[i];
        }
    }

    /* Step 5: bare scalp, 2 px (6 chamfer units) clear of non-skin. */
    chamfer(k->nonskin, s->w, s->h, k->d1);
    size_t nscalp = 0;
    for (size_t i = 0; i < n; i++) {
        k->scalp[i] = k->skin[i] && k->d1[i] >= 6;
        nscalp += k->scalp[i];
    }

    *nskin_out = nskin;
    *nhair_out = nhair;
    *nscalp_out = nscalp;
    return SMP_OK;
}

smp_status smp_regions_auto(const smp_lab_image *lab, smp_regions *out, smp_auto_info *info)
{
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    work k;
    memset(&k, 0, sizeof k);
    smp_status st = shrink(lab, &k.s);
    if (st != SMP_OK) {
        work_release(&k);
        return st == SMP_E_NOMEM ? st : SMP_OK; /* too small to look at: nothing found */
    }
    small *s = &k.s;
    size_t n = (size_t)s->w * s->h;
    k.sd = malloc(n * sizeof *k.sd);
    k.skin = calloc(n, 1);
    k.nonskin = calloc(n, 1);
    k.hair = calloc(n, 1);
    k.scalp = calloc(n, 1);
    k.tmp = calloc(n, 1);
    k.d1 = malloc(n * sizeof *k.d1);
    k.d2 = malloc(n * sizeof *k.d2);
    if (!k.sd || !k.skin || !k.nonskin || !k.hair || !k.scalp || !k.tmp || !k.d1 || !k.d2 ||
        local_std(s, 2, k.sd) != SMP_OK) {
        work_release(&k);
        return SMP_E_NOMEM;
    }

    double skin[3], ts;
    int found = find_skin(&k, skin, &ts);
    if (found < 0) {
        work_release(&k);
        return SMP_E_NOMEM;
    }
    if (found == 0) {
        work_release(&k);
        return SMP_OK; /* no skin: looks_like_scalp stays 0 */
    }

    size_t nskin, nhair, nscalp;
    double hair[3];
    if (segment(&k, skin, ts, hair, &nskin, &nhair, &nscalp) != SMP_OK) {
        work_release(&k);
        return SMP_E_NOMEM;
    }
    /* Dense brown or red hair can be the smooth, skin-coloured part of the
     * photo: then what was taken for skin is hair, and the "hair" found is
     * the lighter skin between strands. When the "hair" is skin-coloured,
     * lighter, and by pick_skin_b the skin, swap and look again. */
    float hf[3] = {(float)hair[0], (float)hair[1], (float)hair[2]};
    if (nhair >= 50 && is_skin_colour(hf) && hair[0] > skin[0] && pick_skin_b(skin, hair)) {
        memcpy(skin, hair, sizeof skin);
        if (segment(&k, skin, ts, hair, &nskin, &nhair, &nscalp) != SMP_OK) {
            work_release(&k);
            return SMP_E_NOMEM;
        }
    }
    info->skin_like_share = (double)nskin / (double)n;

    info->hair_share = (double)nhair / (double)n;
    info->scalp_share = (double)nscalp / (double)n;
    if (nhair >= 50)
        info->contrast_de00 = smp_de00(hair, skin);
    /* Hair on skin: some of each, with at least MIN_SCALP_SHARE of bare
     * scalp, the two really differ (3 ΔE00, twice the acceptability
     * threshold, below which no mask can separate them), and the strands
     * are not ruler-straight lines. */
    info->straightness = nhair ? straightness(s, k.hair) : 0.0;
    info->looks_like_scalp = nhair >= 50 && nscalp >= 50 && (double)nscalp >= MIN_SCALP_SHARE * n &&
                             info->contrast_de00 >= 3.0 && info->straightness <= MAX_STRAIGHTNESS;

    if (nhair) {
        out->hair = upscale(k.hair, s, lab->width, lab->height);
        if (out->hair)
            core_of(out->hair, lab->width, lab->height);
    }
    if (nscalp)
        out->scalp = upscale(k.scalp, s, lab->width, lab->height);
    out->hair_source = out->hair ? SMP_SOURCE_AUTO : SMP_SOURCE_NONE;
    out->scalp_source = out->scalp ? SMP_SOURCE_AUTO : SMP_SOURCE_NONE;
    st = ((nhair && !out->hair) || (nscalp && !out->scalp)) ? SMP_E_NOMEM : SMP_OK;
    if (st != SMP_OK)
        smp_regions_release(out);
    work_release(&k);
    return st;
}
