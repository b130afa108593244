/*
 * match.c: the `match` stage, ranking palette shades against the hair colour.
 *
 * In:  the hair colour (Lab D50), a palette, a metric.
 * Out: ranked shades with ΔE (chosen metric), ΔE00, verdict and rank.
 * Not: the healed-appearance model; the pipeline says when it is asked for.
 *
 * ΔE2000, ΔE76 and CMC are LittleCMS's (they match the reference vectors in
 * tests/data to 1e-4); ΔE94 is ours (see match.h).
 */
#include "match.h"

#include <lcms2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "heal.h"
#include "util.h"

double smp_de94(const double ref[3], const double sample[3])
{
    /* CIE 116-1995, graphic arts: SL = 1, SC = 1 + K1 C1, SH = 1 + K2 C1,
     * C1 the chroma of the reference. ΔH² = Δa² + Δb² − ΔC², clamped at 0
     * against rounding. */
    const double K1 = 0.045, K2 = 0.015;
    double c1 = hypot(ref[1], ref[2]), c2 = hypot(sample[1], sample[2]);
    double dl = ref[0] - sample[0], dc = c1 - c2;
    double da = ref[1] - sample[1], db = ref[2] - sample[2];
    double dh2 = da * da + db * db - dc * dc;
    if (dh2 < 0)
        dh2 = 0;
    double sc = 1.0 + K1 * c1, sh = 1.0 + K2 * c1;
    return sqrt(dl * dl + (dc / sc) * (dc / sc) + dh2 / (sh * sh));
}

double smp_delta_e(smp_metric metric, const double ref[3], const double sample[3])
{
    cmsCIELab a = {ref[0], ref[1], ref[2]}, b = {sample[0], sample[1], sample[2]};
    switch (metric) {
    case SMP_METRIC_DE94: return smp_de94(ref, sample);
    case SMP_METRIC_DE76: return cmsDeltaE(&a, &b);
    case SMP_METRIC_CMC: return cmsCMCdeltaE(&a, &b, 2.0, 1.0); /* l:c = 2:1, ref first */
    case SMP_METRIC_DE2000:
    default: return cmsCIE2000DeltaE(&a, &b, 1.0, 1.0, 1.0);
    }
}

static const char *const metric_names[] = {"de2000", "de94", "de76", "cmc"};

const char *smp_metric_name(smp_metric metric)
{
    return (unsigned)metric < 4 ? metric_names[metric] : "de2000";
}

int smp_metric_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, metric_names[i]) == 0)
            return i;
    return -1;
}

const char *smp_verdict(double de00)
{
    /* Paravina et al. (2015), J Esthet Restor Dent 27(S1):S1-S9: 50:50
     * perceptibility 0.8 and acceptability 1.8 ΔE00; 3.5 is the usual print
     * tolerance (shared/DESIGN.md). */
    if (de00 <= 0.8)
        return "indistinguishable";
    if (de00 <= 1.8)
        return "acceptable";
    if (de00 <= 3.5)
        return "marginal";
    return "no good match";
}

typedef struct scored {
    const smp_shade *shade;
    double healed[3];
    double de, de00, bottle_de00;
} scored;

static int by_delta(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->de != b->de)
        return a->de < b->de ? -1 : 1;
    /* Equal distances: palette order, so the output is stable. */
    return a->shade < b->shade ? -1 : a->shade > b->shade;
}

void smp_match_clear(smp_match *m)
{
    free((char *)m->name);
    free((char *)m->code);
    free((char *)m->palette);
    free((char *)m->notes);
    memset(m, 0, sizeof *m);
}

void smp_matches_free(smp_match *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++)
        smp_match_clear(&m[i]);
    free(m);
}

static void recipe_clear(smp_recipe *r)
{
    free((char *)r->a);
    free((char *)r->a_code);
    free((char *)r->b);
    free((char *)r->b_code);
    free(r->text);
    memset(r, 0, sizeof *r);
}

void smp_recipes_free(smp_recipe *r, size_t n)
{
    if (!r)
        return;
    for (size_t i = 0; i < n; i++)
        recipe_clear(&r[i]);
    free(r);
}

static double shade_veil(const smp_shade *s, const smp_match_params *p)
{
    return isnan(s->veil) ? p->veil : s->veil;
}

static double shade_blue(const smp_shade *s, const smp_match_params *p)
{
    /* veil 0: the row is a healed measurement, shown as it is */
    if (shade_veil(s, p) == 0)
        return 0;
    return isnan(s->blue_shift) ? p->blue_shift : s->blue_shift;
}

/* What is ranked: the healed colour on this skin, or the bottle colour
 * (--model direct, or no skin to heal in). */
static void predict(const smp_heal_ctx *h, const smp_match_params *p, const double skin_rgb[3],
                    const double bottle_rgb[3], const double bottle_lab[3], double veil,
                    double blue, double out[3])
{
    if (p->model == SMP_MODEL_DIRECT || !p->skin) {
        memcpy(out, bottle_lab, 3 * sizeof *out);
        return;
    }
    double r[3];
    smp_heal_rgb(bottle_rgb, skin_rgb, veil, blue, r);
    smp_heal_to_lab(h, r, out);
}

