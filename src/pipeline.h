/*
 * pipeline.h: the parts of the pipeline the per-area analysis reuses
 * (private).
 *
 * The photo and each --region area go through the same measure and
 * recommend steps; an area's result is an smp_result of its own, nested in
 * the photo's (smp_result.areas).
 */
#ifndef SMP_PIPELINE_H
#define SMP_PIPELINE_H

#include "colour.h"
#include "heal.h"
#include "regions.h"
#include "measure.h"
#include "smpmatch.h"

/* What lowers confidence; each one also gives a warning. */
enum {
    SMP_FLAG_NOT_SCALP = 1,
    SMP_FLAG_LITTLE = 2,
    SMP_FLAG_CONTRAST = 4,
    SMP_FLAG_EXPOSURE = 8,
    SMP_FLAG_CAST = 16,
    SMP_FLAG_FEW = 32,
    SMP_FLAG_SPREAD = 64,
    SMP_FLAG_OTHER_SKIN = 128, /* an area measured against skin borrowed from the photo */
    SMP_FLAG_CHART = 256       /* a colour chart that fits poorly or looks misplaced */
};

/* How far to trust a result's figures, 0..1 in steps of 0.01: a product of
 * penalties (no calibration, found automatically, no skin of its own, and
 * the `flags` above), each of which comes with a warning, so that a low
 * confidence is always explained. 0 when no hair was measured. */
double smp_confidence(const smp_result *r, int flags, int colour_fallback);

/* A new, empty result for `name` (status SMP_OK); NULL when memory runs out. */
smp_result *smp_result_new(const char *name, const smp_options *opt);

/* Measures the scalp, then the hair against it, then the hair's colour
 * groups, inside the regions of `reg` (either may be NULL), and `x` (NULL,
 * or work to fit beside: measure.h) on the way. */
smp_status smp_pipeline_measure(smp_result *r, const smp_lab_image *lab, const smp_regions *reg,
                                const smp_options *opt, const smp_measure_extra *x);

/* From the measured hair and skin in r: hex strings, skin tone (ITA°,
 * category, undertone), the skin the healed model uses, the ranked shades,
 * the lighter start, the mixes and the guidance. Needs r->hair measured for
 * the shades; everything else is filled in as far as it can be. Returns
 * SMP_OK or SMP_E_NOMEM. */
smp_status smp_recommend(smp_result *r, const smp_palette *palette, const smp_options *opt,
                         const smp_heal_ctx *h);

/* Per-area analysis (areas.c): fills r->areas from opt->areas on the
 * photo's Lab image. Problems with one area become warnings on the photo;
 * only running out of memory fails. */
smp_status smp_areas_run(smp_result *r, const smp_lab_image *lab, const smp_scale *scale,
                         const smp_palette *palette, const smp_options *opt, const smp_heal_ctx *h);

/* Frees r->areas. */
void smp_areas_free(smp_result *r);

#endif /* SMP_PIPELINE_H */
