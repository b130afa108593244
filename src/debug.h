/*
 * debug.h: --debug-masks, what was measured, as pictures (private).
 *
 * In:  the Lab image the analysis used, the hair and scalp masks.
 * Out: three PNG files in an existing folder: <name>.hair.png and
 *      <name>.scalp.png (8-bit grey, 255 = in the mask, 0 = out, the size of
 *      the Lab image: the analysed size, the photo as displayed reduced by the
 *      analysis factor, not the photo's own size) and <name>.overlay.png
 *      (the photo in sRGB with hair tinted and scalp tinted in two colours).
 *      <name> is the photo's file name without folder and extension.
 *      Each file is written to a temporary name in the folder and renamed,
 *      so a reader never sees half a file.
 * Not: deciding anything; masks may be NULL (an empty mask is written).
 */
#ifndef SMP_DEBUG_H
#define SMP_DEBUG_H

#include "colour.h"
#include "smpmatch.h"

smp_status smp_debug_write_masks(const char *dir, const char *photo, const smp_lab_image *lab,
                                 const unsigned char *hair, const unsigned char *scalp,
                                 smp_error *err);

#endif /* SMP_DEBUG_H */
