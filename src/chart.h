/*
 * chart.h: colour-chart calibration, the `calibrate` stage's --chart
 * (private).
 *
 * In:  a Lab image and the four outer corners of a ColorChecker Classic 24's
 *      patch grid in it, in any order.
 * Out: the image corrected so that the chart's patches take their published
 *      D50 colours; the fit's figures in smp_calibration and its doubts as
 *      warnings on the result.
 * Not: finding the chart by itself (the user gives the corners), the grey
 *      card (calibrate.c).
 *
 * docs/chart.md says how the orientation is found, what is fitted and why.
 */
#ifndef SMP_CHART_H
#define SMP_CHART_H

#include "colour.h"
#include "image.h"
#include "smpmatch.h"

#define SMP_CHART_PATCHES 24

typedef struct smp_chart_patch {
    const char *id;   /* "A01" .. "D06": row A-D top to bottom, column 01-06 */
    const char *name; /* "dark skin" .. "black 2" */
    double lab[3];    /* published D50 value */
} smp_chart_patch;

/* The reference, in the chart's reading order (A01, A02, ... D06). */
const smp_chart_patch *smp_chart_reference(void);

/* What one fit of one orientation saw; filled by smp_chart_fit. */
typedef struct smp_chart_fit_info {
    int orientation;               /* 0..7: which corner is A01, and the turn */
    double mean_de, max_de;        /* in-sample ΔE00 of the chosen fit */
    double runner_up_de;           /* mean ΔE00 of the best other orientation */
    double loo_matrix, loo_rootpoly; /* leave-one-out mean ΔE00 */
    int rootpoly;                  /* 1 when the root-polynomial fit was chosen */
    double patch_de[SMP_CHART_PATCHES];     /* after the fit; NAN when left out */
    double patch_spread[SMP_CHART_PATCHES]; /* median ΔE00 of a patch's pixels from its colour */
    unsigned long clipped;         /* bit i: patch i clipped or without pixels */
    int corners[4];                /* which given corner is A01, A06, D06, D01 */
} smp_chart_fit_info;

/* Checks the corners as given (displayed pixels of a width x height photo):
 * each inside the photo, the four a convex four-sided shape of some size.
 * Returns SMP_OK or SMP_E_ARG with one line in err naming `name`. */
smp_status smp_chart_check(const char *name, const double corners[8], int width, int height,
                           smp_error *err);

/* Finds the orientation, fits the correction and applies it to `img`.
 * `corners` are in pixels of img (the caller maps the displayed ones).
 * Returns SMP_OK (info filled, img corrected), SMP_E_ARG when the patches
 * are too small to sample (err says so), SMP_E_NOMEM. When no orientation
 * fits (the best leaves a mean ΔE00 over 10, or too few patches are
 * usable), returns SMP_OK with info->orientation -1 and img untouched. */
smp_status smp_chart_fit(const char *name, smp_lab_image *img, const double corners[8],
                         smp_chart_fit_info *info, smp_error *err);

/* The whole --chart step for the pipeline: checks the corners, maps them to
 * the analysed image through `scale`, fits and applies, fills
 * r->calibration and adds warnings to r. *doubt is set to 1 when a warning
 * should lower the confidence. Errors (SMP_E_ARG, SMP_E_NOMEM) fill err. */
smp_status smp_chart_run(const char *name, const double corners[8], const smp_scale *scale,
                         smp_lab_image *img, smp_result *r, int *doubt, smp_error *err);

#endif /* SMP_CHART_H */
