/*
 * render.c: the scene renderer (see render.h).
 *
 * In:  an rnd_params.
 * Out: 8-bit RGB pixels in the chosen colour space as displayed, plus truth
 *      masks, rectangles and colours (rnd_image).
 * Not: an encoder, a photo simulator, or part of libsmpmatch.
 *
 * How colour stays exact. A scene is rendered as per-pixel weights of a few
 * base colours (skin, a redder and a yellower skin, hair, a second hair
 * colour, highlight light, grey card, up to three background colours): every
 * operation (anti-aliasing, over-compositing, highlights, texture, shading)
 * is linear in those colours. The base colours are then turned from Lab D50
 * into the output space's linear RGB with LittleCMS (float, relative
 * colorimetric, into the very profile the file is tagged with) and the
 * weights summed. Because linear RGB spaces are linear maps of XYZ, the sRGB
 * and the Display P3 render of one scene hold the same colours and differ
 * only in pixel values. Only then come the transfer curve, camera-like noise
 * and quantisation.
 *
 * The committed samples (samples/, made by tools/gen_samples.c) must stay
 * byte-identical, so the scalp path draws its random numbers in the order it
 * always did; every feature added later (second hair colour, strips, other
 * scenes, global shading, a width floor) draws nothing and changes nothing
 * when it is off.
 */
#include "render.h"

#include <lcms2.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

typedef rnd_rect rect;

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

