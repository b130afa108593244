/*
 * gen_samples.c: renders the sample consult photos in samples/ and their
 * truth table samples/truth.csv.
 *
 * In:  an output directory (and optionally --coverage DIR, where it also
 *      writes each scene's hair-coverage map as an 8-bit grey PNG, 255 =
 *      pixel fully covered by hair, in displayed coordinates).
 * Out: close-ups of thinning hair over scalp skin, rendered with known
 *      CIELAB (D50) hair and skin colours, encoded as JPEG or PNG in sRGB,
 *      Display P3 or Adobe RGB, plus truth.csv giving those colours and
 *      rectangles (in displayed pixels) that hold dense hair, bare scalp and
 *      a grey card.
 * Not: a photo simulator. There is no lens, no depth of field, no demosaic;
 *      the scenes only need to look like a scalp close-up and to carry exact
 *      colours. It never links libsmpmatch: it is the independent source of
 *      truth that library is tested against.
 *
 * How colour stays exact. A scene is rendered once as per-pixel weights of a
 * few base colours (skin, a redder skin, hair, highlight light, grey card):
 * every operation (anti-aliasing, over-compositing, highlights, texture,
 * shading) is linear in those colours. Each output space then turns the base
 * colours from Lab D50 into its own linear RGB with LittleCMS (float,
 * relative colorimetric, into the very profile the file is tagged with) and
 * sums the weights. Because linear RGB spaces are linear maps of XYZ, the
 * sRGB and the Display P3 file of one scene hold the same colours and differ
 * only in pixel values. Only then come the transfer curve, camera-like noise
 * and quantisation.
 *
 * Deterministic: its own PRNG (xoshiro256**) with fixed seeds, no rand(), no
 * clock, so rerunning gives byte-identical files.
 */
#include <errno.h>
#include <lcms2.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "encode.h"

#define PI 3.14159265358979323846

/* ---------------------------------------------------------------- PRNG -- */

/* xoshiro256** seeded through splitmix64 (Blackman & Vigna,
 * https://prng.di.unimi.it/): small, fast, and the same on every platform. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static double rng_unit(rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_range(rng *r, double lo, double hi)
{
    return lo + (hi - lo) * rng_unit(r);
}

/* Standard normal, Box-Muller (one value per call; simplicity over speed). */
static double rng_gauss(rng *r)
{
    double u1 = 1.0 - rng_unit(r); /* (0, 1]: log is finite */
    double u2 = rng_unit(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * PI * u2);
}

/* ------------------------------------------------------------- helpers -- */

typedef struct lab {
    double L, a, b;
} lab;

typedef struct rect {
    int x, y, w, h;
} rect;

static double clampd(double v, double lo, double hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static double smoothstep(double e0, double e1, double v)
{
    double t = clampd((v - e0) / (e1 - e0), 0.0, 1.0);
    return t * t * (3.0 - 2.0 * t);
}

/* Distance from (x, y) to rectangle r (0 inside). */
static double rect_distance(const rect *r, double x, double y)
{
    double dx = fmax(fmax(r->x - x, 0.0), x - (r->x + r->w));
    double dy = fmax(fmax(r->y - y, 0.0), y - (r->y + r->h));
    return sqrt(dx * dx + dy * dy);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "smp-gen-samples: out of memory\n");
        exit(1);
    }
    return p;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------ scene settings -- */

/* The base colours a scene is made of; a pixel is a weighted sum of them. */
enum { B_SKIN, B_SKIN_RED, B_SKIN_YEL, B_HAIR, B_LIGHT, B_CARD, NBASE };

typedef enum { LAYOUT_CROWN, LAYOUT_RAMP, LAYOUT_PART } layout_kind;

/* Where hair grows. Positions are fractions of the frame width/height. */
typedef struct layout {
    layout_kind kind;
    double cx, cy;    /* crown: centre of the bare patch; part: a point on the part line */
    double rx, ry;    /* crown: radii of the bare patch (fractions of W and H) */
    double angle_deg; /* ramp: direction from bare towards dense; part: direction of the line */
    double flow_deg;  /* ramp: combing direction; crown/part: swirl away from the bare area */
    double edge;      /* ramp: start of the hair (-1..1 along the ramp); part: bare half-width (of W) */
} layout;

typedef enum { SP_SRGB, SP_P3, SP_ADOBE } space_id;
typedef enum { TAG_NONE, TAG_ICC, TAG_PNG_SRGB } tag_kind;

typedef struct output_def {
    const char *file;
    space_id space;
    tag_kind tag;
    int png_bits;     /* 0: JPEG; 8 or 16: PNG */
    int quality;      /* JPEG */
    int sub420;       /* JPEG 4:2:0 */
    int progressive;  /* JPEG */
    int orientation;  /* 1 or 6 (stored rotated 90 degrees anticlockwise) */
    double noise;     /* camera noise, standard deviation in 8-bit levels */
} output_def;

#define MAX_OUTPUTS 2

typedef struct sample_def {
    const char *name; /* for messages and the coverage map */
    uint64_t seed;
    int width, height; /* displayed frame */
    layout lay;
    lab hair, skin;
    double target_cov;  /* mean hair coverage wanted inside hair_roi */
    double hair_roi[4], scalp_roi[4], card[4]; /* fractions of W, H; card w = 0: none */
    double cast_xy[2];  /* warm light: chromaticity of the illuminant the scene
                           is lit by while the camera is balanced for D50;
                           0: none (see cast_lab) */
    const char *notes;
    output_def out[MAX_OUTPUTS];
    int n_out;
} sample_def;

/* Most frames are 1024x768, about a phone photo analysed at reduced size,
 * which keeps the JPEGs near 200 kB for git. */
#define FRAME_W 1024
#define FRAME_H 768

/* Truth colours, CIELAB D50. Skin values were chosen to span the ITA°
 * categories of Chardon et al. 1991 (ITA° = atan2(L*-50, b*), computed in
 * each comment) with a* 8-12 and b* 13-19, inside the ranges reported for
 * skin colorimetry; hair values were chosen inside the typical ranges for
 * hair colour (black L* 15-20, brown 25-40, blond 55-65, grey 55-70 with low
 * chroma, red/auburn with a* and b* well above brown). They are our choices,
 * not measurements of people. */
