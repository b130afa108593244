/*
 * calibrate.h: the `calibrate` stage (private).
 *
 * In:  a Lab image and a rectangle on a neutral grey or white patch.
 * Out: the same image, chromatically adapted (Bradford, in XYZ) so that the
 *      patch is neutral at its own lightness; the patch's figures.
 * Not: colour charts (a later issue), deciding what to warn about (the
 *      pipeline reads the figures).
 */
#ifndef SMP_CALIBRATE_H
#define SMP_CALIBRATE_H

#include "colour.h"
#include "smpmatch.h"

/* `roi` must lie inside the image (the pipeline clips it). Fills cal's
 * patch_lab, spread_de, clipped_share; sets method to "white-roi" on success.
 * Returns SMP_E_ARG when the patch has no usable pixel, SMP_E_NOMEM. */
smp_status smp_calibrate_white(smp_lab_image *img, smp_rect roi, smp_calibration *cal);

/* The 3x3 Bradford matrix (row-major, acting on XYZ column vectors) that
 * takes colours seen under `white` to D50, scaled so that `white` keeps its
 * Y. Built with LittleCMS's cmsAdaptToIlluminant. */
void smp_bradford_to_d50(const double white[3], double m[9]);

#endif /* SMP_CALIBRATE_H */