static void set_err(char *err, size_t size, const char *fmt, ...)
{
    if (!err || size == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* The k-th smallest of v[0..n) (Wirth's selection; reorders v). */
static float select_kth(float *v, size_t n, size_t k)
{
    ptrdiff_t lo = 0, hi = (ptrdiff_t)n - 1, kk = (ptrdiff_t)k;
    while (lo < hi) {
        float pivot = v[kk];
        ptrdiff_t i = lo, j = hi;
        do {
            while (v[i] < pivot)
                i++;
            while (pivot < v[j])
                j--;
            if (i <= j) {
                float t = v[i];
                v[i] = v[j];
                v[j] = t;
                i++;
                j--;
            }
        } while (i <= j);
        if (j < kk)
            lo = i;
        if (kk < i)
            hi = j;
    }
    return v[kk];
}

/* ------------------------------------------------------------ settings -- */

/* The base colours a scene is made of; a pixel is a weighted sum of them.
 * The first six are those of the committed samples, in their order. */
enum { B_SKIN, B_SKIN_RED, B_SKIN_YEL, B_HAIR, B_LIGHT, B_CARD, B_HAIR2, B_BG0, B_BG1, B_BG2, NBASE };

static const rnd_lab LIGHT_LAB = {96.0, 0.0, 1.0}; /* specular highlights: a near-white light */
static const rnd_lab CARD_LAB = {50.0, 0.0, 0.0};  /* neutral grey card (truth of white_roi) */
#define ROI_FLAT_MARGIN 12.0 /* px around an ROI where shading has the ROI's median */
#define ROI_FLAT_FADE 100.0  /* px (at 1200 wide) over which that correction fades out */
#define MAX_STRANDS 400000   /* a safety stop; scenes need 1,500-15,000 */

void rnd_params_init(rnd_params *p)
{
    memset(p, 0, sizeof *p);
    p->scene = RND_SCENE_SCALP;
    p->width = 1024;
    p->height = 768;
    p->seed = 1;
    p->hair = (rnd_lab){18.0, 1.5, 2.5};
    p->skin = (rnd_lab){66.0, 10.0, 15.0};
    p->hair2 = p->hair;
    p->strand_width[0] = 3.0;
    p->strand_width[1] = 7.0;
    p->strand_length[0] = 110.0;
    p->strand_length[1] = 300.0;
    p->spread_deg = 14.0;
    p->coverage = 0.78;
    p->layout = (rnd_layout){RND_LAYOUT_CROWN, 0.52, 0.50, 0.22, 0.25, 0, 55, 0};
    const double hr[4] = {0.02, 0.03, 0.20, 0.24}, sr[4] = {0.44, 0.41, 0.17, 0.19};
    memcpy(p->hair_roi, hr, sizeof hr);
    memcpy(p->scalp_roi, sr, sizeof sr);
    p->shading = 0.08;
    p->highlights = 1;
    p->strip_depth = 0.12;
    p->space = RND_SRGB;
    p->noise = 1.8;
    rnd_default_bg(p, 0);
}

/* Background colours, CIELAB D50: our choices of typical room and fabric
 * colours (painted walls, towels, capes, combs), not measurements. */
void rnd_default_bg(rnd_params *p, int variant)
{
    static const rnd_lab walls[4][2] = {{{88, 1, 8}, {93, 0, 3}},
                                        {{78, 0, 2}, {92, 0, 2}},
                                        {{74, -2, -7}, {90, 0, 1}},
                                        {{80, 4, 15}, {60, 8, 20}}};
    static const rnd_lab cloths[5][2] = {{{26, 3, -22}, {20, 3, -17}}, /* navy */
                                         {{14, 0, -1}, {18, 0, -2}},   /* black cape */
                                         {{63, 0, -2}, {56, 0, -3}},   /* grey towel */
                                         {{90, 0, 3}, {84, 0, 3}},     /* white towel */
                                         {{45, -24, 12}, {39, -20, 10}}}; /* green */
    static const rnd_lab combs[3] = {{14, 0, -1}, {24, 7, 11}, {45, 2, -8}};
    unsigned v = (unsigned)(variant < 0 ? -variant : variant);
    rnd_strip what = p->strip;
    switch (p->scene) {
    case RND_SCENE_WALL: what = RND_STRIP_WALL; break;
    case RND_SCENE_CLOTH: what = RND_STRIP_CLOTH; break;
    case RND_SCENE_LANDSCAPE:
        p->bg[0] = (rnd_lab){70, -6, -30}; /* sky */
        p->bg[1] = (rnd_lab){50, -30, 32}; /* grass */
        p->bg[2] = (rnd_lab){28, -18, 14}; /* trees */
        return;
    case RND_SCENE_BRICK:
        p->bg[0] = (rnd_lab){45, 24, 24}; /* brick */
        p->bg[1] = (rnd_lab){72, 1, 8};   /* mortar */
        p->bg[2] = (rnd_lab){37, 19, 19}; /* darker brick */
        return;
    case RND_SCENE_WOOD:
        p->bg[0] = (rnd_lab){62, 10, 30}; /* light wood */
        p->bg[1] = (rnd_lab){42, 12, 24}; /* grain */
        p->bg[2] = (rnd_lab){25, 8, 12};  /* gap between planks */
        return;
    case RND_SCENE_SCALP: break;
    }
    switch (what) {
    case RND_STRIP_NONE:
    case RND_STRIP_WALL:
        p->bg[0] = walls[v % 4][0];
        p->bg[1] = walls[v % 4][1];
        break;
    case RND_STRIP_CLOTH:
        p->bg[0] = cloths[v % 5][0];
        p->bg[1] = cloths[v % 5][1];
        break;
    case RND_STRIP_COMB:
        p->bg[0] = combs[v % 3];
        p->bg[1] = combs[v % 3];
        break;
    case RND_STRIP_HAND: /* a hand is redder and a little darker than the scalp */
        p->bg[0] = (rnd_lab){p->skin.L - 3.0, p->skin.a + 4.0, p->skin.b + 2.0};
        p->bg[1] = p->bg[0];
        break;
    }
    p->bg[2] = p->bg[1];
}

rnd_lab rnd_hair_truth(const rnd_params *p)
{
    return p->hair2_share > 0.5 && p->hair2_zone[2] <= 0 ? p->hair2 : p->hair;
}

/* -------------------------------------------------------------- scene -- */

/* Value noise: a lattice of random values every `cell` pixels, smoothly
 * interpolated; zero-mean and symmetric, so it shifts no median. Only for
 * x, y >= 0. */
typedef struct vnoise {
    int gw, gh;
    double cell;
    float *v;
} vnoise;

static int vnoise_init(vnoise *n, rng *r, int w, int h, double cell)
{
    n->cell = cell;
    n->gw = (int)(w / cell) + 3;
    n->gh = (int)(h / cell) + 3;
    n->v = calloc((size_t)n->gw * (size_t)n->gh, sizeof(float));
    if (!n->v)
        return -1;
    for (size_t i = 0; i < (size_t)n->gw * (size_t)n->gh; i++)
        n->v[i] = (float)rng_range(r, -1.0, 1.0);
    return 0;
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

typedef struct scene {
    const rnd_params *p;
    int w, h;
    double scale;      /* frame width / 1200 */
    float *wt;         /* NBASE weights per pixel */
    float *cov;        /* hair coverage 0..1 per pixel */
    float *other;      /* coverage by strip or card (neither hair nor scalp) */
    rect hair_roi, scalp_roi, card, white_roi;
    int has_rois, has_card;
    int used[NBASE];   /* bases that carry weight somewhere */
    vnoise dens;       /* diffuse layout's density field */
    int n_strands;
} scene;

static float *px(const scene *sc, int x, int y)
{
    return sc->wt + ((size_t)y * (size_t)sc->w + (size_t)x) * NBASE;
}

static rect frac_rect(const double f[4], int w, int h)
{
    rect r = {(int)lround(f[0] * w), (int)lround(f[1] * h), (int)lround(f[2] * w),
              (int)lround(f[3] * h)};
    return r;
}

/* Skin: a multiplicative texture (fine grain and blotches, symmetric around
 * 1), a redder and a yellower tint mixed in with symmetric weights (blood
 * flow, pigment), and sparse follicle openings (small, slightly darker dots,
 * well under 1% of pixels). The tints vary over 12-25 px, which JPEG keeps:
 * without that chroma variation an 8-bit JPEG of smooth skin decodes to a few
 * chroma values only and a median over it sits a lattice step off. */
static int render_skin(scene *sc, rng *r)
{
    double scale = sc->scale;
    vnoise fine = {0}, blotch = {0}, red = {0}, redfine = {0}, yel = {0};
    int rc = vnoise_init(&fine, r, sc->w, sc->h, 2.5 * scale);
    rc |= vnoise_init(&blotch, r, sc->w, sc->h, 14.0 * scale);
    rc |= vnoise_init(&red, r, sc->w, sc->h, 25.0 * scale);
    rc |= vnoise_init(&redfine, r, sc->w, sc->h, 12.0 * scale);
    rc |= vnoise_init(&yel, r, sc->w, sc->h, 12.0 * scale);
    if (rc == 0) {
        for (int y = 0; y < sc->h; y++) {
            for (int x = 0; x < sc->w; x++) {
                double t = 1.0 + 0.02 * vnoise_at(&fine, x, y) + 0.025 * vnoise_at(&blotch, x, y);
                double wr = 0.10 * vnoise_at(&red, x, y) + 0.25 * vnoise_at(&redfine, x, y);
                float *p = px(sc, x, y);
                double wy = 0.25 * vnoise_at(&yel, x, y);
                p[B_SKIN] = (float)(t * (1.0 - wr - wy));
                p[B_SKIN_RED] = (float)(t * wr);
                p[B_SKIN_YEL] = (float)(t * wy);
            }
        }
    }
    free(fine.v);
    free(blotch.v);
    free(red.v);
    free(redfine.v);
    free(yel.v);
    if (rc != 0)
        return -1;

    int n_pores = (int)((double)sc->w * sc->h / (2500.0 * scale * scale));
    for (int i = 0; i < n_pores; i++) {
        double px0 = rng_range(r, 0, sc->w), py0 = rng_range(r, 0, sc->h);
        double rad = rng_range(r, 1.0, 2.0) * scale, depth = rng_range(r, 0.10, 0.22);
        for (int y = (int)(py0 - rad - 1); y <= (int)(py0 + rad + 1); y++) {
            for (int x = (int)(px0 - rad - 1); x <= (int)(px0 + rad + 1); x++) {
                if (x < 0 || y < 0 || x >= sc->w || y >= sc->h)
                    continue;
                double d = hypot(x + 0.5 - px0, y + 0.5 - py0);
                double k = 1.0 - depth * clampd(rad - d + 0.5, 0, 1);
                float *p = px(sc, x, y);
                p[B_SKIN] *= (float)k;
                p[B_SKIN_RED] *= (float)k;
                p[B_SKIN_YEL] *= (float)k;
            }
        }
    }
    return 0;
}

/* Hair density (0 bare .. 1 dense) where a root at (x, y) would grow. Roots
 * are drawn over the frame extended by 12 % on each side. */
static double density_at(const scene *sc, double x, double y)
{
    const rnd_layout *l = &sc->p->layout;
    int w = sc->w, h = sc->h;
    switch (l->kind) {
    case RND_LAYOUT_CROWN: {
        double dx = (x - l->cx * w) / (l->rx * w), dy = (y - l->cy * h) / (l->ry * h);
        return smoothstep(1.0, 1.7, sqrt(dx * dx + dy * dy));
    }
    case RND_LAYOUT_RAMP: {
        double a = l->angle_deg * PI / 180, ux = cos(a), uy = sin(a);
        double half = (fabs(ux) * w + fabs(uy) * h) / 2;
        double s = ((x - w / 2.0) * ux + (y - h / 2.0) * uy) / half;
        return smoothstep(l->edge, l->edge + 0.45, s);
    }
    case RND_LAYOUT_PART: {
        double a = l->angle_deg * PI / 180;
        double d = (x - l->cx * w) * sin(a) - (y - l->cy * h) * cos(a);
        return smoothstep(l->edge * w, (l->edge + 0.18) * w, fabs(d));
    }
    case RND_LAYOUT_DIFFUSE: { /* thinner around the bare rectangle, so it is no cut-out */
        double v = vnoise_at(&sc->dens, x + 0.12 * w + 1, y + 0.12 * h + 1);
        return (l->edge + (1 - l->edge) * smoothstep(-0.5, 0.5, v)) *
               smoothstep(0, 0.12 * w, rect_distance(&sc->scalp_roi, x, y));
    }
    case RND_LAYOUT_EVEN:
        return smoothstep(0, 0.12 * w, rect_distance(&sc->scalp_roi, x, y));
    }
    return 0;
}

static double flow_at(const scene *sc, double x, double y)
{
    const rnd_layout *l = &sc->p->layout;
    int w = sc->w, h = sc->h;
    double flow = l->flow_deg * PI / 180;
    switch (l->kind) {
    case RND_LAYOUT_CROWN: /* a whorl: outwards, turned by flow_deg */
        return atan2(y - l->cy * h, x - l->cx * w) + flow;
    case RND_LAYOUT_RAMP:
    case RND_LAYOUT_DIFFUSE:
    case RND_LAYOUT_EVEN:
        return flow;
    case RND_LAYOUT_PART: { /* away from the part line on each side, turned along it */
        double a = l->angle_deg * PI / 180;
        double d = (x - l->cx * w) * sin(a) - (y - l->cy * h) * cos(a);
        double side = d >= 0 ? 1 : -1;
        return atan2(-cos(a) * side, sin(a) * side) + side * flow;
    }
    }
    return 0;
}

/* One hair: a quadratic Bezier from the root, with a half-width, a body
 * brightness factor, perhaps a specular highlight along part of it, and its
 * colour (the second hair colour for the whole strand, or near the root). */
typedef struct strand {
    double pts[64][2];
    int n;
    double half_w;
    double body;               /* multiplies the hair colour, symmetric around 1 */
    double hl_t0, hl_t1, hl_k; /* highlight along t in [t0, t1], peak weight hl_k */
    int alt;                   /* whole strand in the second colour */
    double root_t;             /* second colour for t < root_t */
} strand;

/* A follicular unit's root: uniform over a margin-extended frame (so hair
 * also enters from outside the picture), accepted with the local density. */
static void pick_root(const scene *sc, rng *r, double *x0, double *y0)
{
    int w = sc->w, h = sc->h;
    for (;;) {
        *x0 = rng_range(r, -0.12 * w, 1.12 * w);
        *y0 = rng_range(r, -0.12 * h, 1.12 * h);
        if (rng_unit(r) < density_at(sc, *x0, *y0))
            return;
    }
}

/* How much of hair2_share applies to a strand rooted at (x, y): 1 inside
 * hair2_zone (or everywhere when there is none), fading to 0 over 6 % of the
 * frame width outside it, so a greyer temple blends into the rest. */
static double hair2_weight(const scene *sc, double x, double y)
{
    const double *z = sc->p->hair2_zone;
    if (z[2] <= 0)
        return 1.0;
    rect zr = frac_rect(z, sc->w, sc->h);
    return 1.0 - smoothstep(0.0, 0.06 * sc->w, rect_distance(&zr, x, y));
}

static void make_strand(const scene *sc, strand *s, rng *r, double x0, double y0, double theta,
                        double len, double half_w)
{
    const rnd_params *p = sc->p;
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
    if (!p->highlights)
        s->hl_k = 0;
    s->alt = 0;
    s->root_t = 0;
    if (p->hair2_share > 0) {
        double share = p->hair2_share * hair2_weight(sc, x0, y0);
        if (p->hair2_mix == RND_MIX_STRANDS)
            s->alt = rng_unit(r) < share;
        else
            s->root_t = share;
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
                double qx = x + 0.5 - ax, qy = y + 0.5 - ay;
                double u = len2 > 0 ? clampd((qx * ex + qy * ey) / len2, 0, 1) : 0;
                double d = hypot(qx - u * ex, qy - u * ey);
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
            int hb = (s->alt || tpar[k] < s->root_t) ? B_HAIR2 : B_HAIR;
            size_t pi = (size_t)y * (size_t)sc->w + (size_t)x;
            float *p = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                p[b] *= (float)(1 - a);
            p[hb] += (float)(a * s->body * (1 - hl));
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
static int render_hair(scene *sc, rng *r)
{
    const rnd_params *p = sc->p;
    double scale = sc->scale;
    size_t n = (size_t)sc->w * (size_t)sc->h;
    float *dist = calloc(n, sizeof(float)), *tpar = calloc(n, sizeof(float));
    if (!dist || !tpar) {
        free(dist);
        free(tpar);
        return -1;
    }
    strand s;
    sc->n_strands = 0;
    while (sc->n_strands < MAX_STRANDS) {
        for (int i = 0; i < 10; i++) {
            /* Hair grows in follicular units of 1-4 hairs that lie side by
             * side, which gives locks several strands wide. */
            double x0, y0;
            pick_root(sc, r, &x0, &y0);
            double theta = flow_at(sc, x0, y0) + rng_gauss(r) * (p->spread_deg * PI / 180);
            double len = rng_range(r, p->strand_length[0], p->strand_length[1]) * scale;
            int n_unit = 1 + (rng_unit(r) < 0.7) + (rng_unit(r) < 0.45) + (rng_unit(r) < 0.2);
            for (int j = 0; j < n_unit; j++) {
                double half_w = rng_range(r, p->strand_width[0] / 2, p->strand_width[1] / 2) * scale;
                double off = (j - (n_unit - 1) / 2.0) * 2.6 * scale;
                double th = theta + rng_gauss(r) * (3.0 * PI / 180);
                if (half_w < p->min_half_width)
                    half_w = p->min_half_width;
                make_strand(sc, &s, r, x0 - off * sin(theta), y0 + off * cos(theta), th,
                            len * rng_range(r, 0.85, 1.1), half_w);
                if (strand_touches(&s, &sc->scalp_roi, s.half_w + 10 * scale))
                    continue;
                draw_strand(sc, &s, dist, tpar);
                sc->n_strands++;
            }
        }
        if (mean_coverage(sc, &sc->hair_roi) >= p->coverage)
            break;
    }
    free(dist);
    free(tpar);
    return 0;
}

/* The grey card lies on top of everything; it is neither hair nor scalp. */
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
            sc->other[pi] = 1;
        }
    }
}

/* --------------------------------------------------------------- strip -- */

/* A strip along one edge: its depth into the frame wobbles along the edge
 * (a head's outline against a wall, fingers of a hand). */
typedef struct strip_geom {
    rnd_edge edge;
    double across; /* frame size across the edge (W for left/right) */
    double depth;  /* mean depth, px */
    double amp[2], wl[2], ph[2];
} strip_geom;

/* The largest depth a strip can reach, as a fraction of `across`. */
static double strip_max_depth(const rnd_params *p)
{
    return p->strip_depth + 0.035;
}

static void strip_coords(const strip_geom *g, int w, int h, int x, int y, double *d, double *t)
{
    switch (g->edge) {
    case RND_EDGE_LEFT: *d = x + 0.5; *t = y + 0.5; break;
    case RND_EDGE_RIGHT: *d = w - (x + 0.5); *t = y + 0.5; break;
    case RND_EDGE_TOP: *d = y + 0.5; *t = x + 0.5; break;
    case RND_EDGE_BOTTOM: *d = h - (y + 0.5); *t = x + 0.5; break;
    }
}

static double strip_depth_at(const strip_geom *g, double t)
{
    return g->depth + g->amp[0] * sin(2 * PI * t / g->wl[0] + g->ph[0]) +
           g->amp[1] * sin(2 * PI * t / g->wl[1] + g->ph[1]);
}

/* Paints the strip over the scene. It has its own random numbers, so a scene
 * with a strip is the same scene without one, partly covered. */
static int render_strip(scene *sc)
{
    const rnd_params *p = sc->p;
    rng r;
    rng_seed(&r, p->seed ^ 0x7374726970ULL);
    strip_geom g;
    g.edge = p->strip_edge;
    g.across = (g.edge == RND_EDGE_LEFT || g.edge == RND_EDGE_RIGHT) ? sc->w : sc->h;
    double along = (g.edge == RND_EDGE_LEFT || g.edge == RND_EDGE_RIGHT) ? sc->h : sc->w;
    g.depth = p->strip_depth * g.across;
    if (p->strip == RND_STRIP_HAND) { /* fingers: short waves */
        g.amp[0] = 0.025 * g.across;
        g.wl[0] = along * rng_range(&r, 0.12, 0.18);
        g.amp[1] = 0.008 * g.across;
        g.wl[1] = along * rng_range(&r, 0.05, 0.07);
    } else if (p->strip == RND_STRIP_COMB) { /* a straight bar */
        g.amp[0] = 0.004 * g.across;
        g.wl[0] = along * 3;
        g.amp[1] = 0;
        g.wl[1] = along;
    } else { /* a head's outline */
        g.amp[0] = 0.025 * g.across;
        g.wl[0] = along * rng_range(&r, 1.5, 3.0);
        g.amp[1] = 0.008 * g.across;
        g.wl[1] = along * rng_range(&r, 0.3, 0.5);
    }
    g.ph[0] = rng_range(&r, 0, 2 * PI);
    g.ph[1] = rng_range(&r, 0, 2 * PI);

    vnoise low = {0}, fine = {0};
    if (vnoise_init(&low, &r, sc->w, sc->h, 160 * sc->scale) != 0 ||
        vnoise_init(&fine, &r, sc->w, sc->h, 2.5 * sc->scale) != 0) {
        free(low.v);
        free(fine.v);
        return -1;
    }
    double period = 7.0 * sc->scale, tilt = rng_range(&r, -0.3, 0.3);
    double tooth_p = 22.0 * sc->scale, tooth_w = 9.0 * sc->scale, tooth_l = 0.06 * g.across;
    double fold_wl = rng_range(&r, 0.2, 0.4) * along, fold_ph = rng_range(&r, 0, 2 * PI);
    sc->used[B_BG0] = 1;
    if (p->strip == RND_STRIP_CLOTH)
        sc->used[B_BG1] = 1;
    if (p->strip == RND_STRIP_COMB)
        sc->used[B_LIGHT] = 1;

    for (int y = 0; y < sc->h; y++) {
        for (int x = 0; x < sc->w; x++) {
            double d = 0, t = 0;
            strip_coords(&g, sc->w, sc->h, x, y, &d, &t);
            double dep = strip_depth_at(&g, t);
            double a = clampd(dep - d + 0.5, 0, 1);
            if (p->strip == RND_STRIP_COMB) {
                double k = t / tooth_p, dt = fabs(k - floor(k + 0.5)) * tooth_p;
                double tooth = clampd(tooth_w / 2 - dt + 0.5, 0, 1) * clampd(dep + tooth_l - d + 0.5, 0, 1);
                a = fmax(a, tooth);
            }
            if (a <= 0)
                continue;
            size_t pi = (size_t)y * (size_t)sc->w + (size_t)x;
            float *q = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                q[b] *= (float)(1 - a);
            sc->cov[pi] *= (float)(1 - a);
            sc->other[pi] = (float)(a + (1 - a) * sc->other[pi]);
            double tex = 1 + 0.01 * vnoise_at(&fine, x, y);
            switch (p->strip) {
            case RND_STRIP_NONE:
            case RND_STRIP_WALL:
                q[B_BG0] += (float)(a * tex * (1 + 0.06 * vnoise_at(&low, x, y)));
                break;
            case RND_STRIP_CLOTH: {
                double u = x * cos(tilt) + y * sin(tilt), v = -x * sin(tilt) + y * cos(tilt);
                double m = 0.5 + 0.5 * sin(2 * PI * u / period) * sin(2 * PI * v / period);
                double fold = 1 + 0.15 * sin(2 * PI * t / fold_wl + fold_ph);
                q[B_BG0] += (float)(a * tex * fold * (1 - m));
                q[B_BG1] += (float)(a * tex * fold * m);
                break;
            }
            case RND_STRIP_COMB: {
                double c = (d - 0.4 * g.depth) / (0.08 * g.depth);
                double hl = 0.25 * exp(-c * c);
                q[B_BG0] += (float)(a * tex * (1 - hl));
                q[B_LIGHT] += (float)(a * hl);
                break;
            }
            case RND_STRIP_HAND: { /* rounded fingers: darker towards their outline */
                double round = 0.75 + 0.25 * smoothstep(0, 0.04 * g.across, dep - d);
                q[B_BG0] += (float)(a * (tex + 0.02 * vnoise_at(&low, x, y)) * round);
                break;
            }
            }
        }
    }
    free(low.v);
    free(fine.v);
    return 0;
}

/* -------------------------------------------------- scenes of other things -- */

/* A cheap hash of two integers to [0, 1) (per-brick variation). */
static double hash01(uint64_t seed, int i, int j)
{
    uint64_t x = seed ^ ((uint64_t)(uint32_t)i << 32) ^ (uint32_t)j;
    return (double)(splitmix64(&x) >> 11) * (1.0 / 9007199254740992.0);
}

static void render_other(scene *sc, rng *r, vnoise *low, vnoise *fine)
{
    const rnd_params *p = sc->p;
    int w = sc->w, h = sc->h;
    double s = sc->scale;
    /* Scene constants, drawn once. */
    double door_x = rng_range(r, 0.55, 0.8) * w, door_w = 0.05 * w;
    double tilt = rng_range(r, -0.4, 0.4), period = 7.0 * s;
    double hz[4], sun_x = rng_range(r, 0.6, 0.85) * w, sun_y = rng_range(r, 0.1, 0.25) * h;
    for (int i = 0; i < 4; i++)
        hz[i] = rng_range(r, 0, 2 * PI);
    double trees[8][3];
    for (int i = 0; i < 8; i++) {
        trees[i][0] = rng_range(r, 0, w);
        trees[i][2] = rng_range(r, 0.025, 0.055) * w;
        trees[i][1] = 0;
    }
    double brick_h = 42 * s, brick_w = 2.2 * brick_h, mortar = 5 * s;
    double grain = 16 * s, plank = rng_range(r, 0.25, 0.35) * h;
    uint64_t hs = p->seed * 0x9e3779b97f4a7c15ULL;

    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float *q = px(sc, x, y);
            double tex = 1 + 0.012 * vnoise_at(fine, x, y), lo = vnoise_at(low, x, y);
            switch (p->scene) {
            case RND_SCENE_SCALP:
                break;
            case RND_SCENE_WALL: {
                double fall = 1 + 0.12 * lo;
                double in_door = clampd(door_w / 2 - fabs(x + 0.5 - door_x) + 0.5, 0, 1);
                double shadow = 1 - 0.25 * exp(-pow((x + 0.5 - door_x - door_w / 2 - 4 * s) / (6 * s), 2));
                q[B_BG0] = (float)(tex * fall * (1 - in_door) * shadow);
                q[B_BG1] = (float)(tex * fall * in_door);
                break;
            }
            case RND_SCENE_CLOTH: {
                double u = x * cos(tilt) + y * sin(tilt), v = -x * sin(tilt) + y * cos(tilt);
                double m = 0.5 + 0.5 * sin(2 * PI * u / period) * sin(2 * PI * v / period);
                double fold = 1 + 0.25 * lo;
                q[B_BG0] = (float)(tex * fold * (1 - m));
                q[B_BG1] = (float)(tex * fold * m);
                break;
            }
            case RND_SCENE_LANDSCAPE: {
                double yh = h * (0.55 + 0.07 * sin(2 * PI * x / (1.3 * w) + hz[0]) +
                                 0.03 * sin(2 * PI * x / (0.37 * w) + hz[1]));
                double ground = clampd(y + 0.5 - yh + 0.5, 0, 1);
                double haze = 0.6 * pow(clampd((y + 0.5) / yh, 0, 1), 2);
                double sun = clampd(0.045 * w - hypot(x + 0.5 - sun_x, y + 0.5 - sun_y) + 0.5, 0, 1);
                double tree = 0;
                for (int i = 0; i < 8; i++) {
                    double ty = h * (0.55 + 0.07 * sin(2 * PI * trees[i][0] / (1.3 * w) + hz[0]) +
                                     0.03 * sin(2 * PI * trees[i][0] / (0.37 * w) + hz[1])) -
                                0.6 * trees[i][2];
                    tree = fmax(tree, clampd(trees[i][2] - hypot(x + 0.5 - trees[i][0], y + 0.5 - ty) + 0.5, 0, 1));
                }
                double sky = (1 - ground) * (1 - tree);
                q[B_BG0] = (float)(sky * (1 - sun) * (1 - haze));
                q[B_LIGHT] = (float)(sky * ((1 - sun) * haze * 0.85 + sun));
                q[B_BG1] = (float)((1 - tree) * ground * tex * (1 + 0.1 * lo));
                q[B_BG2] = (float)(tree * tex);
                break;
            }
            case RND_SCENE_BRICK: {
                int row = (int)floor((y + 0.5) / brick_h);
                double off = (row & 1) ? brick_w / 2 : 0;
                int col = (int)floor((x + 0.5 + off) / brick_w);
                double fy = fmod(y + 0.5, brick_h), fx = fmod(x + 0.5 + off, brick_w);
                double in_y = clampd(fmin(fy - mortar / 2, brick_h - mortar / 2 - fy) + 0.5, 0, 1);
                double in_x = clampd(fmin(fx - mortar / 2, brick_w - mortar / 2 - fx) + 0.5, 0, 1);
                double brick = in_x * in_y, k = 0.85 + 0.3 * hash01(hs, row, col);
                double mix = hash01(hs ^ 1, row, col);
                q[B_BG0] = (float)(brick * k * tex * (1 - mix));
                q[B_BG2] = (float)(brick * k * tex * mix);
                q[B_BG1] = (float)((1 - brick) * tex);
                break;
            }
            case RND_SCENE_WOOD: {
                double u = y + 0.05 * h * lo + 0.01 * h * sin(2 * PI * x / (0.6 * w));
                double m = pow(0.5 + 0.5 * sin(2 * PI * u / grain), 3);
                double gap = clampd(1.5 * s - fabs(fmod(y + 0.5, plank) - plank / 2) + 0.5, 0, 1);
                q[B_BG0] = (float)((1 - gap) * tex * (1 - m));
                q[B_BG1] = (float)((1 - gap) * tex * m);
                q[B_BG2] = (float)gap;
                break;
            }
            }
        }
    }
    (void)trees;
}

static int render_other_scene(scene *sc, rng *r)
{
    vnoise low = {0}, fine = {0};
    if (vnoise_init(&low, r, sc->w, sc->h, 0.25 * sc->w) != 0 ||
        vnoise_init(&fine, r, sc->w, sc->h, 2.5 * sc->scale) != 0) {
        free(low.v);
        free(fine.v);
        return -1;
    }
    render_other(sc, r, &low, &fine);
    free(low.v);
    free(fine.v);
    size_t n = (size_t)sc->w * (size_t)sc->h;
    for (size_t i = 0; i < n; i++)
        sc->other[i] = 1;
    for (int b = 0; b < NBASE; b++)
        sc->used[b] = 0;
    sc->used[B_BG0] = sc->used[B_BG1] = 1;
    sc->used[B_BG2] = sc->p->scene == RND_SCENE_LANDSCAPE || sc->p->scene == RND_SCENE_BRICK ||
                      sc->p->scene == RND_SCENE_WOOD;
    sc->used[B_LIGHT] = sc->p->scene == RND_SCENE_LANDSCAPE;
    return 0;
}

/* ------------------------------------------------------------ shading -- */

static double median_of(float *v, size_t m)
{
    if (m == 0)
        return 0;
    float hi = select_kth(v, m, m / 2);
    if (m % 2)
        return hi;
    return 0.5 * ((double)select_kth(v, m, m / 2 - 1) + hi);
}

/* Low-frequency illumination: a few long-wavelength waves around 1.0.
 * Around each measurement rectangle the field is offset by its median there,
 * so the median illumination over each rectangle is exactly 1.0 (the truth
 * colours are "under illumination 1.0") while the light still varies inside
 * it; the offset fades out over ROI_FLAT_FADE pixels outside. With
 * shade_global, the rest of the frame is offset by the field's median over
 * the whole frame, so that a measurement over a whole mask is unbiased too. */
static int apply_shading(scene *sc, rng *r)
{
    double kx[3], ky[3], ph[3];
    for (int i = 0; i < 3; i++) {
        double ang = rng_range(r, 0, 2 * PI), wl = rng_range(r, 0.9, 1.8) * sc->w;
        kx[i] = 2 * PI * cos(ang) / wl;
        ky[i] = 2 * PI * sin(ang) / wl;
        ph[i] = rng_range(r, 0, 2 * PI);
    }
    size_t n = (size_t)sc->w * (size_t)sc->h;
    float *s = calloc(n, sizeof(float));
    if (!s)
        return -1;
    for (int y = 0; y < sc->h; y++)
        for (int x = 0; x < sc->w; x++) {
            double v = 0;
            for (int i = 0; i < 3; i++)
                v += cos(kx[i] * x + ky[i] * y + ph[i]) / 3;
            s[(size_t)y * (size_t)sc->w + (size_t)x] = (float)v;
        }

    double g = 0;
    if (sc->p->shade_global) {
        float *tmp = malloc(n * sizeof(float));
        if (!tmp) {
            free(s);
            return -1;
        }
        memcpy(tmp, s, n * sizeof(float));
        g = median_of(tmp, n);
        free(tmp);
    }
    rect rois[3] = {sc->hair_roi, sc->scalp_roi, sc->white_roi};
    int n_rois = !sc->has_rois ? 0 : sc->has_card ? 3 : 2;
    double med[3], fade = ROI_FLAT_FADE * sc->w / 1200.0;
    for (int k = 0; k < n_rois; k++) {
        const rect *q = &rois[k];
        float *tmp = malloc((size_t)q->w * (size_t)q->h * sizeof(float));
        if (!tmp) {
            free(s);
            return -1;
        }
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
            double off = g;
            for (int k = 0; k < n_rois; k++) {
                double d = rect_distance(&rois[k], x + 0.5, y + 0.5);
                off += (med[k] - g) * (1 - smoothstep(ROI_FLAT_MARGIN, ROI_FLAT_MARGIN + fade, d));
            }
            double shade = 1 + sc->p->shading * (s[pi] - off);
            float *p = sc->wt + pi * NBASE;
            for (int b = 0; b < NBASE; b++)
                p[b] *= (float)shade;
        }
    }
    free(s);
    return 0;
}