static int fill_match(const smp_heal_ctx *h, const scored *sc, const double hair[3], smp_match *m)
{
    const smp_shade *s = sc->shade;
    m->name = smp_strdup(s->name);
    m->code = smp_strdup(s->code);
    m->palette = smp_strdup(s->palette);
    m->notes = smp_strdup(s->notes);
    memcpy(m->lab, s->lab, sizeof m->lab);
    memcpy(m->healed_lab, sc->healed, sizeof m->healed_lab);
    smp_heal_hex(h, m->lab, m->hex);
    smp_heal_hex(h, m->healed_lab, m->healed_hex);
    m->delta_e = sc->de;
    m->delta_e00 = sc->de00;
    m->bottle_delta_e00 = sc->bottle_de00;
    m->lighter = sc->healed[0] >= hair[0];
    m->verdict = smp_verdict(sc->de00);
    return m->name && m->code && m->palette && m->notes ? 0 : -1;
}

/* Recipes are searched among the neat pigments closest to the hair (a
 * palette may hold thousands of shades; mixing far-off ones never wins)
 * and the palette's diluents. */
#define RECIPE_PIGMENTS 12
#define RECIPE_DILUENTS 4
#define RECIPE_STEPS 20 /* 5 % steps */

typedef struct mix_part {
    const smp_shade *shade;
    double rgb[3];
} mix_part;

static smp_status add_recipe(const smp_heal_ctx *h, const mix_part *a, const mix_part *b, int k,
                             const double healed[3], double de, double de00, double best00,
                             const double hair[3], smp_recipe **list, size_t *n)
{
    smp_recipe *grown = realloc(*list, (*n + 1) * sizeof **list);
    if (!grown)
        return SMP_E_NOMEM;
    *list = grown;
    smp_recipe *r = &grown[*n];
    memset(r, 0, sizeof *r);
    (*n)++;
    double mix[3];
    smp_mix_rgb(a->rgb, b->rgb, (double)k / RECIPE_STEPS, mix);
    smp_heal_to_lab(h, mix, r->lab);
    smp_heal_hex(h, r->lab, r->hex);
    memcpy(r->healed_lab, healed, sizeof r->healed_lab);
    smp_heal_hex(h, r->healed_lab, r->healed_hex);
    int g = (int)smp_gcd((size_t)k, (size_t)(RECIPE_STEPS - k));
    r->parts_a = k / g;
    r->parts_b = (RECIPE_STEPS - k) / g;
    r->share_a = (double)k / RECIPE_STEPS;
    r->b_diluent = b->shade->kind == SMP_KIND_DILUENT;
    r->delta_e = de;
    r->delta_e00 = de00;
    r->gain_de00 = best00 - de00;
    r->lighter = healed[0] >= hair[0];
    r->verdict = smp_verdict(de00);
    r->a = smp_strdup(a->shade->name);
    r->a_code = smp_strdup(a->shade->code);
    r->b = smp_strdup(b->shade->name);
    r->b_code = smp_strdup(b->shade->code);
    char text[512];
    snprintf(text, sizeof text, "%d part%s %s : %d part%s %s", r->parts_a, r->parts_a == 1 ? "" : "s",
             a->shade->name, r->parts_b, r->parts_b == 1 ? "" : "s", b->shade->name);
    r->text = smp_strdup(text);
    return r->a && r->a_code && r->b && r->b_code && r->text ? SMP_OK : SMP_E_NOMEM;
}

static int by_recipe(const void *pa, const void *pb)
{
    const smp_recipe *a = pa, *b = pb;
    if (a->delta_e != b->delta_e)
        return a->delta_e < b->delta_e ? -1 : 1;
    return strcmp(a->text, b->text);
}

/* Every pair (pigment + diluent, pigment + pigment) at every 5 % step; the
 * best step of each pair that beats the best single shade by
 * SMP_RECIPE_MIN_GAIN is kept, the best SMP_MAX_RECIPES of those listed. */