static const sample_def SAMPLES[] = {
    {
        .name = "crown_dark_on_light",
        .seed = 0x5a17c0de0001ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_CROWN, 0.52, 0.50, 0.22, 0.25, 0, 55, 0},
        .hair = {18.0, 1.5, 2.5},   /* black/dark brown */
        .skin = {66.0, 10.0, 15.0}, /* ITA 46.8: light */
        .target_cov = 0.78,
        .hair_roi = {0.02, 0.03, 0.20, 0.24},
        .scalp_roi = {0.44, 0.41, 0.17, 0.19},
        .notes = "crown close-up; black/dark-brown hair on light skin; untagged sRGB JPEG 4:4:4 q90",
        .out = {{"crown_dark_on_light.jpg", SP_SRGB, TAG_NONE, 0, 90, 0, 0, 1, 1.8}},
        .n_out = 1,
    },
    {
        .name = "temple_brown",
        .seed = 0x5a17c0de0002ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_RAMP, 0, 0, 0, 0, 135, -40, -0.25},
        .hair = {30.0, 6.0, 11.0},  /* medium brown */
        .skin = {60.0, 11.0, 17.0}, /* ITA 30.5: intermediate */
        .target_cov = 0.78,
        .hair_roi = {0.03, 0.64, 0.22, 0.30},
        .scalp_roi = {0.75, 0.05, 0.20, 0.25},
        .notes = "receding temple; medium-brown hair on intermediate skin; same scene as the sRGB twin",
        .out = {{"temple_brown_p3.jpg", SP_P3, TAG_ICC, 0, 90, 1, 0, 1, 1.8},
                {"temple_brown_srgb.jpg", SP_SRGB, TAG_NONE, 0, 90, 1, 0, 1, 1.8}},
        .n_out = 2,
    },
    {
        .name = "part_grey_on_dark",
        .seed = 0x5a17c0de0003ULL,
        .width = 640, .height = 480,
        .lay = {LAYOUT_PART, 0.50, 0.50, 0, 0, 92, 35, 0.13},
        .hair = {64.0, 0.5, 7.0},   /* grey/white-ish, lighter than the skin */
        .skin = {36.0, 11.0, 15.0}, /* ITA -43.0: dark */
        .target_cov = 0.78,
        .hair_roi = {0.03, 0.30, 0.22, 0.36},
        .scalp_roi = {0.445, 0.28, 0.11, 0.44},
        .notes = "diffuse thinning along a parting; grey hair lighter than dark skin; 8-bit PNG with an sRGB chunk",
        .out = {{"part_grey_on_dark.png", SP_SRGB, TAG_PNG_SRGB, 8, 0, 0, 0, 1, 1.5}},
        .n_out = 1,
    },
    {
        .name = "frontal_blond",
        .seed = 0x5a17c0de0004ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_RAMP, 0, 0, 0, 0, 90, -100, -0.15},
        .hair = {60.0, 5.0, 21.0},  /* blond */
        .skin = {71.0, 8.0, 13.0},  /* ITA 58.2: very light */
        .target_cov = 0.78,
        .hair_roi = {0.36, 0.72, 0.28, 0.24},
        .scalp_roi = {0.32, 0.05, 0.36, 0.20},
        .notes = "frontal hairline; blond hair on very light skin; Adobe RGB (1998) tagged JPEG 4:2:0 q90",
        .out = {{"frontal_blond_adobergb.jpg", SP_ADOBE, TAG_ICC, 0, 90, 1, 0, 1, 1.6}},
        .n_out = 1,
    },
    {
        .name = "crown_auburn",
        .seed = 0x5a17c0de0005ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_CROWN, 0.45, 0.52, 0.20, 0.23, 0, -50, 0},
        .hair = {31.0, 15.0, 19.0}, /* red/auburn */
        .skin = {67.0, 10.0, 14.0}, /* ITA 50.5: light */
        .target_cov = 0.78,
        .hair_roi = {0.76, 0.70, 0.21, 0.26},
        .scalp_roi = {0.38, 0.43, 0.15, 0.19},
        .notes = "crown close-up; auburn hair on light skin; sRGB-tagged progressive JPEG 4:4:4 q92",
        .out = {{"crown_auburn_srgb_icc.jpg", SP_SRGB, TAG_ICC, 0, 92, 0, 1, 1, 1.6}},
        .n_out = 1,
    },
    {
        .name = "part_dark_on_brown_cast",
        .seed = 0x5a17c0de0006ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_PART, 0.55, 0.50, 0, 0, 70, 30, 0.12},
        .hair = {20.0, 2.5, 4.5},   /* dark brown */
        .skin = {45.0, 12.0, 19.0}, /* ITA -14.7: brown */
        .target_cov = 0.78,
        .hair_roi = {0.04, 0.56, 0.20, 0.28},
        .scalp_roi = {0.50, 0.38, 0.10, 0.20},
        .card = {0.80, 0.05, 0.17, 0.24},
        .cast_xy = {0.3805, 0.3768},
        .notes = "parting with a grey card (L*50 a*0 b*0) top right; warm cast: lit by 4000 K light (x 0.3805, y 0.3768), "
                 "Bradford-adapted from D50; "
                 "truth colours are without the cast; untagged sRGB JPEG 4:2:0 q90",
        .out = {{"part_dark_on_brown_cast_card.jpg", SP_SRGB, TAG_NONE, 0, 90, 1, 0, 1, 1.8}},
        .n_out = 1,
    },
    {
        .name = "side_lightbrown_orient6",
        .seed = 0x5a17c0de0007ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {LAYOUT_RAMP, 0, 0, 0, 0, 0, 160, -0.10},
        .hair = {40.0, 6.0, 14.0},  /* light brown */
        .skin = {54.0, 12.0, 19.0}, /* ITA 11.9: tan */
        .target_cov = 0.78,
        .hair_roi = {0.75, 0.30, 0.21, 0.40},
        .scalp_roi = {0.04, 0.30, 0.18, 0.40},
        .notes = "light-brown hair on tan skin; stored rotated with EXIF orientation 6; rectangles are in displayed "
                 "pixels (1024x768); untagged sRGB JPEG 4:2:0 q90",
        .out = {{"side_lightbrown_orient6.jpg", SP_SRGB, TAG_NONE, 0, 90, 1, 0, 6, 1.8}},
        .n_out = 1,
    },
};

