/*
 * measure.c: the `measure` stage, a robust colour for a region.
 *
 * In:  a Lab image, a region mask, which material the region holds.
 * Out: its colour (the mode of the pure material's pixels), pixel count and
 *      spread (median ΔE00 from the centre).
 * Not: finding regions, white balance, ITA° (the pipeline derives it).
 *
 * See measure.h for the method and why the mode. Large regions are sampled
 * on a fixed stride (at most SAMPLE_MAX pixels), so the cost is bounded and
 * the result repeatable; counts are scaled back to the whole region.
 */
#include "measure.h"

#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "team.h"
#include "util.h"

/* ---- sums over four lanes -------------------------------------------- */

/* The Lloyd steps and the mean shift below add, for every pixel of a
 * sample, its channels times 0 or 1 into a handful of sums. Added one
 * pixel after another they cost about ten scalar operations a pixel, and
 * GCC may not vectorise a sum of doubles by itself (it would change the
 * order of the additions). So each sum is kept in four lanes, lane l
 * taking pixels l, l + 4, l + 8 ..., and the lanes are added at the end as
 * (0 + 1) + (2 + 3): an order of our own, the same on every CPU and in both
 * builds of the library (CMakeLists.txt, SMP_HWCAPS: four doubles to an
 * instruction with AVX2, two pairs of two without). Against one sum in
 * pixel order a result moves by rounding only (about 1e-16 of it); the JSON
 * of the 135 bench photos stayed byte-identical (issue 5). GCC's vector
 * extension (clang has it too): no intrinsics, and no vector crosses a
 * function call (which would make the ABI depend on the build). */
typedef double lanes __attribute__((vector_size(4 * sizeof(double))));
typedef float lanes_f __attribute__((vector_size(4 * sizeof(float))));
typedef long long lanes_mask __attribute__((vector_size(4 * sizeof(long long))));

/* dst = the four floats at p, as doubles. */
#define LANES_LOAD(dst, p)                                                                          \
    do {                                                                                            \
        lanes_f f_;                                                                                 \
        memcpy(&f_, (p), sizeof f_);                                                                \
        (dst) = __builtin_convertvector(f_, lanes);                                                 \
    } while (0)
/* The channels of pixels i to i + 3 from the arrays L, A and B. */
#define LANES_PIXELS(l, a, b, L, A, B, i)                                                           \
    do {                                                                                            \
        LANES_LOAD(l, (L) + (i));                                                                   \
        LANES_LOAD(a, (A) + (i));                                                                   \
        LANES_LOAD(b, (B) + (i));                                                                   \
    } while (0)
/* The lanes' total, in the fixed order. */
#define LANES_SUM(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))
/* 1.0 where a comparison held, 0.0 elsewhere. */
#define LANES_ONE_WHERE(mask) ((lanes)((lanes_mask)((lanes){1, 1, 1, 1}) & (mask)))

/* The squared distance of lanes (l, a, b) from c, as smp_dist2. */
#define LANES_DIST2(l, a, b, c)                                                                     \
    (((l) - (c)[0]) * ((l) - (c)[0]) + ((a) - (c)[1]) * ((a) - (c)[1]) + ((b) - (c)[2]) * ((b) - (c)[2]))

/* 50,000 pixels (issue 5; 250,000 before): on the 9 sample photos the hair
 * and scalp colours moved by 0.06 ΔE76 or less against 250,000, and the
 * bench/accuracy medians did not get worse (hair 0.43 -> 0.42 ΔE00, skin
 * 0.27, ITA° 0.28 -> 0.27); the measurement costs a fifth. 20,000 moved the
 * ITA° median to 0.33. */
#define SAMPLE_MAX 50000
/* Pixels used for the spread figure (ΔE00 through LittleCMS is costly):
 * the standard error of a median of 5,000 is about 2 % of the spread
 * (1.25 sigma / sqrt(n)), under the 0.1 the output rounds to. */
#define SPREAD_MAX 5000
/* Two groups whose centres are closer than this (ΔE76) are one material
 * seen with noise: a split would only cut the noise in two. 5 units is
 * about 2.5 ΔE00 for dark colours, well above camera noise. */
#define SPLIT_MIN_DE76 5.0
/* Highlights and shadows: beyond 3 robust standard deviations of L*. */
#define OUTLIER_Z 3.0
#define MAD_TO_SIGMA 1.4826 /* MAD of a normal distribution is 0.6745 sigma */

/* Median of channel c of n Lab triples; scratch holds n floats. */
static double channel_median(const float *px, size_t n, int c, float *scratch)
{
    return smp_kth_float(px + c, n, 3, n / 2, scratch);
}

void smp_centre_mean(const float *px, size_t n, double out[3])
{
    double s[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++)
        for (int c = 0; c < 3; c++)
            s[c] += px[3 * i + c];
    for (int c = 0; c < 3; c++)
        out[c] = n ? s[c] / (double)n : 0.0;
}

smp_status smp_centre_median(const float *px, size_t n, double out[3])
{
    float *scratch = malloc((n ? n : 1) * sizeof *scratch);
    if (!scratch)
        return SMP_E_NOMEM;
    for (int c = 0; c < 3; c++)
        out[c] = n ? channel_median(px, n, c, scratch) : 0.0;
    free(scratch);
    return SMP_OK;
}

/* The pixels as three arrays of channels (l, a, b: n each) and room for
 * one more (w): the mode's loops over them vectorise, as in two_means. */
typedef struct channels {
    float *l, *a, *b, *w;
    size_t n;
} channels;

