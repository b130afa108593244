/*
 * heal.c: the healed-appearance model and Kubelka-Munk mixing.
 *
 * Healed appearance. SMP pigment sits in the upper dermis; once the skin
 * has healed over it, it is seen through a layer of the client's own skin.
 * Per channel (linear-light sRGB as reflectance R):
 *
 *   1. Tyndall blue shift. Carbon particles in tissue scatter short
 *      wavelengths back more than long ones (Rayleigh, lambda^-4), which is
 *      why healed carbon looks blue-grey:
 *          Rp' = Rp + beta (lambda / 550)^-4 (1 - Rp)
 *      beta = blue_shift; the (1 - Rp) factor gives a white pigment none.
 *   2. The skin over the pigment is a Kubelka-Munk layer of the skin's own
 *      material: its reflectance when infinitely thick is the measured skin
 *      reflectance Rs, its optical thickness is S d = veil (lambda/550)^-1.42
 *      (skin scatters short wavelengths more: Jacques 2013). Kubelka's
 *      hyperbolic solution gives the layer's reflectance RL and
 *      transmittance TL:
 *          a = (1/Rs + Rs) / 2,  b = (1/Rs - Rs) / 2,
 *          D = a sinh(b Sd) + b cosh(b Sd),  RL = sinh(b Sd) / D,  TL = b / D
 *   3. The layer over the pigment (Kubelka 1954, layers in contact):
 *          R = RL + TL^2 Rp' / (1 - RL Rp')
 *
 * veil 0 leaves the bottle colour; a very thick veil gives the skin colour
 * back; in between, a dark pigment heals lighter, closer to the skin and,
 * on light skin, cooler. Lighter skin (higher Rs, less absorption) lets
 * more of the layer's own scatter through: the same pigment heals lighter.
 *
 * Mixing. Single-constant Kubelka-Munk (Kubelka & Munk 1931; Allen 1980 for
 * its use in colorant mixing): absorption over scattering is additive by
 * concentration, K/S = (1 - R)^2 / 2R, and back R = 1 + K/S - sqrt((K/S)^2
 * + 2 K/S). The same model computed the built-in dilution ladder
 * (tools/model_palette.c), so mixes and ladder agree.
 */
#include "heal.h"

#include <lcms2.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Reflectances are kept inside (0, 1): Kubelka-Munk's K/S is infinite at
 * 0, and colours outside the sRGB gamut would give negative channels. The
 * floor, 0.1 %, is darker than any pigment reflects in practice (L* 0.9). */
#define R_MIN 0.001
#define R_MAX 0.999

static double clamp_r(double r)
{
    return r < R_MIN ? R_MIN : r > R_MAX ? R_MAX : r;
}

smp_status smp_heal_ctx_init(smp_heal_ctx *h)
{
    memset(h, 0, sizeof *h);
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    if (!ctx)
        return SMP_E_NOMEM;
    h->cms = ctx;
    /* Linear-light sRGB: BT.709 primaries, D65 white, gamma 1.0. */
    cmsCIExyY white = {0.3127, 0.3290, 1.0};
    cmsCIExyYTRIPLE prim = {{0.64, 0.33, 1.0}, {0.30, 0.60, 1.0}, {0.15, 0.06, 1.0}};
    cmsToneCurve *lin = cmsBuildGamma(ctx, 1.0);
    cmsToneCurve *curves[3] = {lin, lin, lin};
    cmsHPROFILE rgb = lin ? cmsCreateRGBProfileTHR(ctx, &white, &prim, curves) : NULL;
    cmsHPROFILE lab = cmsCreateLab4ProfileTHR(ctx, NULL);
    cmsHPROFILE srgb = cmsCreate_sRGBProfileTHR(ctx);
    smp_status st = SMP_E_COLOUR;
    if (rgb && lab && srgb) {
        /* NOOPTIMIZE: the exact float pipeline (the optimised one loses up to
         * 0.4 ΔE00 on dark colours, see colour.c). */
        h->to_rgb = cmsCreateTransformTHR(ctx, lab, TYPE_Lab_DBL, rgb, TYPE_RGB_DBL,
                                          INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE);
        h->to_lab = cmsCreateTransformTHR(ctx, rgb, TYPE_RGB_DBL, lab, TYPE_Lab_DBL,
                                          INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE);
        h->to_srgb8 = cmsCreateTransformTHR(ctx, lab, TYPE_Lab_DBL, srgb, TYPE_RGB_8,
                                            INTENT_RELATIVE_COLORIMETRIC, 0);
        if (h->to_rgb && h->to_lab && h->to_srgb8)
            st = SMP_OK;
    }
    if (lin)
        cmsFreeToneCurve(lin);
    if (rgb)
        cmsCloseProfile(rgb);
    if (lab)
        cmsCloseProfile(lab);
    if (srgb)
        cmsCloseProfile(srgb);
    if (st != SMP_OK)
        smp_heal_ctx_release(h);
    return st;
}

void smp_heal_ctx_release(smp_heal_ctx *h)
{
    if (h->to_rgb)
        cmsDeleteTransform(h->to_rgb);
    if (h->to_lab)
        cmsDeleteTransform(h->to_lab);
    if (h->to_srgb8)
        cmsDeleteTransform(h->to_srgb8);
    if (h->cms)
        cmsDeleteContext(h->cms);
    memset(h, 0, sizeof *h);
}