#define N_SAMPLES (sizeof SAMPLES / sizeof SAMPLES[0])

/* Shared rendering constants. */
static const lab LIGHT_LAB = {96.0, 0.0, 1.0}; /* specular highlights: a near-white light */
static const lab CARD_LAB = {50.0, 0.0, 0.0};  /* neutral grey card, as the brief asks */
#define SHADE_AMPLITUDE 0.08 /* illumination shading +-8% around 1.0 */
#define ROI_FLAT_MARGIN 12.0 /* px around an ROI where shading has the ROI's median */
#define ROI_FLAT_FADE 100.0  /* px (at 1200 wide) over which that correction fades out */

/* -------------------------------------------------------------- scene -- */

typedef struct scene {
    int w, h;
    float *wt;  /* NBASE weights per pixel */
    float *cov; /* hair coverage 0..1 per pixel */
    rect hair_roi, scalp_roi, card, white_roi;
    int has_card;
    int n_strands;
} scene;

static rect frac_rect(const double f[4], int w, int h)
{
    rect r = {(int)lround(f[0] * w), (int)lround(f[1] * h), (int)lround(f[2] * w),
              (int)lround(f[3] * h)};
    return r;
}

/* Value noise: a lattice of random values every `cell` pixels, smoothly
 * interpolated; zero-mean and symmetric, so it shifts no median. */
typedef struct vnoise {
    int gw, gh;
    double cell;
    float *v;
} vnoise;

static void vnoise_init(vnoise *n, rng *r, int w, int h, double cell)
{
    n->cell = cell;
    n->gw = (int)(w / cell) + 3;
    n->gh = (int)(h / cell) + 3;
    n->v = xcalloc((size_t)n->gw * (size_t)n->gh, sizeof(float));
    for (size_t i = 0; i < (size_t)n->gw * (size_t)n->gh; i++)
        n->v[i] = (float)rng_range(r, -1.0, 1.0);
}

static double vnoise_at(const vnoise *n, double x, double y)
{
    double gx = x / n->cell, gy = y / n->cell;
    int ix = (int)gx, iy = (int)gy;
    double tx = smoothstep(0, 1, gx - ix), ty = smoothstep(0, 1, gy - iy);
    const float *row0 = n->v + (size_t)iy * (size_t)n->gw;
    const float *row1 = row0 + n->gw;
    double top = row0[ix] + (row0[ix + 1] - row0[ix]) * tx;
    double bot = row1[ix] + (row1[ix + 1] - row1[ix]) * tx;
    return top + (bot - top) * ty;
}

/* Skin: a multiplicative texture (fine grain and blotches, symmetric around
 * 1), a redder and a yellower tint mixed in with symmetric weights (blood
 * flow, pigment), and sparse follicle openings (small, slightly darker dots,
 * well under 1% of pixels). The tints vary over 12-25 px, which JPEG keeps:
 * without that chroma variation an 8-bit JPEG of smooth skin decodes to a few
 * chroma values only and a median over it sits a lattice step off. */
static void render_skin(scene *sc, rng *r, double scale)
{
    vnoise fine, blotch, red, redfine, yel;
    vnoise_init(&fine, r, sc->w, sc->h, 2.5 * scale);
    vnoise_init(&blotch, r, sc->w, sc->h, 14.0 * scale);
    vnoise_init(&red, r, sc->w, sc->h, 25.0 * scale);
    vnoise_init(&redfine, r, sc->w, sc->h, 12.0 * scale);
    vnoise_init(&yel, r, sc->w, sc->h, 12.0 * scale);
    for (int y = 0; y < sc->h; y++) {
        for (int x = 0; x < sc->w; x++) {
            double t = 1.0 + 0.02 * vnoise_at(&fine, x, y) + 0.025 * vnoise_at(&blotch, x, y);
            double wr = 0.10 * vnoise_at(&red, x, y) + 0.25 * vnoise_at(&redfine, x, y);
            float *p = sc->wt + ((size_t)y * (size_t)sc->w + (size_t)x) * NBASE;
            double wy = 0.25 * vnoise_at(&yel, x, y);
            p[B_SKIN] = (float)(t * (1.0 - wr - wy));
            p[B_SKIN_RED] = (float)(t * wr);
            p[B_SKIN_YEL] = (float)(t * wy);
        }
    }
    free(fine.v);
    free(blotch.v);
    free(red.v);
    free(redfine.v);
    free(yel.v);

    int n_pores = (int)((double)sc->w * sc->h / (2500.0 * scale * scale));
    for (int i = 0; i < n_pores; i++) {
        double px = rng_range(r, 0, sc->w), py = rng_range(r, 0, sc->h);
        double rad = rng_range(r, 1.0, 2.0) * scale, depth = rng_range(r, 0.10, 0.22);
        for (int y = (int)(py - rad - 1); y <= (int)(py + rad + 1); y++) {
            for (int x = (int)(px - rad - 1); x <= (int)(px + rad + 1); x++) {
                if (x < 0 || y < 0 || x >= sc->w || y >= sc->h)
                    continue;
                double d = hypot(x + 0.5 - px, y + 0.5 - py);
                double k = 1.0 - depth * clampd(rad - d + 0.5, 0, 1);
                float *p = sc->wt + ((size_t)y * (size_t)sc->w + (size_t)x) * NBASE;
                p[B_SKIN] *= (float)k;
                p[B_SKIN_RED] *= (float)k;
                p[B_SKIN_YEL] *= (float)k;
            }
        }
    }
}

