/*
 * match.h: the `match` stage (private).
 *
 * In:  the measured hair colour, a palette, a metric, how many to list.
 * Out: the best shades in order, each with its ΔE, ΔE00 verdict and rank,
 *      the lighter-start shade and the two-part mixes worth listing.
 * Not: the model's physics (heal.c), measuring (measure.c).
 */
#ifndef SMP_MATCH_H
#define SMP_MATCH_H

#include "heal.h"
#include "smpmatch.h"

/* Shades within this ΔE00 of a group's best are shown as equally good: the
 * 50:50 perceptibility threshold (Paravina et al. 2015). */
#define SMP_EQUAL_DE00 0.8

/* A mix is listed when it beats the best single shade by at least 1 ΔE00
 * (issue 4: about one just-noticeable difference more, Paravina et al.
 * 2015's 0.8 perceptibility rounded up), at most SMP_MAX_RECIPES of them. */
#define SMP_RECIPE_MIN_GAIN 1.0
#define SMP_MAX_RECIPES 3

typedef struct smp_match_params {
    const smp_palette *palette;
    const double *hair;   /* Lab D50 */
    const double *skin;   /* the skin to heal in; NULL: rank bottle colours */
    smp_metric metric;
    smp_model model;
    smp_session session;
    double veil, blue_shift; /* for shades that do not set their own */
    int top;
    int recipes;
} smp_match_params;

/* Ranks every pigment (diluent entries are not shades to tattoo) by the
 * difference between its predicted healed colour and the hair, keeps the
 * best `top` in r->matches (for a first session, only those that heal at
 * or lighter than the hair), sets r->lighter_start and r->heal.darkest_l,
 * and with p->recipes r->recipes. */
smp_status smp_match_result(const smp_match_params *p, const smp_heal_ctx *h, smp_result *r);

void smp_recipes_free(smp_recipe *recipes, size_t n);

void smp_matches_free(smp_match *matches, size_t n);
/* Frees one match's strings and zeroes it (the lighter start). */
void smp_match_clear(smp_match *m);

/* CIE94, graphic-arts weights (CIE 116-1995: kL = kC = kH = 1, K1 = 0.045,
 * K2 = 0.015), with `ref` as the reference colour for SC and SH. Ours:
 * LittleCMS 2.14's cmsCIE94DeltaE uses other constants (shared/DESIGN.md). */
double smp_de94(const double ref[3], const double sample[3]);

#endif /* SMP_MATCH_H */