/* ---------------------------------------------------------- rectangles -- */

static int rect_inside(const rect *a, int w, int h)
{
    return a->x >= 0 && a->y >= 0 && a->w > 0 && a->h > 0 && a->x + a->w <= w && a->y + a->h <= h;
}

/* Distance from a rectangle to the far side of the strip (negative: inside). */
static double strip_clearance(const rnd_params *p, const rect *a)
{
    double reach = strip_max_depth(p);
    switch (p->strip_edge) {
    case RND_EDGE_LEFT: return a->x - reach * p->width;
    case RND_EDGE_RIGHT: return (p->width - (a->x + a->w)) - reach * p->width;
    case RND_EDGE_TOP: return a->y - reach * p->height;
    case RND_EDGE_BOTTOM: return (p->height - (a->y + a->h)) - reach * p->height;
    }
    return 0;
}

int rnd_rects(const rnd_params *p, rnd_rect *hair_roi, rnd_rect *scalp_roi, rnd_rect *white_roi,
              int *has_white_roi, char *err, size_t err_size)
{
    int w = p->width, h = p->height;
    if (w < 16 || h < 16 || w > 20000 || h > 20000) {
        set_err(err, err_size, "frame %dx%d outside 16..20000", w, h);
        return -1;
    }
    rect rois[3] = {{0, 0, 0, 0}, {0, 0, 0, 0}, {0, 0, 0, 0}};
    int has_card = 0;
    if (p->scene == RND_SCENE_SCALP) {
        rois[0] = frac_rect(p->hair_roi, w, h);
        rois[1] = frac_rect(p->scalp_roi, w, h);
        has_card = p->card[2] > 0;
        if (has_card) {
            rect card = frac_rect(p->card, w, h);
            int inset = (int)lround(20 * (w / 1200.0));
            rois[2] = (rect){card.x + inset, card.y + inset, card.w - 2 * inset, card.h - 2 * inset};
        }
        int n = has_card ? 3 : 2;
        for (int i = 0; i < n; i++) {
            const rect *a = &rois[i];
            if (!rect_inside(a, w, h)) {
                set_err(err, err_size, "rectangle %d outside the frame", i);
                return -1;
            }
            if (p->strip != RND_STRIP_NONE && strip_clearance(p, a) < 0.02 * w) {
                set_err(err, err_size, "rectangle %d too close to the strip", i);
                return -1;
            }
            for (int j = 0; j < n; j++) {
                if (i == j)
                    continue;
                const rect *b = &rois[j];
                double gap = fmax(fmax(b->x - (a->x + a->w), a->x - (b->x + b->w)),
                                  fmax(b->y - (a->y + a->h), a->y - (b->y + b->h)));
                if (gap < ROI_FLAT_MARGIN + ROI_FLAT_FADE * w / 1200.0 + 2) {
                    set_err(err, err_size, "rectangles %d and %d too close", i, j);
                    return -1;
                }
            }
        }
    }
    if (hair_roi)
        *hair_roi = rois[0];
    if (scalp_roi)
        *scalp_roi = rois[1];
    if (white_roi)
        *white_roi = rois[2];
    if (has_white_roi)
        *has_white_roi = has_card;
    return 0;
}

