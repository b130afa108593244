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
#include "team.h"
#include "util.h"

/* Analysis scale: 1.2 MP keeps strands of a 12 MP close-up 3 px or wider
 * (they are 8-25 px there) and the work near 0.1 s. */
#define AUTO_MAX_PIXELS 1200000

/* The skin's and the hair's modes come from at most this many pixels, on
 * a fixed stride (200,000 before issue 5): as measure.c's SAMPLE_MAX. */
#define MODE_SAMPLE 50000

/* A hair pixel is at least this fraction of the way from the skin to the
 * hair's mode: strand edges mixed with skin stay out. */
#ifndef HAIR_FRACTION
#define HAIR_FRACTION 0.5
#endif

/* What each pixel of the small image is, one byte of bits: the masks of
 * every step share it, so a step is one pass over n bytes and the working
 * memory is two bytes a pixel (this and a distance map). */
#define C_OK 0x01      /* usable: no transparent or clipped pixel in its block */
#define C_SEED 0x02    /* skin-coloured, then: smooth too (step 1) */
#define C_SKIN 0x04    /* within T_s of the skin colour (step 2) */
#define C_NONSKIN 0x08 /* usable and not skin */
#define C_THICK 0x10   /* non-skin far from skin: the core of a thick object */
#define C_THIN 0x20    /* non-skin not near a thick core: hair candidate */
#define C_HAIR 0x40    /* step 4 */
#define C_SCALP 0x80   /* step 5 */

/* A pixel with one of these is not usable. */
static const unsigned char px_bad = SMP_PX_TRANSPARENT | SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;

typedef struct small {
    int w, h, f;       /* size and the factor it was shrunk by */
    const float *lab;  /* 3 per pixel: the image's own when f is 1 */
    float *own;        /* the block means when f > 1 */
    unsigned char *cls; /* C_* bits per pixel */
    float *sd;         /* step 1: a candidate's deviation, +infinity elsewhere */
    uint32_t *counts;  /* NULL, or the candidates' deviations' histogram (smp_kth_float_counted) */
    size_t cand;       /* step 1's candidates, once sd is there */
    int turn, sw, sh;  /* step 1 goes row by row of these (smp_seed_pass) */
    smp_workspace *ws; /* the Lab image's: every buffer here comes from it */
    smp_team *team;    /* the Lab image's: the passes below are cut in two */
} small;

/* The rows of part `part` of the small image (team.h): [*y0, *y1). */
static void part_rows(const small *s, int part, int *y0, int *y1)
{
    size_t lo, hi;
    smp_part_range((size_t)s->h, part, &lo, &hi);
    *y0 = (int)lo;
    *y1 = (int)hi;
}

/* The same rows as pixel indices: [*from, *to). */
static void part_pixels(const small *s, int part, size_t *from, size_t *to)
{
    int y0, y1;
    part_rows(s, part, &y0, &y1);
    *from = (size_t)y0 * s->w;
    *to = (size_t)y1 * s->w;
}

static void small_release(small *s)
{
    smp_work_free(s->ws, s->own);
    smp_work_free(s->ws, s->cls);
    smp_work_free(s->ws, s->sd);
    free(s->counts);
}

/* Block means of Lab: good enough to find regions (measuring uses the full
 * image); a block with a transparent or clipped pixel is not usable. At
 * factor 1 (the loader has usually reduced the photo already) the image's
 * own pixels are used, not copied. */
static smp_status shrink(const smp_lab_image *img, smp_seed_pass *seed, small *s)
{
    int f = 1;
    while ((size_t)(img->width / f) * (size_t)(img->height / f) > AUTO_MAX_PIXELS)
        f++;
    s->f = f;
    s->w = img->width / f;
    s->h = img->height / f;
    if (s->w < 8 || s->h < 8)
        return SMP_E_ARG;
    /* Step 1 row by row as stored when the image is the photo's own
     * pixels, and the conversion's pass when it took it whole. */
    int turned = seed && seed->turn >= 5; /* image.h */
    int stored = f == 1 && seed && (turned ? seed->sh : seed->sw) == s->w &&
                 (turned ? seed->sw : seed->sh) == s->h;
    s->turn = stored ? seed->turn : 0;
    s->sw = stored ? seed->sw : s->w;
    s->sh = stored ? seed->sh : s->h;
    if (stored && seed->on && seed->complete && seed->w == s->w && seed->h == s->h) {
        s->lab = img->lab;
        s->cls = seed->cls;
        s->sd = seed->sd;
        s->cand = seed->cand;
        if (seed->counted == seed->cand) {
            s->counts = seed->counts;
            seed->counts = NULL;
        }
        seed->cls = NULL; /* ours now */
        seed->sd = NULL;
        return SMP_OK;
    }
    size_t n = (size_t)s->w * s->h;
    s->cls = smp_work_alloc(s->ws, n);
    if (!s->cls)
        return SMP_E_NOMEM;
    if (f == 1) {
        s->lab = img->lab;
        for (size_t i = 0; i < n; i++)
            s->cls[i] = (img->flags[i] & px_bad) ? 0 : C_OK;
        return SMP_OK;
    }
    s->own = smp_work_alloc(s->ws, n * 3 * sizeof(float));
    if (!s->own)
        return SMP_E_NOMEM;
    s->lab = s->own;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            double acc[3] = {0, 0, 0};
            int okay = 1;
            for (int j = 0; j < f; j++)
                for (int i = 0; i < f; i++) {
                    size_t p = (size_t)(y * f + j) * img->width + (x * f + i);
                    okay &= !(img->flags[p] & px_bad);
                    for (int c = 0; c < 3; c++)
                        acc[c] += img->lab[3 * p + c];
                }
            size_t q = (size_t)y * s->w + x;
            for (int c = 0; c < 3; c++)
                s->own[3 * q + c] = (float)(acc[c] / (f * f));
            s->cls[q] = okay ? C_OK : 0;
        }
    return SMP_OK;
}

/* The variance (at least 0) and the standard deviation from a window's
 * sums of L and L^2 and 1 / count. */
static double window_var(double a, double b, double inv)
{
    double v = b * inv - (a * inv) * (a * inv);
    return v > 0 ? v : 0;
}

static float window_sd(double a, double b, double inv)
{
    return (float)sqrt(window_var(a, b, inv));
}

/* window_sd at column x of a w-wide row of column sums, for a window of
 * radius r clipped at the row's ends, over `rows` rows. */
static float clipped_sd(const double *c1, const double *c2, int w, int x, int r, int rows)
{
    int x0 = x - r < 0 ? 0 : x - r, x1 = x + r + 1 > w ? w : x + r + 1;
    double a = 0, b = 0;
    for (int i = x0; i < x1; i++) {
        a += c1[i];
        b += c2[i];
    }
    return window_sd(a, b, 1.0 / ((double)rows * (x1 - x0)));
}

/* Chamfer sums in bytes that stay bytes: d + add, or 255 when that would
 * be more (as min(d, 255 - add) + add), and the smaller of two. Either
 * way a distance of 255 or more is "far" and only ever compared with the
 * opening radius (at most 54), so the results are those of int sums
 * clipped after; in bytes a vector holds sixteen of them, four times what
 * it holds once they are widened to int. */
static inline unsigned char step_to(unsigned char d, int add)
{
    unsigned char room = (unsigned char)(255 - add);
    return (unsigned char)((d < room ? d : room) + add);
}

