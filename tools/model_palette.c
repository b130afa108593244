/*
 * model_palette.c: computes the default palette (palettes/default.csv).
 *
 * In:  nothing; the model's assumptions are the constants below, each with
 *      its reason (docs/palette.md explains the model in full).
 * Out: on stdout, the complete palettes/default.csv: comment lines, the
 *      header, one row per shade, Lab D50 rounded to 2 decimals, and last
 *      the diluent row (the white medium below, "Distilled water").
 * Not: a measurement. Every value is modelled; clinics should measure their
 *      own healed swatches or bottles and load those instead.
 *
 * Model: single-constant Kubelka-Munk tint ladder (Kubelka & Munk 1931).
 * Diluting the pigment with water and implanting it leaves fewer pigment
 * particles in the same strongly scattering, near-white medium, so the
 * mixture's absorption-to-scattering ratio is additive in concentration:
 *     (K/S)mix = c (K/S)pigment + (1 - c) (K/S)white,  c = 1 / (1 + parts water)
 * with K/S = (1 - R)^2 / 2R and, back, R = 1 + K/S - sqrt((K/S)^2 + 2 K/S)
 * for an opaque layer. It is applied per channel of linear-light sRGB (three
 * broad bands standing in for spectra, which nobody publishes for these
 * inks), never to Lab. Conversions are LittleCMS's: Lab D50 <-> linear sRGB
 * (sRGB primaries and D65 white, gamma 1.0), relative colorimetric.
 *
 * Build and run (from the source tree):
 *   cc -std=c11 -O2 tools/model_palette.c -llcms2 -lm -o /tmp/model_palette
 *   /tmp/model_palette > palettes/default.csv
 */
#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The medium the pigment ends up in, seen as a white: a neutral L* 95.
 * Assumption: matte white paper and white paint drawdowns measure L* 93-96;
 * the ColorChecker's "white 9.5" patch is L* 96.54 (refdata/colorchecker24.csv).
 * Kept neutral so the plain carbon ladder stays neutral; the skin's own
 * colour is not part of the palette (it belongs to the healed model). */
static const double white_lab[3] = {95.0, 0.0, 0.0};

typedef struct pigment {
    const char *name, *code_prefix;
    double lab[3];        /* neat, D50 */
    const char *why;      /* the neat colour's reason, for the notes */
    const double *ratios; /* parts water to one part pigment; 0 = neat */
    int n_ratios;
} pigment;

/* The dilutions technicians remix by syringe (water : pigment). */
static const double ladder[] = {0, 1, 3, 6, 12, 18, 20};
static const double short_ladder[] = {0, 3, 6, 12};

/* Neat colours. Assumptions, not measurements (no SMP pigment maker
 * publishes colour values):
 * - Carbon black: near-neutral and very dark (graphitic carbon absorbs
 *   almost flat across the visible). Masstone carbon black paints measure
 *   below L* 10 with the gloss excluded; a camera sees some surface
 *   reflection (about 4% at normal incidence for a surface of index 1.5,
 *   Fresnel), which lifts a black towards L* 20. L* 18 sits inside the
 *   black-hair range (L* 15-25) the neat shade is meant for.
 * - Warm carbon: carbon black with an iron-oxide brown, which leans a black
 *   to +a*, +b* (red-yellow); small shift, as blends sold as "warm" are
 *   still blacks.
 * - Cool carbon: carbon black with a blue toner (phthalocyanine or
 *   ultramarine), which leans a black to -b*; a little -a* too, as
 *   phthalocyanine blue is greenish. */
static const pigment pigments[] = {
    {"Carbon black", "CB", {18.0, 0.0, 0.0},
     "neat carbon black, assumed near-neutral jet black", ladder, 7},
    {"Warm carbon", "WC", {19.0, 2.0, 4.0},
     "neat carbon black with iron-oxide brown, assumed warm black", short_ladder, 4},
    {"Cool carbon", "CC", {17.0, -0.5, -4.0},
     "neat carbon black with blue toner, assumed cool black", short_ladder, 4},
};

static double ks_of(double r)
{
    return (1.0 - r) * (1.0 - r) / (2.0 * r);
}

static double r_of(double ks)
{
    return 1.0 + ks - sqrt(ks * ks + 2.0 * ks);
}

/* CSV field with RFC 4180 quoting when needed. */
static void put_field(const char *s, int last)
{
    if (strpbrk(s, ",\"\n\r")) {
        putchar('"');
        for (; *s; s++) {
            if (*s == '"')
                putchar('"');
            putchar(*s);
        }
        putchar('"');
    } else {
        fputs(s, stdout);
    }
    putchar(last ? '\n' : ',');
}