/* One step of the flat-kernel mean shift: the mean of the pixels within
 * sqrt(r2) of c (into next); returns how many. Each pixel's value is added
 * times 1 or 0 (adding a 0 leaves a sum as it was), over four lanes:
 * branch-free, since about one pixel in ten lies near the kernel's edge. */
static size_t shift_step(const channels *ch, const double c[3], double r2, double next[3])
{
    const float *L = ch->l, *A = ch->a, *B = ch->b;
    size_t n = ch->n, i = 0;
    lanes s0 = {0}, s1 = {0}, s2 = {0}, in = {0};
    for (; i + 4 <= n; i += 4) {
        lanes l, a, b;
        LANES_PIXELS(l, a, b, L, A, B, i);
        lanes w = LANES_ONE_WHERE(LANES_DIST2(l, a, b, c) <= r2);
        s0 += w * l;
        s1 += w * a;
        s2 += w * b;
        in += w; /* a count (exact: n is far below 2^53) */
    }
    double t0 = LANES_SUM(s0), t1 = LANES_SUM(s1), t2 = LANES_SUM(s2), count = LANES_SUM(in);
    for (; i < n; i++) /* the last n % 4 */
        if (smp_dist2(L[i], A[i], B[i], c) <= r2) {
            t0 += L[i];
            t1 += A[i];
            t2 += B[i];
            count += 1;
        }
    size_t m = (size_t)count;
    if (m) {
        next[0] = t0 / m;
        next[1] = t1 / m;
        next[2] = t2 / m;
    }
    return m;
}

/* Mean shift from out[] until a step moves it by less than 0.001. */
static void mean_shift(const channels *ch, double r2, double out[3])
{
    for (int iter = 0; iter < 100; iter++) {
        double next[3];
        if (shift_step(ch, out, r2, next) == 0)
            break;
        double shift = (next[0] - out[0]) * (next[0] - out[0]) +
                       (next[1] - out[1]) * (next[1] - out[1]) +
                       (next[2] - out[2]) * (next[2] - out[2]);
        memcpy(out, next, sizeof next);
        if (shift < 1e-6)
            break;
    }
}

/* The mode's start: the channels' medians, and the channels as arrays,
 * in two parts (team.h): L* and a* in one, b* and the arrays in the other,
 * each with scratch of its own. */
typedef struct mode_start {
    const float *px;
    size_t n;
    const channels *ch;
    float *scratch[SMP_PARTS]; /* n floats each */
    double med[3];
} mode_start;

static void mode_start_part(void *arg, int part)
{
    mode_start *m = arg;
    if (part == 0) {
        m->med[0] = channel_median(m->px, m->n, 0, m->scratch[0]);
        m->med[1] = channel_median(m->px, m->n, 1, m->scratch[0]);
    } else {
        m->med[2] = channel_median(m->px, m->n, 2, m->scratch[1]);
        smp_lab_apart(m->px, m->n, m->ch->l, m->ch->a, m->ch->b);
    }
}

smp_status smp_centre_mode_team(smp_team *team, const float *px, size_t n, double out[3], smp_workspace *ws)
{
    if (n == 0) {
        out[0] = out[1] = out[2] = 0.0;
        return SMP_OK;
    }
    float *room = smp_work_alloc(ws, 6 * n * sizeof *room);
    if (!room)
        return SMP_E_NOMEM;
    channels ch = {room, room + n, room + 2 * n, room + 3 * n, n};
    mode_start start = {px, n, &ch, {room + 4 * n, room + 5 * n}, {0, 0, 0}};
    smp_team_split(team, mode_start_part, &start);
    memcpy(out, start.med, sizeof start.med);
    float *scratch = start.scratch[0];
    /* Kernel radius from the data: the median distance from the median,
     * which for the pure material's noise cloud is about 1.5 sigma; kept
     * between 2 and 6 ΔE76 so that a noisy dark photo still converges and a
     * mixed one cannot swallow its mixtures. */
    float *d = ch.w;
    for (size_t i = 0; i < n; i++)
        d[i] = (float)sqrt(smp_dist2(ch.l[i], ch.a[i], ch.b[i], out));
    double r = smp_kth_float(d, n, 1, n / 2, scratch);
    r = r < 2.0 ? 2.0 : r > 6.0 ? 6.0 : r;
    mean_shift(&ch, r * r, out);
    smp_work_free(ws, room);
    return SMP_OK;
}

smp_status smp_centre_mode(const float *px, size_t n, double out[3], smp_workspace *ws)
{
    return smp_centre_mode_team(NULL, px, n, out, ws);
}

/* The region's usable pixels, sampled on a fixed stride. */
typedef struct sample {
    float *px;          /* n Lab triples */
    size_t n;
    size_t region;      /* pixels in the mask */
    size_t usable;      /* of those, not transparent and not clipped */
    smp_workspace *ws;  /* the image's, where px and all scratch come from */
} sample;

/* Counts the region's pixels and its usable ones (a pass without branches,
 * which vectorises), then takes the usable pixels at every p-th position in
 * raster order, p chosen so that about SAMPLE_MAX to 2 * SAMPLE_MAX are
 * taken and prime to the width (so the sample does not fall on the same
 * few columns). Only every p-th pixel's colour is read: the Lab image is
 * 12 bytes a pixel, and reading all of it cost more than the measurement. */