static inline unsigned char lower(unsigned char a, unsigned char b)
{
    return a < b ? a : b;
}

/* One chamfer step from the row already done (u) into row p: straight
 * neighbour + 3, diagonal + 4. */
static void relax_from_row(unsigned char *restrict p, const unsigned char *restrict u, int w)
{
    if (w == 1) {
        p[0] = lower(p[0], step_to(u[0], 3));
        return;
    }
    /* The ends apart, so that the middle has no test on x (and vectorises). */
    p[0] = lower(lower(p[0], step_to(u[0], 3)), step_to(u[1], 4));
    for (int x = 1; x < w - 1; x++)
        p[x] = lower(lower(p[x], step_to(u[x], 3)), lower(step_to(u[x - 1], 4), step_to(u[x + 1], 4)));
    p[w - 1] = lower(lower(p[w - 1], step_to(u[w - 1], 3)), step_to(u[w - 2], 4));
}

/* Along a row, p[x] = min over k >= 0 of p[x - k * dir] + 3k: what one
 * pass of "p[x] = min(p[x], p[x - dir] + 3)" leaves, computed by doubling
 * (shifts 1, 2, 4 ..., each pass over a copy vectorises) instead of one
 * step at a time, where each pixel waits for the one before it. Exact:
 * the cost is linear in k, and shifts up to 2^m reach every k below
 * 2^(m+1), so every k up to `reach` is taken. `tmp` holds w bytes. */
static void run_along(unsigned char *restrict p, unsigned char *restrict tmp, int w, int dir, int reach)
{
    for (int sh = 1; sh <= reach && sh < w; sh *= 2) {
        memcpy(tmp, p, (size_t)w);
        const int add = 3 * sh > 255 ? 255 : 3 * sh;
        if (dir > 0) {
            for (int x = sh; x < w; x++)
                p[x] = lower(p[x], step_to(tmp[x - sh], add));
        } else {
            for (int x = 0; x < w - sh; x++)
                p[x] = lower(p[x], step_to(tmp[x + sh], add));
        }
    }
}

/* Chamfer 3-4 distance (in thirds of a pixel, Borgefors 1986, two raster
 * passes) from every pixel to the nearest pixel with (cls & bit), exact
 * up to `exact` (at most 255) and above it wherever the true distance is:
 * callers only compare it with the opening radius, at most 54 at 1.2 MP
 * (see segment). Each pass first takes the row before, then runs along the
 * row (run_along); both vectorise. A run along a row only needs to reach
 * exact / 3 pixels: a distance up to `exact` comes through pixels whose
 * own distances are smaller, so runs no longer than that, and every value
 * only ever shrinks from 255 towards the true one. (Runs of 18 instead of
 * 85 pixels: 5 doubling steps instead of 7.) `tmp` holds w bytes. */
