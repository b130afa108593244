/*
 * test_heal.c: the healed-appearance model, Kubelka-Munk mixing, the
 * lighter start, the recipes and the undertone (src/heal.c, src/match.c).
 *
 * The model has no published reference values to compare against (no SMP
 * pigment maker publishes spectra, and the defaults are our assumptions,
 * docs/model.md), so these tests check the properties the model must have
 * on constructed cases: identities at the limits (no veil, a very thick
 * veil), directions (lighter, toward the skin, cooler for carbon),
 * monotonicity, and the rules of the match stage checked against an
 * independent recomputation through the public functions.
 */
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "heal.h"
#include "match.h"
#include "pipeline.h"
#include "smpmatch.h"

/* Constructed skins, from dark to very light (ITA° categories of Chardon
 * et al. 1991 as smp_ita_category names them), with the a* 8..12, b* 13..17
 * of skin in colorimetric surveys. */
static const struct {
    const char *name;
    double lab[3];
} skins[] = {
    {"dark", {35, 12, 16}},         /* ITA° -43 */
    {"brown", {45, 11, 17}},        /* ITA° -16 */
    {"intermediate", {60, 10, 16}}, /* ITA° 32 */
    {"light", {67, 9, 15}},         /* ITA° 49 */
    {"very light", {75, 8, 13}},    /* ITA° 62 */
};
#define N_SKINS (sizeof skins / sizeof skins[0])
enum { DARK, BROWN, INTERMEDIATE, LIGHT, VERY_LIGHT };

/* Carbon-like (near neutral) pigments in the bottle: jet black, and the
 * lightness of a 1:1 and a 3:1 water dilution of it (palettes/default.csv). */
static const double black[3] = {18, 0, 0};
static const double mid1[3] = {26, 0, 0};
static const double mid3[3] = {34, 0, 0};

static double de00(const double a[3], const double b[3])
{
    return smp_delta_e(SMP_METRIC_DE2000, a, b);
}

static void heal(const double pigment[3], const double skin[3], double veil, double blue,
                 double out[3])
{
    assert_int_equal(smp_heal_lab(pigment, skin, veil, blue, out), SMP_OK);
}

static void heal_default(const double pigment[3], const double skin[3], double out[3])
{
    heal(pigment, skin, SMP_DEFAULT_VEIL, SMP_DEFAULT_BLUE_SHIFT, out);
}

static smp_palette *palette_from(const char *csv)
{
    smp_palette *p = NULL;
    smp_error err;
    if (smp_palette_load_memory("test.csv", csv, strlen(csv), &p, &err) != SMP_OK)
        fail_msg("palette: %s", err.message);
    return p;
}

/* The match stage on its own: hair against a palette on a skin (NULL: no
 * skin known). The caller frees the result. */
static smp_result *match(const smp_palette *pal, const double hair[3], const double *skin,
                         smp_model model, smp_session session, int top, int recipes)
{
    smp_options opt;
    smp_options_init(&opt);
    smp_result *r = smp_result_new("test", &opt);
    assert_non_null(r);
    smp_heal_ctx h;
    assert_int_equal(smp_heal_ctx_init(&h), SMP_OK);
    smp_match_params mp = {pal,        hair, skin, SMP_METRIC_DE2000, model, session,
                           SMP_DEFAULT_VEIL, SMP_DEFAULT_BLUE_SHIFT, top, recipes};
    smp_status st = smp_match_result(&mp, &h, r);
    smp_heal_ctx_release(&h);
    assert_int_equal(st, SMP_OK);
    return r;
}

/* ------------------------------------------------------------------ */
/* The model's limits and directions                                  */
/* ------------------------------------------------------------------ */

/* Round-trip tolerance. Lab -> linear sRGB -> Lab through LittleCMS is
 * exact in principle, but LittleCMS evaluates its pipelines in 32-bit
 * float (about 7 significant digits): the worst error measured on the
 * colours below is 7.6e-6 (a* of L* 18 black). 5e-5 is that with room, and
 * still 16,000 times below the 0.8 ΔE00 that anyone could see. */
#define ROUND_TRIP 5e-5

/* No veil and no blue shift: nothing covers the pigment, so the model must
 * give the bottle colour back, to round-trip precision, for colours inside
 * the sRGB gamut (all of these are). */