int main(void)
{
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    cmsCIExyY d65 = {0.3127, 0.3290, 1.0}; /* IEC 61966-2-1 sRGB white */
    cmsCIExyYTRIPLE prim = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}}; /* sRGB */
    cmsToneCurve *lin = cmsBuildGamma(ctx, 1.0);
    cmsToneCurve *curves[3] = {lin, lin, lin};
    cmsHPROFILE linrgb = cmsCreateRGBProfileTHR(ctx, &d65, &prim, curves);
    cmsHPROFILE labp = cmsCreateLab4ProfileTHR(ctx, NULL);
    cmsHTRANSFORM to_rgb = cmsCreateTransformTHR(ctx, labp, TYPE_Lab_DBL, linrgb, TYPE_RGB_DBL,
                                                 INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE);
    cmsHTRANSFORM to_lab = cmsCreateTransformTHR(ctx, linrgb, TYPE_RGB_DBL, labp, TYPE_Lab_DBL,
                                                 INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE);
    if (!lin || !linrgb || !labp || !to_rgb || !to_lab) {
        fprintf(stderr, "model_palette: LittleCMS could not build the transforms\n");
        return 1;
    }

    cmsCIELab wl = {white_lab[0], white_lab[1], white_lab[2]};
    double white[3];
    cmsDoTransform(to_rgb, &wl, white, 1);

    printf("# smpmatch default palette: MODELLED colours, not measurements.\n"
           "# Generated by tools/model_palette.c (see docs/palette.md); do not edit by hand.\n"
           "# One carbon-black pigment diluted with distilled water, as technicians remix it\n"
           "# (dilution = parts water to one part pigment), plus warm and cool carbon blends.\n"
           "# Model: Kubelka-Munk K/S additivity, c = 1/(1+water), per linear-sRGB channel,\n"
           "# in a neutral white medium of L* %.0f. Lab is CIELAB D50. Measure your own\n"
           "# healed swatches and load them with --palette for real numbers.\n",
           white_lab[0]);
    printf("name,code,brand,kind,base,dilution,L,a,b,notes\n");

    for (size_t p = 0; p < sizeof pigments / sizeof pigments[0]; p++) {
        const pigment *pg = &pigments[p];
        cmsCIELab nl = {pg->lab[0], pg->lab[1], pg->lab[2]};
        double neat[3], ks_p[3], ks_w[3];
        cmsDoTransform(to_rgb, &nl, neat, 1);
        for (int ch = 0; ch < 3; ch++) {
            if (!(neat[ch] > 0.0 && neat[ch] < 1.0)) {
                fprintf(stderr, "model_palette: %s is outside sRGB\n", pg->name);
                return 1;
            }
            ks_p[ch] = ks_of(neat[ch]);
            ks_w[ch] = ks_of(white[ch]);
        }
        for (int i = 0; i < pg->n_ratios; i++) {
            double w = pg->ratios[i], c = 1.0 / (1.0 + w), rgb[3];
            for (int ch = 0; ch < 3; ch++)
                rgb[ch] = r_of(c * ks_p[ch] + (1.0 - c) * ks_w[ch]);
            cmsCIELab out;
            cmsDoTransform(to_lab, rgb, &out, 1);
            if (w == 0 && cmsDeltaE(&out, &nl) > 1e-3) {
                fprintf(stderr, "model_palette: round trip of %s is off by %g\n", pg->name,
                        cmsDeltaE(&out, &nl));
                return 1;
            }
            char name[96], code[32], notes[256], dil[16], L[16], a[16], b[16];
            if (w == 0) {
                snprintf(name, sizeof name, "%s", pg->name);
                snprintf(notes, sizeof notes, "modelled: %s (not measured)", pg->why);
            } else {
                snprintf(name, sizeof name, "%s %g:1", pg->name, w);
                snprintf(notes, sizeof notes,
                         "modelled: %g part%s distilled water to 1 part %s; Kubelka-Munk tint, c = 1/%g",
                         w, w == 1 ? "" : "s", pg->name, 1.0 + w);
            }
            snprintf(code, sizeof code, "%s-%02.0f", pg->code_prefix, w);
            snprintf(dil, sizeof dil, "%g", w);
            /* +0.0 turns a rounded -0.00 into 0.00 */
            snprintf(L, sizeof L, "%.2f", round(out.L * 100.0) / 100.0 + 0.0);
            snprintf(a, sizeof a, "%.2f", round(out.a * 100.0) / 100.0 + 0.0);
            snprintf(b, sizeof b, "%.2f", round(out.b * 100.0) / 100.0 + 0.0);
            put_field(name, 0);
            put_field(code, 0);
            put_field("", 0);
            put_field("pigment", 0);
            put_field(w == 0 ? "" : pg->name, 0); /* base: what it is diluted from */
            put_field(dil, 0);
            put_field(L, 0);
            put_field(a, 0);
            put_field(b, 0);
            put_field(notes, 1);
        }
    }
    /* The diluent: water carries the pigment in and is absorbed, so what a
     * dilution adds is the white medium above; its row is that white. The
     * matcher never recommends a diluent, it only mixes with it, and a
     * palette's derived rows (docs/palette.md) thin their base with it. */
    char wL[16], wa[16], wb[16];
    snprintf(wL, sizeof wL, "%.2f", white_lab[0]);
    snprintf(wa, sizeof wa, "%.2f", white_lab[1]);
    snprintf(wb, sizeof wb, "%.2f", white_lab[2]);
    put_field("Distilled water", 0);
    put_field("DW", 0);
    put_field("", 0);
    put_field("diluent", 0);
    put_field("", 0);
    put_field("0", 0);
    put_field(wL, 0);
    put_field(wa, 0);
    put_field(wb, 0);
    put_field("modelled: the diluent, taken as the neutral white medium of L* 95 the ladder "
              "assumes; never recommended as a shade, only used in mixes",
              1);

    cmsDeleteTransform(to_rgb);
    cmsDeleteTransform(to_lab);
    cmsCloseProfile(linrgb);
    cmsCloseProfile(labp);
    cmsFreeToneCurve(lin);
    cmsDeleteContext(ctx);
    return 0;
}