/* ------------------------------------------------------------- colour -- */

unsigned char *rnd_space_icc(rnd_space space, size_t *size)
{
    switch (space) {
    case RND_SRGB: return enc_icc_srgb(size);
    case RND_P3: return enc_icc_display_p3(size);
    case RND_ADOBE: return enc_icc_adobe_rgb(size);
    }
    return NULL;
}

/* Transfer curves. sRGB and Display P3: IEC 61966-2-1; Adobe RGB (1998):
 * gamma 563/256 (Adobe RGB (1998) Color Image Encoding, 2005, 4.3.1.2). */
static double encode_tf(rnd_space sp, double v)
{
    if (v <= 0)
        return 0;
    if (sp == RND_ADOBE)
        return pow(v, 256.0 / 563.0);
    return v <= 0.0031308 ? 12.92 * v : 1.055 * pow(v, 1 / 2.4) - 0.055;
}

static double decode_tf(rnd_space sp, double e)
{
    if (e <= 0)
        return 0;
    if (sp == RND_ADOBE)
        return pow(e, 563.0 / 256.0);
    return e <= 0.04045 ? e / 12.92 : pow((e + 0.055) / 1.055, 2.4);
}

/* A colour cast: the scene lit by light of chromaticity xy while the camera
 * stays balanced for D50, modelled by the Bradford chromatic adaptation
 * (the CAT of ICC.1 Annex E, LittleCMS's cmsAdaptToIlluminant) from D50 to
 * that light. Every rendered colour is a linear mix of the base colours and
 * the adaptation is linear in XYZ, so adapting the base colours casts every
 * pixel. */