static smp_status gather(const smp_lab_image *img, const unsigned char *mask, sample *s)
{
    const unsigned char skip = SMP_PX_TRANSPARENT | SMP_PX_CLIPPED_HIGH | SMP_PX_CLIPPED_LOW;
    const unsigned char *flags = img->flags;
    size_t total = (size_t)img->width * img->height;
    memset(s, 0, sizeof *s);
    s->ws = img->ws;
    size_t region = 0, usable = 0;
    for (size_t i0 = 0; i0 < total; i0 += SMP_BYTE_RUN) { /* counted in bytes: util.h */
        size_t i1 = i0 + SMP_BYTE_RUN < total ? i0 + SMP_BYTE_RUN : total;
        unsigned char in_run = 0, ok_run = 0;
        for (size_t i = i0; i < i1; i++) {
            unsigned char in = !mask || mask[i] != 0;
            in_run += in;
            ok_run += in & ((flags[i] & skip) == 0);
        }
        region += in_run;
        usable += ok_run;
    }
    s->region = region;
    s->usable = usable;
    if (s->usable == 0)
        return SMP_OK;
    size_t p = s->usable / SAMPLE_MAX;
    if (p <= 1)
        p = 1;
    else
        while (smp_gcd(p, (size_t)img->width) != 1)
            p++;
    size_t cap = total / p + 1 < s->usable ? total / p + 1 : s->usable; /* at most taken */
    s->px = smp_work_alloc(s->ws, (cap + 1) * 3 * sizeof(float)); /* + 1: see below */
    if (!s->px)
        return SMP_E_NOMEM;
    /* Each visited pixel is copied to the next free place, which only a
     * usable one keeps (the count moves on): no branch to mispredict, which
     * on a hair mask's ragged edges cost more than the copy. */
    for (size_t i = 0; i < total; i += p) {
        memcpy(s->px + 3 * s->n, img->lab + 3 * i, 3 * sizeof(float));
        s->n += (size_t)((!mask || mask[i]) && !(flags[i] & skip));
    }
    return SMP_OK;
}

/* One Lloyd step of two_means over the channels as three arrays: each
 * pixel goes to the nearer centre of c (group 1 only when strictly
 * nearer), and both groups' sums go to s. Both sums take every pixel, one
 * of them times 0, over four lanes (above). Returns group 1's count. */
static size_t lloyd2_step(const float *L, const float *A, const float *B, size_t n, const double c[2][3],
                          double s[2][3])
{
    lanes s00 = {0}, s01 = {0}, s02 = {0}, s10 = {0}, s11 = {0}, s12 = {0}, in1 = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        lanes l, a, b;
        LANES_PIXELS(l, a, b, L, A, B, i);
        lanes w1 = LANES_ONE_WHERE(LANES_DIST2(l, a, b, c[1]) < LANES_DIST2(l, a, b, c[0])), w0 = 1.0 - w1;
        s00 += w0 * l;
        s01 += w0 * a;
        s02 += w0 * b;
        s10 += w1 * l;
        s11 += w1 * a;
        s12 += w1 * b;
        in1 += w1; /* a count (exact: n is far below 2^53) */
    }
    double t[2][3] = {{LANES_SUM(s00), LANES_SUM(s01), LANES_SUM(s02)},
                      {LANES_SUM(s10), LANES_SUM(s11), LANES_SUM(s12)}};
    double m1 = LANES_SUM(in1);
    for (; i < n; i++) { /* the last n % 4 */
        int g = smp_dist2(L[i], A[i], B[i], c[1]) < smp_dist2(L[i], A[i], B[i], c[0]);
        t[g][0] += L[i];
        t[g][1] += A[i];
        t[g][2] += B[i];
        m1 += g;
    }
    memcpy(s, t, sizeof t);
    return (size_t)m1;
}

/* 2-means (Lloyd) in Lab, started from the darkest and lightest quarters.
 * Fills the two centres and each pixel's group in label; returns how many
 * are in group 1. scratch: n floats; soa: 3n floats (the channels as
 * arrays, the form in which the passes vectorise). */
static size_t two_means(const float *px, size_t n, float *scratch, float *soa, double c[2][3],
                        unsigned char *label)
{
    float q1 = smp_kth_float(px, n, 3, n / 4, scratch);
    float q3 = smp_kth_float(px, n, 3, (3 * n) / 4, scratch);
    float *L = soa, *A = soa + n, *B = soa + 2 * n;
    smp_lab_apart(px, n, L, A, B);
    /* The start: the means of the darkest and the lightest quarters (a
     * pixel at both quartiles, when they are equal, in the darker), over
     * four lanes as the steps. */
    lanes s0[3] = {{0}}, s1[3] = {{0}}, in0 = {0}, in1 = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        lanes l, a, b;
        LANES_PIXELS(l, a, b, L, A, B, i);
        lanes_mask dark = l <= (double)q1;
        lanes w0 = LANES_ONE_WHERE(dark), w1 = LANES_ONE_WHERE(~dark & (l >= (double)q3));
        s0[0] += w0 * l, s0[1] += w0 * a, s0[2] += w0 * b;
        s1[0] += w1 * l, s1[1] += w1 * a, s1[2] += w1 * b;
        in0 += w0, in1 += w1;
    }
    double s[2][3], m[2] = {LANES_SUM(in0), LANES_SUM(in1)};
    for (int k = 0; k < 3; k++) {
        s[0][k] = LANES_SUM(s0[k]);
        s[1][k] = LANES_SUM(s1[k]);
    }
    for (; i < n; i++) { /* the last n % 4 */
        int g = L[i] <= q1 ? 0 : L[i] >= q3 ? 1 : -1;
        if (g < 0)
            continue;
        s[g][0] += L[i], s[g][1] += A[i], s[g][2] += B[i];
        m[g] += 1;
    }
    for (int g = 0; g < 2; g++)
        for (int k = 0; k < 3; k++)
            c[g][k] = m[g] ? s[g][k] / m[g] : 0.0;

    for (int iter = 0; iter < 30; iter++) {
        size_t m1 = lloyd2_step(L, A, B, n, c, s);
        size_t count[2] = {n - m1, m1};
        double moved = 0;
        for (int g = 0; g < 2; g++) {
            if (!count[g])
                continue;
            for (int k = 0; k < 3; k++) {
                double v = s[g][k] / count[g];
                moved += fabs(v - c[g][k]);
                c[g][k] = v;
            }
        }
        if (moved < 1e-4)
            break;
    }
    size_t ones = 0;
    for (size_t q = 0; q < n; q++) {
        unsigned char g = smp_dist2(L[q], A[q], B[q], c[1]) < smp_dist2(L[q], A[q], B[q], c[0]);
        label[q] = g;
        ones += g;
    }
    return ones;
}

