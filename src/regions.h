/*
 * regions.h: the `regions` stage (private).
 *
 * In:  the options (rectangles, mask files, in pixels of the photo as
 *      displayed), the analysed image's size and how it lies over the photo
 *      (smp_scale).
 * Out: a hair mask and a scalp mask at the analysed size (width*height
 *      bytes, non-zero = in), or none, meaning "measure the whole photo".
 * Not: automatic hair/skin finding, which is regions_auto.c (declared below).
 */
#ifndef SMP_REGIONS_H
#define SMP_REGIONS_H

#include "colour.h"
#include "smpmatch.h"

typedef struct smp_regions {
    unsigned char *hair, *scalp; /* NULL when that region was not given */
    smp_source hair_source, scalp_source;
    smp_workspace *ws; /* smp_regions_release gives the masks back to it */
} smp_regions;

/* Clips `r` to a width x height photo. Returns 0 when some of it is inside
 * (and sets *out), -1 when none is. */
int smp_rect_clip(smp_rect r, int width, int height, smp_rect *out);

/* Clips a rectangle the user gave (`what`: "hair", "white", ...) to the
 * photo: an error naming the photo when none of it is inside, a warning
 * when part of it is outside. */
smp_status smp_rect_fit(const char *name, const char *what, smp_rect r, int width, int height,
                        smp_rect *out, char ***warnings, size_t *n_warnings, smp_error *err);

/* Rectangle `r`, in pixels of the photo as displayed and already clipped to
 * it, in pixels of the analysed image: every analysed pixel whose block
 * touches r. Never empty (a rectangle inside one block gives that block,
 * 1 x 1). Every user rectangle goes through here (regions, white patch,
 * --region areas). `s` NULL or factor <= 1: r unchanged. */
smp_rect smp_rect_to_analysed(const smp_scale *s, smp_rect r);

/* Builds the masks from opt, at the analysed size width x height; `scale`
 * (NULL: not reduced) maps the user's displayed pixels onto it. Rectangles
 * are clipped to the displayed photo and mapped (smp_rect_to_analysed); a
 * mask file must have the displayed size and is reduced on the same block
 * grid as the photo, a reduced pixel being in when at least half of its
 * block is. A mask file and rectangles for the same region
 * is an error (which to measure would be a guess), and so are more than
 * SMP_MAX_ROIS rectangles. `name` is the photo's name for messages; warnings (a rectangle
 * partly outside the photo) are appended to (*warnings, *n_warnings).
 * Errors: a rectangle wholly outside the photo, a mask file that cannot be
 * read, is not a PNG, or has another size than the photo. */
smp_status smp_regions_build(const char *name, const smp_options *opt, const smp_scale *scale,
                             int width, int height, smp_regions *out, char ***warnings, size_t *n_warnings,
                             smp_error *err);

void smp_regions_release(smp_regions *r);

/* What automatic region finding saw, for warnings and confidence. */
typedef struct smp_auto_info {
    double hair_share;       /* of the photo's pixels in the hair mask */
    double scalp_share;      /* in the scalp mask */
    double skin_like_share;  /* pixels whose colour and texture look like skin */
    double contrast_de00;    /* ΔE00 between the hair and skin groups */
    double straightness;     /* share of hair edge energy in one 5° band (straight lines) */
    int looks_like_scalp;    /* 0: no skin, or no hair on it: not a consult photo */
} smp_auto_info;

/* Finds hair and bare-scalp skin in the Lab image (regions_auto.c): fills
 * out->hair / out->scalp (width*height bytes, or NULL when none was found)
 * with source SMP_SOURCE_AUTO. Only SMP_E_NOMEM fails. */
smp_status smp_regions_auto(const smp_lab_image *lab, smp_regions *out, smp_auto_info *info);

/* The 5° band (0-35) of a gradient's orientation modulo 180°, as
 * floor(atan2(gy, gx) in degrees, folded to [0, 180), / 5), decided by
 * comparing gy with tan(5°k) * gx (not both 0): the straightness test's
 * histogram (regions_auto.c). For tests. */
int smp_orientation_band(double gx, double gy);

#endif /* SMP_REGIONS_H */