/* Hair density (0 bare .. 1 dense) and the direction hair grows at (x, y). */
static double density_at(const layout *l, int w, int h, double x, double y)
{
    switch (l->kind) {
    case LAYOUT_CROWN: {
        double dx = (x - l->cx * w) / (l->rx * w), dy = (y - l->cy * h) / (l->ry * h);
        return smoothstep(1.0, 1.7, sqrt(dx * dx + dy * dy));
    }
    case LAYOUT_RAMP: {
        double a = l->angle_deg * PI / 180, ux = cos(a), uy = sin(a);
        double half = (fabs(ux) * w + fabs(uy) * h) / 2;
        double s = ((x - w / 2.0) * ux + (y - h / 2.0) * uy) / half;
        return smoothstep(l->edge, l->edge + 0.45, s);
    }
    case LAYOUT_PART: {
        double a = l->angle_deg * PI / 180;
        double d = (x - l->cx * w) * sin(a) - (y - l->cy * h) * cos(a);
        return smoothstep(l->edge * w, (l->edge + 0.18) * w, fabs(d));
    }
    }
    return 0;
}

static double flow_at(const layout *l, int w, int h, double x, double y)
{
    double flow = l->flow_deg * PI / 180;
    switch (l->kind) {
    case LAYOUT_CROWN: /* a whorl: outwards, turned by flow_deg */
        return atan2(y - l->cy * h, x - l->cx * w) + flow;
    case LAYOUT_RAMP:
        return flow;
    case LAYOUT_PART: { /* away from the part line on each side, turned along it */
        double a = l->angle_deg * PI / 180;
        double d = (x - l->cx * w) * sin(a) - (y - l->cy * h) * cos(a);
        double side = d >= 0 ? 1 : -1;
        return atan2(-cos(a) * side, sin(a) * side) + side * flow;
    }
    }
    return 0;
}

/* One hair: a quadratic Bezier from the root, with a half-width, a body
 * brightness factor and perhaps a specular highlight along part of it. */
typedef struct strand {
    double pts[64][2];
    int n;
    double half_w;
    double body;            /* multiplies the hair colour, symmetric around 1 */
    double hl_t0, hl_t1, hl_k; /* highlight along t in [t0, t1], peak weight hl_k */
} strand;

/* A follicular unit's root: uniform over a margin-extended frame (so hair
 * also enters from outside the picture), accepted with the local density. */
static void pick_root(rng *r, const layout *l, int w, int h, double *x0, double *y0)
{
    for (;;) {
        *x0 = rng_range(r, -0.12 * w, 1.12 * w);
        *y0 = rng_range(r, -0.12 * h, 1.12 * h);
        if (rng_unit(r) < density_at(l, w, h, *x0, *y0))
            return;
    }
}

static void make_strand(strand *s, rng *r, double x0, double y0, double theta, double len,
                        double half_w)
{
    double bend = rng_gauss(r) * 0.10 * len;
    double x2 = x0 + len * cos(theta), y2 = y0 + len * sin(theta);
    double x1 = (x0 + x2) / 2 - bend * sin(theta), y1 = (y0 + y2) / 2 + bend * cos(theta);
    s->n = 64;
    for (int i = 0; i < s->n; i++) {
        double t = (double)i / (s->n - 1), u = 1 - t;
        s->pts[i][0] = u * u * x0 + 2 * u * t * x1 + t * t * x2;
        s->pts[i][1] = u * u * y0 + 2 * u * t * y1 + t * t * y2;
    }
    s->half_w = half_w;
    s->body = 1.0 + rng_range(r, -0.05, 0.05); /* +-5% in linear, symmetric */
    s->hl_k = s->hl_t0 = s->hl_t1 = 0;
    if (rng_unit(r) < 0.30) {
        s->hl_t0 = rng_range(r, 0.0, 0.8);
        s->hl_t1 = s->hl_t0 + rng_range(r, 0.10, 0.35);
        s->hl_k = rng_range(r, 0.12, 0.35);
    }
}

/* True when any point of the strand comes within `margin` of rectangle r. */
static int strand_touches(const strand *s, const rect *r, double margin)
{
    for (int i = 0; i < s->n; i++)
        if (rect_distance(r, s->pts[i][0], s->pts[i][1]) < margin)
            return 1;
    return 0;
}

/* Rasterises a strand into the scene: per pixel, distance to the centre line
 * gives an anti-aliased coverage (box filter), and the strand is composited
 * "over" what is there, in linear light. dist/tpar are frame-sized scratch. */