static double dist(const double a[3], const double b[3])
{
    return sqrt((a[0] - b[0]) * (a[0] - b[0]) + (a[1] - b[1]) * (a[1] - b[1]) +
                (a[2] - b[2]) * (a[2] - b[2]));
}

/* Which of two colour groups is skin: the lighter one, unless it is
 * near-neutral and the darker one is not (grey or white hair over darker
 * skin). Skin has C* of about 12-25 at every ITA° (a* 8-15, b* 12-22 in
 * skin colorimetry surveys, e.g. Xiao et al. 2017, Skin Res Technol
 * 23(1):21-29);
 * grey and white hair under about 8. Redness alone fails on red and auburn
 * hair, which is redder than the skin under it. */
#define NEUTRAL_CHROMA 8.0
static int skin_group(double c[2][3])
{
    int light = c[1][0] > c[0][0];
    double cl = hypot(c[light][1], c[light][2]), cd = hypot(c[1 - light][1], c[1 - light][2]);
    if (cl < NEUTRAL_CHROMA && cd >= NEUTRAL_CHROMA)
        return 1 - light;
    return light;
}

/* Chooses which 2-means group holds the target material; -1 = keep both
 * (one material only). */
static int pick_group(double c[2][3], const size_t count[2], const double *other, smp_target target)
{
    if (dist(c[0], c[1]) < SPLIT_MIN_DE76 || !count[0] || !count[1])
        return -1;
    if (other) {
        int away = dist(c[0], other) > dist(c[1], other) ? 0 : 1;
        const double *excl = c[1 - away];
        /* Leave a group out only when it really looks like the other
         * material: otherwise the split is inside the target (highlit and
         * shaded hair) and both halves belong to it. */
        if (dist(excl, other) < dist(excl, c[away]))
            return away;
        return -1;
    }
    /* Not the larger group: in a rectangle over thinning hair the skin
     * between the strands can be most of the pixels. */
    int skin = skin_group(c);
    return target == SMP_TARGET_SKIN ? skin : 1 - skin;
}

/* Pixel i to place to (to <= i): compacting a list in place. */
static void move_px(float *px, size_t to, size_t i)
{
    float l = px[3 * i], a = px[3 * i + 1], b = px[3 * i + 2];
    px[3 * to] = l;
    px[3 * to + 1] = a;
    px[3 * to + 2] = b;
}

/* Keeps, in place, the pixels of group g (or all) whose L* lies within
 * OUTLIER_Z robust standard deviations of the group's median L*. scratch
 * holds 2n floats. */
static size_t keep_group(float *px, size_t n, const unsigned char *label, int g, float *scratch)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++) { /* each to the next free place, kept when it belongs: no branch */
        move_px(px, m, i);
        m += g < 0 || label[i] == g;
    }
    if (m == 0)
        return 0;
    double med = channel_median(px, m, 0, scratch);
    for (size_t i = 0; i < m; i++)
        scratch[i] = (float)fabs(px[3 * i] - med);
    double sigma = MAD_TO_SIGMA * smp_kth_float(scratch, m, 1, m / 2, scratch + m);
    if (sigma < 0.5)
        sigma = 0.5; /* 8-bit quantisation of dark tones alone is ~0.3 L* */
    size_t k = 0;
    for (size_t i = 0; i < m; i++)
        if (fabs(px[3 * i] - med) <= OUTLIER_Z * sigma)
            move_px(px, k++, i);
    return k;
}

static double spread_de00(const float *px, size_t n, const double centre[3], float *scratch)
{
    size_t stride = n > SPREAD_MAX ? n / SPREAD_MAX : 1, m = 0;
    for (size_t i = 0; i < n; i += stride) {
        double p[3] = {px[3 * i], px[3 * i + 1], px[3 * i + 2]};
        scratch[m++] = (float)smp_de00(p, centre);
    }
    return m ? smp_kth_float(scratch, m, 1, m / 2, scratch + m) : 0.0;
}

/* A gathered sample split in two groups: the first steps of region_from,
 * which need no other material's colour. */
typedef struct split {
    float *scratch;       /* 2n floats */
    unsigned char *label; /* n: each pixel's group */
    double c[2][3];
    size_t count[2];
} split;

static void split_release(split *g, smp_workspace *ws)
{
    smp_work_free(ws, g->scratch);
    smp_work_free(ws, g->label);
    memset(g, 0, sizeof *g);
}