static rnd_lab cast_lab(rnd_lab c, const double xy[2])
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
    return (rnd_lab){res.L, res.a, res.b};
}

/* Lab D50 -> linear RGB of the output profile, for the base colours in use.
 * Truth colours must fit the gamut; the highlight is the light itself and
 * is clipped like a camera clips it. */
static int base_colours(const scene *sc, double lin[NBASE][3], char *err, size_t err_size)
{
    const rnd_params *p = sc->p;
    size_t icc_size = 0;
    unsigned char *icc = rnd_space_icc(p->space, &icc_size);
    if (!icc) {
        set_err(err, err_size, "cannot build the ICC profile");
        return -1;
    }
    cmsHPROFILE lab_p = cmsCreateLab4Profile(NULL); /* NULL: D50 */
    cmsHPROFILE rgb_p = cmsOpenProfileFromMem(icc, (cmsUInt32Number)icc_size);
    free(icc);
    cmsHTRANSFORM t = NULL;
    if (lab_p && rgb_p)
        t = cmsCreateTransform(lab_p, TYPE_Lab_DBL, rgb_p, TYPE_RGB_DBL, INTENT_RELATIVE_COLORIMETRIC,
                               cmsFLAGS_NOCACHE);
    if (lab_p)
        cmsCloseProfile(lab_p);
    if (rgb_p)
        cmsCloseProfile(rgb_p);
    if (!t) {
        set_err(err, err_size, "cannot build the Lab -> RGB transform");
        return -1;
    }
    rnd_lab src[NBASE];
    src[B_SKIN] = p->skin;
    src[B_SKIN_RED] = (rnd_lab){p->skin.L - 4.0, p->skin.a + 8.0, p->skin.b - 1.0}; /* a redder skin */
    src[B_SKIN_YEL] = (rnd_lab){p->skin.L - 2.0, p->skin.a + 1.0, p->skin.b + 7.0}; /* a yellower skin */
    src[B_HAIR] = p->hair;
    src[B_LIGHT] = LIGHT_LAB;
    src[B_CARD] = CARD_LAB;
    src[B_HAIR2] = p->hair2;
    src[B_BG0] = p->bg[0];
    src[B_BG1] = p->bg[1];
    src[B_BG2] = p->bg[2];
    static const char *names[NBASE] = {"skin", "redder skin", "yellower skin", "hair", "light",
                                       "grey card", "second hair colour", "background 1",
                                       "background 2", "background 3"};
    int rc = 0;
    for (int b = 0; b < NBASE; b++) {
        lin[b][0] = lin[b][1] = lin[b][2] = 0;
        if (!sc->used[b])
            continue;
        rnd_lab seen = cast_lab(src[b], p->cast_xy);
        cmsCIELab in = {seen.L, seen.a, seen.b};
        double out[3];
        cmsDoTransform(t, &in, out, 1);
        for (int c = 0; c < 3; c++) {
            if (b != B_LIGHT && (out[c] < -1e-4 || out[c] > 1 + 1e-4) && rc == 0) {
                set_err(err, err_size, "%s (%.1f, %.1f, %.1f) out of gamut", names[b], src[b].L, src[b].a,
                        src[b].b);
                rc = -1;
            }
            lin[b][c] = decode_tf(p->space, clampd(out[c], 0, 1));
        }
    }
    cmsDeleteTransform(t);
    return rc;
}