static smp_status find_recipes(const smp_heal_ctx *h, const smp_match_params *p,
                               const double skin_rgb[3], const scored *all, size_t m,
                               double best00, smp_result *r)
{
    mix_part pig[RECIPE_PIGMENTS], dil[RECIPE_DILUENTS];
    size_t np = 0, nd = 0;
    for (size_t i = 0; i < m && np < RECIPE_PIGMENTS; i++) {
        const smp_shade *s = all[i].shade;
        /* Neat pigments only (a diluted shade is its base plus water), and
         * not healed measurements (veil 0): they cannot be mixed in the bottle. */
        if (s->dilution == 0 && !s->derived && shade_veil(s, p) != 0) {
            pig[np].shade = s;
            smp_heal_to_rgb(h, s->lab, pig[np++].rgb);
        }
    }
    for (size_t i = 0; i < smp_palette_size(p->palette) && nd < RECIPE_DILUENTS; i++) {
        const smp_shade *s = smp_palette_get(p->palette, i);
        if (s->kind == SMP_KIND_DILUENT) {
            dil[nd].shade = s;
            smp_heal_to_rgb(h, s->lab, dil[nd++].rgb);
        }
    }
    smp_recipe *list = NULL;
    size_t n = 0;
    smp_status st = SMP_OK;
    for (size_t i = 0; i < np && st == SMP_OK; i++) {
        for (size_t j = i + 1; j < np + nd && st == SMP_OK; j++) {
            const mix_part *b = j < np ? &pig[j] : &dil[j - np];
            int best_k = 0;
            double best_de = INFINITY, best_de00 = 0, best_healed[3] = {0, 0, 0};
            for (int k = 1; k < RECIPE_STEPS; k++) {
                double mix[3], lab[3], healed[3];
                smp_mix_rgb(pig[i].rgb, b->rgb, (double)k / RECIPE_STEPS, mix);
                smp_heal_to_lab(h, mix, lab);
                predict(h, p, skin_rgb, mix, lab, shade_veil(pig[i].shade, p),
                        shade_blue(pig[i].shade, p), healed);
                if (p->session == SMP_SESSION_FIRST && healed[0] < p->hair[0])
                    continue;
                double de = smp_delta_e(p->metric, p->hair, healed);
                if (de < best_de) {
                    best_de = de;
                    best_k = k;
                    best_de00 = smp_delta_e(SMP_METRIC_DE2000, p->hair, healed);
                    memcpy(best_healed, healed, sizeof best_healed);
                }
            }
            if (best_k && best_de00 <= best00 - SMP_RECIPE_MIN_GAIN)
                st = add_recipe(h, &pig[i], b, best_k, best_healed, best_de, best_de00, best00,
                                p->hair, &list, &n);
        }
    }
    if (st != SMP_OK) {
        smp_recipes_free(list, n);
        return st;
    }
    if (n > 1)
        qsort(list, n, sizeof *list, by_recipe);
    while (n > SMP_MAX_RECIPES)
        recipe_clear(&list[--n]);
    r->recipes = list;
    r->n_recipes = n;
    return SMP_OK;
}

smp_status smp_match_result(const smp_match_params *p, const smp_heal_ctx *h, smp_result *r)
{
    size_t n = smp_palette_size(p->palette);
    if (n == 0 || p->top <= 0)
        return SMP_OK;
    scored *all = malloc(n * sizeof *all);
    if (!all)
        return SMP_E_NOMEM;
    double skin_rgb[3] = {0, 0, 0};
    if (p->skin)
        smp_heal_to_rgb(h, p->skin, skin_rgb);
    size_t m = 0;
    r->heal.darkest_l = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const smp_shade *s = smp_palette_get(p->palette, i);
        if (s->kind == SMP_KIND_DILUENT)
            continue;
        double rgb[3];
        smp_heal_to_rgb(h, s->lab, rgb);
        all[m].shade = s;
        predict(h, p, skin_rgb, rgb, s->lab, shade_veil(s, p), shade_blue(s, p), all[m].healed);
        all[m].de = smp_delta_e(p->metric, p->hair, all[m].healed);
        all[m].de00 = smp_delta_e(SMP_METRIC_DE2000, p->hair, all[m].healed);
        all[m].bottle_de00 = smp_delta_e(SMP_METRIC_DE2000, p->hair, s->lab);
        if (all[m].healed[0] < r->heal.darkest_l)
            r->heal.darkest_l = all[m].healed[0];
        m++;
    }
    qsort(all, m, sizeof *all, by_delta);

    /* The list: every shade, or for a first session only those that heal at
     * or lighter than the hair. */
    smp_status st = SMP_E_NOMEM;
    size_t room = m < (size_t)p->top ? m : (size_t)p->top; /* a caller's top may be huge */
    smp_match *res = calloc(room ? room : 1, sizeof *res);
    if (!res)
        goto done;
    size_t keep = 0;
    double leader = 0;
    int rank = 0, seen = 0;
    for (size_t i = 0; i < m && keep < room; i++) {
        int lighter = all[i].healed[0] >= p->hair[0];
        if (p->session == SMP_SESSION_FIRST && !lighter)
            continue;
        /* Ranks: a shade within SMP_EQUAL_DE00 of its group's first shade
         * shares that shade's rank ("equally good"); the next group's rank
         * counts the shades before it (1, 1, 3, ...), as in sports tables. */
        if (seen == 0 || all[i].de00 - leader > SMP_EQUAL_DE00) {
            rank = (int)keep + 1;
            leader = all[i].de00;
        }
        seen = 1;
        res[keep].rank = rank;
        if (fill_match(h, &all[i], p->hair, &res[keep++]) != 0)
            goto done;
    }
    r->matches = res;
    r->n_matches = keep;
    res = NULL;
    for (size_t i = 0; i < m; i++)
        if (all[i].healed[0] >= p->hair[0]) {
            if (fill_match(h, &all[i], p->hair, &r->lighter_start) != 0)
                goto done;
            r->has_lighter_start = 1;
            break;
        }
    st = SMP_OK;
    if (p->recipes && r->n_matches > 0)
        st = find_recipes(h, p, skin_rgb, all, m, r->matches[0].delta_e00, r);
done:
    smp_matches_free(res, room);
    free(all);
    return st;
}