/* Nothing to split (g->scratch stays NULL) under SMP_MEASURE_MIN_PIXELS. */
static smp_status split_sample(const sample *s, split *g)
{
    memset(g, 0, sizeof *g);
    if (s->n < SMP_MEASURE_MIN_PIXELS)
        return SMP_OK;
    g->scratch = smp_work_alloc(s->ws, 2 * s->n * sizeof *g->scratch);
    g->label = smp_work_alloc(s->ws, s->n);
    float *soa = smp_work_alloc(s->ws, 3 * s->n * sizeof *soa);
    if (!g->scratch || !g->label || !soa) {
        smp_work_free(s->ws, soa);
        split_release(g, s->ws);
        return SMP_E_NOMEM;
    }
    g->count[1] = two_means(s->px, s->n, g->scratch, soa, g->c, g->label);
    g->count[0] = s->n - g->count[1];
    smp_work_free(s->ws, soa);
    return SMP_OK;
}

/* A region's spread, left for later (the scalp's, which nothing in the
 * measurement waits for: smp_measure_both_with). Empty (px NULL) when
 * there is none to take. */
typedef struct later_spread {
    float *px, *scratch; /* the kept pixels, and 2 n floats: the sample's and its split's */
    size_t n;
    smp_colour_stat *out;
    smp_workspace *ws;
} later_spread;

/* The spread into its stat, and the buffers back. Accepts an empty one. */
static void later_spread_take(later_spread *l)
{
    if (l->px)
        l->out->spread_de = spread_de00(l->px, l->n, l->out->lab, l->scratch);
    smp_work_free(l->ws, l->scratch);
    smp_work_free(l->ws, l->px);
    memset(l, 0, sizeof *l);
}

/* smp_measure_region on a gathered sample, whose pixels it reorders, and
 * its split (released here). With `later`, the spread is left in it, and
 * with it the sample's pixels and the split's scratch (the sample's
 * pixels are then the caller's no more: sp->px is NULL). */
static smp_status region_from(sample *sp, split *g, smp_target target, const double *other,
                              smp_colour_stat *out, later_spread *later)
{
    sample s = *sp;
    out->measured = 0;
    out->pixels = 0;
    out->spread_de = 0;
    out->region_pixels = s.region;
    if (!g->scratch)
        return SMP_OK; /* too few pixels */
    int which = pick_group(g->c, g->count, other, target);
    size_t kept = keep_group(s.px, s.n, g->label, which, g->scratch);
    smp_status st = SMP_OK;
    if (kept >= SMP_MEASURE_MIN_PIXELS) {
        st = smp_centre_mode(s.px, kept, out->lab, s.ws);
        if (st == SMP_OK) {
            out->pixels = (size_t)((double)kept * (double)s.usable / (double)s.n + 0.5);
            out->measured = 1;
            if (later) {
                *later = (later_spread){s.px, g->scratch, kept, out, s.ws};
                sp->px = NULL;
                g->scratch = NULL;
            } else {
                out->spread_de = spread_de00(s.px, kept, out->lab, g->scratch);
            }
        }
    }
    split_release(g, s.ws);
    return st;
}

/* smp_measure_region, its spread left in `later` when given. */
static smp_status measure_region(const smp_lab_image *img, const unsigned char *mask, smp_target target,
                                 const double *other, smp_colour_stat *out, later_spread *later)
{
    sample s;
    split g;
    if (gather(img, mask, &s) != SMP_OK)
        return SMP_E_NOMEM;
    smp_status st = split_sample(&s, &g);
    if (st == SMP_OK)
        st = region_from(&s, &g, target, other, out, later);
    smp_work_free(s.ws, s.px);
    return st;
}

smp_status smp_measure_region(const smp_lab_image *img, const unsigned char *mask,
                              smp_target target, const double *other, smp_colour_stat *out)
{
    return measure_region(img, mask, target, other, out, NULL);
}


/* ---- hair colour groups ---------------------------------------------- */

#define GROUP_MERGE_DE76 8.0 /* closer centres are one colour with noise */
/* Smaller groups are specular highlights along strands (on the samples a
 * lighter group of 5-8 %), shadowed roots or specks: a few grey hairs under
 * 12 % are not reported as a group of their own. */
#define GROUP_MIN_SHARE 0.12
#define GROUP_SKIN_DE76 8.0  /* nearer the skin than this: skin between strands */
#define GROUP_SAMPLE 60000
/* Grey or white hair: C* under 8 (grey hair measures C* 2-7; the
 * lightest natural brown above 10) and L* over 45 (darker near-neutral
 * hair is black, not grey). */
#define GREY_MAX_CHROMA 8.0
#define GREY_MIN_L 45.0

typedef struct group {
    double c[3];
    size_t n;
} group;

/* Is group b a mix of group a and the skin (strand edges)? It then lies on
 * the segment from skin to a, away from both ends, and close to the line. */
static int is_mixture(const group *b, const group *a, const double skin[3])
{
    double ax[3], bx[3], aa = 0, ab = 0;
    for (int k = 0; k < 3; k++) {
        ax[k] = a->c[k] - skin[k];
        bx[k] = b->c[k] - skin[k];
        aa += ax[k] * ax[k];
        ab += ax[k] * bx[k];
    }
    if (aa < 1e-9)
        return 0;
    double t = ab / aa, perp2 = 0;
    for (int k = 0; k < 3; k++) {
        double e = bx[k] - t * ax[k];
        perp2 += e * e;
    }
    return t > 0.1 && t < 0.9 && perp2 < 16.0; /* within 4 ΔE76 of the line */
}