static void test_no_veil_is_the_bottle(void **state)
{
    (void)state;
    const double pigments[][3] = {{18, 0, 0}, {26, 0.5, -1}, {40, 3, 6}, {55, -2, -4}, {70, 5, 10}};
    for (size_t i = 0; i < sizeof pigments / sizeof pigments[0]; i++)
        for (size_t s = 0; s < N_SKINS; s++) {
            double out[3];
            heal(pigments[i], skins[s].lab, 0.0, 0.0, out);
            for (int c = 0; c < 3; c++)
                if (fabs(out[c] - pigments[i][c]) > ROUND_TRIP)
                    fail_msg("pigment %zu on %s skin, channel %d: %.9f, bottle %.9f", i,
                             skins[s].name, c, out[c], pigments[i][c]);
        }
}

/* Seen through skin, a pigment darker than the skin heals lighter than in
 * the bottle and closer to the skin: the layer of skin over it reflects
 * some light of its own before any reaches the pigment. Dark and mid
 * pigments on dark, intermediate and light skin, with the default
 * parameters. The L* 34 pigment on the L* 35 dark skin is the tight case:
 * the skin is barely lighter (and darker than the pigment in the blue
 * channel); it heals to L* 34.06, lighter only with the blue shift (33.63
 * without). "Lighter" means by more than the round-trip error. */
static void test_heals_lighter_and_toward_skin(void **state)
{
    (void)state;
    const double *pigments[] = {black, mid1, mid3};
    const int on[] = {DARK, BROWN, INTERMEDIATE, LIGHT, VERY_LIGHT};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < sizeof on / sizeof on[0]; k++) {
            const double *skin = skins[on[k]].lab, *p = pigments[i];
            double h[3];
            heal_default(p, skin, h);
            if (!(h[0] > p[0] + ROUND_TRIP))
                fail_msg("L* %.0f pigment on %s skin heals to L* %.3f: not lighter", p[0],
                         skins[on[k]].name, h[0]);
            if (!(de00(h, skin) < de00(p, skin)))
                fail_msg("L* %.0f pigment on %s skin: healed %.3f ΔE00 from the skin, bottle %.3f",
                         p[0], skins[on[k]].name, de00(h, skin), de00(p, skin));
        }
}

/* The same layer over a pigment LIGHTER than the skin (a white-ish shade
 * on dark skin) pulls it down toward the skin: the model moves colours
 * toward the skin, not merely up. */
static void test_light_pigment_heals_toward_skin(void **state)
{
    (void)state;
    const double pale[3] = {70, 0, 0};
    double h[3];
    heal(pale, skins[DARK].lab, 0.2, 0.0, h);
    assert_true(h[0] < pale[0]);
    assert_true(h[0] > skins[DARK].lab[0]);
    assert_true(de00(h, skins[DARK].lab) < de00(pale, skins[DARK].lab));
}

/* Lighter skin, same pigment, same veil: the layer absorbs less and
 * scatters more of the light back, so the pigment heals lighter. Skins from
 * L* 30 to 85 at a constant a* 10, b* 15 (a survey-typical hue); healed L*
 * must rise strictly at every step, for a black and a mid pigment. */
static void test_lighter_skin_heals_lighter(void **state)
{
    (void)state;
    const double *pigments[] = {black, mid1, mid3};
    for (size_t i = 0; i < 3; i++) {
        double prev = -1;
        for (double l = 30; l <= 85; l += 5) {
            const double skin[3] = {l, 10, 15};
            double h[3];
            heal_default(pigments[i], skin, h);
            if (!(h[0] > prev))
                fail_msg("L* %.0f pigment: skin L* %.0f heals to L* %.4f, skin L* %.0f to %.4f",
                         pigments[i][0], l - 5, prev, l, h[0]);
            prev = h[0];
        }
    }
}

/* A thicker veil hides the pigment more: per channel the reflectance moves
 * monotonically from the pigment's toward the skin's (Kubelka's layer over
 * a ground lies between the ground and the layer's own infinite
 * reflectance), the ΔE00 to the skin falls, healed L* rises for a pigment
 * darker than the skin, and a very thick veil (10, ten times the command line's
 * maximum) gives the skin's own colour within 0.05 ΔE00, the Kubelka-Munk
 * infinite-thickness limit (the slowest skin, very light, measured 0.004). */