static void draw_strand(scene *sc, const strand *s, float *dist, float *tpar)
{
    double pad = s->half_w + 1.5;
    double minx = 1e9, miny = 1e9, maxx = -1e9, maxy = -1e9;
    for (int i = 0; i < s->n; i++) {
        minx = fmin(minx, s->pts[i][0]);
        maxx = fmax(maxx, s->pts[i][0]);
        miny = fmin(miny, s->pts[i][1]);
        maxy = fmax(maxy, s->pts[i][1]);
    }
    int bx0 = (int)fmax(0, floor(minx - pad)), by0 = (int)fmax(0, floor(miny - pad));
    int bx1 = (int)fmin(sc->w - 1, ceil(maxx + pad)), by1 = (int)fmin(sc->h - 1, ceil(maxy + pad));
    if (bx0 > bx1 || by0 > by1)
        return;
    int bw = bx1 - bx0 + 1;
    for (int y = by0; y <= by1; y++)
        for (int x = bx0; x <= bx1; x++)
            dist[(size_t)(y - by0) * (size_t)bw + (size_t)(x - bx0)] = 1e9f;

    for (int i = 0; i + 1 < s->n; i++) { /* nearest segment per pixel */
        double ax = s->pts[i][0], ay = s->pts[i][1];
        double ex = s->pts[i + 1][0] - ax, ey = s->pts[i + 1][1] - ay;
        double len2 = ex * ex + ey * ey;
        int sx0 = (int)fmax(bx0, floor(fmin(ax, ax + ex) - pad));
        int sx1 = (int)fmin(bx1, ceil(fmax(ax, ax + ex) + pad));
        int sy0 = (int)fmax(by0, floor(fmin(ay, ay + ey) - pad));
        int sy1 = (int)fmin(by1, ceil(fmax(ay, ay + ey) + pad));
        for (int y = sy0; y <= sy1; y++) {
            for (int x = sx0; x <= sx1; x++) {
                double px = x + 0.5 - ax, py = y + 0.5 - ay;
                double u = len2 > 0 ? clampd((px * ex + py * ey) / len2, 0, 1) : 0;
                double d = hypot(px - u * ex, py - u * ey);
                size_t k = (size_t)(y - by0) * (size_t)bw + (size_t)(x - bx0);
                if (d < dist[k]) {
                    dist[k] = (float)d;
                    tpar[k] = (float)((i + u) / (s->n - 1));
                }
            }
        }
    }

    for (int y = by0; y <= by1; y++) {
        for (int x = bx0; x <= bx1; x++) {
            size_t k = (size_t)(y - by0) * (size_t)bw + (size_t)(x - bx0);
            double a = clampd(s->half_w - dist[k] + 0.5, 0, 1);
            if (a <= 0)
                continue;
            double hl = 0;
            if (s->hl_k > 0 && tpar[k] > s->hl_t0 && tpar[k] < s->hl_t1) {
                double mid = (s->hl_t0 + s->hl_t1) / 2, half = (s->hl_t1 - s->hl_t0) / 2;
                double along = 1 - fabs(tpar[k] - mid) / half;
                double across = dist[k] / (0.45 * s->half_w);
                hl = s->hl_k * along * exp(-across * across);
            }
            size_t pi = (size_t)y * (size_t)sc->w + (size_t)x;
            float *p = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                p[b] *= (float)(1 - a);
            p[B_HAIR] += (float)(a * s->body * (1 - hl));
            p[B_LIGHT] += (float)(a * hl);
            sc->cov[pi] = (float)(a + (1 - a) * sc->cov[pi]);
        }
    }
}

static double mean_coverage(const scene *sc, const rect *r)
{
    double sum = 0;
    for (int y = r->y; y < r->y + r->h; y++)
        for (int x = r->x; x < r->x + r->w; x++)
            sum += sc->cov[(size_t)y * (size_t)sc->w + (size_t)x];
    return sum / ((double)r->w * r->h);
}

/* Adds strands until the hair rectangle reaches the wanted mean coverage.
 * Strands that would cross the bare-scalp rectangle (plus a margin) are
 * dropped, so that rectangle is skin only. */
static void render_hair(scene *sc, const sample_def *sd, rng *r, double scale)
{
    size_t n = (size_t)sc->w * (size_t)sc->h;
    float *dist = xcalloc(n, sizeof(float)), *tpar = xcalloc(n, sizeof(float));
    strand s;
    sc->n_strands = 0;
    while (sc->n_strands < 20000) {
        for (int i = 0; i < 10; i++) {
            /* Hair grows in follicular units of 1-4 hairs that lie side by
             * side, which gives locks several strands wide. */
            double x0, y0;
            pick_root(r, &sd->lay, sc->w, sc->h, &x0, &y0);
            double theta = flow_at(&sd->lay, sc->w, sc->h, x0, y0) + rng_gauss(r) * (14.0 * PI / 180);
            double len = rng_range(r, 110, 300) * scale;
            int n_unit = 1 + (rng_unit(r) < 0.7) + (rng_unit(r) < 0.45) + (rng_unit(r) < 0.2);
            for (int j = 0; j < n_unit; j++) {
                double half_w = rng_range(r, 1.5, 3.5) * scale; /* width 3-7 px at 1200x900 */
                double off = (j - (n_unit - 1) / 2.0) * 2.6 * scale;
                double th = theta + rng_gauss(r) * (3.0 * PI / 180);
                make_strand(&s, r, x0 - off * sin(theta), y0 + off * cos(theta), th,
                            len * rng_range(r, 0.85, 1.1), half_w);
                if (strand_touches(&s, &sc->scalp_roi, s.half_w + 10 * scale))
                    continue;
                draw_strand(sc, &s, dist, tpar);
                sc->n_strands++;
            }
        }
        if (mean_coverage(sc, &sc->hair_roi) >= sd->target_cov)
            break;
    }
    free(dist);
    free(tpar);
}

/* The grey card lies on top of everything; it is not hair. */
static void render_card(scene *sc)
{
    for (int y = sc->card.y; y < sc->card.y + sc->card.h; y++) {
        for (int x = sc->card.x; x < sc->card.x + sc->card.w; x++) {
            size_t pi = (size_t)y * (size_t)sc->w + (size_t)x;
            float *p = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                p[b] = 0;
            p[B_CARD] = 1;
            sc->cov[pi] = 0;
        }
    }
}

/* Low-frequency illumination: a few long-wavelength waves, +-8% around 1.0.
 * Around each measurement rectangle the field is offset by its median there,
 * so the median illumination over each rectangle is exactly 1.0 (the truth
 * colours are "under illumination 1.0") while the light still varies inside
 * it; the offset fades out over ROI_FLAT_FADE pixels outside. */