/* ------------------------------------------------------------- render -- */

size_t rnd_stored_index(int orientation, int w, int h, int x, int y)
{
    switch (orientation) {
    case 3: /* rotated 180 degrees */
        return (size_t)(h - 1 - y) * (size_t)w + (size_t)(w - 1 - x);
    case 6: /* stored row 0 = displayed right column, column 0 = displayed top row */
        return (size_t)(w - 1 - x) * (size_t)h + (size_t)y;
    case 8: /* stored row 0 = displayed left column, column 0 = displayed bottom row */
        return (size_t)x * (size_t)h + (size_t)(h - 1 - y);
    default:
        return (size_t)y * (size_t)w + (size_t)x;
    }
}

static int render_weights(scene *sc, rng *r)
{
    const rnd_params *p = sc->p;
    if (p->scene != RND_SCENE_SCALP) {
        if (render_other_scene(sc, r) != 0)
            return -1;
        return apply_shading(sc, r);
    }
    for (int b = 0; b <= B_CARD; b++)
        sc->used[b] = 1;
    sc->used[B_HAIR2] = p->hair2_share > 0;
    if (render_skin(sc, r) != 0)
        return -1;
    if (p->layout.kind == RND_LAYOUT_DIFFUSE &&
        vnoise_init(&sc->dens, r, (int)(1.24 * sc->w) + 2, (int)(1.24 * sc->h) + 2, 0.3 * sc->w) != 0)
        return -1;
    if (render_hair(sc, r) != 0)
        return -1;
    if (p->strip != RND_STRIP_NONE && render_strip(sc) != 0)
        return -1;
    if (sc->has_card)
        render_card(sc);
    return apply_shading(sc, r);
}

