/*
 * measure.h: the `measure` stage (private).
 *
 * In:  a Lab image and a region mask (from regions.c).
 * Out: a robust colour for what the region is meant to hold (hair or scalp
 *      skin), its pixel count and spread.
 * Not: finding regions (regions.c), white balance (calibrate.c).
 *
 * The method, for both hair and skin:
 *   1. take the region's pixels, leaving out transparent and clipped ones;
 *   2. split them into two colour groups (2-means in Lab): a hair rectangle
 *      also shows skin between strands, a scalp rectangle a few strands;
 *      the group nearest the other material's colour (when known) is left
 *      out; else the skin is the lighter group, unless it is grey (grey
 *      or white hair over darker skin);
 *   3. leave out specular highlights and deep shadows: lightness more than
 *      3 robust standard deviations (1.4826 MAD) from the group's median;
 *   4. the centre is the group's densest colour (the mode, found by mean
 *      shift from the median with a flat kernel), not its mean or median:
 *      strand edges mixed with skin spread along the line from hair to skin
 *      and pull a mean or a median towards the skin, but not the mode
 *      (tests/test_measure.c shows all three on the same pixels).
 * Spread is the median CIEDE2000 of the kept pixels from the centre.
 */
#ifndef SMP_MEASURE_H
#define SMP_MEASURE_H

#include "colour.h"
#include "smpmatch.h"

typedef enum smp_target { SMP_TARGET_HAIR = 0, SMP_TARGET_SKIN } smp_target;

/* Measures the pixels of `img` where mask[i] != 0 (mask has width*height
 * bytes; NULL = the whole image). `other` is the other material's Lab
 * colour (the skin when measuring hair) or NULL. Fills out->measured,
 * lab, pixels, region_pixels, spread_de; leaves out->source and hex to the
 * caller. Returns SMP_E_NOMEM only; too few pixels gives measured = 0. */
smp_status smp_measure_region(const smp_lab_image *img, const unsigned char *mask,
                              smp_target target, const double *other, smp_colour_stat *out);

/* The hair's colour and its colour groups, from one pass over the mask.
 * *stat is as smp_measure_region's (SMP_TARGET_HAIR, `skin` as the other
 * material). When the hair was measured, the groups (issue 3:
 * salt-and-pepper grey, roots, sun-lightened ends): 3-means on the region's
 * usable pixels that are not skin-coloured (8 ΔE76 or more from `skin`,
 * when known), near groups merged, groups that are mixes of another group
 * and the skin (strand edges) and groups under 12 % dropped; each group's
 * colour is its mode. Fills clusters[] largest first and *n_clusters (0 when
 * too few pixels or the hair was not measured); *grey_share is the share
 * in grey groups (C* < 8, L* > 45). Returns SMP_E_NOMEM only. */
smp_status smp_measure_hair(const smp_lab_image *img, const unsigned char *mask, const double *skin,
                            smp_colour_stat *stat, struct smp_hair_cluster clusters[4],
                            size_t *n_clusters, double *grey_share);

/* Both at once, as the pipeline needs them: smp_measure_region of the
 * scalp (SMP_TARGET_SKIN, no other colour) and smp_measure_hair of the
 * hair with the scalp's colour as the skin when it was measured. A NULL
 * mask leaves its results untouched. The scalp is measured on img->team's
 * helper while the hair's first steps, which need no skin colour, run on
 * the caller (without a team: one after the other); the results are the
 * same either way. The colour groups' hex strings are left empty: the
 * pipeline makes them with the transform it holds already (smp_heal_hex),
 * where smp_measure_hair builds one for each. Returns SMP_E_NOMEM only. */
smp_status smp_measure_both(const smp_lab_image *img, const unsigned char *scalp_mask,
                            const unsigned char *hair_mask, smp_colour_stat *scalp,
                            smp_colour_stat *hair, struct smp_hair_cluster clusters[4],
                            size_t *n_clusters, double *grey_share);

/* Work of the pipeline's that fits beside the measurement. after_scalp
 * runs on the helper once the scalp is measured (or at once, with no
 * scalp), as part 1. share does one piece of work that either thread may
 * take and returns 0 when none is left: the caller calls it after the
 * hair's first steps and the helper after after_scalp, each until it
 * returns 0, so the pieces go to whichever thread has time (what a piece
 * computes must not depend on which thread took it, and two pieces may run
 * at once). Without a team all of it runs on the caller. Either may be
 * NULL. */
typedef struct smp_measure_extra {
    smp_part_fn after_scalp;
    void *after_scalp_arg;
    int (*share)(void *arg);
    void *share_arg;
} smp_measure_extra;

smp_status smp_measure_both_with(const smp_lab_image *img, const unsigned char *scalp_mask,
                                 const unsigned char *hair_mask, smp_colour_stat *scalp,
                                 smp_colour_stat *hair, struct smp_hair_cluster clusters[4],
                                 size_t *n_clusters, double *grey_share, const smp_measure_extra *x);

/* Minimum pixels for a measurement (below: not measured, with a warning). */
#define SMP_MEASURE_MIN_PIXELS 50

/* The robust centre estimators, exposed so that tests can compare them on
 * the same pixels. `px` holds n Lab triples. The median and the mode need
 * scratch memory: SMP_E_NOMEM when there is none (out is then unset). */
void smp_centre_mean(const float *px, size_t n, double out[3]);
smp_status smp_centre_median(const float *px, size_t n, double out[3]);
smp_status smp_centre_mode(const float *px, size_t n, double out[3], smp_workspace *ws);
/* The same with its start (the channels' medians) in two parts on the
 * team (team.h; NULL: both here): the same figures either way. */
struct smp_team;
smp_status smp_centre_mode_team(struct smp_team *team, const float *px, size_t n, double out[3],
                                smp_workspace *ws);

#endif /* SMP_MEASURE_H */