static void apply_shading(scene *sc, rng *r)
{
    double kx[3], ky[3], ph[3];
    for (int i = 0; i < 3; i++) {
        double ang = rng_range(r, 0, 2 * PI), wl = rng_range(r, 0.9, 1.8) * sc->w;
        kx[i] = 2 * PI * cos(ang) / wl;
        ky[i] = 2 * PI * sin(ang) / wl;
        ph[i] = rng_range(r, 0, 2 * PI);
    }
    size_t n = (size_t)sc->w * (size_t)sc->h;
    float *s = xcalloc(n, sizeof(float));
    for (int y = 0; y < sc->h; y++)
        for (int x = 0; x < sc->w; x++) {
            double v = 0;
            for (int i = 0; i < 3; i++)
                v += cos(kx[i] * x + ky[i] * y + ph[i]) / 3;
            s[(size_t)y * (size_t)sc->w + (size_t)x] = (float)v;
        }

    rect rois[3] = {sc->hair_roi, sc->scalp_roi, sc->white_roi};
    int n_rois = sc->has_card ? 3 : 2;
    double med[3], fade = ROI_FLAT_FADE * sc->w / 1200.0;
    for (int k = 0; k < n_rois; k++) {
        const rect *q = &rois[k];
        float *tmp = xcalloc((size_t)q->w * (size_t)q->h, sizeof(float));
        size_t m = 0;
        for (int y = q->y; y < q->y + q->h; y++)
            for (int x = q->x; x < q->x + q->w; x++)
                tmp[m++] = s[(size_t)y * (size_t)sc->w + (size_t)x];
        qsort(tmp, m, sizeof(float), cmp_float);
        med[k] = (m % 2) ? tmp[m / 2] : 0.5 * ((double)tmp[m / 2 - 1] + tmp[m / 2]);
        free(tmp);
    }
    for (int y = 0; y < sc->h; y++) {
        for (int x = 0; x < sc->w; x++) {
            size_t pi = (size_t)y * (size_t)sc->w + (size_t)x;
            double off = 0;
            for (int k = 0; k < n_rois; k++) {
                double d = rect_distance(&rois[k], x + 0.5, y + 0.5);
                off += med[k] * (1 - smoothstep(ROI_FLAT_MARGIN, ROI_FLAT_MARGIN + fade, d));
            }
            double shade = 1 + SHADE_AMPLITUDE * (s[pi] - off);
            float *p = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                p[b] *= (float)shade;
        }
    }
    free(s);
}

/* Rectangles must be far enough apart that one's shading correction does not
 * reach into another, and inside the frame. */
static int check_rects(const scene *sc, const char *name)
{
    rect rois[3] = {sc->hair_roi, sc->scalp_roi, sc->white_roi};
    int n = sc->has_card ? 3 : 2;
    for (int i = 0; i < n; i++) {
        const rect *a = &rois[i];
        if (a->x < 0 || a->y < 0 || a->w <= 0 || a->h <= 0 || a->x + a->w > sc->w || a->y + a->h > sc->h) {
            fprintf(stderr, "smp-gen-samples: %s: rectangle %d outside the frame\n", name, i);
            return -1;
        }
        for (int j = 0; j < n; j++) {
            if (i == j)
                continue;
            const rect *b = &rois[j];
            double gap = fmax(fmax(b->x - (a->x + a->w), a->x - (b->x + b->w)),
                              fmax(b->y - (a->y + a->h), a->y - (b->y + b->h)));
            if (gap < ROI_FLAT_MARGIN + ROI_FLAT_FADE * sc->w / 1200.0 + 2) {
                fprintf(stderr, "smp-gen-samples: %s: rectangles %d and %d too close\n", name, i, j);
                return -1;
            }
        }
    }
    return 0;
}

static int render_scene(scene *sc, const sample_def *sd)
{
    memset(sc, 0, sizeof *sc);
    sc->w = sd->width;
    sc->h = sd->height;
    double scale = sc->w / 1200.0; /* sizes below are for a 1200x900 frame */
    sc->hair_roi = frac_rect(sd->hair_roi, sc->w, sc->h);
    sc->scalp_roi = frac_rect(sd->scalp_roi, sc->w, sc->h);
    sc->has_card = sd->card[2] > 0;
    if (sc->has_card) {
        sc->card = frac_rect(sd->card, sc->w, sc->h);
        int inset = (int)lround(20 * scale);
        sc->white_roi = (rect){sc->card.x + inset, sc->card.y + inset, sc->card.w - 2 * inset,
                               sc->card.h - 2 * inset};
    }
    if (check_rects(sc, sd->name) != 0)
        return -1;

    size_t n = (size_t)sc->w * (size_t)sc->h;
    sc->wt = xcalloc(n * NBASE, sizeof(float));
    sc->cov = xcalloc(n, sizeof(float));
    rng r;
    rng_seed(&r, sd->seed);
    render_skin(sc, &r, scale);
    render_hair(sc, sd, &r, scale);
    if (sc->has_card)
        render_card(sc);
    apply_shading(sc, &r);
    return 0;
}

static void free_scene(scene *sc)
{
    free(sc->wt);
    free(sc->cov);
}

/* ------------------------------------------------------------- colour -- */

static unsigned char *space_icc(space_id sp, size_t *size)
{
    unsigned char *icc = NULL;
    switch (sp) {
    case SP_SRGB:
        icc = enc_icc_srgb(size);
        break;
    case SP_P3:
        icc = enc_icc_display_p3(size);
        break;
    case SP_ADOBE:
        icc = enc_icc_adobe_rgb(size);
        break;
    }
    return icc;
}

static const char *space_name(space_id sp, tag_kind tag)
{
    switch (sp) {
    case SP_SRGB:
        return tag == TAG_ICC ? "sRGB (embedded ICC)" : tag == TAG_PNG_SRGB ? "sRGB (PNG sRGB chunk)"
                                                                            : "sRGB (untagged)";
    case SP_P3:
        return "Display P3 (embedded ICC)";
    case SP_ADOBE:
        return "Adobe RGB 1998 (embedded ICC)";
    }
    return "?";
}

/* Transfer curves. sRGB and Display P3: IEC 61966-2-1; Adobe RGB (1998):
 * gamma 563/256 (Adobe RGB (1998) Color Image Encoding, 2005, 4.3.1.2). */
static double encode_tf(space_id sp, double v)
{
    if (v <= 0)
        return 0;
    if (sp == SP_ADOBE)
        return pow(v, 256.0 / 563.0);
    return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
}

static double decode_tf(space_id sp, double e)
{
    if (e <= 0)
        return 0;
    if (sp == SP_ADOBE)
        return pow(e, 563.0 / 256.0);
    return e <= 0.04045 ? e / 12.92 : pow((e + 0.055) / 1.055, 2.4);
}

