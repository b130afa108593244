/*
 * match.h: the `match` stage (private).
 *
 * In:  the measured hair colour, a palette, a metric, how many to list.
 * Out: the best shades in order, each with its ΔE, ΔE00 verdict and rank.
 * Not: the healed-appearance model (a later issue: `healed` ranks as
 *      `direct` for now, and the pipeline warns).
 */
#ifndef SMP_MATCH_H
#define SMP_MATCH_H

#include "smpmatch.h"

/* Shades within this ΔE00 of a group's best are shown as equally good: the
 * 50:50 perceptibility threshold (Paravina et al. 2015). */
#define SMP_EQUAL_DE00 0.8

/* Ranks every pigment (diluent entries are not shades to tattoo) against
 * `hair`, keeps the best `top`, and returns them as a malloc'd array whose
 * strings are copies (free with smp_matches_free). */
smp_status smp_match_rank(const smp_palette *palette, const double hair[3], smp_metric metric,
                          int top, smp_match **out, size_t *n_out);

void smp_matches_free(smp_match *matches, size_t n);

/* CIE94, graphic-arts weights (CIE 116-1995: kL = kC = kH = 1, K1 = 0.045,
 * K2 = 0.015), with `ref` as the reference colour for SC and SH. Ours:
 * LittleCMS 2.14's cmsCIE94DeltaE uses other constants (shared/DESIGN.md). */
double smp_de94(const double ref[3], const double sample[3]);

#endif /* SMP_MATCH_H */