static void test_veil_monotone_to_skin(void **state)
{
    (void)state;
    const double veils[] = {0, 0.005, 0.01, 0.02, 0.04, 0.08, 0.15, 0.3, 0.5, 1, 2, 5, 10};
    const size_t nv = sizeof veils / sizeof veils[0];
    smp_heal_ctx ctx;
    assert_int_equal(smp_heal_ctx_init(&ctx), SMP_OK);
    const double *pigments[] = {black, mid3};
    for (size_t i = 0; i < 2; i++)
        for (size_t s = 0; s < N_SKINS; s++) {
            const double *skin = skins[s].lab;
            double prgb[3], srgb[3], prev_rgb[3] = {0, 0, 0}, prev_l = -1, prev_de = INFINITY;
            smp_heal_to_rgb(&ctx, pigments[i], prgb);
            smp_heal_to_rgb(&ctx, skin, srgb);
            /* L* can only rise when the pigment as the veil sees it (blue
             * shift included) is darker than the skin in every channel;
             * the L* 34 pigment is not, on the L* 35 skin (blue channel),
             * and there its healed colour rightly moves down toward the
             * skin. The distances to the skin must fall in every case. */
            double seen[3];
            smp_heal_rgb(prgb, srgb, 0.0, SMP_DEFAULT_BLUE_SHIFT, seen);
            int darker = seen[0] < srgb[0] && seen[1] < srgb[1] && seen[2] < srgb[2];
            for (size_t v = 0; v < nv; v++) {
                double rgb[3], h[3];
                smp_heal_rgb(prgb, srgb, veils[v], SMP_DEFAULT_BLUE_SHIFT, rgb);
                heal(pigments[i], skin, veils[v], SMP_DEFAULT_BLUE_SHIFT, h);
                for (int c = 0; c < 3 && v > 0; c++)
                    if (fabs(rgb[c] - srgb[c]) > fabs(prev_rgb[c] - srgb[c]) + 1e-12)
                        fail_msg("%s skin, channel %d: veil %.3f is further from the skin than %.3f",
                                 skins[s].name, c, veils[v], veils[v - 1]);
                /* L* and ΔE00 strictly until the colour has reached the
                 * skin (the last, thick veils change it by less than
                 * rounding). */
                if (darker && (h[0] < prev_l - 1e-9 || (veils[v] <= 1 && !(h[0] > prev_l))))
                    fail_msg("L* %.0f pigment on %s skin: L* %.4f at veil %.3f, %.4f before",
                             pigments[i][0], skins[s].name, h[0], veils[v], prev_l);
                double d = de00(h, skin);
                if (d > prev_de + 1e-9)
                    fail_msg("L* %.0f pigment on %s skin: %.4f ΔE00 from the skin at veil %.3f, "
                             "%.4f before",
                             pigments[i][0], skins[s].name, d, veils[v], prev_de);
                memcpy(prev_rgb, rgb, sizeof rgb);
                prev_l = h[0];
                prev_de = d;
            }
            if (!(prev_de < 0.05))
                fail_msg("%s skin: a veil of 10 still leaves %.3f ΔE00 from the skin",
                         skins[s].name, prev_de);
        }
    smp_heal_ctx_release(&ctx);
}

/* Thicker still, the answer must stay the skin: smp_heal_lab is public and
 * takes any veil >= 0, and Kubelka-Munk's infinitely thick layer IS the
 * skin. The veils are beyond any real skin; the skins include a very dark
 * one (L* 20), whose blue channel is the most absorbing, where sinh and
 * cosh of (b S d) grow fastest. Finite and within 0.05 ΔE00 of the skin. */
static void test_thick_veil_is_the_skin(void **state)
{
    (void)state;
    const double veils[] = {20, 50, 100};
    const double very_dark[3] = {20, 8, 10};
    for (size_t s = 0; s <= N_SKINS; s++) {
        const double *skin = s < N_SKINS ? skins[s].lab : very_dark;
        for (size_t v = 0; v < sizeof veils / sizeof veils[0]; v++) {
            double h[3];
            heal(black, skin, veils[v], SMP_DEFAULT_BLUE_SHIFT, h);
            int finite = isfinite(h[0]) && isfinite(h[1]) && isfinite(h[2]);
            if (!finite || !(de00(h, skin) < 0.05))
                fail_msg("skin %.0f,%.0f,%.0f under a veil of %.0f: healed %.4g,%.4g,%.4g", skin[0],
                         skin[1], skin[2], veils[v], h[0], h[1], h[2]);
        }
    }
}