static void chamfer(const unsigned char *cls, unsigned char bit, int w, int h, unsigned char *d,
                    unsigned char *tmp, int exact)
{
    const int reach = (exact + 2) / 3;
    for (int y = 0; y < h; y++) {
        unsigned char *p = d + (size_t)y * w;
        const unsigned char *c = cls + (size_t)y * w;
        for (int x = 0; x < w; x++)
            p[x] = (c[x] & bit) ? 0 : 255;
        if (y > 0)
            relax_from_row(p, p - w, w);
        run_along(p, tmp, w, +1, reach);
    }
    for (int y = h - 1; y >= 0; y--) {
        unsigned char *p = d + (size_t)y * w;
        if (y + 1 < h)
            relax_from_row(p, p + w, w);
        run_along(p, tmp, w, -1, reach);
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
/* tan 25° and tan 72°: the hue bounds as slopes of b* over a*, so that a pixel
 * needs no atan2 (a* is positive inside the box). */
#define TAN_HUE_MIN 0.46630765815499859
#define TAN_HUE_MAX 3.07768353717525340

/* Every test is made (& rather than &&): which pixels pass is as good as
 * random across a photo, and the early exits mispredicted. */
static int is_skin_colour(const float *p)
{
    double l = p[0], a = p[1], b = p[2];
    double c2 = a * a + b * b;
    return (l >= 20) & (l <= 92) & (a >= 4) & (a <= 20) & (b >= 3) & (b <= 27) & (c2 >= 7.0 * 7.0) &
           (c2 <= 30.0 * 30.0) & (b >= a * TAN_HUE_MIN) & (b <= a * TAN_HUE_MAX);
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

/* d2[q] = smp_dist2_px(lab + 3 q, c) for n <= NEAR_RUN pixels, the same
 * values: the triples are copied apart first, so that the sums
 * vectorise. */
#define NEAR_RUN 256

static void dist2_run(const float *lab, size_t n, const double c[3], double *d2)
{
    float L[NEAR_RUN], A[NEAR_RUN], B[NEAR_RUN];
    smp_lab_apart(lab, n, L, A, B);
    for (size_t q = 0; q < n; q++)
        d2[q] = smp_dist2(L[q], A[q], B[q], c);
}

/* The distances of the next run of pixels from i0 (before `to`) of the
 * small image s to c, into d2; returns how many. */
static size_t dist2_next(const small *s, size_t i0, size_t to, const double c[3], double *d2)
{
    size_t n = to - i0 < NEAR_RUN ? to - i0 : NEAR_RUN;
    dist2_run(s->lab + 3 * i0, n, c, d2);
    return n;
}

/* ---- step 1, row by row of the photo as stored ---------------------- */

/* The deviation's window: (2 * SEED_RADIUS + 1)^2 pixels. */
#define SEED_RADIUS 2

/* Where stored row y's pixels are in the image as displayed: at + x * step. */
static void seed_walk(const smp_seed_pass *p, int y, ptrdiff_t *at, ptrdiff_t *step)
{
    smp_orient_walk(p->turn, p->sw, p->sh, y, at, step);
}

static void seed_rows_release(smp_seed_rows *d)
{
    free(d->c1);
    free(d->sd);
    memset(d, 0, sizeof *d);
}

/* Part `part` of the stored rows, none of them followed yet. */
static int seed_rows_init(smp_seed_pass *p, int part)
{
    smp_seed_rows *d = &p->rows[part];
    size_t lo, hi;
    smp_part_range((size_t)p->sh, part, &lo, &hi);
    d->c1 = calloc(3 * (size_t)p->sw, sizeof *d->c1);
    d->c2 = d->c1 ? d->c1 + p->sw : NULL;
    d->var = d->c1 ? d->c1 + 2 * (size_t)p->sw : NULL;
    d->sd = malloc((size_t)p->sw * sizeof *d->sd);
    d->next = (int)lo;
    d->end = (int)hi;
    d->lo = d->hi = d->next - SEED_RADIUS < 0 ? 0 : d->next - SEED_RADIUS;
    return d->c1 && d->sd ? 0 : -1;
}

/* The pass over an image (w x h as displayed, from ws) whose rows are
 * stored rows turned by `turn`; cls and sd are left to the caller. */
static int seed_pass_init(smp_seed_pass *p, int w, int h, int turn, int sw, int sh, smp_workspace *ws)
{
    memset(p, 0, sizeof *p);
    p->w = w;
    p->h = h;
    p->turn = turn;
    p->sw = sw;
    p->sh = sh;
    p->ws = ws;
    int ok = 0;
    for (int part = 0; part < SMP_PARTS; part++)
        ok |= seed_rows_init(p, part);
    return ok;
}

int smp_seed_pass_begin(smp_seed_pass *p, const smp_lab_image *lab, int turn, int sw, int sh)
{
    size_t n = (size_t)lab->width * lab->height;
    int turned = turn >= 5; /* image.h */
    if (lab->width >= 8 && lab->height >= 8 && n <= AUTO_MAX_PIXELS && (turned ? sh : sw) == lab->width &&
        (turned ? sw : sh) == lab->height &&
        seed_pass_init(p, lab->width, lab->height, turn, sw, sh, lab->ws) == 0) {
        p->cls = smp_work_alloc(p->ws, n);
        p->sd = smp_work_alloc(p->ws, n * sizeof *p->sd);
        p->counts = calloc(SMP_KTH_BINS, sizeof *p->counts);
        p->on = p->cls && p->sd && p->counts;
    }
    if (!p->on) { /* the order is still the region finder's to follow */
        smp_seed_pass_release(p);
        p->turn = turn;
        p->sw = sw;
        p->sh = sh;
    }
    return p->on;
}

void smp_seed_pass_row(smp_seed_pass *p, int y, const float *lab_row, const unsigned char *flags_row)
{
    if (!p || !p->on)
        return;
    ptrdiff_t at, step;
    seed_walk(p, y, &at, &step);
    size_t cand = 0;
    for (int x = 0; x < p->sw; x++, at += step) {
        unsigned ok = (flags_row[x] & px_bad) == 0, seed = ok & is_skin_colour(lab_row + 3 * (size_t)x);
        p->cls[at] = (unsigned char)(ok * C_OK | seed * C_SEED);
        cand += seed;
    }
    p->cand += cand;
    smp_exposure_add(&p->exposure, lab_row, flags_row, (size_t)p->sw);
}

/* The deviations of d's rows, as far as stored rows [0, avail) allow:
 * running column sums of L and L^2 over the window's rows; then, for each
 * row that holds a candidate, the window sums along the whole row, one
 * independent short sum per pixel (which vectorises: a running prefix sum
 * along the row waits on each step, and cost 8 % of a 12 MP photo's
 * analysis), the ends (where the window is clipped) apart. The sums round
 * differently from the prefix differences they replaced: a flat area has
 * a deviation of exactly 0 where the old way left residues of about 1e-7
 * that depended on x, and so picked a scattered subset of equally smooth
 * pixels (test_auto's flat two-tone skin). */
static void seed_rows_follow(smp_seed_pass *p, const float *lab, smp_seed_rows *d, int avail)
{
    const int r = SEED_RADIUS, w = p->sw;
    double *c1 = d->c1, *c2 = d->c2;
    float *sd = d->sd;
    ptrdiff_t at, step;
    while (d->next < d->end) {
        int y = d->next, y0 = y - r < 0 ? 0 : y - r, y1 = y + r + 1 > p->sh ? p->sh : y + r + 1;
        if (y1 > avail)
            return;
        for (; d->hi < y1; d->hi++) {
            seed_walk(p, d->hi, &at, &step);
            for (int x = 0; x < w; x++, at += step) {
                double l = lab[3 * at];
                c1[x] += l;
                c2[x] += l * l;
            }
        }
        for (; d->lo < y0; d->lo++) {
            seed_walk(p, d->lo, &at, &step);
            for (int x = 0; x < w; x++, at += step) {
                double l = lab[3 * at];
                c1[x] -= l;
                c2[x] -= l * l;
            }
        }
        d->next++;
        seed_walk(p, y, &at, &step);
        const unsigned char *cls = p->cls;
        int any = 0;
        for (int x = 0; x < w && !any; x++)
            any = cls[at + x * step] & C_SEED;
        if (!any) {
            for (int x = 0; x < w; x++)
                p->sd[at + x * step] = INFINITY;
            continue;
        }
        int right = w - r > r ? w - r : r;
        for (int x = 0; x < r && x < w; x++)
            sd[x] = clipped_sd(c1, c2, w, x, r, y1 - y0);
        for (int x = right; x < w; x++)
            sd[x] = clipped_sd(c1, c2, w, x, r, y1 - y0);
        /* window_sd in two loops, the variances then their roots: GCC
         * vectorises each (the clamp to 0 and the root in one loop it
         * would not), with the same values. */
        const double inv = 1.0 / ((double)(y1 - y0) * (2 * r + 1));
        double *var = d->var;
        for (int x = r; x < w - r; x++) {
            double a = 0, b = 0;
            for (int i = -r; i <= r; i++) {
                a += c1[x + i];
                b += c2[x + i];
            }
            var[x] = window_var(a, b, inv);
        }
        for (int x = r; x < w - r; x++)
            sd[x] = (float)sqrt(var[x]);
        if (!p->counts) {
            for (int x = 0; x < w; x++, at += step)
                p->sd[at] = (cls[at] & C_SEED) ? sd[x] : INFINITY;
            continue;
        }
        /* A candidate's deviation counted too; the pass's pointers in
         * locals, which its stores could otherwise change for all GCC knows. */
        float *out = p->sd;
        uint32_t *counts = p->counts;
        size_t counted = 0;
        for (int x = 0; x < w; x++, at += step) {
            unsigned cand = (cls[at] & C_SEED) != 0;
            out[at] = cand ? sd[x] : INFINITY;
            counts[smp_kth_bin(sd[x])] += cand;
            counted += cand;
        }
        p->counted += counted;
    }
}

void smp_seed_pass_follow(smp_seed_pass *p, const float *lab, int rows)
{
    if (!p || !p->on)
        return;
    for (int part = 0; part < SMP_PARTS; part++)
        seed_rows_follow(p, lab, &p->rows[part], rows);
    p->complete = rows >= p->sh;
    for (int part = 0; part < SMP_PARTS; part++)
        p->complete &= p->rows[part].next == p->rows[part].end;
}

void smp_seed_pass_release(smp_seed_pass *p)
{
    if (!p)
        return;
    for (int part = 0; part < SMP_PARTS; part++)
        seed_rows_release(&p->rows[part]);
    smp_work_free(p->ws, p->cls);
    smp_work_free(p->ws, p->sd);
    free(p->counts);
    memset(p, 0, sizeof *p);
}

/* Collects the Lab of pixels with (cls & bit) (at most `cap`, on a fixed
 * stride) into a new array; *n is the count. The positions first, without
 * branches (each pixel's index is written to the next free place, which
 * only a taken pixel keeps: the bits are ragged, and a branch on them
 * mispredicted often enough to cost 3 % of a photo), then their colours.
 * Both in the two parts of the rows (team.h): `upper` of the `count`
 * pixels lie in the upper part's rows, which tells the lower part where
 * its stride starts and where its positions go. */
typedef struct collect_job {
    const small *s;
    unsigned char bit;
    size_t stride, first[SMP_PARTS + 1]; /* where each part's positions go */
    size_t skip;                         /* the lower part's start in its stride */
    uint32_t *at;
    float *px;
} collect_job;

/* A stretch of a row at a time: its pixels with the bit listed first
 * (each index written to the next free place, which only such a pixel
 * keeps), then every stride-th of the list taken, counting on from the
 * stretch before: k is how many were passed since the last one taken. */
#define POSITIONS_RUN 256

static void positions_part(void *arg, int part)
{
    collect_job *j = arg;
    const small *s = j->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    size_t k = part ? j->skip : 0, m = 0, mine = j->first[part + 1] - j->first[part], stride = j->stride;
    uint32_t *at = j->at + j->first[part], list[POSITIONS_RUN];
    for (size_t i0 = from; i0 < to; i0 += POSITIONS_RUN) {
        size_t i1 = i0 + POSITIONS_RUN < to ? i0 + POSITIONS_RUN : to, n = 0;
        for (size_t i = i0; i < i1; i++) {
            list[n] = (uint32_t)i; /* at most AUTO_MAX_PIXELS */
            n += (s->cls[i] & j->bit) != 0;
        }
        for (size_t q = k ? stride - k : 0; q < n && m < mine; q += stride)
            at[m++] = list[q];
        k = (k + n) % stride;
    }
}

static void colours_part(void *arg, int part)
{
    collect_job *j = arg;
    size_t lo, hi;
    smp_part_range(j->first[SMP_PARTS], part, &lo, &hi);
    for (size_t q = lo; q < hi; q++)
        memcpy(j->px + 3 * q, j->s->lab + 3 * (size_t)j->at[q], 3 * sizeof(float));
}

static float *collect(const small *s, unsigned char bit, size_t upper, size_t count, size_t cap, size_t *n)
{
    collect_job j = {.s = s, .bit = bit};
    j.stride = count > cap ? (count + cap - 1) / cap : 1;
    /* taken: every stride-th, from the first */
    j.first[1] = (upper + j.stride - 1) / j.stride;
    j.first[2] = (count + j.stride - 1) / j.stride;
    j.skip = upper % j.stride;
    j.px = smp_work_alloc(s->ws, (j.first[2] + 1) * 3 * sizeof(float));
    j.at = smp_work_alloc(s->ws, (j.first[2] + 1) * sizeof *j.at);
    if (!j.px || !j.at) {
        smp_work_free(s->ws, j.px);
        smp_work_free(s->ws, j.at);
        return NULL;
    }
    smp_team_split(s->team, positions_part, &j);
    smp_team_split(s->team, colours_part, &j);
    smp_work_free(s->ws, j.at);
    *n = j.first[2];
    return j.px;
}

/* The pixels with (cls & bit) as a 0/1 mask at the full size (nearest). */
static unsigned char *upscale(const small *s, unsigned char bit, int w, int h)
{
    unsigned char *out = smp_work_alloc(s->ws, (size_t)w * h);
    if (!out)
        return NULL;
    if (s->f == 1 && w == s->w && h == s->h) {
        unsigned char *restrict o = out;
        const unsigned char *restrict c = s->cls;
        for (size_t i = 0; i < (size_t)w * h; i++)
            o[i] = (c[i] & bit) != 0;
        return out;
    }
    /* Each small row is widened once (f copies of each byte), then copied
     * to the f full rows it covers; the last column and row of small
     * pixels also cover what the shrink's whole blocks left over. */
    for (int sy = 0; sy < s->h; sy++) {
        const unsigned char *c = s->cls + (size_t)sy * s->w;
        unsigned char *first = out + (size_t)sy * s->f * w;
        int x = 0;
        for (int sx = 0; sx < s->w; sx++) {
            unsigned char v = (c[sx] & bit) != 0;
            for (int end = sx + 1 < s->w ? (sx + 1) * s->f : w; x < end; x++)
                first[x] = v;
        }
        int last = sy + 1 < s->h ? (sy + 1) * s->f : h; /* rows [sy * f, last) */
        for (int y = sy * s->f + 1; y < last; y++)
            memcpy(out + (size_t)y * w, first, (size_t)w);
    }
    return out;
}

/* Step 4's bound: the squared distance from the skin colour a hair pixel
 * has at least, HAIR_FRACTION of the way to the hair's mode. */
static double hair_bound2(const double skin[3], const double hair[3])
{
    double dh = sqrt((hair[0] - skin[0]) * (hair[0] - skin[0]) +
                     (hair[1] - skin[1]) * (hair[1] - skin[1]) +
                     (hair[2] - skin[2]) * (hair[2] - skin[2]));
    return (HAIR_FRACTION * dh) * (HAIR_FRACTION * dh);
}

/* Found on blocks, kept per pixel: at factor f > 1 a block that is hair
 * as a whole can still hold a strand's edge mixed with skin, so each pixel
 * of the upscaled hair mask must itself pass step 4's test (at least
 * sqrt(lim2), from hair_bound2, away from the skin colour) and be usable.
 * On the evaluation set (whose 1600x1200 photos are searched at factor 2)
 * this took the automatic hair median from 0.44 to 0.42 ΔE00 and the hair
 * mask's precision from 0.983 to 0.985. */
static void refine_hair(const smp_lab_image *img, unsigned char *m, const double skin[3], double lim2)
{
    for (size_t i = 0; i < (size_t)img->width * img->height; i++)
        if (m[i])
            m[i] = smp_dist2_px(img->lab + 3 * i, skin) >= lim2 && !(img->flags[i] & px_bad);
}

/* One row of the 3x3 erosion of a 0/1 mask: e[x] = 1 when a, b, c (the
 * rows above, at and below) are all 1 over x-1..x+1; 0 on the border. */
static size_t erode_row(const unsigned char *a, const unsigned char *b, const unsigned char *c, int w,
                        unsigned char *col, unsigned char *e)
{
    size_t count = 0;
    for (int x = 0; x < w; x++)
        col[x] = a[x] & b[x] & c[x];
    e[0] = e[w - 1] = 0;
    for (int x = 1; x < w - 1; x++) {
        e[x] = col[x - 1] & col[x] & col[x + 1];
        count += e[x];
    }
    return count;
}

/* Keeps only the core of the hair mask (0/1 bytes): pixels whose 3x3
 * neighbourhood is all hair. Phone JPEGs keep colour at half resolution
 * (4:2:0), so the pixels at a strand's edge carry the skin's chroma; on
 * fine strands that biases the hair towards the skin by 2-5 ΔE00 in the
 * evaluation set. When fewer than a fifth of the pixels would remain
 * (stubble), the mask is kept whole: some colour beats none. A first pass
 * counts, a second erodes in place keeping two rows of the original. */
static smp_status core_of(unsigned char *m, int w, int h)
{
    if (w < 3 || h < 3)
        return SMP_OK; /* no pixel has a whole neighbourhood: kept whole */
    unsigned char *buf = malloc(4 * (size_t)w);
    if (!buf)
        return SMP_E_NOMEM;
    unsigned char *col = buf, *e = buf + w, *above = buf + 2 * (size_t)w, *here = buf + 3 * (size_t)w;
    size_t before = 0, after = 0;
    for (size_t i = 0; i < (size_t)w * h; i++)
        before += m[i];
    for (int y = 1; y < h - 1; y++) {
        const unsigned char *r = m + (size_t)y * w;
        after += erode_row(r - w, r, r + w, w, col, e);
    }
    if (after * 5 >= before) {
        memcpy(above, m, (size_t)w);
        memset(m, 0, (size_t)w);
        for (int y = 1; y < h - 1; y++) {
            unsigned char *r = m + (size_t)y * w;
            memcpy(here, r, (size_t)w);
            erode_row(above, here, r + w, w, col, r);
            unsigned char *t = above;
            above = here;
            here = t;
        }
        memset(m + (size_t)(h - 1) * w, 0, (size_t)w);
    }
    free(buf);
    return SMP_OK;
}

/* tan of 5°, 10°, ... 85°: the boundaries of the orientation bands as
 * slopes (45° exactly 1, as atan2 gives it exactly 45°), and past the
 * last one a slope no gradient reaches (band_of may look at index 17). */
static const double band_tan[18] = {
    0.087488663525924007, 0.17632698070846498, 0.2679491924311227,
    0.36397023426620234, 0.46630765815499858, 0.57735026918962573,
    0.70020753820970971, 0.83909963117727993, 1.0,
    1.19175359259421, 1.4281480067421144, 1.7320508075688767,
    2.1445069205095586, 2.7474774194546216, 3.7320508075688776,
    5.6712818196177066, 11.430052302761348, 1e300};

/* The slope gy / gx (both >= 0, not both 0) as u = gy / (gx + gy) in
 * [0, 1], which grows with it, cut into BAND_SLOTS equal slots. In u the
 * boundaries lie at least 0.04 apart (40° and 45°: 0.456 and 0.5), so a
 * slot and a rounding error either side of it hold at most one: the
 * boundaries certainly at or below any slope in slot i number
 * start[i], and only boundary start[i] itself needs the exact
 * test. Built from band_tan by band_table_init, once a photo. */
#define BAND_SLOTS 256
#define BAND_SLACK 1e-9 /* far above the rounding of u, far below a slot */

typedef struct band_table {
    unsigned char start[BAND_SLOTS + 1];
} band_table;

static void band_table_init(band_table *t)
{
    for (int i = 0; i <= BAND_SLOTS; i++) {
        double lo = (double)i / BAND_SLOTS - BAND_SLACK;
        int k = 0;
        while (k < 17 && band_tan[k] / (1.0 + band_tan[k]) < lo)
            k++;
        t->start[i] = (unsigned char)k;
    }
}

/* The 5° band (0-35) of the orientation of (gx, gy) modulo 180°, as
 * floor(atan2(gy, gx) in degrees, folded to [0, 180), / 5), decided by
 * band_tan[k] * |gx| against |gy| (no division there; the product can
 * round differently from the quotient only for a slope within a rounding
 * error of a boundary): 0-90° is the number of boundaries at or below the
 * slope, 90-180° is 180° minus the angle of (-gx, gy), whose boundaries
 * count strictly (so 90° itself is band 18), and gy = 0 is band 0 (0° or
 * 180°). The table only says where to look: every count is the exact
 * comparison's (regions.h; test_auto checks it against all 17). */
static inline int band_of(const band_table *t, double gx, double gy)
{
    double flip = copysign(1.0, gy); /* into the upper half-plane */
    gx *= flip;
    gy *= flip;
    double ax = fabs(gx), u = gy / (ax + gy);
    int k = t->start[u >= 0 && u <= 1 ? (int)(u * BAND_SLOTS) : 0]; /* NaN: any slot will do */
    int le = k + (band_tan[k] * ax <= gy);
    le = le < 17 ? le : 17; /* ax 0: every boundary, and the one past them */
    int lt = le - (le > 0 && band_tan[le > 0 ? le - 1 : 0] * ax == gy);
    int right = -(gx > 0), flat = -(gy == 0); /* masks: the sign of gx is as good as random */
    return (le & right) | ((35 - lt) & ~right & ~flat);
}

int smp_orientation_band(double gx, double gy)
{
    band_table t;
    band_table_init(&t);
    return band_of(&t, gx, gy);
}

/* The look takes every second row: on the 133 photos of the evaluation
 * set, the samples and the bench, the figure moved by at most 0.018
 * against every row (0.011 on all but one) and no verdict changed (the
 * straightest hair 0.279 -> 0.274, brick 0.361 -> 0.369, wood 0.335 ->
 * 0.336), for half the work. Those rows in four parts, each every eighth
 * row (hair is seldom spread evenly between the top and the bottom of a
 * photo), so that the threads can share them as they have time
 * (regions.h). */
#define STRAIGHT_PARTS SMP_AUTO_END_PARTS
#define STRAIGHT_ROW_STEP 2

typedef struct straight_job {
    const small *s;
    band_table bands;
    double hist[STRAIGHT_PARTS][36], total[STRAIGHT_PARTS];
} straight_job;

/* Part `part` of the rows (0 .. STRAIGHT_PARTS - 1). A row's hair pixels
 * are first listed, a stretch at a time (the mask's ragged edges make "is
 * this hair" a branch the processor cannot guess), then their gradients
 * added into two histograms in turn (one sum per band waits on the store
 * before it when neighbours share a band). */
#define STRAIGHT_RUN 256

static void straight_part(void *arg, int part)
{
    straight_job *j = arg;
    const small *s = j->s;
    double two[2][36] = {{0}}, tot[2] = {0, 0};
    int at[STRAIGHT_RUN];
    for (int y = 1 + STRAIGHT_ROW_STEP * part; y < s->h - 1; y += STRAIGHT_ROW_STEP * STRAIGHT_PARTS)
        for (int x0 = 1; x0 < s->w - 1; x0 += STRAIGHT_RUN) {
            int x1 = x0 + STRAIGHT_RUN < s->w - 1 ? x0 + STRAIGHT_RUN : s->w - 1, n = 0;
            const unsigned char *cls = s->cls + (size_t)y * s->w;
            for (int x = x0; x < x1; x++) {
                at[n] = x;
                n += (cls[x] & C_HAIR) != 0;
            }
            for (int q = 0; q < n; q++) {
                size_t i = (size_t)y * s->w + at[q];
#define LSTAR(dx, dy) s->lab[3 * (i + (ptrdiff_t)(dy) * s->w + (dx))]
                double gx = LSTAR(1, -1) + 2 * LSTAR(1, 0) + LSTAR(1, 1) - LSTAR(-1, -1) -
                            2 * LSTAR(-1, 0) - LSTAR(-1, 1);
                double gy = LSTAR(-1, 1) + 2 * LSTAR(0, 1) + LSTAR(1, 1) - LSTAR(-1, -1) -
                            2 * LSTAR(0, -1) - LSTAR(1, -1);
#undef LSTAR
                double m = gx * gx + gy * gy;
                m = m < 1.0 ? 0.0 : m; /* flat: no edge to orient (adds nothing) */
                two[q & 1][band_of(&j->bands, gx, gy)] += m;
                tot[q & 1] += m;
            }
        }
    for (int b = 0; b < 36; b++)
        j->hist[part][b] = two[0][b] + two[1][b];
    j->total[part] = tot[0] + tot[1];
}

/* How straight the hair's edges are: the largest share of the gradient
 * energy (Sobel on L*, inside the hair mask on every second row, at the
 * analysis scale) that falls in one 5° band of orientation. Hair strands
 * curve, so their edges spread over many bands (at most 0.27 on the 114
 * consult photos of the evaluation set, 0.15 on most); the straight
 * parallel lines of brick mortar and wood grain put 0.37 and 0.34 in one
 * band. The sums (of each part's two, then of the parts in order) are
 * added after: the figure can differ from one sum over the whole image in
 * its last bits, the same whatever thread took which part. */
static double straightness_of(const straight_job *j)
{
    double peak = 0, total = 0;
    for (int p = 0; p < STRAIGHT_PARTS; p++)
        total += j->total[p];
    for (int b = 0; b < 36; b++) {
        double h = 0;
        for (int p = 0; p < STRAIGHT_PARTS; p++)
            h += j->hist[p][b];
        if (h > peak)
            peak = h;
    }
    return total > 0 ? peak / total : 0.0;
}

/* Two of the four parts: 2 * half and the next. */
static void straight_half(void *arg, int half)
{
    straight_part(arg, 2 * half);
    straight_part(arg, 2 * half + 1);
}

static double straightness(const small *s)
{
    straight_job j = {.s = s};
    band_table_init(&j.bands);
    smp_team_split(s->team, straight_half, &j);
    return straightness_of(&j);
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
    unsigned char *dist; /* a chamfer distance map */
    unsigned char *dist2; /* the lower part's, beside it (chamfer_part) */
    unsigned char *row;  /* one row of scratch for each part */
    float *skin_d2;      /* each pixel's squared distance from the skin, as a float (skin_part) */
} work;

static void work_release(work *k)
{
    small_release(&k->s);
    smp_work_free(k->s.ws, k->dist);
    smp_work_free(k->s.ws, k->dist2);
    smp_work_free(k->s.ws, k->skin_d2);
    free(k->row);
}

/* Step 1's passes, each over its part's rows (team.h): the skin-coloured
 * candidates, their local deviations (over the parts of the rows as
 * stored: smp_seed_pass), and the cut to the smoothest. */
typedef struct seed_job {
    small *s;
    smp_seed_pass *pass; /* deviation_part's */
    float tau;  /* the cut */
    size_t cand[SMP_PARTS], seeds[SMP_PARTS];
} seed_job;

static void candidates_part(void *arg, int part)
{
    seed_job *j = arg;
    small *s = j->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    size_t cand = 0;
    for (size_t i = from; i < to; i++) {
        unsigned seed = ((s->cls[i] & C_OK) != 0) & is_skin_colour(s->lab + 3 * i);
        s->cls[i] |= (unsigned char)(seed * C_SEED);
        cand += seed;
    }
    j->cand[part] = cand;
}

static void deviation_part(void *arg, int part)
{
    seed_job *j = arg;
    seed_rows_follow(j->pass, j->s->lab, &j->pass->rows[part], j->pass->sh);
}

/* s->sd, as smp_seed_pass takes it: 0, or -1 when memory ran out. */
static int deviations(seed_job *j)
{
    small *s = j->s;
    smp_seed_pass p;
    if (seed_pass_init(&p, s->w, s->h, s->turn, s->sw, s->sh, s->ws) != 0 ||
        !(s->sd = smp_work_alloc(s->ws, (size_t)s->w * s->h * sizeof *s->sd))) {
        smp_seed_pass_release(&p);
        return -1;
    }
    p.on = 1;
    p.cls = s->cls; /* lent */
    p.sd = s->sd;
    j->pass = &p;
    smp_team_split(s->team, deviation_part, j);
    p.cls = NULL;
    p.sd = NULL;
    smp_seed_pass_release(&p);
    return 0;
}

static void cut_part(void *arg, int part)
{
    seed_job *sj = arg;
    small *s = sj->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    const float *restrict sd = s->sd, tau = sj->tau;
    unsigned char *restrict cls = s->cls;
    size_t seeds = 0;
    for (size_t i0 = from; i0 < to; i0 += SMP_BYTE_RUN) { /* counted in bytes: util.h */
        size_t i1 = i0 + SMP_BYTE_RUN < to ? i0 + SMP_BYTE_RUN : to;
        unsigned char n = 0;
        for (size_t i = i0; i < i1; i++) { /* a pixel that is no candidate has sd +infinity */
            unsigned char keep = sd[i] <= tau;
            n += keep;
            cls[i] &= (unsigned char)~((unsigned char)(keep - 1) & C_SEED);
        }
        seeds += n;
    }
    sj->seeds[part] = seeds;
}

/* Step 1-2: the skin colour from smooth skin-coloured pixels. Returns 0
 * when there are too few (not a photo of skin), -1 when memory ran out.
 * Leaves C_SEED on the seeds. */
static int find_skin(work *k, double skin[3], double *ts)
{
    small *s = &k->s;
    size_t n = (size_t)s->w * s->h;
    seed_job job = {.s = s};
    size_t cand = s->cand;
    if (!s->sd) {
        smp_team_split(s->team, candidates_part, &job);
        cand = job.cand[0] + job.cand[1];
    }
    /* 1 % of the photo: less bare skin than that gives no reliable colour. */
    if (cand < n / 100 || cand < 50)
        return 0;
    /* The smoothest 30 %: local L* deviation (radius 2) up to its 30th
     * percentile (the pixels that are no candidates, at +infinity, lie
     * beyond it and in no bin of the candidates' counts, which the
     * conversion's pass has taken already). */
    if (!s->sd && deviations(&job) != 0)
        return -1;
    job.tau = s->counts ? smp_kth_float_counted(s->team, s->sd, n, (cand * 3) / 10, s->counts, s->ws)
                        : smp_kth_float_team(s->team, s->sd, n, 1, (cand * 3) / 10, NULL, s->ws);
    if (isnan(job.tau))
        return -1;
    smp_team_split(s->team, cut_part, &job);
    size_t seeds = job.seeds[0] + job.seeds[1];
    smp_work_free(s->ws, s->sd);
    free(s->counts);
    s->sd = NULL;
    s->counts = NULL;
    size_t np;
    float *px = collect(s, C_SEED, job.seeds[0], seeds, MODE_SAMPLE, &np);
    if (!px || smp_centre_mode_team(s->team, px, np, skin, s->ws) != SMP_OK) {
        smp_work_free(s->ws, px);
        return -1;
    }
    /* The seeds' mode must itself be a skin colour: brick or wood whose
     * texture strays into the skin box pixel by pixel is not skin. */
    float sf[3] = {(float)skin[0], (float)skin[1], (float)skin[2]};
    if (!is_skin_colour(sf)) {
        smp_work_free(s->ws, px);
        return 0;
    }
    /* Noise spread of the skin: median distance of the seeds from S. */
    float *d = px; /* the distances overwrite the pixels they come from */
    for (size_t i = 0; i < np; i++)
        d[i] = (float)sqrt(smp_dist2_px(px + 3 * i, skin));
    double spread = np ? smp_kth_float_team(s->team, d, np, 1, np / 2, px + np, s->ws) : 0.0; /* room: px's rest */
    smp_work_free(s->ws, px);
    /* 3 spreads (plus 2 for texture the seeds missed), kept within 5-12
     * ΔE76: hair of every colour in the evaluation set differs from its
     * skin by 12 or more. */
    *ts = 3.0 * spread + 2.0;
    *ts = *ts < 5.0 ? 5.0 : *ts > 12.0 ? 12.0 : *ts;
    return 1;
}

/* Steps 2-5, each pass over its part's rows (team.h), with its counts. */
typedef struct segment_job {
    work *k;
    const double *skin;
    double ts2, lim2;
    unsigned char bit; /* chamfer_part: the distance from these pixels */
    unsigned char mark; /* beyond_part: what far non-skin becomes */
    int R;
    size_t nskin[SMP_PARTS], far[SMP_PARTS], nhair[SMP_PARTS], nscalp[SMP_PARTS];
} segment_job;

static void skin_part(void *arg, int part)
{
    segment_job *j = arg;
    small *s = &j->k->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    size_t nskin = 0;
    double d2[NEAR_RUN];
    int near[NEAR_RUN];
    /* restrict: a byte store could be to anything, s included, and GCC
     * then read s->cls again for every pixel. Two loops, each of a width
     * GCC vectorises: the doubles (kept as floats, and their test), then
     * the bytes. */
    unsigned char *restrict cls = s->cls;
    float *restrict kept = j->k->skin_d2;
    const double ts2 = j->ts2;
    for (size_t i0 = from, n; i0 < to; i0 += n) {
        n = dist2_next(s, i0, to, j->skin, d2);
        float *restrict k = kept + i0;
        for (size_t q = 0; q < n; q++) {
            k[q] = (float)d2[q];
            near[q] = d2[q] < ts2;
        }
        unsigned char *restrict c = cls + i0;
        unsigned run = 0;
        for (size_t q = 0; q < n; q++) {
            unsigned char ok = c[q] & C_OK ? 1 : 0, in = (unsigned char)near[q]; /* usable pixels only */
            c[q] = (unsigned char)((c[q] & (C_OK | C_SEED)) | (ok & in) * C_SKIN | (ok & (in ^ 1)) * C_NONSKIN);
            run += ok & in;
        }
        nskin += run;
    }
    j->nskin[part] = nskin;
}

/* The chamfer distance from j->bit for a part's rows: the upper part's
 * into dist, the lower part's into dist2. Each part runs the transform
 * over its rows and `reach` + 1 rows of the other part's beside them, as
 * an image of its own: a distance up to `exact` comes along a path of at
 * most exact / 3 pixels, so it lies inside that band and is found the
 * same; a larger one stays larger. So the masks compared with R below are
 * the same as from one transform over the whole image. */
static void chamfer_part(void *arg, int part)
{
    segment_job *j = arg;
    work *k = j->k;
    const small *s = &k->s;
    int y0, y1, exact = j->R + 1, margin = (exact + 2) / 3 + 1;
    part_rows(s, part, &y0, &y1);
    y0 = y0 - margin < 0 ? 0 : y0 - margin;
    y1 = y1 + margin > s->h ? s->h : y1 + margin;
    size_t at = (size_t)y0 * s->w;
    chamfer(s->cls + at, j->bit, s->w, y1 - y0, (part ? k->dist2 : k->dist) + at, k->row + part * (size_t)s->w,
            exact);
}

/* Non-skin farther than R from the chamfer's pixels is marked j->mark. */
static void beyond_part(void *arg, int part)
{
    segment_job *j = arg;
    small *s = &j->k->s;
    const unsigned char *d = part ? j->k->dist2 : j->k->dist;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    unsigned char *restrict cls = s->cls;
    const unsigned char R = (unsigned char)j->R, mark = j->mark;
    size_t far = 0;
    for (size_t i0 = from; i0 < to; i0 += SMP_BYTE_RUN) { /* counted in bytes: util.h */
        size_t i1 = i0 + SMP_BYTE_RUN < to ? i0 + SMP_BYTE_RUN : to;
        unsigned char n = 0;
        for (size_t i = i0; i < i1; i++) {
            unsigned char is = (unsigned char)(((cls[i] & C_NONSKIN) != 0) & (d[i] > R));
            cls[i] |= (unsigned char)(-is & mark);
            n += is;
        }
        far += n;
    }
    j->far[part] = far;
}

/* Step 4 from the distances skin_part kept as floats (regions.h): a pass
 * that vectorises, counting the pixels whose float equals lim2's (none on
 * the 135 bench photos), then those decided from their Lab values. */
size_t smp_hair_step(unsigned char *restrict cls, const float *restrict d2, const float *lab, size_t n,
                     const double skin[3], double lim2, unsigned char thin, unsigned char hair)
{
    const float at = (float)lim2;
    size_t nhair = 0, unsure = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned is_thin = (cls[i] & thin) != 0;
        unsigned hair_px = is_thin & (d2[i] > at);
        unsure += is_thin & (d2[i] == at);
        cls[i] |= (unsigned char)(hair_px * hair);
        nhair += hair_px;
    }
    for (size_t i = 0; unsure && i < n; i++)
        if ((cls[i] & thin) && d2[i] == at) {
            unsigned hair_px = smp_dist2_px(lab + 3 * i, skin) >= lim2;
            cls[i] |= (unsigned char)(hair_px * hair);
            nhair += hair_px;
            unsure--;
        }
    return nhair;
}

static void hair_part(void *arg, int part)
{
    segment_job *j = arg;
    small *s = &j->k->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    j->nhair[part] = smp_hair_step(s->cls + from, j->k->skin_d2 + from, s->lab + 3 * from, to - from, j->skin,
                                   j->lim2, C_THIN, C_HAIR);
}

/* Step 5: skin with no non-skin pixel among its 8 neighbours, which is a
 * chamfer distance of 6 (2 px) or more from non-skin. First into dist (a
 * part reads the rows beside its own, which the other part does not
 * change in this pass), then into the bits. Without branches inside a row
 * (which pixels are skin is ragged): the rows above and below (a row
 * itself at the top and bottom, which adds nothing), then each pixel with
 * its two neighbours in the row. */
static void scalp_part(void *arg, int part)
{
    segment_job *j = arg;
    const small *s = &j->k->s;
    int w = s->w, y0, y1;
    part_rows(s, part, &y0, &y1);
    unsigned char *r = j->k->row + part * (size_t)w;
    for (int y = y0; y < y1; y++) {
        const unsigned char *c = s->cls + (size_t)y * w;
        const unsigned char *up = y > 0 ? c - w : c, *down = y + 1 < s->h ? c + w : c;
        unsigned char *out = j->k->dist + (size_t)y * w;
        for (int x = 0; x < w; x++)
            r[x] = (c[x] | up[x] | down[x]) & C_NONSKIN;
        /* the ends apart, so that the middle has no test on x (and vectorises) */
        out[0] = (unsigned char)(((c[0] & C_SKIN) != 0) & ((r[0] | (w > 1 ? r[1] : 0)) == 0));
        for (int x = 1; x < w - 1; x++)
            out[x] = (unsigned char)(((c[x] & C_SKIN) != 0) & ((r[x - 1] | r[x] | r[x + 1]) == 0));
        if (w > 1)
            out[w - 1] = (unsigned char)(((c[w - 1] & C_SKIN) != 0) & ((r[w - 2] | r[w - 1]) == 0));
    }
}

static void mark_scalp_part(void *arg, int part)
{
    segment_job *j = arg;
    small *s = &j->k->s;
    size_t from, to;
    part_pixels(s, part, &from, &to);
    unsigned char *restrict cls = s->cls;
    const unsigned char *restrict in = j->k->dist; /* 0 or 1 */
    size_t count = 0;
    for (size_t i0 = from; i0 < to; i0 += SMP_BYTE_RUN) {
        size_t i1 = i0 + SMP_BYTE_RUN < to ? i0 + SMP_BYTE_RUN : to;
        unsigned char n = 0;
        for (size_t i = i0; i < i1; i++) {
            cls[i] |= (unsigned char)(-in[i] & C_SCALP);
            n += in[i];
        }
        count += n;
    }
    j->nscalp[part] = count;
}

/* Steps 2-5 for a given skin colour: sets C_SKIN, C_NONSKIN, C_THICK,
 * C_THIN, C_HAIR and C_SCALP afresh and returns the hair's mode in hair[]
 * (zero when none). */
static smp_status segment(work *k, const double skin[3], double ts, double hair[3], size_t *nskin_out,
                          size_t *nhair_out, size_t *nscalp_out)
{
    small *s = &k->s;
    segment_job j = {.k = k, .skin = skin, .ts2 = ts * ts};
    if (!k->skin_d2 && !(k->skin_d2 = smp_work_alloc(s->ws, (size_t)s->w * s->h * sizeof *k->skin_d2)))
        return SMP_E_NOMEM;
    smp_team_split(s->team, skin_part, &j);

    /* Step 3: thick non-skin (opening of radius R) is background. R: twice
     * the widest strand at the analysis scale (about 1/60 of the short
     * side), at least 8 px; at most 18 px at 1.2 MP, so within the
     * distance map's 255. */
    int shortside = s->w < s->h ? s->w : s->h;
    int R = 3 * (shortside / 60 > 8 ? shortside / 60 : 8); /* chamfer units */
    j.R = R > 250 ? 250 : R;
    j.bit = C_SKIN;
    j.mark = C_THICK;
    smp_team_split(s->team, chamfer_part, &j);
    smp_team_split(s->team, beyond_part, &j);
    j.bit = C_THICK;
    j.mark = C_THIN; /* thin non-skin: hair candidates */
    smp_team_split(s->team, chamfer_part, &j);
    smp_team_split(s->team, beyond_part, &j);
    size_t ncand = j.far[0] + j.far[1];

    /* Step 4: the hair's mode, then the pixels at least half as far from
     * the skin as it is. */
    hair[0] = hair[1] = hair[2] = 0;
    if (ncand >= 50) {
        size_t np;
        float *px = collect(s, C_THIN, j.far[0], ncand, MODE_SAMPLE, &np);
        if (!px || smp_centre_mode_team(s->team, px, np, hair, s->ws) != SMP_OK) {
            smp_work_free(s->ws, px);
            return SMP_E_NOMEM;
        }
        smp_work_free(s->ws, px);
        j.lim2 = hair_bound2(skin, hair);
        smp_team_split(s->team, hair_part, &j);
    }

    smp_team_split(s->team, scalp_part, &j);
    smp_team_split(s->team, mark_scalp_part, &j);
    *nskin_out = j.nskin[0] + j.nskin[1];
    *nhair_out = j.nhair[0] + j.nhair[1];
    *nscalp_out = j.nscalp[0] + j.nscalp[1];
    return SMP_OK;
}

smp_status smp_regions_auto(const smp_lab_image *lab, smp_regions *out, smp_auto_info *info)
{
    return smp_regions_auto_seeded(lab, NULL, out, info);
}

smp_status smp_regions_auto_seeded(const smp_lab_image *lab, smp_seed_pass *seed, smp_regions *out,
                                   smp_auto_info *info)
{
    smp_auto_rest *rest;
    smp_status st = smp_regions_auto_begin(lab, seed, out, info, &rest);
    smp_regions_auto_end(rest, info, lab->team);
    return st;
}

/* What the last step needs: the small image with its hair marked, and
 * whether the photo passed every other test of looking like a scalp. */
struct smp_auto_rest {
    small s;
    int plausible;
    straight_job straight; /* its parts, as they are taken */
};

void smp_regions_auto_end_part(smp_auto_rest *rest, int part)
{
    if (rest && part >= 0 && part < STRAIGHT_PARTS)
        straight_part(&rest->straight, part);
}

void smp_regions_auto_end_finish(smp_auto_rest *rest, smp_auto_info *info)
{
    if (!rest)
        return;
    if (info) {
        info->straightness = straightness_of(&rest->straight);
        info->looks_like_scalp = rest->plausible && info->straightness <= MAX_STRAIGHTNESS;
    }
    small_release(&rest->s);
    free(rest);
}

void smp_regions_auto_end(smp_auto_rest *rest, smp_auto_info *info, smp_team *team)
{
    if (rest && info)
        smp_team_split(team, straight_half, &rest->straight);
    smp_regions_auto_end_finish(rest, info);
}

smp_status smp_regions_auto_begin(const smp_lab_image *lab, smp_seed_pass *seed, smp_regions *out,
                                  smp_auto_info *info, smp_auto_rest **rest)
{
    *rest = NULL;
    memset(out, 0, sizeof *out);
    memset(info, 0, sizeof *info);
    out->ws = lab->ws;
    work k;
    memset(&k, 0, sizeof k);
    k.s.ws = lab->ws;
    k.s.team = lab->team;
    smp_status st = shrink(lab, seed, &k.s);
    if (st != SMP_OK) {
        work_release(&k);
        return st == SMP_E_NOMEM ? st : SMP_OK; /* too small to look at: nothing found */
    }
    small *s = &k.s;
    size_t n = (size_t)s->w * s->h;
    k.dist = smp_work_alloc(k.s.ws, n);
    k.dist2 = smp_work_alloc(k.s.ws, n);
    k.row = malloc(SMP_PARTS * (size_t)s->w);
    if (!k.dist || !k.dist2 || !k.row) {
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
     * are not ruler-straight lines (straightness, in smp_regions_auto_end). */
    int plausible = nhair >= 50 && nscalp >= 50 && (double)nscalp >= MIN_SCALP_SHARE * n &&
                    info->contrast_de00 >= 3.0;

    st = SMP_OK;
    if (nhair) {
        out->hair = upscale(s, C_HAIR, lab->width, lab->height);
        if (out->hair && s->f > 1)
            refine_hair(lab, out->hair, skin, hair_bound2(skin, hair));
        if (!out->hair || core_of(out->hair, lab->width, lab->height) != SMP_OK)
            st = SMP_E_NOMEM;
    }
    if (nscalp && st == SMP_OK && !(out->scalp = upscale(s, C_SCALP, lab->width, lab->height)))
        st = SMP_E_NOMEM;
    out->hair_source = out->hair ? SMP_SOURCE_AUTO : SMP_SOURCE_NONE;
    out->scalp_source = out->scalp ? SMP_SOURCE_AUTO : SMP_SOURCE_NONE;
    if (st != SMP_OK) {
        smp_regions_release(out);
        work_release(&k);
        return st;
    }
    if (nhair && (*rest = malloc(sizeof **rest))) {
        (*rest)->s = k.s; /* the small image goes on to the last step */
        (*rest)->plausible = plausible;
        memset(&(*rest)->straight, 0, sizeof (*rest)->straight);
        (*rest)->straight.s = &(*rest)->s;
        band_table_init(&(*rest)->straight.bands);
        k.s.own = NULL;
        k.s.cls = NULL;
        k.s.sd = NULL;
    } else if (nhair) { /* no room to leave it for later: now */
        info->straightness = straightness(s);
        info->looks_like_scalp = plausible && info->straightness <= MAX_STRAIGHTNESS;
    }
    work_release(&k);
    return SMP_OK;
}