/* Turns weights into 8-bit pixels: base colours summed in linear light, the
 * transfer curve, Gaussian camera noise, rounding. */
static void render_pixels(const scene *sc, const double lin[NBASE][3], unsigned char *rgb)
{
    rng r;
    rng_seed(&r, sc->p->seed ^ 0x6e6f697365ULL); /* the same noise for every space of a scene */
    for (int y = 0; y < sc->h; y++) {
        for (int x = 0; x < sc->w; x++) {
            const float *p = px(sc, x, y);
            unsigned char *o = rgb + ((size_t)y * (size_t)sc->w + (size_t)x) * 3;
            for (int c = 0; c < 3; c++) {
                double v = 0;
                for (int b = 0; b < NBASE; b++)
                    v += p[b] * lin[b][c];
                double e = clampd(encode_tf(sc->p->space, clampd(v, 0, 1)) * 255.0 + sc->p->noise * rng_gauss(&r),
                                  0, 255.0);
                o[c] = (unsigned char)lround(e);
            }
        }
    }
}

static void fill_truth(const scene *sc, rnd_image *out)
{
    size_t n = (size_t)sc->w * (size_t)sc->h;
    for (size_t i = 0; i < n; i++) {
        out->coverage[i] = sc->cov[i];
        out->hair_mask[i] = sc->cov[i] >= 0.5f ? 255 : 0;
        out->skin_mask[i] =
            (sc->p->scene == RND_SCENE_SCALP && sc->cov[i] < 0.5f && sc->other[i] < 0.5f) ? 255 : 0;
    }
    out->has_rois = sc->has_rois;
    out->hair_roi = sc->hair_roi;
    out->scalp_roi = sc->scalp_roi;
    out->has_white_roi = sc->has_card;
    out->white_roi = sc->white_roi;
    if (sc->p->scene == RND_SCENE_SCALP) { /* else no hair, no skin: left at 0 */
        out->hair_truth = rnd_hair_truth(sc->p);
        out->skin_truth = sc->p->skin;
    }
    out->n_strands = sc->n_strands;
    if (sc->has_rois) {
        const rect *q = &sc->hair_roi;
        size_t full = 0;
        for (int y = q->y; y < q->y + q->h; y++)
            for (int x = q->x; x < q->x + q->w; x++)
                full += sc->cov[(size_t)y * (size_t)sc->w + (size_t)x] >= 254.5f / 255.0f;
        out->roi_coverage = mean_coverage(sc, q);
        out->roi_full = (double)full / ((double)q->w * q->h);
    }
}