/* A colour cast: the scene lit by light of chromaticity xy while the camera
 * stays balanced for D50, modelled by the Bradford chromatic adaptation
 * (the CAT of ICC.1 Annex E, LittleCMS's cmsAdaptToIlluminant) from D50 to
 * that light. Every rendered colour is a linear mix of the base colours and
 * the adaptation is linear in XYZ, so adapting the base colours casts every
 * pixel. 4000 K (x 0.3805, y 0.3768) is about a warm-white room lamp. */
static lab cast_lab(lab c, const double xy[2])
{
    if (xy[0] <= 0)
        return c;
    cmsCIExyY w_xyY = {xy[0], xy[1], 1.0};
    cmsCIEXYZ w, xyz, out;
    cmsxyY2XYZ(&w, &w_xyY);
    cmsCIELab in = {c.L, c.a, c.b}, res;
    cmsLab2XYZ(NULL, &xyz, &in);
    cmsAdaptToIlluminant(&out, cmsD50_XYZ(), &w, &xyz);
    cmsXYZ2Lab(NULL, &res, &out);
    return (lab){res.L, res.a, res.b};
}

/* Lab D50 -> linear RGB of the given profile, for the base colours. Uses a
 * float transform into the same profile that tags the file. */
static int base_colours(const sample_def *sd, const unsigned char *icc, size_t icc_size, space_id sp,
                        double lin[NBASE][3])
{
    cmsHPROFILE lab_p = cmsCreateLab4Profile(NULL); /* NULL: D50 */
    cmsHPROFILE rgb_p = cmsOpenProfileFromMem(icc, (cmsUInt32Number)icc_size);
    if (!lab_p || !rgb_p) {
        fprintf(stderr, "smp-gen-samples: cannot open profiles\n");
        return -1;
    }
    cmsHTRANSFORM t = cmsCreateTransform(lab_p, TYPE_Lab_DBL, rgb_p, TYPE_RGB_DBL,
                                         INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOCACHE);
    cmsCloseProfile(lab_p);
    cmsCloseProfile(rgb_p);
    if (!t) {
        fprintf(stderr, "smp-gen-samples: cannot build the Lab -> RGB transform\n");
        return -1;
    }
    lab skin_red = {sd->skin.L - 4.0, sd->skin.a + 8.0, sd->skin.b - 1.0}; /* a redder skin */
    lab skin_yel = {sd->skin.L - 2.0, sd->skin.a + 1.0, sd->skin.b + 7.0}; /* a yellower skin */
    lab src[NBASE];
    src[B_SKIN] = sd->skin;
    src[B_SKIN_RED] = skin_red;
    src[B_SKIN_YEL] = skin_yel;
    src[B_HAIR] = sd->hair;
    src[B_LIGHT] = LIGHT_LAB;
    src[B_CARD] = CARD_LAB;
    int rc = 0;
    for (int b = 0; b < NBASE; b++) {
        lab seen = cast_lab(src[b], sd->cast_xy);
        cmsCIELab in = {seen.L, seen.a, seen.b};
        double out[3];
        cmsDoTransform(t, &in, out, 1);
        for (int c = 0; c < 3; c++) {
            /* The highlight is the light itself: a warm light's near-white
             * may leave the gamut, and is then clipped like a camera clips
             * it. Truth colours must fit. */
            if (b != B_LIGHT && (out[c] < -1e-4 || out[c] > 1 + 1e-4)) {
                fprintf(stderr, "smp-gen-samples: %s: base colour %d out of gamut\n", sd->name, b);
                rc = -1;
            }
            lin[b][c] = decode_tf(sp, clampd(out[c], 0, 1));
        }
    }
    cmsDeleteTransform(t);
    return rc;
}

/* ------------------------------------------------------------- output -- */

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = xcalloc(n, 1);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

/* Where displayed pixel (x, y) of a w x h frame goes in the stored image.
 * EXIF orientation 6: stored row 0 is the displayed right-hand column and
 * stored column 0 the displayed top row (TIFF 6.0 / Exif 2.3 Orientation),
 * so the stored image is h wide and w high and (x, y) is stored at
 * (y, w - 1 - x). */
static size_t stored_index(int orientation, int w, int h, int x, int y)
{
    if (orientation == 6) { /* stored is h wide, w high */
        int xs = y, ys = w - 1 - x;
        return (size_t)ys * (size_t)h + (size_t)xs;
    }
    return (size_t)y * (size_t)w + (size_t)x;
}

static int write_output(const scene *sc, const sample_def *sd, const output_def *od, const char *dir)
{
    size_t icc_size = 0;
    unsigned char *icc = space_icc(od->space, &icc_size);
    if (!icc) {
        fprintf(stderr, "smp-gen-samples: cannot build the ICC profile\n");
        return -1;
    }
    double lin[NBASE][3];
    if (base_colours(sd, icc, icc_size, od->space, lin) != 0) {
        free(icc);
        return -1;
    }

    size_t n = (size_t)sc->w * (size_t)sc->h;
    int bits16 = od->png_bits == 16;
    double top = bits16 ? 65535.0 : 255.0;
    double noise = od->noise * (bits16 ? 257.0 : 1.0);
    unsigned char *px8 = bits16 ? NULL : xcalloc(n * 3, 1);
    uint16_t *px16 = bits16 ? xcalloc(n * 3, sizeof(uint16_t)) : NULL;
    rng r;
    rng_seed(&r, sd->seed ^ 0x6e6f697365ULL); /* the same noise for every output of a scene */
    for (int y = 0; y < sc->h; y++) {
        for (int x = 0; x < sc->w; x++) {
            const float *p = sc->wt + ((size_t)y * (size_t)sc->w + (size_t)x) * NBASE;
            size_t o = stored_index(od->orientation, sc->w, sc->h, x, y) * 3;
            for (int c = 0; c < 3; c++) {
                double v = 0;
                for (int b = 0; b < NBASE; b++)
                    v += p[b] * lin[b][c];
                double e = clampd(encode_tf(od->space, clampd(v, 0, 1)) * top + noise * rng_gauss(&r), 0, top);
                if (bits16)
                    px16[o + (size_t)c] = (uint16_t)lround(e);
                else
                    px8[o + (size_t)c] = (unsigned char)lround(e);
            }
        }
    }

    char *path = join_path(dir, od->file);
    int sw = od->orientation == 6 ? sc->h : sc->w, sh = od->orientation == 6 ? sc->w : sc->h;
    int rc;
    if (od->png_bits) {
        enc_png_opts po = {0};
        po.bits = od->png_bits;
        po.srgb_chunk = od->tag == TAG_PNG_SRGB;
        if (od->tag == TAG_ICC) {
            po.icc = icc;
            po.icc_size = icc_size;
        }
        rc = enc_png(path, NULL, NULL, bits16 ? (const void *)px16 : (const void *)px8, sw, sh,
                     ENC_PNG_RGB, &po);
    } else {
        enc_jpeg_opts jo = {0};
        jo.quality = od->quality;
        jo.subsample_420 = od->sub420;
        jo.progressive = od->progressive;
        jo.orientation = od->orientation == 1 ? 0 : od->orientation;
        if (od->tag == TAG_ICC) {
            jo.icc = icc;
            jo.icc_size = icc_size;
        }
        rc = enc_jpeg(path, NULL, NULL, px8, sw, sh, 3, &jo);
    }
    free(path);
    free(px8);
    free(px16);
    free(icc);
    return rc;
}

