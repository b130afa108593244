/*
 * heal.h: the healed-appearance model and pigment mixing (private; part of
 * the `match` stage).
 *
 * In:  colours in CIELAB D50 (a pigment or mix in the bottle, the client's
 *      skin), the model's parameters.
 * Out: the colour the pigment is predicted to show once healed in that
 *      skin; the colour of a two-part mix.
 * Not: ranking (match.c), measuring (measure.c).
 *
 * Both work per channel of linear-light sRGB, read as reflectance: three
 * broad bands standing in for spectra (no SMP pigment maker publishes
 * spectra). docs/model.md states the model, its parameters and sources.
 */
#ifndef SMP_HEAL_H
#define SMP_HEAL_H

#include "smpmatch.h"

/* The wavelengths that stand for the three channels: the dominant
 * wavelengths of the sRGB primaries (ITU-R BT.709 chromaticities against
 * D65), rounded to the nanometre. */
#define SMP_LAMBDA_R 611.0
#define SMP_LAMBDA_G 549.0
#define SMP_LAMBDA_B 464.0
/* Reduced scattering of skin falls as (lambda / 500 nm)^-b with b = 1.42
 * (Jacques 2013, Phys. Med. Biol. 58:R37, the fit over skin data). */
#define SMP_SKIN_SCATTER_EXPONENT 1.42
/* Particles much smaller than the wavelength (carbon black primary
 * particles are tens of nm) scatter as lambda^-4 (Rayleigh). */
#define SMP_RAYLEIGH_EXPONENT 4.0

/* LittleCMS transforms between Lab D50, linear-light sRGB and 8-bit sRGB,
 * made once per analysis (one context each: no shared state). */
typedef struct smp_heal_ctx {
    void *cms;      /* cmsContext */
    void *to_rgb;   /* Lab D50 -> linear sRGB, double */
    void *to_lab;   /* linear sRGB -> Lab D50, double */
    void *to_srgb8; /* Lab D50 -> sRGB 8-bit, for hex strings */
} smp_heal_ctx;

smp_status smp_heal_ctx_init(smp_heal_ctx *h);
void smp_heal_ctx_release(smp_heal_ctx *h);

void smp_heal_to_rgb(const smp_heal_ctx *h, const double lab[3], double rgb[3]);
void smp_heal_to_lab(const smp_heal_ctx *h, const double rgb[3], double lab[3]);
void smp_heal_hex(const smp_heal_ctx *h, const double lab[3], char hex[8]);

/* The model on linear RGB reflectances (see smp_heal_lab). */
void smp_heal_rgb(const double pigment[3], const double skin[3], double veil, double blue_shift,
                  double out[3]);

/* Kubelka-Munk mix of two linear RGB reflectances by volume share. */
void smp_mix_rgb(const double a[3], const double b[3], double share_a, double out[3]);

#endif /* SMP_HEAL_H */