static int by_size(const void *pa, const void *pb)
{
    const group *a = pa, *b = pb;
    return (a->n < b->n) - (a->n > b->n);
}

/* One Lloyd step of the hair's 3-means over the channels as arrays: each
 * pixel's group (the nearest centre of g, the lower number on a tie) into
 * near (as 0.0, 1.0 or 2.0), the groups' sums into sum and their counts
 * into cnt. Every sum takes every pixel, times 0 or 1, over four lanes. */
static void lloyd3_step(const float *L, const float *A, const float *B, size_t n, const group g[3],
                        float *near, double sum[3][3], size_t cnt[3])
{
    lanes s[3][3] = {{{0}}}, in1 = {0}, in2 = {0};
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        lanes l, a, b;
        LANES_PIXELS(l, a, b, L, A, B, i);
        lanes d0 = LANES_DIST2(l, a, b, g[0].c), d1 = LANES_DIST2(l, a, b, g[1].c),
              d2 = LANES_DIST2(l, a, b, g[2].c);
        lanes_mask to1 = d1 < d0;
        lanes d01 = (lanes)(((lanes_mask)d1 & to1) | ((lanes_mask)d0 & ~to1));
        lanes_mask to2 = d2 < d01;
        lanes w2 = LANES_ONE_WHERE(to2), w1 = LANES_ONE_WHERE(to1 & ~to2), w0 = 1.0 - w1 - w2;
        lanes_f k = __builtin_convertvector(w1 + 2.0 * w2, lanes_f);
        memcpy(near + i, &k, sizeof k);
        const lanes w[3] = {w0, w1, w2};
        for (int j = 0; j < 3; j++) {
            s[j][0] += w[j] * l;
            s[j][1] += w[j] * a;
            s[j][2] += w[j] * b;
        }
        in1 += w1; /* counts (exact: n is far below 2^53) */
        in2 += w2;
    }
    for (int j = 0; j < 3; j++)
        for (int k = 0; k < 3; k++)
            sum[j][k] = LANES_SUM(s[j][k]);
    double c1 = LANES_SUM(in1), c2 = LANES_SUM(in2);
    for (; i < n; i++) { /* the last n % 4 */
        double d0 = smp_dist2(L[i], A[i], B[i], g[0].c), d1 = smp_dist2(L[i], A[i], B[i], g[1].c),
               d2 = smp_dist2(L[i], A[i], B[i], g[2].c);
        int j = d2 < (d1 < d0 ? d1 : d0) ? 2 : d1 < d0;
        near[i] = (float)j;
        sum[j][0] += L[i];
        sum[j][1] += A[i];
        sum[j][2] += B[i];
        c1 += j == 1;
        c2 += j == 2;
    }
    cnt[1] = (size_t)c1;
    cnt[2] = (size_t)c2;
    cnt[0] = n - cnt[1] - cnt[2];
}

/* One colour group's mode (smp_centre_mode), on either thread. */
typedef struct mode_job {
    float *px;
    size_t n;
    smp_workspace *ws;
    smp_status st;
    double c[3];
} mode_job;

static void mode_run(void *arg, int part)
{
    (void)part;
    mode_job *j = arg;
    j->st = smp_centre_mode(j->px, j->n, j->c, j->ws);
}

/* The hair's colour groups (smp_measure_hair, measure.h) from a gathered
 * sample, whose pixels it reorders; t's helper takes a group's mode when
 * there are two or more (t NULL: all here). */