static int write_coverage(const scene *sc, const sample_def *sd, const char *dir)
{
    size_t n = (size_t)sc->w * (size_t)sc->h;
    unsigned char *g = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++)
        g[i] = (unsigned char)lround(clampd(sc->cov[i], 0, 1) * 255);
    char name[256];
    snprintf(name, sizeof name, "%s_coverage.png", sd->name);
    char *path = join_path(dir, name);
    enc_png_opts po = {0};
    po.bits = 8;
    int rc = enc_png(path, NULL, NULL, g, sc->w, sc->h, ENC_PNG_GREY, &po);
    free(path);
    free(g);
    return rc;
}

static void fprint_rect(FILE *f, const rect *r, int present)
{
    if (present)
        fprintf(f, "\"%d,%d,%d,%d\"", r->x, r->y, r->w, r->h);
    else
        fprintf(f, "\"\"");
}

static void truth_row(FILE *f, const scene *sc, const sample_def *sd, const output_def *od)
{
    fprintf(f, "%s,%s,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,", od->file, space_name(od->space, od->tag), sd->hair.L,
            sd->hair.a, sd->hair.b, sd->skin.L, sd->skin.a, sd->skin.b);
    fprint_rect(f, &sc->hair_roi, 1);
    fputc(',', f);
    fprint_rect(f, &sc->scalp_roi, 1);
    fputc(',', f);
    fprint_rect(f, &sc->white_roi, sc->has_card);
    fprintf(f, ",\"%s\"\n", sd->notes);
}

static void full_coverage_stats(const scene *sc, double *full)
{
    const rect *r = &sc->hair_roi;
    size_t nfull = 0;
    for (int y = r->y; y < r->y + r->h; y++)
        for (int x = r->x; x < r->x + r->w; x++)
            nfull += sc->cov[(size_t)y * (size_t)sc->w + (size_t)x] >= 254.5f / 255.0f;
    *full = (double)nfull / ((double)r->w * r->h);
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "smp-gen-samples: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *cov_dir = NULL, *out_dir = NULL;
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--coverage") == 0 && i + 1 < argc)
            cov_dir = argv[++i];
        else if (argv[i][0] != '-' && !out_dir)
            out_dir = argv[i];
        else
            bad = 1;
    }
    if (bad || !out_dir) {
        fprintf(stderr, "usage: smp-gen-samples [--coverage DIR] OUTDIR\n"
                        "Renders the sample consult photos and OUTDIR/truth.csv.\n");
        return 2;
    }
    if (make_dir(out_dir) != 0 || (cov_dir && make_dir(cov_dir) != 0))
        return 1;

    char *truth_path = join_path(out_dir, "truth.csv");
    FILE *tf = fopen(truth_path, "w");
    if (!tf) {
        fprintf(stderr, "smp-gen-samples: cannot write %s: %s\n", truth_path, strerror(errno));
        free(truth_path);
        return 1;
    }
    fprintf(tf, "# Rendered by tools/gen_samples.c (smp-gen-samples); regenerate with: build/smp-gen-samples samples\n"
                "# Colours are CIELAB D50 as rendered (hair body colour; skin under illumination 1.0).\n"
                "# Rectangles are X,Y,W,H in pixels of the photo as displayed (EXIF orientation applied).\n"
                "# hair_roi: dense hair over skin; scalp_roi: bare skin, no strands; white_roi: grey card L*50 a*0 b*0.\n"
                "file,profile,hair_L,hair_a,hair_b,skin_L,skin_a,skin_b,hair_roi,scalp_roi,white_roi,notes\n");
    int rc = 0;
    for (size_t i = 0; i < N_SAMPLES && rc == 0; i++) {
        const sample_def *sd = &SAMPLES[i];
        scene sc;
        if (render_scene(&sc, sd) != 0) {
            rc = 1;
            break;
        }
        double full;
        full_coverage_stats(&sc, &full);
        printf("%-26s %4d strands, hair_roi coverage mean %.3f, fully covered %.3f\n", sd->name, sc.n_strands,
               mean_coverage(&sc, &sc.hair_roi), full);
        for (int k = 0; k < sd->n_out && rc == 0; k++) {
            if (write_output(&sc, sd, &sd->out[k], out_dir) != 0)
                rc = 1;
            else
                truth_row(tf, &sc, sd, &sd->out[k]);
        }
        if (rc == 0 && cov_dir && write_coverage(&sc, sd, cov_dir) != 0)
            rc = 1;
        free_scene(&sc);
    }
    if (fclose(tf) != 0 && rc == 0) {
        fprintf(stderr, "smp-gen-samples: cannot write %s\n", truth_path);
        rc = 1;
    }
    free(truth_path);
    return rc;
}