/* Carbon heals cooler. With the default parameters, on light and
 * intermediate skin (and very light, where technicians see it most) a
 * neutral carbon shade's healed b* is below its bottle b* (the veil alone
 * would add the skin's yellow; the Tyndall term outweighs it there). On
 * EVERY skin, the Tyndall term makes the healed colour cooler than the same
 * model without it: blue_shift adds most reflectance to the shortest
 * wavelength (lambda^-4), which lowers b*. */
static void test_carbon_heals_cooler(void **state)
{
    (void)state;
    const double *pigments[] = {black, mid1, mid3};
    for (size_t i = 0; i < 3; i++) {
        const int cool_on[] = {INTERMEDIATE, LIGHT, VERY_LIGHT};
        for (size_t k = 0; k < 3; k++) {
            double h[3];
            heal_default(pigments[i], skins[cool_on[k]].lab, h);
            if (!(h[2] < pigments[i][2]))
                fail_msg("L* %.0f carbon on %s skin heals to b* %.3f, bottle b* %.3f: not cooler",
                         pigments[i][0], skins[cool_on[k]].name, h[2], pigments[i][2]);
        }
        for (size_t s = 0; s < N_SKINS; s++) {
            double with[3], without[3];
            heal(pigments[i], skins[s].lab, SMP_DEFAULT_VEIL, SMP_DEFAULT_BLUE_SHIFT, with);
            heal(pigments[i], skins[s].lab, SMP_DEFAULT_VEIL, 0.0, without);
            if (!(with[2] < without[2]))
                fail_msg("L* %.0f carbon on %s skin: b* %.4f with the blue shift, %.4f without",
                         pigments[i][0], skins[s].name, with[2], without[2]);
        }
    }
}

/* ------------------------------------------------------------------ */
/* Mixing                                                             */
/* ------------------------------------------------------------------ */

/* A diluted shade lies between the pigment and the diluent: single-constant
 * Kubelka-Munk adds K/S by volume, so each channel's reflectance moves
 * monotonically from one to the other. Checked in L* over the 5 % steps
 * recipes use (share of pigment 1.00, 0.95, ..., 0.00): more diluent is
 * strictly lighter, every step between the two, the ends are the two
 * colours themselves (to ROUND_TRIP). */
static void test_dilution_between(void **state)
{
    (void)state;
    const double water[3] = {95, 0, 0};   /* the white medium of palettes/default.csv */
    const double warm[3] = {19, 2, 4};    /* Warm carbon, palettes/default.csv */
    const double pale[3] = {90, 1, 4};    /* an off-white diluent */
    const double *pig[] = {black, warm, mid3};
    const double *dil[] = {water, pale, water};
    for (size_t i = 0; i < 3; i++) {
        double prev = -1;
        for (int k = 20; k >= 0; k--) {
            double m[3];
            assert_int_equal(smp_mix_lab(pig[i], dil[i], k / 20.0, m), SMP_OK);
            if (k == 20 || k == 0) {
                const double *end = k == 20 ? pig[i] : dil[i];
                for (int c = 0; c < 3; c++)
                    assert_true(fabs(m[c] - end[c]) < ROUND_TRIP);
            }
            if (!(m[0] > prev))
                fail_msg("pair %zu: %d %% pigment is L* %.4f, %d %% was %.4f", i, k * 5, m[0],
                         k * 5 + 5, prev);
            if (m[0] < pig[i][0] - ROUND_TRIP || m[0] > dil[i][0] + ROUND_TRIP)
                fail_msg("pair %zu: %d %% pigment is L* %.4f, outside %.1f..%.1f", i, k * 5, m[0],
                         pig[i][0], dil[i][0]);
            prev = m[0];
        }
    }
}

/* ------------------------------------------------------------------ */
/* The match stage: lighter start, ranking, recipes                   */
/* ------------------------------------------------------------------ */

static const smp_shade *shade_named(const smp_palette *pal, const char *name)
{
    for (size_t i = 0; i < smp_palette_size(pal); i++)
        if (strcmp(smp_palette_get(pal, i)->name, name) == 0)
            return smp_palette_get(pal, i);
    fail_msg("no shade named %s", name);
    return NULL;
}