void rnd_image_free(rnd_image *img)
{
    if (!img)
        return;
    free(img->rgb);
    free(img->hair_mask);
    free(img->skin_mask);
    free(img->coverage);
    memset(img, 0, sizeof *img);
}

int rnd_render(const rnd_params *p, rnd_image *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof *out);
    scene sc;
    memset(&sc, 0, sizeof sc);
    sc.p = p;
    sc.w = p->width;
    sc.h = p->height;
    sc.scale = sc.w / 1200.0; /* sizes are for a 1200x900 frame */
    if (rnd_rects(p, &sc.hair_roi, &sc.scalp_roi, &sc.white_roi, &sc.has_card, err, err_size) != 0)
        return -1;
    sc.has_rois = p->scene == RND_SCENE_SCALP;
    if (sc.has_card)
        sc.card = frac_rect(p->card, sc.w, sc.h);

    size_t n = (size_t)sc.w * (size_t)sc.h;
    sc.wt = calloc(n * NBASE, sizeof(float));
    sc.cov = calloc(n, sizeof(float));
    sc.other = calloc(n, sizeof(float));
    out->rgb = malloc(n * 3);
    out->hair_mask = malloc(n);
    out->skin_mask = malloc(n);
    out->coverage = malloc(n * sizeof(float));
    int rc = -1;
    double lin[NBASE][3];
    if (!sc.wt || !sc.cov || !sc.other || !out->rgb || !out->hair_mask || !out->skin_mask || !out->coverage) {
        set_err(err, err_size, "out of memory for a %dx%d frame", sc.w, sc.h);
    } else {
        rng r;
        rng_seed(&r, p->seed);
        if (render_weights(&sc, &r) != 0)
            set_err(err, err_size, "out of memory for a %dx%d frame", sc.w, sc.h);
        else if (base_colours(&sc, lin, err, err_size) == 0) {
            render_pixels(&sc, lin, out->rgb);
            fill_truth(&sc, out);
            out->width = sc.w;
            out->height = sc.h;
            rc = 0;
        }
    }
    free(sc.wt);
    free(sc.cov);
    free(sc.other);
    free(sc.dens.v);
    if (rc != 0)
        rnd_image_free(out);
    return rc;
}