static size_t clusters_from(sample *sp, const double *skin, struct smp_hair_cluster out[4],
                            double *grey_share, smp_status *status, int with_hex, smp_team *team)
{
    sample s = *sp;
    *grey_share = 0;
    *status = SMP_OK;
    /* Leave out skin-coloured pixels (the skin between strands), and keep
     * at most GROUP_SAMPLE of the rest: group shares and modes are stable
     * to a percent and 0.05 ΔE00 with 60,000 pixels. */
    size_t m = 0, stride = s.n > GROUP_SAMPLE ? s.n / GROUP_SAMPLE : 1;
    for (size_t i = 0; i < s.n; i += stride) /* a branch: most pixels are kept, and the next */
        if (!skin || sqrt(smp_dist2_px(s.px + 3 * i, skin)) >= GROUP_SKIN_DE76) /* need not wait for a root */
            move_px(s.px, m++, i);
    float *scratch = m ? smp_work_alloc(s.ws, 5 * m * sizeof *scratch) : NULL; /* and the channels' arrays */
    unsigned char *label = m ? smp_work_alloc(s.ws, m) : NULL;
    if (m < SMP_MEASURE_MIN_PIXELS || !scratch || !label) {
        *status = (m >= SMP_MEASURE_MIN_PIXELS) ? SMP_E_NOMEM : SMP_OK;
        smp_work_free(s.ws, scratch);
        smp_work_free(s.ws, label);
        return 0;
    }
    /* 3-means started at the 15th, 50th and 85th L* percentiles: enough for
     * dark strands, grey strands and sun-lightened ends. */
    group g[3];
    const double q[3] = {0.15, 0.5, 0.85};
    for (int j = 0; j < 3; j++) {
        float l = smp_kth_float(s.px, m, 3, (size_t)(q[j] * (m - 1)), scratch);
        /* the first pixel nearest in L*: the least distance (a minimum is
         * the same in any order: a loop that vectorises), then where */
        double best = 1e30;
        for (size_t i = 0; i < m; i++) {
            double d = fabs(s.px[3 * i] - l);
            best = d < best ? d : best;
        }
        size_t at = 0;
        while (at + 1 < m && fabs(s.px[3 * at] - l) != best)
            at++;
        for (int k = 0; k < 3; k++)
            g[j].c[k] = s.px[3 * at + k];
    }
    /* Lloyd's iterations, at most 30; once no pixel changes group the
     * centres cannot move any more, so the rest would repeat this one.
     * As in two_means, a step is one pass over the channels as arrays
     * (lloyd3_step); then whether any pixel changed group. */
    float *L = scratch + m, *A = scratch + 2 * m, *B = scratch + 3 * m, *near = scratch + 4 * m;
    smp_lab_apart(s.px, m, L, A, B);
    for (int iter = 0; iter < 30; iter++) {
        double sum[3][3];
        size_t cnt[3], changed = 0;
        lloyd3_step(L, A, B, m, g, near, sum, cnt);
        for (size_t i = 0; i < m; i++) {
            unsigned char b = (unsigned char)near[i];
            changed += iter == 0 || label[i] != b;
            label[i] = b;
        }
        for (int j = 0; j < 3; j++) {
            g[j].n = cnt[j];
            if (cnt[j])
                for (int k = 0; k < 3; k++)
                    g[j].c[k] = sum[j][k] / cnt[j];
        }
        if (changed == 0)
            break;
    }
    /* Merge near groups, then drop mixtures and specks. */
    int alive[3] = {g[0].n > 0, g[1].n > 0, g[2].n > 0};
    for (int a = 0; a < 3; a++)
        for (int b = a + 1; b < 3; b++) {
            if (!alive[a] || !alive[b] || dist(g[a].c, g[b].c) >= GROUP_MERGE_DE76)
                continue;
            double na = (double)g[a].n, nb = (double)g[b].n;
            for (int k = 0; k < 3; k++)
                g[a].c[k] = (g[a].c[k] * na + g[b].c[k] * nb) / (na + nb);
            g[a].n += g[b].n;
            alive[b] = 0;
            for (size_t i = 0; i < m; i++)
                if (label[i] == b)
                    label[i] = (unsigned char)a;
        }
    if (skin)
        for (int b = 0; b < 3; b++)
            for (int a = 0; a < 3; a++)
                if (a != b && alive[a] && alive[b] && g[a].n >= g[b].n && is_mixture(&g[b], &g[a], skin))
                    alive[b] = 0;
    size_t total = 0;
    for (int j = 0; j < 3; j++)
        if (alive[j] && (double)g[j].n >= GROUP_MIN_SHARE * m)
            total += g[j].n;
        else
            alive[j] = 0;
    /* Each group's colour is its mode, as for the hair as a whole: the
     * largest group's on the helper (idle once the hair's colour is
     * measured), the others here. */
    group kept[3];
    mode_job modes[3] = {{0}};
    size_t nk = 0, big = 0;
    for (int j = 0; j < 3; j++) {
        if (!alive[j])
            continue;
        size_t c = 0;
        for (size_t i = 0; i < m; i++)
            if (label[i] == j)
                c++;
        float *px = smp_work_alloc(s.ws, c * 3 * sizeof(float));
        if (!px) {
            *status = SMP_E_NOMEM;
            break;
        }
        size_t t = 0;
        for (size_t i = 0; i < m; i++)
            if (label[i] == j)
                memcpy(px + 3 * t++, s.px + 3 * i, 3 * sizeof(float));
        kept[nk].n = g[j].n;
        modes[nk] = (mode_job){px, t, s.ws, SMP_OK, {0, 0, 0}};
        big = t > modes[big].n ? nk : big;
        nk++;
    }
    if (nk > 1)
        smp_team_start(team, mode_run, &modes[big]);
    for (size_t j = 0; j < nk && j < 3; j++) /* (nk is at most 3: said for GCC's overflow check) */
        if (j != big || nk == 1)
            mode_run(&modes[j], 0);
    if (nk > 1)
        smp_team_wait(team);
    for (size_t j = 0; j < nk; j++) {
        memcpy(kept[j].c, modes[j].c, sizeof kept[j].c);
        if (modes[j].st != SMP_OK)
            *status = modes[j].st;
        smp_work_free(s.ws, modes[j].px);
    }
    smp_work_free(s.ws, scratch);
    smp_work_free(s.ws, label);
    if (*status != SMP_OK)
        return 0;
    qsort(kept, nk, sizeof *kept, by_size);
    for (size_t j = 0; j < nk; j++) {
        memcpy(out[j].lab, kept[j].c, sizeof out[j].lab);
        if (with_hex) /* a colour transform of its own: half a millisecond */
            smp_lab_to_hex(out[j].lab, out[j].hex);
        else
            out[j].hex[0] = '\0';
        out[j].share = (double)kept[j].n / (double)total;
        out[j].grey = hypot(out[j].lab[1], out[j].lab[2]) < GREY_MAX_CHROMA && out[j].lab[0] > GREY_MIN_L;
        if (out[j].grey)
            *grey_share += out[j].share;
    }
    return nk;
}

/* The hair's sample, a copy of it and the copy's split: the first steps
 * of smp_measure_hair, which need no skin colour. */
typedef struct hair_work {
    sample s, copy; /* the colour reorders the copy; the groups need s as gathered */
    split g;
} hair_work;

static void hair_release(hair_work *h)
{
    split_release(&h->g, h->s.ws);
    smp_work_free(h->s.ws, h->copy.px);
    smp_work_free(h->s.ws, h->s.px);
}