/* The healed colour of a shade, recomputed through the public function with
 * the shade's own parameters where it has them (NAN = the defaults). */
static void heal_shade(const smp_shade *s, const double skin[3], double out[3])
{
    double veil = isnan(s->veil) ? SMP_DEFAULT_VEIL : s->veil;
    double blue = isnan(s->blue_shift) ? SMP_DEFAULT_BLUE_SHIFT : s->blue_shift;
    heal(s->lab, skin, veil, blue, out);
}

static int gcd(int a, int b)
{
    while (b) {
        int t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* Every rule a listed recipe must follow. Tolerances: 1e-9 where the same
 * numbers are compared; 1e-3 ΔE00 where the recipe is recomputed through
 * the public functions (one more Lab round trip per step). */
static void check_recipes(const smp_result *r, const smp_palette *pal, const double hair[3],
                          const double skin[3], smp_session session)
{
    if (r->n_recipes > 0)
        assert_true(r->n_matches > 0);
    for (size_t i = 0; i < r->n_recipes; i++) {
        const smp_recipe *x = &r->recipes[i];
        double best = r->matches[0].delta_e00;
        /* Listed only when >= 1 ΔE00 better than the best single shade. */
        if (!(x->gain_de00 >= 1.0 - 1e-9 && x->delta_e00 <= best - 1.0 + 1e-9))
            fail_msg("%s: %.3f ΔE00 against the best shade's %.3f (gain %.3f)", x->text,
                     x->delta_e00, best, x->gain_de00);
        assert_true(fabs(x->gain_de00 - (best - x->delta_e00)) < 1e-9);
        /* 5 % steps, strictly between the two parts. */
        double steps = x->share_a * 20.0;
        assert_true(fabs(steps - round(steps)) < 1e-9);
        assert_true(steps > 0.5 && steps < 19.5);
        /* Parts a technician measures: whole, reduced, and the share. */
        assert_true(x->parts_a >= 1 && x->parts_b >= 1);
        assert_int_equal(gcd(x->parts_a, x->parts_b), 1);
        assert_true(fabs((double)x->parts_a / (x->parts_a + x->parts_b) - x->share_a) < 1e-9);
        char text[512];
        snprintf(text, sizeof text, "%d part%s %s : %d part%s %s", x->parts_a,
                 x->parts_a == 1 ? "" : "s", x->a, x->parts_b, x->parts_b == 1 ? "" : "s", x->b);
        assert_string_equal(x->text, text);
        /* The numbers, recomputed: the mix in the bottle, healed on the
         * skin with a's parameters, and its distance from the hair. */
        const smp_shade *a = shade_named(pal, x->a), *b = shade_named(pal, x->b);
        assert_int_equal(x->b_diluent, b->kind == SMP_KIND_DILUENT);
        assert_int_equal(a->kind, SMP_KIND_PIGMENT);
        double mix[3], h[3];
        assert_int_equal(smp_mix_lab(a->lab, b->lab, x->share_a, mix), SMP_OK);
        assert_true(de00(mix, x->lab) < 1e-3);
        double veil = isnan(a->veil) ? SMP_DEFAULT_VEIL : a->veil;
        double blue = isnan(a->blue_shift) ? SMP_DEFAULT_BLUE_SHIFT : a->blue_shift;
        heal(mix, skin, veil, blue, h);
        assert_true(de00(h, x->healed_lab) < 1e-3);
        assert_true(fabs(de00(hair, x->healed_lab) - x->delta_e00) < 1e-9);
        assert_int_equal(x->lighter, x->healed_lab[0] >= hair[0]);
        if (session == SMP_SESSION_FIRST)
            assert_true(x->healed_lab[0] >= hair[0]);
    }
}

/* The lighter start, the first session and the ranking, over many hair
 * colours (L* 15..70, five hues from ash to red-brown), four skins, the
 * built-in palette with distilled water added (so that pigment + water
 * recipes are searched too). Each claim is checked against a recomputation
 * of every shade's healed colour through smp_heal_lab:
 * - the lighter-start shade never heals darker than the hair, and is the
 *   closest of the shades that do; there is one exactly when some shade
 *   heals at or lighter than the hair;
 * - session any: matches[0] is the closest shade overall;
 * - session first: every listed shade heals at or lighter than the hair,
 *   and the first is the lighter start;
 * - every listed recipe follows check_recipes. */
static void test_lighter_start_and_ranking(void **state)
{
    (void)state;
    smp_palette *pal = NULL, *water = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    water = palette_from("name,code,kind,L,a,b\nDistilled water,W,diluent,95,0,0\n");
    assert_int_equal(smp_palette_append(pal, water, &err), SMP_OK);
    smp_palette_free(water);
    size_t n = smp_palette_size(pal);
    double (*healed)[3] = malloc(n * sizeof *healed);
    assert_non_null(healed);

    const double hues[][2] = {{0, 0}, {-1, -3}, {2, 4}, {4, 8}, {8, 12}};
    const int on[] = {DARK, INTERMEDIATE, LIGHT, VERY_LIGHT};
    size_t recipes_seen = 0, with_start = 0, without_start = 0;
    for (size_t k = 0; k < sizeof on / sizeof on[0]; k++) {
        const double *skin = skins[on[k]].lab;
        for (size_t i = 0; i < n; i++)
            heal_shade(smp_palette_get(pal, i), skin, healed[i]);
        for (double l = 15; l <= 70; l += 5)
            for (size_t u = 0; u < sizeof hues / sizeof hues[0]; u++) {
                const double hair[3] = {l, hues[u][0], hues[u][1]};
                double best = INFINITY, best_light = INFINITY;
                for (size_t i = 0; i < n; i++) {
                    if (smp_palette_get(pal, i)->kind == SMP_KIND_DILUENT)
                        continue;
                    double d = de00(hair, healed[i]);
                    best = fmin(best, d);
                    if (healed[i][0] >= hair[0])
                        best_light = fmin(best_light, d);
                }

                smp_result *r = match(pal, hair, skin, SMP_MODEL_HEALED, SMP_SESSION_ANY, 5, 1);
                assert_true(r->n_matches > 0);
                /* 1e-6: the same computation through smp_heal_lab's own
                 * (identical) transforms; equal but for rounding. */
                if (fabs(r->matches[0].delta_e00 - best) > 1e-6)
                    fail_msg("hair %.0f,%.0f,%.0f on %s skin: first match %.4f ΔE00, closest %.4f",
                             hair[0], hair[1], hair[2], skins[on[k]].name, r->matches[0].delta_e00,
                             best);
                assert_int_equal(r->has_lighter_start, isfinite(best_light));
                if (r->has_lighter_start) {
                    with_start++;
                    if (!(r->lighter_start.healed_lab[0] >= hair[0]))
                        fail_msg("hair L* %.0f on %s skin: lighter start %s heals to L* %.4f",
                                 hair[0], skins[on[k]].name, r->lighter_start.name,
                                 r->lighter_start.healed_lab[0]);
                    assert_true(r->lighter_start.lighter);
                    assert_true(fabs(r->lighter_start.delta_e00 - best_light) < 1e-6);
                } else {
                    without_start++;
                }
                check_recipes(r, pal, hair, skin, SMP_SESSION_ANY);
                recipes_seen += r->n_recipes;
                int had_start = r->has_lighter_start;
                char *start = had_start ? strdup(r->lighter_start.name) : NULL;
                smp_result_free(r);

                r = match(pal, hair, skin, SMP_MODEL_HEALED, SMP_SESSION_FIRST, 5, 1);
                assert_int_equal(r->n_matches > 0, had_start);
                for (size_t i = 0; i < r->n_matches; i++) {
                    if (!(r->matches[i].healed_lab[0] >= hair[0]))
                        fail_msg("first session, hair L* %.0f on %s skin: %s heals to L* %.4f",
                                 hair[0], skins[on[k]].name, r->matches[i].name,
                                 r->matches[i].healed_lab[0]);
                    assert_true(r->matches[i].lighter);
                }
                if (had_start)
                    assert_string_equal(r->matches[0].name, start);
                check_recipes(r, pal, hair, skin, SMP_SESSION_FIRST);
                recipes_seen += r->n_recipes;
                free(start);
                smp_result_free(r);
            }
    }
    /* The grid must exercise both branches and the recipes, or the checks
     * above could pass without checking anything. */
    assert_true(with_start > 0);
    assert_true(without_start > 0);
    assert_true(recipes_seen > 0);
    free(healed);
    smp_palette_free(pal);
}

/* A palette with a large gap: a black pigment, a far light grey and water.
 * A hair colour made to be exactly a 5 % step of black + water, healed on
 * the skin, lies in the gap: the best single shade is far from it, and the
 * recipe must be that mix, in reduced parts (8 steps of 20 = 2 : 3; 5 steps
 * = 1 : 3), within round-trip tolerance of the hair. */
static void test_recipe_fills_a_gap(void **state)
{
    (void)state;
    smp_palette *pal = palette_from("name,code,kind,L,a,b\n"
                                    "Black,K,pigment,18,0,0\n"
                                    "Light grey,G,pigment,85,0,0\n"
                                    "Water,W,diluent,95,0,0\n");
    const struct {
        double share;
        const char *text;
    } cases[] = {{0.40, "2 parts Black : 3 parts Water"}, {0.25, "1 part Black : 3 parts Water"}};
    for (size_t c = 0; c < 2; c++)
        for (size_t s = 0; s < N_SKINS; s++) {
            const double *skin = skins[s].lab;
            double mix[3], hair[3];
            assert_int_equal(smp_mix_lab(black, (const double[3]){95, 0, 0}, cases[c].share, mix),
                             SMP_OK);
            heal_default(mix, skin, hair);
            smp_result *r = match(pal, hair, skin, SMP_MODEL_HEALED, SMP_SESSION_ANY, 5, 1);
            assert_true(r->n_matches > 0);
            assert_true(r->matches[0].delta_e00 > 3.5); /* in the gap: no good single shade */
            assert_true(r->n_recipes > 0);
            const smp_recipe *x = &r->recipes[0];
            if (strcmp(x->text, cases[c].text) != 0)
                fail_msg("%s skin: first recipe \"%s\" (%.3f ΔE00), expected \"%s\"",
                         skins[s].name, x->text, x->delta_e00, cases[c].text);
            assert_true(x->b_diluent);
            assert_true(x->delta_e00 < 0.01);
            check_recipes(r, pal, hair, skin, SMP_SESSION_ANY);
            smp_result_free(r);
        }
    smp_palette_free(pal);
}

/* A shade that heals exactly to the hair leaves nothing for a mix to beat
 * by 1 ΔE00: no recipe. */
static void test_no_recipe_when_a_shade_is_exact(void **state)
{
    (void)state;
    smp_palette *pal = palette_from("name,code,kind,L,a,b\n"
                                    "Black,K,pigment,18,0,0\n"
                                    "Exact,E,pigment,36,1,2\n"
                                    "Light grey,G,pigment,85,0,0\n"
                                    "Water,W,diluent,95,0,0\n");
    for (size_t s = 0; s < N_SKINS; s++) {
        double hair[3];
        heal_default((const double[3]){36, 1, 2}, skins[s].lab, hair);
        smp_result *r = match(pal, hair, skins[s].lab, SMP_MODEL_HEALED, SMP_SESSION_ANY, 5, 1);
        assert_string_equal(r->matches[0].name, "Exact");
        assert_true(r->matches[0].delta_e00 < 1e-3);
        assert_int_equal(r->n_recipes, 0);
        smp_result_free(r);
    }
    smp_palette_free(pal);
}

/* --model direct ranks bottle colours: healed_lab is the bottle colour
 * itself, whatever the skin; so is it under the healed model when no skin
 * is known. */
static void test_direct_model_is_the_bottle(void **state)
{
    (void)state;
    smp_palette *pal = NULL;
    smp_error err;
    assert_int_equal(smp_palette_new_default(&pal, &err), SMP_OK);
    const double hair[3] = {30, 1, 2};
    smp_result *runs[2] = {
        match(pal, hair, skins[LIGHT].lab, SMP_MODEL_DIRECT, SMP_SESSION_ANY, 20, 0),
        match(pal, hair, NULL, SMP_MODEL_HEALED, SMP_SESSION_ANY, 20, 0),
    };
    for (int k = 0; k < 2; k++) {
        const smp_result *r = runs[k];
        assert_true(r->n_matches > 3);
        for (size_t i = 0; i < r->n_matches; i++) {
            const smp_match *m = &r->matches[i];
            assert_memory_equal(m->healed_lab, m->lab, sizeof m->lab);
            assert_string_equal(m->healed_hex, m->hex);
            assert_true(fabs(m->delta_e00 - m->bottle_delta_e00) < 1e-12);
        }
        smp_result_free(runs[k]);
    }
    smp_palette_free(pal);
}

/* Per-shade parameters from the palette's `veil` and `blue_shift` columns:
 * veil 0 marks a healed measurement, "shown as it is" (include/smpmatch.h,
 * smp_shade.veil), whether or not its blue_shift cell is filled in: a
 * healed swatch already shows whatever blue cast the skin gives it, so
 * adding the options' blue shift would count it twice. Another veil is
 * used for that shade instead of the options'; an empty cell means the
 * options'. */
static void test_shade_overrides(void **state)
{
    (void)state;
    smp_palette *pal = palette_from("name,code,kind,L,a,b,veil,blue_shift\n"
                                    "Healed swatch,H,pigment,30,1,-2,0,\n"
                                    "Healed no blue,N,pigment,31,1,-2,0,0\n"
                                    "Thick,T,pigment,30,0,0,0.2,0\n"
                                    "Default,D,pigment,30,0,0,,\n");
    const double *skin = skins[LIGHT].lab, hair[3] = {30, 0, 0};
    smp_result *r = match(pal, hair, skin, SMP_MODEL_HEALED, SMP_SESSION_ANY, 5, 0);
    assert_int_equal(r->n_matches, 4);
    char bad[256] = "";
    for (size_t i = 0; i < r->n_matches && !*bad; i++) {
        const smp_match *m = &r->matches[i];
        double want[3];
        if (strncmp(m->name, "Healed", 6) == 0)
            memcpy(want, m->lab, sizeof want); /* shown as it is */
        else if (strcmp(m->name, "Thick") == 0)
            heal(m->lab, skin, 0.2, 0.0, want);
        else
            heal_default(m->lab, skin, want);
        for (int c = 0; c < 3 && !*bad; c++)
            if (fabs(m->healed_lab[c] - want[c]) > ROUND_TRIP)
                snprintf(bad, sizeof bad, "%s, channel %d: healed %.6f, expected %.6f", m->name, c,
                         m->healed_lab[c], want[c]);
    }
    /* Freed before failing, so that a failure reads without leak reports. */
    smp_result_free(r);
    smp_palette_free(pal);
    if (*bad)
        fail_msg("%s", bad);
}

/* ------------------------------------------------------------------ */
/* Undertone                                                          */
/* ------------------------------------------------------------------ */

/* Hue angle h = atan2(b*, a*): below 50° pink (cool), above 60° golden
 * (warm), between neutral (the bands of smp_undertone, our choice). */
static void test_undertone(void **state)
{
    (void)state;
    const struct {
        double lab[3];
        const char *want;
    } cases[] = {
        {{60, 15, 12}, "cool"},    /* h 38.7°: pinkish */
        {{60, 12, 13.5}, "cool"},  /* h 48.4° */
        {{60, 10, 14}, "neutral"}, /* h 54.5° */
        {{60, 9, 15}, "neutral"},  /* h 59.0° */
        {{60, 7, 14}, "warm"},     /* h 63.4° */
        {{60, 5, 20}, "warm"},     /* h 76.0°: golden */
        {{40, 8, -2}, "cool"},     /* h -14°: past red toward blue */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (strcmp(smp_undertone(cases[i].lab), cases[i].want) != 0)
            fail_msg("skin %.0f,%.1f,%.1f: %s, expected %s", cases[i].lab[0], cases[i].lab[1],
                     cases[i].lab[2], smp_undertone(cases[i].lab), cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_veil_is_the_bottle),
        cmocka_unit_test(test_heals_lighter_and_toward_skin),
        cmocka_unit_test(test_light_pigment_heals_toward_skin),
        cmocka_unit_test(test_lighter_skin_heals_lighter),
        cmocka_unit_test(test_veil_monotone_to_skin),
        cmocka_unit_test(test_thick_veil_is_the_skin),
        cmocka_unit_test(test_carbon_heals_cooler),
        cmocka_unit_test(test_dilution_between),
        cmocka_unit_test(test_lighter_start_and_ranking),
        cmocka_unit_test(test_recipe_fills_a_gap),
        cmocka_unit_test(test_no_recipe_when_a_shade_is_exact),
        cmocka_unit_test(test_direct_model_is_the_bottle),
        cmocka_unit_test(test_shade_overrides),
        cmocka_unit_test(test_undertone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
