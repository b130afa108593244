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
#include "team.h"

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

/* The region finder's first step, the skin seeds' candidates and the
 * local deviation of L* around each, taken row by row of the photo as
 * stored (before it is turned upright: a JPEG's rows as they decode), so
 * that it can follow the colour conversion on the photo's helper while
 * the photo is still decoding (colour.c). Whether it followed or not, the
 * region finder gets the same values: it takes them row by row of the
 * stored photo too (the sums of a window then run in that order).
 * begin: on a zeroed or released pass, for the Lab image as it will be
 *   (its size and workspace; its pixels need not be there yet), whose rows
 *   are the stored rows turned by `turn` (image.h; 0 or 1: not turned) of
 *   a stored image sw x sh. Returns 1 when the pass is on: the image is
 *   small enough for the region finder to look at whole, and memory was
 *   there; otherwise only turn, sw and sh are kept.
 * row: stored row y, just converted (its Lab and flags, as stored).
 * follow: the deviations that stored rows [0, rows) allow (all of them
 *   when rows is sh), from the Lab image as displayed.
 * complete: every row was given and followed to the end; set it to 0 when
 *   the Lab image changes after (a colour fallback, a white balance), and
 *   the region finder takes the step again itself, in the same order. */
typedef struct smp_seed_rows {
    double *c1, *c2; /* a part's column sums of L and L^2 over rows [lo, hi) */
    double *var;     /* one row of window variances (seed_rows_follow) */
    float *sd;       /* one row of deviations */
    int lo, hi, next, end;
} smp_seed_rows;

typedef struct smp_seed_pass {
    int on, complete;
    int w, h;          /* the Lab image's size (as displayed) */
    int turn, sw, sh;  /* the stored rows: how they turn, and their size */
    unsigned char *cls; /* w * h: usable, and skin-coloured (regions_auto.c) */
    float *sd;          /* w * h: a candidate's deviation, +infinity elsewhere */
    size_t cand, counted; /* candidates; deviations counted in counts */
    uint32_t *counts;   /* the candidates' deviations' histogram, for their k-th (util.h) */
    smp_seed_rows rows[SMP_PARTS]; /* the stored rows in two parts (team.h) */
    smp_workspace *ws;
    smp_exposure exposure; /* and, while it has the rows, the exposure check's counts */
} smp_seed_pass;

int smp_seed_pass_begin(smp_seed_pass *p, const smp_lab_image *lab, int turn, int sw, int sh);
void smp_seed_pass_row(smp_seed_pass *p, int y, const float *lab_row, const unsigned char *flags_row);
void smp_seed_pass_follow(smp_seed_pass *p, const float *lab, int rows);
void smp_seed_pass_release(smp_seed_pass *p);

/* smp_regions_auto with the seed pass of the photo's conversion: taken as
 * it is when complete, and otherwise its `turn`, sw and sh say in what
 * order to take the step (seed NULL: as displayed). */
smp_status smp_regions_auto_seeded(const smp_lab_image *lab, smp_seed_pass *seed, smp_regions *out,
                                   smp_auto_info *info);

/* smp_regions_auto_seeded in two steps, so that the masks can be measured
 * while the finder takes its last look: begin gives the masks and every
 * finding but info->straightness and info->looks_like_scalp, and *rest
 * (NULL when nothing is left to do); end fills those two and frees rest,
 * its passes on `team` (NULL: this thread alone; the same figures). With
 * info NULL, end only frees rest. */
typedef struct smp_auto_rest smp_auto_rest;
smp_status smp_regions_auto_begin(const smp_lab_image *lab, smp_seed_pass *seed, smp_regions *out,
                                  smp_auto_info *info, smp_auto_rest **rest);
void smp_regions_auto_end(smp_auto_rest *rest, smp_auto_info *info, smp_team *team);

/* The last look in pieces, to share between threads as they have time:
 * its SMP_AUTO_END_PARTS parts, each taken once (on any thread, any two at
 * once), then finish (once all are taken; as end, with the same figures
 * however they were shared). */
#define SMP_AUTO_END_PARTS 4
void smp_regions_auto_end_part(smp_auto_rest *rest, int part);
void smp_regions_auto_end_finish(smp_auto_rest *rest, smp_auto_info *info);

/* The 5° band (0-35) of a gradient's orientation modulo 180°, as
 * floor(atan2(gy, gx) in degrees, folded to [0, 180), / 5), decided by
 * comparing gy with tan(5°k) * gx (not both 0): the straightness test's
 * histogram (regions_auto.c). For tests. */
int smp_orientation_band(double gx, double gy);

/* Step 4 of the finder (hair: thin non-skin at least sqrt(lim2) from the
 * skin colour) over n pixels: sets `hair` in cls[i] where cls[i] has
 * `thin` and smp_dist2_px(lab + 3 i, skin) >= lim2, deciding from d2[i]
 * (that squared distance rounded to the nearest float) against lim2
 * rounded the same way: rounding never reverses an order, so a float
 * above or below says what the double would, and only a float equal to
 * lim2's is decided from lab. Returns how many it set. The finder's own
 * (regions_auto.c), for tests. */
size_t smp_hair_step(unsigned char *cls, const float *d2, const float *lab, size_t n, const double skin[3],
                     double lim2, unsigned char thin, unsigned char hair);

#endif /* SMP_REGIONS_H */
