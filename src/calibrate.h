/*
 * calibrate.h: the `calibrate` stage (private).
 *
 * In:  a Lab image and a rectangle on a neutral grey or white patch.
 * Out: the same image, chromatically adapted (Bradford, in XYZ) so that the
 *      patch is neutral at its own lightness; the patch's figures.
 * Not: colour charts (chart.c, --chart), deciding what to warn about (the
 *      pipeline reads the figures).
 */
#ifndef SMP_CALIBRATE_H
#define SMP_CALIBRATE_H

#include "colour.h"
#include "smpmatch.h"

/* `roi` is in pixels of the Lab image (the pipeline clips the user's
 * displayed rectangle and maps it with smp_rect_to_analysed) and must lie
 * inside it. cal->roi is set to it; the pipeline reports the displayed one. Fills cal's
 * patch_lab, spread_de, clipped_share; sets method to "white-roi" on success.
 * Returns SMP_E_ARG when the patch has no usable pixel, SMP_E_NOMEM. */
smp_status smp_calibrate_white(smp_lab_image *img, smp_rect roi, smp_calibration *cal);

/* The 3x3 Bradford matrix (row-major, acting on XYZ column vectors) that
 * takes colours seen under `white` to D50, scaled so that `white` keeps its
 * Y. Built with LittleCMS's cmsAdaptToIlluminant. */
void smp_bradford_to_d50(const double white[3], double m[9]);

/* A colour cast seen without any reference patch. Specular highlights on
 * hair reflect the light itself (the dichromatic reflection model, Shafer
 * 1985, Color Res Appl 10:210), so under neutral light they are near-grey:
 * their chroma is the light's. Takes the usable pixels lighter than
 * `above_l` (the skin's L* plus a margin, so that light skin is not taken
 * for a highlight) and returns the chroma C* of their median a*, b*, with
 * *n the pixels it used; -1 when there are too few (under 0.05 % of the
 * photo, 1 in SMP_HIGHLIGHT_SHARE, or SMP_HIGHLIGHT_MIN pixels) to judge:
 * a caller that knows there are fewer need not call it. */
#define SMP_HIGHLIGHT_MIN 30
#define SMP_HIGHLIGHT_SHARE 2000
double smp_highlight_chroma(const smp_lab_image *img, double above_l, size_t *n);

#endif /* SMP_CALIBRATE_H */
