/*
 * regions.c: the `regions` stage, masks from rectangles or mask files.
 *
 * In:  --hair-roi / --scalp-roi rectangles (several of each are united),
 *      --hair-mask / --scalp-mask PNG files, the photo's displayed size.
 * Out: one byte per pixel per region, non-zero = measured.
 * Not: automatic region finding (regions_auto.c): what has neither a
 *      rectangle nor a mask is left NULL here and found there.
 *
 * Coordinates are those of the photo as displayed (EXIF orientation
 * applied), which is also the analysed resolution for now.
 */
#include "regions.h"

#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util.h"

int smp_rect_clip(smp_rect r, int width, int height, smp_rect *out)
{
    long x0 = r.x, y0 = r.y, x1 = (long)r.x + r.w, y1 = (long)r.y + r.h;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > width)
        x1 = width;
    if (y1 > height)
        y1 = height;
    if (r.w <= 0 || r.h <= 0 || x0 >= x1 || y0 >= y1)
        return -1;
    out->x = (int)x0;
    out->y = (int)y0;
    out->w = (int)(x1 - x0);
    out->h = (int)(y1 - y0);
    return 0;
}

smp_status smp_rect_fit(const char *name, const char *what, smp_rect r, int width, int height,
                        smp_rect *out, char ***warnings, size_t *n_warnings, smp_error *err)
{
    if (smp_rect_clip(r, width, height, out) != 0)
        return smp_fail(err, SMP_E_ARG, "%s: the %s rectangle %d,%d,%d,%d is outside the %d x %d photo",
                        name, what, r.x, r.y, r.w, r.h, width, height);
    if (out->x != r.x || out->y != r.y || out->w != r.w || out->h != r.h)
        smp_list_add(warnings, n_warnings,
                     "the %s rectangle %d,%d,%d,%d reaches outside the %d x %d photo: only the part "
                     "inside is used",
                     what, r.x, r.y, r.w, r.h, width, height);
    return SMP_OK;
}

static smp_status rect_mask(const char *name, const char *what, const smp_rect *rois, size_t n,
                            int width, int height, unsigned char **mask, char ***warnings,
                            size_t *n_warnings, smp_error *err)
{
    size_t npx = (size_t)width * height;
    unsigned char *m = calloc(npx, 1);
    if (!m)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the %s region", name, what);
    for (size_t i = 0; i < n; i++) {
        smp_rect c;
        if (smp_rect_fit(name, what, rois[i], width, height, &c, warnings, n_warnings, err) != SMP_OK) {
            free(m);
            return SMP_E_ARG;
        }
        for (int y = c.y; y < c.y + c.h; y++)
            memset(m + (size_t)y * width + c.x, 1, (size_t)c.w);
    }
    *mask = m;
    return SMP_OK;
}

static smp_status file_mask(const char *name, const char *what, const char *path, int width,
                            int height, unsigned char **mask, smp_error *err)
{
    smp_image img;
    smp_error e;
    smp_status st = smp_image_load_file(path, NULL, &img, &e);
    if (st != SMP_OK)
        return smp_fail(err, st, "%s: the %s mask cannot be used: %s", name, what, e.message);
    if (img.format != SMP_FORMAT_PNG) {
        smp_image_release(&img);
        return smp_fail(err, SMP_E_FORMAT, "%s: the %s mask %s is not a PNG file", name, what, path);
    }
    if (img.width != width || img.height != height) {
        smp_fail(err, SMP_E_ARG, "%s: the %s mask %s is %d x %d pixels but the photo is %d x %d",
                 name, what, path, img.width, img.height, width, height);
        smp_image_release(&img);
        return SMP_E_ARG;
    }
    size_t npx = (size_t)width * height;
    unsigned char *m = malloc(npx);
    if (!m) {
        smp_image_release(&img);
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the %s mask", name, what);
    }
    size_t bpp = (size_t)img.channels * (img.bits / 8);
    for (int y = 0; y < height; y++) {
        const unsigned char *row = img.pixels + (size_t)y * img.stride;
        for (int x = 0; x < width; x++) {
            unsigned char on = 0;
            for (size_t b = 0; b < bpp; b++)
                on |= row[(size_t)x * bpp + b];
            size_t i = (size_t)y * width + x;
            m[i] = on && !(img.valid && !img.valid[i]);
        }
    }
    smp_image_release(&img);
    *mask = m;
    return SMP_OK;
}

static smp_status one_region(const char *name, const char *what, const char *mask_path,
                             const smp_rect *rois, size_t n_rois, int width, int height,
                             unsigned char **mask, smp_source *source, char ***warnings,
                             size_t *n_warnings, smp_error *err)
{
    *mask = NULL;
    *source = SMP_SOURCE_NONE;
    smp_status st = SMP_OK;
    if (mask_path) {
        st = file_mask(name, what, mask_path, width, height, mask, err);
        *source = SMP_SOURCE_MASK;
    } else if (n_rois > 0) {
        st = rect_mask(name, what, rois, n_rois, width, height, mask, warnings, n_warnings, err);
        *source = SMP_SOURCE_ROI;
    }
    return st;
}

smp_status smp_regions_build(const char *name, const smp_options *opt, int width, int height,
                             smp_regions *out, char ***warnings, size_t *n_warnings,
                             smp_error *err)
{
    memset(out, 0, sizeof *out);
    if (opt->n_hair_roi > SMP_MAX_ROIS || opt->n_scalp_roi > SMP_MAX_ROIS)
        return smp_fail(err, SMP_E_ARG, "%s: more than %d rectangles of one kind", name, SMP_MAX_ROIS);
    if ((opt->hair_mask && opt->n_hair_roi) || (opt->scalp_mask && opt->n_scalp_roi))
        return smp_fail(err, SMP_E_ARG, "%s: a mask and rectangles were both given for one region", name);
    smp_status st = one_region(name, "hair", opt->hair_mask, opt->hair_roi, opt->n_hair_roi, width,
                               height, &out->hair, &out->hair_source, warnings, n_warnings, err);
    if (st == SMP_OK)
        st = one_region(name, "scalp", opt->scalp_mask, opt->scalp_roi, opt->n_scalp_roi, width,
                        height, &out->scalp, &out->scalp_source, warnings, n_warnings, err);
    if (st != SMP_OK)
        smp_regions_release(out);
    return st;
}

void smp_regions_release(smp_regions *r)
{
    free(r->hair);
    free(r->scalp);
    memset(r, 0, sizeof *r);
}