static smp_status hair_begin(const smp_lab_image *img, const unsigned char *mask, hair_work *h)
{
    memset(h, 0, sizeof *h);
    if (gather(img, mask, &h->s) != SMP_OK)
        return SMP_E_NOMEM;
    h->copy = h->s;
    h->copy.px = h->s.n ? smp_work_alloc(h->s.ws, h->s.n * 3 * sizeof(float)) : NULL;
    if (h->s.n && !h->copy.px)
        return SMP_E_NOMEM;
    if (h->s.n)
        memcpy(h->copy.px, h->s.px, h->s.n * 3 * sizeof(float));
    return split_sample(&h->copy, &h->g);
}

typedef struct colour_job {
    hair_work *h;
    const double *skin;
    smp_colour_stat *stat;
    smp_status st;
    later_spread *scalp; /* NULL, or the scalp's spread to take after */
} colour_job;

static void hair_colour_run(void *arg, int part)
{
    (void)part;
    colour_job *j = arg;
    j->st = region_from(&j->h->copy, &j->h->g, SMP_TARGET_HAIR, j->skin, j->stat, NULL);
    if (j->scalp)
        later_spread_take(j->scalp);
}

/* The hair's colour (on the team's helper, then the scalp's spread when
 * given: the groups here take longer) and its groups (here) at once: they
 * read different copies of the sample. The groups are only kept when the
 * colour was measured. */
static smp_status hair_end(hair_work *h, smp_team *team, const double *skin, smp_colour_stat *stat,
                           struct smp_hair_cluster clusters[4], size_t *n_clusters, double *grey_share,
                           int with_hex, later_spread *scalp)
{
    colour_job j = {h, skin, stat, SMP_OK, scalp};
    smp_team_start(team, hair_colour_run, &j);
    smp_status st = SMP_OK;
    size_t n = clusters_from(&h->s, skin, clusters, grey_share, &st, with_hex, team);
    smp_team_wait(team);
    if (j.st != SMP_OK)
        return j.st;
    if (!stat->measured) { /* as if the groups had not been looked for */
        memset(clusters, 0, 4 * sizeof *clusters);
        *grey_share = 0;
        return SMP_OK;
    }
    *n_clusters = n;
    return st;
}

smp_status smp_measure_hair(const smp_lab_image *img, const unsigned char *mask, const double *skin,
                            smp_colour_stat *stat, struct smp_hair_cluster clusters[4],
                            size_t *n_clusters, double *grey_share)
{
    hair_work h;
    *n_clusters = 0;
    *grey_share = 0;
    smp_status st = hair_begin(img, mask, &h);
    if (st == SMP_OK)
        st = hair_end(&h, img->team, skin, stat, clusters, n_clusters, grey_share, 1, NULL);
    hair_release(&h);
    return st;
}

/* Pieces of x's shared work until none is left (smp_measure_extra). */
static void take_shares(const smp_measure_extra *x)
{
    if (x && x->share)
        while (x->share(x->share_arg))
            ;
}

typedef struct scalp_job {
    const smp_lab_image *img;
    const unsigned char *mask;
    smp_colour_stat *out;
    smp_status st;
    const smp_measure_extra *x;
    later_spread spread; /* the scalp's, when there is hair to measure after */
    int later;
} scalp_job;

static void scalp_run(void *arg, int part)
{
    (void)part;
    scalp_job *j = arg;
    if (j->mask)
        j->st = measure_region(j->img, j->mask, SMP_TARGET_SKIN, NULL, j->out, j->later ? &j->spread : NULL);
    if (j->x && j->x->after_scalp)
        j->x->after_scalp(j->x->after_scalp_arg, 1);
    take_shares(j->x);
}

smp_status smp_measure_both(const smp_lab_image *img, const unsigned char *scalp_mask,
                            const unsigned char *hair_mask, smp_colour_stat *scalp,
                            smp_colour_stat *hair, struct smp_hair_cluster clusters[4],
                            size_t *n_clusters, double *grey_share)
{
    return smp_measure_both_with(img, scalp_mask, hair_mask, scalp, hair, clusters, n_clusters, grey_share,
                                 NULL);
}

smp_status smp_measure_both_with(const smp_lab_image *img, const unsigned char *scalp_mask,
                                 const unsigned char *hair_mask, smp_colour_stat *scalp,
                                 smp_colour_stat *hair, struct smp_hair_cluster clusters[4],
                                 size_t *n_clusters, double *grey_share, const smp_measure_extra *x)
{
    /* The scalp's spread waits for the hair's groups, which take longer
     * than the hair's colour on the helper beside them. */
    scalp_job j = {img, scalp_mask, scalp, SMP_OK, x, {0}, hair_mask != NULL};
    int helper = scalp_mask || (x && (x->after_scalp || x->share));
    if (helper)
        smp_team_start(img->team, scalp_run, &j);
    hair_work h;
    smp_status st = SMP_OK;
    if (hair_mask) {
        *n_clusters = 0;
        *grey_share = 0;
        st = hair_begin(img, hair_mask, &h);
    }
    take_shares(x); /* beside the scalp, and with the helper once it is measured */
    if (helper)
        smp_team_wait(img->team);
    if (hair_mask) {
        if (st == SMP_OK && j.st == SMP_OK)
            st = hair_end(&h, img->team, scalp->measured ? scalp->lab : NULL, hair, clusters,
                          n_clusters, grey_share, 0, &j.spread);
        hair_release(&h);
    }
    later_spread_take(&j.spread); /* when hair_end did not run */
    return j.st != SMP_OK ? j.st : st;
}