void smp_heal_to_rgb(const smp_heal_ctx *h, const double lab[3], double rgb[3])
{
    cmsCIELab in = {lab[0], lab[1], lab[2]};
    cmsDoTransform(h->to_rgb, &in, rgb, 1);
}

void smp_heal_to_lab(const smp_heal_ctx *h, const double rgb[3], double lab[3])
{
    cmsCIELab out;
    cmsDoTransform(h->to_lab, rgb, &out, 1);
    lab[0] = out.L;
    lab[1] = out.a;
    lab[2] = out.b;
}

void smp_heal_hex(const smp_heal_ctx *h, const double lab[3], char hex[8])
{
    cmsCIELab in = {lab[0], lab[1], lab[2]};
    unsigned char rgb[3];
    cmsDoTransform(h->to_srgb8, &in, rgb, 1);
    snprintf(hex, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}

static const double lambda_nm[3] = {SMP_LAMBDA_R, SMP_LAMBDA_G, SMP_LAMBDA_B};

void smp_heal_rgb(const double pigment[3], const double skin[3], double veil, double blue_shift,
                  double out[3])
{
    for (int c = 0; c < 3; c++) {
        double rel = lambda_nm[c] / 550.0;
        double rp = clamp_r(pigment[c]);
        rp = clamp_r(rp + blue_shift * pow(rel, -SMP_RAYLEIGH_EXPONENT) * (1.0 - rp));
        double sd = veil * pow(rel, -SMP_SKIN_SCATTER_EXPONENT);
        if (sd <= 0) {
            out[c] = rp;
            continue;
        }
        double rs = clamp_r(skin[c]);
        double a = 0.5 * (1.0 / rs + rs), b = 0.5 * (1.0 / rs - rs);
        /* Kubelka's RL = sinh(x) / (a sinh(x) + b cosh(x)), TL = b / (...),
         * x = b Sd, rewritten with e = exp(-2x) so that a thick layer
         * cannot overflow sinh and cosh: */
        double e = exp(-2.0 * b * sd);
        double d = (a + b) - (a - b) * e;
        double rl = (1.0 - e) / d, tl = 2.0 * b * sqrt(e) / d;
        out[c] = rl + tl * tl * rp / (1.0 - rl * rp);
    }
}

static double k_over_s(double r)
{
    r = clamp_r(r);
    return (1.0 - r) * (1.0 - r) / (2.0 * r);
}

void smp_mix_rgb(const double a[3], const double b[3], double share_a, double out[3])
{
    for (int c = 0; c < 3; c++) {
        double ks = share_a * k_over_s(a[c]) + (1.0 - share_a) * k_over_s(b[c]);
        out[c] = 1.0 + ks - sqrt(ks * ks + 2.0 * ks);
    }
}

/* The public, stand-alone forms: a context per call (tests, embedding
 * programs); the pipeline keeps one per photo. */
smp_status smp_heal_lab(const double pigment[3], const double skin[3], double veil,
                        double blue_shift, double out[3])
{
    if (!(veil >= 0) || !(blue_shift >= 0) || isinf(veil) || isinf(blue_shift))
        return SMP_E_ARG; /* also NaN */
    smp_heal_ctx h;
    smp_status st = smp_heal_ctx_init(&h);
    if (st != SMP_OK)
        return st;
    double p[3], s[3], r[3];
    smp_heal_to_rgb(&h, pigment, p);
    smp_heal_to_rgb(&h, skin, s);
    smp_heal_rgb(p, s, veil, blue_shift, r);
    smp_heal_to_lab(&h, r, out);
    smp_heal_ctx_release(&h);
    return SMP_OK;
}

smp_status smp_mix_lab(const double a[3], const double b[3], double share_a, double out[3])
{
    smp_heal_ctx h;
    smp_status st = smp_heal_ctx_init(&h);
    if (st != SMP_OK)
        return st;
    double ra[3], rb[3], r[3];
    smp_heal_to_rgb(&h, a, ra);
    smp_heal_to_rgb(&h, b, rb);
    smp_mix_rgb(ra, rb, share_a, r);
    smp_heal_to_lab(&h, r, out);
    smp_heal_ctx_release(&h);
    return SMP_OK;
}

/* Hue-angle bands: skin hue angles span about 40-70° in colorimetric skin
 * surveys (e.g. Weatherall & Coombs 1992, J Invest Dermatol 99:468); the
 * split into thirds at 50° and 60° is our choice. Lower = pinker (cool),
 * higher = more yellow (warm). */
#define UNDERTONE_COOL_BELOW 50.0
#define UNDERTONE_WARM_ABOVE 60.0

const char *smp_undertone(const double skin[3])
{
    double h = atan2(skin[2], skin[1]) * 180.0 / SMP_PI;
    if (h < 0)
        h += 360.0;
    if (h > 180.0 || h < UNDERTONE_COOL_BELOW) /* pink, red, or past red toward blue */
        return "cool";
    if (h > UNDERTONE_WARM_ABOVE)
        return "warm";
    return "neutral";
}
